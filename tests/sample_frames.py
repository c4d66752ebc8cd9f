"""Test frames shared by the tests of :mod:`i2vlib.render`."""

from __future__ import annotations

import numpy as np


def disc_frames(t=6, h=64, w=64):
    """A coloured disc moving left to right over a vertical gradient: every frame distinct."""
    yy, xx = np.mgrid[:h, :w]
    out = np.empty((t, h, w, 3), np.uint8)
    for i in range(t):
        a = i / max(1, t - 1)
        img = np.empty((h, w, 3), np.float64)
        img[:] = (0.9, 0.85, 0.7)
        img *= (0.6 + 0.4 * yy / h)[..., None]
        cx = (0.2 + 0.6 * a) * w
        img[(xx - cx) ** 2 + (yy - h / 2) ** 2 < (0.2 * min(h, w)) ** 2] = (a, 0.3, 1 - a)
        out[i] = np.rint(img * 255)
    return out


def leftovers(folder, keep):
    """Files or folders in ``folder`` other than ``keep`` (temporary files included)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)
