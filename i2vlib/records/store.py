"""Recorded measurements: load-or-measure, the zoo's sibling for the seeded arms of the ablations.

A comparative claim rests on at least 3 seeds per arm. Training every arm of every comparison
inside ``make book`` does not fit its budget, and their weights do not fit the zoo's 40 MB; what
ships instead is what a chapter measures of each run. The folder ``recorded/`` beside this module holds one
compact JSON file per record, ``{"key", "config", "value", ...}``, under the key

    <method>-<config hash>/<measure>@<version>[?<arguments>]

where ``<measure>`` names a library function in :data:`MEASURES` and ``<version>`` is raised
whenever that function changes what it returns, so an old record is never read as a new one. A record's pictures
(the strips a chapter shows) are PNG files beside it, so recording a seed adds files and rewrites none
(:func:`file_name`).

:func:`measured` is to measurements what :func:`i2vlib.runs.cached_runs` is to runs: a config
with a record returns it; a missing one is trained (or found in the run cache or the zoo) and measured.
:func:`record` adds measurements to the folder (``make records``, :mod:`i2vlib.records.ablations`), as jobs on a job
engine (:mod:`.engine`: submitit's processes on this machine, or a SLURM cluster). ``I2V_RETRAIN=1`` ignores the
records and measures afresh. Arrays (the picture strips) are held as PNG (in memory base64, on disk files) and come
back as uint8 arrays.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import digest, read_checkpoint
from ..claims.health import record_health
from ..config import config_hash
from ..errors import I2VError
from ..io import read_losses, to_json
from ..models import full_config
from ..outputs import atomic_path
from ..protocol import gates
from ..claims.declaration import protocol_id
from ..protocol.measures import MEASURES
from ..run_files import read_run
from ..runs import cached_runs, load, retraining, runs_root
from ..zoo import LOG_WINDOW
from .engine import Engine, Task, run_queue
from .schedule import longest_first, unfinished_runs, wait_for_runs

RECORDS = Path(__file__).resolve().parent / "recorded"


def key(config: dict, measure: str = "arm", **kwargs) -> str:
    """The record key of ``config`` measured by ``measure`` with ``kwargs``."""
    if measure not in MEASURES:
        raise I2VError(f"unknown measure {measure!r}; known: {', '.join(MEASURES)}")
    full = full_config(config)
    args = "" if not kwargs else "?" + json.dumps(kwargs, sort_keys=True, separators=(",", ":"))
    return f"{full['method']}-{config_hash(full)}/{measure}@{MEASURES[measure][0]}{args}"


_parsed: dict = {}     # resolved folder -> (its files' names, sizes and times; its records): a build reads it often


def file_name(key_: str) -> str:
    """The file (stem) of record ``key_``: ``<run>.<measure>@<version>``, and a short hash of its arguments if any,
    e.g. ``vgan-2381e2ad993d.pose@4.1f0c2a9b``."""
    head, _, args = key_.partition("?")
    return head.replace("/", ".") + (f".{hashlib.sha1(args.encode()).hexdigest()[:8]}" if args else "")


def read(path=None) -> dict:
    """Every record in folder ``path`` (default :data:`RECORDS`, the package's; ``{}`` if there is none), parsed once
    per state of the folder; the dict is the caller's, the records in it are shared (read them, do not change them)."""
    path = Path(RECORDS if path is None else path)
    if not path.is_dir():
        return {}
    files = sorted(path.glob("*.json"))
    stats = [(f.name, f.stat()) for f in files]                   # one stat per file
    version, where = tuple((name, st.st_mtime_ns, st.st_size) for name, st in stats), path.resolve()
    if where not in _parsed or _parsed[where][0] != version:
        book = {}
        for f in files:
            rec = json.loads(f.read_text())
            key_ = rec.pop("key")
            book[key_] = {**rec, "value": _pictures_in(rec["value"], path)}
        _parsed[where] = (version, book)
    return dict(_parsed[where][1])


def _swap_pictures(value, is_picture, swap):
    """``value`` with each nested dict that ``is_picture`` swapped for ``swap(it)``, everything else kept."""
    if isinstance(value, dict) and is_picture(value):
        return swap(value)
    if isinstance(value, dict):
        return {k: _swap_pictures(v, is_picture, swap) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap_pictures(v, is_picture, swap) for v in value]
    return value


def _pictures_in(value, folder: Path):
    """A stored value with its picture files read back (``{"png_file": name, ...}`` -> ``{"png": base64, ...}``)."""
    return _swap_pictures(value, lambda d: "png_file" in d, lambda d: {
        "png": base64.b64encode((folder / d["png_file"]).read_bytes()).decode("ascii"), "frames": d["frames"]})


def _pictures_out(value, folder: Path, stem: str):
    """A value to store with its pictures written to PNG files ``<stem>.<n>.png`` in ``folder``."""
    written = []

    def write(d):
        name = f"{stem}.{len(written)}.png"
        with atomic_path(folder / name) as tmp:
            tmp.write_bytes(base64.b64decode(d["png"]))
        written.append(name)
        return {"png_file": name, "frames": d["frames"]}

    return _swap_pictures(value, lambda d: set(d) == {"png", "frames"}, write)


def write_record(path, key_: str, rec: dict) -> Path:
    """Write record ``key_`` (``{"config", "value", ...}``) to its own file in folder ``path``, its pictures beside
    it, stamped with the protocol it is made under (:func:`i2vlib.claims.declaration.protocol_id`); returns the
    file. Replaces an earlier record of the same key and nothing else."""
    rec = {**rec, "protocol": protocol_id()}
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    stem = file_name(key_)
    for old in _picture_files(path, stem):
        old.unlink()
    value = _pictures_out(rec["value"], path, stem)
    text = json.dumps(to_json({"key": key_, **rec, "value": value}), separators=(",", ":"), allow_nan=False)
    with atomic_path(path / f"{stem}.json") as tmp:
        tmp.write_text(text + "\n")
    return path / f"{stem}.json"


def remove_record(path, key_: str) -> None:
    """Remove record ``key_`` (its file and its pictures) from folder ``path``."""
    stem = file_name(key_)
    for old in [*_picture_files(path, stem), Path(path) / f"{stem}.json"]:
        old.unlink(missing_ok=True)


def _picture_files(path, stem: str) -> list[Path]:
    """The picture files of the record stored as ``stem`` in folder ``path`` (:func:`_pictures_out` names them)."""
    return list(Path(path).glob(f"{stem}.*.png"))


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
             progress: bool = True, path=None, train: bool = True, **kwargs) -> list:
    """``MEASURES[measure]`` of the model each of ``configs`` trains, in order: recorded, or trained (the missing
    runs side by side, :func:`~i2vlib.runs.cached_runs`) and measured now, without recording it (:func:`record`
    does). With ``I2V_RETRAIN=1`` recorded ones are ignored. ``train=False``: nothing trains or is measured, and a
    config without a record gives None.
    """
    configs = list(configs)
    keys = [key(c, measure, **kwargs) for c in configs]
    known = {} if retraining() else read(path)
    found = {k: known[k] for k in keys if k in known}
    if not train:
        return [with_health(found[k], measure) if k in found else None for k in keys]
    todo = list({k: i for i, k in enumerate(keys) if k not in found}.values())
    runs = cached_runs([configs[i] for i in todo], root=root, device=device, workers=workers, progress=progress)
    fn = MEASURES[measure][1]
    for i, run in zip(todo, runs):
        if progress:
            print(f"measuring {keys[i]}", flush=True)
        found[keys[i]] = {"config": full_config(configs[i]), "value": encode(fn(load(run), **kwargs)),
                          "losses": run_losses(run)}
    return [with_health(found[k], measure) for k in keys]


_V1_HEALTH = [False]


@contextmanager
def v1_health():
    """Within it, a record's value also carries protocol v1's health checks (``value["health"]``,
    :func:`i2vlib.claims.health.record_health`), which only the registry log's replays read (some are slow: GANimation's
    reads its critic against the training set's mean action units)."""
    _V1_HEALTH[0], before = True, _V1_HEALTH[0]
    try:
        yield
    finally:
        _V1_HEALTH[0] = before


def with_health(rec: dict, measure: str):
    """A record's decoded value with the gates of each role beside it (``value["gates"]``, :func:`i2vlib.protocol.
    gates.judge`; within :func:`v1_health`, protocol v1's checks too): pure functions of the record, so a changed
    gate applies to every record at once."""
    value = decode(rec["value"])
    if not isinstance(value, dict) or not isinstance(rec.get("config"), dict):
        return value
    out = {**value, "gates": {role: gates.judge(value, measure, role) for role in gates.ROLES}}
    if _V1_HEALTH[0]:
        out["health"] = record_health({"config": rec["config"], "value": value, "losses": rec.get("losses")}, measure)
    return out


def run_losses(run) -> dict | None:
    """The loss log of a run directory or zoo file, as records keep it (:func:`thin_losses`), or None."""
    run = Path(run)
    if run.is_file():
        return read_checkpoint(run).get("zoo", {}).get("losses")
    return thin_losses(read_losses(run)) if (run / "losses.csv").is_file() else None


def record(jobs, workers: int | None = None, root=None, path=None, progress: bool = True,
           engine: Engine | str = "local") -> list[str]:
    """Train, measure and add to ``path`` each of ``jobs`` not recorded there yet (all of them with
    ``I2V_RETRAIN=1``); returns the keys recorded now, in the order their jobs ended.

    A job is ``(config, measure, options, pictures)``: ``MEASURES[measure]`` with ``options`` of the model
    ``config`` trains, recorded with its pictures or without (they weigh 20-60 kB each), known by its record key
    (:func:`key`). The jobs run on a job engine (:mod:`.engine`, submitit): by default as processes on this machine,
    ``workers`` at a time (default, and at most: one per core, each on one thread pinned to its own core); with
    ``engine="slurm"`` (an :class:`~.engine.Engine` with its partition, time limit and cores) as jobs of a SLURM
    cluster; with ``"debug"`` one after the other in this process. The longest start first
    (:func:`.schedule.longest_first`, from the records' own training times), and a job waits while one in flight
    trains one of its runs (its own, its earlier stages: :func:`.schedule.unfinished_runs`), so that no core idles
    while a long run ends the queue alone and no run trains twice. The driver prints each job as it ends, with the
    jobs done, running and left and the training time left; a failed job is reported in one line and tried again
    (``engine.retries`` times), and a job that failed every try is named at the end (:class:`~.engine.JobsFailed`,
    after the other jobs ended).

    Idempotent and resumable by record key: a key recorded in ``path`` is not queued, and a job finds it recorded
    (by an earlier or another recording) before it trains or measures (:func:`record_job`); each record is added as
    soon as it is made, and a run resumes from its checkpoint, so an interrupted recording (Ctrl-C, SIGTERM, a killed
    job or driver) run again retrains no finished run and re-records no finished record; several recording
    processes can share the folder.
    """
    engine = engine if isinstance(engine, Engine) else Engine(engine)
    retrain = retraining()
    path = Path(RECORDS if path is None else path).resolve()      # the job processes' folders: the driver's
    root = Path(runs_root() if root is None else root).resolve()

    def recorded():       # another recording process may have added some meanwhile
        return set() if retrain else set(read(path))

    known = recorded()
    queue = [(k, job) for k, job in {key(c, m, **o): (c, m, o, p) for c, m, o, p in jobs}.items() if k not in known]
    tasks = [Task(k, record_job, (k, c, MEASURES[m][1], o, p, root, path, engine.device), seconds,
                  functools.partial(unfinished_runs, c, root))
             for seconds, k, (c, m, o, p) in longest_first(queue, read(path), root)]
    folder = Path(engine.folder) if engine.folder else root.parent / "record-jobs"
    return run_queue(tasks, engine, folder, workers, recorded, progress)


def record_job(key_: str, config: dict, measure, options: dict, pictures: bool, root, path, device: str = "cpu",
               threads: int = 1, core: int | None = None) -> str:
    """One job of :func:`record`, in its own process (or this one): on ``threads`` threads (pinned to ``core``
    where given), unless ``path`` holds record ``key_`` already, train (resume, or find) the run of ``config`` on
    ``device``, measure it (``measure``, the function of ``MEASURES`` the key names, with ``options``) and add the
    record; returns its key. It first waits while another process trains one of its runs (a job that outlived a
    killed recording), and looks for the record after that wait and again before measuring, so that a job run twice
    records once."""
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    torch.set_num_threads(threads)
    fresh = retraining()
    wait_for_runs(unfinished_runs(config, root))
    if not fresh and key_ in read(path):
        return key_
    (run,) = cached_runs([config], root=root, device=device, workers=1, progress=False)
    if not fresh and key_ in read(path):         # the other process measured it while this one found the run
        return key_
    _add(path, key_, run, encode(measure(load(run), **options)), pictures)
    return key_


def training(configs, measure: str = "arm", path=None, **kwargs) -> list:
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
    """Add one record to folder ``path`` (with its pictures or without): one new file (and its pictures), so
    several recording processes can add to the folder side by side."""
    ckpt = read_checkpoint(run)
    config = ckpt["config"]
    if not pictures:
        value = {k: v for k, v in value.items() if not holds_picture(v)}
    rec = {"config": config, "value": value}
    if Path(run).is_file():                       # a zoo file, which a retrained entry replaces: which one it was
        rec["zoo_sha256"] = digest(ckpt)
    if (Path(run) / "run.json").is_file():        # a run trained here (not a zoo file): how it trained
        info = read_run(run)
        rec.update(seconds=info["seconds"], losses=thin_losses(read_losses(run)))
        devices = info.get("devices") or [[info["device"], 0]]
        if any(not str(d).startswith("cpu") for d, _ in devices):   # its seconds are not one core's
            rec["devices"] = devices
    write_record(RECORDS if path is None else path, key_, rec)


def thin_losses(rows: list[dict], window: int = LOG_WINDOW) -> dict:
    """The loss log as columns of means over consecutive windows of ``window`` steps."""
    cols = sorted({k for r in rows for k in r} - {"step", "seconds"})
    out = {"step": [], **{c: [] for c in cols}}
    for s in range(0, len(rows), window):
        chunk = rows[s:s + window]
        out["step"].append(int(chunk[-1]["step"]))
        for c in cols:
            vals = [r[c] for r in chunk if c in r]
            out[c].append(round(sum(vals) / len(vals), 6) if vals else float("nan"))
    return out


def holds_picture(value) -> bool:
    """Whether an encoded measurement holds a picture (:func:`encode`'s ``{"png": ...}``) anywhere."""
    if isinstance(value, dict):
        return set(value) == {"png", "frames"} or any(holds_picture(v) for v in value.values())
    return isinstance(value, list) and any(holds_picture(v) for v in value)
