"""Mouth and eye masks: the convex hull of the mouth landmarks (iBUG points 48-67), or of the brows and eyes.

Both Fan et al. (Eq. 3-4, the local discriminator's region) and AffineGAN (Eq. 7, the
local patch) mask the mouth; we take the convex hull of the 20 mouth landmarks,
optionally grown by a margin so the lips' surroundings (nasolabial folds) count too.
"""

from __future__ import annotations

import numpy as np

MOUTH = slice(48, 68)
EYES = np.r_[17:27, 36:48]     # the brows and the eyes


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise convex hull of 2-D points (Andrew's monotone chain)."""
    pts = np.unique(np.asarray(points, dtype=np.float64), axis=0)
    if len(pts) < 3:
        return pts
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]

    def half(seq):
        out: list = []
        for p in seq:
            while len(out) >= 2 and _cross(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def mouth_mask(landmarks: np.ndarray, size: tuple[int, int], margin: float = 0.15) -> np.ndarray:
    """H x W bool mask of the mouth region.

    ``landmarks``: 68 x 2 pixel (x, y). ``margin``: grow the hull about its centre by this
    fraction of its size. ``size``: (height, width).
    """
    return _hull_mask(np.asarray(landmarks)[MOUTH], size, margin)


def eyes_mask(landmarks: np.ndarray, size: tuple[int, int], margin: float = 0.15) -> np.ndarray:
    """H x W bool mask of the brows and eyes (AffineGAN's local patch for the eyes' expressions), as
    :func:`mouth_mask` draws the mouth's."""
    return _hull_mask(np.asarray(landmarks)[EYES], size, margin)


def _hull_mask(points: np.ndarray, size: tuple[int, int], margin: float) -> np.ndarray:
    from PIL import Image, ImageDraw

    hull = convex_hull(points)
    centre = hull.mean(axis=0)
    hull = centre + (hull - centre) * (1.0 + margin)
    h, w = size
    im = Image.new("L", (w, h), 0)
    ImageDraw.Draw(im).polygon([tuple(p) for p in hull], fill=255)
    return np.asarray(im) > 127
