"""The run store: a config -> its run directory -> the model, loaded or trained.

    run = runs.cached_run(config)            # a shipped zoo file, a finished run, or trained now
    model = runs.load(run)                   # i2vlib.load: a run directory, a checkpoint or "zoo:NAME"
    log = runs.read_losses(run)              # its loss log (a zoo file's: means over windows of steps)

A run of ``config`` lives in ``runs_root()/<method>-<config hash>`` (:func:`run_dir`), so a chapter
reuses what an earlier chapter trained, and a changed option (the number of steps included) trains
anew. A shipped zoo model trained with exactly the config (same hash) is used instead of training,
unless ``I2V_RETRAIN=1`` (:func:`zoo_file`). A method whose trainer freezes the generator of an
earlier run (FRGAN's G_R trains on a frozen G_M) nests that run's config in its own: :func:`train`
fetches that run from the store (training it first if it must) and hands its weights to the training
loop, and :func:`load` does the same for a file that ships the later stage alone.

This is the one place that decides whether a model is loaded or trained; :mod:`i2vlib.train` is
the loop, and the method modules hold configs, trainers and models.
"""

from __future__ import annotations

import functools
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

from . import checkpoint, zoo
from .config import config_hash, resolve_device
from .errors import I2VError
from .io import read_losses as read_log
from .models import full_config, get_method
from .run_files import SNAPSHOTS, read_run
from .train import train as train_loop

RETRAIN = "I2V_RETRAIN"
NO_TRAIN = "I2V_NO_TRAIN"      # set by make book: a run that would train is an error


def retraining() -> bool:
    """Whether ``I2V_RETRAIN`` is set (``make book RETRAIN=1``): the zoo's files and the recorded measurements are
    ignored, and what a chapter asks for is trained and measured afresh. The one place the variable is read."""
    return zoo.env_flag(RETRAIN)


def may_train() -> bool:
    """Whether this process may train (``I2V_NO_TRAIN`` unset): a chapter built by ``make book`` reads the zoo and
    the records only, and shows what they lack as not yet recorded."""
    return not zoo.env_flag(NO_TRAIN)


def runs_root() -> Path:
    """Where trained runs are kept: ``$I2V_REPO_ROOT/_build/runs`` (or ``./_build/runs``)."""
    return Path(os.environ.get("I2V_REPO_ROOT", ".")) / "_build" / "runs"


def run_dir(config: dict, root=None) -> Path:
    """The run directory of ``config`` (completed with its method's defaults): ``root/<method>-<hash>``."""
    full = full_config(config)
    return Path(root or runs_root()) / f"{full['method']}-{config_hash(full)}"


def is_finished(run) -> bool:
    """Whether run directory ``run`` holds a run trained to its last step."""
    return (Path(run) / "run.json").exists() and bool(read_run(run).get("finished"))


def zoo_file(config: dict) -> Path | None:
    """The shipped zoo file trained with exactly ``config`` (compared by config hash), or None;
    always None when ``I2V_RETRAIN`` is set."""
    if retraining():
        return None
    wanted = config_hash(full_config(config))
    for name in zoo.names():
        if zoo.ENTRIES[name]["method"] == config.get("method") and config_hash(zoo.entry_config(name)) == wanted:
            file = zoo.path(name)
            if config_hash(full_config(checkpoint.read_checkpoint(file)["config"])) == wanted:
                return file
    return None


def locate(config: dict, root=None, use_zoo: bool = True) -> Path:
    """Where the model of ``config`` is or will be: a finished run, else the zoo's file (``use_zoo``),
    else its run directory (which may hold an interrupted run, or nothing yet)."""
    out = run_dir(config, root)
    if is_finished(out) or not use_zoo:
        return out
    return zoo_file(config) or out


def earlier_stages(config: dict) -> dict[str, dict]:
    """``{frozen net: config of the earlier run that trains it}`` (FRGAN's refine stage: ``{"G_M": forecast}``)."""
    full = full_config(config)
    return get_method(full["method"]).Trainer.earlier(full)


def stage_weights(config: dict, device: str = "auto", progress: bool = False, use_zoo: bool = True,
                  train_missing: bool = True, root=None) -> dict[str, dict]:
    """The generator weights of every earlier stage of ``config``, by the frozen net they fill: from the
    store under ``root`` (default :func:`runs_root`), each trained first where it is missing
    (``train_missing=False``: a missing one is an error)."""
    weights = {}
    for name, earlier in earlier_stages(config).items():
        if train_missing:
            run = cached_run(earlier, root, device=device, progress=progress, use_zoo=use_zoo)
        else:
            run = locate(earlier, root, use_zoo=use_zoo)
            if not (run.is_file() or is_finished(run)):
                raise I2VError(f"the earlier stage of this {config['method']} model ({name}) is neither shipped nor "
                               f"trained here ({run}); train it, or load a checkpoint.pt that holds both stages")
        weights[name] = checkpoint.generator_weights(checkpoint.read_checkpoint(run))
    return weights


def train(config: dict, out, resume: bool = False, device: str = "auto", use_zoo: bool = True, root=None,
          **options) -> dict:
    """Train ``config`` into run directory ``out`` (:func:`i2vlib.train.train`, whose ``options`` it takes);
    a new run first gets the frozen generators of its earlier stages from the store under ``root`` (trained
    now if missing). Returns ``run.json``."""
    new = not (Path(out) / checkpoint.CHECKPOINT).exists()
    rng = torch.get_rng_state()   # training an earlier stage must not change this process's random stream
    frozen = stage_weights(config, device=device, use_zoo=use_zoo, root=root) if new else {}
    torch.set_rng_state(rng)
    return train_loop(config, out, resume=resume, device=device, frozen=frozen, **options)


def cached_run(config: dict, root=None, progress: bool = True, device: str = "auto", use_zoo: bool = True) -> Path:
    """Train ``config`` once and reuse it (:func:`cached_runs` of one config)."""
    return cached_runs([config], root, device, workers=1, progress=progress, use_zoo=use_zoo)[0]


def cached_runs(configs, root=None, device: str = "auto", workers: int | None = None, progress: bool = True,
                snapshots=(), use_zoo: bool = True, amp: str = "auto") -> list[Path]:
    """Where the model of each of ``configs`` is (:func:`locate`), the missing ones trained side by side.

    A finished run is returned as is; an interrupted one is resumed; earlier stages are trained first.
    On a CPU, small models train faster as parallel one-thread processes than one after the other
    with every thread each (on the book's 2-core machine, two book-profile Fan trainings side by
    side took about 0.7 of the time of the same two in turn with two threads each), each pinned to a
    core of its own (:func:`worker_pool`); ``workers`` defaults to the number of cores (one at a time on a GPU). ``snapshots``: steps at which the runs
    keep their generator (each run those within its own steps), and ``amp`` their mixed precision (:func:`i2vlib.train.train`; neither is part of
    the config). ``use_zoo=False`` trains even where the zoo ships the model. Returns the run directories
    (or zoo files) in the order of ``configs``. With ``I2V_NO_TRAIN=1`` (``make book``) a run that would train is
    an error, before any work.
    """
    configs = [full_config(c) for c in configs]
    where = [locate(c, root, use_zoo) for c in configs]
    todo = list({str(out): (c, out) for c, out in zip(configs, where)
                 if not out.is_file() and not is_finished(out)}.values())
    if todo and zoo.env_flag(NO_TRAIN):
        raise I2VError(f"{len(todo)} run(s) would train here, and {NO_TRAIN} forbids it (make book trains nothing: "
                       f"its chapters read the zoo and the records): {', '.join(out.name for _, out in todo[:4])}"
                       + (" ..." if len(todo) > 4 else ""))
    earlier = [e for c, _ in todo for e in earlier_stages(c).values()]
    if earlier:   # side by side, two later stages could otherwise train their common earlier stage twice
        cached_runs(earlier, root, device=device, workers=workers, progress=progress, snapshots=snapshots,
                    use_zoo=use_zoo, amp=amp)
    cores = os.cpu_count() or 1
    if workers is None:
        workers = cores if resolve_device(device) == "cpu" else 1
    workers = max(1, min(workers, len(todo)))

    def within(c):
        return tuple(s for s in snapshots if int(s) <= c["steps"])

    if workers == 1:
        for c, out in todo:
            train(c, out, resume=True, device=device, use_zoo=use_zoo, root=root, progress=progress,
                  snapshots=within(c), amp=amp)
    elif todo:
        say = functools.partial(print, file=sys.stderr, flush=True) if progress else lambda *a: None
        say(f"training {len(todo)} runs in {workers} parallel processes: " + ", ".join(out.name for _, out in todo))
        with ProcessPoolExecutor(workers, **worker_pool(workers, max(1, cores // workers))) as pool:
            jobs = [pool.submit(_train_worker, c, str(out), device, max(1, cores // workers), within(c),
                                use_zoo, amp, root) for c, out in todo]
            for job in jobs:
                say(f"  finished {job.result()}")
    return where


def worker_pool(workers: int, threads: int) -> dict:
    """The ``ProcessPoolExecutor`` arguments for ``workers`` training processes of ``threads`` threads each: spawned
    processes, and where each has one thread and there is a core for each, each process pinned to a core of its
    own (Linux), so that the scheduler never moves a training between cores, nor puts two on one core while the
    other idles."""
    context = get_context("spawn")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if threads != 1 or workers > len(cores):
        return {"mp_context": context}
    return {"mp_context": context, "initializer": _pin_worker, "initargs": (context.Value("i", 0), cores)}


def _pin_worker(claimed, cores: list[int]) -> None:
    """A new worker process takes the next core of ``cores`` (``claimed`` counts the workers started so far)."""
    with claimed.get_lock():
        index = claimed.value
        claimed.value += 1
    os.sched_setaffinity(0, {cores[index % len(cores)]})


def _train_worker(config: dict, out: str, device: str, threads: int, snapshots, use_zoo: bool, amp: str,
                  root=None) -> str:
    torch.set_num_threads(threads)
    train(config, out, resume=True, device=device, use_zoo=use_zoo, root=root, progress=False, snapshots=snapshots,
          amp=amp)
    return Path(out).name


def load(path, device: str = "cpu"):
    """The model saved in a run directory or checkpoint file, or shipped in the zoo (``"zoo:NAME"``),
    ready to ``generate`` (:class:`i2vlib.api.Model`; a pose model forecasts from joints instead).
    A file that holds a later stage alone (a zoo file, a snapshot) gets its earlier stages from the store: first the
    one its own run directory lives in (a study's root), then the default one and the zoo."""
    if not isinstance(path, (str, os.PathLike)):
        raise I2VError(f"a model is a run directory, a checkpoint file or 'zoo:NAME', got {type(path).__name__}")
    if isinstance(path, str) and path.startswith(zoo.PREFIX):
        path = zoo.path(path)
    ckpt = checkpoint.read_checkpoint(path)
    method = get_method(ckpt["method"])
    config = full_config(ckpt["config"], where=ckpt["path"])
    missing = {k: v for k, v in method.Trainer.earlier(config).items() if k not in ckpt["weights"]}
    if missing:
        own = _store_of(path)
        earlier = {**config, "method": ckpt["method"]}
        if own is not None and not all(is_finished(run_dir(c, own)) for c in earlier_stages(earlier).values()):
            own = None                                      # the default store, then the zoo
        found = stage_weights(earlier, train_missing=False, root=own)
        ckpt["weights"].update({k: found[k] for k in missing})
    model = method.Model.from_checkpoint({**ckpt, "config": config}, resolve_device(device))
    model.step, model.checkpoint_hash = int(ckpt["step"]), checkpoint.file_hash(ckpt["path"])
    return model


def _store_of(path) -> Path | None:
    """The store (root) of the run directory that ``path`` is, or whose checkpoint or snapshot it is; None elsewhere."""
    p = Path(path)
    run = p if p.is_dir() else p.parent.parent if p.parent.name == SNAPSHOTS else p.parent
    return run.parent if (run / "run.json").is_file() else None


def read_losses(source) -> list[dict]:
    """A run's loss log (:func:`i2vlib.io.read_losses`); a zoo model's name (``"zoo:NAME"``) or file gives
    the log it ships, the means over windows of steps."""
    if isinstance(source, str) and source.startswith(zoo.PREFIX) or Path(str(source)).suffix.lower() == ".pt":
        ckpt = checkpoint.read_checkpoint(zoo.path(source) if str(source).startswith(zoo.PREFIX) else source)
        if "zoo" not in ckpt:
            raise I2VError(f"{source} is a checkpoint without a loss log; give its run directory")
        return read_log(ckpt["zoo"]["losses"])
    return read_log(source)
