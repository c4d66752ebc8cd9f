"""AffineGAN (Shen et al., ACM MM 2019): a hidden affine transformation in latent space.

Generator (Eq. 1-3)::

    f0 = E0(I0),  f_delta = E_delta(I0),  I_t = De(f0 + a_t * f_delta)

Intensity inference (Eq. 5), from the neutral frame and a real frame I_t::

    a_t = p(I0, I_t) = | (f_t - f0)^T f_delta / (f_delta^T f_delta + eps) |,   f_t = E0(I_t)

Losses (Eq. 7-12): global and local (mouth) adversarial losses on images, L1 reconstruction
of the target (Lr1) and of every target through E0 and De alone (Lr2), and an adversarial
loss pushing the inferred intensities towards U(0, 1); weights 1, 1, 100, 10, 100.

The networks are U-Nets (``i2vlib.nn``); the "latent code" is the list of features of every
level. Options reproduce the public code's variants and the paper's ablations:

``mix``          ``"skips"`` (default): Eq. 3 read literally on a U-Net, E0(I0) + a E_delta(I0)
                 at every level (as the public code does); ``"bottleneck"``: only the 1x1 code
                 is mixed and the skip connections carry E0's features.
``project``      which features enter Eq. 5: ``"bottleneck"`` (default: the 1x1 latent code of
                 the paper's Fig. 2, as the public code does) or ``"mixed"`` (every mixed level,
                 so that Eq. 5 inverts Eq. 2 exactly on everything the decoder sees).
``denominator``  ``"squared"`` (default, Eq. 5: f_delta^T f_delta + eps) or ``"norm"``
                 (the public code: ||f_delta|| + eps).
``detach_a``     False (default): Lr1 trains the encoders through a. True: the public code's
                 ``float(alpha)``; a is then shaped by the adversarial loss alone.
``estimator``    ``"projection"`` (Eq. 5) or ``"mlp"`` (§4.2 ablation: an MLP on [f0, f_t, f_delta]).
``jitter``       head motion of the synthetic training videos: 0 (default) registered faces, 1 the
                 benchmark's small random head motion, which no generator can predict from I0; trained
                 on it, our book-profile models blurred the eyes and the discriminators painted coloured
                 artefacts over them (test videos keep their head motion).
``expressions``  one expression (the paper trains one model per expression) or several: then
                 E_delta also sees the expression as one-hot label planes (the "unified model"
                 the paper sketches after Eq. 6), and expressions can be mixed at test time.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from .. import EXPRESSIONS, api, losses
from ..errors import I2VError
from ..nn import MLP, PatchDiscriminator, UNetDecoder, UNetEncoder, init_weights, unet_levels
from ..evaluate import expression_progress, reconstruction_psnr, test_clips  # noqa: F401 (the chapters' helpers)
from .common import ClipSource, apply_overrides, linear_decay, requires_grad

NAME = "affinegan"

# Expressions whose mouth barely moves: the paper drops the local loss for them (§4).
NO_MOUTH = ("close-eyes", "raise-eyes")

# The book profile trains for minutes on two CPU cores: narrow networks, small batches, and five
# times the paper's learning rate (2e-4), which the paper profile keeps.
PROFILE_DEFAULTS = {
    "smoke": {"steps": 6, "batch": 4, "ngf": 8, "ndf": 8, "videos": 4, "frames": [6, 8], "checkpoint_every": 3,
              "lr": 2e-4},
    "book": {"steps": 2000, "batch": 4, "ngf": 16, "ndf": 16, "videos": 200, "frames": [8, 16],
             "checkpoint_every": 500, "lr": 1e-3},
    "paper": {"steps": 60000, "batch": 16, "ngf": 64, "ndf": 64, "videos": 2000, "frames": [8, 32],
              "checkpoint_every": 2000, "lr": 2e-4},
}


def default_config(profile: str = "book", **overrides) -> dict:
    """The full configuration of a run: the paper's settings plus the profile's budget."""
    from ..config import profile as run_profile

    prof = run_profile(profile)
    cfg = {
        "method": NAME, "profile": profile, "data": "synthetic", "seed": 0,
        "image_size": prof["image_size"], "expressions": ["happy"], "train_profiles": ["linear"],
        "norm": "instance", "mix": "skips", "project": "bottleneck", "denominator": "squared", "eps": 1e-6,
        "detach_a": False, "estimator": "projection", "jitter": 0.0,
        "weights": {"g": 1.0, "l": 1.0, "r1": 100.0, "r2": 10.0, "a": 100.0},
        "betas": [0.5, 0.999], "decay_from": 0.5,
        **PROFILE_DEFAULTS[profile],
    }
    return check_config(apply_overrides(NAME, cfg, overrides))


def check_config(cfg: dict) -> dict:
    choices = {"mix": ("skips", "bottleneck"), "project": ("mixed", "bottleneck"),
               "denominator": ("squared", "norm"), "estimator": ("projection", "mlp"),
               "norm": ("instance", "batch", "none")}
    for key, allowed in choices.items():
        if cfg[key] not in allowed:
            raise I2VError(f"affinegan option {key}={cfg[key]!r}; choose one of {', '.join(allowed)}")
    unet_levels(int(cfg["image_size"]))
    cfg["expressions"] = list(cfg["expressions"]) if not isinstance(cfg["expressions"], str) else [cfg["expressions"]]
    bad = [e for e in cfg["expressions"] if e not in EXPRESSIONS]
    if bad or not cfg["expressions"]:
        raise I2VError(f"unknown expression(s) {bad}; choose from {', '.join(EXPRESSIONS)}")
    for key in ("steps", "batch", "ngf", "ndf", "videos"):
        if int(cfg[key]) < 1:
            raise I2VError(f"affinegan option {key} must be a positive integer, got {cfg[key]!r}")
    if float(cfg["jitter"]) < 0:
        raise I2VError(f"affinegan option jitter must be >= 0, got {cfg['jitter']!r}")
    return cfg


# ----------------------------------------------------------------------------------------------
# The generator: E0, E_delta, De
# ----------------------------------------------------------------------------------------------
class AffineGenerator(nn.Module):
    """E0, E_delta and the decoder De (Eq. 1-3), plus the intensity estimator p (Eq. 5)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        levels = unet_levels(cfg["image_size"])
        self.expressions = tuple(cfg["expressions"])
        n_labels = len(self.expressions) if len(self.expressions) > 1 else 0
        self.e0 = UNetEncoder(3, cfg["ngf"], levels, cfg["norm"])
        self.e_delta = UNetEncoder(3 + n_labels, cfg["ngf"], levels, cfg["norm"])
        self.decoder = UNetDecoder(3, cfg["ngf"], levels, cfg["norm"])
        if cfg["estimator"] == "mlp":
            self.estimator = MLP(3 * self.e0.channels[-1], hidden=128)
        init_weights(self)

    # Eq. 1: the two encoders. E_delta gets one-hot label planes when it knows several expressions.
    def encode_delta(self, i0: torch.Tensor, expression: torch.Tensor | None = None) -> list[torch.Tensor]:
        if len(self.expressions) > 1:
            if expression is None:
                raise I2VError("a multi-expression model needs the expression of every sample")
            planes = nn.functional.one_hot(expression, len(self.expressions)).to(i0.dtype)
            i0 = torch.cat([i0, planes[:, :, None, None].expand(-1, -1, *i0.shape[-2:])], dim=1)
        return self.e_delta(i0)

    def mixed_levels(self) -> list[int]:
        n = len(self.e0.channels)
        return list(range(n)) if self.cfg["mix"] == "skips" else [n - 1]

    def mix(self, f0: list[torch.Tensor], terms) -> list[torch.Tensor]:
        """Eq. 2: f0 + sum_k a_k f_delta_k at the mixed levels; ``terms`` = [(a (N,), f_delta), ...]."""
        mixed = set(self.mixed_levels())
        out = []
        for level, f in enumerate(f0):
            if level in mixed:
                for a, fd in terms:
                    f = f + a.to(f.dtype).view(-1, 1, 1, 1) * fd[level]
            out.append(f)
        return out

    def code(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """The features Eq. 5 projects, flattened to (N, D)."""
        levels = self.mixed_levels() if self.cfg["project"] == "mixed" else [len(feats) - 1]
        return torch.cat([feats[i].flatten(1).float() for i in levels], dim=1)

    def infer(self, f0, ft, fd) -> torch.Tensor:
        """Eq. 5: a_t = |(f_t - f0)^T f_delta / (f_delta^T f_delta + eps)| per sample (N,)."""
        if self.cfg["estimator"] == "mlp":
            x = torch.cat([f0[-1].flatten(1), ft[-1].flatten(1), fd[-1].flatten(1)], dim=1).float()
            return self.estimator(x).squeeze(1).abs()
        c0, ct, cd = self.code(f0), self.code(ft), self.code(fd)
        return intensity(c0, ct, cd, self.cfg["eps"], self.cfg["denominator"])

    def forward(self, i0, a, expression=None):
        """Eq. 3: De(E0(I0) + a E_delta(I0))."""
        return self.decoder(self.mix(self.e0(i0), [(a, self.encode_delta(i0, expression))]))


def intensity(f0: torch.Tensor, ft: torch.Tensor, fd: torch.Tensor, eps: float = 1e-6,
              denominator: str = "squared") -> torch.Tensor:
    """Eq. 5 on flattened codes (N, D): |(f_t - f0)^T f_delta| / (f_delta^T f_delta + eps).

    ``denominator="norm"`` divides by ||f_delta|| + eps instead (the public code).
    """
    num = ((ft - f0) * fd).sum(dim=1)
    sq = (fd * fd).sum(dim=1)
    den = sq + eps if denominator == "squared" else sq.sqrt() + eps
    return (num / den).abs()


# ----------------------------------------------------------------------------------------------
# Training: networks, optimisers and one step (Eq. 12); the loop lives in i2vlib.train
# ----------------------------------------------------------------------------------------------
class Trainer(ClipSource):
    """What the training loop needs: ``nets``, ``optimizers``, ``schedulers``, ``batch``, ``step``."""

    loss_names = ("d_g", "d_l", "d_a", "g_g", "g_l", "r1", "r2", "g_a", "a_mean", "a_std")

    def __init__(self, cfg: dict):
        self.cfg = check_config(dict(cfg))
        self.generator = AffineGenerator(self.cfg)
        ndf = self.cfg["ndf"]
        self.d_global = init_weights(PatchDiscriminator(6, ndf, self.cfg["norm"]))
        self.d_local = init_weights(PatchDiscriminator(6, ndf, self.cfg["norm"]))
        self.d_alpha = MLP(1, hidden=64)  # PyTorch's default init: N(0, 0.02) layers barely learn on a scalar
        self.nets = nn.ModuleDict({"generator": self.generator, "d_global": self.d_global,
                                   "d_local": self.d_local, "d_alpha": self.d_alpha})
        lr, betas = self.cfg["lr"], tuple(self.cfg["betas"])
        self.optimizers = {
            "g": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
            "d": torch.optim.Adam([*self.d_global.parameters(), *self.d_local.parameters(),
                                   *self.d_alpha.parameters()], lr=lr, betas=betas),
        }
        self.schedulers = linear_decay(self.optimizers, self.cfg["steps"], self.cfg["decay_from"])
        self.local_weight = torch.tensor([0.0 if e in NO_MOUTH else 1.0 for e in self.cfg["expressions"]])


    def batch(self, rng: np.random.Generator) -> dict:
        """``batch`` (neutral, target) pairs from random training videos (paper §3.1: pairs from several videos)."""
        from ..data.clips import to_tensor

        clips = self.source()
        n0, nt, masks, expr = [], [], [], []
        for _ in range(self.cfg["batch"]):
            clip = clips[int(rng.integers(len(clips)))]
            t = int(rng.integers(1, len(clip)))
            n0.append(to_tensor(clip.frames[0]))
            nt.append(to_tensor(clip.frames[t]))
            m = clip.masks[t] if clip.masks is not None else np.zeros(clip.frames.shape[1:3], bool)
            masks.append(torch.from_numpy(np.asarray(m)).float()[None])
            expr.append(self.cfg["expressions"].index(clip.expression))
        return {"neutral": torch.stack(n0), "target": torch.stack(nt), "mask": torch.stack(masks),
                "expression": torch.tensor(expr)}

    # -- one step of Eq. 12 -------------------------------------------------------------
    def step(self, batch: dict, autocast=contextlib.nullcontext) -> dict[str, torch.Tensor]:
        G, w = self.generator, self.cfg["weights"]
        i0, it, m, e = batch["neutral"], batch["target"], batch["mask"], batch["expression"]
        lw = self.local_weight.to(i0.device)[e] * (m.flatten(1).sum(1) > 0)
        with autocast():
            f0, fd, ft = G.e0(i0), G.encode_delta(i0, e), G.e0(it)
            a = G.infer(f0, ft, fd)                                              # Eq. 5
            fake = G.decoder(G.mix(f0, [(a.detach() if self.cfg["detach_a"] else a, fd)]))  # Eq. 6
            recon = G.decoder(ft)                                                 # De(E0(I_t)), Eq. 10
        u = torch.rand_like(a)                                                   # x ~ U(0, 1), Eq. 11

        # Discriminators: minimise Eq. 7, 8, 11 over D_g, D_l, D_a.
        self._requires_grad(True)
        with autocast():
            fk = fake.detach()
            d_g = losses.gan_d(self.d_global(torch.cat([i0, it], 1)), self.d_global(torch.cat([i0, fk], 1)))
            d_l = losses.gan_d(self.d_local(torch.cat([i0 * m, it * m], 1)),
                               self.d_local(torch.cat([i0 * m, fk * m], 1)), lw)
            d_a = losses.gan_d(self.d_alpha(u[:, None]), self.d_alpha(a.detach()[:, None].float()))
            d_loss = w["g"] * d_g + w["l"] * d_l + w["a"] * d_a
        self.optimizers["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizers["d"].step()

        # Generator: E0, E_delta, De (and the MLP estimator) against the updated discriminators.
        self._requires_grad(False)
        with autocast():
            g_g = losses.gan_g(self.d_global(torch.cat([i0, fake], 1)))
            g_l = losses.gan_g(self.d_local(torch.cat([i0 * m, fake * m], 1)), lw)
            r1, r2 = losses.l1(fake, it), losses.l1(recon, it)
            g_a = losses.gan_g(self.d_alpha(a[:, None].float()))
            g_loss = w["g"] * g_g + w["l"] * g_l + w["r1"] * r1 + w["r2"] * r2 + w["a"] * g_a
        self.optimizers["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        self.optimizers["g"].step()
        for s in self.schedulers.values():
            s.step()
        return {"d_g": d_g, "d_l": d_l, "d_a": d_a, "g_g": g_g, "g_l": g_l, "r1": r1, "r2": r2, "g_a": g_a,
                "a_mean": a.mean(), "a_std": a.std() if len(a) > 1 else a.new_zeros(())}

    def _requires_grad(self, flag: bool) -> None:
        requires_grad((self.d_global, self.d_local, self.d_alpha), flag)

    def compile(self) -> None:
        for net in (self.generator.e0, self.generator.e_delta, self.generator.decoder):
            net.compile()


# ----------------------------------------------------------------------------------------------
# Generation: the one API
# ----------------------------------------------------------------------------------------------
class Generator(api.NetworkGenerator):
    """A trained AffineGAN behind :class:`i2vlib.api.Generator`, plus :meth:`infer_intensity` (Eq. 5)."""

    method = NAME
    network = AffineGenerator
    check_config = staticmethod(check_config)

    def _labels(self, expression: str, n: int = 1) -> torch.Tensor:
        return torch.full((n,), self.expressions.index(expression), dtype=torch.long, device=self.device)

    def _encode(self, x, expressions):
        return {"f0": self.net.e0(x), "fd": {e: self.net.encode_delta(x, self._labels(e)) for e in expressions}}

    def _decode(self, feats, a):
        n = len(next(iter(a.values())))
        f0 = [f.expand(n, *f.shape[1:]) for f in feats["f0"]]
        return self.net.decoder(self.net.mix(f0, [(a[e], feats["fd"][e]) for e in a]))

    def reconstruct(self, image) -> np.ndarray:
        """De(E0(I)): the path Lr2 trains (Eq. 10), H x W x 3 uint8."""
        from ..data.clips import to_uint8

        with torch.inference_mode():
            return to_uint8(self.net.decoder(self.net.e0(self.tensor(image))))[0]

    def infer_intensity(self, neutral, frames, expression: str | None = None) -> np.ndarray:
        """Eq. 5 for every frame of ``frames`` (T x H x W x 3) against the neutral image."""
        from ..data.clips import to_tensor

        expression = expression or self.expressions[0]
        if expression not in self.expressions:
            raise I2VError(f"this model cannot infer {expression!r}; it knows {', '.join(self.expressions)}")
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        feats = self.features(neutral, (expression,))
        out = []
        with torch.inference_mode():
            for s in range(0, len(frames), self.batch_size):
                x = torch.stack([to_tensor(api.prepare_image(f, self.image_size))
                                 for f in frames[s:s + self.batch_size]]).to(self.device)
                n = len(x)
                f0 = [f.expand(n, *f.shape[1:]) for f in feats["f0"]]
                fd = [f.expand(n, *f.shape[1:]) for f in feats["fd"][expression]]
                out.append(self.net.infer(f0, self.net.e0(x), fd).float().cpu())
        return torch.cat(out).numpy()


# ----------------------------------------------------------------------------------------------
# Measurements the chapters make on a trained model
# ----------------------------------------------------------------------------------------------
def intensity_agreement(model: Generator, clips) -> dict:
    """Eq. 5 on every frame of real test videos against the true intensities.

    Returns the pooled arrays ``true`` and ``inferred``, Spearman's rho pooled over all frames,
    the mean per-video rho, and the fraction of inferred values inside [0, 1].
    """
    from ..metrics import spearman

    true, inferred, per_video = [], [], []
    for clip in clips:
        a = model.infer_intensity(clip.frames[0], clip.frames, expression=clip.expression)
        true.append(np.asarray(clip.intensity, float))
        inferred.append(a)
        per_video.append(spearman(clip.intensity, a))
    t, i = np.concatenate(true), np.concatenate(inferred)
    return {"true": t, "inferred": i, "rho": spearman(t, i), "rho_per_video": float(np.nanmean(per_video)),
            "in_unit_range": float(np.mean((i >= 0) & (i <= 1))), "mae": float(np.abs(t - i).mean())}
