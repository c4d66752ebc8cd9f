"""The embedded benchmark: procedural facial-expression videos with exact ground truth.

The licensed datasets of the papers (CK+, CK++, MUG, Cheeks&Eyes) cannot ship, so the
book's default data is drawn here. Each identity is a random face shape
(:mod:`face_shape`) and look (:mod:`face_paint`); each of the seven expressions is a
recipe of action units whose strength follows a non-linear, identity-specific response
to the intensity ``a`` in [0, 1]; each video follows an intensity curve
(:mod:`curves`) with a little head jitter. Every frame comes with its 68 landmarks,
its true intensity, expression and identity, so claims the papers could only argue
("the inferred intensity tracks the true one") can be measured.

Identities are split by index (``i % 10``: 0-7 train, 8 val, 9 test), so no person is
in two splits. Everything is a pure function of ``(seed, ...)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..clip_record import EXPRESSIONS, Clip
from ..errors import I2VError, check_names
from ..faces.masks import mouth_mask
from ..lru import LRU, nbytes
from . import face_paint, face_shape
from .curves import check_curves, intensity_curve

SPLITS = ("train", "val", "test")

# The held-out videos every measurement draws again (each zoo model's scores, each gate, each chapter's table) stay
# drawn, up to this many bytes per process (a 16-frame 64-px test video with its masks is 0.26 MB); training videos
# are kept by their dataset (:mod:`.clips`).
DRAWN_BYTES = 256 << 20

# expression -> [(action, weight, onset, full)]: the action reaches ``weight`` times a ramp
# that starts when the identity's response r(a) passes ``onset`` and saturates at ``full``.
RECIPES = {
    "happy": [("smile", 1.0, 0.0, 0.8), ("cheek_raise", 1.0, 0.25, 1.0), ("lips_part", 1.0, 0.35, 1.0),
              ("jaw_drop", 0.2, 0.6, 1.0), ("lid_tighten", 0.3, 0.4, 1.0)],
    "anger": [("brow_lower", 1.0, 0.0, 0.8), ("lip_press", 1.0, 0.1, 1.0), ("nostril_flare", 1.0, 0.2, 1.0),
              ("lid_tighten", 0.7, 0.0, 1.0)],
    "surprise": [("brow_raise", 1.0, 0.0, 0.7), ("lid_raise", 1.0, 0.0, 0.6), ("jaw_drop", 1.0, 0.15, 1.0)],
    "contempt": [("smirk", 1.0, 0.0, 1.0), ("lid_tighten", 0.25, 0.3, 1.0)],
    "close-eyes": [("eye_close", 1.0, 0.0, 1.0), ("cheek_raise", 0.15, 0.6, 1.0)],
    "raise-eyes": [("gaze_up", 1.0, 0.0, 1.0), ("brow_raise", 0.75, 0.1, 1.0), ("lid_raise", 0.5, 0.0, 1.0)],
    "drum-cheeks": [("cheek_puff", 1.0, 0.0, 1.0), ("lip_press", 0.7, 0.0, 0.6)],
}


def check_expressions(names) -> tuple[str, ...]:
    """Validate expression names against the seven of the benchmark."""
    return check_names(names, EXPRESSIONS, "expression")


@dataclass(frozen=True)
class Identity:
    """One synthetic person: shape, look, and how strongly and how early they express."""

    index: int
    shape: dict
    look: dict
    gain: dict   # action -> multiplier of its peak strength (0.75-1.25)
    curvature: dict  # expression -> curvature k of the response r(a)

    @property
    def split(self) -> str:
        return split_of(self.index)


def split_of(index: int) -> str:
    r = index % 10
    return "test" if r == 9 else "val" if r == 8 else "train"


def response(a, k: float):
    """Identity-specific, monotone response r(a) = (e^{k a} - 1) / (e^k - 1), r(0)=0, r(1)=1."""
    a = np.asarray(a, dtype=float)
    return a if abs(k) < 1e-6 else np.expm1(k * a) / math.expm1(k)


def actions(identity: Identity, intensities: dict) -> dict:
    """Action-unit strengths for a mix of expressions {name: a} (the sum of their recipes)."""
    act = face_shape.neutral_actions()
    for name, a in intensities.items():
        r = float(response(min(max(float(a), 0.0), 1.0), identity.curvature[name]))
        for unit, weight, onset, full in RECIPES[name]:
            ramp = min(max((r - onset) / (full - onset), 0.0), 1.0)
            act[unit] += weight * identity.gain[unit] * ramp
    return {k: min(v, 1.3) for k, v in act.items()}


@lru_cache(maxsize=8192)
def make_identity(seed: int, index: int) -> Identity:
    rng = np.random.default_rng([seed, index, 0x1D])
    return Identity(
        index=index,
        shape=face_shape.sample_shape(rng),
        look=face_paint.sample_look(rng),
        gain={a: float(rng.uniform(0.75, 1.25)) for a in face_shape.ACTIONS},
        curvature={e: float(rng.uniform(-1.5, 2.0)) for e in RECIPES},
    )


@dataclass
class HeadPose:
    """Placement of the face in the image: offset (fraction of the size), rotation, zoom."""

    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0  # radians
    zoom: float = 1.0

    def to_px(self, look: dict, size: int):
        s = look["scale"] * size * self.zoom
        c, sn = math.cos(self.angle) * s, math.sin(self.angle) * s
        m = np.array([[c, -sn], [sn, c]])
        # The head (forehead top to chin) is centred, not the face origin at the nose bridge.
        t = np.array([size * (0.5 + self.dx) - 0.5, size * (0.5 + self.dy) - 0.06 * s - 0.5])
        return lambda p: np.asarray(p) @ m.T + t


def draw_face(identity: Identity, intensities: dict, size: int = 64, pose: HeadPose | None = None,
           rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One frame of ``identity`` showing the mix ``{expression: a}``.

    Returns the image (size x size x 3 uint8) and its 68 landmarks in pixels (68 x 2).
    ``rng`` adds the identity's sensor noise; without it the frame is noise-free.
    """
    check_expressions(intensities)
    act = actions(identity, intensities)
    lm = face_shape.landmarks(identity.shape, act)
    to_px = (pose or HeadPose()).to_px(identity.look, size)
    image = face_paint.paint(identity.shape, identity.look, act, lm, to_px, size, rng)
    return image, to_px(lm).astype(np.float32)


def jitter_track(n: int, rng: np.random.Generator, amount: float = 1.0) -> list[HeadPose]:
    """Small, smooth head motion over ``n`` frames: an AR(1) walk around a fixed offset."""
    base = rng.uniform(-1, 1, 4) * np.array([0.02, 0.02, 0.03, 0.03]) * amount
    step = np.array([0.006, 0.006, 0.012, 0.008]) * amount
    x = np.zeros(4)
    poses = []
    for _ in range(n):
        x = 0.7 * x + rng.normal(0, 1, 4) * step
        d = base + x
        poses.append(HeadPose(dx=d[0], dy=d[1], angle=d[2], zoom=1.0 + d[3]))
    return poses


class SyntheticBenchmark:
    """Deterministic source of synthetic identities, frames and videos.

    ``size``: 64, 128, 256 (any size >= 32 works). ``frames``: (min, max) video length.
    ``jitter``: head motion amount (0 disables). ``noise``: add sensor noise.
    """

    def __init__(self, size: int = 64, seed: int = 0, n_identities: int = 3000,
                 frames: tuple[int, int] = (8, 32), jitter: float = 1.0, noise: bool = True):
        if size < 32:
            raise I2VError(f"image size must be at least 32 px, got {size}")
        if n_identities < 10:
            raise I2VError(f"need at least 10 identities (one per split), got {n_identities}")
        if not 2 <= frames[0] <= frames[1]:
            raise I2VError(f"bad frame range {frames}: need 2 <= min <= max")
        self.size, self.seed, self.n_identities = size, seed, n_identities
        self.frames, self.jitter, self.noise = tuple(frames), jitter, noise

    def identities(self, split: str) -> np.ndarray:
        """Indices of the identities of one split (disjoint across splits)."""
        if split not in SPLITS:
            raise I2VError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        ids = np.arange(self.n_identities)
        return ids[np.array([split_of(i) == split for i in ids])]

    def identity(self, index: int) -> Identity:
        return make_identity(self.seed, int(index))

    def frame(self, identity, intensities: dict, pose: HeadPose | None = None, rng=None):
        """(image, landmarks) of one identity (index or Identity) for a mix {expression: a}."""
        if not isinstance(identity, Identity):
            identity = self.identity(identity)
        return draw_face(identity, intensities, self.size, pose, rng)

    def video(self, split: str, index: int, expression: str | None = None, curve: str | None = None,
              n_frames: int | None = None, expressions=EXPRESSIONS, curves=("linear",)) -> Clip:
        """Video ``index`` of a split. Unless given, the expression cycles through ``expressions``,
        the intensity curve (:data:`~.curves.CURVES`) through ``curves``; identity and length are
        drawn from the seed. A held-out video (val, test) is drawn once per process and then copied
        (:data:`DRAWN_BYTES`)."""
        expressions = check_expressions(expressions)
        expression = expression or expressions[index % len(expressions)]
        check_expressions([expression])
        curves = check_curves(curves)
        curve = curve or curves[(index // len(expressions)) % len(curves)]
        check_curves([curve])
        key = (self.size, self.seed, self.n_identities, self.frames, self.jitter, self.noise, split, int(index),
               expression, curve, n_frames)
        held_out = split != "train"
        if held_out and (kept := _DRAWN.get(key)) is not None:
            return kept.copy()                 # each caller its own copy: no caller's change reaches another
        rng = np.random.default_rng([self.seed, SPLITS.index(split) if split in SPLITS else 9,
                                     EXPRESSIONS.index(expression), index])
        ids = self.identities(split)
        ident = self.identity(ids[rng.integers(len(ids))])
        n = n_frames or int(rng.integers(self.frames[0], self.frames[1] + 1))
        clip = self.draw_video(ident, expression, curve, n, rng, split, f"id{ident.index:05d}_v{index:04d}")
        if held_out:
            _DRAWN.put(key, clip.copy())
        return clip

    def draw_video(self, ident: Identity, expression: str, curve: str, n: int, rng: np.random.Generator,
                   split: str, video_id: str, masks: bool = True) -> Clip:
        """``n`` frames of ``ident`` showing ``expression`` along intensity curve ``curve``; the intensities,
        the head motion and the sensor noise drawn from ``rng``, in that order (``masks``: with mouth masks)."""
        a = intensity_curve(curve, n, rng)
        poses = jitter_track(n, rng, self.jitter) if self.jitter else [HeadPose()] * n
        noise_rng = rng if self.noise else None
        frames, lms = zip(*(draw_face(ident, {expression: float(a_t)}, self.size, p, noise_rng)
                            for a_t, p in zip(a, poses)))
        lms = np.stack(lms)
        return Clip(
            frames=np.stack(frames), expression=expression, identity=f"{ident.index:05d}",
            video_id=video_id, split=split, landmarks=lms, intensity=a,
            masks=np.stack([mouth_mask(lm, (self.size, self.size)) for lm in lms]) if masks else None,
            meta={"curve": curve, "source": "synthetic", "seed": self.seed, "size": self.size},
        )

    def videos(self, split: str, n: int, **kwargs):
        """Iterate over the first ``n`` videos of a split (see :meth:`video`)."""
        for i in range(n):
            yield self.video(split, i, **kwargs)


_DRAWN = LRU(DRAWN_BYTES, nbytes)   # the held-out videos drawn so far
