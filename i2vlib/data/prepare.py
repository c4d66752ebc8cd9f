"""``i2v prepare``: turn raw face videos or photos into a cropped AffineGAN-layout dataset.

For each clip: find the face on its neutral (first) frame, compute ONE square crop box
from that frame's landmarks, cut every frame with that box (so the clip stays steady and
the head's own motion is kept), find every frame's 68 landmarks inside the neutral's box,
map them into the crop, derive the mouth masks, and write it all with
:func:`~.folders.write_affinegan`. Landmarks that come with the data (CK+, an i2v export)
are used as they are; the backend only fills in clips without them.

Labels and splits, so that ``i2v train`` and ``i2v evaluate`` can use the result:

* **expression**: a clip keeps the expression its source names (CK+'s emotion code, MUG's
  folder, the AffineGAN layout's folder); a clip whose source names none (a folder of videos,
  frame folders or photos: ``"unlabelled"``) gets ``expression=`` when it is given.
* **split**: a source that comes split (an AffineGAN-layout folder with more than the split
  ``train``) keeps its splits. A source that does not (CK+, MUG, a folder of videos: all in
  ``train``) is split by identity: the last identity in natural order, and every
  ``test_every``-th one before it, goes to ``test`` (about one in five by default; none when the
  source shows a single identity), so the test videos show people no model trained on.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..clip_record import EXPRESSIONS, Clip
from ..errors import I2VError, check_names
from ..faces.align import box_transform, crop, crop_box
from ..faces.landmarks import NoFaceError, get_backend
from ..faces.masks import mouth_mask
from .folders import UNLABELLED, natural_key, open_dataset, write_affinegan


def prepare(src, out, size: int = 128, landmarks: str = "dlib", overwrite: bool = False,
            progress: bool = True, expression: str | None = None, test_every: int = 5) -> dict:
    """Detect, crop and landmark every clip under ``src``; write them to ``out``.

    ``src``: any layout :func:`~.folders.open_dataset` reads (AffineGAN, CK+, MUG, videos,
    frame folders, loose photos, a single file). ``size``: side of the square crops.
    ``landmarks``: ``"dlib"`` (offline), ``"face-alignment"`` or ``"ground-truth"``.
    ``expression``: the label of clips whose source names no expression (one of
    :data:`i2vlib.EXPRESSIONS`; default: they stay ``"unlabelled"``). ``test_every``: the
    identity split of an unsplit source (see the module docstring; 0 keeps every clip in ``train``).
    Clips whose neutral frame shows no face, and clips whose files cannot be read, are skipped
    and counted; when nothing at all can be prepared, that is an error. Returns a summary:
    clips written, skipped and unreadable, the clips of each split, frames, seconds.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    src, out = Path(src), Path(out)
    if not isinstance(size, (int, np.integer)) or size < 32:
        raise I2VError(f"image size must be at least 32 px, got {size!r}")
    if expression is not None:
        check_names([expression], EXPRESSIONS, "expression")
    if not isinstance(test_every, (int, np.integer)) or test_every < 0:
        raise I2VError(f"test_every must be an integer >= 0, got {test_every!r}")
    if src.resolve().is_relative_to(out.resolve()) or out.resolve().is_relative_to(src.resolve()):
        raise I2VError(f"the output {out} must not be the source {src}, contain it or lie inside it")
    dataset = open_dataset(src)
    backend = get_backend(landmarks)
    test_ids = held_out_identities(dataset.refs, test_every)
    stats = {"frames": 0, "from_data": 0, "labelled": 0, "skipped": [], "unreadable": [], "splits": {}}

    def clips():
        for ref in tqdm(dataset.refs, desc=f"prepare {src.name}", unit="clip", disable=not progress,
                        leave=False):   # a bar that stays would stand above an error found on the way
            try:
                raw = ref.load()
            except I2VError as e:  # a corrupt photo or video, unreadable landmarks: skip the clip, say why
                stats["unreadable"].append((ref.key, str(e)))
                continue
            clip = prepare_clip(raw, backend, size)
            if clip is None:
                stats["skipped"].append(ref.key)
                continue
            clip = relabel(clip, expression, "test" if clip.identity in test_ids else clip.split)
            stats["labelled"] += clip.expression != ref.expression
            stats["splits"][clip.split] = stats["splits"].get(clip.split, 0) + 1
            stats["frames"] += len(clip)
            stats["from_data"] += clip.meta["landmarks"] == "data"
            yield clip
        if not stats["splits"]:
            raise I2VError(_nothing_prepared(src, len(dataset), stats))

    write_affinegan(out, clips(), overwrite=overwrite)
    return {"src": str(src), "out": str(out), "layout": dataset.layout,
            "clips": sum(stats["splits"].values()), "skipped": len(stats["skipped"]),
            "skipped_videos": stats["skipped"], "unreadable": len(stats["unreadable"]),
            "unreadable_videos": [key for key, _ in stats["unreadable"]],
            "splits": dict(sorted(stats["splits"].items())), "expression": expression,
            "labelled": stats["labelled"], "frames": stats["frames"], "size": int(size),
            "landmarks": landmarks, "landmarks_from_data": stats["from_data"],
            "seconds": round(time.perf_counter() - start, 2)}


def held_out_identities(refs, test_every: int = 5) -> set[str]:
    """The identities an unsplit source sends to ``test``: the last in natural order and every
    ``test_every``-th one before it; none for a source that comes split, shows one identity, or ``test_every=0``."""
    if test_every == 0 or {r.split for r in refs} != {"train"}:
        return set()
    ids = sorted({r.identity for r in refs}, key=natural_key)
    return set(ids[::-1][::test_every]) if len(ids) > 1 else set()


def relabel(clip: Clip, expression: str | None, split: str) -> Clip:
    """``clip`` in ``split``, labelled ``expression`` if its source named none (and one is given)."""
    if expression is not None and clip.expression == UNLABELLED:
        return replace(clip, expression=expression, split=split)
    return replace(clip, split=split)


def _nothing_prepared(src: Path, n: int, stats: dict) -> str:
    """The one-line error when no clip of ``src`` could be prepared: faceless and unreadable clips, and why."""
    if not stats["unreadable"]:
        return f"no face found in any of {n} clips under {src}"
    why = stats["unreadable"][0][1]
    faceless = f"{len(stats['skipped'])} without a face, " if stats["skipped"] else ""
    return (f"nothing could be prepared from the {n} clip{'s' * (n != 1)} under {src}: {faceless}"
            f"{len(stats['unreadable'])} unreadable (first: {why})")


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
