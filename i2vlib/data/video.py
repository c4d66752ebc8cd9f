"""Videos as ``T x H x W x 3`` uint8 frames: checking them, reading them from files and frame folders.

:func:`read_video` reads what :func:`i2vlib.render.save_video` writes (``.gif``, ``.mp4``, a folder of
``0000.png, ...``) and whatever else ffmpeg decodes; :func:`read_sidecar` reads its JSON sidecar. A video file
and its sidecar are one unit: the sidecar holds the video's SHA-256, and both readers refuse a pair that
does not agree.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from ..errors import I2VError
from ..io import as_image, read_image, to_numpy, to_rgb, to_uint8
from ..outputs import followed

READ_SUFFIXES = (".gif", ".mp4", ".avi", ".mov", ".webm", ".mkv", ".m4v")
FRAME_NAME = re.compile(r"^(\d+)\.png$")
FOLDER_SIDECAR = "frames.json"   # a frame folder's sidecar, inside it; a file's is beside it, NAME.json
SIDECAR_DIGEST = "sha256"        # the sidecar's key for the SHA-256 of the video file it describes


def file_digest(path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_sidecar(path) -> dict:
    """The sidecar metadata of a video file or frame folder written by :func:`i2vlib.render.save_video`, checked
    against the video: a sidecar that describes another file (another process wrote one of the two, or the video
    was changed since) is one line."""
    path = followed(path)
    side = _sidecar_file(path)
    if not side.is_file():
        raise I2VError(f"no sidecar {side} for {path}")
    try:
        meta = json.loads(side.read_text())
    except (OSError, ValueError) as e:
        raise I2VError(f"cannot read sidecar {side}: {e}") from None
    if not isinstance(meta, dict):
        raise I2VError(f"{side} is not a sidecar (a JSON object)")
    _check_agrees(path, side, meta)
    return meta


def _sidecar_file(path: Path) -> Path:
    return path / FOLDER_SIDECAR if path.is_dir() else path.with_name(path.name + ".json")


def _check_agrees(path: Path, side: Path, meta: dict) -> None:
    """A sidecar that holds a digest must hold the video file's."""
    if path.is_file() and meta.get(SIDECAR_DIGEST) is not None and meta[SIDECAR_DIGEST] != file_digest(path):
        raise I2VError(f"{side} does not describe {path}: it was written for another file (two processes wrote "
                       "them at once, or the video changed since); write the video again")


def _check_own_sidecar(path: Path) -> None:
    """:func:`read_video`'s check: a sidecar of save_video's beside the file must describe it (another JSON file
    of that name is not ours to judge)."""
    path = followed(path)
    try:
        meta = json.loads(_sidecar_file(path).read_text())
    except (OSError, ValueError):
        return
    if isinstance(meta, dict):
        _check_agrees(path, _sidecar_file(path), meta)


def as_frames(frames, what: str = "frames") -> np.ndarray:
    """Return ``frames`` as a contiguous ``T x H x W x 3`` uint8 array (T >= 1).

    Accepts such an array (uint8, float in [0, 1], int in [0, 255], one or three
    channels) or a non-empty list of images of one size (anything
    :func:`i2vlib.io.as_image` converts with ``convert=True``).
    """
    not_frames = f"{what} must be a T x H x W x 3 array or a list of images; got {type(frames).__name__}"
    if isinstance(frames, (str, bytes, Path)) or frames is None:
        raise I2VError(not_frames)
    if isinstance(frames, np.ndarray) or hasattr(frames, "detach"):
        a = to_numpy(frames)
        if a.ndim == 3 and a.shape[-1] == 3:
            raise I2VError(f"{what} must be T x H x W x 3; got one image of shape {tuple(a.shape)} (wrap it in a list)")
        if a.ndim != 4:
            raise I2VError(f"{what} must be T x H x W x 3; got shape {tuple(a.shape)}")
        if a.shape[0] == 0:
            raise I2VError(f"{what} are empty (no frames)")
        if 0 in a.shape[1:3]:
            raise I2VError(f"{what} have an empty frame size {tuple(a.shape)}")
        return np.ascontiguousarray(to_rgb(to_uint8(a, what), what))
    try:
        items = list(frames)
    except TypeError:
        raise I2VError(not_frames) from None
    if not items:
        raise I2VError(f"{what} are empty (no frames)")
    images = [as_image(x, f"frame {i}", convert=True) for i, x in enumerate(items)]
    h, w = images[0].shape[:2]
    for i, im in enumerate(images):
        if im.shape[:2] != (h, w):
            raise I2VError(f"{what} differ in size: frame {i} is {im.shape[0]}x{im.shape[1]}, "
                           f"frame 0 is {h}x{w} (H x W)")
    return np.stack(images)


def read_video(path, max_frames: int | None = None) -> np.ndarray:
    """Read a video file or a folder of numbered PNG frames as ``T x H x W x 3`` uint8.

    Reads what :func:`save_video` writes (``.gif``, ``.mp4``, a folder of ``0000.png, ...``)
    and the other formats ffmpeg decodes (``.avi``, ``.mov``, ``.webm``, ``.mkv``, ``.m4v``); a file whose
    sidecar describes another file is refused (:func:`read_sidecar`).
    ``max_frames`` stops after that many frames. MP4 frames keep the even (padded) size
    they were encoded at; compare with the sidecar's ``height``/``width`` to crop.
    """
    path = Path(path)
    if not path.exists():
        raise I2VError(f"no such video: {path}")
    suffix = "" if path.is_dir() else path.suffix.lower()
    if suffix and suffix not in READ_SUFFIXES:
        raise I2VError(f"unsupported video suffix {path.suffix!r} in {path.name}: "
                       f"read_video reads {', '.join(READ_SUFFIXES)} or a folder of PNG frames")
    if suffix:
        _check_own_sidecar(path)
    try:
        if not suffix:
            frames = _read_frame_folder(path, max_frames)
        elif suffix == ".gif":
            frames = _read_gif(path, max_frames)
        else:
            frames = _read_ffmpeg(path, max_frames)
    except I2VError:
        raise
    except Exception as e:  # Pillow and ffmpeg raise many types, ffmpeg with its log attached
        first = (str(e).strip().splitlines() or [""])[0]
        raise I2VError(f"cannot read video {path}: {type(e).__name__}: {first}") from None
    if not frames:
        raise I2VError(f"video {path} has no frames")
    return as_frames(frames, f"frames of {path}")


def _read_frame_folder(path: Path, max_frames: int | None) -> list[np.ndarray]:
    names = sorted((p for p in path.iterdir() if FRAME_NAME.match(p.name)),
                   key=lambda p: int(FRAME_NAME.match(p.name).group(1)))
    if not names:
        raise I2VError(f"no numbered PNG frames in {path}")
    return [read_image(p) for p in names[:max_frames or None]]


def _read_gif(path: Path, max_frames: int | None) -> list[np.ndarray]:
    from PIL import Image, ImageSequence

    frames = []
    with Image.open(path) as im:
        for f in ImageSequence.Iterator(im):
            frames.append(np.asarray(f.convert("RGB")))
            if max_frames and len(frames) >= max_frames:
                break
    return frames


def _read_ffmpeg(path: Path, max_frames: int | None) -> list[np.ndarray]:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    try:
        w, h = next(gen)["size"]
        frames = []
        for b in gen:
            frames.append(np.frombuffer(b, np.uint8).reshape(h, w, 3))
            if max_frames and len(frames) >= max_frames:
                break
        return frames
    finally:
        gen.close()


def as_reference(reference, max_frames: int):
    """A reference video (FRGAN's retargeting) as a Clip (kept for its true action units) or T x H x W x 3
    uint8 frames: ``reference`` is a Clip, frames, a video file or a folder of frames; at most ``max_frames``."""
    if hasattr(reference, "frames") and hasattr(reference, "expression"):
        return reference
    if isinstance(reference, (str, os.PathLike)):
        reference = read_video(reference)
    frames = np.asarray(reference)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.dtype != np.uint8 or frames.shape[-1] != 3 or 0 in frames.shape:
        raise I2VError(f"a reference video is T x H x W x 3 uint8 frames, a video file or a folder of frames; "
                       f"got {frames.dtype} {frames.shape}")
    if len(frames) > max_frames:
        raise I2VError(f"a reference of {len(frames)} frames: at most {max_frames} are rendered in one call")
    return np.stack([as_image(f, "reference frame") for f in frames])
