"""The three tiny networks of the synthetic-benchmark instruments (64 x 64 RGB in, [-1, 1]).

``LandmarkNet``    68 landmarks (pixels, regressed from a 4 x 4 feature map) + a face/no-face logit
``IdentityNet``    a unit-length 128-d identity embedding (like OpenFace's)
``ExpressionNet``  the visible strength r of each of the seven expressions in a frame, given the
                   person's neutral frame (clipped to [0, 1] in use)

They share one small convolutional trunk design: four stages, each a stride-2 3x3 conv
and a 3x3 conv with batch norm and ReLU, from 64 x 64 down to 4 x 4.
"""

from __future__ import annotations

import torch
from torch import nn

SIZE = 64


def trunk(widths, channels: int = 3) -> nn.Sequential:
    layers, cin = [], channels
    for w in widths:
        layers += [nn.Conv2d(cin, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                   nn.Conv2d(w, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
        cin = w
    return nn.Sequential(*layers)


class LandmarkNet(nn.Module):
    """64 x 64 image -> (68 x 2 landmarks in pixels, face logit)."""

    def __init__(self, widths=(16, 32, 48, 64), squeeze: int = 32):
        super().__init__()
        self.features = trunk(widths)
        self.squeeze = nn.Sequential(nn.Conv2d(widths[-1], squeeze, 1), nn.ReLU(inplace=True))
        self.head = nn.Linear(squeeze * 16, 68 * 2 + 1)

    def forward(self, x):
        h = self.head(self.squeeze(self.features(x)).flatten(1))
        # Coordinates are regressed in [-1, 1] (the image's extent) and mapped to pixels.
        lm = (h[:, :136].view(-1, 68, 2) + 1.0) * (SIZE / 2) - 0.5
        return lm, h[:, 136]


class IdentityNet(nn.Module):
    """64 x 64 image -> unit-length embedding (``dim`` = 128)."""

    def __init__(self, widths=(16, 32, 48, 64), squeeze: int = 24, dim: int = 128):
        super().__init__()
        self.features = trunk(widths)
        self.squeeze = nn.Sequential(nn.Conv2d(widths[-1], squeeze, 1), nn.ReLU(inplace=True))
        self.head = nn.Linear(squeeze * 16, dim)

    def forward(self, x):
        z = self.head(self.squeeze(self.features(x)).flatten(1))
        return nn.functional.normalize(z, dim=1)


class ExpressionNet(nn.Module):
    """(64 x 64 frame, 64 x 64 neutral frame of the same person) -> visible strength of each of ``n`` expressions.

    The neutral frame tells the network what this face looks like at rest (how high the
    brows sit, how thick the lips are), so it can tell an expression from a feature of the
    person. The output is linear (trained with L1, so it estimates the median strength);
    the instrument clips it to [0, 1]. A sigmoid would saturate at 0 early in training,
    when six of seven targets are zero, and stop learning.
    """

    def __init__(self, widths=(16, 32, 48, 64), squeeze: int = 24, n: int = 7):
        super().__init__()
        self.features = trunk(widths, channels=6)
        self.squeeze = nn.Sequential(nn.Conv2d(widths[-1], squeeze, 1), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Linear(squeeze * 16, 64), nn.ReLU(inplace=True), nn.Linear(64, n))

    def forward(self, x, neutral):
        h = self.features(torch.cat([x, x - neutral.expand_as(x)], dim=1))  # the frame and how it changed
        return self.head(self.squeeze(h).flatten(1))


NETS = {"landmarks": LandmarkNet, "identity": IdentityNet, "expression": ExpressionNet}


def build(config: dict | None = None) -> dict[str, nn.Module]:
    """The three networks, with optional per-network keyword arguments ``config[name]``."""
    config = config or {}
    return {name: cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.get(name, {}).items()})
            for name, cls in NETS.items()}


def n_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
