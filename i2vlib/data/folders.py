"""On-disk layouts: the AffineGAN folder layout (read and write), CK+, MUG, videos, photos.

Every reader returns a :class:`FolderDataset`: a lazy sequence of :class:`~.types.Clip`
that scans the folder once and reads a clip's frames only when the clip is accessed, so
a dataset of thousands of videos costs nothing until it is used.

The AffineGAN layout, which the embedded benchmark exports and ``i2v prepare`` writes::

    <root>/<expression>/<split>/img/<video>/<frame>.png     frames, first sorted = neutral
    <root>/<expression>/<split>/patch/<video>/<frame>.png   mouth masks, 0/255 (optional)
    <root>/metadata.json                                     landmarks, intensities (optional)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import I2VError
from ..io import IMAGE_SUFFIXES, atomic_dir, json_default, read_image
from .types import Clip

# Version 2 names a synthetic video's intensity curve meta["curve"]; version 1 called it meta["profile"].
FORMAT, VERSION = "i2v-affinegan", 2
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".gif", ".webm", ".mkv", ".m4v")
UNLABELLED = "unlabelled"
CKPLUS_EMOTIONS = {0: "neutral", 1: "anger", 2: "contempt", 3: "disgust", 4: "fear",
                   5: "happy", 6: "sadness", 7: "surprise"}
MUG_EXPRESSIONS = {"happiness": "happy"}  # MUG's other folder names already match ours
LAYOUTS = ("affinegan", "ck+", "mug", "videos")


def natural_key(name: str) -> list:
    """Sort key that orders ``img_2`` before ``img_10``."""
    parts = re.split(r"(\d+)", str(name).lower())
    parts[1::2] = [int(p) for p in parts[1::2]]
    return parts


def _images_in(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
             and not p.name.startswith(".")]
    return sorted(files, key=lambda p: natural_key(p.name))


def _subdirs(folder: Path) -> list[Path]:
    dirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(dirs, key=lambda p: natural_key(p.name))


def _existing_dir(root) -> Path:
    root = Path(root)
    if not root.exists():
        raise I2VError(f"no such folder: {root}")
    if not root.is_dir():
        raise I2VError(f"not a folder: {root}")
    return root


# ---------------------------------------------------------------------------- lazy clips

@dataclass
class ClipRef:
    """Where one clip lives on disk, before its frames are read.

    ``frames`` is a list of image files or one video file; ``landmarks`` an array
    (T x 68 x 2), a list of CK+ landmark files, or None; ``masks`` a list of mask images or None.
    ``meta["path"]`` is where the clip lives on disk.
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
            from ..render.export import read_video

            frames = read_video(self.frames, self.max_frames)
            names = [f"{t:04d}" for t in range(len(frames))]
        else:
            frames = _stack([read_image(p) for p in self.frames], self.frames)
            names = self.frame_names or [p.stem for p in self.frames]
        h, w = frames.shape[1:3]
        landmarks = self.landmarks
        if isinstance(landmarks, list):
            landmarks = np.stack([_read_ckplus_landmarks(p) for p in landmarks])
        masks = None
        if self.masks is not None:
            from ..faces.align import resize

            masks = np.stack([resize(read_image(p, gray_to_rgb=False) > 127, (h, w)) for p in self.masks])
        if size is not None and (h, w) != (size, size):
            from ..faces.align import resize

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
    ``layout`` names the format (one of :data:`LAYOUTS`); ``size`` resizes frames on load.
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


# ---------------------------------------------------------------------------- AffineGAN layout

def write_affinegan(root, clips: Iterable[Clip], overwrite: bool = False) -> Path:
    """Write clips in the AffineGAN folder layout plus ``metadata.json``; return ``root``.

    Masks are ``clip.masks`` if given, else computed from ``clip.landmarks`` (mouth hull),
    else not written. ``clips`` may be a generator: they are written one at a time.
    Atomic: everything goes to a hidden sibling folder that is renamed onto ``root`` at
    the end, so an error (or Ctrl-C) leaves no half-written ``root``.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise I2VError(f"{root} exists and is not a folder")
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise I2VError(f"{root} exists and is not empty; pass overwrite=True (--overwrite) to replace it")
    with atomic_dir(root) as tmp:
        seen: set[str] = set()
        with open(tmp / "metadata.json", "w") as meta:
            meta.write(json.dumps({"format": FORMAT, "version": VERSION})[:-1] + ', "videos": {')
            for clip in clips:
                key, entry = _write_clip(tmp, clip, seen)
                meta.write(("," if len(seen) > 1 else "") + "\n " + json.dumps(key) + ": " + entry)
            meta.write("\n}}\n")
        if not seen:
            raise I2VError(f"no clips to write to {root}")
    return root


def _safe_name(name, what: str) -> str:
    name = str(name)
    if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith("."):
        raise I2VError(f"{what} {name!r} cannot be a folder or file name")
    return name


def _write_clip(tmp: Path, clip: Clip, seen: set) -> tuple[str, str]:
    from PIL import Image

    from ..faces.masks import mouth_mask

    if not isinstance(clip, Clip):
        raise I2VError(f"write_affinegan expects Clip objects, got {type(clip).__name__}")
    expression, split = _safe_name(clip.expression, "expression"), _safe_name(clip.split, "split")
    key = f"{expression}/{split}/{_safe_name(clip.video_id, 'video id')}"
    if key in seen:
        raise I2VError(f"two clips share the video id {key}")
    frames = np.asarray(clip.frames)
    if frames.ndim == 4 and frames.shape[-1] == 1:
        frames = frames[..., 0]
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or len(frames) == 0 \
            or (frames.ndim == 4 and frames.shape[-1] != 3):
        raise I2VError(f"clip {key}: frames must be T x H x W x 3 uint8, got {frames.dtype} {frames.shape}")
    t, h, w = frames.shape[:3]
    names = [_safe_name(n, f"clip {key}: frame name") for n in clip.frame_names]
    if len(names) != t or len(set(names)) != t:
        raise I2VError(f"clip {key}: needs {t} distinct frame names, got {len(names)}")
    if sorted(names, key=natural_key) != names:
        raise I2VError(f"clip {key}: frame names must sort in frame order (the first sorted is the neutral)")
    landmarks = None if clip.landmarks is None else np.asarray(clip.landmarks, dtype=np.float32)
    if landmarks is not None and landmarks.shape != (t, 68, 2):
        raise I2VError(f"clip {key}: landmarks must be {t} x 68 x 2, got {landmarks.shape}")
    intensity = None if clip.intensity is None else np.asarray(clip.intensity, dtype=np.float64).ravel()
    if intensity is not None and len(intensity) != t:
        raise I2VError(f"clip {key}: {len(intensity)} intensities for {t} frames")
    masks = clip.masks
    if masks is None and landmarks is not None:
        masks = np.stack([mouth_mask(lm, (h, w)) for lm in landmarks])
    if masks is not None and np.shape(masks) != (t, h, w):
        raise I2VError(f"clip {key}: masks must be {t} x {h} x {w}, got {np.shape(masks)}")
    try:
        entry = json.dumps({
            "identity": str(clip.identity), "frames": names,
            "landmarks": None if landmarks is None else np.round(landmarks.astype(np.float64), 2).tolist(),
            "intensity": None if intensity is None else [round(float(a), 6) for a in intensity],
            "meta": clip.meta or {}}, default=json_default)
    except (TypeError, ValueError) as e:
        raise I2VError(f"clip {key}: meta is not JSON-serialisable ({e})") from None

    base = tmp / expression / split
    img_dir = base / "img" / clip.video_id
    img_dir.mkdir(parents=True)
    for name, frame in zip(names, frames):
        Image.fromarray(frame).save(img_dir / f"{name}.png")
    if masks is not None:
        patch_dir = base / "patch" / clip.video_id
        patch_dir.mkdir(parents=True)
        for name, m in zip(names, np.asarray(masks)):
            Image.fromarray((m > 0).astype(np.uint8) * 255).save(patch_dir / f"{name}.png")
    seen.add(key)
    return key, entry


def read_affinegan(root, split: str | None = None, expressions=None, size: int | None = None) -> FolderDataset:
    """Read the AffineGAN layout: ours (with ``metadata.json``) or anyone's.

    Frames may be gray or RGB, any size (``size`` resizes them to size x size), named in
    any order that sorts naturally (``img_2`` before ``img_10``); the first is the neutral.
    Without ``metadata.json`` landmarks and intensities are None and identity = video id.
    Files written before version 2 keep a synthetic video's intensity curve under
    ``meta["profile"]``; it is read as ``meta["curve"]``.
    """
    root = _existing_dir(root)
    videos = _read_metadata(root)
    refs = []
    for expr_dir in _subdirs(root):
        for split_dir in _subdirs(expr_dir):
            if not (split_dir / "img").is_dir():
                continue
            for vid_dir in _subdirs(split_dir / "img"):
                frames = _images_in(vid_dir)
                if frames:
                    refs.append(_affinegan_ref(expr_dir.name, split_dir.name, vid_dir, frames, videos))
    if not refs:
        raise I2VError(f"no clips under {root}: expected <expression>/<split>/img/<video>/<frame> images")
    return FolderDataset(refs, root, "affinegan", size).filter(split, expressions)


def _read_metadata(root: Path) -> dict:
    """The ``videos`` entries of ``root/metadata.json`` (``{}`` without one), upgraded to :data:`VERSION`."""
    path = root / "metadata.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise I2VError(f"cannot read {path}: {type(e).__name__}: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("videos"), dict):
        raise I2VError(f"{path} is not an {FORMAT} metadata file")
    videos, version = data["videos"], data.get("version", 1)
    if not isinstance(version, int) or version < 2:
        videos = {key: _upgrade_v1(entry) for key, entry in videos.items()}
    return videos


def _upgrade_v1(entry):
    """A version-1 video entry with its ``meta["profile"]`` (the intensity curve) renamed ``meta["curve"]``."""
    if not isinstance(entry, dict) or not isinstance(entry.get("meta"), dict):
        return entry
    meta = dict(entry["meta"])
    if "profile" in meta and "curve" not in meta:
        meta["curve"] = meta.pop("profile")
    return dict(entry, meta=meta)


def _affinegan_ref(expression, split, vid_dir: Path, frames: list[Path], videos: dict) -> ClipRef:
    names = [p.stem for p in frames]
    patch_dir = vid_dir.parent.parent / "patch" / vid_dir.name
    masks = None
    if patch_dir.is_dir():
        by_stem = {p.stem: p for p in _images_in(patch_dir)}
        if all(n in by_stem for n in names):
            masks = [by_stem[n] for n in names]
    entry = videos.get(f"{expression}/{split}/{vid_dir.name}") or {}
    order = {n: i for i, n in enumerate(entry.get("frames") or [])}
    landmarks = intensity = None
    if order and all(n in order for n in names):
        idx = [order[n] for n in names]
        if entry.get("landmarks") is not None:
            landmarks = np.asarray(entry["landmarks"], dtype=np.float32)[idx]
        if entry.get("intensity") is not None:
            intensity = np.asarray(entry["intensity"], dtype=np.float32)[idx]
    meta = dict(entry.get("meta") or {}, path=str(vid_dir))
    return ClipRef(expression, str(entry.get("identity", vid_dir.name)), vid_dir.name, split, frames,
                   masks=masks, landmarks=landmarks, intensity=intensity, frame_names=names, meta=meta)


# ---------------------------------------------------------------------------- CK+

def read_ckplus(root, keep_unlabelled: bool = False) -> FolderDataset:
    """Read CK+: ``cohn-kanade-images/``, ``Landmarks/`` and ``Emotion/`` under ``root``.

    Only about a third of CK+'s sequences carry an emotion label; the rest are skipped
    unless ``keep_unlabelled`` (they then get the expression ``"unlabelled"``).
    Landmarks come from ``Landmarks/`` when every frame of a sequence has its file.
    """
    root = _existing_dir(root)
    base = root.parent if root.name == "cohn-kanade-images" else root
    images = base / "cohn-kanade-images"
    if not images.is_dir():
        raise I2VError(f"no cohn-kanade-images/ folder under {root}")
    refs, skipped = [], 0
    for subject in _subdirs(images):
        for seq in _subdirs(subject):
            frames = _images_in(seq)
            if not frames:
                continue
            code = _ckplus_emotion(base / "Emotion" / subject.name / seq.name)
            if code is None and not keep_unlabelled:
                skipped += 1
                continue
            lm_dir = base / "Landmarks" / subject.name / seq.name
            lm_files = [lm_dir / f"{p.stem}_landmarks.txt" for p in frames]
            refs.append(ClipRef(
                UNLABELLED if code is None else CKPLUS_EMOTIONS[code], subject.name,
                f"{subject.name}_{seq.name}", "train", frames,
                landmarks=lm_files if all(p.is_file() for p in lm_files) else None,
                meta={"path": str(seq), "dataset": "ck+", "emotion_code": code}))
    if not refs:
        hint = f" ({skipped} unlabelled sequences skipped; keep_unlabelled=True keeps them)" if skipped else ""
        raise I2VError(f"no CK+ sequences under {root}{hint}")
    return FolderDataset(refs, base, "ck+", info={"skipped_unlabelled": skipped})


def _ckplus_emotion(folder: Path) -> int | None:
    files = sorted(folder.glob("*_emotion.txt")) if folder.is_dir() else []
    if not files:
        return None
    try:
        code = int(round(float(files[0].read_text().split()[0])))
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        raise I2VError(f"cannot read the emotion code in {files[0]}") from None
    if code not in CKPLUS_EMOTIONS:
        raise I2VError(f"unknown CK+ emotion code {code} in {files[0]} (expected 0-7)")
    return code


def _read_ckplus_landmarks(path: Path) -> np.ndarray:
    try:
        rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
        pts = np.array(rows, dtype=np.float32)
    except (OSError, ValueError, UnicodeDecodeError):
        raise I2VError(f"cannot read the landmarks in {path}") from None
    if pts.shape != (68, 2):
        raise I2VError(f"{path} holds {pts.shape} values, expected 68 lines of 'x y'")
    return pts


# ---------------------------------------------------------------------------- MUG

def read_mug(root) -> FolderDataset:
    """Read MUG: ``<subject>/<expression>/take*/img_*.jpg`` (``happiness`` becomes ``happy``)."""
    root = _existing_dir(root)
    refs = []
    for subject in _subdirs(root):
        for expr in _subdirs(subject):
            for take in _subdirs(expr):
                frames = _images_in(take)
                if frames and take.name.lower().startswith("take"):
                    refs.append(ClipRef(MUG_EXPRESSIONS.get(expr.name, expr.name), subject.name,
                                        f"{subject.name}_{take.name}", "train", frames,
                                        meta={"path": str(take), "dataset": "mug"}))
    if not refs:
        raise I2VError(f"no MUG takes under {root}: expected <subject>/<expression>/take*/ images")
    return FolderDataset(refs, root, "mug")


# ---------------------------------------------------------------------------- videos and photos

def read_video_folder(root, max_frames: int | None = None) -> FolderDataset:
    """Each video file or sub-folder of frames under ``root`` is a clip; loose photos are one-frame clips.

    ``root`` may also be a single video or image file. Expressions are ``"unlabelled"``;
    the first frame is taken as the neutral. ``max_frames`` keeps only the start of long videos.
    """
    root = Path(root)
    if not root.exists():
        raise I2VError(f"no such file or folder: {root}")
    entries = [root] if root.is_file() else [p for p in sorted(root.iterdir(), key=lambda p: natural_key(p.name))
                                              if not p.name.startswith(".")]
    refs, ids = [], set()
    for p in entries:
        suffix = p.suffix.lower()
        if p.is_file() and suffix in VIDEO_SUFFIXES:
            frames = p
        elif p.is_file() and suffix in IMAGE_SUFFIXES:
            frames = [p]
        elif p.is_dir() and _images_in(p):
            frames = _images_in(p)
        else:
            continue
        vid = p.stem if p.is_file() else p.name
        if vid in ids:
            vid = p.name.replace(".", "_")
        ids.add(vid)
        refs.append(ClipRef(UNLABELLED, vid, vid, "train", frames, meta={"path": str(p)},
                            max_frames=max_frames))
    if not refs:
        what = "is empty" if not entries else "holds no videos, frame folders or images"
        raise I2VError(f"{root} {what}")
    return FolderDataset(refs, root if root.is_dir() else root.parent, "videos")


# ---------------------------------------------------------------------------- auto-detection

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
        raise I2VError(f"{path} is empty")
    if any((p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES)
           or (p.is_dir() and _images_in(p)) for p in entries):
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
