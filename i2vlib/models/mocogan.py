"""MoCoGAN (Tulyakov, Liu, Yang and Kautz, CVPR 2018), the image-to-video baseline FRGAN compares with.

FRGAN §4.2 (Table 1) compares with MoCoGAN on facial expressions, where "Each method only observes the input
frame of the target subject, and performs the generation based on it". MoCoGAN itself generates from noise; its
own image-to-video variant (MoCoGAN §4) replaces the sampled content code by an encoder of the input image, which
also gives the motion recursion its initial state. That variant is this module.

MoCoGAN splits the latent code of every frame into a content part, fixed over the clip, and a motion part, a path
traced by a recurrent network R_M (a one-layer GRU) driven by fresh noise at every step (§3)::

    z(t)   = [z_C, z_M(t)]                         the content/motion decomposition, t = 0 ... T - 1
    z_M(t) = h(t),  h(t) = GRU(eps(t), h(t - 1))   R_M, with eps(t) ~ N(0, I) of size d_M
    x(t)   = G_I(z(t))                             the image generator, one frame at a time

and two discriminators judge the result: D_I single frames S_1(v), D_V clips S_T(v) (3-D convolutions). G_I and
R_M play the min-max of §3 against both at once::

    F_V = E_v[-log D_I(S_1(v))] + E_v~[-log(1 - D_I(S_1(v~)))]
        + E_v[-log D_V(S_T(v))] + E_v~[-log(1 - D_V(S_T(v~)))]

the critics minimise F_V; the generators minimise the non-saturating -log D_I(S_1(v~)) - log D_V(S_T(v~)), as
the official code does (:func:`i2vlib.losses.gan_d`, :func:`~i2vlib.losses.gan_g`). D_I asks each frame to look
real and sees no time; only D_V can ask for motion that looks real.

Image to video (MoCoGAN §4's variant, at the book's widths)::

    z_C     = E(I0)                                strided 2-D convolutions, S x S -> 4 x 4 (a map, not a vector)
    h(0)    = tanh(W vec(E(I0)))                   the initial motion code, from the same encoder
    V_t     = G_I([z_C, z_M(t)])                   z_M(t) tiled over the 4 x 4 map; frame 0 from h(0)

and, as the book's conditional VideoGAN (:mod:`.vgan`), ``r * |V_0 - I0|`` (r = 10): the first generated frame
is regressed to the input, the only place the input's pixels are asked for, so the clip starts from the input
face. The frames after it are never compared with the true ones.

The paper's setting vs the book's: MoCoGAN learns 16-frame clips at 64 px with a vector z_C (d_C = 50 in the
official code) and one model over MUG's expressions with a categorical code z_A; the book learns one model per
expression (its other baselines' rule) on fixed clips of 9 frames (the input and 8 after it, as its VGAN), keeps
z_C as the encoder's 4 x 4 map (our reading of the variant's encoder: the content is what it gives, not a 50-d
vector), draws one frame per clip for S_1 (at the same random position in the real and the generated clip) and
gives D_V the whole clip for S_T.
D_I and D_V are the book's critics (FRGAN's D_I and D_V, :mod:`.frgan_parts`) with the cross-entropy loss; the
official code's weight decay (1e-5) and its optional instance noise are left out.

Generation: eps(t) = 0, the noise's mean, so a face has one clip (the one API renders one clip per face, and the
ONNX graph is a function of the face alone). The first frame reconstructs the input, so :class:`Model` renders
the ``length`` frames after it, at a = 1/length, ..., 1 (:attr:`~Model.supported_intensities`), like VGAN.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..errors import I2VError
from ..nn import init_weights, norm_2d
from .frgan_parts import ImageCritic, VideoCritic, levels
from .gan import GANTrainer
from .vgan import positions

NAME = "mocogan"
LENGTH = 8          # frames after the input: the book's fixed 9-frame clips (its VGAN's)
D_M = 10            # the motion code's size, the official code's dim_z_motion

STATED = {"weights": "MoCoGAN §3: F_V sums the image and the video terms, weight 1 each (the first frame's L1, "
                     "r = 10, is the conditional VGAN's of AffineGAN §4.1.1)",
          "d_m": "the official code: dim_z_motion = 10, and eps of the same size"}
UNSTATED = {
    "length": "FRGAN §4.2 gives none: 9 frames as the book's VGAN (MoCoGAN's own clips: 16)",
    "expressions": "FRGAN §4.2 gives none: one model per expression, as the book's other baselines (MoCoGAN: one "
                   "model over MUG's expressions with a categorical code)",
    "image_size": "64 px, MoCoGAN's frames (the official code's image_size)", "batch": "16 clips, the paper profile's "
    "(the official code draws 10 images and 3 videos a step)", "lr": "0.0002, the official code's",
    "betas": "(0.5, 0.999), the official code's", "steps": "100k, the official code's batches",
    "ngf": "64, the official code's", "ndf": "64, the official code's", "norm": "batch norm, the official code's",
    "videos": "200 per expression, as the other methods'",
}


class MoCoGANGenerator(nn.Module):
    """I0 (N, 3, S, S) and eps (N, length, d_M) -> the video (N, 1 + length, 3, S, S) in [-1, 1], its frame 0 the
    input's reconstruction. eps omitted: 0 at every step (generation)."""

    def __init__(self, cfg: dict):
        super().__init__()
        size, ngf, norm = int(cfg["image_size"]), int(cfg["ngf"]), cfg["norm"]
        self.frames, self.d_m = 1 + int(cfg["length"]), int(cfg["d_m"])
        n = levels(size)                                              # stride-2 levels from S to 4 x 4
        ch = [ngf * min(2 ** i, 8) for i in range(n)]
        enc = [nn.Conv2d(3, ch[0], 4, 2, 1), nn.ReLU(inplace=True)]
        for a, b in zip(ch, ch[1:]):
            enc += [nn.Conv2d(a, b, 4, 2, 1), norm_2d(norm, b), nn.ReLU(inplace=True)]
        self.encoder = nn.Sequential(*enc)                            # E: z_C = E(I0)
        self.h0 = nn.Linear(ch[-1] * (size // 2 ** n) ** 2, self.d_m)  # h(0) = tanh(W vec(E(I0)))
        self.r_m = nn.GRUCell(self.d_m, self.d_m)                     # R_M: h(t) = GRU(eps(t), h(t - 1))
        dec, prev = [], ch[-1] + self.d_m
        for b in ch[-2::-1]:
            dec += [nn.ConvTranspose2d(prev, b, 4, 2, 1), norm_2d(norm, b), nn.ReLU(inplace=True)]
            prev = b
        self.g_i = nn.Sequential(*dec, nn.ConvTranspose2d(prev, 3, 4, 2, 1), nn.Tanh())   # G_I([z_C, z_M(t)])
        init_weights(self)

    def streams(self, i0: torch.Tensor, eps: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(content z_C (N, C, b, b), motion codes z_M (N, T, d_M)): z_M(0) = h(0), then the GRU recursion."""
        z_c = self.encoder(i0)
        if eps is None:
            eps = z_c.new_zeros(len(i0), self.frames - 1, self.d_m)
        h = torch.tanh(self.h0(z_c.flatten(1)))
        z_m = [h]
        for t in range(self.frames - 1):
            h = self.r_m(eps[:, t], h)
            z_m.append(h)
        return z_c, torch.stack(z_m, 1)

    def render(self, z_c: torch.Tensor, z_m: torch.Tensor) -> torch.Tensor:
        """x(t) = G_I([z_C, z_M(t)]) for every t, all frames in one batch: (N, T, 3, S, S)."""
        n, t = z_m.shape[:2]
        content = z_c[:, None].expand(n, t, *z_c.shape[1:])
        motion = z_m[..., None, None].expand(n, t, self.d_m, *z_c.shape[2:])
        return self.g_i(torch.cat([content, motion], 2).flatten(0, 1)).unflatten(0, (n, t))

    def forward(self, i0: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        return self.render(*self.streams(i0, eps))


class Trainer(GANTrainer):
    """MoCoGAN's networks, batches (clips of 1 + ``length`` frames, the noise eps, the frame S_1 picks) and loss
    terms."""

    name = NAME
    options = {"length": LENGTH, "d_m": D_M, "weights": {"image": 1.0, "video": 1.0, "r": 10.0}}
    profile_changes = {"smoke": {"batch": 2, "frames": [9, 12]},
                       "book": {"steps": 1000, "batch": 4, "frames": [9, 16]},
                       "paper": {"image_size": 64, "frames": [9, 32], "steps": 100000, "norm": "batch"}}
    critics = ("d_image", "d_video")
    d_losses = {"d_i": ("image", "F_V's image terms: -log D_I(S_1(v)) - log(1 - D_I(S_1(v~))) (MoCoGAN §3)"),
                "d_v": ("video", "F_V's video terms: -log D_V(S_T(v)) - log(1 - D_V(S_T(v~))) (MoCoGAN §3)")}
    g_losses = {"g_i": ("image", "-log D_I(S_1(v~)): every frame should look real (MoCoGAN §3, non-saturating)"),
                "g_v": ("video", "-log D_V(S_T(v~)): the motion should look real (MoCoGAN §3, non-saturating)"),
                "r": ("r", "r |V_0 - I0|: the first frame regressed to the input (as the conditional VGAN)")}

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if len(cfg["expressions"]) != 1:
            raise I2VError(f"MoCoGAN is one model per expression here (the book's baselines' rule); got "
                           f"{len(cfg['expressions'])} ({', '.join(cfg['expressions'])}): train one run per expression")
        if cfg["data"] == "synthetic" and int(cfg["frames"][0]) < cfg["length"] + 1:
            raise I2VError(f"MoCoGAN learns clips of 1 + {cfg['length']} frames (the input and {cfg['length']} after "
                           f"it); training clips need at least {cfg['length'] + 1} frames, got frames="
                           f"{list(cfg['frames'])}")
        d_m = cfg["d_m"]
        if isinstance(d_m, bool) or not isinstance(d_m, int) or not 1 <= d_m <= 512:
            raise I2VError(f"mocogan option d_m (the motion code's size) must be an integer in [1, 512], got "
                           f"{d_m!r}")
        return cfg

    def build(self) -> dict[str, nn.Module]:
        size, ndf = self.cfg["image_size"], self.cfg["ndf"]
        return {"generator": MoCoGANGenerator(self.cfg), "d_image": ImageCritic(3, ndf, size),
                "d_video": VideoCritic(3, ndf, size, 1 + self.cfg["length"])}

    def sample(self, rng: np.random.Generator) -> dict:
        """Random training clips resampled to 1 + ``length`` frames (the input first), eps ~ N(0, I) for the
        ``length`` steps of R_M, and the position t of the frame S_1 takes from each clip."""
        n, k = self.cfg["batch"], self.cfg["length"]
        b = self.sampler().clips(rng, n, k + 1)
        eps = torch.from_numpy(rng.standard_normal((n, k, self.cfg["d_m"])).astype(np.float32))
        return {**b, "video": torch.cat([b["neutral"][:, None], b["target"]], 1), "eps": eps,
                "t": torch.from_numpy(rng.integers(0, k + 1, n))}

    def forward(self, b: dict) -> dict:
        return {"fake": self.nets["generator"](b["neutral"], b["eps"])}

    def _frames(self, video: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """S_1: frame t[i] of every clip i (N, T, 3, S, S) -> (N, 3, S, S)."""
        return video[torch.arange(len(video), device=video.device), t.to(video.device)]

    def _d_i(self, frames: torch.Tensor) -> torch.Tensor:
        return self.nets["d_image"](frames)[:, None]                 # a logit per frame, (N, 1)

    def _d_v(self, video: torch.Tensor) -> torch.Tensor:
        return self.nets["d_video"](video.transpose(1, 2))[:, None]  # a logit per clip, (N, 1)

    def d_terms(self, b: dict, out: dict) -> dict:
        fake = out["fake"].detach()
        return {"d_i": lambda: losses.gan_d(self._d_i(self._frames(b["video"], b["t"])),
                                            self._d_i(self._frames(fake, b["t"]))),
                "d_v": lambda: losses.gan_d(self._d_v(b["video"]), self._d_v(fake))}

    def g_terms(self, b: dict, out: dict) -> dict:
        return {"g_i": lambda: losses.gan_g(self._d_i(self._frames(out["fake"], b["t"]))),
                "g_v": lambda: losses.gan_g(self._d_v(out["fake"])),
                "r": lambda: losses.l1(out["fake"][:, 0], b["neutral"])}


default_config = Trainer.default_config


class Model(api.ClipModel):
    """A trained MoCoGAN behind :class:`i2vlib.api.Model`: the ``length`` frames after the input at eps = 0, at
    a = 1/length ... 1."""

    method = NAME
    network = MoCoGANGenerator
    single_reason = "MoCoGAN is one model per expression: it"
    first = 1                        # frame 0 reconstructs the input
    clip_source = "the book's 9-frame clip, the input first, at eps = 0"

    def __init__(self, net: MoCoGANGenerator, config: dict, device="cpu"):
        super().__init__(net, config, device, positions(net.frames - 1))
