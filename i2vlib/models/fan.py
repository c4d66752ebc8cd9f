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
  batch. The paper profile reads it literally: a batch is ``batch`` frames of one clip
  (``pairs_per_video = batch``) under batch norm. The other profiles draw every frame from its
  own clip under instance norm (batch norm over a single image), as the book's models trained.
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

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..data.sampling import Sampler, training_source
from ..errors import I2VError
from ..nn import UNetDecoder, UNetEncoder, init_weights, mix, patch_critic, unet_levels
from .gan import GANTrainer

NAME = "fan"

# The paper profile: what §3.2 and §4.1 state (option -> where) ...
STATED = {
    "image_size": "§4.1: frames resized to 289 x 289 and randomly cropped to 256 x 256",
    "load_size": "§4.1: 289 x 289 before the random 256 x 256 crop",
    "pairs_per_video": "§4.1: one video clip per batch, its first frame the input",
    "norm": "§3.2: Convolution-BatchNorm-ReLU layers", "d_layers": "§4.1: discriminators of 3 convolution layers",
    "lr": "§4.1: Adam, initial learning rate 0.0002",
    "steps": "§4.1: 2100 epochs, here of the 200 training clips at one clip per step",
    "delta_a": "§4.1: 0.1", "labels": "§3.3: a = (t - 1) / (T - 1)",
}
# ... and what they leave open, with where our value comes from.
UNSTATED = {
    "batch": "16 frames of the one clip (CK++ clips have 21 frames on average)",
    "betas": "(0.5, 0.999), pix2pix's", "decay_from": "0.5: pix2pix's linear decay of the 'initial' rate",
    "ngf": "64, pix2pix's width", "ndf": "64, pix2pix's width",
    "weights": "'slightly different weights' (§3.3) without values: ours, L_r pix2pix's 100",
    "videos": "200 per expression, about CK++'s 167 to 214 clips per expression",
}


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
        return mix(f0, terms)

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
            if out is None:   # in the features' dtype: under autocast they are bf16
                out = [f.new_zeros(len(image), *f.shape[1:]) for f in feats]
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
    return losses.weighted_mean(err, weight)


# ----------------------------------------------------------------------------------------------
# Training: Eq. 6 as loss terms; the GAN step lives in models.gan, the loop in i2vlib.train
# ----------------------------------------------------------------------------------------------
class Trainer(GANTrainer):
    """Fan et al.'s networks, batches and loss terms (Eq. 3-6)."""

    name = NAME
    # Loss weights. The paper: "slightly different weights in front of the loss and regularization
    # terms" (§3.3), without the values; L_r gets pix2pix's 100.
    options = {"labels": "position", "delta_a": 0.1, "pairs_per_video": None, "load_size": None,
               "weights": {"g": 1.0, "l": 1.0, "r": 100.0, "k": 10.0, "t": 10.0}}
    choices = {"labels": ("position", "true")}
    profile_changes = {"book": {"steps": 1500},
                       "paper": {"load_size": 289, "batch": 16, "pairs_per_video": 16, "norm": "batch",
                                 "steps": 2100 * 200}}
    critics = ("d_global", "d_local")
    d_losses = {"d_g": ("g", "Eq. 3"), "d_l": ("l", "Eq. 4")}
    g_losses = {"g_g": ("g", "Eq. 3"), "g_l": ("l", "Eq. 4"), "r": ("r", "L_r, §3.3 after Eq. 4"),
                "k": ("k", "L_k, Eq. 6"), "t": ("t", "Eq. 5")}

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if not 0 < float(cfg["delta_a"]) < 1:
            raise I2VError(f"fan option delta_a must lie in (0, 1), got {cfg['delta_a']!r}")
        return cfg

    def build(self) -> dict[str, nn.Module]:
        return {"generator": FanGenerator(self.cfg),
                "d_global": patch_critic(3, self.cfg),   # D_g(V(a)), Eq. 3
                "d_local": patch_critic(3, self.cfg)}    # D_l(V(a) o M(a)), Eq. 4

    def sampler(self):
        """The training clips, rendered at ``load_size`` and cut to random ``image_size`` crops (§4.1)."""
        if self._sampler is None:
            crop = int(self.cfg["image_size"]) if self.cfg["load_size"] else None
            self._sampler = Sampler(training_source(self.cfg), self.cfg["expressions"], self.cfg["augment"], crop)
        return self._sampler

    def sample(self, rng: np.random.Generator) -> dict:
        """Frames of random training clips (t = 0 too: a = 0 must give the input back), with the label
        triplet (a - da, a, a + da) of Eq. 5, the landmarks K(a) and the mouth mask M(a); with
        ``pairs_per_video``, that many frames of each clip (§4.1: one clip per batch)."""
        return self.sampler().pairs(rng, self.cfg["batch"], first=0, label=self.cfg["labels"],
                                    delta_a=float(self.cfg["delta_a"]), landmarks=True,
                                    per_video=self.cfg["pairs_per_video"])

    def forward(self, b: dict) -> dict:
        G, i0, n = self.nets["generator"], b["neutral"], len(b["neutral"])
        f0, fe = G.e0(i0), G.residual(i0, b["expression"])
        # V(a), V(a - da), V(a + da): three independent frames, decoded as one batch (Eq. 5)
        a3 = torch.cat([b["a"], b["a_minus"], b["a_plus"]]) if self.uses("t") else b["a"]
        r3 = len(a3) // n
        feats = G.mix([f.repeat(r3, 1, 1, 1) for f in f0], [(a3, [e.repeat(r3, 1, 1, 1) for e in fe])])
        frames, hidden = G.decoder(feats, return_hidden=True)
        points = G.landmark_head(hidden[-1][:n], G.image_size) if self.uses("k") else None  # only V(a) has K(a)
        return {"v": frames[:n], "neighbours": frames[n:], "points": points,
                "has_mouth": (b["mask"].flatten(1).sum(1) > 0).float()}

    def d_terms(self, b: dict, out: dict) -> dict:
        y, m, v = b["target"], b["mask"], out["v"].detach()
        d_g, d_l = self.nets["d_global"], self.nets["d_local"]
        return {"d_g": lambda: losses.gan_d(d_g(y), d_g(v)),                                       # Eq. 3
                "d_l": lambda: losses.gan_d(d_l(y * m), d_l(v * m), out["has_mouth"])}              # Eq. 4

    def g_terms(self, b: dict, out: dict) -> dict:
        v, m, n = out["v"], b["mask"], len(out["v"])
        return {
            "g_g": lambda: losses.gan_g(self.nets["d_global"](v)),
            "g_l": lambda: losses.gan_g(self.nets["d_local"](v * m), out["has_mouth"]),
            "r": lambda: losses.l1(v, b["target"]),
            "k": lambda: landmark_loss(out["points"], b["landmarks"], self.cfg["image_size"], b["has_landmarks"]),
            "t": lambda: temporal_regulariser(v, out["neighbours"][:n], out["neighbours"][n:]),
        }


default_config = Trainer.default_config


# ----------------------------------------------------------------------------------------------
# Generation: the one API
# ----------------------------------------------------------------------------------------------
class Model(api.MixingModel):
    """A trained Fan et al. model behind :class:`i2vlib.api.Model`; mixing is Eq. 7."""

    method = NAME
    network = FanGenerator

    def landmarks(self, image, intensities, expression: str | None = None) -> np.ndarray:
        """The landmark head's prediction for every generated frame: T x 68 x 2 pixels (L_k's output)."""
        mix = api.check_intensities(intensities, self.expressions, expression)
        feats = self.features(image, tuple(mix))
        with torch.inference_mode():
            a = {e: torch.as_tensor(v, dtype=torch.float32, device=self.device) for e, v in mix.items()}
            return self.net.decode(self._mixed(feats, a), landmarks=True)[1].float().cpu().numpy()
