"""A folder as a lazy sequence of clips: :class:`ClipRef` (where a clip lives) and :class:`FolderDataset`.

Every reader of :mod:`i2vlib.data.folders` scans its folder once into a list of
:class:`ClipRef`; a clip's frames are read only when the clip is accessed, so a dataset of
thousands of videos costs nothing until it is used. The scanning helpers live here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...clip_record import Clip
from ...errors import I2VError
from ...faces.align import resize
from ...io import IMAGE_SUFFIXES, read_image
from ..video import read_video


def natural_key(name: str) -> list:
    """Sort key that orders ``img_2`` before ``img_10``."""
    parts = re.split(r"(\d+)", str(name).lower())
    parts[1::2] = [int(p) for p in parts[1::2]]
    return parts


def images_in(folder: Path) -> list[Path]:
    """The image files of ``folder`` in natural order (hidden files left out)."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
             and not p.name.startswith(".")]
    return sorted(files, key=lambda p: natural_key(p.name))


def subdirs(folder: Path) -> list[Path]:
    """The sub-folders of ``folder`` in natural order (hidden ones left out)."""
    dirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(dirs, key=lambda p: natural_key(p.name))


def existing_dir(root) -> Path:
    """``root`` as a Path; a missing folder or a file is an :class:`I2VError`."""
    root = Path(root)
    if not root.exists():
        raise I2VError(f"no such folder: {root}")
    if not root.is_dir():
        raise I2VError(f"not a folder: {root}")
    return root


@dataclass
class ClipRef:
    """Where one clip lives on disk, before its frames are read.

    ``frames`` is a list of image files or one video file; ``landmarks`` an array (T x 68 x 2),
    a list of landmark files (:func:`read_landmark_file`), or None; ``masks`` a list of mask
    images or None. ``meta["path"]`` is where the clip lives on disk.
    """

    expression: str
    identity: str
    video_id: str
    split: str
    frames: list[Path] | Path
    masks: list[Path] | None = None
    landmarks: np.ndarray | list[Path] | None = None
    intensity: np.ndarray | None = None
    frame_names: list[str] | None = None
    meta: dict = field(default_factory=dict)
    max_frames: int | None = None

    @property
    def key(self) -> str:
        """``expression/split/video_id``: unique within a dataset."""
        return f"{self.expression}/{self.split}/{self.video_id}"

    def load(self, size: int | None = None) -> Clip:
        """Read the frames (and masks, landmarks) into a :class:`Clip`; ``size`` resizes to size x size."""
        if isinstance(self.frames, Path):
            frames = read_video(self.frames, self.max_frames)
            names = [f"{t:04d}" for t in range(len(frames))]
        else:
            frames = _stack([read_image(p) for p in self.frames], self.frames)
            names = self.frame_names or [p.stem for p in self.frames]
        h, w = frames.shape[1:3]
        landmarks = self.landmarks
        if isinstance(landmarks, list):
            landmarks = np.stack([read_landmark_file(p) for p in landmarks])
        masks = None
        if self.masks is not None:
            masks = np.stack([resize(read_image(p, gray_to_rgb=False) > 127, (h, w)) for p in self.masks])
        if size is not None and (h, w) != (size, size):
            frames = np.stack([resize(f, (size, size)) for f in frames])
            if masks is not None:
                masks = np.stack([resize(m, (size, size)) for m in masks])
            if landmarks is not None:
                landmarks = (landmarks + 0.5) * np.array([size / w, size / h], dtype=np.float32) - 0.5
        return Clip(frames=frames, expression=self.expression, identity=self.identity,
                    video_id=self.video_id, split=self.split,
                    landmarks=None if landmarks is None else np.asarray(landmarks, dtype=np.float32),
                    intensity=None if self.intensity is None else np.asarray(self.intensity, dtype=np.float32),
                    masks=masks, frame_names=list(names), meta=dict(self.meta))


def _stack(frames: list[np.ndarray], paths) -> np.ndarray:
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise I2VError(f"the frames of {Path(paths[0]).parent} differ in size: {sorted(shapes)}")
    return np.stack(frames)


class FolderDataset(Sequence):
    """A lazy, indexable sequence of :class:`Clip` read from one folder.

    ``refs`` are the clips found by the scan (cheap); ``ds[i]`` reads clip ``i``.
    ``layout`` names the format (one of :data:`~.detect.LAYOUTS`); ``size`` resizes frames on load.
    """

    def __init__(self, refs: list[ClipRef], root, layout: str, size: int | None = None, info=None):
        self.refs, self.root, self.layout, self.size = list(refs), Path(root), layout, size
        self.info = dict(info or {})

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return FolderDataset(self.refs[i], self.root, self.layout, self.size, self.info)
        return self.refs[i].load(self.size)

    def __iter__(self):
        return (ref.load(self.size) for ref in self.refs)

    @property
    def expressions(self) -> list[str]:
        return sorted({r.expression for r in self.refs})

    @property
    def splits(self) -> list[str]:
        return sorted({r.split for r in self.refs})

    def filter(self, split: str | None = None, expressions: str | Iterable[str] | None = None) -> FolderDataset:
        """The clips of one split and/or some expressions; asking for an absent one is an error."""
        refs = self.refs
        if split is not None:
            if split not in self.splits:
                raise I2VError(f"no split {split!r} under {self.root}; available: {', '.join(self.splits)}")
            refs = [r for r in refs if r.split == split]
        if expressions is not None:
            wanted = [expressions] if isinstance(expressions, str) else list(expressions)
            missing = [e for e in wanted if e not in self.expressions]
            if missing:
                raise I2VError(f"no expression {', '.join(map(repr, missing))} under {self.root}; "
                               f"available: {', '.join(self.expressions)}")
            refs = [r for r in refs if r.expression in wanted]
        if not refs:
            raise I2VError(f"no clips of split {split!r} with expressions {expressions!r} under {self.root}")
        return FolderDataset(refs, self.root, self.layout, self.size, self.info)

    def __repr__(self) -> str:
        return (f"FolderDataset(layout={self.layout!r}, root='{self.root}', clips={len(self)}, "
                f"expressions={self.expressions})")


def read_landmark_file(path: Path) -> np.ndarray:
    """68 lines of ``x y`` (CK+'s ``Landmarks/`` files) as a 68 x 2 array."""
    try:
        rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
        pts = np.array(rows, dtype=np.float32)
    except (OSError, ValueError, UnicodeDecodeError):
        raise I2VError(f"cannot read the landmarks in {path}") from None
    if pts.shape != (68, 2):
        raise I2VError(f"{path} holds {pts.shape} values, expected 68 lines of 'x y'")
    return pts
