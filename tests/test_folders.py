"""On-disk layouts: AffineGAN round trip, third-party folders, CK+, MUG, videos, bad input.

These tests need no faces (random pixels will do); ``test_prepare.py`` uses real photos.
"""

import json
import random

import numpy as np
import pytest
from PIL import Image

from i2vlib.clip_record import Clip
from i2vlib.data.folders import (FolderDataset, detect_layout, natural_key, open_dataset, read_affinegan,
                                 read_ckplus, read_mug, read_video_folder, write_affinegan)
from i2vlib.errors import I2VError

H, W = 24, 32  # not square, to catch swapped axes


def make_clip(i, expression="happy", split="train", t=4, landmarks=True, masks=False, meta=None, **kw):
    rng = np.random.default_rng(i)
    lm = None
    if landmarks:
        lm = (rng.uniform([2, 2], [W - 3, H - 3], size=(t, 68, 2))).astype(np.float32)
        lm[:, 48:68] = rng.uniform([10, 14], [20, 20], size=(t, 20, 2))
    return Clip(frames=rng.integers(0, 256, (t, H, W, 3), dtype=np.uint8), expression=expression,
                identity=f"id{i % 2}", video_id=f"v{i}", split=split, landmarks=lm,
                intensity=np.linspace(0, 1, t, dtype=np.float32) if landmarks else None,
                masks=rng.random((t, H, W)) > 0.5 if masks else None, meta=meta or {"curve": "linear", "i": i}, **kw)


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_natural_key():
    names = ["img_10", "img_2", "img_1", "IMG_3"]
    assert sorted(names, key=natural_key) == ["img_1", "img_2", "IMG_3", "img_10"]


def test_affinegan_round_trip(tmp_path):
    clips = [make_clip(0), make_clip(1, split="test"), make_clip(2, "surprise", masks=True),
             make_clip(3, "surprise", landmarks=False, frame_names=["a_1", "a_2", "a_10", "b"])]
    root = write_affinegan(tmp_path / "out", (c for c in clips))  # a generator is fine
    assert root == tmp_path / "out"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left
    assert (root / "happy/train/img/v0/0000.png").is_file()
    assert (root / "happy/train/patch/v0/0003.png").is_file()
    assert not (root / "surprise/train/patch/v3").exists()
    patch = np.asarray(Image.open(root / "surprise/train/patch/v2/0001.png"))
    assert patch.dtype == np.uint8 and set(np.unique(patch)) <= {0, 255}

    meta = json.loads((root / "metadata.json").read_text())
    assert meta["format"] == "i2v-affinegan" and meta["version"] == 2
    entry = meta["videos"]["happy/test/v1"]
    assert entry["identity"] == "id1" and entry["frames"] == ["0000", "0001", "0002", "0003"]
    assert np.shape(entry["landmarks"]) == (4, 68, 2) and len(entry["intensity"]) == 4
    assert meta["videos"]["surprise/train/v3"]["landmarks"] is None

    ds = read_affinegan(root)
    assert isinstance(ds, FolderDataset) and len(ds) == 4
    assert ds.expressions == ["happy", "surprise"] and ds.splits == ["test", "train"]
    got = {c.video_id: c for c in ds}
    for c in clips:
        r = got[c.video_id]
        assert (r.expression, r.split, r.identity, r.frame_names) == (c.expression, c.split, c.identity,
                                                                       c.frame_names)
        np.testing.assert_array_equal(r.frames, c.frames)
        assert r.meta["curve"] == "linear" and r.meta["i"] == c.meta["i"]
        if c.landmarks is None:
            assert r.landmarks is None and r.intensity is None and r.masks is None
            continue
        np.testing.assert_allclose(r.landmarks, c.landmarks, atol=0.0051)
        np.testing.assert_allclose(r.intensity, c.intensity, atol=1e-6)
        assert r.masks.shape == (4, H, W) and r.masks.dtype == bool
    np.testing.assert_array_equal(got["v2"].masks, clips[2].masks)
    # masks computed from the mouth landmarks cover the mouth
    m = got["v0"].masks[0]
    assert m.any() and m[H // 2 + 4, 15]

    only = read_affinegan(root, split="train", expressions="surprise", size=16)
    assert [c.video_id for c in only] == ["v2", "v3"]
    small = only[0]
    assert small.frames.shape == (4, 16, 16, 3) and small.masks.shape == (4, 16, 16)
    np.testing.assert_allclose(small.landmarks[..., 0], (clips[2].landmarks[..., 0] + 0.5) * 16 / W - 0.5,
                               atol=0.01)


def test_version_1_metadata_reads_the_old_profile_key_as_the_intensity_curve(tmp_path):
    # Version 1 (before the rename) stored a synthetic video's intensity curve as meta["profile"].
    root = write_affinegan(tmp_path / "old", [make_clip(0, meta={"curve": "ease", "source": "synthetic"}),
                                              make_clip(1, meta={"i": 1})])
    path = root / "metadata.json"
    meta = json.loads(path.read_text())
    meta["version"] = 1
    meta["videos"]["happy/train/v0"]["meta"] = {"profile": "ease", "source": "synthetic"}
    path.write_text(json.dumps(meta))
    got = {c.video_id: c.meta for c in read_affinegan(root)}
    assert got["v0"]["curve"] == "ease" and "profile" not in got["v0"] and got["v0"]["source"] == "synthetic"
    assert got["v1"]["i"] == 1 and "curve" not in got["v1"]
    # Version 2 keeps whatever "profile" a writer put in meta: only version 1 used it for the curve.
    meta["version"] = 2
    path.write_text(json.dumps(meta))
    assert read_affinegan(root)[0].meta["profile"] == "ease" and "curve" not in read_affinegan(root)[0].meta


def test_existing_root_and_overwrite(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    write_affinegan(root, [make_clip(0)])  # an empty folder may be written into
    with pytest.raises(I2VError, match="not empty.*overwrite"):
        write_affinegan(root, [make_clip(1)])
    write_affinegan(root, [make_clip(1)], overwrite=True)
    assert [c.video_id for c in read_affinegan(root)] == ["v1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(I2VError, match="is a file; give a folder"):
        write_affinegan(tmp_path / "file", [make_clip(0)])


def test_failed_write_leaves_nothing(tmp_path):
    def broken():
        yield make_clip(0)
        raise I2VError("cannot read image frame.png")

    with pytest.raises(I2VError, match="frame.png"):
        write_affinegan(tmp_path / "out", broken())
    assert list(tmp_path.iterdir()) == []

    write_affinegan(tmp_path / "out", [make_clip(5)])
    bad = [make_clip(0), make_clip(1, meta={"f": object()})]
    with pytest.raises(I2VError, match="JSON"):
        write_affinegan(tmp_path / "out", bad, overwrite=True)
    assert [c.video_id for c in read_affinegan(tmp_path / "out")] == ["v5"]  # the old data survives
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("clips, message", [
    ([make_clip(0), make_clip(0)], "share the video id"),
    ([make_clip(0, frame_names=["b", "a", "c", "d"])], "sort in frame order"),
    ([make_clip(0, frame_names=["a"])], "frame names"),
    ([make_clip(0, expression="../up")], "cannot be a folder"),
    ([], "no clips"),
    (["not a clip"], "Clip objects"),
])
def test_write_rejects_bad_clips(tmp_path, clips, message):
    with pytest.raises(I2VError, match=message):
        write_affinegan(tmp_path / "out", clips)
    assert list(tmp_path.iterdir()) == []


def test_third_party_affinegan_layout(tmp_path):
    """Gray 48 x 60 frames named img_1 .. img_12, written out of order, no metadata, no patch/."""
    root = tmp_path / "theirs"
    order = list(range(1, 13))
    random.Random(0).shuffle(order)
    for t in order:
        save(root / "anger/train/img/S010_004" / f"img_{t}.png", np.full((48, 60), t * 20, np.uint8))
    for t in range(3):  # a second video with RGB jpg frames and small masks
        save(root / "anger/test/img/x/f{}.jpg".format(t), np.full((40, 40, 3), 128, np.uint8))
        save(root / "anger/test/patch/x/f{}.png".format(t), np.pad(np.full((10, 10), 255, np.uint8), 5))
    assert detect_layout(root) == "affinegan"
    ds = open_dataset(root)
    assert len(ds) == 2 and ds.layout == "affinegan"
    clip = read_affinegan(root, split="train")[0]
    assert clip.frames.shape == (12, 48, 60, 3) and clip.frames.dtype == np.uint8
    assert clip.frame_names == [f"img_{t}" for t in range(1, 13)]
    np.testing.assert_array_equal(clip.frames[:, 0, 0, 0], np.arange(1, 13) * 20)  # natural order
    assert (clip.frames[..., 0] == clip.frames[..., 2]).all()
    assert clip.landmarks is None and clip.intensity is None and clip.masks is None
    assert clip.identity == "S010_004" and clip.expression == "anger" and clip.split == "train"
    assert read_affinegan(root, split="train", size=32)[0].frames.shape == (12, 32, 32, 3)
    other = read_affinegan(root, split="test")[0]
    assert other.masks.shape == (3, 40, 40) and other.masks[:, 20, 20].all() and not other.masks[:, 2, 2].any()


def test_affinegan_filters_and_errors(tmp_path):
    root = write_affinegan(tmp_path / "out", [make_clip(0), make_clip(1, "anger", split="test")])
    with pytest.raises(I2VError, match="no expression 'drum-cheeks'.*available: anger, happy"):
        read_affinegan(root, expressions=["happy", "drum-cheeks"])
    with pytest.raises(I2VError, match="no split 'val'.*test, train"):
        read_affinegan(root, split="val")
    with pytest.raises(I2VError, match="no such folder"):
        read_affinegan(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(I2VError, match="no clips"):
        read_affinegan(tmp_path / "empty")
    (root / "metadata.json").write_text("{not json")
    with pytest.raises(I2VError, match="metadata.json"):
        read_affinegan(root)


def test_corrupt_frame_is_named(tmp_path):
    root = write_affinegan(tmp_path / "out", [make_clip(0)])
    bad = root / "happy/train/img/v0/0002.png"
    bad.write_bytes(b"this is not a png")
    ds = read_affinegan(root)  # scanning is lazy ...
    with pytest.raises(I2VError, match="0002.png"):  # ... reading names the file
        ds[0]


def test_empty_and_unknown_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(I2VError, match="empty"):
        open_dataset(tmp_path / "empty")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/readme.txt").write_text("hello")
    with pytest.raises(I2VError, match="cannot tell the layout"):
        open_dataset(tmp_path / "docs")
    with pytest.raises(I2VError, match="no such"):
        open_dataset(tmp_path / "nowhere")
    with pytest.raises(I2VError, match="neither an image nor a video"):
        open_dataset(tmp_path / "docs/readme.txt")


def ck_landmarks(t):
    pts = np.stack([np.linspace(100, 300, 68), np.linspace(150, 350, 68) + t], axis=1)
    return "".join(f"   {x:.7e}   {y:.7e}\n" for x, y in pts), pts


def build_ckplus(root, frames=3):
    """S005/001 happy (with landmarks), S005/002 unlabelled, S011/001 surprise (no landmarks)."""
    for subj, seq, code in [("S005", "001", 5), ("S005", "002", None), ("S011", "001", 7)]:
        for t in range(1, frames + 1):
            stem = f"{subj}_{seq}_{t:08d}"
            save(root / "cohn-kanade-images" / subj / seq / f"{stem}.png", np.full((49, 64), 10 * t, np.uint8))
            if subj == "S005":
                lm_file = root / "Landmarks" / subj / seq / f"{stem}_landmarks.txt"
                lm_file.parent.mkdir(parents=True, exist_ok=True)
                lm_file.write_text(ck_landmarks(t)[0])
        if code is not None:
            emo = root / "Emotion" / subj / seq / f"{subj}_{seq}_{frames:08d}_emotion.txt"
            emo.parent.mkdir(parents=True, exist_ok=True)
            emo.write_text(f"   {code:.7e}\n")
    (root / "cohn-kanade-images/S005/001/.DS_Store").write_bytes(b"\0")


def test_read_ckplus(tmp_path):
    build_ckplus(tmp_path)
    assert detect_layout(tmp_path) == "ck+" and detect_layout(tmp_path / "cohn-kanade-images") == "ck+"
    ds = open_dataset(tmp_path)
    assert ds.layout == "ck+" and len(ds) == 2 and ds.info["skipped_unlabelled"] == 1
    happy, surprise = ds
    assert (happy.expression, happy.identity, happy.video_id, happy.split) == ("happy", "S005", "S005_001", "train")
    assert happy.frame_names == [f"S005_001_{t:08d}" for t in (1, 2, 3)]
    assert happy.frames.shape == (3, 49, 64, 3)
    np.testing.assert_allclose(happy.landmarks[1], ck_landmarks(2)[1], atol=1e-3)
    assert surprise.expression == "surprise" and surprise.landmarks is None
    assert happy.meta["emotion_code"] == 5
    every = read_ckplus(tmp_path / "cohn-kanade-images", keep_unlabelled=True)
    assert [c.expression for c in every.refs] == ["happy", "unlabelled", "surprise"]

    (tmp_path / "Landmarks/S005/001/S005_001_00000002_landmarks.txt").write_text("1 2\n3\n")
    with pytest.raises(I2VError, match="S005_001_00000002_landmarks.txt"):
        read_ckplus(tmp_path)[0]
    (tmp_path / "Emotion/S011/001/S011_001_00000003_emotion.txt").write_text("   9.0e+00\n")
    with pytest.raises(I2VError, match="emotion code 9"):
        read_ckplus(tmp_path)


def test_read_mug(tmp_path):
    for subj in ("001", "002"):
        for expr in ("happiness", "anger"):
            for t in range(1, 4):
                save(tmp_path / subj / expr / "take000" / f"img_{t:04d}.jpg", np.full((32, 32, 3), 50, np.uint8))
    assert detect_layout(tmp_path) == "mug"
    ds = open_dataset(tmp_path)
    assert ds.layout == "mug" and len(ds) == 4 and ds.expressions == ["anger", "happy"]
    clip = read_mug(tmp_path).filter(expressions="happy")[1]
    assert (clip.identity, clip.video_id, len(clip)) == ("002", "002_take000", 3)
    assert clip.frame_names == ["img_0001", "img_0002", "img_0003"]


def test_read_video_folder(tmp_path):
    import imageio.v3 as iio

    moving = np.stack([np.full((48, 64, 3), 30 * t, np.uint8) for t in range(6)])
    iio.imwrite(tmp_path / "talk.mp4", moving, fps=10)
    iio.imwrite(tmp_path / "wave.gif", moving[:4])
    for t in (1, 2, 10):
        save(tmp_path / "frames" / f"f_{t}.png", np.full((20, 20), t, np.uint8))
    save(tmp_path / "me.jpg", np.zeros((30, 40, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    assert detect_layout(tmp_path) == "videos"
    ds = open_dataset(tmp_path)
    assert ds.layout == "videos"
    clips = {c.video_id: c for c in ds}
    assert sorted(clips) == ["frames", "me", "talk", "wave"]
    assert clips["talk"].frames.shape == (6, 48, 64, 3)
    assert abs(int(clips["talk"].frames[5].mean()) - 150) < 6  # video codecs are lossy
    assert clips["wave"].frames.shape == (4, 48, 64, 3)
    assert clips["frames"].frame_names == ["f_1", "f_2", "f_10"]
    assert clips["me"].frames.shape == (1, 30, 40, 3)
    assert all(c.expression == "unlabelled" and c.identity == c.video_id for c in clips.values())
    assert len(read_video_folder(tmp_path, max_frames=2).filter()[2]) == 2
    one = open_dataset(tmp_path / "me.jpg")
    assert len(one) == 1 and one[0].video_id == "me"

    (tmp_path / "broken.mp4").write_bytes(b"garbage")
    with pytest.raises(I2VError, match=r"broken\.mp4") as e:
        list(open_dataset(tmp_path))
    assert "\n" not in str(e.value)


def test_loose_photos_with_a_corrupt_one(tmp_path):
    save(tmp_path / "a.png", np.zeros((10, 10, 3), np.uint8))
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 truncated")
    ds = open_dataset(tmp_path)
    assert len(ds) == 2 and ds[0].frames.shape == (1, 10, 10, 3)
    with pytest.raises(I2VError, match=r"b\.jpg"):
        ds[1]
    assert len(ds[:1]) == 1 and "videos" in repr(ds)
