"""Readers of third-party layouts: CK+, MUG, and a folder of videos, frame folders or photos.

Each returns a :class:`~.dataset.FolderDataset` whose clips are all in the split ``"train"``.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import I2VError
from ...io import IMAGE_SUFFIXES
from ..video import READ_SUFFIXES as VIDEO_SUFFIXES
from .dataset import ClipRef, FolderDataset, existing_dir, images_in, natural_key, subdirs

UNLABELLED = "unlabelled"
CKPLUS_EMOTIONS = {0: "neutral", 1: "anger", 2: "contempt", 3: "disgust", 4: "fear",
                   5: "happy", 6: "sadness", 7: "surprise"}
MUG_EXPRESSIONS = {"happiness": "happy"}  # MUG's other folder names already match ours


def read_ckplus(root, keep_unlabelled: bool = False) -> FolderDataset:
    """Read CK+: ``cohn-kanade-images/``, ``Landmarks/`` and ``Emotion/`` under ``root``.

    Only about a third of CK+'s sequences carry an emotion label; the rest are skipped
    unless ``keep_unlabelled`` (they then get the expression ``"unlabelled"``).
    Landmarks come from ``Landmarks/`` when every frame of a sequence has its file.
    """
    root = existing_dir(root)
    base = root.parent if root.name == "cohn-kanade-images" else root
    images = base / "cohn-kanade-images"
    if not images.is_dir():
        raise I2VError(f"no cohn-kanade-images/ folder under {root}")
    refs, skipped = [], 0
    for subject in subdirs(images):
        for seq in subdirs(subject):
            frames = images_in(seq)
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


def read_mug(root) -> FolderDataset:
    """Read MUG: ``<subject>/<expression>/take*/img_*.jpg`` (``happiness`` becomes ``happy``)."""
    root = existing_dir(root)
    refs = []
    for subject in subdirs(root):
        for expr in subdirs(subject):
            for take in subdirs(expr):
                frames = images_in(take)
                if frames and take.name.lower().startswith("take"):
                    refs.append(ClipRef(MUG_EXPRESSIONS.get(expr.name, expr.name), subject.name,
                                        f"{subject.name}_{take.name}", "train", frames,
                                        meta={"path": str(take), "dataset": "mug"}))
    if not refs:
        raise I2VError(f"no MUG takes under {root}: expected <subject>/<expression>/take*/ images")
    return FolderDataset(refs, root, "mug")


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
        elif p.is_dir() and images_in(p):
            frames = images_in(p)
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
