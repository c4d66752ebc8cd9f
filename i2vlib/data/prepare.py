"""``i2v prepare``: turn raw face videos or photos into a cropped AffineGAN-layout dataset.

For each clip: find the face on its neutral (first) frame, compute ONE square crop box
from that frame's landmarks, cut every frame with that box (so the clip stays steady and
the head's own motion is kept), find every frame's 68 landmarks inside the neutral's box,
map them into the crop, derive the mouth masks, and write it all with
:func:`~.folders.write_affinegan`. Landmarks that come with the data (CK+, an i2v export)
are used as they are; the backend only fills in clips without them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import I2VError
from ..faces.align import box_transform, crop, crop_box
from ..faces.landmarks import NoFaceError, get_backend
from ..faces.masks import mouth_mask
from .folders import open_dataset, write_affinegan
from .types import Clip


def prepare(src, out, size: int = 128, landmarks: str = "dlib", overwrite: bool = False,
            progress: bool = True) -> dict:
    """Detect, crop and landmark every clip under ``src``; write them to ``out``.

    ``src``: any layout :func:`~.folders.open_dataset` reads (AffineGAN, CK+, MUG, videos,
    frame folders, loose photos, a single file). ``size``: side of the square crops.
    ``landmarks``: ``"dlib"`` (offline), ``"face-alignment"`` or ``"ground-truth"``.
    Clips whose neutral frame shows no face are skipped and counted. Returns a summary:
    clips written and skipped, frames, seconds.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    src, out = Path(src), Path(out)
    if not isinstance(size, (int, np.integer)) or size < 16:
        raise I2VError(f"--size must be an integer of at least 16, got {size!r}")
    if out.resolve() == src.resolve() or src.resolve().is_relative_to(out.resolve()):
        raise I2VError(f"the output {out} must not be the source {src} or contain it")
    dataset = open_dataset(src)
    backend = get_backend(landmarks)
    stats = {"frames": 0, "from_data": 0, "skipped": []}

    def clips():
        for ref in tqdm(dataset.refs, desc=f"prepare {src.name}", unit="clip", disable=not progress):
            clip = prepare_clip(ref.load(), backend, size)
            if clip is None:
                stats["skipped"].append(ref.key)
                continue
            stats["frames"] += len(clip)
            stats["from_data"] += clip.meta["landmarks"] == "data"
            yield clip
        if len(stats["skipped"]) == len(dataset):
            raise I2VError(f"no face found in any of {len(dataset)} clips under {src}")

    write_affinegan(out, clips(), overwrite=overwrite)
    return {"src": str(src), "out": str(out), "layout": dataset.layout,
            "clips": len(dataset) - len(stats["skipped"]), "skipped": len(stats["skipped"]),
            "skipped_videos": stats["skipped"], "frames": stats["frames"], "size": int(size),
            "landmarks": landmarks, "landmarks_from_data": stats["from_data"],
            "seconds": round(time.perf_counter() - start, 2)}


def prepare_clip(clip: Clip, backend, size: int) -> Clip | None:
    """One clip cropped to ``size`` x ``size`` with landmarks and masks; None if the neutral has no face."""
    neutral = clip.frames[0]
    score = None
    if clip.landmarks is not None:
        source_landmarks, how = np.asarray(clip.landmarks, dtype=np.float32), "data"
    else:
        try:
            face = backend.detect(neutral)
        except NoFaceError:
            return None
        rest = [track(backend, frame, face.box, face.landmarks) for frame in clip.frames[1:]]
        source_landmarks, how, score = np.stack([face.landmarks, *rest]), backend.name, face.score
    box = crop_box(source_landmarks[0], neutral.shape)
    frames = np.stack([crop(frame, box, size) for frame in clip.frames])
    lms = np.stack([box_transform(lm, box, size) for lm in source_landmarks])
    masks = np.stack([mouth_mask(lm, (size, size)) for lm in lms])
    meta = {k: v for k, v in clip.meta.items() if k != "path"}
    meta.update(source=clip.meta.get("path"), crop_box=[int(v) for v in box], landmarks=how,
                face_score=None if score is None else round(float(score), 3))
    return Clip(frames=frames, expression=clip.expression, identity=clip.identity,
                video_id=clip.video_id, split=clip.split, landmarks=lms, intensity=clip.intensity,
                masks=masks, frame_names=list(clip.frame_names), meta=meta)


def track(backend, frame, box, neutral_landmarks) -> np.ndarray:
    """68 landmarks of ``frame`` found in the neutral's ``box``, then once more in the box moved with the face.

    A shape predictor started from a fixed box under-reports how far the head moved; one
    re-run from the box shifted by the first estimate of that motion recovers most of it.
    """
    lm = backend.landmarks_in_box(frame, box)
    dx, dy = np.round((lm - neutral_landmarks).mean(axis=0)).astype(int)
    if dx or dy:
        lm = backend.landmarks_in_box(frame, (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy))
    return lm
