"""``prepare``: raw CK+ / MUG / photo folders -> cropped AffineGAN layout with landmarks and masks.

The raw trees are built here from real photos that ship with installed packages: the
face of skimage's astronaut or matplotlib's Grace Hopper is pasted off-centre onto a
large canvas (grey 640 x 490 like CK+, colour like MUG) and moved a little per frame.
"""

import os

import numpy as np
import pytest
from PIL import Image

from i2vlib.data.folders import read_affinegan
from i2vlib.data.prepare import prepare
from i2vlib.errors import I2VError
from i2vlib.faces.align import box_transform, crop, crop_box
from i2vlib.faces.landmarks import get_backend

SHIFTS = [(0, 0), (2, 1), (4, 2)]  # per-frame head motion (dx, dy) in source pixels


@pytest.fixture(scope="module")
def patches():
    """Each photo's face with some surroundings, 200 x 200, and its 68 landmarks there."""
    import matplotlib
    import skimage.data

    from i2vlib.io import read_image

    photos = {"astronaut": skimage.data.astronaut(),
              "grace": read_image(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))}
    out = {}
    for name, img in photos.items():
        lm = get_backend("dlib").detect(img).landmarks
        box = crop_box(lm, img.shape, scale=2.2)
        out[name] = (crop(img, box, 200), box_transform(lm, box, 200))
    return out


def canvas_frames(patch, size_hw, at, gray, background):
    """The patch pasted at ``at`` (x, y) + each of SHIFTS on a plain canvas."""
    h, w = size_hw
    frames = []
    for dx, dy in SHIFTS:
        im = np.full((h, w, 3), background, np.uint8)
        x, y = at[0] + dx, at[1] + dy
        im[y:y + 200, x:x + 200] = patch
        frames.append(im.mean(axis=2).round().astype(np.uint8) if gray else im)
    return frames


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def ckplus(tmp_path, patches):
    """S005/001 happy (Grace, with Landmarks/ files), S010/002 surprise (astronaut, none), S010/003 unlabelled."""
    root = tmp_path / "CK+"
    seqs = [("S005", "001", "grace", 5, True), ("S010", "002", "astronaut", 7, False),
            ("S010", "003", "astronaut", None, False)]
    at = (400, 60)  # off-centre, as in a 640 x 490 CK+ frame
    for subj, seq, who, code, with_landmarks in seqs:
        patch, lm = patches[who]
        for t, frame in enumerate(canvas_frames(patch, (490, 640), at, True, 90), start=1):
            stem = f"{subj}_{seq}_{t:08d}"
            save(root / "cohn-kanade-images" / subj / seq / f"{stem}.png", frame)
            if with_landmarks:
                pts = lm + np.array(at) + np.array(SHIFTS[t - 1])
                f = root / "Landmarks" / subj / seq / f"{stem}_landmarks.txt"
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_text("".join(f"   {x:.7e}   {y:.7e}\n" for x, y in pts))
        if code is not None:
            f = root / "Emotion" / subj / seq / f"{subj}_{seq}_{len(SHIFTS):08d}_emotion.txt"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(f"   {code:.7e}\n")
    return root


def test_prepare_ckplus(ckplus, tmp_path):
    out = tmp_path / "prepared"
    summary = prepare(ckplus, out, size=128, progress=False, expression="anger")
    assert summary["layout"] == "ck+" and summary["clips"] == 2 and summary["skipped"] == 0
    assert summary["frames"] == 6 and summary["landmarks_from_data"] == 1 and summary["seconds"] > 0
    ds = read_affinegan(out)
    assert ds.expressions == ["happy", "surprise"] and summary["labelled"] == 0   # CK+ labels are kept
    # CK+ comes unsplit: the last subject (in natural order) is held out for testing
    assert summary["splits"] == {"test": 1, "train": 1}
    assert {c.identity: c.split for c in ds} == {"S005": "train", "S010": "test"}
    dlib = get_backend("dlib")
    for clip in ds:
        assert clip.frames.shape == (3, 128, 128, 3) and clip.landmarks.shape == (3, 68, 2)
        assert ((clip.landmarks > 0) & (clip.landmarks < 127)).all()
        assert clip.masks.shape == (3, 128, 128) and clip.masks.any(axis=(1, 2)).all()
        x0, y0, x1, y1 = clip.meta["crop_box"]  # one box for the whole clip
        assert x1 - x0 == y1 - y0 and x0 > 320 and y0 > 0  # found where the face was pasted
        assert clip.meta["source"].endswith(clip.video_id.replace("_", "/"))
        # the face sits in the middle, upright
        lm = clip.landmarks[0]
        assert 40 < lm[:, 0].mean() < 88 and lm[36:48, 1].mean() < lm[48:68, 1].mean() < lm[8, 1]
        # the landmarks match what dlib finds on the prepared crop itself
        found = dlib.detect(clip.frames[0]).landmarks
        assert np.abs(found - lm).mean() < 3.0
        # the crop box stays put, so the head's motion stays in the clip
        motion = (clip.landmarks[2] - clip.landmarks[0]).mean(axis=0)
        np.testing.assert_allclose(motion, np.array(SHIFTS[2]) * 128 / (x1 - x0), atol=0.75)
    grace = ds.filter(expressions="happy")[0]
    assert grace.identity == "S005" and grace.meta["landmarks"] == "data" and grace.meta["emotion_code"] == 5
    assert ds.filter(expressions="surprise")[0].meta["landmarks"] == "dlib"
    # a mouth mask covers the mouth's centre
    c = np.round(grace.landmarks[0, 48:68].mean(axis=0)).astype(int)
    assert grace.masks[0, c[1], c[0]]


def test_prepare_mug_skips_faceless_takes(tmp_path, patches):
    import skimage.data

    src = tmp_path / "MUG"
    for t, frame in enumerate(canvas_frames(patches["grace"][0], (300, 360), (120, 40), False, 220), start=1):
        save(src / "001" / "happiness" / "take000" / f"img_{t:04d}.jpg", frame)
    coffee = skimage.data.coffee()[::2, ::2]
    for t in range(1, 3):
        save(src / "001" / "anger" / "take001" / f"img_{t:04d}.jpg", coffee)
    summary = prepare(src, tmp_path / "out", size=64, progress=False)
    assert summary["layout"] == "mug" and (summary["clips"], summary["skipped"]) == (1, 1)
    assert summary["splits"] == {"train": 1}   # one subject: nobody to hold out
    assert summary["skipped_videos"] == ["anger/train/001_take001"]
    clip = read_affinegan(tmp_path / "out")[0]
    assert (clip.expression, clip.identity, clip.video_id) == ("happy", "001", "001_take000")
    assert clip.frames.shape == (3, 64, 64, 3) and clip.masks.shape == (3, 64, 64)
    assert clip.frame_names == ["img_0001", "img_0002", "img_0003"]
    patch = tmp_path / "out" / "happy" / "train" / "patch" / "001_take000"
    assert len(list(patch.iterdir())) == 3


def test_prepare_loose_photos(tmp_path, patches):
    import matplotlib
    import skimage.data

    src = tmp_path / "photos"
    save(src / "astronaut.png", skimage.data.astronaut())
    src.joinpath("grace.jpg").write_bytes(
        open(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"), "rb").read())
    summary = prepare(src, tmp_path / "out", size=96, progress=False)
    assert summary["clips"] == 2 and summary["frames"] == 2 and summary["layout"] == "videos"
    ds = read_affinegan(tmp_path / "out")
    assert ds.expressions == ["unlabelled"] and sorted(c.video_id for c in ds) == ["astronaut", "grace"]
    assert {c.video_id: c.split for c in ds} == {"astronaut": "train", "grace": "test"}
    for clip in ds:
        assert clip.frames.shape == (1, 96, 96, 3) and clip.landmarks.shape == (1, 68, 2)
        assert clip.meta["face_score"] > 0.5
    with pytest.raises(I2VError, match="not empty"):
        prepare(src, tmp_path / "out", progress=False)
    assert prepare(src / "grace.jpg", tmp_path / "out", size=64, overwrite=True, progress=False)["clips"] == 1
    assert len(read_affinegan(tmp_path / "out")) == 1


def test_prepare_labels_unlabelled_sources_and_skips_unreadable_files(tmp_path, patches):
    """--expression labels a folder of photos; a corrupt photo is skipped and counted, not fatal."""
    import skimage.data

    src = tmp_path / "photos"
    save(src / "astronaut.png", skimage.data.astronaut())
    save(src / "grace.png", patches["grace"][0])
    (src / "broken.png").write_bytes(b"not a png at all")
    save(src / "coffee.png", skimage.data.coffee()[::2, ::2])
    summary = prepare(src, tmp_path / "out", size=64, progress=False, expression="happy", test_every=0)
    assert (summary["clips"], summary["skipped"], summary["unreadable"]) == (2, 1, 1)
    assert summary["unreadable_videos"] == ["unlabelled/train/broken"]
    assert summary["skipped_videos"] == ["unlabelled/train/coffee"]
    assert summary["expression"] == "happy" and summary["labelled"] == 2
    assert summary["splits"] == {"train": 2}   # test_every=0: no identity held out
    ds = read_affinegan(tmp_path / "out")
    assert ds.expressions == ["happy"] and ds.splits == ["train"]
    with pytest.raises(I2VError, match="unknown expression 'smile'; choose one of happy, anger"):
        prepare(src, tmp_path / "out2", expression="smile", progress=False)
    with pytest.raises(I2VError, match="test_every"):
        prepare(src, tmp_path / "out2", test_every=-1, progress=False)
    assert not (tmp_path / "out2").exists()


def test_held_out_identities():
    from i2vlib.data.folders import ClipRef
    from i2vlib.data.prepare import held_out_identities

    refs = [ClipRef("happy", f"id{i}", f"v{i}", "train", []) for i in range(1, 12)]
    assert held_out_identities(refs) == {"id11", "id6", "id1"}        # the last, and every fifth before it
    assert held_out_identities(refs, test_every=3) == {"id11", "id8", "id5", "id2"}
    assert held_out_identities(refs[:1]) == set()                     # one identity: nothing to hold out
    assert held_out_identities(refs, test_every=0) == set()
    split = [ClipRef("happy", "a", "v", "train", []), ClipRef("happy", "b", "w", "test", [])]
    assert held_out_identities(split) == set()                        # a source that comes split keeps it


def test_prepare_bad_input(tmp_path, monkeypatch):
    import sys

    import skimage.data

    from i2vlib.faces import landmarks as lmk

    faceless = tmp_path / "faceless"
    save(faceless / "coffee.png", skimage.data.coffee()[::2, ::2])
    save(faceless / "noise.png", np.random.default_rng(0).integers(0, 256, (120, 160, 3), np.uint8))
    with pytest.raises(I2VError, match="no face found in any of 2 clips under .*faceless"):
        prepare(faceless, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()

    corrupt = tmp_path / "corrupt"
    (corrupt / "b.png").parent.mkdir()
    (corrupt / "b.png").write_bytes(b"not a png at all")
    with pytest.raises(I2VError, match=r"nothing could be prepared from the 1 clip under .*: 1 unreadable \(first: "
                                       r"cannot read image .*b\.png"):
        prepare(corrupt, tmp_path / "out", progress=False)
    save(corrupt / "coffee.png", skimage.data.coffee()[::2, ::2])
    with pytest.raises(I2VError, match=r"from the 2 clips under .*: 1 without a face, 1 unreadable"):
        prepare(corrupt, tmp_path / "out", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt", "faceless"]  # nothing half-written

    (tmp_path / "empty").mkdir()
    with pytest.raises(I2VError, match="empty"):
        prepare(tmp_path / "empty", tmp_path / "out", progress=False)
    with pytest.raises(I2VError, match="must not be the source"):
        prepare(corrupt, corrupt, overwrite=True, progress=False)
    with pytest.raises(I2VError, match="size"):
        prepare(corrupt, tmp_path / "out", size=4, progress=False)

    monkeypatch.setitem(sys.modules, "face_alignment", None)
    monkeypatch.setattr(lmk, "_BACKENDS", {})
    with pytest.raises(I2VError, match="--landmarks dlib"):
        prepare(corrupt, tmp_path / "out", landmarks="face-alignment", progress=False)
    assert not (tmp_path / "out").exists()
