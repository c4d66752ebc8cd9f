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

Image to video (MoCoGAN §4's variant)::

    z_C     = E(I0)                                strided 2-D convolutions, S x S -> 4 x 4 (a map, not a vector)
    h(0)    = tanh(W vec(E(I0)))                   the initial motion code, from the same encoder
    V_t     = G_I([z_C, z_M(t)])                   z_M(t) tiled over the 4 x 4 map; frame 0 from h(0)

and, as the book's conditional VideoGAN (:mod:`.vgan`), ``r * |V_0 - I0|`` (r = 10): the first generated frame
is regressed to the input, the only place the input's pixels are asked for, so the clip starts from the input
face. The frames after it are never compared with the true ones.

The networks and the optimiser follow the official code (``src/models.py``, ``src/trainers.py``, ``src/train.py``):

* G_I: 4 x 4 transposed convolutions of stride 2 up to S, widths ``ngf`` x (4, 2, 1) at 64 px after the 4 x 4
  input, batch norm and ReLU, tanh out; E mirrors it (strided convolutions, ``ngf`` x (1, 2, 4, 8), batch norm
  after the first).
* D_I (the official default, ``PatchImageDiscriminator``): 4 x 4 convolutions of stride 2 without bias, widths
  ``ndf`` x (1, 2, 4), LeakyReLU 0.2, and a last stride-2 convolution to one channel: a 4 x 4 map of logits per
  frame (:class:`ImageDiscriminator`).
* D_V (``VideoDiscriminator``): 4 x 4 x 4 convolutions without bias, of stride 1 in time and 2 in space, no
  padding in time, widths ``ndf`` x (1, 2, 4, 8), LeakyReLU 0.2, then one convolution over what remains: a logit
  per clip (:class:`VideoDiscriminator`).
* Adam at lr 2e-4, betas (0.5, 0.999), weight decay 1e-5, for the generator and both critics; each step draws
  ``batch`` = 3 clips for D_V and ``image_batch`` = 10 frames for D_I (the official ``--video_batch 3``,
  ``--image_batch 10``).

Why the book's first version never learned its input (its frame-0 L1 rose in training, 0.349 -> 0.361, and 0.389 at
four times the steps): it ran in the book profile's instance norm, at lr 1e-3, with FRGAN's critics. Instance norm
takes each frame's own per-channel means out after every layer of E and G_I, so what tells one face's colouring
from another's (skin, hair, background: a frame's means) passes from I0 to V_0 only as spatial contrast, and the
motion code, tiled over the map, reaches G_I only as a border and parity pattern. Trained on the regression alone
(the sanity check; means over 50-step windows, seed 0) the L1 still fell, slowly: 0.327 -> 0.228 in 300 steps
at lr 1e-3, 0.370 -> 0.266 in 200 at 2e-4. With both critics it stalled at lr 1e-3 (0.359 -> 0.329 in 400 steps)
and crept at 2e-4 (0.383 -> 0.307); each critic's gradient on G_I was 1.4 to 5 times the regression's. In the
official batch norm, which normalises over the batch and keeps each frame's means, the regression alone fell to
0.210 in 200 steps at 2e-4 (from 0.350), and with both critics (still FRGAN's) to 0.177 in 500 (from 0.352). With
the official critics and their own batch norm, D_V won outright (its loss 0.27-0.51 and the generator's -log D_V
3.5-4.6 from step 100 on) and the regression crept again (0.405 -> 0.305 in 500 steps); with the same layers
without the batch norm it fell (0.365 -> 0.190 in 400). So the critics are the official code's layers without
their batch norm. At the FRGAN Baselines table's first rung (1500 steps, happy, seeds 0 and 1) the fixed model's
first-frame L1 ends at 0.51 and 0.52 of its first logged window, and its retargeted videos keep the target's
colouring (blurred, with a fine checkerboard, the mouth opening in the last frames): PSNR 20.3 and 20.4 dB against
the truth (the records of the first version: 11.1-13.2 dB). At four times that budget (6000 steps) D_V won
slowly all the same (its loss 1.1 -> 0.31, the generator's -log D_V 0.64 -> 1.8) and the first frame was given up
after step 2500: its L1 fell to 0.175 and rose again to 0.29, 0.86-0.88 of its first window, and the videos' PSNR
fell to 15.2-15.8 dB (three seeds), below a blank frame's. The official training command adds instance noise of
sigma 0.1 before each critic convolution (``--use_noise --noise_sigma 0.1``; :class:`InstanceNoise`), which the
book had left out; with it (seed 0, 6000 steps) the first frame's L1 falls to 0.12-0.15 and stays there, 0.44 of
its first window, at 19.8 dB.

The paper's setting vs the book's:

==========================  ==================================================  =======================================
                            MoCoGAN (MUG; the official code)                    the book
==========================  ==================================================  =======================================
input                       noise (its §4 variant: an image, no code)           I0, through E (the §4 variant)
z_C                         a 50-d vector (``dim_z_content``), noise            E's 4 x 4 map: the content is what the
                                                                                encoder gives, not a 50-d vector
h(0)                        noise N(0, I)                                       tanh(W vec(E(I0))) (the §4 variant:
                                                                                "the encoder produced ... the initial
                                                                                motion code")
z_M(t) into G_I             concatenated with z_C, a 1 x 1 code that G_I's      tiled over the 4 x 4 map beside z_C,
                            first layer grows to 4 x 4                          into G_I's first stride-2 layer
clips                       16 frames                                           9: the input and ``length`` = 8 after
                                                                                it, as the book's VGAN
D_V in time                 kernels 4 of stride 1, no padding: 16 -> 13 -> 10   kernels 4 while 4 steps remain, then
                            -> 7 -> 4, then 4 -> 1                              what remains: 9 -> 6 -> 3 -> 1 -> 1
S_1 (D_I's frames)          10 frames of other clips than S_T's                 10 frames at random places of the
                                                                                step's 3 real and 3 generated clips
expressions                 one model over MUG's six, a categorical code z_A    one model per expression (the book's
                                                                                baselines' rule), no z_A
first frame                 not regressed (noise in, no input to regress to)    r |V_0 - I0|, r = 10 (the conditional
                                                                                VGAN's, AffineGAN §4.1.1)
critics' norm               batch norm after all but the first layer            none: with it D_V won outright and the
                                                                                first frame stalled (above)
weights' init               PyTorch's defaults                                  N(0, 0.02), the book's (DCGAN's)
widths                      ``ngf`` = ``ndf`` = 64                              the profile's (the book's 16)
instance noise              sigma 0.1 before each critic convolution (the       the same (``noise`` = 0.1)
                            training command's ``--use_noise --noise_sigma
                            0.1``; the code's default is off)
==========================  ==================================================  =======================================

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
from .frgan_parts import levels
from .gan import GANTrainer
from .vgan import positions

NAME = "mocogan"
LENGTH = 8          # frames after the input: the book's fixed 9-frame clips (its VGAN's)
D_M = 10            # the motion code's size, the official code's dim_z_motion
IMAGE_BATCH = 10    # D_I's frames per step, the official --image_batch (D_V's clips: --video_batch 3, ``batch``)
WEIGHT_DECAY = 1e-5  # the official code's, on the generator's and both critics' Adam
NOISE = 0.1         # the critics' instance noise, the official training command's --noise_sigma

STATED = {"weights": "MoCoGAN §3: F_V sums the image and the video terms, weight 1 each (the first frame's L1, "
                     "r = 10, is the conditional VGAN's of AffineGAN §4.1.1)",
          "d_m": "the official code: dim_z_motion = 10, and eps of the same size"}
UNSTATED = {
    "length": "FRGAN §4.2 gives none: 9 frames as the book's VGAN (MoCoGAN's own clips: 16)",
    "expressions": "FRGAN §4.2 gives none: one model per expression, as the book's other baselines (MoCoGAN: one "
                   "model over MUG's expressions with a categorical code)",
    "image_size": "64 px, MoCoGAN's frames (the official code's image_size)",
    "batch": "3 clips for D_V, the official code's --video_batch", "image_batch": "10 frames for D_I, the official "
    "code's --image_batch", "lr": "0.0002, the official code's", "betas": "(0.5, 0.999), the official code's",
    "steps": "100k, the official code's batches", "ngf": "64, the official code's", "ndf": "64, the official code's",
    "norm": "batch norm, the official code's", "videos": "200 per expression, as the other methods'",
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


def _dcgan_init(module: nn.Module) -> nn.Module:
    """N(0, 0.02) convolution weights (DCGAN's, as the book's other networks; the official code keeps PyTorch's
    defaults), 2-D and 3-D alike."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
    return module


class InstanceNoise(nn.Module):
    """The official critics' ``Noise`` layer: in training, x + sigma * N(0, I) before each convolution, so that real
    and generated inputs overlap and neither critic can win outright (MoCoGAN's training command: ``--use_noise
    --noise_sigma 0.1``); the identity in evaluation."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = float(sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sigma * torch.randn_like(x) if self.training else x


def _noised(noise: float, conv: nn.Module) -> list[nn.Module]:
    """``conv`` with :class:`InstanceNoise` before it; at ``noise`` = 0 the convolution alone, so that a critic
    without noise is the one recorded before the option existed, layer for layer (and its checkpoints' keys)."""
    return [InstanceNoise(noise), conv] if noise else [conv]


class ImageDiscriminator(nn.Module):
    """D_I, the official ``PatchImageDiscriminator`` without its batch norm: a frame (N, 3, S, S) -> a 4 x 4 map of
    logits (N, 1, 4, 4). Stride-2 4 x 4 convolutions without bias, LeakyReLU 0.2; the last one outputs the logits."""

    def __init__(self, ndf: int, size: int, noise: float = 0.0):
        super().__init__()
        layers, prev = [], 3
        for i in range(levels(size) - 1):
            c = ndf * min(2 ** i, 8)
            layers += [*_noised(noise, nn.Conv2d(prev, c, 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, inplace=True)]
            prev = c
        self.net = _dcgan_init(nn.Sequential(*layers, *_noised(noise, nn.Conv2d(prev, 1, 4, 2, 1, bias=False))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class VideoDiscriminator(nn.Module):
    """D_V, the official ``VideoDiscriminator`` without its batch norm: a clip (N, 3, T, S, S) -> a logit per clip
    (N, 1). Convolutions without bias of stride 1 in time (kernel 4, no padding, while 4 steps remain; then what
    remains) and 2 in space (kernel 4, padding 1) down to 4 x 4, LeakyReLU 0.2; a last convolution over what
    remains."""

    def __init__(self, ndf: int, size: int, length: int, noise: float = 0.0):
        super().__init__()
        layers, prev, t = [], 3, int(length)
        for i in range(levels(size)):
            c, k = ndf * min(2 ** i, 8), min(4, t)
            layers += [*_noised(noise, nn.Conv3d(prev, c, (k, 4, 4), (1, 2, 2), (0, 1, 1), bias=False)),
                       nn.LeakyReLU(0.2, inplace=True)]
            prev, t = c, t - k + 1
        b = size // 2 ** levels(size)
        self.net = _dcgan_init(nn.Sequential(*layers, nn.Conv3d(prev, 1, (t, b, b), bias=False)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)


class Trainer(GANTrainer):
    """MoCoGAN's networks, batches (clips of 1 + ``length`` frames, the noise eps, the frames S_1 picks) and loss
    terms."""

    name = NAME
    options = {"length": LENGTH, "d_m": D_M, "image_batch": IMAGE_BATCH, "noise": NOISE, "batch": 3, "lr": 2e-4,
               "norm": "batch", "weights": {"image": 1.0, "video": 1.0, "r": 10.0}}
    profile_changes = {"smoke": {"batch": 2, "image_batch": 4, "frames": [9, 12]},
                       "book": {"steps": 1000, "frames": [9, 16]},
                       "paper": {"image_size": 64, "frames": [9, 32], "steps": 100000}}
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
        for key, what, top in (("d_m", "the motion code's size", 512), ("image_batch", "D_I's frames per step", 4096)):
            v = cfg[key]
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= top:
                raise I2VError(f"mocogan option {key} ({what}) must be an integer in [1, {top}], got {v!r}")
        return cfg

    def __init__(self, cfg: dict):
        super().__init__(cfg)
        for opt in self.optimizers.values():                          # the official code's weight decay
            for group in opt.param_groups:
                group["weight_decay"] = WEIGHT_DECAY

    def build(self) -> dict[str, nn.Module]:
        size, ndf = self.cfg["image_size"], self.cfg["ndf"]
        noise = self.cfg["noise"]
        return {"generator": MoCoGANGenerator(self.cfg), "d_image": ImageDiscriminator(ndf, size, noise),
                "d_video": VideoDiscriminator(ndf, size, 1 + self.cfg["length"], noise)}

    def sample(self, rng: np.random.Generator) -> dict:
        """Random training clips resampled to 1 + ``length`` frames (the input first), eps ~ N(0, I) for the
        ``length`` steps of R_M, and the (clip, frame) places of S_1's ``image_batch`` real frames and, drawn
        apart, of its generated ones."""
        n, k, m = self.cfg["batch"], self.cfg["length"], self.cfg["image_batch"]
        b = self.sampler().clips(rng, n, k + 1)
        eps = torch.from_numpy(rng.standard_normal((n, k, self.cfg["d_m"])).astype(np.float32))
        places = lambda: torch.from_numpy(np.stack([rng.integers(0, n, m), rng.integers(0, k + 1, m)], 1))  # noqa: E731
        return {**b, "video": torch.cat([b["neutral"][:, None], b["target"]], 1), "eps": eps,
                "s1_real": places(), "s1_fake": places()}

    def forward(self, b: dict) -> dict:
        return {"fake": self.nets["generator"](b["neutral"], b["eps"])}

    @staticmethod
    def _frames(video: torch.Tensor, places: torch.Tensor) -> torch.Tensor:
        """S_1: the frames at ``places`` (M, 2: clip, frame) of the clips (N, T, 3, S, S) -> (M, 3, S, S)."""
        places = places.to(video.device)
        return video[places[:, 0], places[:, 1]]

    def _d_i(self, frames: torch.Tensor) -> torch.Tensor:
        return self.nets["d_image"](frames)                           # a 4 x 4 map of logits per frame

    def _d_v(self, video: torch.Tensor) -> torch.Tensor:
        return self.nets["d_video"](video.transpose(1, 2))            # a logit per clip, (N, 1)

    def d_terms(self, b: dict, out: dict) -> dict:
        fake = out["fake"].detach()
        return {"d_i": lambda: losses.gan_d(self._d_i(self._frames(b["video"], b["s1_real"])),
                                            self._d_i(self._frames(fake, b["s1_fake"]))),
                "d_v": lambda: losses.gan_d(self._d_v(b["video"]), self._d_v(fake))}

    def g_terms(self, b: dict, out: dict) -> dict:
        return {"g_i": lambda: losses.gan_g(self._d_i(self._frames(out["fake"], b["s1_fake"]))),
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
