"""The test videos of the evaluation protocol: the benchmark's, or a folder's clips.

Each comes with the response curvature of its identity when it is known (the benchmark, or
a folder exported from it), so that a measured visible strength can be turned back into a
measured intensity (:func:`i2vlib.instruments.benchmark.inverse_response`).

Which clips of a folder: those of the split asked for (``test`` by default; ``i2v prepare`` holds
out identities as ``test``); a folder with a single split is evaluated whole (the result names the
split); a folder with several splits but not the one asked for is an error. :func:`data_truth`
says what ground truth data carries, :func:`data_note` what a chapter run on it had to skip.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ..clip_record import EXPRESSIONS
from ..config import check_data
from ..data.folders import open_dataset
from ..data.synthetic import SyntheticBenchmark, check_expressions, make_identity
from ..errors import I2VError


def evaluation_videos(data: str = "synthetic", split: str = "test", videos: int | None = None, size: int = 64,
                      seed: int = 0, expressions=EXPRESSIONS, curves=("linear",), frames=None, noise: bool = True):
    """The test videos :func:`~.protocol.evaluate` uses, in its order: ``(clip, response curvature or None)``.

    The benchmark: its first ``videos`` (default 10 per expression) videos of ``split``, the
    expression cycling through ``expressions``, the intensity curve through ``curves``; ``noise=False``
    renders the same videos without sensor noise (the noise is drawn last, so nothing else changes).
    A folder: its clips of ``split`` showing one of ``expressions``, taken in turn from each expression,
    resized to ``size``.
    """
    data = check_data(str(data))
    expressions = tuple(expressions)
    if data == "synthetic":
        check_expressions(expressions)
        return _synthetic_clips(split, videos or 10 * len(expressions), size, seed, expressions, tuple(curves),
                                frames, noise)
    return _folder_clips(data, split, videos, size, expressions)


def _synthetic_clips(split, videos, size, seed, expressions, curves, frames, noise=True):
    bench = SyntheticBenchmark(size=size, seed=seed, frames=frames or (8, 32), noise=noise)
    bench.identities(split)  # validates the split name, before the first video is drawn

    def clips():
        for i in range(videos):
            clip = bench.video(split, i, expressions=expressions, curves=curves)
            yield clip, bench.identity(int(clip.identity)).curvature[clip.expression]
    return clips()


def _folder_clips(path, split, videos, size, expressions):
    """Clips of a folder (any layout :func:`~i2vlib.data.folders.open_dataset` reads) of ``split``, round-robin
    over expressions. A folder with one split (e.g. one person's videos prepared by ``i2v prepare``, all
    "train") is evaluated whole; the result names the split its clips came from. The folder, the split and the
    expressions are checked at once; the clips are read one at a time."""
    data = open_dataset(path)
    if split is not None and split in data.splits:
        data = data.filter(split=split)
    elif split is not None and len(data.splits) > 1:
        raise I2VError(f"no split {split!r} under {path}; available: {', '.join(data.splits)}")
    usable = [e for e in data.expressions if e in expressions]
    if not usable:
        raise I2VError(f"the clips under {path} show {', '.join(data.expressions)}; the model renders only "
                       f"{', '.join(expressions)}")
    by_expr = {e: [r for r in data.refs if r.expression == e] for e in usable}
    order = [refs[i] for i in range(max(map(len, by_expr.values()))) for refs in by_expr.values() if i < len(refs)]

    def clips():
        for ref in order[:videos] if videos else order:
            clip = ref.load(size)
            if len(clip) >= 2:
                yield clip, _curvature_from_meta(clip)
    return clips()


def _curvature_from_meta(clip):
    """The response curvature of a clip exported from the synthetic benchmark (else None)."""
    meta = clip.meta or {}
    if meta.get("source") != "synthetic" or "seed" not in meta:
        return None
    try:
        return make_identity(int(meta["seed"]), int(clip.identity)).curvature[clip.expression]
    except (ValueError, KeyError):
        return None


def is_synthetic_folder(path) -> bool:
    """Whether ``path`` is a folder exported from the synthetic benchmark (every video says so)."""
    meta = Path(path) / "metadata.json"
    if not meta.is_file():
        return False
    try:
        videos = json.loads(meta.read_text()).get("videos", {})
    except (OSError, ValueError, AttributeError):
        return False
    return bool(videos) and all((v.get("meta") or {}).get("source") == "synthetic" for v in videos.values())


def data_truth(data: str = "synthetic") -> dict:
    """What ground truth ``data`` (``"synthetic"`` or a folder) carries, so that a chapter can choose its measurements.

    ``synthetic``: the benchmark or a folder exported from it (the benchmark's instruments apply);
    ``intensity``: every clip has true intensities; ``landmarks``: ``"exact"`` (the benchmark's),
    ``"annotated"`` (shipped with the data, e.g. CK+), ``"detected"`` (found by ``i2v prepare``) or None;
    ``expressions``: the data's expressions that the methods know, in :data:`~i2vlib.EXPRESSIONS` order;
    ``splits``: clips per split; ``instrument``: what ``instrument="auto"`` measures it with.
    """
    data = check_data(str(data))
    if data == "synthetic":
        return {"data": data, "synthetic": True, "intensity": True, "landmarks": "exact",
                "expressions": list(EXPRESSIONS), "splits": None, "instrument": "synthetic"}

    refs = open_dataset(data).refs
    synthetic = is_synthetic_folder(data)
    how = {(r.meta or {}).get("landmarks", "data") if r.landmarks is not None else None for r in refs}
    landmarks = None if None in how else "exact" if synthetic else "annotated" if how == {"data"} else "detected"
    return {"data": data, "synthetic": synthetic, "intensity": all(r.intensity is not None for r in refs),
            "landmarks": landmarks, "expressions": [e for e in EXPRESSIONS if any(r.expression == e for r in refs)],
            "splits": dict(sorted(Counter(r.split for r in refs).items())),
            "instrument": "synthetic" if synthetic else "dlib"}


def data_note(truth: dict, measured, skipped: dict) -> str:
    """One paragraph for a chapter run on the data described by ``truth`` (:func:`data_truth`): what it
    ``measured`` (a list of phrases) and what it ``skipped`` (``{measurement: the ground truth it needs}``).
    Empty when nothing was skipped (the synthetic benchmark has every ground truth)."""
    if not skipped:
        return ""
    lacks = [w for w, ok in (("true intensities", truth["intensity"]),
                             ("exact landmarks", truth["landmarks"] == "exact")) if not ok]
    if truth["splits"] is not None and "test" not in truth["splits"]:
        lacks.append("test split (its test videos are training videos)")
    splits = ", ".join(f"{n} {s}" for s, n in (truth["splits"] or {}).items())
    has = f"`{truth['data']}` ({splits} videos" + (f"; no {', no '.join(lacks)})" if lacks else ")")
    done = f" It measured {'; '.join(measured)}." if measured else ""
    need = "; ".join(f"{m} (needs {g})" for m, g in skipped.items())
    return (f"This run used {has}.{done} It skipped the measurements that need ground truth these videos "
            f"do not have: {need}.")

