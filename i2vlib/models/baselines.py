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

import contextlib

import numpy as np
import torch
from torch import nn

from .. import EXPRESSIONS, api, losses
from ..errors import I2VError
from ..nn import ConvLSTMCell, PatchDiscriminator, UNetDecoder, UNetEncoder, init_weights, unet_levels
from .common import ClipSource, apply_overrides, linear_decay, requires_grad

NAME = "convlstm"
LENGTH = 10
INTENSITIES = np.round(np.linspace(0.1, 1.0, LENGTH), 6)   # the positions of the 10 frames (§4.2)

PROFILE_DEFAULTS = {
    "smoke": {"steps": 6, "batch": 2, "ngf": 8, "ndf": 8, "videos": 4, "frames": [11, 12], "checkpoint_every": 3,
              "lr": 2e-4},
    "book": {"steps": 1000, "batch": 2, "ngf": 16, "ndf": 16, "videos": 200, "frames": [11, 16],
             "checkpoint_every": 500, "lr": 1e-3},
    "paper": {"steps": 60000, "batch": 8, "ngf": 64, "ndf": 64, "videos": 2000, "frames": [11, 32],
              "checkpoint_every": 2000, "lr": 2e-4},
}


def positions(length: int) -> np.ndarray:
    """The intensities of the frames a model of ``length`` frames renders: 1/length, ..., 1."""
    return INTENSITIES.copy() if length == LENGTH else np.round(np.arange(1, length + 1) / length, 6)


def default_config(profile: str = "book", **overrides) -> dict:
    """The full configuration of a run: the paper's settings plus the profile's budget."""
    from ..config import profile as run_profile

    prof = run_profile(profile)
    cfg = {
        "method": NAME, "profile": profile, "data": "synthetic", "seed": 0,
        "image_size": prof["image_size"], "expressions": ["happy"], "train_profiles": ["linear"], "jitter": 0.0,
        "norm": "instance", "length": LENGTH, "weights": {"g": 1.0, "r": 100.0},
        "betas": [0.5, 0.999], "decay_from": 0.5,
        **PROFILE_DEFAULTS[profile],
    }
    return check_config(apply_overrides(NAME, cfg, overrides))


def check_config(cfg: dict) -> dict:
    if cfg["norm"] not in ("instance", "batch", "none"):
        raise I2VError(f"convlstm option norm={cfg['norm']!r}; choose one of instance, batch, none")
    unet_levels(int(cfg["image_size"]))
    cfg["expressions"] = [cfg["expressions"]] if isinstance(cfg["expressions"], str) else list(cfg["expressions"])
    bad = [e for e in cfg["expressions"] if e not in EXPRESSIONS]
    if bad or not cfg["expressions"]:
        raise I2VError(f"unknown expression(s) {bad}; choose from {', '.join(EXPRESSIONS)}")
    if len(cfg["expressions"]) != 1:
        raise I2VError(f"the ConvLSTM baseline is one model per expression (Fan et al. §4.1); got "
                       f"{len(cfg['expressions'])} ({', '.join(cfg['expressions'])}): train one run per expression")
    for key in ("steps", "batch", "ngf", "ndf", "videos", "length"):
        if not isinstance(cfg[key], (int, np.integer)) or int(cfg[key]) < 1:
            raise I2VError(f"convlstm option {key} must be a positive integer, got {cfg[key]!r}")
    if cfg["data"] == "synthetic" and int(cfg["frames"][0]) < cfg["length"] + 1:
        raise I2VError(f"the ConvLSTM baseline learns clips of 1 + {cfg['length']} frames (Fan et al. §4.1: "
                       f"10 frames sampled per clip); training clips need at least {cfg['length'] + 1} frames, "
                       f"got frames={list(cfg['frames'])}")
    return cfg


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
# Training: networks, optimisers and one step; the loop lives in i2vlib.train
# ----------------------------------------------------------------------------------------------
class Trainer(ClipSource):
    """What the training loop needs: ``nets``, ``optimizers``, ``schedulers``, ``batch``, ``step``."""

    loss_names = ("d_g", "g_g", "r")

    def __init__(self, cfg: dict):
        self.cfg = check_config(dict(cfg))
        self.generator = ConvLSTMGenerator(self.cfg)
        self.d_global = init_weights(PatchDiscriminator(3, self.cfg["ndf"], self.cfg["norm"]))
        self.nets = nn.ModuleDict({"generator": self.generator, "d_global": self.d_global})
        lr, betas = self.cfg["lr"], tuple(self.cfg["betas"])
        self.optimizers = {"g": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
                           "d": torch.optim.Adam(self.d_global.parameters(), lr=lr, betas=betas)}
        self.schedulers = linear_decay(self.optimizers, self.cfg["steps"], self.cfg["decay_from"])

    def batch(self, rng: np.random.Generator) -> dict:
        """``batch`` random training clips, each resampled to 1 + ``length`` frames (§4.1)."""
        from ..data.clips import resample, to_tensor

        data = self.source()
        clips = [resample(data[int(rng.integers(len(data)))], self.cfg["length"] + 1)
                 for _ in range(self.cfg["batch"])]
        return {"neutral": torch.stack([to_tensor(c.frames[0]) for c in clips]),
                "target": torch.stack([to_tensor(c.frames[1:]) for c in clips])}

    def step(self, batch: dict, autocast=contextlib.nullcontext) -> dict[str, torch.Tensor]:
        w, i0, real = self.cfg["weights"], batch["neutral"], batch["target"]
        with autocast():
            fake = self.generator(i0)                                   # (N, T, 3, S, S)
        real_f, fake_f = real.flatten(0, 1), fake.flatten(0, 1)

        requires_grad((self.d_global,), True)                           # D_g on every frame
        with autocast():
            d_g = losses.gan_d(self.d_global(real_f), self.d_global(fake_f.detach()))
        self.optimizers["d"].zero_grad(set_to_none=True)
        (w["g"] * d_g).backward()
        self.optimizers["d"].step()

        requires_grad((self.d_global,), False)
        with autocast():
            g_g, r = losses.gan_g(self.d_global(fake_f)), losses.l1(fake, real)
            g_loss = w["g"] * g_g + w["r"] * r
        self.optimizers["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        self.optimizers["g"].step()
        for s in self.schedulers.values():
            s.step()
        return {"d_g": d_g, "g_g": g_g, "r": r}

    def compile(self) -> None:
        for net in (self.generator.encoder, self.generator.decoder):
            net.compile()


# ----------------------------------------------------------------------------------------------
# Generation: the one API, restricted to the fixed clip the baseline was trained to render
# ----------------------------------------------------------------------------------------------
class Generator(api.NetworkGenerator):
    """A trained ConvLSTM baseline behind :class:`i2vlib.api.Generator`: it renders only a = 0.1, ..., 1.0."""

    method = NAME
    network = ConvLSTMGenerator
    check_config = staticmethod(check_config)

    def __init__(self, net: ConvLSTMGenerator, config: dict, device="cpu"):
        super().__init__(net, config, device)
        self.supported_intensities = positions(net.length)

    def _encode(self, x, expressions):
        feats = self.net.encoder(x)
        return {"feats": feats, "h": self.net.recur(feats)}

    def _decode(self, feats, a=None):
        return self.net.decode(feats["feats"], feats["h"])[0]

    def generate(self, image, intensities, expression: str | None = None, as_tensor: bool = False):
        """The fixed clip: ``intensities`` must be :attr:`supported_intensities` (0.1, 0.2, ..., 1.0)."""
        from ..data.clips import to_uint8

        if isinstance(intensities, dict) and len(intensities) > 1:
            raise I2VError(f"the ConvLSTM baseline cannot mix expressions ({', '.join(map(str, intensities))}): "
                           f"it is one model per expression (Fan et al. §4.1)")
        a = next(iter(api.check_intensities(intensities, self.expressions, expression).values()))
        want = self.supported_intensities
        if len(a) != len(want) or not np.allclose(a, want, rtol=0, atol=1e-6):
            shown = ", ".join(f"{v:g}" for v in a[:6]) + (", ..." if len(a) > 6 else "")
            raise I2VError(f"the ConvLSTM baseline renders a fixed clip of {len(want)} frames at a = "
                           f"{_series(want)} (Fan et al. §4.1); got {len(a)} intensities ({shown})")
        feats = self.features(image, self.expressions)
        with torch.inference_mode():
            out = self._decode(feats).float()
        return out if as_tensor else to_uint8(out)


def _series(a: np.ndarray) -> str:
    num = lambda v: f"{v:.1f}" if v == round(v, 1) else f"{v:g}"  # noqa: E731
    return ", ".join(map(num, a)) if len(a) <= 3 else f"{num(a[0])}, {num(a[1])}, ..., {num(a[-1])}"
