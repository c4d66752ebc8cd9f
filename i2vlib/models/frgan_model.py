"""FRGAN at generation time (Zhao et al., ECCV 2018): G_C, G_M and G_R behind the one generation API.

The intensities of :meth:`Model.generate` reach G_M through the condition generator G_C
(:mod:`i2vlib.instruments.condition`): it moves the input face's landmarks by the expression's displacements, scaled
by the intensity (the 2-D analogue of the paper's 3DMM expression coefficients), and draws their motion
maps M_t. :meth:`Model.retarget` drives the face by a reference video instead (§4.2, Table 1): G_C
lays the reference's expression coefficients, fitted to each of its frames, onto the input face. Frame t is
G_M(I | M_0, M_t) (Eq. 2-3); a refine-stage model then passes clips of K frames through G_R (Eq. 10). Training:
:mod:`.frgan`.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import api
from ..checkpoint import generator_weights, load_weights
from ..data.clips import from_tensor
from ..data.video import as_reference
from ..errors import I2VError
from ..instruments.condition import ExpressionTable, Fitted, motion_maps
from ..instruments.fitter import get_fitter
from . import full_config
from .frgan_parts import ForecastNet, RefineNet, forecast_frames, refine_frames


class Model(api.NetworkModel):
    """A trained FRGAN behind :class:`i2vlib.api.Model`, plus :meth:`retarget` and :meth:`landmarks`.

    ``generate`` asks G_C for the landmarks of every intensity (``condition``: ``"fitted"`` (default),
    ``"linear"``, ``"landmarks"``, or an :class:`i2vlib.instruments.condition.Oracle` on the benchmark), draws their
    motion maps and runs G_M once per frame from the image (f_I(I) and f_M(M_0) are cached per image); a refine-stage
    model then passes clips of ``clip_length`` frames through G_R (a one-frame call skips it).
    ``instrument`` measures the input face for the fitted G_C: ``"synthetic"`` for a model trained on the
    benchmark, else ``"dlib"`` (set it to ``"dlib"`` to animate a photo with a benchmark-trained model).
    To retarget, the fitted G_C of a benchmark model reads the reference's action units with the shipped fitter
    (:mod:`i2vlib.instruments.fitter`, the paper's 3DMM fit); ``"landmarks"`` (and the fitted G_C of any other
    model, which has no fitter for its faces) moves the reference's measured landmarks instead.
    """

    method = "frgan"
    network = ForecastNet
    condition = "fitted"
    unexportable = "G_C measures the input face's landmarks with an instrument outside the networks"

    def __init__(self, net: ForecastNet, config: dict, device="cpu", refiner: RefineNet | None = None):
        super().__init__(net, config, device)
        forecast = config["forecast"] if config["stage"] == "refine" else config
        self.refiner = None if refiner is None else refiner.to(self.device).eval()
        self.clip_length = int(config["clip_length"]) if refiner is not None else None
        self.maps = forecast["motion_maps"]
        self.instrument = "synthetic" if forecast["data"] == "synthetic" else "dlib"   # measures input faces
        self.table = ExpressionTable(net.displacements.cpu().numpy(), self.expressions)
        self._active = None

    @classmethod
    def from_checkpoint(cls, ckpt: dict, device="cpu") -> Model:
        cfg, net, refiner = load_networks(ckpt)
        return cls(net, cfg, device, refiner)

    # -- G_C ----------------------------------------------------------------------------
    def g_c(self, condition=None, known=None):
        """The condition generator for ``condition`` (default :attr:`condition`); ``known``: the input face's 68
        landmarks, where they are known already (a fitted G_C then takes them as L0 instead of measuring them)."""
        condition = self.condition if condition is None else condition
        if isinstance(condition, str):
            if condition not in ("fitted", "linear", "landmarks"):
                raise I2VError(f"unknown condition {condition!r}; choose fitted, linear, landmarks or an "
                               "i2vlib.instruments.condition.Oracle")
            fitter = get_fitter() if condition == "fitted" and self.instrument == "synthetic" else None
            return Fitted(self.table, self.instrument, linear=condition == "linear", fitter=fitter, known=known)
        if not all(hasattr(condition, k) for k in ("source", "expression", "retarget", "key")):
            raise I2VError(f"a condition is 'fitted', 'linear', 'landmarks' or an i2vlib.instruments.condition.Oracle, "
                           f"got {type(condition).__name__}")
        if getattr(condition, "size", self.image_size) != self.image_size:
            raise I2VError(f"the oracle draws {condition.size}-px faces; this model renders {self.image_size} px")
        return condition

    def landmarks(self, image, intensities=None, expression: str | None = None, reference=None,
                  condition=None) -> np.ndarray:
        """What G_C gives for ``image``: T x 68 x 2 pixel landmarks, for intensities or a reference video."""
        gc, feats = self.g_c(condition), self.features(image, self.expressions)
        neutral = self._source(feats, gc)[0]
        if reference is not None:
            return gc.retarget(neutral, as_reference(reference, api.MAX_FRAMES))
        return gc.expression(neutral, api.check_intensities(intensities, self.expressions, expression))

    # -- the API ------------------------------------------------------------------------
    def generate(self, image, intensities, expression: str | None = None, as_tensor: bool = False, condition=None,
                 face="auto", paste: bool = True):
        """:meth:`i2vlib.api.Model.generate`, with G_C chosen by ``condition`` (see :meth:`g_c`; a photo's face is
        conditioned by the fitted G_C on the landmarks dlib found, :meth:`face_options`)."""
        self._active = self.g_c(condition)
        try:
            return super().generate(image, intensities, expression, as_tensor, face=face, paste=paste)
        finally:
            self._active = None

    def face_options(self, landmarks) -> dict:
        """A photo's face crop: the fitted G_C takes the landmarks dlib found as L0 (a benchmark model's instrument
        finds no landmarks on a photograph)."""
        return {"condition": self.g_c("fitted", known=landmarks)}

    def retarget(self, image, reference, condition=None, as_tensor: bool = False):
        """``image`` performing the motion of ``reference``: T x H x W x 3 uint8 (one frame per reference frame).

        ``reference``: T x H x W x 3 uint8 frames, a video file or a folder of numbered PNG frames, or a
        benchmark :class:`~i2vlib.clip_record.Clip` (the oracle condition needs one: it reads the clip's
        true action units). Frame t is G_M(I | M_0, M_t) with M_t from G_C; a refine-stage model
        passes the clip through G_R.
        """
        gc, ref = self.g_c(condition), as_reference(reference, api.MAX_FRAMES)
        feats = self.features(image, self.expressions)
        with torch.inference_mode():
            neutral, f_src = self._source(feats, gc)
            out = self._frames(feats, f_src, gc.retarget(neutral, ref)).float()
        return out if as_tensor else from_tensor(out)

    # -- the passes ---------------------------------------------------------------------
    def _encode(self, x, expressions):
        return {"x": x, "image": from_tensor(x)[0], "f_I": self.net.f_I(x), "sources": {}}

    def _source(self, feats: dict, gc):
        """L0 of the image under this G_C and f_M(M_0), kept with the image's features."""
        if gc.key not in feats["sources"]:
            neutral = gc.source(feats["image"])
            with torch.inference_mode():
                maps = motion_maps(neutral[None], self.image_size, self.maps).to(self.device)
                feats["sources"][gc.key] = (neutral, self.net.motion(maps))
        return feats["sources"][gc.key]

    def _decode_clip(self, feats, a):
        gc = self._active or self.g_c()
        neutral, f_src = self._source(feats, gc)
        return self._frames(feats, f_src, gc.expression(neutral, {e: v.cpu().numpy() for e, v in a.items()}))

    def _frames(self, feats: dict, f_src, landmarks: np.ndarray) -> torch.Tensor:
        """G_M once per frame for the target landmarks (T, 68, 2), then G_R on clips when refining."""
        maps = motion_maps(landmarks, self.image_size, self.maps).to(self.device)
        frames = forecast_frames(self.net, feats["x"], feats["f_I"], f_src, maps, self.batch_size)
        if self.refiner is None or len(frames) == 1:
            return frames
        return refine_frames(self.refiner, frames.clamp(-1, 1), maps, self.clip_length)


def load_networks(ckpt: dict) -> tuple[dict, ForecastNet, RefineNet | None]:
    """The config, G_M and (for a refine-stage run) G_R of a checkpoint whose weights hold both stages
    (:func:`i2vlib.runs.load` adds G_M to a file that ships G_R alone)."""
    where = ckpt.get("path", "checkpoint")
    cfg, weights = full_config(ckpt["config"], where=where), ckpt["weights"]
    if cfg["stage"] == "forecast":
        net = ForecastNet(cfg)
        load_weights(net, generator_weights(ckpt), where)
        return cfg, net, None
    net, refiner = ForecastNet(cfg["forecast"]), RefineNet(cfg)
    load_weights(net, weights["G_M"], where)
    load_weights(refiner, generator_weights(ckpt), where)
    return cfg, net, refiner
