"""MCNet (Villegas, Yang, Hong, Lin and Lee, ICLR 2017), the motion-content network FRGAN compares with.

FRGAN §4.2: "We compare our method to MCNet [38], MoCoGAN [37] and Villegas et al. [39] on the MUG Database ...
Each method only observes the input frame of the target subject, and performs the generation based on it."
Its Table 1 gives MCNet ACD-I 0.545 and ACD-C 0.322 (FRGAN 0.184 and 0.107); in its Table 2, users prefer FRGAN's
videos to MCNet's 84.2% of the time.

The model (MCNet §3), which predicts the next frame x^_{t+1} from the frames up to x_t::

    [d_t, c_t] = f_dyn(x_t - x_{t-1}, d_{t-1}, c_{t-1})   motion encoder: convolutions of the frame difference,
                                                          then a ConvLSTM (state c) at S/8
    s_t        = f_cont(x_t)                              content encoder: VGG-like convolutions of the last frame
    r_t^l      = f_res([s_t^l, d_t^l])^l                  the multi-scale motion-content residuals: both encoders'
                                                          features before each pooling, l = 1, 2, 3
    f_t        = g_comb([d_t, s_t])                       combination layers at S/8
    x^_{t+1}   = g_dec(f_t, r_t)                          decoder: unpooling, + r_t^l, convolutions; tanh

and its loss, on the predicted frames x^_{t+1} ... x^_{t+T}::

    L     = alpha L_img + beta L_GAN,      L_img = L_p + L_gdl
    L_p   = sum_k ||x_{t+k} - x^_{t+k}||_p^p,  p = 2                     the squared error
    L_gdl = gdl(x, x^), lambda = 1                                      the gradient difference loss (Mathieu et al.,
                                                                        i2vlib.losses.gdl)
    L_GAN = -log D([x_{1:t}, G(x_{1:t})])                               D tells the observed frames followed by the
                                                                        true ones from them followed by G's

The paper's setting and the book's:

==========================  ==================================================  =======================================
                            MCNet (KTH; the official code)                      the book
==========================  ==================================================  =======================================
observed frames             K = 10 (10 - 1 differences)                         the input I0 alone (FRGAN §4.2)
predicted frames            T = 10                                              ``length`` = 8: a fixed clip of 9
images                      128 px, grey                                        64 px RGB (the paper profile 128)
widths                      64 (``gf_dim``, ``df_dim``)                         the profile's ``ngf`` / ``ndf``
D                           DCGAN convolutions, batch norm, a linear output     the book's patch discriminator
                            on the frames stacked along channels                on the same stack, the profile's norm
weights                     alpha = 1, beta = 0.02                              the same
models                      one for all of KTH                                  one per expression
==========================  ==================================================  =======================================

**Departure: one observed frame.** MCNet observes K frames; FRGAN gives its baselines the input frame alone and does
not say how it ran MCNet from it. The book runs MCNet autoregressively from I0::

    x_0 = x_{-1} = I0                          the first difference is zero: no frame comes before the input
    x^_k = g_dec(g_comb([d_k, s_k]), r_k),     d_k = f_dyn(x_{k-1} - x_{k-2}),  s_k = f_cont(x_{k-1}),  k = 1 ... length
                                               x_{k-1}, x_{k-2}: its own predictions once k > 1 (resp. k > 2)

so every later step sees its own last frame (content) and the difference of its last two frames (motion), as
MCNet itself predicts beyond its K observed frames. Training unrolls the same loop (the official code also feeds
its predictions back, with gradients through them); the first step's motion is the ConvLSTM's response to zero.

Other departures, small: the motion encoder takes the RGB difference (the official code turns it to grey first);
the losses are means, as in the official code, with L_gdl on [0, 1] images as there. As in the official code (and
unlike the book's other generators: normalisation, N(0, 0.02) weights), the generator has no normalisation, its
weights are Xavier-initialised, and its unpooling is fixed (each value to the top-left of its 2 x 2 cell).

Generation: like the VGAN baseline, :class:`Model` renders the ``length`` frames after the input, at
a = 1/length, ..., 1 (:attr:`~Model.supported_intensities`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import api, losses
from ..errors import I2VError
from ..nn import ConvLSTMCell, patch_critic
from .gan import GANTrainer
from .vgan import positions

NAME = "mcnet"
LENGTH = 8          # frames after the input: the book's fixed clips of 9, as its VGAN baseline's

STATED = {"weights": "MCNet's KTH command (official code): alpha = 1 on L_p and L_gdl, beta = 0.02 on L_GAN",
          "image_size": "MCNet's official KTH setting: 128 x 128 (FRGAN §4.1's MUG crops, 96 px, are no power of 2)",
          "lr": "MCNet's official code: Adam at 0.0001", "betas": "MCNet's official code: beta1 = 0.5",
          "batch": "MCNet's KTH command: 8", "steps": "MCNet's official code: 100000 iterations",
          "ngf": "MCNet's official code: gf_dim = 64", "ndf": "MCNet's official code: df_dim = 64",
          "norm": "MCNet's official code: batch norm in D (its generator has none, as ours)"}
UNSTATED = {
    "length": "8 frames after the input: FRGAN §4.2 does not say how many MCNet renders; the book's fixed clips "
              "of 9 (AffineGAN §4.1.1's, as its VGAN baseline)",
    "expressions": "one model per expression, as the book's other baselines (FRGAN §4.3: an individual VGAN per "
                   "category)",
    "d_layers": "3: the book's patch discriminator for MCNet's DCGAN one",
    "videos": "200 per expression, as the other methods'",
}


def unpool(x: torch.Tensor) -> torch.Tensor:
    """MCNet's fixed 2 x 2 unpooling: each value to the top-left of its cell, zeros elsewhere (N, C, 2H, 2W)."""
    zero = torch.zeros_like(x)
    return F.pixel_shuffle(torch.stack([x, zero, zero, zero], 2).flatten(1, 2), 2)


def convs(*spec) -> nn.Sequential:
    """Convolutions (in, out, kernel), 'same' padding, each followed by a ReLU."""
    layers = []
    for a, b, k in spec:
        layers += [nn.Conv2d(a, b, k, 1, k // 2), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class MCNetGenerator(nn.Module):
    """I0 (N, 3, S, S) -> the ``length`` frames after it (N, length, 3, S, S) in [-1, 1], predicted one by one."""

    def __init__(self, cfg: dict):
        super().__init__()
        c1, c2, c3 = (int(cfg["ngf"]) * m for m in (1, 2, 4))
        self.length = int(cfg["length"])
        # f_dyn: 5x5, 5x5, 7x7 convolutions, each before a 2x2 max pooling, then the ConvLSTM at S/8
        self.motion_convs = nn.ModuleList([convs((3, c1, 5)), convs((c1, c2, 5)), convs((c2, c3, 7))])
        self.lstm = ConvLSTMCell(c3, c3)
        # f_cont: VGG's first three blocks (2, 2 and 3 convolutions of 3x3), each before a pooling
        self.content_convs = nn.ModuleList([convs((3, c1, 3), (c1, c1, 3)), convs((c1, c2, 3), (c2, c2, 3)),
                                            convs((c2, c3, 3), (c3, c3, 3), (c3, c3, 3))])
        # f_res^l: two 3x3 convolutions of [s^l, d^l], the second linear
        self.res = nn.ModuleList([nn.Sequential(*convs((2 * c, c, 3)), nn.Conv2d(c, c, 3, 1, 1)) for c in (c1, c2, c3)])
        self.comb = convs((2 * c3, c3, 3), (c3, c2, 3), (c2, c3, 3))                            # g_comb
        # g_dec, coarse to fine: unpool, + r^l, ReLU, convolutions; the last one to RGB through tanh
        self.dec = nn.ModuleList([convs((c3, c3, 3), (c3, c3, 3), (c3, c2, 3)), convs((c2, c2, 3), (c2, c1, 3)),
                                  nn.Sequential(*convs((c1, c1, 3)), nn.Conv2d(c1, 3, 3, 1, 1), nn.Tanh())])
        for m in self.modules():                   # the official code's Xavier initialisation, zero biases
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    @staticmethod
    def _encode(blocks: nn.ModuleList, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Blocks each followed by a 2x2 max pooling: (the S/8 features, the features before each pooling)."""
        before = []
        for block in blocks:
            x = block(x)
            before.append(x)
            x = F.max_pool2d(x, 2)
        return x, before

    def motion(self, diff: torch.Tensor, state=None):
        """f_dyn: the difference x_t - x_{t-1} -> (d_t (N, 4 ngf, S/8, S/8), [d^l], the ConvLSTM's state)."""
        h, res = self._encode(self.motion_convs, diff)
        d, state = self.lstm(h, state)
        return d, res, state

    def content(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """f_cont: the last frame x_t -> (s_t (N, 4 ngf, S/8, S/8), [s^l])."""
        return self._encode(self.content_convs, x)

    def step(self, last: torch.Tensor, diff: torch.Tensor, state=None):
        """One prediction: x^_{t+1} = g_dec(g_comb([d_t, s_t]), r_t), from x_t and x_t - x_{t-1}; with the state."""
        d, res_d, state = self.motion(diff, state)
        s, res_s = self.content(last)
        r = [f(torch.cat([a, b], 1)) for f, a, b in zip(self.res, res_s, res_d)]       # r^l = f_res([s^l, d^l])
        h = self.comb(torch.cat([d, s], 1))
        for block, r_l in zip(self.dec, r[::-1]):
            h = block(F.relu(unpool(h) + r_l))
        return h, state

    def forward(self, i0: torch.Tensor) -> torch.Tensor:
        last, diff, state, frames = i0, torch.zeros_like(i0), None, []    # x_{-1} = x_0 = I0: no motion yet
        for _ in range(self.length):
            x, state = self.step(last, diff, state)
            last, diff = x, x - last
            frames.append(x)
        return torch.stack(frames, 1)


class Trainer(GANTrainer):
    """MCNet's networks, batches (clips of 1 + ``length`` frames, the input first) and loss terms."""

    name = NAME
    options = {"length": LENGTH, "weights": {"p": 1.0, "gdl": 1.0, "gan": 0.02}}
    profile_changes = {"smoke": {"batch": 2, "frames": [9, 12]},
                       "book": {"steps": 1000, "batch": 4, "frames": [9, 16]},
                       "paper": {"image_size": 128, "batch": 8, "lr": 1e-4, "steps": 100000, "frames": [9, 32],
                                 "norm": "batch"}}
    critics = ("d_seq",)
    d_losses = {"d": ("gan", "the cross-entropy loss of D on [x_1:t, x_t+1:t+T] against [x_1:t, G(x_1:t)]")}
    g_losses = {"gan": ("gan", "L_GAN = -log D([x_1:t, G(x_1:t)]) (beta)"),
                "p": ("p", "L_p, p = 2: the squared error to the true frames (alpha)"),
                "gdl": ("gdl", "L_gdl, lambda = 1: the gradient difference loss (alpha)")}

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if len(cfg["expressions"]) != 1:
            raise I2VError(f"MCNet is one model per expression here, as the book's other baselines; got "
                           f"{len(cfg['expressions'])} ({', '.join(cfg['expressions'])}): train one run per expression")
        if cfg["data"] == "synthetic" and int(cfg["frames"][0]) < cfg["length"] + 1:
            raise I2VError(f"MCNet learns clips of 1 + {cfg['length']} frames (the input and the frames it predicts); "
                           f"training clips need at least {cfg['length'] + 1} frames, got frames={list(cfg['frames'])}")
        return cfg

    def build(self) -> dict[str, nn.Module]:
        return {"generator": MCNetGenerator(self.cfg), "d_seq": patch_critic(3 * (1 + self.cfg["length"]), self.cfg)}

    def sample(self, rng: np.random.Generator) -> dict:
        """Random training clips resampled to 1 + ``length`` frames: ``neutral`` I0 and the ``target`` frames."""
        return self.sampler().clips(rng, self.cfg["batch"], self.cfg["length"] + 1)

    def forward(self, b: dict) -> dict:
        return {"fake": self.nets["generator"](b["neutral"])}

    def _d(self, i0: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """D's logits for the input followed by ``frames`` (N, T, 3, S, S), stacked along channels."""
        return self.nets["d_seq"](torch.cat([i0[:, None], frames], 1).flatten(1, 2))

    def d_terms(self, b: dict, out: dict) -> dict:
        return {"d": lambda: losses.gan_d(self._d(b["neutral"], b["target"]),
                                          self._d(b["neutral"], out["fake"].detach()))}

    def g_terms(self, b: dict, out: dict) -> dict:
        fake, real = out["fake"], b["target"]
        return {"gan": lambda: losses.gan_g(self._d(b["neutral"], fake)),
                "p": lambda: ((fake - real) ** 2).mean(),
                "gdl": lambda: losses.gdl((fake + 1) / 2, (real + 1) / 2)}


default_config = Trainer.default_config


class Model(api.ClipModel):
    """A trained MCNet behind :class:`i2vlib.api.Model`: the ``length`` frames after the input, a = 1/length ... 1."""

    method = NAME
    network = MCNetGenerator
    single_reason = "MCNet is one model per expression: it"
    clip_source = "the book's fixed clip of 9 frames, the input first"

    def __init__(self, net: MCNetGenerator, config: dict, device="cpu"):
        super().__init__(net, config, device, positions(net.length))
