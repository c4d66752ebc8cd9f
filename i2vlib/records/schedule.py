"""The recording queue's estimates: how long a job of :func:`i2vlib.records.store.record` trains, so that the
longest start first, no core idles while a long run ends the queue alone, and the driver can say how long is left
(:mod:`.engine`); and which run directories a job trains, so that no two jobs train one."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from .. import run_files
from ..errors import I2VError
from ..models import full_config
from ..run_files import read_run
from ..runs import earlier_stages, is_finished, locate

# What sets the time of a training step, beside the method: a record's steps time a new job's where these agree
SHAPE = ("image_size", "batch", "ngf", "ndf", "d_layers", "stage", "clip_length", "critic_steps")


def on_accelerator(rec: dict) -> bool:
    """Whether a record's run trained (in part) on an accelerator: its record names the devices
    (:func:`i2vlib.records.store.record_job`), and its seconds are not one core's."""
    return "devices" in rec


def step_seconds(config: dict, book: dict) -> float:
    """The seconds a training step of ``config`` takes on this machine, from the records of ``book`` (their
    ``seconds`` over their ``steps``): the median of the records of its method at the same :data:`SHAPE`, else of
    its method, else of all records (1 where none has a time)."""
    def per_step(match):
        return [rec["seconds"] / rec["config"]["steps"] for rec in book.values()
                if isinstance(rec.get("seconds"), (int, float)) and isinstance(rec.get("config"), dict)
                and not on_accelerator(rec)
                and rec["config"].get("steps") and match(rec["config"])]

    shape = {k: config.get(k) for k in SHAPE}
    for match in (lambda c: c.get("method") == config["method"] and {k: c.get(k) for k in SHAPE} == shape,
                  lambda c: c.get("method") == config["method"], lambda c: True):
        times = per_step(match)
        if times:
            return float(statistics.median(times))
    return 1.0


def job_seconds(config: dict, book: dict, root=None) -> float:
    """How long a job on ``config`` trains: for each of its runs not finished yet (its own, its earlier stages'),
    the steps it has still to go times :func:`step_seconds`; 0 for a job whose runs are all trained."""
    total = 0.0
    for c, where in _to_train(config, root):
        try:
            done = int(read_run(where).get("step", 0)) if (where / "run.json").is_file() else 0
        except I2VError:
            done = 0
        total += max(0, c["steps"] - done) * step_seconds(c, book)
    return total


def longest_first(queue: list, book: dict, root=None) -> list[tuple[float, str, tuple]]:
    """``queue`` (``[(key, (config, ...)), ...]``) as ``[(seconds, key, job), ...]`` ordered by :func:`job_seconds`,
    the longest first (the classic longest-processing-time rule for keeping parallel workers busy to the end); equal
    estimates keep their order."""
    timed = [(job_seconds(job[0], book, root), k, job) for k, job in queue]
    return sorted(timed, key=lambda item: -item[0])


def _to_train(config: dict, root=None) -> list[tuple[dict, Path]]:
    """``(config, run directory)`` of each run a job on ``config`` still trains: its own and its earlier stages',
    where neither finished nor in the zoo."""
    runs = [(c, locate(c, root)) for c in (full_config(config), *earlier_stages(config).values())]
    return [(c, where) for c, where in runs if not where.is_file() and not is_finished(where)]


def unfinished_runs(config: dict, root=None) -> set[str]:
    """The run directories a job on ``config`` would train: its own and its earlier stages', where not finished."""
    return {str(where) for _, where in _to_train(config, root)}


def wait_for_runs(runs) -> None:
    """Wait while another process trains one of the run directories ``runs``: it holds the directory's lock
    (:func:`i2vlib.run_files.run_lock`), which the kernel releases when that process ends, however it ends. A job
    started again after its recording was killed thus waits for the job that outlived it, then finds its run
    trained, instead of failing on a run in use."""
    if run_files.fcntl is None:
        return
    for run in sorted(runs):
        try:
            fd = os.open(run, os.O_RDONLY)
        except FileNotFoundError:          # not begun: nobody trains it
            continue
        try:
            run_files.fcntl.flock(fd, run_files.fcntl.LOCK_EX)
        finally:
            os.close(fd)
