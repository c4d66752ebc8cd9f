"""The embedded benchmark: determinism, splits, and ground truth that agrees with the pixels."""

import numpy as np
import pytest

from i2vlib import EXPRESSIONS, I2VError
from i2vlib.data.curves import CURVES, intensity_curve
from i2vlib.data import synthetic
from i2vlib.data.synthetic import HeadPose, SyntheticBenchmark, draw_face, response
from i2vlib.faces.masks import mouth_mask
from i2vlib.lru import LRU, nbytes


@pytest.fixture(scope="module")
def bench():
    return SyntheticBenchmark(size=64, seed=0, n_identities=200)


def test_videos_are_deterministic_from_the_seed(bench):
    a = bench.video("train", 3)
    b = SyntheticBenchmark(size=64, seed=0, n_identities=200).video("train", 3)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    c = SyntheticBenchmark(size=64, seed=1, n_identities=200).video("train", 3)
    assert not np.array_equal(a.frames[0], c.frames[0])


def test_a_held_out_video_drawn_again_is_the_same_and_each_caller_owns_its_copy(monkeypatch):
    bench = SyntheticBenchmark(size=64, seed=0, n_identities=200)
    monkeypatch.setattr(synthetic, "_DRAWN", LRU(0, nbytes))                    # nothing kept: drawn anew
    fresh = bench.video("test", 1, n_frames=16)
    kept = LRU(3 * fresh.nbytes, nbytes)                                        # three 16-frame videos
    monkeypatch.setattr(synthetic, "_DRAWN", kept)
    first = bench.video("test", 1, n_frames=16)
    assert len(kept) == 1 and kept.total == first.nbytes
    first.frames[:] = 0                                   # a caller's change stays in its copy
    first.meta["curve"] = "changed"
    again = bench.video("test", 1, n_frames=16)
    assert again.meta == fresh.meta
    for name in ("frames", "landmarks", "intensity", "masks"):
        np.testing.assert_array_equal(getattr(again, name), getattr(fresh, name))
    again.frames[:] = 0                                   # the kept one's copy too
    np.testing.assert_array_equal(bench.video("test", 1, n_frames=16).frames, fresh.frames)
    for i in range(2, 6):                                  # the least recently used are forgotten past the limit
        bench.video("test", i, n_frames=16)
    assert kept.total <= kept.limit and [key[7] for key in kept] == [3, 4, 5]
    bench.video("train", 0, n_frames=16)                   # training videos are their dataset's to keep
    assert [key[6] for key in kept] == ["test"] * 3


def test_splits_are_identity_disjoint_and_cover_everyone(bench):
    splits = {s: set(bench.identities(s).tolist()) for s in ("train", "val", "test")}
    assert not splits["train"] & splits["test"] and not splits["train"] & splits["val"]
    assert not splits["val"] & splits["test"]
    assert set().union(*splits.values()) == set(range(200))
    for i in range(20):
        clip = bench.video("test", i)
        assert int(clip.identity) in splits["test"]


def test_video_ground_truth_shapes(bench):
    clip = bench.video("val", 0, expression="surprise", curve="periodic", n_frames=12)
    assert clip.frames.shape == (12, 64, 64, 3) and clip.frames.dtype == np.uint8
    assert clip.landmarks.shape == (12, 68, 2)
    assert clip.masks.shape == (12, 64, 64) and clip.masks.dtype == bool
    assert clip.intensity.shape == (12,) and clip.intensity[0] == 0
    assert clip.expression == "surprise" and clip.meta["curve"] == "periodic"
    assert (clip.landmarks > 0).all() and (clip.landmarks < 63).all()


@pytest.mark.parametrize("size", [64, 128, 256])
def test_renders_at_every_size_with_landmarks_in_proportion(bench, size):
    b = SyntheticBenchmark(size=size, seed=0, n_identities=200)
    image, lm = b.frame(5, {"happy": 0.5})
    assert image.shape == (size, size, 3)
    _, lm64 = bench.frame(5, {"happy": 0.5})
    # Same face at every size: landmarks scale with the image (pixel centres at integers).
    np.testing.assert_allclose((lm + 0.5) / size, (lm64 + 0.5) / 64, atol=1e-6)
    # frame() is draw_face() for the benchmark's size
    drawn, drawn_lm = draw_face(b.identity(5), {"happy": 0.5}, size)
    np.testing.assert_array_equal(drawn, image)
    np.testing.assert_array_equal(drawn_lm, lm)


def test_mouth_opening_grows_with_intensity_in_landmarks_and_pixels(bench):
    gaps, dark = [], []
    for a in (0.0, 0.25, 0.5, 0.75, 1.0):
        image, lm = bench.frame(9, {"surprise": a})
        gaps.append(lm[66, 1] - lm[62, 1])
        mask = mouth_mask(lm, (64, 64), margin=0.0)
        dark.append(int((image[mask].astype(int).sum(axis=1) < 200).sum()))  # mouth interior pixels
    assert gaps[0] < 0.5 and gaps[-1] > 5 and all(np.diff(gaps) >= 0)
    assert dark[0] == 0 and dark[-1] > 5 and all(np.diff(dark) >= 0)


def test_landmarks_follow_the_face_when_the_head_moves(bench):
    base, lm0 = bench.frame(3, {"happy": 0.0})
    moved, lm1 = bench.frame(3, {"happy": 0.0}, pose=HeadPose(dx=0.1, dy=-0.05))
    np.testing.assert_allclose(lm1 - lm0, np.broadcast_to([6.4, -3.2], lm0.shape), atol=1e-4)
    # The pixels moved by the same amount: compare the image shifted back by (6, -3) pixels.
    err_shifted = np.abs(moved[10:50, 16:56].astype(int) - base[13:53, 10:50].astype(int)).mean()
    err_unshifted = np.abs(moved[10:50, 16:56].astype(int) - base[10:50, 16:56].astype(int)).mean()
    assert err_shifted < 0.3 * err_unshifted


def test_eyes_close_in_pixels():
    bench = SyntheticBenchmark(size=128, seed=0, n_identities=200)
    bright = []
    for a in (0.0, 0.5, 1.0):
        image, lm = bench.frame(12, {"close-eyes": a})
        x0, y0 = np.floor(lm[36:42].min(0)).astype(int)
        x1, y1 = np.ceil(lm[36:42].max(0)).astype(int)
        eye = image[y0 - 1:y1 + 2, x0:x1 + 1].astype(int)
        bright.append(int((eye.min(axis=2) > 180).sum()))  # sclera
    assert bright[0] > 3 and bright[2] == 0 and bright[1] < bright[0]


def test_smiles_show_teeth_that_the_neutral_face_does_not_have(bench):
    # Appearance a warp of the neutral face cannot produce: near-white pixels inside the mouth.
    def teeth(a):
        image, lm = SyntheticBenchmark(size=128, seed=0, n_identities=200).frame(9, {"happy": a})
        inside = image[mouth_mask(lm, (128, 128), margin=0.0)].astype(int)
        return int(((inside.min(axis=1) > 180) & (np.ptp(inside, axis=1) < 60)).sum())

    assert teeth(0.0) == 0 and teeth(1.0) > 30


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_distance_from_neutral_grows_with_intensity(bench, expression):
    for ident in (9, 19):
        neutral, _ = bench.frame(ident, {expression: 0.0})
        d = [np.abs(bench.frame(ident, {expression: a})[0].astype(float) - neutral).mean()
             for a in (0.25, 0.5, 0.75, 1.0)]
        assert d[0] > 0 and all(np.diff(d) > -0.02), (expression, ident, d)


def test_mixing_two_expressions_differs_from_each_alone(bench):
    mix, _ = bench.frame(9, {"happy": 1.0, "surprise": 1.0})
    for e in ("happy", "surprise"):
        alone, _ = bench.frame(9, {e: 1.0})
        assert np.abs(mix.astype(int) - alone).mean() > 0.5


def test_intensity_curves():
    rng = np.random.default_rng(0)
    for name in CURVES:
        a = intensity_curve(name, 16, rng)
        assert a.shape == (16,) and a[0] == 0 and a.min() >= 0 and a.max() <= 1, name
    assert np.all(np.diff(intensity_curve("linear", 9)) > 0)
    assert np.all(np.diff(intensity_curve("ease", 9)) > 0)
    assert intensity_curve("incomplete", 9, rng).max() < 0.81
    periodic = intensity_curve("periodic", 24, rng)
    assert (np.diff(periodic) < 0).any() and periodic.max() > 0.9
    unordered = intensity_curve("unordered", 12, rng)
    np.testing.assert_allclose(np.sort(unordered), intensity_curve("linear", 12), atol=1e-6)
    assert not np.all(np.diff(unordered) > 0)


def test_response_is_monotone_from_0_to_1():
    a = np.linspace(0, 1, 50)
    for k in (-1.5, 0.0, 0.7, 2.0):
        r = response(a, k)
        assert r[0] == 0 and abs(r[-1] - 1) < 1e-12 and np.all(np.diff(r) > 0)


def test_bad_input_is_a_clear_error(bench):
    with pytest.raises(I2VError, match="unknown expression 'smirk'"):
        bench.frame(0, {"smirk": 0.5})
    with pytest.raises(I2VError, match="unknown intensity curve 'zigzag'"):
        bench.video("train", 0, curve="zigzag")
    with pytest.raises(I2VError, match="unknown intensity curve 'zigzag'"):
        bench.video("train", 0, curves=("linear", "zigzag"))
    with pytest.raises(I2VError, match="unknown intensity curve 'zigzag'"):
        intensity_curve("zigzag", 8)
    with pytest.raises(I2VError, match="unknown split"):
        bench.video("holdout", 0)
    with pytest.raises(I2VError, match="at least 32"):
        SyntheticBenchmark(size=16)
    with pytest.raises(I2VError, match="at least 2 frames"):
        intensity_curve("linear", 1)
