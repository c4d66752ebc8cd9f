"""VideoGAN (Vondrick, Pirsiavash and Torralba, NeurIPS 2016), the conditional version AffineGAN compares with.

AffineGAN §4.1.1: "For VideoGAN, we adopt the conditional version of their official implementation by generating
videos conditioning on the first frame. As the LSTM and 3D convolution implementations require a fixed-length
sequence as inputs, we uniformly sample/up-sample 9 frames from each original video clips". FRGAN §4.3 compares with
it on poses too (Table 3: MSE 0.047 on Penn Action, against FRGAN's 0.023): "we train an individual VGAN for different
action categories with randomly picked video clips from the dataset". ``benchmark`` picks the setting: ``faces`` (the
default, AffineGAN's) or ``poses`` (FRGAN's, below).

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

**On poses** (``benchmark="poses"``, FRGAN §4.3), the same networks and loss on the pose benchmark:

==========================  ==================================================  =======================================
                            FRGAN §4.3 (Penn Action)                            the book
==========================  ==================================================  =======================================
models                      "an individual VGAN for different action            one per ``action`` (one of
                            categories"                                         :data:`i2vlib.data.pose.ACTIONS`)
training clips              "randomly picked video clips"                       1 + 32 consecutive frames from a random
                                                                                start, of the action's videos of both
                                                                                training thirds (the test third unseen)
clip                        32 generated frames (VGAN's own clips: 32 frames    ``length`` = 32: the input I_9 and the
                            of 64 x 64)                                         32 after it, 64 px
input                       the first frame                                     I_9, the last observed frame; VGAN
                                                                                observes no joints
==========================  ==================================================  =======================================

So on the pose protocol (:mod:`i2vlib.evaluate.pose`) its frames are the same under both conditions (the LSTM's
joints, the true ones): :class:`PoseModel` forecasts frames 10..41 from I_9 alone, and is scored on its action's
test videos only.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..data.pose import ACTIONS, PREDICTED
from ..data.stages import STAGES, PoseVideos, check_pose_config
from ..errors import I2VError
from ..nn import init_weights, norm_2d, norm_3d
from .frgan_parts import VideoCritic
from .gan import GANTrainer

NAME = "vgan"
LENGTH = 8          # frames after the input: AffineGAN's 9-frame clips
BENCHMARKS = ("faces", "poses")
# On poses: the protocol's 32 frames after I_9 at 64 px (Penn Action's crops, §4.1), on videos of 48 frames (42 in
# the smoke profile); ``videos`` is per action and training third. The book profile halves the widths: a clip of 33
# frames costs four of the faces' 9 (0.34 s a step on one core at widths 8, 0.68 s at 16).
POSES = {"smoke": {"length": PREDICTED, "frames": [42, 42], "videos": 1, "ngf": 4, "ndf": 4},
         "book": {"length": PREDICTED, "frames": [48, 48], "videos": 40, "ngf": 8, "ndf": 8},
         "paper": {"length": PREDICTED, "frames": [48, 48], "videos": 50, "image_size": 64}}

STATED = {"length": "AffineGAN §4.1.1: 9 frames sampled or up-sampled per clip (the input and 8 after it)",
          "weights": "the official code: lambda = 10 on the first frame's L1, the GAN loss 1",
          "expressions": "FRGAN §4.3: an individual VGAN per category (AffineGAN: per expression, as its ConvLSTM)"}
UNSTATED = {
    "image_size": "256 px, AffineGAN's", "batch": "32, the official code's", "lr": "0.0002, the official code's",
    "betas": "(0.5, 0.999), the official code's", "steps": "AffineGAN's 40k", "ngf": "64, the book's paper width",
    "ndf": "64, the book's paper width", "norm": "batch norm, the official code's",
    "videos": "200 per expression, as the other methods' (poses: 50 per action and training third, about Penn "
              "Action's share: 2326 videos of 15 actions in thirds)",
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
    options = {"length": LENGTH, "benchmark": "faces", "action": None, "weights": {"g": 1.0, "r": 10.0}}
    choices = {"benchmark": BENCHMARKS}
    profile_changes = {"smoke": {"batch": 2, "frames": [9, 12]},
                       "book": {"steps": 1000, "batch": 4, "frames": [9, 16]},
                       "paper": {"batch": 32, "frames": [9, 32], "steps": 40000, "norm": "batch"}}
    critics = ("d_video",)
    d_losses = {"d_v": ("g", "the cross-entropy GAN loss of D on whole videos (Vondrick et al.)")}
    g_losses = {"g_v": ("g", "the cross-entropy GAN loss of D on whole videos (Vondrick et al.)"),
                "r": ("r", "lambda |V_0 - I0|: the first frame regressed to the input (the conditional version)")}

    @classmethod
    def default_config(cls, profile: str = "book", **overrides) -> dict:
        """The full config; ``benchmark="poses"`` starts from the pose budget of the profile (:data:`POSES`)."""
        poses = POSES.get(profile, {}) if overrides.get("benchmark") == "poses" else {}
        return super().default_config(profile, **{**poses, **{k: v for k, v in overrides.items() if v is not None}})

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if cfg["benchmark"] == "poses":
            if cfg["action"] not in ACTIONS:
                raise I2VError(f"VGAN on poses is one model per action (FRGAN §4.3: an individual VGAN per category): "
                               f"set action to one of {', '.join(ACTIONS)}, got {cfg['action']!r}")
            if cfg["length"] != PREDICTED:
                raise I2VError(f"VGAN on poses renders the protocol's {PREDICTED} frames after I_9 (FRGAN §4.3): "
                               f"length={PREDICTED}, got {cfg['length']}")
            return check_pose_config(cfg)
        if cfg["action"] is not None:
            raise I2VError(f"VGAN on faces has no action (its videos show expressions); drop action={cfg['action']!r} "
                           "or set benchmark=\"poses\"")
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

    def sampler(self):
        """Faces: the config's training clips; poses: the action's videos of both training thirds."""
        if self._sampler is None and self.cfg["benchmark"] == "poses":
            self._sampler = PoseVideos(self.cfg, splits=STAGES, actions=(self.cfg["action"],))
        return super().sampler()

    def sample(self, rng: np.random.Generator) -> dict:
        """Random training clips of 1 + ``length`` frames, the input first: faces resampled to that length, poses
        a run of consecutive frames from a random start."""
        n, frames = self.cfg["batch"], self.cfg["length"] + 1
        if self.cfg["benchmark"] == "poses":
            video = self.sampler().windows(rng, n, frames)
            return {"neutral": video[:, 0], "target": video[:, 1:], "video": video}
        b = self.sampler().clips(rng, n, frames)
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

    @classmethod
    def from_checkpoint(cls, ckpt: dict, device="cpu") -> api.Model:
        """A faces run's model, or a poses run's :class:`PoseModel`."""
        if ckpt["config"].get("benchmark") == "poses":
            return PoseModel.from_checkpoint(ckpt, device)
        return super().from_checkpoint(ckpt, device)


class PoseModel(api.PoseModel):
    """A trained VGAN of one action of the pose benchmark: :meth:`forecast` renders the frames after I_9 from I_9
    alone (the joints only say how many, up to ``length``)."""

    method = NAME
    network = VideoGANGenerator

    def __init__(self, net: VideoGANGenerator, config: dict, device="cpu"):
        super().__init__(net, config, device)
        self.actions, self.length = (config["action"],), net.frames - 1

    def _forecast(self, frames: torch.Tensor, n: int) -> torch.Tensor:
        if n > self.length:
            raise I2VError(f"VGAN renders a fixed clip of {self.length} frames after its input; asked for {n}")
        return self.net(frames[-1:])[0, 1:1 + n]                     # frame 0 reconstructs the input
