"""Face identity descriptors: dlib's 128-d face-recognition embedding.

Fan et al. measure identity preservation as the Average Content Distance (ACD) between
OpenFace features of generated and real faces. OpenFace needs a download; dlib's ResNet
(shipped by ``face_recognition_models``) plays the same role offline: faces of one
person lie within about 0.6 of each other in its 128-d space.
"""

from __future__ import annotations

import numpy as np

from ..io import as_image
from .landmarks import dlib_face_recognizer, get_backend


def face_descriptor(image, landmarks=None, jitters: int = 0) -> np.ndarray:
    """The (128,) float32 descriptor of the face in ``image``.

    ``landmarks``: its 68 x 2 landmarks if known (e.g. a generated frame with known
    geometry); otherwise the face is detected first (:class:`~.landmarks.NoFaceError`
    when there is none). ``jitters``: average over this many random jitters (slower, steadier).
    """
    image = as_image(image)
    backend = get_backend("dlib")
    if landmarks is None:
        landmarks = backend.detect(image).landmarks
    shape = backend.shape(image, landmarks)
    vec = dlib_face_recognizer().compute_face_descriptor(image, shape, int(jitters))
    return np.asarray(vec, dtype=np.float32)
