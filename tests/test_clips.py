"""Clip utilities: the benchmark as a source, labels, sub-clips, clip-consistent transforms, tensors.

The samplers that draw training batches from a source are tested in ``test_sampling.py``.
"""

import numpy as np
import pytest

from i2vlib import I2VError
from i2vlib.clip_record import Clip
from i2vlib.data.clips import (FLIP_68, ClipTransform, SyntheticVideos, crop_clip, labels, resample, select,
                               to_tensor, from_tensor)
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.faces.masks import mouth_mask


@pytest.fixture(scope="module")
def source():
    bench = SyntheticBenchmark(size=64, seed=0, n_identities=100, frames=(10, 14))
    return SyntheticVideos(bench, "train", 6, expressions=("happy", "surprise"), curves=("linear", "periodic"))


def test_flip_permutation_is_an_involution_that_mirrors_a_symmetric_face():
    assert sorted(FLIP_68.tolist()) == list(range(68))
    np.testing.assert_array_equal(FLIP_68[FLIP_68], np.arange(68))
    bench = SyntheticBenchmark(size=64, seed=0, n_identities=100, jitter=0, noise=False)
    clip = bench.video("train", 0, expression="surprise", n_frames=3)
    flipped = crop_clip(clip, (0, 0, 64, 64), 64, flip=True)
    # The faces are nearly left-right symmetric: mirrored landmarks land near the originals.
    assert np.abs(flipped.landmarks - clip.landmarks).mean() < 1.5
    # ... and the pixels under them mirrored too: the flipped frame is the mirror image.
    np.testing.assert_array_equal(flipped.frames, clip.frames[:, :, ::-1])


def test_transform_is_the_same_for_every_frame_and_landmarks_follow(source):
    clip = source[0]
    out = ClipTransform(size=48, crop=(0.8, 0.8))(clip, np.random.default_rng(3))
    assert out.frames.shape == (len(clip), 48, 48, 3) and out.masks.shape == (len(clip), 48, 48)
    x0, y0, x1, y1 = out.meta["crop"]
    assert x1 - x0 == y1 - y0 == round(0.8 * 64)
    again = crop_clip(clip, (x0, y0, x1, y1), 48, out.meta["flip"])
    np.testing.assert_array_equal(again.frames, out.frames)
    np.testing.assert_array_equal(again.landmarks, out.landmarks)
    for t in range(len(clip)):
        # The mouth mask recomputed from the transformed landmarks sits where the transformed mask is.
        recomputed = mouth_mask(out.landmarks[t], (48, 48))
        centre = lambda m: np.argwhere(m).mean(axis=0)  # noqa: E731
        assert np.abs(centre(recomputed) - centre(out.masks[t])).max() < 1.0
    assert out.intensity is clip.intensity and out.expression == clip.expression


def test_position_labels_are_fan_labels_and_differ_from_truth_on_periodic_videos(source):
    periodic = next(c for c in source if c.meta["curve"] == "periodic")
    pos = labels(periodic, "position")
    np.testing.assert_allclose(pos, np.arange(len(periodic)) / (len(periodic) - 1))
    assert np.abs(pos - labels(periodic, "true")).max() > 0.3
    with pytest.raises(I2VError):
        labels(periodic, "guess")
    with pytest.raises(I2VError, match="no true intensities"):
        labels(Clip(frames=periodic.frames, expression="happy", identity="x", video_id="v"), "true")


def test_resample_keeps_the_neutral_first_and_the_last_frame_last(source):
    clip = source[0]
    short = resample(clip, 3)
    np.testing.assert_array_equal(short.frames[0], clip.frames[0])
    np.testing.assert_array_equal(short.frames[-1], clip.frames[-1])
    longer = resample(clip, 2 * len(clip))
    assert len(longer) == 2 * len(clip) and longer.intensity[0] == 0
    with pytest.raises(I2VError):
        resample(clip, 1)


def test_select_takes_the_ground_truth_along(source):
    clip = source[1]
    sub = select(clip, [0, 3, 5])
    np.testing.assert_array_equal(sub.frames, clip.frames[[0, 3, 5]])
    np.testing.assert_array_equal(sub.landmarks, clip.landmarks[[0, 3, 5]])
    np.testing.assert_array_equal(sub.intensity, clip.intensity[[0, 3, 5]])
    np.testing.assert_array_equal(sub.masks, clip.masks[[0, 3, 5]])
    assert sub.frame_names == [clip.frame_names[i] for i in (0, 3, 5)] and sub.video_id == clip.video_id


def test_synthetic_videos_cycle_expressions_then_curves_and_are_cached(source):
    assert len(source) == 6
    assert [c.expression for c in source] == ["happy", "surprise"] * 3
    assert [c.meta["curve"] for c in source] == ["linear", "linear", "periodic", "periodic", "linear", "linear"]
    assert source[2] is source[2] and source[-1] is source[5]
    assert all(c.split == "train" and 10 <= len(c) <= 14 for c in source)
    with pytest.raises(IndexError):
        source[6]
    bench = SyntheticBenchmark(size=64, seed=0, n_identities=100)
    with pytest.raises(I2VError, match="unknown split"):
        SyntheticVideos(bench, "holdout", 2)
    with pytest.raises(I2VError):
        SyntheticVideos(bench, "train", 2, expressions=("smug",))


def test_tensor_round_trip():
    frames = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    x = to_tensor(frames)
    assert x.shape == (2, 3, 8, 8) and x.min() >= -1 and x.max() <= 1
    np.testing.assert_array_equal(from_tensor(x), frames)


def test_the_source_keeps_as_many_rendered_clips_as_its_memory_budget_holds(monkeypatch):
    from i2vlib.data import clips

    bench = SyntheticBenchmark(size=64, seed=0, n_identities=100, frames=(10, 10))
    one = bench.video("train", 0, expression="happy", curve="linear").nbytes
    monkeypatch.setattr(clips, "CACHE_BYTES", 3 * one)
    videos = SyntheticVideos(bench, "train", 5, expressions=("happy",))
    first = [videos[i] for i in range(5)]
    assert len(videos._cache) == 3 and set(videos._cache) == {2, 3, 4}        # the budget's three, the latest kept
    again = videos[0]                                                          # rendered again: the same clip
    assert again is not first[0]
    np.testing.assert_array_equal(again.frames, first[0].frames)
    assert videos[4] is first[4] and len(SyntheticVideos(bench, "train", 5, cache=1)._cache) == 0
