"""Faces: landmark backends, crop/align/paste-back, mouth masks, identity descriptors.

Uses real photos that ship with installed packages (skimage's astronaut, matplotlib's
Grace Hopper), so dlib is tested on faces, not on drawings.
"""

import os
import sys
import types
import urllib.error

import numpy as np
import pytest

from i2vlib.errors import I2VError
from i2vlib.faces import landmarks as lmk
from i2vlib.faces.align import box_transform, crop, crop_box, paste_back
from i2vlib.faces.landmarks import Face, NoFaceError, dlib_model_path, get_backend
from i2vlib.faces.masks import mouth_mask


@pytest.fixture(scope="module")
def photos():
    import matplotlib
    import skimage.data

    from i2vlib.io import read_image

    grace = read_image(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))
    return {"astronaut": skimage.data.astronaut(), "grace": grace}


@pytest.fixture(scope="module")
def faces(photos):
    dlib = get_backend("dlib")
    return {name: dlib.detect(img) for name, img in photos.items()}


def test_model_files_found_without_pkg_resources():
    path = dlib_model_path("shape_predictor_68_face_landmarks.dat")
    assert path.is_file() and path.parent.name == "models"
    assert "face_recognition_models" not in sys.modules  # located, never imported
    with pytest.raises(I2VError, match="no models/nope.dat"):
        dlib_model_path("nope.dat")


@pytest.mark.parametrize("name", ["astronaut", "grace"])
def test_dlib_finds_the_face(faces, photos, name):
    face = faces[name]
    assert isinstance(face, Face) and face.score > 0.5
    lm = face.landmarks
    assert lm.shape == (68, 2) and lm.dtype == np.float32
    x0, y0, x1, y1 = face.box
    h, w = photos[name].shape[:2]
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    # the inner face (brows, eyes, nose, mouth) lies in the detector's box
    inner = lm[17:]
    margin = 0.1 * (x1 - x0)
    assert (inner[:, 0] > x0 - margin).all() and (inner[:, 0] < x1 + margin).all()
    assert (inner[:, 1] > y0 - margin).all() and (inner[:, 1] < y1 + margin).all()
    eyes_y, mouth_y, chin_y = lm[36:48, 1].mean(), lm[48:68, 1].mean(), lm[8, 1]
    assert eyes_y < mouth_y < chin_y
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()  # iBUG order: image-left eye first


def test_highest_scoring_face_and_no_face(photos, faces):
    import skimage.data

    dlib = get_backend("dlib")
    # upsampled with a low threshold the astronaut photo yields extra weak boxes; we get the face
    face = dlib.detect(photos["astronaut"], upsample=1)
    assert face.score > 1.0 and abs(face.box[0] - faces["astronaut"].box[0]) < 15
    gray = np.ascontiguousarray(photos["astronaut"][..., 1])
    assert dlib.detect(gray).landmarks.shape == (68, 2)
    for empty in (skimage.data.coffee(), np.random.default_rng(0).integers(0, 256, (120, 160, 3), np.uint8)):
        with pytest.raises(NoFaceError):
            dlib.detect(empty)
    assert issubclass(NoFaceError, I2VError)
    with pytest.raises(I2VError, match="uint8"):
        dlib.detect(np.zeros((50, 50, 3), np.float32))


def test_landmarks_in_box_matches_detection(photos, faces):
    dlib = get_backend("dlib")
    face = faces["astronaut"]
    again = dlib.landmarks_in_box(photos["astronaut"], face.box)
    np.testing.assert_allclose(again, face.landmarks, atol=1.0)
    shifted = np.roll(photos["astronaut"], (3, 5), axis=(0, 1))
    moved = dlib.landmarks_in_box(shifted, face.box)  # same box, slightly moved face
    assert np.abs((moved - face.landmarks).mean(axis=0) - [5, 3]).max() < 2.0


def test_backend_names():
    assert get_backend("dlib") is get_backend("dlib")
    with pytest.raises(I2VError, match="unknown landmark backend"):
        get_backend("openface")
    with pytest.raises(I2VError, match="--landmarks dlib"):
        get_backend("ground-truth").detect(np.zeros((10, 10, 3), np.uint8))


def test_face_alignment_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "face_alignment", None)  # makes the import fail
    monkeypatch.setattr(lmk, "_BACKENDS", {})
    with pytest.raises(I2VError) as e:
        get_backend("face-alignment")
    assert "pip install face-alignment" in str(e.value) and "--landmarks dlib" in str(e.value)


@pytest.mark.parametrize("error", [urllib.error.URLError("[Errno -3] Temporary failure in name resolution"),
                                   urllib.error.HTTPError("https://x", 503, "Service Unavailable", {}, None),
                                   ConnectionResetError("reset")])
def test_face_alignment_without_internet(monkeypatch, error):
    def construct(*args, **kwargs):
        raise error

    fake = types.SimpleNamespace(LandmarksType=types.SimpleNamespace(TWO_D=1), FaceAlignment=construct)
    monkeypatch.setitem(sys.modules, "face_alignment", fake)
    monkeypatch.setattr(lmk, "_BACKENDS", {})
    with pytest.raises(I2VError) as e:
        get_backend("face-alignment")
    msg = str(e.value)
    assert "internet" in msg and "--landmarks dlib" in msg and "\n" not in msg
    assert not isinstance(e.value, urllib.error.URLError)


def test_face_alignment_adapter(monkeypatch):
    """With a stand-in FaceAlignment object: the best-scoring face is chosen, boxes are passed on."""
    pts = np.stack([np.linspace(10, 50, 68), np.linspace(20, 60, 68)], axis=1)

    class FakeFA:
        def __init__(self, kind, device, flip_input):
            self.boxes = None

        def get_landmarks_from_image(self, image, detected_faces=None, return_bboxes=False):
            if detected_faces is not None:
                self.boxes = detected_faces
                return [pts + 1]
            return [pts + 100, pts], None, [np.array([0, 0, 9, 9, 0.3]), np.array([5, 15, 55, 65, 0.99])]

    fake = types.SimpleNamespace(LandmarksType=types.SimpleNamespace(TWO_D=1), FaceAlignment=FakeFA)
    monkeypatch.setitem(sys.modules, "face_alignment", fake)
    monkeypatch.setattr(lmk, "_BACKENDS", {})
    fa = get_backend("face-alignment")
    face = fa.detect(np.zeros((80, 80, 3), np.uint8))
    assert face.box == (5, 15, 55, 65) and face.score == pytest.approx(0.99)
    np.testing.assert_allclose(face.landmarks, pts)
    np.testing.assert_allclose(fa.landmarks_in_box(np.zeros((80, 80), np.uint8), face.box), pts + 1)
    assert list(fa._fa.boxes[0][:4]) == [5, 15, 55, 65]


@pytest.mark.parametrize("name", ["astronaut", "grace"])
def test_crop_box_square_and_holds_the_face(faces, photos, name):
    lm = faces[name].landmarks
    x0, y0, x1, y1 = box = crop_box(lm, photos[name].shape)
    assert all(isinstance(v, int) for v in box) and x1 - x0 == y1 - y0
    assert (lm[:, 0] >= x0).all() and (lm[:, 0] < x1).all() and (lm[:, 1] >= y0).all() and (lm[:, 1] < y1).all()
    # centred on the face, with room above the brows for the forehead
    crop_lm = box_transform(lm, box, 100)
    assert 35 < crop_lm[:, 0].mean() < 65 and crop_lm[17:27, 1].min() > 15 and crop_lm[8, 1] < 95
    with pytest.raises(I2VError):
        crop_box(lm[:10], photos[name].shape)
    with pytest.raises(I2VError, match="outside"):
        crop_box(lm + 5000, photos[name].shape)


def test_crop_pads_and_keeps_channels():
    img = np.arange(20 * 30, dtype=np.uint8).reshape(20, 30)
    out = crop(img, (-5, -5, 15, 15))
    assert out.shape == (20, 20)
    assert out[0, 0] == img[0, 0] and out[5, 5] == img[0, 0] and out[19, 19] == img[14, 14]
    black = crop(np.dstack([img] * 3), (25, 10, 35, 20), size=10, pad="black")
    assert black.shape == (10, 10, 3) and (black[:, 5:] == 0).all() and (black[:, :5] > 0).all()
    assert crop(img, (0, 0, 20, 20), size=8).shape == (8, 8)
    with pytest.raises(I2VError, match="overlap"):
        crop(img, (100, 100, 110, 110))


def test_crop_box_transform_paste_back_agree(photos, faces):
    img, lm = photos["grace"], faces["grace"].landmarks
    box = crop_box(lm, img.shape)
    size = 128
    c = crop(img, box, size)
    mapped = box_transform(lm, box, size)
    np.testing.assert_allclose(box_transform(mapped, box, size, inverse=True), lm, atol=1e-3)
    # the crop's pixel at a mapped landmark looks like the photo's pixel at the landmark
    for i in (30, 36, 45, 48, 54):
        (cx, cy), (x, y) = np.round(mapped[i]).astype(int), np.round(lm[i]).astype(int)
        assert np.abs(c[cy, cx].astype(int) - img[y, x].astype(int)).mean() < 40
    # pasting the unchanged crop back reproduces the photo (up to resampling)
    back = paste_back(c, img, box)
    x0, y0, x1, y1 = box
    assert back.shape == img.shape and back.dtype == np.uint8
    assert np.abs(back[y0:y1, x0:x1].astype(int) - img[y0:y1, x0:x1]).mean() < 8
    np.testing.assert_array_equal(back[:y0], img[:y0])
    # a black crop pasted with feathering darkens the centre fully, the seam only partly
    soft = paste_back(np.zeros_like(c), img, box, feather=0.1)
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    assert soft[cy, cx].max() == 0 and 0 < soft[y0, cx].mean() <= img[y0, cx].mean()


def test_paste_back_outside_and_gray():
    img = np.full((40, 40), 100, np.uint8)
    out = paste_back(np.zeros((8, 8, 3), np.uint8), img, (30, 30, 50, 50))
    assert out.shape == (40, 40) and (out[30:, 30:] == 0).all() and (out[:30] == 100).all()
    assert img.min() == 100  # the input is untouched


def test_mouth_mask_covers_the_mouth(faces, photos):
    img, lm = photos["astronaut"], faces["astronaut"].landmarks
    box = crop_box(lm, img.shape)
    m_lm = box_transform(lm, box, 128)
    mask = mouth_mask(m_lm, (128, 128))
    mouth = m_lm[48:68]
    # each landmark, nudged one pixel toward the mouth's centre (the hull's tip is thin)
    towards = mouth.mean(axis=0) - mouth
    probe = np.round(mouth + towards / np.linalg.norm(towards, axis=1, keepdims=True)).astype(int)
    assert mask[probe[:, 1], probe[:, 0]].all()
    assert 0.005 < mask.mean() < 0.15
    assert not mask[np.round(m_lm[36:48, 1]).astype(int), np.round(m_lm[36:48, 0]).astype(int)].any()


def test_face_descriptor_identity(photos, faces):
    from i2vlib.faces.embed import face_descriptor

    a = face_descriptor(photos["astronaut"], faces["astronaut"].landmarks)
    g = face_descriptor(photos["grace"])
    assert a.shape == (128,) and a.dtype == np.float32
    img = photos["astronaut"]
    box = crop_box(faces["astronaut"].landmarks, img.shape)
    same = face_descriptor(crop(img, box, 200))  # the same person, re-cropped and re-detected
    assert np.linalg.norm(a - same) < 0.3 < 0.6 < np.linalg.norm(a - g)


# ----------------------------------------------------------------------------- a photo in, a photo out (faces.paste)

def _two_people(photos) -> np.ndarray:
    """Grace Hopper (600 x 512) beside the astronaut (512 x 512, padded below): two faces, Grace's the larger."""
    a, g = photos["astronaut"], photos["grace"]
    return np.concatenate([np.pad(a, ((0, g.shape[0] - a.shape[0]), (0, 0), (0, 0)), mode="edge"), g], axis=1)


def test_every_face_is_found_the_largest_first(photos, faces):
    from i2vlib.faces.paste import find_face

    dlib = get_backend("dlib")
    both = _two_people(photos)
    found = dlib.faces(both)
    assert len(found) == 2
    areas = [(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in found]
    assert areas[0] > areas[1]
    assert found[0].box[0] >= 512 and found[1].box[2] <= 512                   # Grace on the right, then the astronaut
    np.testing.assert_allclose(found[1].landmarks, faces["astronaut"].landmarks, atol=1.0)
    assert dlib.detect(both).score == max(f.score for f in found)              # detect: the best-scoring of them
    assert [f.box for f in dlib.faces(photos["astronaut"])] == [faces["astronaut"].box]   # not the suit's weak box
    first, count = find_face(both)
    second, _ = find_face(both, 2)
    assert count == 2 and first.box == found[0].box and second.box == found[1].box
    for bad, words in ((3, "face 3 asked for, but the photo shows 2 faces"), (0, "from 1"), (1.5, "from 1"),
                       (True, "from 1")):
        with pytest.raises(I2VError, match=words):
            find_face(both, bad)
    with pytest.raises(I2VError, match="--whole-image"):
        find_face(np.full((200, 300, 3), 90, np.uint8))


def test_the_face_mask_is_one_on_the_face_and_zero_off_it_and_on_the_box_edge(photos, faces):
    from i2vlib.faces.paste import face_mask

    lm = faces["grace"].landmarks
    box = crop_box(lm, photos["grace"].shape)
    mask = face_mask(lm, box)
    side = box[2] - box[0]
    assert mask.shape == (side, side) and 0 <= mask.min() and mask.max() <= 1
    inner = np.round(lm[27:68] - box[:2]).astype(int)                          # nose, eyes, mouth
    assert (mask[inner[:, 1], inner[:, 0]] > 0.99).all()
    assert (mask[0] == 0).all() and (mask[-1] == 0).all() and (mask[:, 0] == 0).all() and (mask[:, -1] == 0).all()
    assert mask[-3:, :].max() < 0.05 and mask[:, :3].max() < 0.05                # well below the chin, left of the jaw
    assert 0.3 < mask.mean() < 0.8


def test_the_seam_colour_is_matched():
    from i2vlib.faces.paste import match_seam

    rng = np.random.default_rng(0)
    photo = rng.integers(60, 180, (40, 40, 3)).astype(np.uint8)
    mask = np.zeros((40, 40))
    mask[10:30, 10:30] = 1.0
    mask[8:32, 8:32] = np.maximum(mask[8:32, 8:32], 0.5)                        # the seam: a ring at one half
    frame = np.clip(photo.astype(int) + [30, -20, 10], 0, 255).astype(np.uint8)  # the photo, its colour off
    matched = match_seam(frame, photo, mask)
    assert matched.dtype == np.uint8 and np.abs(matched.astype(int) - photo).max() <= 1
    assert np.array_equal(match_seam(frame, photo, np.ones((40, 40))), frame)    # no seam: nothing to match


def test_a_photo_is_animated_in_its_face_box_and_nowhere_else(photos, faces):
    from i2vlib.faces.paste import animate

    photo = photos["astronaut"]
    seen = []

    def render(crop_image, landmarks):          # a "model": the crop, then a dark square drawn on its face, twice
        seen.append((crop_image, landmarks))
        frames = np.stack([crop_image] * 3)
        frames[1:, 24:40, 24:40] = 20
        return frames

    clip = animate(photo, render, 64)
    box = crop_box(faces["astronaut"].landmarks, photo.shape)
    crop_image, landmarks = seen[0]
    assert crop_image.shape == (64, 64, 3) and np.array_equal(crop_image, crop(photo, box, 64))
    np.testing.assert_allclose(landmarks, box_transform(faces["astronaut"].landmarks, box, 64), atol=1e-4)
    assert clip.frames.shape == (3, *photo.shape) and clip.frames.dtype == np.uint8
    assert clip.box == box and clip.faces == 1 and clip.face == 1
    x0, y0, x1, y1 = box
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    for frame in clip.frames:
        assert np.array_equal(frame[outside], photo[outside])
    face = (slice(y0 + (y1 - y0) // 3, y1 - (y1 - y0) // 3), slice(x0 + (x1 - x0) // 3, x1 - (x1 - x0) // 3))
    assert np.abs(clip.frames[0][face].astype(int) - photo[face]).mean() < 10    # the crop back, less its lost detail
    side = x1 - x0
    square = (slice(y0 + 26 * side // 64, y0 + 38 * side // 64), slice(x0 + 26 * side // 64, x0 + 38 * side // 64))
    assert clip.frames[2][square].mean() < 40 < 150 < photo[square].mean()       # the dark square is pasted
    sidecar = clip.sidecar()
    assert sidecar["crop_box"] == list(box) and sidecar["alignment"]["faces_found"] == 1
    assert np.array(sidecar["alignment"]["landmarks"]).shape == (68, 2)
    assert "found 1 face" in clip.says() and str(tuple(box)) in clip.says()
    kept = animate(photo, render, 64, paste=False)
    assert kept.frames.shape == (3, 64, 64, 3) and not kept.pasted


@pytest.mark.parametrize("face, shape, photo", [("auto", (64, 64, 3), False), ("auto", (512, 300, 3), True),
                                                ("auto", (15, 400, 3), False), ("whole", (512, 300, 3), False),
                                                (2, (64, 64, 3), True)])
def test_which_images_are_photos(face, shape, photo):
    from i2vlib.faces.paste import takes_photo

    assert takes_photo(face, shape, 64) is photo


@pytest.mark.parametrize("face, paste, words", [("largest", True, "'auto', 'whole' or a face number"),
                                                (0, True, "face number K >= 1"), ("whole", False, "crops no face"),
                                                ("auto", "no", "paste must be True or False")])
def test_a_bad_face_or_paste_argument_is_one_line(face, paste, words):
    from i2vlib.faces.paste import takes_photo

    with pytest.raises(I2VError, match=words):
        takes_photo(face, (100, 100, 3), 64, paste)
