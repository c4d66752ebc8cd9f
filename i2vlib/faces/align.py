"""Align faces by cropping: one square box per face, crop, map landmarks, paste back.

The papers train on tightly cropped, roughly centred faces (CK+, MUG and Cheeks&Eyes were
cropped to the face before training). We follow the simplest recipe that keeps a clip
steady: the box is computed ONCE from the neutral frame's landmarks and reused for every
frame, so the head's own motion stays in the video instead of being aligned away.

Boxes are ``(x0, y0, x1, y1)`` integer pixel indices, half-open (columns ``x0 .. x1-1``).
Pixel centres sit at integer coordinates, so pixel ``i`` spans ``[i - 0.5, i + 0.5]``.
"""

from __future__ import annotations

import numpy as np

from ..errors import I2VError

# The 68 landmarks run from the brows to the chin and across the jaw. The square's side is
# CROP_SCALE times their larger extent: 1.6 leaves room for the forehead, a bit of hair and
# the chin's shadow without letting the background dominate.
CROP_SCALE = 1.6
# The centre of the eyes and the mouth sits near the nose tip, below the middle of a
# face-with-forehead; lifting it by this fraction of the side balances hair and chin.
CENTRE_LIFT = 0.06

EYES = slice(36, 48)
MOUTH = slice(48, 68)


def crop_box(landmarks, image_shape, scale: float = CROP_SCALE) -> tuple[int, int, int, int]:
    """One square box around the face whose 68 landmarks are given.

    Centre: halfway between the eyes' centre and the mouth's centre, lifted by
    :data:`CENTRE_LIFT` of the side. Side: ``scale`` times the larger of the landmarks'
    width and height. The box may reach past the image border; :func:`crop` pads there.
    ``image_shape``: the ``(H, W, ...)`` shape of the image the landmarks live in.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise I2VError(f"expected 68 x 2 finite landmarks, got shape {pts.shape}")
    h, w = image_shape[:2]
    if (pts[:, 0].max() < 0 or pts[:, 1].max() < 0 or pts[:, 0].min() > w - 1
            or pts[:, 1].min() > h - 1):
        raise I2VError(f"the landmarks lie outside the {w}x{h} image")
    side = int(round(scale * max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))))
    side = max(side, 8)
    centre = (pts[EYES].mean(axis=0) + pts[MOUTH].mean(axis=0)) / 2 - [0.0, CENTRE_LIFT * side]
    x0 = int(round(centre[0] - side / 2))
    y0 = int(round(centre[1] - side / 2))
    return (x0, y0, x0 + side, y0 + side)


def crop(image: np.ndarray, box, size: int | None = None, pad: str = "edge") -> np.ndarray:
    """Cut ``box`` out of ``image`` and resize it to ``size`` x ``size`` (``None``: keep).

    Where the box leaves the image it is padded by repeating the border (``pad="edge"``)
    or with black (``pad="black"``). Works on H x W and H x W x C images.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise I2VError(f"expected an H x W or H x W x C image, got shape {image.shape}")
    if pad not in ("edge", "black"):
        raise I2VError(f"unknown pad mode {pad!r}; choose edge or black")
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise I2VError(f"empty crop box {tuple(box)}")
    if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h:
        raise I2VError(f"crop box {tuple(box)} does not overlap the {w}x{h} image")
    inside = image[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w)]
    widths = [(max(0, -y0), max(0, y1 - h)), (max(0, -x0), max(0, x1 - w))] + [(0, 0)] * (image.ndim - 2)
    out = np.pad(inside, widths, mode="edge" if pad == "edge" else "constant")
    return out if size is None else resize(out, (size, size))


def resize(image: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize an H x W (x C) uint8 or bool array to ``size = (height, width)`` (bicubic, antialiased)."""
    from PIL import Image

    image = np.asarray(image)
    if image.shape[:2] == tuple(size):
        return image.copy()
    if image.dtype == bool:
        return resize(image.astype(np.uint8) * 255, size, nearest=nearest) > 127
    squeeze = image.ndim == 3 and image.shape[2] == 1
    pil = Image.fromarray(np.ascontiguousarray(image[..., 0] if squeeze else image))
    method = Image.Resampling.NEAREST if nearest else Image.Resampling.BICUBIC
    out = np.asarray(pil.resize((size[1], size[0]), method))
    return out[..., None] if squeeze else out


def box_transform(landmarks, box, size: int, inverse: bool = False) -> np.ndarray:
    """Map landmarks from the image into the ``size`` x ``size`` crop of ``box`` (or back).

    The box spans ``[x0 - 0.5, x1 - 0.5]`` in the image and ``[-0.5, size - 0.5]`` in the
    crop, which is exactly the mapping :func:`crop`'s resize applies to pixels.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    x0, y0, x1, _ = (float(v) for v in box)
    s = size / (x1 - x0)
    origin = np.array([x0, y0]) - 0.5
    if inverse:
        out = (pts + 0.5) / s + origin
    else:
        out = (pts - origin) * s - 0.5
    return out.astype(np.float32)


def paste_back(crop_image: np.ndarray, image: np.ndarray, box, feather: float = 0.0, mask=None) -> np.ndarray:
    """Put a (generated) crop back into a copy of the photo it was cut from.

    The crop is resized to the box and written where the box overlaps the image.
    ``feather``: blend a border of this fraction of the side linearly into the photo, so
    a generated face has no hard seam. ``mask`` (instead of ``feather``): the box's own blend
    weights, a box-sized array in [0, 1] (1 takes the crop's pixel, 0 keeps the photo's). Pixels
    outside the box are never touched. Returns the new image; ``image`` is untouched.
    """
    image = np.asarray(image)
    crop_image = np.asarray(crop_image)
    if crop_image.ndim == 3 and image.ndim == 2:
        crop_image = crop_image[..., :3].mean(axis=2).round().astype(image.dtype)
    elif crop_image.ndim == 2 and image.ndim == 3:
        crop_image = np.repeat(crop_image[..., None], image.shape[2], axis=2)
    x0, y0, x1, y1 = (int(v) for v in box)
    h, w = image.shape[:2]
    big = resize(crop_image, (y1 - y0, x1 - x0)).astype(np.float64)
    out = image.copy()
    ys, xs = slice(max(y0, 0), min(y1, h)), slice(max(x0, 0), min(x1, w))
    if ys.start >= ys.stop or xs.start >= xs.stop:
        return out
    inside = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
    part = big[inside]
    if mask is not None:
        mask = np.asarray(mask, dtype=np.float64)
        if mask.shape != (y1 - y0, x1 - x0) or not (np.isfinite(mask).all() and 0 <= mask.min() and mask.max() <= 1):
            raise I2VError(f"a paste mask holds one weight in [0, 1] per pixel of the {x1 - x0} x {y1 - y0} box, "
                           f"got shape {mask.shape}")
    elif feather > 0:
        ramp = max(1.0, feather * (x1 - x0))
        yy = np.arange(y1 - y0)[:, None]
        xx = np.arange(x1 - x0)[None, :]
        edge = np.minimum(np.minimum(yy, y1 - y0 - 1 - yy), np.minimum(xx, x1 - x0 - 1 - xx))
        mask = np.clip((edge + 1) / ramp, 0, 1)
    if mask is not None:
        alpha = mask[inside]
        if part.ndim == 3:
            alpha = alpha[..., None]
        part = alpha * part + (1 - alpha) * out[ys, xs]
    out[ys, xs] = np.clip(np.round(part), 0, 255).astype(image.dtype)
    return out
