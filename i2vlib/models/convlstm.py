"""The ConvLSTM baseline of Fan et al. (AAAI 2019, §4.1), adapted as the paper describes.

The paper compares against ConvLSTM (Shi et al., 2015) with three changes: 1) "we fix the length
of the video sequence to be generated ... by uniformly sampling 10 frames per video clip";
2) "we train a separate model for each target expression"; 3) "we replace the ConvNet in
ConvLSTM ... with U-Net". For the comparison (§4.2) Fan's model renders a = 0.1, 0.2, ..., 1.0,
so this baseline maps the neutral frame I0 to the 10 frames that follow it, at those positions.

Generator (our reading; the paper gives no more detail)::

    f = E(I0)                                   U-Net encoder, once
    h_k, s_k = ConvLSTM(f[4x4], s_{k-1})        k = 1..10, s_0 = 0, at the U-Net level of size 4x4
    V_k = De(f with f[4x4] + h_k)               the U-Net decoder, all 10 steps in one batched call

The ConvLSTM's input at every step is the same conditioning, the encoder's 4x4 features of I0;
time is carried by its state alone, so no generated frame is fed back (no teacher forcing, no
backpropagation through generated frames). Its output is *added* to that level (a residual: at
initialisation h_k is small and the generator starts as a U-Net autoencoder of I0). The levels
below (2x2, 1x1) and above (the skips) are I0's encoder features, the same for every frame.

Training: each sample is a random training clip resampled to 11 frames (``resample``; frame 0
is the input, frames 1..10 the targets). Losses: L1 to the targets (weight r = 100) and the
cross-entropy GAN loss of an unconditional PatchGAN on every frame (weight g = 1), like Fan et
al.'s global discriminator D_g. A shorter folder clip is up-sampled by repeating frames.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..errors import I2VError
from ..nn import ConvLSTMCell, UNetDecoder, UNetEncoder, init_weights, patch_critic, unet_levels
from .gan import GANTrainer

NAME = "convlstm"
LENGTH = 10
INTENSITIES = np.round(np.linspace(0.1, 1.0, LENGTH), 6)   # the positions of the 10 frames (§4.2)


# The paper profile: what Fan et al. §4.1 states about the baseline (option -> where) ...
STATED = {"length": "§4.1: 10 frames uniformly sampled per video clip",
          "expressions": "§4.1: a separate model for each target expression (and a U-Net for the ConvNet)"}
# ... and what it leaves open: Fan et al.'s settings for their own model, which the baseline is compared with.
UNSTATED = {
    "image_size": "256 px, Fan et al.'s", "batch": "1 clip per batch, as Fan et al. train their model",
    "lr": "0.0002, Fan et al.'s", "betas": "(0.5, 0.999), pix2pix's",
    "steps": "Fan et al.'s 2100 epochs of the 200 training clips", "d_layers": "3, Fan et al.'s discriminators",
    "ngf": "64, pix2pix's width", "ndf": "64, pix2pix's width", "norm": "instance norm (a batch of one clip)",
    "weights": "L1 100 and GAN 1, pix2pix's", "videos": "200 per expression, as Fan et al.'s",
}


def positions(length: int) -> np.ndarray:
    """The intensities of the frames a model of ``length`` frames renders: 1/length, ..., 1."""
    return INTENSITIES.copy() if length == LENGTH else np.round(np.arange(1, length + 1) / length, 6)


# ----------------------------------------------------------------------------------------------
# The generator: U-Net encoder, ConvLSTM at the 4x4 level, U-Net decoder
# ----------------------------------------------------------------------------------------------
class ConvLSTMGenerator(nn.Module):
    """I0 (N, 3, S, S) -> the 10 following frames (N, 10, 3, S, S) in [-1, 1]."""

    def __init__(self, cfg: dict):
        super().__init__()
        levels = unet_levels(cfg["image_size"])
        self.length = int(cfg["length"])
        self.encoder = UNetEncoder(3, cfg["ngf"], levels, cfg["norm"])
        self.level = levels - 3                       # features of size S / 2**(level + 1) = 4
        ch = self.encoder.channels[self.level]
        self.lstm = ConvLSTMCell(ch, ch)
        self.decoder = UNetDecoder(3, cfg["ngf"], levels, cfg["norm"])
        init_weights(self)

    def recur(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """h_1 ... h_T (N, T, C, 4, 4): the ConvLSTM run on I0's 4x4 features at every step."""
        x, state, hs = feats[self.level], None, []
        for _ in range(self.length):
            h, state = self.lstm(x, state)
            hs.append(h)
        return torch.stack(hs, 1)

    def decode(self, feats: list[torch.Tensor], h: torch.Tensor) -> torch.Tensor:
        """Frame k from I0's features with h_k added at the 4x4 level; one decoder call for all N*T."""
        n, t = h.shape[:2]
        flat = [f[:, None].expand(n, t, *f.shape[1:]).reshape(n * t, *f.shape[1:]) for f in feats]
        flat[self.level] = flat[self.level] + h.reshape(n * t, *h.shape[2:])
        y = self.decoder(flat)
        return y.view(n, t, *y.shape[1:])

    def forward(self, i0: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(i0)
        return self.decode(feats, self.recur(feats))


# ----------------------------------------------------------------------------------------------
# Training: L1 + GAN loss terms; the GAN step lives in models.gan, the loop in i2vlib.train
# ----------------------------------------------------------------------------------------------
class Trainer(GANTrainer):
    """The baseline's networks, batches (clips of 1 + ``length`` frames, §4.1) and loss terms."""

    name = NAME
    options = {"length": LENGTH, "weights": {"g": 1.0, "r": 100.0}}
    profile_changes = {"smoke": {"batch": 2, "frames": [11, 12]},
                       "book": {"steps": 1000, "batch": 2, "frames": [11, 16]},
                       "paper": {"batch": 1, "frames": [11, 32], "steps": 2100 * 200}}
    critics = ("d_global",)
    d_losses = {"d_g": ("g", "Fan et al. Eq. 3, on every frame")}
    g_losses = {"g_g": ("g", "Fan et al. Eq. 3, on every frame"), "r": ("r", "L1 to the true frames")}

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if len(cfg["expressions"]) != 1:
            raise I2VError(f"the ConvLSTM baseline is one model per expression (Fan et al. §4.1); got "
                           f"{len(cfg['expressions'])} ({', '.join(cfg['expressions'])}): train one run per expression")
        if not isinstance(cfg["length"], (int, np.integer)) or int(cfg["length"]) < 1:
            raise I2VError(f"convlstm option length must be a positive integer, got {cfg['length']!r}")
        if cfg["data"] == "synthetic" and int(cfg["frames"][0]) < cfg["length"] + 1:
            raise I2VError(f"the ConvLSTM baseline learns clips of 1 + {cfg['length']} frames (Fan et al. §4.1: "
                           f"10 frames sampled per clip); training clips need at least {cfg['length'] + 1} frames, "
                           f"got frames={list(cfg['frames'])}")
        return cfg

    def build(self) -> dict[str, nn.Module]:
        return {"generator": ConvLSTMGenerator(self.cfg),
                "d_global": patch_critic(3, self.cfg)}

    def sample(self, rng: np.random.Generator) -> dict:
        """Random training clips, each resampled to 1 + ``length`` frames (§4.1)."""
        return self.sampler().clips(rng, self.cfg["batch"], self.cfg["length"] + 1)

    def forward(self, b: dict) -> dict:
        fake = self.nets["generator"](b["neutral"])                    # (N, T, 3, S, S)
        return {"fake": fake, "fake_frames": fake.flatten(0, 1)}

    def d_terms(self, b: dict, out: dict) -> dict:
        d = self.nets["d_global"]
        return {"d_g": lambda: losses.gan_d(d(b["target"].flatten(0, 1)), d(out["fake_frames"].detach()))}

    def g_terms(self, b: dict, out: dict) -> dict:
        return {"g_g": lambda: losses.gan_g(self.nets["d_global"](out["fake_frames"])),
                "r": lambda: losses.l1(out["fake"], b["target"])}


default_config = Trainer.default_config


# ----------------------------------------------------------------------------------------------
# Generation: the one API, restricted to the fixed clip the baseline was trained to render
# ----------------------------------------------------------------------------------------------
class Model(api.ClipModel):
    """A trained ConvLSTM baseline behind :class:`i2vlib.api.Model`: it renders only a = 0.1, ..., 1.0."""

    method = NAME
    network = ConvLSTMGenerator
    single_reason = "the ConvLSTM baseline is one model per expression (Fan et al. §4.1): it"
    clip_source = "Fan et al. §4.1"

    def __init__(self, net: ConvLSTMGenerator, config: dict, device="cpu"):
        super().__init__(net, config, device, positions(net.length))
