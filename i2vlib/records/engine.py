"""The recording queue on a job engine: submitit runs the jobs of :func:`i2vlib.records.store.record` as processes
on this machine (its ``LocalExecutor``, the default) or as jobs of a SLURM cluster (its ``SlurmExecutor``), or one
after the other in this process (its ``DebugExecutor``, where a debugger or a test's stand-in must reach the job).

This module is the driver: it keeps at most ``workers`` jobs in flight, starts the longest first, never starts a job
that would train a run another job in flight trains (FRGAN's G_R and its arm G_M share their G_M), retries a failed
job a declared number of times (:data:`RETRIES`) and reports each failure in one line, prints progress as jobs
finish (done, running, left, the training time left), and on Ctrl-C or SIGTERM cancels the jobs in flight. One
local recording runs on a machine at a time (:func:`one_local_recording`). A job is
known by its record key; what makes it idempotent and resumable (a recorded key is never run again, a run resumes
from its checkpoint) is the job's own doing (:func:`i2vlib.records.store.record_job`).

submitit is an optional dependency (``pip install 'i2vlib[records]'``): the library imports without it, and
:func:`executor` says which extra to install where a recording needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import resolve_device
from ..errors import I2VError, whole_number

ENGINES = ("local", "slurm", "debug")
RETRIES = 2                # a failed job runs again this many times before it is reported as failed
SLURM_MINUTES = 240        # a SLURM job's time limit; a job that reaches it is requeued and resumes its run
REQUEUES = 30              # how often SLURM may requeue one job (preempted or out of time) before it fails
LOCAL_MINUTES = 7 * 24 * 60   # a local job has no time limit of its own; submitit's LocalExecutor wants one
POLL_SECONDS = {"local": 0.5, "slurm": 15.0, "debug": 0.0}
LOCK_ENV = "I2V_RECORD_LOCK"   # the lock file of :func:`one_local_recording` (default: in the temporary folder)


class JobsFailed(I2VError):
    """Jobs that failed on their every try: ``failed`` is ``{key: the cause of its last failure}``."""

    def __init__(self, failed: dict[str, str], tries: int, logs=None):
        self.failed = dict(failed)
        where = f" (their logs are in {logs})" if logs else ""
        super().__init__(f"{len(failed)} job(s) failed {tries} time(s) each, kept unrecorded{where}: "
                         f"{', '.join(failed)}")


@dataclass(frozen=True)
class Engine:
    """Where the jobs run: ``name`` one of :data:`ENGINES`; ``retries``: the tries after a failure; SLURM's
    ``partition`` (None: the cluster's default), ``minutes`` (each job's time limit) and ``cpus`` (each job's cores and
    threads); ``folder``: submitit's job files and logs (default ``_build/record-jobs`` beside the runs); ``device``:
    where each job trains its runs (``cpu``, the default, on its one pinned thread; ``cuda`` on the machine's GPU,
    which the jobs in flight share; a record names the devices its run trained on)."""
    name: str = "local"
    retries: int = RETRIES
    partition: str | None = None
    minutes: int = SLURM_MINUTES
    cpus: int = 1
    folder: str | None = None
    device: str = "cpu"

    def __post_init__(self):
        if self.name not in ENGINES:
            raise I2VError(f"unknown engine {self.name!r}; known: {', '.join(ENGINES)}")


@dataclass
class Task:
    """One job for the driver: its record key, ``fn(*args, threads=, core=)`` to run (a module-level function, so
    that a job process imports it), its estimated training seconds, and ``runs()``: the run directories it would
    train if started now."""
    key: str
    fn: Callable
    args: tuple
    seconds: float
    runs: Callable[[], set] = field(default=set)


class Resumable:
    """A job's function as submitit runs it: one with a ``checkpoint`` method, so that a job SLURM preempts or stops at
    its time limit is requeued as it was submitted; it resumes its run from the last checkpoint."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def __call__(self, *args, **kwargs):
        _end_with_local_controller()
        return self.fn(*args, **kwargs)

    def checkpoint(self, *args, **kwargs):
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, *args, **kwargs)


def _end_with_local_controller() -> None:
    """In a job of submitit's local executor: die with the controller process that started it. A cancelled
    controller kills the tasks it knows of, but one it started a moment before the cancel arrived is not on its list
    yet, and a controller killed outright kills none: such a task would train on, and record, after its recording
    ended. Linux's parent-death signal covers the rest of the job's life; a controller already gone before it was set
    ends the job here."""
    if os.environ.get("SUBMITIT_EXECUTOR") != "local":
        return
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    controller = os.environ.get("SUBMITIT_LOCAL_JOB_ID")      # the controller's pid, unless a shell started it
    if not os.environ.get("SUBMITIT_LOCAL_WITH_SHELL") and str(os.getppid()) != controller:
        raise SystemExit(f"the recording that started this job (controller {controller}) has ended")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The engine's options of a recording command (:func:`from_arguments` reads them)."""
    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help="where the jobs run: processes on this machine, --workers at a time (local, the "
                             "default), jobs of a SLURM cluster, --workers in flight (slurm, from a login node; "
                             "default: all), or one after the other in this process (debug)")
    parser.add_argument("--retries", type=whole_number(0), default=RETRIES,
                        help=f"tries after a job fails, before it is reported as failed (default {RETRIES})")
    parser.add_argument("--partition", default=None, help="--engine slurm: the partition (default: the cluster's)")
    parser.add_argument("--time", type=whole_number(1), default=None, metavar="MINUTES",
                        help=f"--engine slurm: each job's time limit, after which it is requeued and resumes its run "
                             f"(default {SLURM_MINUTES})")
    parser.add_argument("--cpus", type=whole_number(1), default=None,
                        help="--engine slurm: cores (and threads) of each job (default 1)")
    parser.add_argument("--jobs-folder", default=None, metavar="DIR",
                        help="submitit's job files and logs (default: _build/record-jobs)")
    parser.add_argument("--device", default="cpu",
                        help="the device each job trains on: cpu (the default; one pinned thread per job) or a GPU "
                             "that the jobs in flight share (cuda, cuda:N); its records name it")


def from_arguments(args: argparse.Namespace) -> Engine:
    """The :class:`Engine` of a command's options; a SLURM option without ``--engine slurm`` is an error."""
    if args.engine != "slurm":
        given = [f"--{name}" for name in ("partition", "time", "cpus") if getattr(args, name) is not None]
        if given:
            raise I2VError(f"{', '.join(given)}: only with --engine slurm")
    device = cluster_device(args.device) if args.engine == "slurm" else resolve_device(args.device)
    return Engine(args.engine, args.retries, args.partition, args.time or SLURM_MINUTES, args.cpus or 1,
                  args.jobs_folder, device)


def cluster_device(name: str) -> str:
    """A SLURM job's device, named on a login node that may have no GPU: ``cpu``, ``cuda`` or ``cuda:N``."""
    if re.fullmatch(r"cpu|cuda(:\d+)?", name) is None:
        raise I2VError(f"--device {name!r}: a SLURM job trains on cpu, cuda or cuda:N")
    return name


def executor(engine: Engine, folder: Path):
    """submitit's executor for ``engine``, its files in ``folder`` (named by job id); a one-line error where
    submitit is missing, or SLURM's commands are."""
    try:
        import submitit
    except ImportError:
        raise I2VError(f"--engine {engine.name} needs submitit: pip install 'i2vlib[records]'") from None
    if engine.name == "slurm" and not all(shutil.which(command) for command in ("sbatch", "srun")):
        raise I2VError("--engine slurm: no sbatch or srun here; run the command on a login node of the SLURM cluster")
    extra = {"slurm_max_num_timeout": REQUEUES} if engine.name == "slurm" else {}
    ex = submitit.AutoExecutor(folder=folder, cluster=engine.name, **extra)
    # submitit hides every GPU from a job that asks for none: a job on cuda:N asks for GPUs 0 to N
    gpus = {"gpus_per_node": int(engine.device.partition(":")[2] or 0) + 1} if engine.device.startswith("cuda") else {}
    if engine.name == "slurm":
        ex.update_parameters(name="i2v-record", timeout_min=engine.minutes, cpus_per_task=engine.cpus, nodes=1,
                             tasks_per_node=1, **({"slurm_partition": engine.partition} if engine.partition else {}),
                             **gpus)
    elif engine.name == "local":
        ex.update_parameters(name="i2v-record", timeout_min=LOCAL_MINUTES, **gpus)
    return ex


def placement(engine: Engine, workers: int | None, jobs: int) -> tuple[int, int, list]:
    """``(slots, threads, cores)``: how many jobs run at once, on how many threads each, and (locally, one thread
    each) the core each slot's job is pinned to. On this machine one one-thread job per core (``workers`` at most),
    since small models train faster side by side than in turn on every thread (:func:`i2vlib.runs.cached_runs`);
    on SLURM ``workers`` jobs in flight (default: every job) of ``cpus`` threads each; in this process one."""
    if engine.name == "slurm":
        return max(1, min(workers or jobs, jobs)), engine.cpus, []
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    if engine.name == "debug":
        import torch

        return 1, min(len(cores), torch.get_num_threads()), []
    slots = max(1, min(workers or len(cores), len(cores), jobs))
    threads = max(1, len(cores) // slots)
    return slots, threads, cores[:slots] if threads == 1 else []


def run_queue(tasks: list[Task], engine: Engine, folder, workers: int | None = None,
              recorded: Callable[[], set] = set, progress: bool = True) -> list[str]:
    """Run ``tasks`` (longest first: in their order) on ``engine``, their job files in ``folder``; returns the keys
    of the jobs that succeeded, in the order they ended. A task whose key ``recorded()`` holds when a slot frees is
    dropped; a failed job is retried ``engine.retries`` times (first in the queue), then, once every other job has
    ended, :class:`JobsFailed` names it. Ctrl-C or SIGTERM cancels the jobs in flight (a job process ends) and
    raises KeyboardInterrupt: what ended is kept, and the command run again resumes. A local queue refuses to start
    while another runs on this machine (:func:`one_local_recording`)."""
    queue = list(tasks)
    if not queue:
        return []
    with one_local_recording() if engine.name == "local" else contextlib.nullcontext():
        return _drive(queue, engine, folder, workers, recorded, progress)


def _drive(queue: list[Task], engine: Engine, folder, workers, recorded, progress) -> list[str]:
    """:func:`run_queue`'s loop."""
    ex = executor(engine, folder)
    slots, threads, cores = placement(engine, workers, len(queue))
    free, running, tries, failed, done = list(range(slots)), {}, {}, {}, []
    used, began, poll = 0.0, time.perf_counter(), POLL_SECONDS[engine.name]
    say = print if progress else (lambda *a, **k: None)
    say(f"recording {len(queue)} job(s) on {engine.name}, {slots} at a time: about "
        f"{_duration(_left(queue, {}, slots))} of training", flush=True)
    restore = _sigterm_interrupts()
    try:
        while queue or running:
            if free and queue:
                skip = recorded()
                queue = [t for t in queue if t.key not in skip]
            training = set().union(*(runs for _, _, runs, _ in running.values()))
            for task in list(queue):
                if not free:
                    break
                if (runs := task.runs()) & training:    # its run, or its earlier stage, trains in another job
                    continue
                slot = free.pop(0)
                with _children_take_sigint():
                    job = ex.submit(Resumable(task.fn), *task.args, threads=threads,
                                    core=cores[slot] if cores else None)
                if engine.name == "local":
                    job._results_timeout_s = 1       # its process has ended when done(): no shared disk to wait for
                running[job] = (task, slot, runs, time.perf_counter())
                queue.remove(task)
                training |= runs
                say(f"recording {task.key}" + (f" (job {job.job_id})" if engine.name != "debug" else ""), flush=True)
            if not running:
                break
            ended = list(running) if engine.name == "debug" else [job for job in running if job.done()]
            if not ended:
                time.sleep(poll)
                continue
            for job in ended:
                error = job.exception()           # the debug engine runs the job here
                task, slot, _, start = running.pop(job)
                free = sorted([*free, slot])
                used += (time.perf_counter() - start) * threads
                if error is None:
                    done.append(task.key)
                    _tidy(job)
                    say(f"recorded {task.key} after {_duration(time.perf_counter() - start)}: {len(done)} done, "
                        f"{len(running)} running, {len(queue)} left, about "
                        f"{_duration(_left(queue, running, slots))} of training left", flush=True)
                    continue
                tries[task.key] = tries.get(task.key, 0) + 1
                again, cause = tries[task.key] <= engine.retries, _cause(error, job)
                say(f"failed {task.key} (try {tries[task.key]} of {engine.retries + 1}): {cause}"
                    + ("; trying again" if again else "; giving up"), flush=True)
                if again:
                    queue.insert(0, task)
                else:
                    failed[task.key] = cause
    except KeyboardInterrupt:
        _cancel(running, engine)
        say(f"interrupted: {len(running)} job(s) in flight cancelled, {len(done)} recorded; run the command again "
            "to resume", flush=True)
        raise
    finally:
        restore()
    wall = time.perf_counter() - began
    if done:
        say(f"recorded {len(done)} in {wall / 3600:.2f} h on {slots} worker(s) of {threads} core(s): "
            f"{used / 3600:.2f} core-hours of jobs, {used / max(slots * threads * wall, 1e-9):.0%} of the workers' "
            "time", flush=True)
    if failed:
        raise JobsFailed(failed, engine.retries + 1, folder if engine.name != "debug" else None)
    return done


@contextlib.contextmanager
def one_local_recording():
    """Hold the recording lock (the file ``$I2V_RECORD_LOCK``, by default ``i2v-record-<uid>.lock`` in the temporary
    folder, one per user since another user's file would not open) while a local recording runs; a second one
    refuses to start. Each local job is pinned to a core and a lone job takes every core as threads
    (:func:`placement`), so two recordings side by side would put two threads on each core and slow every step many
    times over. The lock is the kernel's (``flock``): it goes with the process that held it, however that ends."""
    import fcntl                 # POSIX only, as is submitit's local executor: imported where it is needed

    path = Path(os.environ.get(LOCK_ENV) or Path(tempfile.gettempdir()) / f"i2v-record-{os.getuid()}.lock")
    try:
        f = open(path, "a+")
    except OSError as e:
        raise I2VError(f"cannot open the recording lock {path}: {e.strerror} "
                       f"(set ${LOCK_ENV} to a file that can be opened)") from None
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise I2VError(f"another recording runs on this machine (process {holder}, lock {path}); its jobs hold "
                           "the cores: let it end, or stop it (Ctrl-C, or kill -TERM it) and run this again") from None
        f.truncate(0)
        f.write(str(os.getpid()))
        f.flush()
        yield


def _tidy(job) -> None:
    """Remove the files of a job that succeeded (its pickles and logs); a failed job's stay, for its logs."""
    for f in (job.paths.submitted_pickle, job.paths.result_pickle, job.paths.stdout, job.paths.stderr):
        f.unlink(missing_ok=True)


def _left(queue: list[Task], running: dict, slots: int) -> float:
    """The training seconds left: the queue's estimates and what the running jobs' have still to go, spread over
    ``slots`` jobs at a time, and never less than the longest of them (the longest-processing-time bound)."""
    now = time.perf_counter()
    rest = [t.seconds for t in queue] + [max(0.0, t.seconds - (now - start)) for t, _, _, start in running.values()]
    return max(sum(rest) / slots, max(rest, default=0.0))


def _duration(seconds: float) -> str:
    """``seconds`` in words: "40 s", "12 min", "3.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _cause(error: BaseException, job) -> str:
    """A failed job's cause in one line: the last line of its traceback (``RuntimeError: ...``), or, for a job whose
    process ended without a result (killed, out of memory, out of time), that, with its log."""
    from submitit.core.utils import FailedJobError, UncompletedJobError

    if isinstance(error, FailedJobError):
        trace = str(error).split("-" * 22)[1]
        return next((line for line in reversed(trace.splitlines()) if line.strip()), "failed").strip()
    if isinstance(error, UncompletedJobError):
        return f"its process ended without a result (killed, out of memory or out of time); log {job.paths.stdout}"
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")


def _cancel(running: dict, engine: Engine, wait_s: float = 15.0) -> None:
    """Cancel the jobs in flight; a local job's processes are waited for (at most ``wait_s``), so that none trains
    on after the command ends."""
    for job in running:
        job.cancel(check=False)
    if engine.name == "local":
        deadline = time.monotonic() + wait_s
        while any(not job.done() for job in running) and time.monotonic() < deadline:
            time.sleep(0.1)
        for job in running:          # a job that outlived its SIGINT (a training deep in a step): its processes killed
            process = getattr(job, "_process", None)
            if not job.done() and process is not None:
                for pid in (*_descendants(process.pid), process.pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _children_take_sigint():
    """While a job is submitted, SIGINT is caught (and dropped) instead of ignored, so that the job's processes start
    with SIGINT at its default. A command started as ``cmd &`` in a script or under ``nohup`` runs with SIGINT
    ignored, and an ignored signal is inherited across ``exec``: its local jobs would ignore the SIGINT by which
    submitit cancels them, and train on, and record, until :func:`_cancel` kills them."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (Linux's /proc; none elsewhere), the deepest first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out[::-1]


def _sigterm_interrupts() -> Callable[[], None]:
    """Make SIGTERM interrupt this process as Ctrl-C does (so that its jobs are cancelled); returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, before)
