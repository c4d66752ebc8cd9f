"""The measurements of the three papers, written once: ACD-I/C/G, landmark trajectories,
intensity fidelity, pixel metrics.

Every function here takes plain arrays, so it can be checked on hand-made cases with
known answers. What turns frames into features (a face-recognition network, a landmark
regressor) is an *instrument* (:mod:`i2vlib.instruments`); :mod:`i2vlib.evaluate` ties the two.

Conventions
-----------
* **Features** are ``T x D`` arrays, one row per frame. A frame in which the instrument
  found no face is a row of NaN: it is *counted* (:func:`undetected_rate`) and left out
  of every score, never replaced by a random vector as the public AffineGAN code does.
* **ACD** (Average Content Distance, Tulyakov et al. 2018) is the plain L2 distance
  between feature vectors, averaged over frames (or pairs of frames) of one video; a
  data set's score is the mean over videos (:func:`mean_over_videos`).
* **Trajectories** follow Fan et al.'s Fig. 3: the L2 norm of the 136-d difference between
  a frame's 68 landmarks and the first frame's.
* **Spearman's rho** is Pearson's correlation of average ranks; a constant measurement
  against a varying request has rho = 0 (it does not follow the request at all).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .errors import I2VError

ACD_KEYS = ("acd_i", "acd_c", "acd_g")


# ---------------------------------------------------------------------------- helpers

def _features(x, what: str = "features") -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise I2VError(f"{what} must be T x D (one row per frame), got shape {x.shape}")
    return x


def detected(features) -> np.ndarray:
    """Boolean mask of the frames with a face (rows without NaN)."""
    x = np.asarray(features, dtype=np.float64)
    return ~np.isnan(x.reshape(len(x), -1)).any(axis=1)


def undetected_rate(features) -> float:
    """Fraction of frames in which the instrument found no face (NaN rows)."""
    x = np.asarray(features)
    return float(1.0 - detected(x).mean()) if len(x) else math.nan


def floats(values):
    """A recorded score, or a (nested) list of them, as numbers: ``None`` (nothing could be measured, or a seed not
    recorded yet) becomes NaN. A single value gives a float, a list a float array of its shape."""
    if values is None or np.ndim(values) == 0:
        return math.nan if values is None else float(values)
    return np.array([floats(v) for v in values], dtype=np.float64)


def nanmean(values, axis: int | None = None):
    """The mean of the values that are not NaN (along ``axis``; default all of them, as a float); NaN where a slice
    holds none, without numpy's warning (a measure that no video could give, e.g. a correlation of constant
    sequences, or an arm with no seed recorded yet)."""
    v = np.asarray(values, dtype=np.float64)
    if axis is None:
        v = v[~np.isnan(v)]
        return float(v.mean()) if v.size else math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # "Mean of empty slice": that slice is NaN
        return np.nanmean(v, axis=axis)


# ---------------------------------------------------------------------------- ACD

def acd_i(generated, input_feature) -> float:
    """ACD-I: mean L2 distance between each generated frame's features and the input face's.

    Identity preservation: low when every frame still looks like the input person.
    Frames without a face are skipped; NaN when none (or the input) has a face.
    """
    g = _features(generated, "generated features")
    f = np.asarray(input_feature, dtype=np.float64).ravel()
    if f.shape[0] != g.shape[1]:
        raise I2VError(f"input feature has {f.shape[0]} dimensions, generated features {g.shape[1]}")
    if np.isnan(f).any():
        return math.nan
    return nanmean(np.linalg.norm(g[detected(g)] - f, axis=1))


def acd_c(generated) -> float:
    """ACD-C: mean L2 distance over all pairs of frames (i < j) of one generated video.

    Content consistency: low when the frames agree with each other. It does not depend on
    the order of the frames, and it rewards a video that does not move at all.
    """
    g = _features(generated, "generated features")
    g = g[detected(g)]
    if len(g) < 2:
        return math.nan
    i, j = np.triu_indices(len(g), k=1)
    return float(np.linalg.norm(g[i] - g[j], axis=1).mean())


def acd_g(generated, ground_truth) -> float:
    """ACD-G (AffineGAN): mean L2 distance between each generated frame and the ground-truth
    frame of the SAME intensity (frame t with frame t). Pairs with a missing face are skipped."""
    g = _features(generated, "generated features")
    r = _features(ground_truth, "ground-truth features")
    if g.shape != r.shape:
        raise I2VError(f"generated and ground-truth features differ in shape: {g.shape} vs {r.shape}")
    ok = detected(g) & detected(r)
    return nanmean(np.linalg.norm(g[ok] - r[ok], axis=1))


def acd(generated, input_feature, ground_truth=None) -> dict:
    """ACD-I, ACD-C and (with ground truth) ACD-G of one video, plus its undetected rate."""
    out = {"acd_i": acd_i(generated, input_feature), "acd_c": acd_c(generated),
           "acd_g": math.nan if ground_truth is None else acd_g(generated, ground_truth),
           "undetected_rate": undetected_rate(generated)}
    return out


def mean_over_videos(rows, keys=None) -> dict:
    """Average per-video scores over videos (NaN entries skipped); ``n_<key>`` counts the videos used."""
    rows = list(rows)
    keys = keys or sorted({k for r in rows for k, v in r.items() if isinstance(v, (int, float, np.floating))})
    out = {}
    for k in keys:
        vals = [r.get(k, math.nan) for r in rows]
        vals = [v for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
        out[k] = float(np.mean(vals)) if vals else math.nan
    return out


# ---------------------------------------------------------------------------- ranks

def rankdata(x) -> np.ndarray:
    """Ranks 1..n, ties get the average of the ranks they span (as ``scipy.stats.rankdata``)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(x, y) -> float:
    """Spearman's rank correlation of two equally long sequences; pairs with a NaN are dropped.

    NaN when fewer than 3 pairs remain or ``x`` is constant; 0 when ``y`` is constant but
    ``x`` is not (the measurement does not follow the request).
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise I2VError(f"spearman needs two sequences of the same length, got {len(x)} and {len(y)}")
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0:
        return math.nan
    if np.ptp(y) <= 1e-9 * max(1.0, float(np.abs(y).max())):
        return 0.0
    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denom = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / denom) if denom > 0 else 0.0


# ---------------------------------------------------------------------------- landmarks

def landmark_trajectory(landmarks) -> np.ndarray:
    """Fan et al.'s Fig. 3: ``||K_t - K_0||_2`` over the 136 coordinates, for every frame t.

    ``landmarks``: T x 68 x 2 (NaN for frames without a face). The first frame is the
    reference; if it has no face the whole trajectory is NaN.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 3 or lm.shape[1:] != (68, 2):
        raise I2VError(f"landmarks must be T x 68 x 2, got shape {lm.shape}")
    return np.linalg.norm((lm - lm[:1]).reshape(len(lm), -1), axis=1)


def landmark_monotonicity(requested, landmarks) -> float:
    """Spearman's rho between the requested intensities and the landmark trajectory.

    1: the face moves further from the first frame whenever more intensity is asked for;
    0: no relation (e.g. a video that does not move); NaN for fewer than 3 usable frames.
    """
    return spearman(requested, landmark_trajectory(landmarks))


def landmark_error(landmarks, reference) -> float:
    """Mean distance (pixels) between corresponding points of two T x 68 x 2 landmark sets."""
    a = np.asarray(landmarks, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape:
        raise I2VError(f"landmark sets differ in shape: {a.shape} vs {b.shape}")
    return nanmean(np.linalg.norm(a - b, axis=-1).mean(axis=-1))


# ---------------------------------------------------------------------------- intensity

def intensity_fidelity(requested, measured) -> dict:
    """How well a video's measured intensities follow the requested ones.

    ``rho``: Spearman's rank correlation (does more requested give more measured?);
    ``mae``: mean absolute error (is the amount right?). Frames with NaN are skipped.
    """
    r = np.asarray(requested, dtype=np.float64).ravel()
    m = np.asarray(measured, dtype=np.float64).ravel()
    if r.shape != m.shape:
        raise I2VError(f"{len(r)} requested but {len(m)} measured intensities")
    ok = ~(np.isnan(r) | np.isnan(m))
    return {"rho": spearman(r, m), "mae": float(np.abs(r[ok] - m[ok]).mean()) if ok.any() else math.nan}


def calibration_curve(requested, measured, bins: int = 10) -> dict:
    """Mean (and standard deviation of) measured intensity per bin of requested intensity in [0, 1].

    A perfectly calibrated method lies on the diagonal. Returns lists ``centre``, ``mean``,
    ``std``, ``count``; empty bins have ``None`` mean and std.
    """
    r = np.asarray(requested, dtype=np.float64).ravel()
    m = np.asarray(measured, dtype=np.float64).ravel()
    ok = ~(np.isnan(r) | np.isnan(m))
    r, m = r[ok], m[ok]
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(r, edges[1:-1]), 0, bins - 1)
    out = {"centre": [], "mean": [], "std": [], "count": []}
    for b in range(bins):
        sel = m[which == b]
        out["centre"].append(float((edges[b] + edges[b + 1]) / 2))
        out["mean"].append(float(sel.mean()) if len(sel) else None)
        out["std"].append(float(sel.std()) if len(sel) else None)
        out["count"].append(int(len(sel)))
    return out


# ---------------------------------------------------------------------------- pixels

def _frames(x, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise I2VError(f"{what} must be T x H x W x 3 images, got shape {x.shape}")
    return x.astype(np.float64)


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _frames(a, "generated frames"), _frames(b, "ground-truth frames")
    if a.shape != b.shape:
        raise I2VError(f"generated and ground-truth frames differ in shape: {a.shape} vs {b.shape}")
    return a, b


def l1(generated, ground_truth) -> float:
    """Mean absolute pixel difference, in grey levels (0-255)."""
    a, b = _pair(generated, ground_truth)
    return float(np.abs(a - b).mean())


def psnr(generated, ground_truth) -> float:
    """Peak signal-to-noise ratio (dB, peak 255) of the whole video: ``10 log10(255^2 / MSE)``.

    The MSE is pooled over all frames, so one perfect frame (the neutral input returned as
    it is) does not make the video's score infinite; ``inf`` only for identical videos.
    """
    a, b = _pair(generated, ground_truth)
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def ssim(generated, ground_truth) -> float:
    """Mean structural similarity (Wang et al. 2004, scikit-image, 7x7 window, colour) over frames."""
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        raise I2VError("SSIM needs scikit-image: pip install 'i2vlib[faces]'") from None

    a, b = _pair(generated, ground_truth)
    win = min(7, a.shape[1], a.shape[2])
    win -= 1 - win % 2
    return float(np.mean([structural_similarity(x, y, channel_axis=-1, data_range=255.0, win_size=win)
                          for x, y in zip(a, b)]))


def detail(frames) -> float:
    """High-frequency energy of frames (..., H, W, C): the mean absolute value of the 4-neighbour
    Laplacian ``4 x[i, j] - x[i-1, j] - x[i+1, j] - x[i, j-1] - x[i, j+1]`` of every channel (grey levels)."""
    x = np.asarray(frames, dtype=np.float64)
    if x.ndim < 3 or min(x.shape[-3:-1]) < 3:
        raise I2VError(f"detail needs frames (..., H, W, C) of at least 3 x 3 pixels, got shape {x.shape}")
    c = x[..., 1:-1, 1:-1, :]
    lap = 4 * c - x[..., :-2, 1:-1, :] - x[..., 2:, 1:-1, :] - x[..., 1:-1, :-2, :] - x[..., 1:-1, 2:, :]
    return float(np.abs(lap).mean())


def texture(generated, ground_truth) -> float:
    """Speckle as a number: :func:`detail` of the generated frames over that of the ground-truth frames.
    1 is the truth's texture; a speckled or grid-textured face scores above 1, a blurred one below."""
    truth = detail(ground_truth)
    return detail(generated) / truth if truth > 0 else math.nan


def colour_shift(generated, ground_truth) -> float:
    """How far a video's colours drift from the truth's, in grey levels: the absolute difference of each frame's
    mean colour (per channel, over all pixels) from its true frame's, averaged over channels and frames. A model
    that moves the right pixels but tints the face or the background scores above the truth's 0."""
    a, b = _pair(generated, ground_truth)
    return float(np.abs(a.mean(axis=(-3, -2)) - b.mean(axis=(-3, -2))).mean())


def pixel_metrics(generated, ground_truth) -> dict:
    """L1, PSNR and SSIM of a generated video against the ground-truth video."""
    return {"l1": l1(generated, ground_truth), "psnr": psnr(generated, ground_truth),
            "ssim": ssim(generated, ground_truth)}


# ---------------------------------------------------------------------------- poses

def _poses(pred, true, visible) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(true, dtype=np.float64)
    v = np.asarray(visible)
    if p.ndim < 2 or p.shape[-1] != 2 or p.shape != t.shape:
        raise I2VError(f"predicted and true poses must be (..., joints, 2) arrays of one shape, "
                       f"got {p.shape} and {t.shape}")
    if v.shape != p.shape[:-1]:
        raise I2VError(f"visibility must be (..., joints) = {p.shape[:-1]}, got shape {v.shape}")
    return p, t, v.astype(bool)


def pose_error(pred, true, visible) -> float:
    """Mean Euclidean distance (pixels) between predicted and true joints, over the visible joints.

    ``pred``, ``true``: (..., 13, 2) joint coordinates; ``visible``: (..., 13), the true pose's
    visibility. Invisible joints are left out; NaN when no joint is visible.
    """
    p, t, v = _poses(pred, true, visible)
    d = np.linalg.norm(p - t, axis=-1)[v]
    return float(d.mean()) if d.size else math.nan


def pck(pred, true, visible, alpha: float = 0.2) -> float:
    """Percentage of Correct Keypoints (PCK@alpha), as used on Penn Action (Villegas et al. 2017).

    In each frame, a visible joint is correct when its distance to the true joint is at most
    ``alpha * max(height, width)`` of the bounding box of the true pose's visible joints. Returns
    the fraction of correct joints over all visible joints of all frames (a number in [0, 1];
    NaN when no joint is visible). ``pred``, ``true``: (..., 13, 2); ``visible``: (..., 13).
    """
    if not (isinstance(alpha, (int, float, np.floating)) and alpha > 0):
        raise I2VError(f"PCK's alpha must be a positive number, got {alpha!r}")
    p, t, v = _poses(pred, true, visible)
    if not v.any():
        return math.nan
    lo = np.where(v[..., None], t, np.inf).min(axis=-2)       # the box of the visible true joints, per frame
    hi = np.where(v[..., None], t, -np.inf).max(axis=-2)
    extent = (hi - lo).max(axis=-1)                             # (...,): the box's longer side
    extent = np.where(np.isfinite(extent), extent, 0.0)                         # frames without visible joints
    correct = np.linalg.norm(p - t, axis=-1) <= alpha * extent[..., None]
    return float(correct[v].mean())
