"""The AffineGAN folder layout (Shen et al.'s public code), which the benchmark exports and ``i2v prepare`` writes::

    <root>/<expression>/<split>/img/<video>/<frame>.png     frames, first sorted = neutral
    <root>/<expression>/<split>/patch/<video>/<frame>.png   mouth masks, 0/255 (optional)
    <root>/metadata.json                                     landmarks, intensities (optional)

:func:`write_affinegan` writes it atomically; :func:`read_affinegan` reads ours or anyone's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ...clip_record import Clip
from ...errors import I2VError
from ...faces.masks import mouth_mask
from ...io import json_default, write_image
from ...outputs import atomic_dir, check_replaceable
from .dataset import ClipRef, FolderDataset, existing_dir, images_in, natural_key, subdirs

# Version 2 names a synthetic video's intensity curve meta["curve"]; version 1 called it meta["profile"].
FORMAT, VERSION = "i2v-affinegan", 2


def write_affinegan(root, clips: Iterable[Clip], overwrite: bool = False) -> Path:
    """Write clips in the AffineGAN folder layout plus ``metadata.json``; return ``root``.

    Masks are ``clip.masks`` if given, else computed from ``clip.landmarks`` (mouth hull),
    else not written. ``clips`` may be a generator: they are written one at a time.
    Atomic: everything goes to a hidden sibling folder that is renamed onto ``root`` at
    the end, so an error (or Ctrl-C) leaves no half-written ``root``.
    """
    root = check_replaceable(root, overwrite)
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
        write_image(img_dir / f"{name}.png", frame)
    if masks is not None:
        patch_dir = base / "patch" / clip.video_id
        patch_dir.mkdir(parents=True)
        for name, m in zip(names, np.asarray(masks)):
            write_image(patch_dir / f"{name}.png", (m > 0).astype(np.uint8) * 255)
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
    root = existing_dir(root)
    videos = _read_metadata(root)
    refs = []
    for expr_dir in subdirs(root):
        for split_dir in subdirs(expr_dir):
            if not (split_dir / "img").is_dir():
                continue
            for vid_dir in subdirs(split_dir / "img"):
                frames = images_in(vid_dir)
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
        by_stem = {p.stem: p for p in images_in(patch_dir)}
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
