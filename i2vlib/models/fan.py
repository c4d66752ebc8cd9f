"""Fan et al. (AAAI 2019), *Controllable Image-to-Video Translation*: mixing encoders by a.

Generator (Eq. 1-2, and Eq. 7 for n expressions)::

    F(I, a) = e0(I) + sum_i a_i * e_i(I)      (level by level: at every skip of the U-Net)
    V(a)    = d(F(I, a))

Training (Eq. 3-6): frame t of a T-frame clip gets the position label a = (t - 1) / (T - 1)
(``labels="true"`` uses the benchmark's true intensities instead). The generator is trained
against a global discriminator D_g on frames (Eq. 3) and a local one D_l on the mouth, cut out
by the convex hull of the mouth landmarks (Eq. 4), with an L1 reconstruction term L_r, a
landmark loss L_k from a head on the decoder's second-to-last layer, and the temporal
regulariser R_t = ||V(a) - V(a - da)||_1 + ||V(a) - V(a + da)||_1 with da = 0.1 (Eq. 5), its
three frames generated independently. Setting a weight to 0 removes its term (the Fig. 4
ablations): ``l`` (no local discriminator), ``k`` (no landmark prediction), ``t`` (no R_t).

Readings and choices the paper leaves open, stated here:

* **"Convolution-BatchNorm-ReLU" with one clip per batch.** The paper samples one video per
  batch; batch norm over a single image is instance norm, which is what we use at any batch
  size (``norm="batch"`` is available).
* **Registered training faces.** The benchmark's videos carry small random head motion (about a
  pixel at 64 px between frames). A generator cannot know the motion of a frame it has not seen,
  so on such targets L_r teaches it a blurred face and the discriminators then sharpen it with
  coloured speckle; in our trials, book-profile models trained on registered videos (``jitter=0``,
  what face-aligned datasets give) reconstructed better and reached stronger expressions. The
  default is therefore 0; ``jitter=1`` trains on the benchmark's moving heads.
* **"a 68-dimensional channel" for the landmarks.** We read it as 68 heat-map channels on the
  second-to-last decoder layer (S/2 x S/2), each turned into one (x, y) point by a spatial
  soft-argmax; L_k is the Euclidean norm of the 136-vector of errors, in units of the image side.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from .. import EXPRESSIONS, api, losses
from ..errors import I2VError
from ..nn import PatchDiscriminator, UNetDecoder, UNetEncoder, init_weights, unet_levels
from .common import ClipSource, apply_overrides, linear_decay, requires_grad

NAME = "fan"

# As AffineGAN's book profile: narrow networks, small batches and 5x the paper's learning rate
# (2e-4, kept by the paper profile) so that a model trains in minutes on two CPU cores.
PROFILE_DEFAULTS = {
    "smoke": {"steps": 6, "batch": 4, "ngf": 8, "ndf": 8, "videos": 4, "frames": [6, 8], "checkpoint_every": 3,
              "lr": 2e-4},
    "book": {"steps": 1500, "batch": 4, "ngf": 16, "ndf": 16, "videos": 200, "frames": [8, 16],
             "checkpoint_every": 500, "lr": 1e-3},
    "paper": {"steps": 60000, "batch": 16, "ngf": 64, "ndf": 64, "videos": 2000, "frames": [8, 32],
              "checkpoint_every": 2000, "lr": 2e-4},
}

# Loss weights. The paper: "slightly different weights in front of the loss and regularization
# terms" (§3.3), without the values; L_r gets pix2pix's 100.
WEIGHTS = {"g": 1.0, "l": 1.0, "r": 100.0, "k": 10.0, "t": 10.0}


def default_config(profile: str = "book", **overrides) -> dict:
    """The full configuration of a run: the paper's settings plus the profile's budget."""
    from ..config import profile as run_profile

    prof = run_profile(profile)
    cfg = {
        "method": NAME, "profile": profile, "data": "synthetic", "seed": 0,
        "image_size": prof["image_size"], "expressions": ["happy"], "train_profiles": ["linear"],
        "labels": "position", "norm": "instance", "delta_a": 0.1, "weights": dict(WEIGHTS), "jitter": 0.0,
        "betas": [0.5, 0.999], "decay_from": 0.5,
        **PROFILE_DEFAULTS[profile],
    }
    return check_config(apply_overrides(NAME, cfg, overrides))


def check_config(cfg: dict) -> dict:
    for key, allowed in {"labels": ("position", "true"), "norm": ("instance", "batch", "none")}.items():
        if cfg[key] not in allowed:
            raise I2VError(f"fan option {key}={cfg[key]!r}; choose one of {', '.join(allowed)}")
    unet_levels(int(cfg["image_size"]))
    cfg["expressions"] = [cfg["expressions"]] if isinstance(cfg["expressions"], str) else list(cfg["expressions"])
    bad = [e for e in cfg["expressions"] if e not in EXPRESSIONS]
    if bad or not cfg["expressions"] or len(set(cfg["expressions"])) < len(cfg["expressions"]):
        raise I2VError(f"fan expressions must be distinct names from {', '.join(EXPRESSIONS)}; got {cfg['expressions']}")
    for key in ("steps", "batch", "ngf", "ndf", "videos"):
        if int(cfg[key]) < 1:
            raise I2VError(f"fan option {key} must be a positive integer, got {cfg[key]!r}")
    if float(cfg["jitter"]) < 0:
        raise I2VError(f"fan option jitter must be >= 0, got {cfg['jitter']!r}")
    if not 0 < float(cfg["delta_a"]) < 1:
        raise I2VError(f"fan option delta_a must lie in (0, 1), got {cfg['delta_a']!r}")
    if any(float(w) < 0 for w in cfg["weights"].values()):
        raise I2VError(f"fan loss weights must be >= 0, got {cfg['weights']}")
    return cfg


# ----------------------------------------------------------------------------------------------
# The generator: e0, e_1..e_n, d, and the landmark head
# ----------------------------------------------------------------------------------------------
class LandmarkHead(nn.Module):
    """68 heat maps on the decoder's second-to-last layer -> 68 (x, y) points in image pixels.

    The layer has half the image's resolution; a spatial softmax turns each map into a
    distribution over its cells and the expected cell centre is the landmark (soft-argmax).
    Pixel centres are at integer coordinates, as in the benchmark's landmarks.
    """

    def __init__(self, in_ch: int, points: int = 68):
        super().__init__()
        self.heatmaps = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(in_ch, points, 3, 1, 1))

    def forward(self, hidden: torch.Tensor, image_size: int) -> torch.Tensor:
        logits = self.heatmaps(hidden)                                   # N x 68 x h x w
        n, k, h, w = logits.shape
        p = logits.flatten(2).float().softmax(-1).view(n, k, h, w)
        cell = image_size / w
        xs = (torch.arange(w, device=p.device, dtype=p.dtype) + 0.5) * cell - 0.5
        ys = (torch.arange(h, device=p.device, dtype=p.dtype) + 0.5) * cell - 0.5
        return torch.stack([(p.sum(2) * xs).sum(-1), (p.sum(3) * ys).sum(-1)], dim=-1)   # N x 68 x 2


class FanGenerator(nn.Module):
    """Base encoder ``e0``, one residual encoder per expression ``e[name]`` (Eq. 7), decoder ``d``."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.image_size = int(cfg["image_size"])
        levels, ngf, norm = unet_levels(self.image_size), cfg["ngf"], cfg["norm"]
        self.expressions = tuple(cfg["expressions"])
        self.e0 = UNetEncoder(3, ngf, levels, norm)
        self.e = nn.ModuleDict({name: UNetEncoder(3, ngf, levels, norm) for name in self.expressions})
        self.decoder = UNetDecoder(3, ngf, levels, norm)
        self.landmark_head = LandmarkHead(2 * ngf)
        init_weights(self)

    @staticmethod
    def mix(f0: list[torch.Tensor], terms) -> list[torch.Tensor]:
        """Eq. 1 / Eq. 7: e0(I) + sum_i a_i e_i(I), at every level; ``terms`` = [(a (N,), e_i(I)), ...]."""
        out = []
        for level, f in enumerate(f0):
            for a, fe in terms:
                f = f + a.to(f.dtype).view(-1, 1, 1, 1) * fe[level]
            out.append(f)
        return out

    def residual(self, image: torch.Tensor, expression: torch.Tensor) -> list[torch.Tensor]:
        """e_i(I) with i the expression of each sample (index into ``expressions``); one encoder pass per sample."""
        if len(self.expressions) == 1:
            return self.e[self.expressions[0]](image)
        out = None
        for k, name in enumerate(self.expressions):
            idx = (expression == k).nonzero().flatten()
            if len(idx) == 0:
                continue
            feats = self.e[name](image[idx])
            if out is None:
                out = [image.new_zeros(len(image), *f.shape[1:]) for f in feats]
            out = [o.index_copy(0, idx, f) for o, f in zip(out, feats)]
        return out

    def decode(self, feats: list[torch.Tensor], landmarks: bool = False):
        """d(F): frames in [-1, 1], and with ``landmarks`` also the head's N x 68 x 2 points."""
        if not landmarks:
            return self.decoder(feats)
        frames, hidden = self.decoder(feats, return_hidden=True)
        return frames, self.landmark_head(hidden[-1], self.image_size)

    def forward(self, image: torch.Tensor, a: torch.Tensor, expression: str | None = None) -> torch.Tensor:
        """Eq. 2: V(a) = d(e0(I) + a e_i(I)) for one expression (default: the first)."""
        fe = self.e[expression or self.expressions[0]](image)
        return self.decoder(self.mix(self.e0(image), [(a, fe)]))


def temporal_regulariser(v: torch.Tensor, v_minus: torch.Tensor, v_plus: torch.Tensor) -> torch.Tensor:
    """Eq. 5: R_t = ||V(a) - V(a - da)||_1 + ||V(a) - V(a + da)||_1 (means over pixels)."""
    return losses.l1(v, v_minus) + losses.l1(v, v_plus)


def landmark_loss(predicted: torch.Tensor, target: torch.Tensor, image_size: int,
                  weight: torch.Tensor | None = None) -> torch.Tensor:
    """L_k = ||K_hat(a) - K(a)||_2 over the 136 coordinates in units of the image side, averaged over samples."""
    err = ((predicted - target) / image_size).flatten(1).norm(dim=1)
    return losses._weighted_mean(err, weight)


# ----------------------------------------------------------------------------------------------
# Training: networks, optimisers and one step of Eq. 6; the loop lives in i2vlib.train
# ----------------------------------------------------------------------------------------------
class Trainer(ClipSource):
    """What the training loop needs: ``nets``, ``optimizers``, ``schedulers``, ``batch``, ``step``."""

    loss_names = ("d_g", "d_l", "g_g", "g_l", "r", "k", "t")

    def __init__(self, cfg: dict):
        self.cfg = check_config(dict(cfg))
        self.generator = FanGenerator(self.cfg)
        ndf, norm = self.cfg["ndf"], self.cfg["norm"]
        self.d_global = init_weights(PatchDiscriminator(3, ndf, norm))   # D_g(V(a)), Eq. 3
        self.d_local = init_weights(PatchDiscriminator(3, ndf, norm))    # D_l(V(a) o M(a)), Eq. 4
        self.nets = nn.ModuleDict({"generator": self.generator, "d_global": self.d_global, "d_local": self.d_local})
        lr, betas = self.cfg["lr"], tuple(self.cfg["betas"])
        self.optimizers = {
            "g": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
            "d": torch.optim.Adam([*self.d_global.parameters(), *self.d_local.parameters()], lr=lr, betas=betas),
        }
        self.schedulers = linear_decay(self.optimizers, self.cfg["steps"], self.cfg["decay_from"])

    def batch(self, rng: np.random.Generator) -> dict:
        """``batch`` frames from random training clips: (first frame, frame t, a(t), landmarks, mouth mask)."""
        from ..data.clips import labels, to_tensor

        clips, size = self.source(), self.cfg["image_size"]
        rows = {k: [] for k in ("neutral", "target", "a", "landmarks", "has_landmarks", "mask", "expression")}
        for _ in range(self.cfg["batch"]):
            clip = clips[int(rng.integers(len(clips)))]
            t = int(rng.integers(len(clip)))       # t = 0 too: a = 0 must give the input back
            rows["neutral"].append(to_tensor(clip.frames[0]))
            rows["target"].append(to_tensor(clip.frames[t]))
            rows["a"].append(float(labels(clip, self.cfg["labels"])[t]))
            lm = clip.landmarks[t] if clip.landmarks is not None else np.zeros((68, 2))
            rows["landmarks"].append(torch.as_tensor(np.asarray(lm), dtype=torch.float32))
            rows["has_landmarks"].append(clip.landmarks is not None)
            m = clip.masks[t] if clip.masks is not None else np.zeros((size, size), bool)
            rows["mask"].append(torch.from_numpy(np.asarray(m)).float()[None])
            rows["expression"].append(self.cfg["expressions"].index(clip.expression))
        return {"neutral": torch.stack(rows["neutral"]), "target": torch.stack(rows["target"]),
                "a": torch.tensor(rows["a"]), "landmarks": torch.stack(rows["landmarks"]),
                "has_landmarks": torch.tensor(rows["has_landmarks"]), "mask": torch.stack(rows["mask"]),
                "expression": torch.tensor(rows["expression"])}

    def step(self, batch: dict, autocast=contextlib.nullcontext) -> dict[str, torch.Tensor]:
        G, w, da = self.generator, self.cfg["weights"], float(self.cfg["delta_a"])
        i0, y, a, m = batch["neutral"], batch["target"], batch["a"], batch["mask"]
        n = len(i0)
        has_mouth = (m.flatten(1).sum(1) > 0).float()
        zero = i0.new_zeros(())
        with autocast():
            f0, fe = G.e0(i0), G.residual(i0, batch["expression"])
            # V(a), V(a - da), V(a + da): three independent frames, decoded as one batch (Eq. 5)
            a3 = torch.cat([a, (a - da).clamp(0, 1), (a + da).clamp(0, 1)]) if w["t"] > 0 else a
            r3 = len(a3) // n
            feats = G.mix([f.repeat(r3, 1, 1, 1) for f in f0], [(a3, [e.repeat(r3, 1, 1, 1) for e in fe])])
            frames, hidden = G.decoder(feats, return_hidden=True)
            v = frames[:n]
            points = G.landmark_head(hidden[-1][:n], G.image_size) if w["k"] > 0 else None   # only V(a) has K(a)

        self._requires_grad(True)
        with autocast():
            vd = v.detach()
            d_g = losses.gan_d(self.d_global(y), self.d_global(vd))                        # Eq. 3
            d_l = losses.gan_d(self.d_local(y * m), self.d_local(vd * m), has_mouth) if w["l"] > 0 else zero  # Eq. 4
            d_loss = w["g"] * d_g + w["l"] * d_l
        self.optimizers["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizers["d"].step()

        self._requires_grad(False)
        with autocast():
            g_g = losses.gan_g(self.d_global(v))
            g_l = losses.gan_g(self.d_local(v * m), has_mouth) if w["l"] > 0 else zero
            r = losses.l1(v, y)
            k = landmark_loss(points, batch["landmarks"], G.image_size, batch["has_landmarks"]) \
                if w["k"] > 0 else zero
            t = temporal_regulariser(v, frames[n:2 * n], frames[2 * n:]) if w["t"] > 0 else zero
            g_loss = w["g"] * g_g + w["l"] * g_l + w["r"] * r + w["k"] * k + w["t"] * t
        self.optimizers["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        self.optimizers["g"].step()
        for s in self.schedulers.values():
            s.step()
        return {"d_g": d_g, "d_l": d_l, "g_g": g_g, "g_l": g_l, "r": r, "k": k, "t": t}

    def _requires_grad(self, flag: bool) -> None:
        requires_grad((self.d_global, self.d_local), flag)

    def compile(self) -> None:
        for net in (self.generator.e0, *self.generator.e.values(), self.generator.decoder):
            net.compile()


# ----------------------------------------------------------------------------------------------
# Generation: the one API
# ----------------------------------------------------------------------------------------------
class Generator(api.NetworkGenerator):
    """A trained Fan et al. model behind :class:`i2vlib.api.Generator`; mixing is Eq. 7."""

    method = NAME
    network = FanGenerator
    check_config = staticmethod(check_config)

    def _encode(self, x, expressions):
        return {"f0": self.net.e0(x), "e": {name: self.net.e[name](x) for name in expressions}}

    def _mixed(self, feats, a):
        n = len(next(iter(a.values())))
        f0 = [f.expand(n, *f.shape[1:]) for f in feats["f0"]]
        return self.net.mix(f0, [(a[name], feats["e"][name]) for name in a])

    def _decode(self, feats, a):
        return self.net.decoder(self._mixed(feats, a))

    def landmarks(self, image, intensities, expression: str | None = None) -> np.ndarray:
        """The landmark head's prediction for every generated frame: T x 68 x 2 pixels (L_k's output)."""
        mix = api.check_intensities(intensities, self.expressions, expression)
        feats = self.features(image, tuple(mix))
        with torch.inference_mode():
            a = {e: torch.as_tensor(v, dtype=torch.float32, device=self.device) for e, v in mix.items()}
            return self.net.decode(self._mixed(feats, a), landmarks=True)[1].float().cpu().numpy()
