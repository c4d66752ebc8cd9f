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
``pairs_per_video``  None (default): every pair from its own random video (§3.1); 5 in the paper
                 profile: a batch is one video with five pairs (§4).
``expressions``  one expression (the paper trains one model per expression) or several: then
                 E_delta also sees the expression as one-hot label planes (the "unified model"
                 the paper sketches after Eq. 6), and expressions can be mixed at test time.
``upsample``     how the decoder doubles its size (:func:`i2vlib.nn.up_conv`): ``"transposed"`` (default: the
                 4x4 stride-2 transposed convolutions of pix2pix and the public code), ``"nearest"`` or
                 ``"bilinear"`` (resize, then a 3x3 convolution), ``"blur"`` (transposed, then a fixed blur).
``delta_width``  E_delta's width as a multiple of E0's (1, the default: both ``ngf``); wider, its features are
                 mapped back to E0's channels by a 1x1 convolution per level, so that Eq. 2's sum is defined.
``local_region`` the local patch of interest of Eq. 7-8: ``"mouth"`` (the default and §4's: the mouth, and no
                 local loss for close-eyes and raise-eyes) or ``"eyes"`` (the brows and eyes, for every
                 expression; the paper allows "some informative local regions", §3.3).
``r1_penalty``   gamma of an R1 penalty on both image critics at their real inputs (Mescheder et al. 2018;
                 :func:`i2vlib.losses.r1_penalty`), against their high-frequency artefacts; 0 = none (none of
                 the papers' or the public code's).
``classify``     the weight of a domain classification loss on the global critic, as in StarGAN
                 (Choi et al. 2018), which the paper names for its unified model ("spatially replicating
                 and concatenating domain labels, as well as adding a domain classification loss"):
                 D_g also tells which expression a real pair (I0, I_t) shows (cross-entropy, L_cls^r) and
                 the generator is asked for frames it reads as the requested one (L_cls^f). 0 = none;
                 several expressions only.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..data.clips import from_tensor, to_tensor
from ..errors import I2VError
from ..nn import MLP, UPSAMPLING, UNetDecoder, UNetEncoder, init_weights, mix, patch_critic, unet_levels
from .gan import GANTrainer

NAME = "affinegan"

# Expressions whose mouth barely moves: the paper drops the local loss for them (§4).
NO_MOUTH = ("close-eyes", "raise-eyes")

# The paper profile: what §4 "Implementation Details" states (option -> where) ...
STATED = {
    "batch": "§4: video batch size 1, five (neutral, target) pairs per video",
    "pairs_per_video": "§4: the first frame paired with five randomly sampled frames",
    "norm": "§4: instance normalization", "d_layers": "§4: three-layer convolutional discriminators",
    "lr": "§4: Adam, learning rate 0.0002", "betas": "§4: beta1 0.5, beta2 0.999",
    "weights": "§4: 1, 1, 100, 10, 100 for Eq. 12's terms; no local loss for close-eyes, raise-eyes",
}
# ... and what it leaves open, with where our value comes from.
UNSTATED = {
    "image_size": "256 px, where §4's 8-layer encoders reach 1x1, as in pix2pix [11] which the paper follows",
    "ngf": "64, pix2pix's width", "ndf": "64, pix2pix's width",
    "steps": "200 epochs of the 200 videos (pix2pix's 100 constant + 100 decaying epochs)",
    "decay_from": "0.5: pix2pix's linear decay over the second half",
    "videos": "200 per expression, about the size of CK-Mixed's classes (CK++: 167 to 214 videos)",
}


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
        self.e_delta = UNetEncoder(3 + n_labels, cfg["ngf"] * cfg["delta_width"], levels, cfg["norm"])
        # E_delta's features back to E0's channels: identities (no weights) at E0's width
        self.delta_out = nn.ModuleList(nn.Conv2d(c, c0, 1) if c != c0 else nn.Identity()
                                       for c, c0 in zip(self.e_delta.channels, self.e0.channels))
        self.decoder = UNetDecoder(3, cfg["ngf"], levels, cfg["norm"], cfg["upsample"])
        if cfg["estimator"] == "mlp":
            self.estimator = MLP(3 * self.e0.channels[-1], hidden=128)
        init_weights(self)

    def residual(self, i0: torch.Tensor, expression: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Eq. 1: f_delta = E_delta(I0); with several expressions E_delta also gets one-hot label planes."""
        if len(self.expressions) > 1:
            if expression is None:
                raise I2VError("a multi-expression model needs the expression of every sample")
            planes = nn.functional.one_hot(expression, len(self.expressions)).to(i0.dtype)
            i0 = torch.cat([i0, planes[:, :, None, None].expand(-1, -1, *i0.shape[-2:])], dim=1)
        return [p(f) for p, f in zip(self.delta_out, self.e_delta(i0))]

    def mixed_levels(self) -> list[int]:
        n = len(self.e0.channels)
        return list(range(n)) if self.cfg["mix"] == "skips" else [n - 1]

    def mix(self, f0: list[torch.Tensor], terms) -> list[torch.Tensor]:
        """Eq. 2: f0 + sum_k a_k f_delta_k at the mixed levels; ``terms`` = [(a (N,), f_delta), ...]."""
        return mix(f0, terms, self.mixed_levels())

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
        return self.decoder(self.mix(self.e0(i0), [(a, self.residual(i0, expression))]))


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
# Training: Eq. 12 as loss terms; the GAN step lives in models.gan, the loop in i2vlib.train
# ----------------------------------------------------------------------------------------------
class Trainer(GANTrainer):
    """AffineGAN's networks, batches and loss terms (Eq. 7-12)."""

    name = NAME
    options = {"mix": "skips", "project": "bottleneck", "denominator": "squared", "eps": 1e-6,
               "detach_a": False, "estimator": "projection", "pairs_per_video": None, "classify": 0.0,
               "upsample": "transposed", "r1_penalty": 0.0, "delta_width": 1, "local_region": "mouth",
               "weights": {"g": 1.0, "l": 1.0, "r1": 100.0, "r2": 10.0, "a": 100.0}}
    profile_changes = {"paper": {"batch": 5, "pairs_per_video": 5, "steps": 40000}}
    choices = {"mix": ("skips", "bottleneck"), "project": ("mixed", "bottleneck"),
               "denominator": ("squared", "norm"), "estimator": ("projection", "mlp"), "upsample": UPSAMPLING,
               "local_region": ("mouth", "eyes")}
    critics = ("d_global", "d_local", "d_alpha")
    d_losses = {"d_g": ("g", "Eq. 7"), "d_l": ("l", "Eq. 8"), "d_a": ("a", "Eq. 11")}
    g_losses = {"g_g": ("g", "Eq. 7"), "g_l": ("l", "Eq. 8"), "r1": ("r1", "Eq. 9"), "r2": ("r2", "Eq. 10"),
                "g_a": ("a", "Eq. 11")}
    monitors = ("a_mean", "a_std")

    @classmethod
    def check(cls, cfg: dict) -> dict:
        w = cfg["classify"]
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0:
            raise I2VError(f"affinegan option classify must be a loss weight >= 0, got {w!r}")
        if w > 0 and len(cfg["expressions"]) < 2:
            raise I2VError("affinegan option classify needs several expressions (the unified model) to tell apart")
        if isinstance(cfg["delta_width"], bool) or cfg["delta_width"] not in (1, 2, 4):
            raise I2VError(f"affinegan option delta_width must be 1, 2 or 4, got {cfg['delta_width']!r}")
        return cfg

    def __init__(self, cfg: dict):
        super().__init__(cfg)
        if self.weight("r1_penalty") > 0:
            self.d_losses = {**self.d_losses, "d_r1": ("r1_penalty", "R1 on both image critics' real inputs")}
        if self.weight("classify") > 0:
            self.d_losses = {**self.d_losses, "d_cls": ("classify", "StarGAN L_cls^r (unified model)")}
            self.g_losses = {**self.g_losses, "g_cls": ("classify", "StarGAN L_cls^f (unified model)")}

    def build(self) -> dict[str, nn.Module]:
        eyes = self.cfg["local_region"] == "eyes"
        self.local_weight = torch.tensor([1.0 if eyes or e not in NO_MOUTH else 0.0 for e in self.cfg["expressions"]])
        return {"generator": AffineGenerator(self.cfg),
                "d_global": patch_critic(6, self.cfg, self._classes()),    # D_g([I0, I_t])
                "d_local": patch_critic(6, self.cfg),     # D_l on the local patch (the mouth, or the eyes)
                "d_alpha": MLP(1, hidden=64)}  # PyTorch's default init: N(0, 0.02) layers barely learn on a scalar

    def _classes(self) -> int:
        return len(self.cfg["expressions"]) if float(self.cfg["classify"]) > 0 else 0

    def sample(self, rng: np.random.Generator) -> dict:
        """(neutral, target) pairs from random training videos (§3.1: pairs from several videos), or
        ``pairs_per_video`` pairs from each (§4: five pairs of one video per batch)."""
        return self.sampler().pairs(rng, self.cfg["batch"], per_video=self.cfg["pairs_per_video"],
                                    region=self.cfg["local_region"])      # M_t of Eq. 7: the mouth or the eyes

    def forward(self, b: dict) -> dict:
        G = self.nets["generator"]
        i0, it, e = b["neutral"], b["target"], b["expression"]
        f0, fd, ft = G.e0(i0), G.residual(i0, e), G.e0(it)
        a = G.infer(f0, ft, fd)                                                   # Eq. 5
        fake = G.decoder(G.mix(f0, [(a.detach() if self.cfg["detach_a"] else a, fd)]))   # Eq. 6
        has_mouth = b["mask"].flatten(1).sum(1) > 0
        return {"a": a, "fake": fake, "recon": G.decoder(ft),                    # De(E0(I_t)), Eq. 10
                "u": torch.rand_like(a),                                          # x ~ U(0, 1), Eq. 11
                "local": self.local_weight.to(i0.device)[e] * has_mouth}

    def d_terms(self, b: dict, out: dict) -> dict:
        """The critics minimise Eq. 7, 8 and 11."""
        i0, it, m = b["neutral"], b["target"], b["mask"]
        fake = out["fake"].detach()
        d_g, d_l, d_a = self.nets["d_global"], self.nets["d_local"], self.nets["d_alpha"]
        real = self._global([i0, it])
        return {
            "d_g": lambda: losses.gan_d(real()[0], d_g(torch.cat([i0, fake], 1))),
            "d_l": lambda: losses.gan_d(d_l(torch.cat([i0 * m, it * m], 1)), d_l(torch.cat([i0 * m, fake * m], 1)),
                                        out["local"]),
            "d_a": lambda: losses.gan_d(d_a(out["u"][:, None]), d_a(out["a"].detach()[:, None].float())),
            "d_cls": lambda: nn.functional.cross_entropy(real()[1].float(), b["expression"]),
            "d_r1": lambda: (losses.r1_penalty(d_g, torch.cat([i0, it], 1))
                             + losses.r1_penalty(d_l, torch.cat([i0 * m, it * m], 1), out["local"])),
        }

    def g_terms(self, b: dict, out: dict) -> dict:
        """E0, E_delta and De (and the MLP estimator) minimise Eq. 12 against the updated critics."""
        i0, it, m, fake = b["neutral"], b["target"], b["mask"], out["fake"]
        judged = self._global([i0, fake])
        return {
            "g_g": lambda: losses.gan_g(judged()[0]),
            "g_l": lambda: losses.gan_g(self.nets["d_local"](torch.cat([i0 * m, fake * m], 1)), out["local"]),
            "r1": lambda: losses.l1(fake, it),
            "r2": lambda: losses.l1(out["recon"], it),
            "g_a": lambda: losses.gan_g(self.nets["d_alpha"](out["a"][:, None].float())),
            "g_cls": lambda: nn.functional.cross_entropy(judged()[1].float(), b["expression"]),
        }

    def _global(self, pair: list[torch.Tensor]):
        """D_g([I0, I]) as a function evaluated once: its patch logits and, for the unified model, its domain
        logits from the same pass (the adversarial and the classification term share it)."""
        d_g, classify = self.nets["d_global"], self._classes() > 0
        return functools.cache(lambda: d_g.both(torch.cat(pair, 1)) if classify else (d_g(torch.cat(pair, 1)), None))

    def monitor(self, b: dict, out: dict) -> dict:
        a = out["a"].detach()
        return {"a_mean": a.mean(), "a_std": a.std() if len(a) > 1 else a.new_zeros(())}


default_config = Trainer.default_config


# ----------------------------------------------------------------------------------------------
# Generation: the one API
# ----------------------------------------------------------------------------------------------
class Model(api.MixingModel):
    """A trained AffineGAN behind :class:`i2vlib.api.Model`, plus :meth:`infer_intensity` (Eq. 5)."""

    method = NAME
    network = AffineGenerator

    def reconstruct(self, image) -> np.ndarray:
        """De(E0(I)): the path Lr2 trains (Eq. 10), H x W x 3 uint8."""
        with torch.inference_mode():
            return from_tensor(self.net.decoder(self.net.e0(self.tensor(image))))[0]

    def infer_intensity(self, neutral, frames, expression: str | None = None) -> np.ndarray:
        """Eq. 5 for every frame of ``frames`` (T x H x W x 3) against the neutral image."""
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
                fd = [f.expand(n, *f.shape[1:]) for f in feats["residual"][expression]]
                out.append(self.net.infer(f0, self.net.e0(x), fd).float().cpu())
        return torch.cat(out).numpy()
