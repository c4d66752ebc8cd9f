"""FRGAN's human-pose half (Zhao et al., ECCV 2018, §3.1 "Human Pose Forecasting", §4.3) on the pose benchmark.

The same G_M and G_R as the faces (:mod:`.frgan`: networks, Eq. 2-14, stages, options) with

* G_C: the pose LSTM after Villegas et al. [39] (:mod:`.pose_lstm`): it sees the joints of the first
  10 frames and predicts 32 more; the motion maps M_t are the 13 joints' heat maps
  (:func:`i2vlib.instruments.condition.joint_maps`, "concatenated on depth");
* data: the pose benchmark (:mod:`i2vlib.data.pose_benchmark`), whose person-disjoint thirds train G_M, G_R
  and test (§4.1), Penn Action's substitute;
* Eq. 15's feature loss added to G_M's Eq. 4 (weight ``feat``), with C_1 and C_2 from the pose
  instrument (:mod:`i2vlib.instruments.pose_net`) instead of VGG16 and a stacked Hourglass.

A test video is forecast as in §4.3: the input is the last observed frame I_9 with its joints; frame
10 + i is G_M(I_9 | M_9, M_{10+i}) for the 32 predicted joints (or the true ones, "GT"), and a refine
model passes the 32 frames through G_R in clips of ``clip_length``.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import api
from ..data.clips import from_tensor, to_tensor
from ..data.stages import PoseVideos, check_pose_config
from ..errors import I2VError
from ..instruments.condition import JOINT_MAPS, joint_maps
from ..instruments.pose_net import feature_loss
from ..instruments.pose_net import load as load_instrument
from ..io import to_numpy
from . import frgan
from .frgan_model import load_networks
from .frgan_parts import forecast_frames, refine_frames

NAME = "frgan-pose"
# §4.1: 64-px crops, batch 32, Adam 1e-4 (0, 0.9), G_R on clips of 16. The book profile: the face
# runs' budget, on 40 videos of each action per third.
_PAPER = {"image_size": 64, "batch": 32, "lr": 1e-4, "frames": [48, 48], "clip_length": 16}
BUDGETS = {
    "forecast": {"smoke": {"ngf": 4, "ndf": 4, "videos": 1, "frames": [42, 42]},
                 "book": {"steps": 1500, "batch": 8, "lr": 5e-4, "videos": 40, "frames": [48, 48]},
                 "paper": _PAPER},
    "refine": {"smoke": {"ngf": 4, "ndf": 4, "batch": 2, "clip_length": 4, "videos": 1, "frames": [42, 42]},
               "book": {"steps": 500, "batch": 2, "ngf": 8, "ndf": 8, "lr": 5e-4, "clip_length": 16,
                        "videos": 40, "frames": [48, 48]},
               "paper": _PAPER},
}
class Trainer(frgan.Trainer):
    """FRGAN's trainer on pose videos: joint heat maps for motion maps, and Eq. 15 in G_M's loss."""

    name, budgets = NAME, BUDGETS
    options = {**frgan.Trainer.options, "motion_maps": JOINT_MAPS,
               "weights": {**frgan.Trainer.options["weights"], "feat": 1.0}}
    choices = {**frgan.Trainer.choices, "motion_maps": (JOINT_MAPS,)}

    @classmethod
    def check_config(cls, cfg: dict) -> dict:
        return check_pose_config(super().check_config(cfg))

    def __init__(self, cfg: dict):
        super().__init__(cfg)
        self.instrument = None
        if self.cfg["stage"] == "forecast":
            self.g_losses = {**self.g_losses, "feat": ("feat", "Eq. 15")}
            if self.weight("feat") > 0:
                self.instrument = load_instrument()

    def loss_networks(self) -> dict:
        return {} if self.instrument is None else {"feat": self.instrument}

    def sampler(self):
        if self._sampler is None:
            self._sampler = PoseVideos(self.cfg)
        return self._sampler

    def _points(self, clip, idx) -> np.ndarray:
        return clip.joints[idx]

    def _maps(self, joints: np.ndarray) -> torch.Tensor:
        return joint_maps(joints, int(self.cfg["image_size"]))

    def g_terms(self, b: dict, out: dict) -> dict:
        terms = super().g_terms(b, out)
        if self.cfg["stage"] == "forecast" and self.instrument is not None:
            net = self.instrument.to(out["frame"].device)
            terms["feat"] = lambda: feature_loss(net, b["target"], out["frame"])     # Eq. 15
        return terms


default_config = Trainer.default_config


class Model(api.Model):
    """A trained pose FRGAN: :meth:`forecast` renders the frames of given joints from one input frame
    (it has no intensities to :meth:`generate` from)."""

    method = NAME
    unexportable = "a pose model forecasts frames from observed joints, not from a face and intensities"

    def __init__(self, net, config: dict, device="cpu", refiner=None):
        super().__init__(config, device)
        self.net = net.to(self.device).eval()
        self.refiner = None if refiner is None else refiner.to(self.device).eval()
        self.image_size = int(config["image_size"])
        self.clip_length = int(config["clip_length"]) if refiner is not None else None

    @classmethod
    def from_checkpoint(cls, ckpt: dict, device="cpu") -> Model:
        cfg, net, refiner = load_networks(ckpt)
        return cls(net, cfg, device, refiner)

    def generate(self, image, intensities, expression: str | None = None, as_tensor: bool = False, face="auto",
                 paste: bool = True):
        raise I2VError(f"a {NAME} model forecasts frames from observed joints (Model.forecast, the FRGAN pose "
                       "chapter), not from intensities")

    def animate(self, photo, intensities, expression: str | None = None, face=None, paste: bool = True):
        return self.generate(photo, intensities, expression)     # the same refusal: a pose model animates no face

    def forecast(self, image, joints_source, joints, as_tensor: bool = False):
        """``image`` (S x S x 3 uint8, the last observed frame) moved to each pose of ``joints`` (T x 13 x 2
        pixels) from its own pose ``joints_source`` (13 x 2): T x S x S x 3 uint8 (G_M, then G_R)."""
        image = to_numpy(image)
        if image.shape != (self.image_size, self.image_size, 3) or image.dtype != np.uint8:
            raise I2VError(f"a pose input frame is {self.image_size} x {self.image_size} x 3 uint8, "
                           f"got {image.dtype} {image.shape}")
        joints = api.check_joints(joints, "target joints", (13, 2), frames=True)
        joints_source = api.check_joints(joints_source, "the input frame's joints", (13, 2))
        with torch.inference_mode():
            x = to_tensor(image)[None].to(self.device)
            src = joint_maps(joints_source[None], self.image_size).to(self.device)
            maps = joint_maps(joints, self.image_size).to(self.device)
            frames = forecast_frames(self.net, x, self.net.f_I(x), self.net.motion(src), maps, self.batch_size)
            if self.refiner is not None and len(frames) > 1:
                frames = refine_frames(self.refiner, frames.clamp(-1, 1), maps, self.clip_length)
        frames = frames.float().clamp(-1, 1)
        return frames if as_tensor else from_tensor(frames)

    def __repr__(self) -> str:
        stage = "G_M + G_R" if self.refiner is not None else "G_M"
        return f"<Model {NAME} ({stage}) {self.image_size}px device={self.device}>"
