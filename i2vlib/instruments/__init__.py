"""Measuring instruments: how the metrics *see* a face.

A metric such as ACD needs face features; a landmark trajectory needs landmarks. An
instrument turns frames into those measurements, and the choice of instrument is part of
every number it produces (like the Inception network behind FID). Two ship with i2vlib:

``synthetic``  three tiny networks trained on the embedded benchmark (64 px), shipped as
               package data: a face/no-face score with 68 landmarks, a 128-d identity
               embedding and the visible strength of each of the seven expressions.
               Train them again with ``python -m i2vlib.instruments.build``.
``dlib``       for real faces: dlib's HOG detector, 68-point predictor and 128-d
               face-recognition ResNet (offline; the stand-in for the papers' OpenFace).

Both return a :class:`Measurement`; a frame without a detected face gets NaN rows, which
the metrics count as undetected and leave out of the scores.
"""

from __future__ import annotations

from ..errors import I2VError
from .benchmark import SyntheticInstrument
from .dlib_faces import DlibInstrument
from .measurement import INSTRUMENTS, Measurement


def get_instrument(name: str, **kwargs):
    """The instrument called ``name`` (one of :data:`INSTRUMENTS`); the synthetic one accepts ``path=``,
    dlib ``jitters=``. Instruments are loaded once per process and shared, so the frames they have
    measured (e.g. the ground truth, scored again for every method) are remembered."""
    if name not in INSTRUMENTS:
        raise I2VError(f"unknown instrument {name!r}; choose one of {', '.join(INSTRUMENTS)}")
    key = (name, tuple(sorted((k, str(v)) for k, v in kwargs.items())))
    if key not in _SHARED:
        if name == "synthetic":
            _SHARED[key] = SyntheticInstrument.load(**kwargs)
        else:
            _SHARED[key] = DlibInstrument(**kwargs)
    return _SHARED[key]


_SHARED: dict = {}


__all__ = ["INSTRUMENTS", "Measurement", "get_instrument"]
