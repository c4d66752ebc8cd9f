"""Mathieu, Couprie and LeCun (ICLR 2016), *Deep multi-scale video prediction beyond mean square error*.

FRGAN §4.3 compares with it on Penn Action (Table 3: MSE 0.041, against VGAN's 0.047, [39]'s 0.030 and FRGAN's
0.023): "We produce the results of their models according to their papers or reference codes. For fair comparison,
we generate videos with 32 generated frames using each method ... one network among all categories are trained
for every other method" (every method but VGAN). Mathieu et al. observe no joints, so their frames are the same
under Table 3's two conditions; the pose protocol (:mod:`i2vlib.evaluate.pose_protocol`) gives them the observed frames.

The model: a generator G predicts the next frame Y from the last frames X, coarse to fine. X_k and Y_k are X and Y
at scale k (s_k = S / 2^(n-k), average pooling), u_k doubles the size::

    Y^_1 = G'_1(X_1)
    Y^_k = u_k(Y^_{k-1}) + G'_k(X_k, u_k(Y^_{k-1}))        each scale refines the upsampled coarser prediction
    G(X) = Y^_n

G'_k: 'same' convolutions with ReLU, a tanh at the end. A discriminator D_k per scale sees the frames X_k followed
by a true or predicted frame, unpadded convolutions with ReLU, a 2 x 2 max pooling and fully-connected layers to a
logit. The losses, with images compared in [0, 1] for the GDL::

    L_adv^D = sum_k L_bce(D_k(X_k, Y_k), 1) + L_bce(D_k(X_k, G_k(X)), 0)
    L_adv^G = sum_k L_bce(D_k(X_k, G_k(X)), 1)
    L_p     = ||Y - G(X)||_p^p,  p = 2                                       (means over pixels)
    L_gdl   = sum_ij | |Y_ij - Y_i-1,j| - |Y^_ij - Y^_i-1,j| |^alpha + (the same along j),  alpha = 1
    L_G     = lambda_adv L_adv^G + lambda_lp L_p + lambda_gdl L_gdl          lambda = 0.05, 1, 1 (their code)

The paper's setting and the book's:

==========================  ==================================================  =======================================
                            Mathieu et al. (UCF101, Sports1m)                   the book (the pose benchmark)
==========================  ==================================================  =======================================
observed frames             4 (``history``)                                     4 of the protocol's 10: I_6 ... I_9
predicted frames            1; a second one from the first, fed back            32, each fed back (FRGAN: 32 frames)
scales                      4: 4, 8, 16, 32 px on 32-px training patches        4 (``scales``): 8 ... 64 px, whole
                                                                                64-px frames
G'_k widths, kernels        128-256-128 (3, 3, 3, 3 and 5, 3, 3, 5),            ``ngf`` for 128, the same kernels
                            128-256-512-256-128 (5, 3, ..., 5; 7, 5, ..., 7)  
D_k                         64 / 64-128-128 / 128-256-256 / 128-256-512-128     ``ndf`` for 64, the same kernels;
                            convolutions, fully-connected 512-256 or 1024-512   fully-connected 8 ndf - 8 ndf
                                                                                (:class:`i2vlib.nn.MLP`)
optimiser                   SGD, 0.04 for G and 0.02 for D                      Adam, the book's one trainer
models                      one                                                 one for all eight actions (FRGAN)
==========================  ==================================================  =======================================

Our readings, where the paper leaves a choice: L_p and L_gdl judge the full-size prediction G(X) (the paper's
equations name G(X)), the adversarial term every scale; u_k is bilinear; training predicts one frame from 4 true
ones (random runs of 5 frames of the training videos), as the paper trains, and generation feeds each prediction
back as the newest input frame, as the paper predicts its second frame. FRGAN does not say how it ran Mathieu et
al. beyond 32 frames "according to their papers or reference codes".
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import api, losses
from ..data.pose_benchmark import OBSERVED
from ..data.stages import STAGES, PoseVideos, check_pose_config
from ..errors import I2VError
from ..nn import MLP, init_weights
from .gan import GANTrainer

NAME = "mathieu"
HISTORY, SCALES = 4, 4
# The networks of Mathieu et al., coarsest scale first (their G_1 ... G_4 and D_1 ... D_4): widths in units of
# ngf = 128 (G) and ndf = 64 (D), and kernel sizes (G: one more, for the last convolution to RGB).
G_SPECS = (((1, 2, 1), (3, 3, 3, 3)), ((1, 2, 1), (5, 3, 3, 5)), ((1, 2, 4, 2, 1), (5, 3, 3, 3, 3, 5)),
           ((1, 2, 4, 2, 1), (7, 5, 5, 5, 5, 7)))
D_SPECS = (((1,), (3,)), ((1, 2, 2), (3, 3, 3)), ((2, 4, 4), (5, 5, 5)), ((2, 4, 8, 2), (7, 7, 5, 5)))

STATED = {"history": "Mathieu et al.: 4 input frames", "scales": "Mathieu et al.: 4 scales (4 to 32 px)",
          "weights": "Mathieu et al.'s code: lambda_adv = 0.05, lambda_lp = 1 (p = 2), lambda_gdl = 1 (alpha = 1)",
          "ngf": "Mathieu et al.: G'_k widths 128, 256 (and 512)", "ndf": "Mathieu et al.: D_k widths from 64",
          "image_size": "FRGAN §4.1: Penn Action cropped to 64 x 64"}
UNSTATED = {
    "lr": "0.0002 with Adam, the book's trainer (Mathieu et al.: SGD at 0.04 for G and 0.02 for D)",
    "batch": "8, a public reimplementation's (dyelax/Adversarial_Video_Generation)",
    "steps": "the profile's 60000",
    "videos": "50 per action and training third, about Penn Action's share (2326 videos of 15 actions, in thirds)",
    "frames": "48 frames per video: the pose benchmark's",
}


def _specs(table: tuple, scales: int) -> tuple:
    """The specs of ``scales`` scales, coarsest first: the finest scale takes the paper's finest, extra coarse ones
    its coarsest."""
    return ((table[0],) * max(0, scales - len(table)) + table)[-scales:]


def pyramid(x: torch.Tensor, scales: int) -> list[torch.Tensor]:
    """X_1 ... X_n: ``x`` (N, C, S, S) average-pooled to S / 2^(n-k), coarsest first."""
    return [F.avg_pool2d(x, 2 ** (scales - 1 - k)) if k < scales - 1 else x for k in range(scales)]


def upscale(y: torch.Tensor) -> torch.Tensor:
    """u_k: twice the size, bilinear."""
    return F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)


class ScaleGenerator(nn.Module):
    """G'_k: 'same' convolutions with ReLU, the last one to RGB through tanh."""

    def __init__(self, in_ch: int, widths, kernels):
        super().__init__()
        layers, prev = [], in_ch
        for c, k in zip(widths, kernels):
            layers += [nn.Conv2d(prev, c, k, 1, k // 2), nn.ReLU(inplace=True)]
            prev = c
        self.net = nn.Sequential(*layers, nn.Conv2d(prev, 3, kernels[-1], 1, kernels[-1] // 2), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MultiScaleGenerator(nn.Module):
    """The last ``history`` frames (N, history, 3, S, S) in [-1, 1] -> the next frame at every scale, coarsest first
    ([Y^_1, ..., Y^_n], Y^_n = G(X) of size S); :meth:`rollout` predicts several, each fed back."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.history, self.scales, ngf = int(cfg["history"]), int(cfg["scales"]), int(cfg["ngf"])
        self.nets = nn.ModuleList([ScaleGenerator(3 * self.history + (3 if k else 0), [ngf * w for w in widths],
                                                  kernels)
                                   for k, (widths, kernels) in enumerate(_specs(G_SPECS, self.scales))])
        init_weights(self)

    def forward(self, past: torch.Tensor) -> list[torch.Tensor]:
        xs = pyramid(past.flatten(1, 2), self.scales)
        y = self.nets[0](xs[0])                                        # Y^_1 = G'_1(X_1)
        out = [y]
        for g, x in zip(self.nets[1:], xs[1:]):
            up = upscale(y)
            y = up + g(torch.cat([x, up], 1))                          # Y^_k = u_k(Y^_k-1) + G'_k(X_k, u_k(Y^_k-1))
            out.append(y)
        return out

    def rollout(self, past: torch.Tensor, n: int) -> torch.Tensor:
        """``n`` frames (N, n, 3, S, S) after ``past``: each predicted from the last ``history`` frames, then
        appended to them (clamped to the image range)."""
        frames = []
        for _ in range(n):
            y = self(past)[-1].clamp(-1, 1)
            frames.append(y)
            past = torch.cat([past[:, 1:], y[:, None]], 1)
        return torch.stack(frames, 1)


class ScaleDiscriminator(nn.Module):
    """D_k: unpadded convolutions with ReLU, a 2 x 2 max pooling, fully-connected layers to one logit (N, 1)."""

    def __init__(self, in_ch: int, widths, kernels, size: int, hidden: int):
        super().__init__()
        layers, prev = [], in_ch
        for c, k in zip(widths, kernels):
            layers += [nn.Conv2d(prev, c, k), nn.ReLU(inplace=True)]
            prev, size = c, size - (k - 1)
        if size < 2:
            raise I2VError(f"mathieu's discriminator of a {size + sum(k - 1 for k in kernels)}-px scale has nothing "
                           f"left to pool after its {', '.join(map(str, kernels))}-px convolutions: use fewer scales")
        self.convs = nn.Sequential(*layers, nn.MaxPool2d(2))
        self.fc = MLP(prev * (size // 2) ** 2, hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convs(x).flatten(1))


class MultiScaleDiscriminator(nn.Module):
    """D_1 ... D_n: one logit (N, 1) per scale for the frames X_k followed by a frame Y_k, coarsest first."""

    def __init__(self, cfg: dict):
        super().__init__()
        n, size, ndf, h = int(cfg["scales"]), int(cfg["image_size"]), int(cfg["ndf"]), int(cfg["history"])
        self.nets = nn.ModuleList([ScaleDiscriminator(3 * (h + 1), [ndf * w for w in widths], kernels,
                                                      size // 2 ** (n - 1 - k), 8 * ndf)
                                   for k, (widths, kernels) in enumerate(_specs(D_SPECS, n))])
        init_weights(self)

    def forward(self, xs: list[torch.Tensor], ys: list[torch.Tensor]) -> list[torch.Tensor]:
        return [d(torch.cat([x, y], 1)) for d, x, y in zip(self.nets, xs, ys)]


class Trainer(GANTrainer):
    """Mathieu et al.'s networks, batches (runs of ``history`` + 1 frames of pose videos) and loss terms."""

    name = NAME
    # book: widths 8, as D_4's unpadded 7 x 7 and 5 x 5 convolutions over whole 64-px frames dominate a step (0.37 s
    # on one core at batch 4 and widths 8; 1.9 s at batch 8 and ndf 16)
    options = {"history": HISTORY, "scales": SCALES, "weights": {"adv": 0.05, "p": 1.0, "gdl": 1.0}}
    profile_changes = {"smoke": {"batch": 2, "ngf": 4, "ndf": 4, "videos": 1, "frames": [42, 42]},
                       "book": {"steps": 1000, "batch": 4, "ngf": 8, "ndf": 8, "videos": 40, "frames": [48, 48]},
                       "paper": {"image_size": 64, "batch": 8, "ngf": 128, "ndf": 64, "videos": 50,
                                 "frames": [48, 48]}}
    critics = ("D",)
    d_losses = {"d": ("adv", "L_adv^D = sum_k L_bce(D_k(X_k, Y_k), 1) + L_bce(D_k(X_k, G_k(X)), 0)")}
    g_losses = {"adv": ("adv", "L_adv^G = sum_k L_bce(D_k(X_k, G_k(X)), 1) (lambda_adv)"),
                "p": ("p", "L_p = ||Y - G(X)||_2^2, p = 2 (lambda_lp)"),
                "gdl": ("gdl", "L_gdl(Y, G(X)), alpha = 1 (lambda_gdl)")}

    @classmethod
    def check(cls, cfg: dict) -> dict:
        for key, top in (("history", OBSERVED), ("scales", 6)):
            value = cfg[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise I2VError(f"{NAME} option {key} must be an integer from 1 to {top}, got {value!r}")
        size, n = int(cfg["image_size"]), cfg["scales"]
        if size % 2 ** (n - 1) or size // 2 ** (n - 1) < 4:
            raise I2VError(f"{NAME} halves the {size}-px frames {n - 1} times for its {n} scales, to no less than "
                           f"4 px: use fewer scales")
        return check_pose_config(cfg)

    def build(self) -> dict[str, nn.Module]:
        return {"generator": MultiScaleGenerator(self.cfg), "D": MultiScaleDiscriminator(self.cfg)}

    def sampler(self):
        """Every action's videos of both training thirds (one model for all actions, FRGAN §4.3)."""
        if self._sampler is None:
            self._sampler = PoseVideos(self.cfg, splits=STAGES)
        return self._sampler

    def sample(self, rng: np.random.Generator) -> dict:
        """Runs of ``history`` + 1 consecutive frames: the ``past`` X and the ``target`` Y after it."""
        run = self.sampler().windows(rng, self.cfg["batch"], self.cfg["history"] + 1)
        return {"past": run[:, :-1], "target": run[:, -1]}

    def forward(self, b: dict) -> dict:
        return {"scales": self.nets["generator"](b["past"])}

    def _pyramids(self, b: dict) -> tuple[list, list]:
        n = self.cfg["scales"]
        return pyramid(b["past"].flatten(1, 2), n), pyramid(b["target"], n)

    def d_terms(self, b: dict, out: dict) -> dict:
        xs, ys = self._pyramids(b)
        d = self.nets["D"]

        def term():
            fake = [y.detach() for y in out["scales"]]
            return sum(losses.gan_d(r, f) for r, f in zip(d(xs, ys), d(xs, fake)))

        return {"d": term}

    def g_terms(self, b: dict, out: dict) -> dict:
        xs, _ = self._pyramids(b)
        fake, real = out["scales"][-1], b["target"]
        return {"adv": lambda: sum(losses.gan_g(f) for f in self.nets["D"](xs, out["scales"])),
                "p": lambda: ((fake - real) ** 2).mean(),
                "gdl": lambda: losses.gdl((fake + 1) / 2, (real + 1) / 2)}


default_config = Trainer.default_config


class Model(api.PoseModel):
    """A trained Mathieu et al. model: :meth:`forecast` predicts the frames after I_9 one by one, each from the last
    ``history`` frames (the observed ones, then its own predictions)."""

    method = NAME
    network = MultiScaleGenerator

    def __init__(self, net: MultiScaleGenerator, config: dict, device="cpu"):
        super().__init__(net, config, device)
        self.observes = net.history

    def _forecast(self, frames: torch.Tensor, n: int) -> torch.Tensor:
        return self.net.rollout(frames[None], n)[0]
