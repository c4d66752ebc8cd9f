"""The instrument for real faces: dlib's detector, 68-point predictor and 128-d face descriptor.

Every frame is detected on its own (as the papers' evaluation code does); a frame in which
dlib finds no face is reported as undetected (NaN rows), not replaced by anything.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from ..faces.embed import face_descriptor
from ..faces.landmarks import NoFaceError, get_backend
from ..io import as_image
from ..lru import LRU
from .measurement import Measurement


class DlibInstrument:
    """dlib (offline): HOG face detector, 68-point shape predictor, face-recognition ResNet.

    ``jitters``: dlib's descriptor averaged over this many random jitters (0 = one pass).
    """

    name = "dlib"
    size = None  # any image size; dlib upsamples small images to find the face
    dim = 128

    def __init__(self, jitters: int = 0, cache: int = 20_000):
        self.backend = get_backend("dlib")
        self.jitters = int(jitters)
        # dlib's descriptor costs about a tenth of a second per face on a CPU; a frame seen before
        # (the ground truth, scored again for every method; a still video) is looked up instead.
        self._cache = LRU(cache)

    def measure(self, frames, neutral=None) -> Measurement:
        """Detect, landmark and describe each frame; frames without a face get NaN rows.

        ``neutral`` is accepted for the common interface and unused (dlib reads no expressions)."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        t = len(frames)
        face = np.zeros(t, bool)
        emb = np.full((t, self.dim), np.nan, np.float32)
        lms = np.full((t, 68, 2), np.nan, np.float32)
        for i, frame in enumerate(frames):
            image = as_image(frame)
            key = hashlib.sha1(image.tobytes() + str(image.shape).encode()).digest()
            found = self._cache.remember(key, functools.partial(self._describe, image))
            if found is not None:
                face[i] = True
                lms[i], emb[i] = found
        return Measurement(face=face, embedding=emb, landmarks=lms, strength=None, expressions=())

    def _describe(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The largest face's landmarks and descriptor, or None where dlib finds no face."""
        try:
            found = self.backend.detect(image)
        except NoFaceError:
            return None
        return found.landmarks, face_descriptor(image, found.landmarks, jitters=self.jitters)

    def __repr__(self) -> str:
        return "<DlibInstrument: HOG detector, 68-point predictor, 128-d face descriptor>"
