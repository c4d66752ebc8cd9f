"""The public AffineGAN evaluation script's substitution for a face it cannot find, as the Evaluation chapter
measures it.

``util/metrics.py`` of the public code scores a frame in which OpenFace finds no face with a random vector,
``np.random.rand(128)`` (uniform on [0, 1), where the paper says N(0, 1)). :class:`Flaky` is the generator the
chapter measures it with: the true video, with every fifth frame from the third a flat grey frame (no face);
:func:`public_code_acd` scores a generator with that substitution. ``i2v evaluate`` never substitutes: it counts the
lost frames (``undetected_rate``) and averages the others.
"""

from __future__ import annotations

import numpy as np

from .. import metrics
from ..data.clips import labels
from .baselines import Baseline


class Flaky(Baseline):
    """The true video, with every fifth frame from the third replaced by a flat grey frame: no face to find."""

    def generate(self, image, intensities, expression=None):
        out = super().generate(image, intensities, expression).copy()
        out[2::5] = 128                     # every fifth frame from the third: no face
        return out


def public_code_acd(clips, generator, instrument, fill: str, seed: int) -> np.ndarray:
    """ACD-I, ACD-C and ACD-G of ``generator`` on ``clips`` (averaged over the clips) with the public script's
    substitution: an undetected face's embedding is ``rand(128)`` (``fill="uniform"``, the code) or ``randn(128)``
    (``fill="normal"``, the paper's text), drawn from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    out = []
    for clip in clips:
        a = labels(clip, "true" if clip.intensity is not None else "position")
        gen = instrument.measure(generator.generate(clip.frames[0], a, clip.expression)).embedding.astype(float)
        gt = instrument.measure(clip.frames).embedding.astype(float)
        miss = np.isnan(gen).any(axis=1)
        gen[miss] = rng.random((miss.sum(), 128)) if fill == "uniform" else rng.normal(size=(miss.sum(), 128))
        out.append([metrics.acd_i(gen, gt[0]), metrics.acd_c(gen), metrics.acd_g(gen, gt)])
    return np.mean(out, axis=0)
