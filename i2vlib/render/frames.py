"""The labels drawn under or above frames, and the frame rates a file may have."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from ..errors import I2VError
from ..io import to_numpy

MIN_FPS, MAX_FPS = 0.01, 100.0   # a frame shown at most 100 s; at least 10 ms, GIF's shortest delay


def check_fps(fps) -> float:
    """``fps`` if it is a number in [MIN_FPS, MAX_FPS], else an :class:`I2VError`."""
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not MIN_FPS <= fps <= MAX_FPS:
        raise I2VError(f"fps must be a number from {MIN_FPS:g} to {MAX_FPS:g}; got {fps!r}")
    return fps


def _fmt_value(v) -> str:
    return f"{float(v):.2f}" if isinstance(v, numbers.Real) else str(v)


def _per_frame_intensities(intensities, n: int | None = None) -> list:
    """A list with one entry per frame: numbers, or dicts for mixing.

    Accepts a sequence of numbers (or dicts), or a dict of sequences
    (``{"happy": [...], "surprise": [...]}``, the mixing form of ``generate``).
    """
    if isinstance(intensities, Mapping):
        names = list(intensities)
        cols = [list(np.ravel(to_numpy(intensities[k]))) for k in names]
        if len({len(c) for c in cols}) > 1:
            raise I2VError(f"intensities for {', '.join(names)} differ in length")
        items = [dict(zip(names, vals)) for vals in zip(*cols)]
    else:
        if isinstance(intensities, (str, bytes)):
            raise I2VError("intensities must be a list of numbers")
        if isinstance(intensities, np.ndarray) or hasattr(intensities, "detach"):
            intensities = list(np.ravel(to_numpy(intensities)))
        try:
            items = list(intensities)
        except TypeError:
            raise I2VError(f"intensities must be a list of numbers; got {type(intensities).__name__}") from None
    if n is not None and len(items) != n:
        raise I2VError(f"got {len(items)} intensities for {n} frames")
    return items


def _intensity_label(v, name: str, sep: str) -> str:
    if isinstance(v, Mapping):
        return ", ".join(f"{k}{sep}{_fmt_value(x)}" for k, x in v.items())
    return f"{name}{sep}{_fmt_value(v)}"


def intensity_labels(intensities, name: str = "a") -> list[str]:
    """Compact labels for grids: ``[0, .25] -> ["a=0.00", "a=0.25"]``.

    A dict of lists (mixing) gives ``"happy=0.50, surprise=0.20"`` per frame.
    """
    return [_intensity_label(v, name, "=") for v in _per_frame_intensities(intensities)]


def frame_labels(n: int, intensities=None, labels=None, name: str = "a") -> list[str]:
    """Labels for n frames: explicit ``labels``, else ``"a = 0.25"``, else ``"frame 1 / n"``."""
    if labels is not None:
        labels = [str(x) for x in labels]
        if len(labels) != n:
            raise I2VError(f"got {len(labels)} labels for {n} frames")
        return labels
    if intensities is not None:
        return [_intensity_label(v, name, " = ") for v in _per_frame_intensities(intensities, n)]
    return [f"frame {i + 1} / {n}" for i in range(n)]
