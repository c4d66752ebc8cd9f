"""Landmark backends: find a face and its 68 iBUG landmarks behind one interface.

``get_backend("dlib")``            HOG detector + 68-point shape predictor; fully offline
                                   (model files from the ``face_recognition_models`` package).
``get_backend("face-alignment")``  Bulat & Tzimiropoulos' FAN (the design card's choice);
                                   downloads its weights on first use, so it needs internet once.
``get_backend("ground-truth")``    landmarks come with the data (CK+, an i2v export); it has
                                   nothing to detect with and says so.

Every backend has ``detect(image) -> Face`` (the highest-scoring face; :class:`NoFaceError`
when there is none) and ``landmarks_in_box(image, box) -> 68 x 2`` (no detection: the
landmarks of the face inside a box found earlier, e.g. on a clip's neutral frame); dlib's also has
``faces(image)``, every face of a photo, the largest first (:mod:`i2vlib.faces.paste` picks one of them).

Boxes are ``(x0, y0, x1, y1)`` pixel indices, half-open: the box holds columns
``x0 .. x1-1`` and rows ``y0 .. y1-1``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import I2VError
from ..io import as_image  # noqa: F401  (re-exported: backends take paths or arrays)

BACKENDS = ("dlib", "face-alignment", "ground-truth")

# dlib's HOG detector reports a box only above score 0 by default; asking down to -0.2
# keeps faint but real faces (small, grey, partly lit). We take the best box anyway.
DLIB_ADJUST_THRESHOLD = -0.2
# Beside the best face, a photo's other faces count from this score: the detector's weak boxes are seldom faces (on
# the astronaut's space suit it finds one at -0.05 to 0.12, where her face and Grace Hopper's score 1.1 to 1.5).
DLIB_OTHER_FACES = 0.5


@dataclass
class Face:
    """One detected face: 68 x 2 float32 landmarks (x, y), its box, and the detector's score."""

    landmarks: np.ndarray
    box: tuple[int, int, int, int]
    score: float


class NoFaceError(I2VError):
    """The image holds no face the backend can find."""


def get_backend(name: str = "dlib"):
    """The landmark backend called ``name`` (one of :data:`BACKENDS`); loaded once and cached."""
    if name not in BACKENDS:
        raise I2VError(f"unknown landmark backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name not in _BACKENDS:
        _BACKENDS[name] = {"dlib": DlibBackend, "face-alignment": FaceAlignmentBackend,
                           "ground-truth": GroundTruthBackend}[name]()
    return _BACKENDS[name]


_BACKENDS: dict = {}


# ---------------------------------------------------------------------------- dlib

def dlib_model_path(filename: str) -> Path:
    """Path of a model file shipped by ``face_recognition_models``.

    That package's ``__init__`` imports ``pkg_resources``, which new setuptools no longer
    has, so we find its folder without importing it.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise I2VError("the dlib landmark models are missing: pip install face-recognition-models")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / filename
        if path.is_file():
            return path
    raise I2VError(f"face_recognition_models has no models/{filename}; reinstall face-recognition-models")


_DLIB: dict = {}


def dlib_models() -> dict:
    """The dlib detector, 68-point predictor and face-recognition net, loaded once per process."""
    if not _DLIB:
        try:
            import dlib
        except ImportError:
            raise I2VError("dlib is not installed: pip install dlib-bin face-recognition-models") from None
        _DLIB["detector"] = dlib.get_frontal_face_detector()
        _DLIB["predictor"] = dlib.shape_predictor(str(dlib_model_path("shape_predictor_68_face_landmarks.dat")))
        _DLIB["module"] = dlib
    return _DLIB


def dlib_face_recognizer():
    """dlib's 128-d face-recognition ResNet (loaded on first use; it is only needed by metrics)."""
    models = dlib_models()
    if "recognizer" not in models:
        path = dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")
        models["recognizer"] = models["module"].face_recognition_model_v1(str(path))
    return models["recognizer"]


class DlibBackend:
    """dlib's HOG face detector and 68-point shape predictor (offline)."""

    name = "dlib"

    def __init__(self):
        self._models = dlib_models()

    def detect(self, image, upsample: int | None = None) -> Face:
        """The highest-scoring face in ``image`` (of :meth:`faces`)."""
        return max(self.faces(image, upsample), key=lambda face: face.score)

    def faces(self, image, upsample: int | None = None) -> list[Face]:
        """Every face in ``image``, the largest (by the detector's box) first; :class:`NoFaceError` when there is none.

        ``upsample``: how many times the detector doubles the image to find small faces.
        ``None`` tries 0 first and upsamples only while no confident face (score >= 0) has been found
        (twice for images under 256 px), which keeps large photos fast. The faces: the best-scoring box,
        and the others of its level that score at least :data:`DLIB_OTHER_FACES`.
        """
        image = as_image(image)
        if upsample is None:
            levels = range(3 if min(image.shape[:2]) < 256 else 2)
        else:
            levels = [int(upsample)]
        best, others = None, []
        for level in levels:
            rects, scores, _ = self._models["detector"].run(image, level, DLIB_ADJUST_THRESHOLD)
            for rect, score in zip(rects, scores):
                if best is None or score > best[1]:
                    best = (rect, float(score))
            others = [(rect, float(score)) for rect, score in zip(rects, scores) if score >= DLIB_OTHER_FACES]
            if best is not None and best[1] >= 0:
                break
        if best is None:
            raise NoFaceError("no face found in the image")
        chosen = [best] + [(rect, score) for rect, score in others if rect != best[0]]
        faces = [Face(self._predict(image, rect), (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1),
                      score) for rect, score in chosen]
        return sorted(faces, key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))

    def landmarks_in_box(self, image, box) -> np.ndarray:
        """68 x 2 landmarks of the face inside ``box`` (no detection)."""
        return self._predict(as_image(image), self.rectangle(box))

    def rectangle(self, box):
        """A ``(x0, y0, x1, y1)`` half-open box as a dlib rectangle (inclusive corners)."""
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        return self._models["module"].rectangle(x0, y0, x1 - 1, y1 - 1)

    def shape(self, image, landmarks):
        """A dlib ``full_object_detection`` from 68 x 2 landmarks (what dlib's face net wants)."""
        dlib = self._models["module"]
        pts = np.asarray(landmarks, dtype=np.float64)
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 1
        points = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in pts])
        return dlib.full_object_detection(self.rectangle((x0, y0, x1, y1)), points)

    def _predict(self, image, rect) -> np.ndarray:
        shape = self._models["predictor"](image, rect)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


# ---------------------------------------------------------------------------- face-alignment

class FaceAlignmentBackend:
    """FAN landmarks from the ``face-alignment`` package (its weights are downloaded on first use)."""

    name = "face-alignment"

    def __init__(self, device: str = "cpu"):
        try:
            import face_alignment
        except ImportError:
            raise I2VError("the face-alignment backend is not installed: pip install face-alignment "
                           "(needs internet on first use), or use the offline --landmarks dlib") from None
        kind = getattr(face_alignment.LandmarksType, "TWO_D", None) or face_alignment.LandmarksType._2D
        try:
            self._fa = face_alignment.FaceAlignment(kind, device=device, flip_input=False)
        except (OSError, RuntimeError) as e:  # URLError and HTTPError are OSErrors
            reason = (str(getattr(e, "reason", e)).strip().splitlines() or ["no details"])[0]
            raise I2VError("face-alignment could not load its weights: it downloads them on first use and "
                           f"needs internet ({type(e).__name__}: {reason}); offline, use --landmarks dlib") from None

    def detect(self, image) -> Face:
        """The highest-scoring face found by face-alignment's own detector."""
        image = as_image(image)
        try:
            found = self._fa.get_landmarks_from_image(image, return_bboxes=True)
            landmarks, _, boxes = found if found is not None else (None, None, None)
        except TypeError:  # face-alignment < 1.3 has no return_bboxes
            landmarks = self._fa.get_landmarks_from_image(image)
            boxes = [_box_around(lm) + (0.0,) for lm in landmarks or []]
        if not landmarks:
            raise NoFaceError("no face found in the image")
        if boxes is None:
            boxes = [_box_around(lm) + (0.0,) for lm in landmarks]
        best = int(np.argmax([b[4] if len(b) > 4 else 0.0 for b in boxes]))
        x0, y0, x1, y1 = (int(round(v)) for v in boxes[best][:4])
        score = float(boxes[best][4]) if len(boxes[best]) > 4 else 0.0
        return Face(np.asarray(landmarks[best])[:, :2].astype(np.float32), (x0, y0, x1, y1), score)

    def landmarks_in_box(self, image, box) -> np.ndarray:
        """68 x 2 landmarks of the face inside ``box`` (a box from :meth:`detect`)."""
        found = self._fa.get_landmarks_from_image(as_image(image),
                                                  detected_faces=[np.array([*box, 1.0], dtype=np.float32)])
        if not found:
            raise NoFaceError("face-alignment found no landmarks in the given box")
        return np.asarray(found[0])[:, :2].astype(np.float32)


def _box_around(landmarks) -> tuple:
    pts = np.asarray(landmarks)[:, :2]
    return tuple(float(v) for v in (*pts.min(axis=0), *pts.max(axis=0)))


# ---------------------------------------------------------------------------- ground truth

class GroundTruthBackend:
    """Landmarks supplied by the data itself; there is no detector behind it."""

    name = "ground-truth"

    def detect(self, image) -> Face:
        raise I2VError("--landmarks ground-truth takes the landmarks from the data, and this clip has none; "
                       "use --landmarks dlib to detect them")

    def landmarks_in_box(self, image, box) -> np.ndarray:
        return self.detect(image)
