"""Which layout a folder is in, and :func:`open_dataset`: open any of them."""

from __future__ import annotations

from pathlib import Path

from ...errors import I2VError
from ...io import IMAGE_SUFFIXES
from .affinegan import read_affinegan
from .dataset import FolderDataset, images_in
from .readers import VIDEO_SUFFIXES, read_ckplus, read_mug, read_video_folder

LAYOUTS = ("affinegan", "ck+", "mug", "videos")


def detect_layout(path) -> str:
    """Which layout the folder ``path`` is in: one of :data:`LAYOUTS`."""
    path = Path(path)
    if not path.exists():
        raise I2VError(f"no such file or folder: {path}")
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            return "videos"
        raise I2VError(f"{path} is neither an image nor a video ({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})")
    if path.name == "cohn-kanade-images" or (path / "cohn-kanade-images").is_dir():
        return "ck+"
    if (path / "metadata.json").is_file() or _first(p for p in path.glob("*/*/img/*") if p.is_dir()):
        return "affinegan"
    if _first(p for p in path.glob("*/*/*") if p.is_dir() and p.name.lower().startswith("take")):
        return "mug"
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    if not entries:
        raise I2VError(f"{path} is an empty folder: nothing to read")
    if any((p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES)
           or (p.is_dir() and images_in(p)) for p in entries):
        return "videos"
    raise I2VError(f"cannot tell the layout of {path}: expected the AffineGAN layout, CK+, MUG, "
                   "or a folder of videos, frame folders or photos")


def _first(it):
    return next(iter(it), None)


def open_dataset(path, **kwargs) -> FolderDataset:
    """Open any supported folder (or one video/photo), detecting its layout; see :func:`detect_layout`."""
    layout = detect_layout(path)
    reader = {"affinegan": read_affinegan, "ck+": read_ckplus, "mug": read_mug,
              "videos": read_video_folder}[layout]
    return reader(path, **kwargs)
