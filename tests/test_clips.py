"""Samplers: pairs, triplets, fixed-length clips, and transforms consistent across a clip."""

import numpy as np
import pytest
import torch

from i2vlib import I2VError
from i2vlib.data.clips import (FLIP_68, ClipDataset, ClipTransform, PairDataset, SyntheticVideos, TripletDataset,
                               crop_clip, labels, resample, to_tensor, to_uint8)
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
    flip = out.meta["flip"]
    for t in range(len(clip)):
        again = crop_clip(clip, (x0, y0, x1, y1), 48, flip)
        np.testing.assert_array_equal(again.frames[t], out.frames[t])
        # The mouth mask recomputed from the transformed landmarks sits where the transformed mask is.
        recomputed = mouth_mask(out.landmarks[t], (48, 48))
        centre = lambda m: np.argwhere(m).mean(axis=0)  # noqa: E731
        assert np.abs(centre(recomputed) - centre(out.masks[t])).max() < 1.0


def test_pairs(source):
    ds = PairDataset(source, per_clip=5, transform=ClipTransform(size=64))
    assert len(ds) == 30
    item = ds[7]
    assert item["neutral"].shape == item["target"].shape == (3, 64, 64)
    assert item["target_landmarks"].shape == (68, 2) and item["target_mask"].shape == (1, 64, 64)
    assert -1 <= item["neutral"].min() and item["neutral"].max() <= 1 and 0 < float(item["a"]) <= 1
    np.testing.assert_array_equal(ds[7]["target"].numpy(), item["target"].numpy())  # reproducible
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["target"].shape == (4, 3, 64, 64) and batch["a"].shape == (4,)


def test_position_labels_are_fan_labels_and_differ_from_truth_on_periodic_videos(source):
    periodic = next(c for c in source if c.meta["curve"] == "periodic")
    pos = labels(periodic, "position")
    np.testing.assert_allclose(pos, np.arange(len(periodic)) / (len(periodic) - 1))
    assert np.abs(pos - labels(periodic, "true")).max() > 0.3
    with pytest.raises(I2VError):
        labels(periodic, "guess")


def test_triplets_are_da_apart(source):
    ds = TripletDataset(source, da=0.1, label="position", per_clip=4)
    for i in range(len(ds)):
        item = ds[i]
        a = item["a"].numpy()
        assert item["targets"].shape == (3, 3, 64, 64)
        assert a[0] <= a[1] <= a[2]
        inner = a[1] - 0.1 >= 0 and a[1] + 0.1 <= 1
        if inner:  # nearest frames to a -+ 0.1 on a 10-14 frame grid
            assert abs((a[1] - a[0]) - 0.1) <= 0.05 and abs((a[2] - a[1]) - 0.1) <= 0.05


def test_fixed_length_clips(source):
    ds = ClipDataset(source, length=10)
    item = ds[0]
    assert item["frames"].shape == (10, 3, 64, 64) and item["a"].shape == (10,)
    clip = source[0]
    short = resample(clip, 3)
    np.testing.assert_array_equal(short.frames[0], clip.frames[0])
    np.testing.assert_array_equal(short.frames[-1], clip.frames[-1])
    longer = resample(clip, 2 * len(clip))
    assert len(longer) == 2 * len(clip) and longer.intensity[0] == 0
    with pytest.raises(I2VError):
        ClipDataset(source, length=1)


def test_tensor_round_trip():
    frames = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    x = to_tensor(frames)
    assert x.shape == (2, 3, 8, 8) and x.min() >= -1 and x.max() <= 1
    np.testing.assert_array_equal(to_uint8(x), frames)


def test_empty_source_is_an_error():
    with pytest.raises(I2VError, match="no clips"):
        PairDataset([])
