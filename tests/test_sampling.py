"""The one sampler layer (``i2vlib.data.sampling``): pairs, clips and jumps, drawn from a seeded rng.

Most tests use tagged clips whose every frame says where it came from (red channel: the
clip, green channel: the frame index), so a batch can be decoded back to (clip, t) and
checked against the rules each sampler states.
"""

import numpy as np
import pytest
import torch

from i2vlib import I2VError
from i2vlib.clip_record import Clip
from i2vlib.data.clips import SyntheticVideos, crop_clip, to_tensor, from_tensor
from i2vlib.data.folders import write_affinegan
from i2vlib.data.sampling import Sampler, training_source
from i2vlib.data.synthetic import SyntheticBenchmark

EXPRS = ["happy", "anger", "surprise"]
LENGTHS = (2, 3, 5, 8)
S = 16  # frame size of the tagged clips


def tagged(c: int, n: int, landmarks: bool = True) -> Clip:
    """Clip ``c`` of ``n`` frames: frame t is flat with red = 20 c, green = 20 t; landmarks all = t + c / 10."""
    frames = np.zeros((n, S, S, 3), np.uint8)
    frames[..., 0] = 20 * c
    frames[..., 1] = (20 * np.arange(n))[:, None, None]
    rng = np.random.default_rng(c)
    return Clip(frames=frames, expression=EXPRS[c % len(EXPRS)], identity=str(c), video_id=f"v{c}",
                landmarks=np.stack([np.full((68, 2), t + c / 10, np.float32) for t in range(n)]) if landmarks else None,
                intensity=np.concatenate([[0.0], rng.uniform(0, 1, n - 1)]).astype(np.float32),
                masks=np.stack([np.eye(S, dtype=bool)] * n) if landmarks else None)


@pytest.fixture(scope="module")
def source():
    return [tagged(c, n, landmarks=c % 2 == 0) for c, n in enumerate(LENGTHS)]


def decode(images: torch.Tensor) -> np.ndarray:
    """(..., 3, H, W) tagged frames -> (..., 2) array of (clip, t)."""
    px = from_tensor(images)[..., 0, 0, :]
    return np.stack([px[..., 0] // 20, px[..., 1] // 20], axis=-1).astype(int)


def test_pairs_shapes_and_where_their_frames_come_from(source):
    s = Sampler(source, EXPRS)
    b = s.pairs(np.random.default_rng(0), 200, label="position", landmarks=True)
    assert b["neutral"].shape == b["target"].shape == (200, 3, S, S) and b["mask"].shape == (200, 1, S, S)
    assert b["expression"].shape == b["a"].shape == b["has_landmarks"].shape == (200,)
    assert b["landmarks"].shape == (200, 68, 2) and b["neutral"].dtype == torch.float32
    neutral, target = decode(b["neutral"]), decode(b["target"])
    np.testing.assert_array_equal(neutral[:, 0], target[:, 0])               # one clip per pair
    assert (neutral[:, 1] == 0).all() and (target[:, 1] >= 1).all()          # frame 0, then t >= first = 1
    c, t = target[:, 0], target[:, 1]
    length = np.array(LENGTHS)[c]
    assert (t < length).all() and set(c) == set(range(len(LENGTHS)))
    np.testing.assert_allclose(b["a"].numpy(), t / (length - 1), atol=1e-6)   # Fan et al.'s position label
    assert b["expression"].tolist() == [EXPRS.index(source[k].expression) for k in c]
    has = c % 2 == 0
    assert b["has_landmarks"].numpy().tolist() == has.tolist()
    np.testing.assert_allclose(b["landmarks"][has].numpy()[:, 0, 0], t[has] + c[has] / 10, atol=1e-6)
    assert (b["landmarks"][~has] == 0).all()                                  # no landmarks: zeros, flagged
    assert (b["mask"][~has] == 0).all() and (b["mask"][has] == torch.eye(S)).all()


def test_pairs_with_first_0_may_pick_the_neutral_and_true_labels_follow_the_frame(source):
    b = Sampler(source, EXPRS).pairs(np.random.default_rng(1), 200, first=0, label="true")
    c, t = decode(b["target"]).T
    assert (t == 0).any() and "landmarks" not in b and "a_minus" not in b
    np.testing.assert_allclose(b["a"].numpy(), [source[k].intensity[i] for k, i in zip(c, t)], atol=1e-6)


def test_pairs_delta_a_gives_the_clipped_label_triplet(source):
    b = Sampler(source, EXPRS).pairs(np.random.default_rng(2), 100, label="true", delta_a=0.3)
    a = b["a"].numpy()
    np.testing.assert_allclose(b["a_minus"].numpy(), np.clip(a - 0.3, 0, 1), atol=1e-6)
    np.testing.assert_allclose(b["a_plus"].numpy(), np.clip(a + 0.3, 0, 1), atol=1e-6)
    assert (b["a_minus"] == 0).any() and (b["a_plus"] == 1).any()   # the clipping happens in this batch


def test_clips_are_resampled_and_start_from_the_neutral(source):
    b = Sampler(source, EXPRS).clips(np.random.default_rng(3), 20, length=4)
    assert b["neutral"].shape == (20, 3, S, S) and b["target"].shape == (20, 3, 3, S, S)
    neutral, target = decode(b["neutral"]), decode(b["target"])
    assert (neutral[:, 1] == 0).all()
    assert (target[..., 0] == neutral[:, None, 0]).all()                         # every frame of one clip
    last = np.array(LENGTHS)[neutral[:, 0]] - 1
    assert (target[:, -1, 1] == last).all() and (np.diff(target[..., 1], axis=1) >= 0).all()
    assert b["expression"].tolist() == [EXPRS.index(source[k].expression) for k in neutral[:, 0]]


def test_jumps_go_forward_inside_one_clip(source):
    s = Sampler(source, EXPRS)
    b = s.jumps(np.random.default_rng(4), 300)
    src, tgt = decode(b["source"]), decode(b["target"])
    t, k = b["t"].numpy(), b["k"].numpy()
    np.testing.assert_array_equal(src[:, 0], tgt[:, 0])
    np.testing.assert_array_equal(src[:, 1], t)
    np.testing.assert_array_equal(tgt[:, 1], t + k)                              # target = frame t + k
    assert (k >= 1).all() and (t + k < np.array(LENGTHS)[src[:, 0]]).all() and (t == 0).any()
    assert k.max() == max(LENGTHS) - 1
    assert "source_landmarks" not in b        # some clips have none: no landmarks in the batch
    assert s.jumps(np.random.default_rng(4), 300, max_k=2)["k"].max() == 2


def test_jumps_carry_the_landmarks_of_both_frames(source):
    b = Sampler(source[::2], EXPRS).jumps(np.random.default_rng(5), 50)
    c, t = decode(b["source"]).T
    np.testing.assert_allclose(b["source_landmarks"][:, 0, 0].numpy(), t + c / 10, atol=1e-6)
    np.testing.assert_allclose(b["target_landmarks"][:, 0, 0].numpy(), t + b["k"].numpy() + c / 10, atol=1e-6)


@pytest.mark.parametrize("draw", ["pairs", "clips", "jumps"])
def test_every_sampler_refuses_a_one_frame_clip_in_one_line(draw):
    sampler = Sampler([tagged(0, 1)], EXPRS)
    args = {"pairs": (1,), "clips": (1, 4), "jumps": (1,)}[draw]
    with pytest.raises(I2VError, match=r"has 1 frame\(s\); training needs at least 2"):
        getattr(sampler, draw)(np.random.default_rng(0), *args)


def test_a_batch_depends_only_on_the_rng(source):
    s = Sampler(source, EXPRS, augment=True)
    for draw in (lambda r: s.pairs(r, 8, label="position", delta_a=0.1, landmarks=True),
                 lambda r: s.clips(r, 4, 3), lambda r: s.jumps(r, 8, max_k=3)):
        one, two, other = draw(np.random.default_rng(7)), draw(np.random.default_rng(7)), draw(np.random.default_rng(8))
        assert one.keys() == two.keys()
        assert all(torch.equal(one[k], two[k]) for k in one)
        assert not all(torch.equal(one[k], other[k]) for k in one)


def test_augment_crops_and_flips_every_frame_of_an_example_alike():
    rng = np.random.default_rng(0)
    still = np.repeat(rng.integers(0, 256, (1, 32, 32, 3), dtype=np.uint8), 4, axis=0)
    lm = np.repeat(rng.uniform(4, 28, (1, 68, 2)).astype(np.float32), 4, axis=0)
    clip = Clip(frames=still, expression="happy", identity="0", video_id="still", landmarks=lm)
    b = Sampler([clip], EXPRS, augment=True).pairs(np.random.default_rng(1), 40, landmarks=True)
    # A still video: neutral and target are equal exactly when both got the same crop and flip.
    assert torch.equal(b["neutral"], b["target"])
    assert len({x.numpy().tobytes() for x in b["neutral"]}) > 10               # ... and examples differ
    assert b["neutral"].shape == (40, 3, 32, 32)


def test_augmented_pairs_are_a_crop_clip_of_the_source(source):
    bench = SyntheticBenchmark(size=64, seed=0, n_identities=100, frames=(10, 14))
    videos = SyntheticVideos(bench, "train", 4, expressions=("happy", "surprise"))
    s = Sampler(videos, ["happy", "surprise"], augment=True)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        clip = s.clip(rng)                                       # what pairs() draws first, with the same rng
        t = int(rng.integers(1, len(clip)))
        b = s.pairs(np.random.default_rng(seed), 1, label="true", landmarks=True)
        original = next(v for v in videos if v.video_id == clip.video_id)
        again = crop_clip(original, clip.meta["crop"], 64, clip.meta["flip"])
        torch.testing.assert_close(b["neutral"][0], to_tensor(again.frames[0]))
        torch.testing.assert_close(b["target"][0], to_tensor(again.frames[t]))
        torch.testing.assert_close(b["landmarks"][0], torch.from_numpy(again.landmarks[t]))
        assert torch.equal(b["mask"][0, 0], torch.from_numpy(again.masks[t]).float())
        assert float(b["a"][0]) == pytest.approx(float(original.intensity[t]))
        assert -1 <= b["target"].min() and b["target"].max() <= 1


def test_an_empty_source_is_an_error():
    with pytest.raises(I2VError, match="no clips"):
        Sampler([], EXPRS)


def config(data, **kw):
    return {"data": str(data), "image_size": 32, "seed": 0, "frames": (3, 5), "jitter": 0.0, "videos": 2,
            "expressions": ["happy", "anger"], "train_curves": ["linear"], **kw}


def test_training_source_synthetic():
    src = training_source(config("synthetic"))
    assert len(src) == 4 and [c.expression for c in src] == ["happy", "anger"] * 2
    assert all(c.split == "train" and c.size == (32, 32) and 3 <= len(c) <= 5 for c in src)


def test_training_source_from_a_folder(tmp_path):
    bench = SyntheticBenchmark(size=48, seed=0, n_identities=100, frames=(3, 4))
    clips = [bench.video(split, i, expression=e) for split in ("train", "test")
             for i, e in enumerate(["happy", "anger"])]
    root = write_affinegan(tmp_path / "data", clips)
    for patch in root.glob("*/*/patch"):                          # a folder without mouth masks
        for f in patch.rglob("*.png"):
            f.unlink()
    src = training_source(config(root))
    assert len(src) == 2 and {c.split for c in src} == {"train"} and {c.expression for c in src} == {"happy", "anger"}
    clip = src[0]
    assert clip.size == (32, 32) and clip.masks is not None and clip.masks.shape == (len(clip), 32, 32)
    assert clip.masks.any()                                       # masks drawn from the landmarks
    with pytest.raises(I2VError, match="has no videos of surprise"):
        training_source(config(root, expressions=["happy", "surprise"]))
    with pytest.raises(I2VError, match="unknown data"):
        training_source(config(tmp_path / "missing"))
