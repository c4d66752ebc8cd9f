"""Intensity curves: how the true expression intensity evolves over a video.

Every curve starts at the neutral face (a = 0) and stays in [0, 1]:

``linear``      rises at constant speed to the peak, a_t = t / (T - 1)
``ease``        rises slowly, fast, then slowly again (smoothstep)
``incomplete``  linear, but stops below the peak (at 0.35-0.8)
``periodic``    rises and falls repeatedly (1.5-3 cycles)
``unordered``   a linear video whose frames after the first are shuffled

Fan et al. label frame t of T by its position, a = (t - 1)/(T - 1) (1-based t); that
label is right only for ``linear``. AffineGAN's claim is that its inferred intensity
stays right for the others (its Fig. 7d); the benchmark knows the truth and can check.

(Not to be confused with a *run profile*, :data:`i2vlib.config.PROFILES`, which sets a
run's budget, nor with an identity's *response curvature*, which maps ``a`` to how
strongly the face shows it.)
"""

from __future__ import annotations

import numpy as np

from ..errors import I2VError, check_names

CURVES = ("linear", "ease", "incomplete", "periodic", "unordered")


def check_curves(names) -> tuple[str, ...]:
    """Validate intensity-curve names against :data:`CURVES`."""
    return check_names(names, CURVES, "intensity curve")


def intensity_curve(name: str, n_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """True intensities (``n_frames`` floats in [0, 1], first = 0) of a video following curve ``name``."""
    check_curves([name])
    if n_frames < 2:
        raise I2VError(f"a video needs at least 2 frames, got {n_frames}")
    rng = rng if rng is not None else np.random.default_rng(0)
    t = np.linspace(0.0, 1.0, n_frames)
    if name == "linear":
        a = t
    elif name == "ease":
        a = t * t * (3.0 - 2.0 * t)
    elif name == "incomplete":
        a = rng.uniform(0.35, 0.8) * t
    elif name == "periodic":
        cycles = rng.choice([1.5, 2.0, 2.5, 3.0])
        a = 0.5 * (1.0 - np.cos(2.0 * np.pi * cycles * t))
    else:
        a = t.copy()
        a[1:] = rng.permutation(a[1:])
    return a.astype(np.float32)
