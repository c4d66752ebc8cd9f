"""The metric functions on hand-made cases whose answers are known."""

import math

import numpy as np
import pytest

from i2vlib import metrics
from i2vlib.errors import I2VError


def feats(*rows):
    return np.array(rows, dtype=np.float64)


# ---------------------------------------------------------------------------- ACD

def test_identical_frames_score_zero():
    f = np.random.default_rng(0).normal(size=(6, 128))
    same = np.repeat(f[:1], 6, axis=0)
    assert metrics.acd_i(same, f[0]) == 0
    assert metrics.acd_c(same) == 0
    assert metrics.acd_g(f, f) == 0


def test_acd_values_by_hand():
    g = feats([0, 0], [3, 4], [6, 8])
    assert metrics.acd_i(g, [0, 0]) == pytest.approx((0 + 5 + 10) / 3)
    assert metrics.acd_c(g) == pytest.approx((5 + 10 + 5) / 3)       # pairs (0,1), (0,2), (1,2)
    assert metrics.acd_g(g, feats([0, 0], [0, 0], [6, 8])) == pytest.approx(5 / 3)


def test_acd_c_is_invariant_to_frame_order_but_acd_g_is_not():
    rng = np.random.default_rng(1)
    g, truth = rng.normal(size=(9, 16)), rng.normal(size=(9, 16))
    perm = rng.permutation(9)
    assert metrics.acd_c(g[perm]) == pytest.approx(metrics.acd_c(g))
    assert metrics.acd_i(g[perm], truth[0]) == pytest.approx(metrics.acd_i(g, truth[0]))
    assert metrics.acd_g(truth, truth) == 0
    assert metrics.acd_g(truth[::-1], truth) > 0                     # reversed pairing is not the truth


def test_a_frame_with_no_face_is_counted_not_scored():
    g = feats([0, 0], [3, 4], [np.nan, np.nan], [6, 8])
    assert metrics.undetected_rate(g) == pytest.approx(0.25)
    assert list(metrics.detected(g)) == [True, True, False, True]
    assert metrics.acd_i(g, [0, 0]) == pytest.approx(5)            # (0 + 5 + 10) / 3: the NaN row is skipped
    assert metrics.acd_c(g) == pytest.approx(20 / 3)
    truth = feats([0, 0], [3, 4], [1, 1], [6, 8])
    assert metrics.acd_g(g, truth) == 0                              # the missing pair is skipped, not penalised
    one = metrics.acd(g, [0, 0], truth)
    assert one["undetected_rate"] == pytest.approx(0.25) and one["acd_g"] == 0
    nothing = feats([np.nan, np.nan], [np.nan, np.nan])
    assert metrics.undetected_rate(nothing) == 1
    assert math.isnan(metrics.acd_i(nothing, [0, 0])) and math.isnan(metrics.acd_c(nothing))
    assert math.isnan(metrics.acd_i(g, [np.nan, np.nan]))           # no face in the input: ACD-I undefined


def test_shape_mistakes_are_clear_errors():
    with pytest.raises(I2VError, match="differ in shape"):
        metrics.acd_g(np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(I2VError, match="dimensions"):
        metrics.acd_i(np.zeros((3, 4)), np.zeros(5))
    with pytest.raises(I2VError, match="68 x 2"):
        metrics.landmark_trajectory(np.zeros((3, 5, 2)))


def test_mean_over_videos_skips_nan():
    rows = [{"acd_i": 1.0, "acd_c": math.nan}, {"acd_i": 3.0, "acd_c": 2.0}]
    assert metrics.mean_over_videos(rows) == {"acd_c": 2.0, "acd_i": 2.0}


# ---------------------------------------------------------------------------- Spearman

def test_spearman_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(2)
    for _ in range(20):
        x = rng.integers(0, 5, 12).astype(float)
        y = x + rng.integers(0, 3, 12)
        if np.ptp(x) and np.ptp(y):
            assert metrics.spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0])
    assert list(metrics.rankdata([10, 20, 20, 5])) == [2, 3.5, 3.5, 1]


def test_spearman_edge_cases():
    a = np.linspace(0, 1, 8)
    assert metrics.spearman(a, a ** 3) == pytest.approx(1.0)            # any monotone map
    assert metrics.spearman(a, -a) == pytest.approx(-1.0)
    assert metrics.spearman(a, np.full(8, 0.3)) == 0.0                  # a still measurement follows nothing
    assert math.isnan(metrics.spearman(np.zeros(8), a))                 # nothing was requested to vary
    assert math.isnan(metrics.spearman([0, 1], [0, 1]))                 # too short
    assert metrics.spearman([0, 0.5, np.nan, 1], [0, 1, 5, 2]) == pytest.approx(1.0)


# ---------------------------------------------------------------------------- landmarks

def test_landmark_trajectory_and_monotonicity():
    base = np.random.default_rng(3).uniform(0, 64, (68, 2))
    shift = np.zeros((68, 2))
    shift[:, 1] = 1.0
    a = np.array([0.0, 0.2, 0.5, 0.7, 1.0])
    lms = np.stack([base + 2 * x * shift for x in a])
    traj = metrics.landmark_trajectory(lms)
    np.testing.assert_allclose(traj, 2 * a * np.sqrt(68))               # ||K_t - K_0|| over 136 numbers
    assert metrics.landmark_monotonicity(a, lms) == pytest.approx(1.0)
    still = np.stack([base] * 5)
    assert metrics.landmark_trajectory(still).tolist() == [0] * 5
    assert metrics.landmark_monotonicity(a, still) == 0.0
    back_and_forth = lms[[0, 4, 1, 3, 2]]
    assert metrics.landmark_monotonicity(a, back_and_forth) < 0.5
    missing = lms.copy()
    missing[2] = np.nan
    assert math.isnan(metrics.landmark_trajectory(missing)[2])
    assert metrics.landmark_monotonicity(a, missing) == pytest.approx(1.0)
    assert metrics.landmark_error(lms, lms) == 0
    assert metrics.landmark_error(lms + [3, 4], lms) == pytest.approx(5)


# ---------------------------------------------------------------------------- intensity

def test_intensity_fidelity_and_calibration():
    req = np.linspace(0, 1, 11)
    perfect = metrics.intensity_fidelity(req, req)
    assert perfect == {"rho": pytest.approx(1.0), "mae": 0.0}
    half = metrics.intensity_fidelity(req, req / 2)
    assert half["rho"] == pytest.approx(1.0) and half["mae"] == pytest.approx(0.25)  # ordered but wrong amount
    flat = metrics.intensity_fidelity(req, np.zeros(11))
    assert flat["rho"] == 0.0 and flat["mae"] == pytest.approx(0.5)
    cal = metrics.calibration_curve(req, req, bins=5)
    assert cal["count"] == [2, 2, 2, 2, 3]   # bins [0, .2), [.2, .4), ..., [.8, 1]
    assert cal["mean"][0] == pytest.approx(0.05) and cal["centre"][-1] == pytest.approx(0.9)
    assert metrics.calibration_curve([0.05], [0.5], bins=2)["mean"] == [0.5, None]


# ---------------------------------------------------------------------------- pixels

def test_pixel_metrics():
    rng = np.random.default_rng(4)
    v = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    same = metrics.pixel_metrics(v, v)
    assert same["l1"] == 0 and same["psnr"] == math.inf and same["ssim"] == pytest.approx(1.0)
    off = np.clip(v.astype(int) + 10, 0, 255).astype(np.uint8)
    w = v.copy()
    w[(v < 246)] += 10
    w[(v >= 246)] -= 10                                                  # every pixel off by exactly 10
    assert metrics.l1(w, v) == pytest.approx(10)
    assert metrics.psnr(w, v) == pytest.approx(10 * np.log10(255 ** 2 / 100))
    assert metrics.ssim(off, v) < 1
    noisy = np.clip(v + rng.normal(0, 40, v.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(noisy, v) < metrics.ssim(off, v)
    one_perfect = w.copy()
    one_perfect[0] = v[0]                                                # a perfect neutral frame ...
    assert math.isfinite(metrics.psnr(one_perfect, v))                   # ... does not make the video infinite
    with pytest.raises(I2VError, match="differ in shape"):
        metrics.l1(v, v[:2])


def test_colour_shift_reads_a_tint_and_ignores_moved_pixels():
    rng = np.random.default_rng(0)
    truth = rng.integers(20, 200, (3, 16, 16, 3)).astype(np.uint8)
    assert metrics.colour_shift(truth, truth) == 0.0
    tinted = truth.astype(int)
    tinted[..., 0] += 12                                                  # red up by 12 grey levels everywhere
    assert metrics.colour_shift(tinted.astype(np.uint8), truth) == pytest.approx(4.0)   # the mean over 3 channels
    assert metrics.colour_shift(truth[:, ::-1], truth) == pytest.approx(0.0)           # moved, not tinted
    with pytest.raises(I2VError, match="differ in shape"):
        metrics.colour_shift(truth[:2], truth)


def test_floats_reads_none_as_nan_at_any_depth():
    assert np.isnan(metrics.floats(None)) and metrics.floats(3) == 3.0 and isinstance(metrics.floats(3), float)
    np.testing.assert_array_equal(metrics.floats([1, None, 2.5]), [1.0, np.nan, 2.5])
    nested = metrics.floats([[1, None], [None, 2]])
    assert nested.shape == (2, 2) and nested.dtype == np.float64 and np.isnan(nested).sum() == 2
