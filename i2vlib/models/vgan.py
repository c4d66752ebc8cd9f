"""VideoGAN (Vondrick, Pirsiavash and Torralba, NeurIPS 2016), the conditional version AffineGAN compares with.

AffineGAN §4.1.1: "For VideoGAN, we adopt the conditional version of their official implementation by generating
videos conditioning on the first frame. As the LSTM and 3D convolution implementations require a fixed-length
sequence as inputs, we uniformly sample/up-sample 9 frames from each original video clips". FRGAN §4.3 compares with
it on poses too ("we train an individual VGAN for different action categories"); this module is the face setting.

The model (the official ``main_conditional.lua``, at the book's widths)::

    h    = E(I0)                                     2-D strided convolutions, S x S -> 4 x 4
    b    = B(h)                                      the static stream: 2-D transposed convolutions, one frame
    f, m = F(h)                                      the video stream: 3-D transposed convolutions, T frames,
                                                     a foreground f (tanh) and a mask m (sigmoid) per frame
    V_t  = m_t * f_t + (1 - m_t) * b                 Vondrick et al.'s two-stream composition

and its loss: the cross-entropy GAN loss of a 3-D convolutional discriminator D on the whole video, plus
``lambda * |V_0 - I0|`` (lambda = 10): the first generated frame is regressed to the input, the only tie between
input and video. The other frames are never compared with the true ones.

The book's departures, for its fixed 9-frame clips at 64 px: the official video stream starts at two time steps
and doubles time in every layer (32 frames); ours lays out all T = 1 + ``length`` steps in its first layer (a
transposed convolution over time) and keeps T in the layers that grow the image, whose 3 x 4 x 4 kernels mix
neighbouring steps, so any clip length works. The discriminator is the book's 3-D critic (FRGAN's D_V, itself
after VGAN's), used with the cross-entropy loss. Widths are the profile's ``ngf``/``ndf`` (the official: 1024 at
the code), and the norm the profile's.

Generation: the video's first frame reconstructs the input, so :class:`Model` renders the ``length`` frames after
it, at a = 1/length, ..., 1 (:attr:`~Model.supported_intensities`), like the ConvLSTM baseline.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..errors import I2VError
from ..nn import init_weights, norm_2d, norm_3d
from .frgan_parts import VideoCritic
from .gan import GANTrainer

NAME = "vgan"
LENGTH = 8          # frames after the input: AffineGAN's 9-frame clips

STATED = {"length": "AffineGAN §4.1.1: 9 frames sampled or up-sampled per clip (the input and 8 after it)",
          "weights": "the official code: lambda = 10 on the first frame's L1, the GAN loss 1",
          "expressions": "FRGAN §4.3: an individual VGAN per category (AffineGAN: per expression, as its ConvLSTM)"}
UNSTATED = {
    "image_size": "256 px, AffineGAN's", "batch": "32, the official code's", "lr": "0.0002, the official code's",
    "betas": "(0.5, 0.999), the official code's", "steps": "AffineGAN's 40k", "ngf": "64, the book's paper width",
    "ndf": "64, the book's paper width", "norm": "batch norm, the official code's",
    "videos": "200 per expression, as the other methods'",
}


def positions(length: int) -> np.ndarray:
    """The intensities of the frames after the input: 1/length, ..., 1."""
    return np.round(np.arange(1, length + 1) / length, 6)


class VideoGANGenerator(nn.Module):
    """I0 (N, 3, S, S) -> the video (N, 1 + length, 3, S, S) in [-1, 1], its frame 0 the input's reconstruction."""

    def __init__(self, cfg: dict):
        super().__init__()
        size, ngf, norm = int(cfg["image_size"]), int(cfg["ngf"]), cfg["norm"]
        self.frames = 1 + int(cfg["length"])
        n = int(math.log2(size)) - 2                                  # stride-2 levels from S to 4 x 4
        ch = [ngf * min(2 ** i, 8) for i in range(n)]
        enc = [nn.Conv2d(3, ch[0], 4, 2, 1), nn.ReLU(inplace=True)]
        for a, b in zip(ch, ch[1:]):
            enc += [nn.Conv2d(a, b, 4, 2, 1), norm_2d(norm, b), nn.ReLU(inplace=True)]
        self.encoder = nn.Sequential(*enc)
        static, video = [], [nn.ConvTranspose3d(ch[-1], ch[-1], (self.frames, 1, 1)), norm_3d(norm, ch[-1]),
                             nn.ReLU(inplace=True)]
        for a, b in zip(ch[::-1], ch[-2::-1]):
            static += [nn.ConvTranspose2d(a, b, 4, 2, 1), norm_2d(norm, b), nn.ReLU(inplace=True)]
            video += [nn.ConvTranspose3d(a, b, (3, 4, 4), (1, 2, 2), 1), norm_3d(norm, b), nn.ReLU(inplace=True)]
        self.static = nn.Sequential(*static, nn.ConvTranspose2d(ch[0], 3, 4, 2, 1), nn.Tanh())
        self.video = nn.Sequential(*video, nn.ConvTranspose3d(ch[0], 4, (3, 4, 4), (1, 2, 2), 1))
        init_weights(self)

    def streams(self, i0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(foreground f (N, 3, T, S, S), mask m (N, 1, T, S, S), background b (N, 3, 1, S, S))."""
        h = self.encoder(i0)
        out = self.video(h[:, :, None])
        return torch.tanh(out[:, :3]), torch.sigmoid(out[:, 3:]), self.static(h)[:, :, None]

    def forward(self, i0: torch.Tensor) -> torch.Tensor:
        f, m, b = self.streams(i0)
        return (m * f + (1 - m) * b).transpose(1, 2)                  # V_t = m_t f_t + (1 - m_t) b


class Trainer(GANTrainer):
    """VGAN's networks, batches (clips of 1 + ``length`` frames) and loss terms."""

    name = NAME
    options = {"length": LENGTH, "weights": {"g": 1.0, "r": 10.0}}
    profile_changes = {"smoke": {"batch": 2, "frames": [9, 12]},
                       "book": {"steps": 1000, "batch": 4, "frames": [9, 16]},
                       "paper": {"batch": 32, "frames": [9, 32], "steps": 40000, "norm": "batch"}}
    critics = ("d_video",)
    d_losses = {"d_v": ("g", "the cross-entropy GAN loss of D on whole videos (Vondrick et al.)")}
    g_losses = {"g_v": ("g", "the cross-entropy GAN loss of D on whole videos (Vondrick et al.)"),
                "r": ("r", "lambda |V_0 - I0|: the first frame regressed to the input (the conditional version)")}

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if len(cfg["expressions"]) != 1:
            raise I2VError(f"VGAN is one model per expression (FRGAN §4.3: an individual VGAN per category); got "
                           f"{len(cfg['expressions'])} ({', '.join(cfg['expressions'])}): train one run per expression")
        if cfg["data"] == "synthetic" and int(cfg["frames"][0]) < cfg["length"] + 1:
            raise I2VError(f"VGAN learns clips of 1 + {cfg['length']} frames (AffineGAN §4.1.1: 9 frames per clip); "
                           f"training clips need at least {cfg['length'] + 1} frames, got frames={list(cfg['frames'])}")
        return cfg

    def build(self) -> dict[str, nn.Module]:
        return {"generator": VideoGANGenerator(self.cfg),
                "d_video": VideoCritic(3, self.cfg["ndf"], self.cfg["image_size"], 1 + self.cfg["length"])}

    def sample(self, rng: np.random.Generator) -> dict:
        """Random training clips resampled to 1 + ``length`` frames, the input first."""
        b = self.sampler().clips(rng, self.cfg["batch"], self.cfg["length"] + 1)
        return {**b, "video": torch.cat([b["neutral"][:, None], b["target"]], 1)}

    def forward(self, b: dict) -> dict:
        return {"fake": self.nets["generator"](b["neutral"])}

    def _d(self, video: torch.Tensor) -> torch.Tensor:
        """D's logit of each video (N, T, 3, S, S), as (N, 1)."""
        return self.nets["d_video"](video.transpose(1, 2))[:, None]

    def d_terms(self, b: dict, out: dict) -> dict:
        return {"d_v": lambda: losses.gan_d(self._d(b["video"]), self._d(out["fake"].detach()))}

    def g_terms(self, b: dict, out: dict) -> dict:
        return {"g_v": lambda: losses.gan_g(self._d(out["fake"])),
                "r": lambda: losses.l1(out["fake"][:, 0], b["neutral"])}


default_config = Trainer.default_config


class Model(api.ClipModel):
    """A trained VGAN behind :class:`i2vlib.api.Model`: the ``length`` frames after the input, at a = 1/length ... 1."""

    method = NAME
    network = VideoGANGenerator
    single_reason = "VGAN is one model per expression: it"
    first = 1                        # frame 0 reconstructs the input
    clip_source = "AffineGAN §4.1.1: 9 frames, the input first"

    def __init__(self, net: VideoGANGenerator, config: dict, device="cpu"):
        super().__init__(net, config, device, positions(net.frames - 1))
