"""Recorded measurements: load-or-measure, the zoo's sibling for the seeded arms of the ablations.

A comparative claim rests on at least 3 seeds per arm. Training every arm of every comparison
inside ``make book`` does not fit its budget, and their weights do not fit the zoo's 40 MB; what
ships instead is what a chapter measures of each run. ``records.json`` beside this module maps

    <method>-<config hash>/<measure>@<version>  ->  {"config": ..., "value": ...}

where ``<measure>`` names a library function in :data:`MEASURES` and ``<version>`` is raised
whenever that function changes what it returns, so an old record is never read as a new one.

:func:`measured` is to measurements what :func:`i2vlib.runs.cached_runs` is to runs: a config
with a record returns it; a missing one is trained (or found in the run cache or the zoo), measured, and,
with ``I2V_RECORD=1`` (``make records``), added to the file. ``I2V_RETRAIN=1`` ignores the records
and measures afresh. Arrays (the picture strips) are stored as PNG in base64 and come back as
uint8 arrays.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import numpy as np

from ..checkpoint import read_checkpoint
from ..config import config_hash
from ..errors import I2VError
from ..evaluate.ablation import arm_scores
from ..evaluate.pose import pose_scores
from ..evaluate.retarget import retarget_scores
from ..io import read_losses, to_json, write_json
from ..models import full_config
from ..runs import cached_runs, load
from ..train import read_run
from . import HERE, env_flag
from .make import thin_losses

RECORDS = HERE / "records.json"


def _arm_scores(model, **kwargs):
    return arm_scores(model, **kwargs)


def _retarget_scores(model, **kwargs):
    return retarget_scores(model, **kwargs)


def _pose_scores(model, **kwargs):
    return pose_scores(model, **kwargs)


# name -> (version, function of a loaded model). Raise the version when the function's output changes.
MEASURES = {"arm": (1, _arm_scores), "retarget": (1, _retarget_scores), "pose": (4, _pose_scores)}


def key(config: dict, measure: str = "arm", **kwargs) -> str:
    """The record key of ``config`` measured by ``measure`` with ``kwargs``."""
    if measure not in MEASURES:
        raise I2VError(f"unknown measure {measure!r}; known: {', '.join(MEASURES)}")
    full = full_config(config)
    args = "" if not kwargs else "?" + json.dumps(kwargs, sort_keys=True, separators=(",", ":"))
    return f"{full['method']}-{config_hash(full)}/{measure}@{MEASURES[measure][0]}{args}"


def read(path=RECORDS) -> dict:
    """Every record of the file (``{}`` if there is none)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else {}


def encode(value):
    """A measurement made JSON-ready: uint8 arrays (pictures) become ``{"png": base64, "frames": n}``,
    floats keep 6 significant digits, NaN and infinities become None (:func:`i2vlib.io.to_json`)."""
    from PIL import Image

    if isinstance(value, np.ndarray) and value.dtype == np.uint8:
        frames = value if value.ndim == 4 else value[None]
        buf = io.BytesIO()
        Image.fromarray(np.concatenate(list(frames), axis=1)).save(buf, format="PNG", optimize=True)
        return {"png": base64.b64encode(buf.getvalue()).decode("ascii"), "frames": int(len(frames))}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if not np.isfinite(v) else float(f"{v:.6g}")
    if isinstance(value, np.ndarray):
        return encode(value.tolist())
    return to_json(value)


def decode(value):
    """The inverse of :func:`encode`: ``{"png": ...}`` back to a (frames, H, W, 3) uint8 array."""
    from PIL import Image

    if isinstance(value, dict) and set(value) == {"png", "frames"}:
        img = np.asarray(Image.open(io.BytesIO(base64.b64decode(value["png"]))).convert("RGB"))
        return np.stack(np.split(img, value["frames"], axis=1))
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def measured(configs, measure: str = "arm", root=None, device: str = "auto", workers: int | None = None,
             progress: bool = True, path=RECORDS, pictured=None, **kwargs) -> list:
    """``MEASURES[measure]`` of the model each of ``configs`` trains, in order: recorded, or trained
    (the missing runs side by side, :func:`~i2vlib.runs.cached_runs`) and measured now.

    With ``I2V_RECORD=1`` every new measurement is added to ``path`` as soon as it is made (an
    interrupted recording keeps what it had); a record keeps its pictures (20-60 kB each) only where its key is
    in ``pictured`` (None: every record). With ``I2V_RETRAIN=1`` recorded ones are ignored.
    """
    configs = list(configs)
    keys = [key(c, measure, **kwargs) for c in configs]
    known = {} if env_flag("I2V_RETRAIN") else read(path)
    todo = [i for i, k in enumerate(keys) if k not in known]
    values = {k: known[k]["value"] for k in keys if k in known}
    # When recording, train and measure in rounds of ``workers`` runs, so that a long recording
    # interrupted part-way keeps the rounds it finished.
    size = max(1, len(todo) if not env_flag("I2V_RECORD") else workers or os.cpu_count() or 1)
    fn = MEASURES[measure][1]
    for start in range(0, len(todo), size):
        if env_flag("I2V_RECORD") and not env_flag("I2V_RETRAIN"):   # another recording process may have added some
            values.update({k: v["value"] for k, v in read(path).items() if k in keys})
        chunk = [i for i in todo[start:start + size] if keys[i] not in values]
        runs = cached_runs([configs[i] for i in chunk], root=root, device=device, workers=workers,
                           progress=progress)
        for i, run in zip(chunk, runs):
            if keys[i] in values:                      # the same config twice in one call
                continue
            if progress:
                print(f"measuring {keys[i]}", flush=True)
            values[keys[i]] = encode(fn(load(run), **kwargs))
            if env_flag("I2V_RECORD"):
                _add(path, keys[i], run, values[keys[i]], pictures=pictured is None or keys[i] in pictured)
    return [decode(values[k]) for k in keys]


def training(configs, measure: str = "arm", path=RECORDS, **kwargs) -> list:
    """How each of ``configs``' recorded runs trained: ``{"seconds": training time on this machine, "losses": its
    loss log as columns of means over windows of 50 steps}``; None where the record is missing or older than these
    fields (a refine-stage run: G_R's alone)."""
    book = read(path)
    out = []
    for c in configs:
        rec = book.get(key(c, measure, **kwargs), {})
        out.append({"seconds": rec["seconds"], "losses": rec["losses"]} if "seconds" in rec else None)
    return out


def _add(path, key_: str, run, value, pictures: bool = True) -> None:
    """Add one record to ``path`` (with its pictures or without); a lock lets several recording processes share
    the file."""
    import fcntl

    path = Path(path)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        book = read(path)
        config = read_checkpoint(run)["config"]
        if not pictures:
            value = {k: v for k, v in value.items() if not holds_picture(v)}
        book[key_] = {"config": config, "value": value}
        if (Path(run) / "run.json").is_file():        # a run trained here (not a zoo file): how it trained
            book[key_].update(seconds=read_run(run)["seconds"], losses=thin_losses(read_losses(run)))
        write_json(path, dict(sorted(book.items())))


def holds_picture(value) -> bool:
    """Whether an encoded measurement holds a picture (:func:`encode`'s ``{"png": ...}``) anywhere."""
    if isinstance(value, dict):
        return set(value) == {"png", "frames"} or any(holds_picture(v) for v in value.values())
    return isinstance(value, list) and any(holds_picture(v) for v in value)
