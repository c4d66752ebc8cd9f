"""GANimation's building blocks (Pumarola et al., ECCV 2018, as its public code builds them): the action-unit
vector y, the generator G and its map from intensities to y, the two-headed critic D, and the pieces of its losses.
The method (its config, batches, schedule, Trainer and Model, and the list of where it departs from the authors'
code) is :mod:`.ganimation`.

* y: :func:`au_vector`, the benchmark's K action units in the order of ``ACTIONS``; :func:`frame_aus`, a
  frame's exact y; :func:`requested_aus`, y_f of the benchmark's :data:`TYPICAL` person, piecewise linear in the
  intensity between its :func:`knots`;
* G (§4.1): :class:`GANimationGenerator`, ``A, C = G(I_{y_o} | y_f)`` with y as K planes beside the image, through its
  :class:`ResidualBlock` bottleneck, and :func:`blend`, ``I_{y_f} = (1 - A) * C + A * I_{y_o}``; :func:`init_conv`, the
  code's N(0, 0.02) initialisation;
* D (§4.1): :class:`GANimationCritic`, D_I (WGAN scores) and D_y (the K action units) on one trunk of
  :func:`critic_layers` stride-2 convolutions;
* the losses (§4.2): :func:`attention_loss`, L_A's ``||A||`` and ``TV(A)`` (the module's docstring it cites, on the
  printed and the code's readings, is :mod:`.ganimation`'s), and :func:`regression`, L_y's ``||D_y(I) - y||_2^2``
  (its weight, :meth:`.ganimation.Trainer.weight`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import nn

from ..data.face_shape import ACTIONS
from ..data.synthetic import RECIPES, Identity, actions, make_identity
from ..nn import norm_2d

K = len(ACTIONS)             # action units: the length of y
AU_CAP = 1.3                 # synthetic.actions clips every strength at 1.3 (a mix of expressions can reach it)
# The benchmark's typical person: gain 1 on every action unit, a linear response r(a) = a to every expression.
TYPICAL = Identity(index=-1, shape={}, look={}, gain=dict.fromkeys(ACTIONS, 1.0), curvature=dict.fromkeys(RECIPES, 0.0))


# -------------------------------------------------------------------------------------------------- y: the action units
def au_vector(units: dict) -> np.ndarray:
    """Action-unit strengths ``{name: value}`` as y, a (K,) array in the order of ``ACTIONS``."""
    return np.array([units[name] for name in ACTIONS], dtype=np.float32)


def frame_aus(clip, t: int) -> np.ndarray:
    """The exact y of frame ``t`` of a benchmark clip: what its person's face shows (:func:`synthetic.actions`)."""
    person = make_identity(int(clip.meta["seed"]), int(clip.identity))
    return au_vector(actions(person, {clip.expression: float(clip.intensity[t])}))


def requested_aus(mix: dict) -> np.ndarray:
    """y_f for a mix ``{expression: a}``: the benchmark's AUs of its typical person (the map generation uses)."""
    return au_vector(actions(TYPICAL, mix))


def knots() -> np.ndarray:
    """The intensities where ``actions`` of a linear responder bends: 0, 1 and every recipe's onset and saturation."""
    return np.unique([0.0, 1.0, *(v for recipe in RECIPES.values() for _, _, onset, full in recipe
                                  for v in (onset, full))])


# -------------------------------------------------------------------------------------------------------------------- G
def blend(A: torch.Tensor, C: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """I_{y_f} = (1 - A) C + A I_{y_o}: A = 1 keeps the input pixel."""
    return (1 - A) * C + A * image


def init_conv(module: nn.Module) -> nn.Module:
    """The code's ``init_weights``: N(0, 0.02) convolution weights and zero biases; instance normalisation keeps
    torch's scale 1 and shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class ResidualBlock(nn.Module):
    """x + conv-norm-ReLU-conv-norm (x), 3x3 bias-free convolutions: the generator's bottleneck."""

    def __init__(self, ch: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, bias=False), norm_2d(norm, ch), nn.ReLU(inplace=True),
                                  nn.Conv2d(ch, ch, 3, 1, 1, bias=False), norm_2d(norm, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class GANimationGenerator(nn.Module):
    """G(I_{y_o} | y_f) -> (A, C): a 7x7 convolution, two stride-2 downs, ``blocks`` residual blocks, two ups,
    then two 7x7 heads, A (sigmoid) and C (tanh); no convolution has a bias (each is followed by instance
    normalisation, or is a head, as in the code). ``forward`` returns their blend I_{y_f}.

    :meth:`aus` turns intensities into y_f, the map generation uses (held in non-persistent buffers: it is the
    benchmark's, recomputed from :mod:`i2vlib.data.synthetic`, never stored in a checkpoint).
    """

    def __init__(self, cfg: dict):
        super().__init__()
        ngf, norm = int(cfg["ngf"]), cfg["norm"]
        conv = functools.partial(nn.Conv2d, bias=False)
        layers, ch = [conv(3 + K, ngf, 7, 1, 3), norm_2d(norm, ngf), nn.ReLU(inplace=True)], ngf
        for _ in range(2):
            layers += [conv(ch, 2 * ch, 4, 2, 1), norm_2d(norm, 2 * ch), nn.ReLU(inplace=True)]
            ch *= 2
        layers += [ResidualBlock(ch, norm) for _ in range(int(cfg["blocks"]))]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), norm_2d(norm, ch // 2),
                       nn.ReLU(inplace=True)]
            ch //= 2
        self.body = nn.Sequential(*layers)
        self.attention = nn.Sequential(conv(ch, 1, 7, 1, 3), nn.Sigmoid())
        self.colour = nn.Sequential(conv(ch, 3, 7, 1, 3), nn.Tanh())
        init_conv(self)
        k = knots()
        table = np.stack([[requested_aus({e: float(a)}) for a in k] for e in cfg["expressions"]])   # (E, J+1, K)
        neutral = requested_aus({})
        self.register_buffer("knots", torch.tensor(k, dtype=torch.float32), persistent=False)
        self.register_buffer("neutral", torch.from_numpy(neutral), persistent=False)
        self.register_buffer("rises", torch.from_numpy(np.diff(table, axis=1).reshape(-1, K)), persistent=False)

    def masks(self, image: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, C) for images (N, 3, S, S) in [-1, 1] and AU vectors y (N, K)."""
        planes = y.to(image.dtype)[:, :, None, None].expand(-1, -1, *image.shape[2:])
        h = self.body(torch.cat([image, planes], 1))
        return self.attention(h), self.colour(h)

    def forward(self, image: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return blend(*self.masks(image, y), image)

    def aus(self, a: torch.Tensor) -> torch.Tensor:
        """y_f for intensities a (N, E), one per expression of the config: ``actions(TYPICAL, {e: a_e})`` as the sum
        of each expression's piecewise-linear rise between :func:`knots`, capped as the benchmark caps."""
        lo, hi = self.knots[:-1], self.knots[1:]
        ramps = ((a.float()[:, :, None] - lo) / (hi - lo)).clamp(0, 1)                 # (N, E, J)
        return (self.neutral + ramps.flatten(1) @ self.rises).clamp(max=AU_CAP)


# -------------------------------------------------------------------------------------------------------------------- D
def critic_layers(size: int) -> int:
    """Stride-2 layers of the critic at ``size`` px: down to a 2x2 map, as the code's six at 128 px (5 at 64)."""
    return int(math.log2(size)) - 1


class GANimationCritic(nn.Module):
    """D(I) -> (D_I, D_y): :func:`critic_layers` 4x4 stride-2 convolutions (``ndf`` channels, doubling each layer,
    LeakyReLU 0.01, no normalisation), then two bias-free heads on the last map (2 x 2): D_I, a 3x3 convolution to
    one WGAN score per position, and D_y, a convolution whose kernel covers the whole map, K numbers per image.
    ``forward`` is D_I (what the gradient penalty differentiates); :meth:`both` returns both from one pass."""

    def __init__(self, size: int, ndf: int):
        super().__init__()
        layers, ch = [], 3
        for i in range(critic_layers(size)):
            layers += [nn.Conv2d(ch, ndf * 2 ** i, 4, 2, 1), nn.LeakyReLU(0.01, inplace=True)]
            ch = ndf * 2 ** i
        self.body = nn.Sequential(*layers)
        self.side = size >> critic_layers(size)
        self.score = nn.Conv2d(ch, 1, 3, 1, 1, bias=False)
        self.au = nn.Conv2d(ch, K, self.side, bias=False)
        init_conv(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.body(x))

    def both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.score(h), self.au(h).flatten(1)


# ---------------------------------------------------------------------------------------------------------- L_A and L_y
def attention_loss(A: torch.Tensor, reading: str = "paper") -> tuple[torch.Tensor, torch.Tensor]:
    """L_A's two parts for masks A (N, 1, S, S): (||A||, TV(A)), as printed (``"paper"``) or as the public code
    computes them (``"code"``; see the module's docstring)."""
    dy, dx = A.float().diff(dim=-2), A.float().diff(dim=-1)
    if reading == "code":
        return A.float().mean(), dy.abs().sum() + dx.abs().sum()
    return A.float().flatten(1).norm(dim=1).mean(), (dy.pow(2).flatten(1).sum(1) + dx.pow(2).flatten(1).sum(1)).mean()


def regression(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """||D_y(I) - y||_2^2 per image, averaged over the batch (L_y; :meth:`Trainer.weight` gives it the code's
    scale)."""
    return (y_hat.float() - y.float()).pow(2).sum(1).mean()
