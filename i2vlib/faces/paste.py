"""A real photo in, a real photo out: find the face, crop it as the training faces are cropped, animate the crop,
paste every frame back into the photo.

    clip = animate(photo, render, size=64)      # render(crop, landmarks) -> T x 64 x 64 x 3 frames
    clip.frames                                 # T x H x W x 3: the photo, its face animated
    clip.box, clip.landmarks, clip.faces        # where the face was, its 68 landmarks, how many faces were found

:meth:`i2vlib.api.Model.generate` and ``i2v generate`` call :func:`animate` on any image that is not already a face
crop at the model's size. The four steps:

1. **find**: dlib's HOG detector and 68-point predictor (:mod:`.landmarks`, offline) find every face; the largest is
   animated, or the ``face``-th largest.
2. **align**: the square box of :func:`.align.crop_box` around the landmarks, the one ``i2v prepare`` cuts from a
   clip's neutral frame, resized to the model's size. The benchmark draws its faces in nearly the same frame (the
   box of its true landmarks covers 61 of its 64 px on average), so a photo's face reaches a model framed as the
   faces it was trained on.
3. **animate**: ``render`` (the model) draws one frame per intensity from the crop.
4. **paste** (:func:`paste_frames`): each frame is resized to the box, shifted in colour so that it meets the photo
   without a step at the seam (:func:`match_seam`), and blended into the photo through a feathered mask of the face
   (:func:`face_mask`) that falls to 0 before the box's edge. Every pixel outside the box is the photo's own.

The face comes back at the model's resolution: a 64-px crop of a face 150 to 300 px across is enlarged 2 to 5 times,
so the animated face is softer than the photo around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import I2VError
from ..inputs import check_image
from .align import box_transform, crop, crop_box, paste_back, resize
from .landmarks import NoFaceError, get_backend
from .masks import convex_hull

# The mask: the face's outline (jaw and brows) with the brows lifted by FOREHEAD of the brow-to-chin height to take
# in the forehead (where the benchmark draws its lines), grown by MARGIN about its centre, then softened by a ramp
# FEATHER of the box's side wide, whose middle lies on the grown outline.
FOREHEAD = 0.25
MARGIN = 0.08
FEATHER = 0.08
JAW, BROWS = slice(0, 17), slice(17, 27)


@dataclass
class PhotoClip:
    """What :func:`animate` made of a photo: the frames (the photo's size, or the crop's with ``paste=False``), the
    crop box in the photo, the face's 68 landmarks in the photo, how many faces were found and which was animated
    (1: the largest)."""

    frames: np.ndarray
    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    faces: int
    face: int
    size: int
    pasted: bool

    def sidecar(self) -> dict:
        """The sidecar's record of where the face was and how it was aligned (``crop_box`` and ``alignment``)."""
        return {"crop_box": [int(v) for v in self.box],
                "alignment": {"detector": "dlib HOG, 68-point predictor", "faces_found": self.faces,
                              "face": self.face, "crop": "i2vlib.faces.align.crop_box", "crop_size": self.size,
                              "landmarks": np.round(self.landmarks, 2).tolist(), "pasted": self.pasted}}

    def says(self, option: str = "--face K") -> str:
        """One line: how many faces were found, which one was animated (``option`` picks another) and where."""
        count = f"{self.faces} face{'s' * (self.faces != 1)}"
        which = "it" if self.faces == 1 else (
            f"face {self.face} of {self.faces}" + (", the largest" if self.face == 1 else "") + f" ({option} picks "
            "another)")
        return f"found {count} in the photo; animating {which} in the box {tuple(int(v) for v in self.box)}"


def takes_photo(face, shape, size: int, paste: bool = True) -> bool:
    """Whether ``generate``'s image of ``shape`` goes through :func:`animate` for its ``face`` argument: ``"auto"``,
    when it is not the model's ``size`` square (nor so small, a side under ``size / 4``, that it holds too little of
    a face: the model refuses it, saying so); a face number K >= 1, always; ``"whole"``, never."""
    if not isinstance(paste, bool):
        raise I2VError(f"paste must be True or False, got {paste!r}")
    if isinstance(face, str) and face in ("auto", "whole"):
        if face == "whole" and not paste:
            raise I2VError("paste=False keeps a photo's animated face crop; face='whole' crops no face")
        return face == "auto" and tuple(shape[:2]) != (size, size) and min(shape[:2]) >= max(1, size // 4)
    if isinstance(face, bool) or not isinstance(face, (int, np.integer)) or face < 1:
        raise I2VError(f"face is 'auto', 'whole' or a face number K >= 1 (1: the photo's largest face), got {face!r}")
    return True


def find_face(photo, face: int | None = None):
    """The ``face``-th largest face of ``photo`` (default: the largest) and how many were found:
    ``(Face, count)``. No face, or fewer than ``face``, is one line that names what to do instead."""
    if face is not None and (isinstance(face, bool) or not isinstance(face, (int, np.integer)) or face < 1):
        raise I2VError(f"face K numbers the photo's faces from 1, the largest; got {face!r}")
    try:
        found = get_backend("dlib").faces(photo)
    except NoFaceError:
        raise I2VError("no face found in the photo by dlib's detector; --whole-image (face='whole' in Python) "
                       "animates the whole image instead, squashed to the model's size") from None
    k = 1 if face is None else int(face)
    if k > len(found):
        raise I2VError(f"face {k} asked for, but the photo shows {len(found)} face{'s' * (len(found) != 1)}")
    return found[k - 1], len(found)


def face_mask(landmarks, box) -> np.ndarray:
    """The blend weights of the box's pixels (``side`` x ``side`` in [0, 1]): 1 on the face, 0 off it and along the
    box's edge, a linear ramp between. ``landmarks``: the face's 68 points in the photo; ``box``: its crop box."""
    from PIL import Image, ImageDraw, ImageFilter

    x0, y0, x1, y1 = (int(v) for v in box)
    side = x1 - x0
    pts = np.asarray(landmarks, np.float64) - [x0, y0]
    up = pts[BROWS].mean(axis=0) - pts[8]                      # chin to brows: the face's height and its up
    outline = convex_hull(np.concatenate([pts[JAW], pts[BROWS], pts[BROWS] + FOREHEAD * up]))
    centre = outline.mean(axis=0)
    outline = centre + (outline - centre) * (1 + MARGIN)
    hard = Image.new("L", (side, side), 0)
    ImageDraw.Draw(hard).polygon([tuple(p) for p in outline], fill=255)
    # A box blur three times over is close to a Gaussian; its ramp spans about FEATHER of the side.
    radius = max(1, int(round(FEATHER * side / 3)))
    soft = hard
    for _ in range(3):
        soft = soft.filter(ImageFilter.BoxBlur(radius))
    mask = np.asarray(soft, np.float64) / 255
    i = np.arange(side)
    edge = np.minimum(i, side - 1 - i)
    edge = np.minimum(edge[:, None], edge[None, :])                   # pixels to the box's nearest edge
    return mask * np.clip(edge / max(1.0, FEATHER * side), 0, 1)     # 0 on the box's edge, whatever the face


def match_seam(frame: np.ndarray, photo_part: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``frame`` (resized to the box) shifted in colour to meet the photo at the seam: each channel moves by the mean
    difference photo - frame over the seam, weighted by ``4 m (1 - m)`` of the mask ``m`` (1 where the mask is one
    half, 0 where the face or the photo alone shows). ``photo_part``: the photo under the box. Returns uint8."""
    seam = 4 * mask * (1 - mask)
    if seam.sum() < 1e-6:
        return frame
    diff = photo_part.astype(np.float64) - frame.astype(np.float64)
    shift = (diff * seam[..., None]).sum(axis=(0, 1)) / seam.sum()
    return np.clip(np.round(frame + shift), 0, 255).astype(np.uint8)


def paste_frames(frames, photo: np.ndarray, box, landmarks) -> np.ndarray:
    """Every frame of ``frames`` (T x S x S x 3, the animated crop of ``box``) put back into ``photo``: resized to the
    box, colour-matched at the seam (:func:`match_seam`) and blended through :func:`face_mask`. T x H x W x 3 uint8,
    equal to the photo outside the box."""
    x0, y0, x1, y1 = (int(v) for v in box)
    mask = face_mask(landmarks, box)
    under = crop(photo, box)                                         # the photo beneath the box (edge-padded past it)
    out = np.empty((len(frames), *photo.shape), np.uint8)
    for t, frame in enumerate(frames):
        big = match_seam(resize(np.asarray(frame), (y1 - y0, x1 - x0)), under, mask)
        out[t] = paste_back(big, photo, box, mask=mask)
    return out


def animate(photo, render, size: int, face: int | None = None, paste: bool = True) -> PhotoClip:
    """``photo`` (anything :func:`i2vlib.inputs.check_image` accepts) with its face animated by ``render(crop,
    landmarks)``, which draws the frames (T x ``size`` x ``size`` x 3 uint8) of the aligned crop whose 68 landmarks
    (crop pixels) are given.
    ``face``: which face (1: the largest, the default); ``paste=False`` keeps the crop's frames. See the module
    docstring for the four steps."""
    photo = check_image(photo, "photo")
    found, count = find_face(photo, face)
    box = crop_box(found.landmarks, photo.shape)
    frames = np.asarray(render(crop(photo, box, size), box_transform(found.landmarks, box, size)))
    if paste:
        frames = paste_frames(frames, photo, box, found.landmarks)
    return PhotoClip(frames=frames, box=box, landmarks=found.landmarks, faces=count, face=1 if face is None else
                     int(face), size=int(size), pasted=paste)
