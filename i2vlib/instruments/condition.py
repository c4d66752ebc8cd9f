"""FRGAN's condition generator G_C and motion maps M_t (Zhao et al., ECCV 2018, §3.1), in 2-D.

The paper fits a 3D Morphable Model to every face: an identity vector alpha and expression
coefficients beta_t, and renders the face's *normal map* as the motion map M_t. Retargeting
combines the target's alpha with a reference video's beta_t. The benchmark's face model
(:mod:`i2vlib.data.face_shape`) is the 2-D analogue: a shape (alpha) and action units (beta)
give the 68 landmarks. G_C here yields landmarks; :func:`motion_maps` draws them as M_t.

Three G_C modes:

``Oracle``   benchmark faces only: the identity's true shape with the requested (or the
             reference's) action units. Exact, so the target *performing* the reference is
             known: :meth:`Oracle.truth` paints it (retargeting ground truth the paper lacked).
``Fitted``   any face: landmarks L0 measured on the face (the synthetic instrument, or dlib on
             photos), plus the mean canonical displacement D_e(a) of each expression, learned
             from the training identities (an :class:`ExpressionTable`, kept in the checkpoint):
             L(a) = L0 + S D_e(a), with S the similarity that maps the canonical template onto L0.
             Mixing expressions sums their displacements. Retargeting moves the reference's own
             canonical displacements (rigid head motion removed) onto L0.
``linear``   ``Fitted(..., linear=True)``: L(a) = L0 + a S D_e(1), the design's literal reading
             "expression offsets scaled by the intensity".

Motion maps (``kind``): ``"dense"``, eight anti-aliased face-part channels (face, brows, eyes, nose,
lip ring, mouth opening, jaw line, landmark dots), dense like a normal map; ``"heatmaps"``, one
Gaussian per landmark (the paper's pose maps, §3.1).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ..data import face_paint, face_shape
from ..data.clips import labels
from ..data.face_shape import SHAPE_PRIOR, landmarks
from ..data.synthetic import HeadPose, actions, make_identity
from ..errors import I2VError
from ..faces.landmarks import NoFaceError, get_backend
from ..lru import LRU, nbytes
from . import get_instrument
from .benchmark import FACE_THRESHOLD
from .measurement import INSTRUMENTS

GRID = np.linspace(0.0, 1.0, 21)          # intensities at which the expression table is kept
RIGID = [0, 16, 27, 28, 29, 30, 36, 39, 42, 45]   # points no action unit moves: jaw tops, nose bridge, eye corners

# ----------------------------------------------------------------------------------------------
# Motion maps
# ----------------------------------------------------------------------------------------------
_FACE = [*range(17), *range(26, 16, -1)]   # jaw, then the brows back: the face outline
PARTS = {   # channel: (how it is drawn, landmark paths)
    "face": ("fill", [_FACE]),
    "brows": ("line", [range(17, 22), range(22, 27)]),
    "eyes": ("fill", [range(36, 42), range(42, 48)]),
    "nose": ("line", [range(27, 31), range(31, 36)]),
    "lips": ("ring", [range(48, 60), range(60, 68)]),
    "mouth": ("fill", [range(60, 68)]),
    "jaw": ("line", [range(17)]),
    "dots": ("dots", [range(68)]),
}
MAP_KINDS = ("dense", "heatmaps")      # a face's motion maps, drawn from G_C's 68 landmarks
JOINT_MAPS = "joints"                   # a pose's: one heat map per joint of the 13 (§3.1, human pose)


def map_channels(kind: str) -> int:
    """Channels of a motion map of ``kind``: 8 face parts, one heat map per landmark, or per joint."""
    if kind == JOINT_MAPS:
        return 13
    if kind not in MAP_KINDS:
        raise I2VError(f"unknown motion map {kind!r}; choose one of {', '.join(MAP_KINDS)}")
    return len(PARTS) if kind == "dense" else 68


SUPERSAMPLING = 4                # the dense map is drawn 4x larger and box-filtered down (anti-aliasing)
_DRAWN = LRU(256 << 20, nbytes)  # drawn maps kept by their landmarks (training draws the same frames again)


def _draw(lm: np.ndarray, size: int) -> np.ndarray:
    """The 8 face-part channels of one face (68 x 2 pixel landmarks) as (8, size, size) uint8."""
    from PIL import Image, ImageDraw

    ss = SUPERSAMPLING
    q = (lm + 0.5) * ss - 0.5
    unit = max(float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))), 1.0)   # interocular distance
    width = max(1, round(2 * max(0.5, 0.035 * unit) * ss))
    radius = max(0.5, 0.05 * unit) * ss
    out = np.empty((len(PARTS), size, size), np.uint8)
    for c, (how, paths) in enumerate(PARTS.values()):
        canvas = Image.new("L", (size * ss, size * ss), 0)
        pen = ImageDraw.Draw(canvas)
        for k, path in enumerate(paths):
            pts = [tuple(p) for p in q[list(path)].tolist()]
            if how == "line":
                pen.line(pts, fill=255, width=width, joint="curve")
            elif how == "dots":
                for x, y in pts:
                    pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
            else:                                   # a ring's second path (the opening) is cut out of the first
                pen.polygon(pts, fill=0 if how == "ring" and k else 255)
        out[c] = np.asarray(canvas.reduce(ss))
    return out


def _dense(lm: np.ndarray, size: int) -> np.ndarray:
    return _DRAWN.remember((size, lm.astype(np.float32).tobytes()), lambda: _draw(lm, size))


def motion_maps(landmarks, size: int, kind: str = "dense") -> torch.Tensor:
    """M_t for (N, 68, 2) pixel landmarks: (N, C, size, size) float in [0, 1] (C by :func:`map_channels`).

    ``dense``: the face parts of :data:`PARTS`, filled or stroked (strokes 0.07 interocular distances
    wide, dots of 0.1), drawn at 4x and box-filtered, so that sub-pixel motion changes the map.
    ``heatmaps``: exp(-d^2 / 2 sigma^2) per landmark, sigma = 0.07 interocular distances (>= 1 px).
    """
    lm = torch.as_tensor(landmarks, dtype=torch.float32)
    if lm.ndim != 3 or lm.shape[1:] != (68, 2):
        raise I2VError(f"motion maps need N x 68 x 2 landmarks, got shape {tuple(lm.shape)}")
    if kind == "heatmaps":
        unit = (lm[:, 36:42].mean(1) - lm[:, 42:48].mean(1)).norm(dim=-1)
        return gaussians(lm, size, (0.07 * unit).clamp_min(1.0)[:, None, None])
    map_channels(kind)
    drawn = np.stack([_dense(x, int(size)) for x in lm.cpu().numpy()])
    return torch.from_numpy(drawn).to(lm.device, torch.float32).div_(255.0)


def joint_maps(joints, size: int) -> torch.Tensor:
    """M_t of a pose (§3.1): (N, 13, 2) pixel joints "mapped to heatmaps and concatenated on depth",
    (N, 13, size, size) in [0, 1], sigma = size / 32 (2 px at 64 px). Every joint is drawn, hidden or
    not: the pose LSTM predicts positions only."""
    j = torch.as_tensor(joints, dtype=torch.float32)
    if j.ndim != 3 or j.shape[1:] != (13, 2):
        raise I2VError(f"joint maps need N x 13 x 2 pixel joints, got shape {tuple(j.shape)}")
    return gaussians(j, size, torch.full((len(j), 1, 1), size / 32.0))


def gaussians(points: torch.Tensor, size: int, sigma: torch.Tensor) -> torch.Tensor:
    """exp(-d^2 / 2 sigma^2) around each of (N, P, 2) points, separably: (N, P, size, size)."""
    r = torch.arange(size, dtype=torch.float32, device=points.device)
    gx = torch.exp(-(r - points[..., :1]) ** 2 / (2 * sigma ** 2))   # N P S
    gy = torch.exp(-(r - points[..., 1:]) ** 2 / (2 * sigma ** 2))
    return gy[..., :, None] * gx[..., None, :]


# ----------------------------------------------------------------------------------------------
# Similarities and the expression table
# ----------------------------------------------------------------------------------------------
def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The similarity (s, R, t) with ``dst ~ s * src @ R.T + t`` in least squares (Umeyama 1991, no reflection)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    xs, xd = src - ms, dst - md
    u, sv, vt = np.linalg.svd(xd.T @ xs / len(src))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    r = u @ d @ vt
    s = float(np.trace(np.diag(sv) @ d) / max((xs ** 2).sum() / len(src), 1e-12))
    return s, r, md - s * ms @ r.T


@lru_cache(maxsize=1)
def template() -> np.ndarray:
    """The canonical neutral face: the benchmark's mean shape without actions (68 x 2, face units)."""
    return landmarks({k: m for k, (m, _) in SHAPE_PRIOR.items()})


def unit_displacement(units) -> np.ndarray:
    """(T, 68, 2) template-unit displacements of the mean face under (T, 14) action-unit strengths (in the order of
    :data:`i2vlib.data.face_shape.ACTIONS`): the expression part of a 2-D morphable model, beta -> landmarks."""
    mean = {k: m for k, (m, _) in SHAPE_PRIOR.items()}
    names = face_shape.ACTIONS
    return np.stack([landmarks(mean, dict(zip(names, map(float, u)))) for u in np.atleast_2d(units)]) - template()


def beta_displacement(units) -> np.ndarray:
    """(T, 68, 2) template-unit displacements of a video's expression coefficients beta_t from its first frame's:
    :func:`unit_displacement` (beta_t) - (beta_0), the motion G_C carries onto another face (§3.1)."""
    units = np.atleast_2d(units)
    return unit_displacement(units) - unit_displacement(units[:1])


def to_canonical(displacement: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """Displacements (..., 68, 2) of a face with neutral landmarks ``neutral`` in template units."""
    s, r, _ = similarity(template(), neutral)
    return displacement @ r / s


def from_canonical(displacement: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_canonical`: template-unit displacements laid onto the face ``neutral``."""
    s, r, _ = similarity(template(), neutral)
    return s * displacement @ r.T


def remove_rigid(landmarks: np.ndarray) -> np.ndarray:
    """Each frame of (T, 68, 2) landmarks moved by the similarity that puts its rigid points on frame 0's."""
    out = np.empty_like(np.asarray(landmarks, np.float64))
    for t, lm in enumerate(landmarks):
        s, r, tr = similarity(lm[RIGID], landmarks[0][RIGID])
        out[t] = s * lm @ r.T + tr
    return out


class ExpressionTable:
    """D_e(a): mean canonical displacement of each expression at the intensities of :data:`GRID`.

    ``displacements``: (E, len(GRID), 68, 2) in template units, rows in the order of ``expressions``.
    """

    def __init__(self, displacements, expressions):
        self.d = np.asarray(displacements, dtype=np.float64)
        self.expressions = tuple(expressions)
        if self.d.shape != (len(self.expressions), len(GRID), 68, 2):
            raise I2VError(f"an expression table has shape (E, {len(GRID)}, 68, 2), got {self.d.shape}")

    def at(self, expression: str, a, linear: bool = False) -> np.ndarray:
        """D_e(a) for intensities ``a`` (T,): (T, 68, 2); ``linear``: a D_e(1)."""
        d, a = self.d[self.expressions.index(expression)], np.clip(np.asarray(a, np.float64), 0, 1)
        if linear:
            return a[:, None, None] * d[-1]
        pos = a * (len(GRID) - 1)
        lo = np.minimum(pos.astype(int), len(GRID) - 2)
        w = (pos - lo)[:, None, None]
        return (1 - w) * d[lo] + w * d[lo + 1]

    @classmethod
    def from_benchmark(cls, identities, expressions, seed: int = 0) -> ExpressionTable:
        """Exact means over benchmark ``identities`` (indices): their true landmarks, canonicalised."""
        table = np.zeros((len(expressions), len(GRID), 68, 2))
        for index in identities:
            ident = make_identity(seed, int(index))
            neutral = face_shape.landmarks(ident.shape)
            s, r, _ = similarity(template(), neutral)
            for e, name in enumerate(expressions):
                moved = np.stack([face_shape.landmarks(ident.shape, actions(ident, {name: a})) for a in GRID])
                table[e] += (moved - neutral) @ r / s
        return cls(table / max(len(identities), 1), expressions)

    @classmethod
    def from_clips(cls, clips, expressions, label: str = "position") -> ExpressionTable:
        """Means over training clips with landmarks (a folder): every frame's displacement from frame 0,
        rigid motion removed, binned by its intensity label (the true one where known, else its position);
        bins no frame fell into are interpolated along a."""
        total = np.zeros((len(expressions), len(GRID), 68, 2))
        count = np.zeros((len(expressions), len(GRID)))
        for clip in clips:
            if clip.landmarks is None or clip.expression not in expressions:
                continue
            lm = remove_rigid(np.asarray(clip.landmarks, np.float64))
            canon = to_canonical(lm - lm[0], lm[0])
            kind = "true" if clip.intensity is not None else label
            bins = np.rint(labels(clip, kind) * (len(GRID) - 1)).astype(int)
            e = expressions.index(clip.expression)
            for t, k in enumerate(bins):
                total[e, k] += canon[t]
                count[e, k] += 1
        total[:, 0], count[:, 0] = 0.0, 1.0          # D_e(0) = 0 by definition
        for e in range(len(expressions)):
            seen = np.flatnonzero(count[e])
            mean = total[e, seen] / count[e, seen][:, None, None]
            flat = np.stack([np.interp(GRID, GRID[seen], mean[:, p]) for p in range(136)], -1)
            total[e] = flat.reshape(len(GRID), 68, 2)
        return cls(total, expressions)


# ----------------------------------------------------------------------------------------------
# Landmarks of a face
# ----------------------------------------------------------------------------------------------


def measure_landmarks(frames: np.ndarray, instrument: str = "synthetic", what: str = "the image") -> np.ndarray:
    """68 landmarks of the face in each of (T, H, W, 3) uint8 frames: (T, 68, 2) pixels.

    ``synthetic``: the benchmark's landmark network (any square size); ``dlib``: for photos.
    A frame without a face is an error that names it.
    """
    frames = np.asarray(frames)
    if instrument == "synthetic":
        raw = get_instrument("synthetic").raw(frames)
        missing = np.flatnonzero(raw["face_logit"] <= FACE_THRESHOLD)
        found = raw["landmarks"]
    elif instrument == "dlib":
        backend, found, missing = get_backend("dlib"), np.zeros((len(frames), 68, 2), np.float32), []
        for t, frame in enumerate(frames):
            try:
                found[t] = backend.detect(frame).landmarks
            except NoFaceError:
                missing.append(t)
    else:
        raise I2VError(f"unknown landmark instrument {instrument!r}; choose one of {', '.join(INSTRUMENTS)}")
    if len(missing):
        where = "" if len(frames) == 1 else f" (frame {int(missing[0])} of {len(frames)})"
        raise I2VError(f"no face found in {what}{where} by the {instrument} landmark instrument")
    return np.asarray(found, np.float64)


# ----------------------------------------------------------------------------------------------
# The condition generators
# ----------------------------------------------------------------------------------------------
class Fitted:
    """G_C for any face: measured landmarks L0 moved by canonical displacements.

    ``expression(L0, mix)``: L0 + S sum_e D_e(a_e) (or a_e D_e(1) when ``linear``);
    ``retarget(L0, frames)``: L0 + S D_ref(t), where D_ref comes from the reference video by one of two readings:

    * with a ``fitter`` (the paper's, §3.1: the reference's expression coefficients beta_t on the target): the
      action units it fits to each reference frame (:mod:`i2vlib.instruments.fitter`), as the mean face's
      displacement :func:`beta_displacement`;
    * without (``"landmarks"``): the reference's own landmarks measured by the instrument, their displacement from
      the first frame, rigid motion removed, in template units.
    """

    def __init__(self, table: ExpressionTable, instrument: str = "synthetic", linear: bool = False, fitter=None,
                 known=None):
        if instrument not in INSTRUMENTS:
            raise I2VError(f"unknown landmark instrument {instrument!r}; choose one of {', '.join(INSTRUMENTS)}")
        self.table, self.instrument, self.linear, self.fitter = table, instrument, linear, fitter
        self.key = ("linear" if linear else "fitted", instrument)
        # L0 where it is known already (a photo's face, landmarked by dlib before it was cropped:
        # i2vlib.faces.paste); else the instrument measures it on the image
        self.known = None if known is None else np.asarray(known, np.float64).reshape(68, 2)
        if self.known is not None:
            self.key += ("known", self.known.tobytes())

    def source(self, image: np.ndarray) -> np.ndarray:
        if self.known is not None:
            return self.known
        return measure_landmarks(image[None], self.instrument)[0]

    def expression(self, neutral: np.ndarray, mix: dict) -> np.ndarray:
        n = len(next(iter(mix.values())))
        d = sum((self.table.at(e, a, self.linear) for e, a in mix.items()), np.zeros((n, 68, 2)))
        return neutral + from_canonical(d, neutral)

    def retarget(self, neutral: np.ndarray, reference) -> np.ndarray:
        frames = getattr(reference, "frames", reference)
        if self.fitter is not None:
            d = beta_displacement(self.fitter.fit(np.asarray(frames)))
        else:
            lm = remove_rigid(measure_landmarks(frames, self.instrument, "the reference video"))
            d = to_canonical(lm - lm[0], lm[0])
        return neutral + from_canonical(d, neutral)


class Oracle:
    """G_C on the benchmark: identity ``identity`` (an index) with exact action units.

    ``expression`` uses the identity's own response to the intensities; ``retarget`` takes a
    benchmark :class:`~i2vlib.clip_record.Clip` and uses the action units of *its* person
    (the paper's beta_t) on this identity's shape (alpha). :meth:`truth` paints the result.
    """

    def __init__(self, identity: int, size: int = 64, seed: int = 0):
        self.identity, self.size, self.seed = make_identity(seed, int(identity)), int(size), seed
        self.to_px = HeadPose().to_px(self.identity.look, self.size)
        self.key = ("oracle", seed, int(identity), self.size)

    def actions(self, mix: dict | None = None, reference=None) -> list[dict]:
        """Action units per frame: of this identity for ``mix``, or of the reference clip's person."""
        if reference is None:
            n = len(next(iter(mix.values())))
            return [actions(self.identity, {e: float(a[t]) for e, a in mix.items()}) for t in range(n)]
        if getattr(reference, "intensity", None) is None or not str(getattr(reference, "identity", "")).isdigit():
            raise I2VError("the oracle condition needs a benchmark clip as reference (with its identity, "
                           "expression and true intensities); give frames to a fitted condition instead")
        person = make_identity(int(reference.meta.get("seed", self.seed)), int(reference.identity))
        return [actions(person, {reference.expression: float(a)}) for a in reference.intensity]

    def _landmarks(self, acts: list[dict]) -> np.ndarray:
        return np.stack([self.to_px(face_shape.landmarks(self.identity.shape, a)) for a in acts])

    def source(self, image=None) -> np.ndarray:
        return self._landmarks([{}])[0]

    def expression(self, neutral, mix: dict) -> np.ndarray:
        return self._landmarks(self.actions(mix))

    def retarget(self, neutral, reference) -> np.ndarray:
        return self._landmarks(self.actions(reference=reference))

    def neutral(self) -> np.ndarray:
        """The identity's noise-free neutral face (size x size x 3 uint8): the input to retarget onto."""
        return self.truth(mix={"happy": [0.0]})[0]

    def truth(self, mix: dict | None = None, reference=None) -> np.ndarray:
        """The identity painted with the exact action units (T x size x size x 3 uint8): ground truth."""
        ident = self.identity
        return np.stack([face_paint.paint(ident.shape, ident.look, {**face_shape.neutral_actions(), **a},
                                          face_shape.landmarks(ident.shape, a), self.to_px, self.size)
                         for a in self.actions(mix, reference)])
