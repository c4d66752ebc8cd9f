"""Measuring instruments: how the metrics *see* a face.

A metric such as ACD needs face features; a landmark trajectory needs landmarks. An
instrument turns frames into those measurements, and the choice of instrument is part of
every number it produces (like the Inception network behind FID). Two ship with i2vlib:

``synthetic``  three tiny networks trained on the embedded benchmark (64 px), shipped as
               package data: a face/no-face score with 68 landmarks, a 128-d identity
               embedding and the visible strength of each of the seven expressions.
               Train them again with ``python -m i2vlib.instruments.train``.
``dlib``       for real faces: dlib's HOG detector, 68-point predictor and 128-d
               face-recognition ResNet (offline; the stand-in for the papers' OpenFace).

Both return a :class:`Measurement`; a frame without a detected face gets NaN rows, which
the metrics count as undetected and leave out of the scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import I2VError

INSTRUMENTS = ("synthetic", "dlib")


@dataclass
class Measurement:
    """What an instrument saw in T frames.

    ``face``        (T,) bool: a face was found.
    ``embedding``   T x D identity features (NaN rows where no face).
    ``landmarks``   T x 68 x 2 landmarks in the frames' pixel coordinates (NaN where no face).
    ``strength``    T x E visible strength in [0, 1] of each expression in ``expressions``, read
                    against the person's neutral face
                    (NaN where no face), or None if the instrument cannot read expressions.
    """

    face: np.ndarray
    embedding: np.ndarray
    landmarks: np.ndarray
    strength: np.ndarray | None = None
    expressions: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.face)


def get_instrument(name: str, **kwargs):
    """The instrument called ``name`` (one of :data:`INSTRUMENTS`); the synthetic one accepts ``path=``,
    dlib ``jitters=``. Instruments are loaded once per process and shared, so the frames they have
    measured (e.g. the ground truth, scored again for every method) are remembered."""
    if name not in INSTRUMENTS:
        raise I2VError(f"unknown instrument {name!r}; choose one of {', '.join(INSTRUMENTS)}")
    key = (name, tuple(sorted((k, str(v)) for k, v in kwargs.items())))
    if key not in _SHARED:
        if name == "synthetic":
            from .synthetic import SyntheticInstrument

            _SHARED[key] = SyntheticInstrument.load(**kwargs)
        else:
            from .dlib_faces import DlibInstrument

            _SHARED[key] = DlibInstrument(**kwargs)
    return _SHARED[key]


_SHARED: dict = {}


__all__ = ["INSTRUMENTS", "Measurement", "get_instrument"]
