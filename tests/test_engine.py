"""The recording queue on submitit (i2vlib.records.engine): smoke runs recorded as jobs of submitit's LocalExecutor
(processes of their own), with a measure that stands in for the real one (tens of seconds a run) and writes down each
call, since a job process's calls do not reach this one."""

import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

from pathlib import Path

import pytest
import torch

from i2vlib.errors import I2VError
from i2vlib.records import ablations, engine, store
from i2vlib.runs import run_dir
from i2vlib.zoo import recipe


def _measure(folder, fail=None):
    """A stand-in for the arm measure, as a closure (so that submitit sends it to a job process by value): each call
    appends ``seed threads cores`` to ``folder/calls``; ``fail``: ``{seed: "once" | "always" | "kill"}``, a
    RuntimeError on the first call or on every call, or its own process killed (SIGKILL) on the first call."""
    fail = fail or {}

    def fake(model, **options):
        seed = model.config["seed"]
        with open(folder / "calls", "a") as f:
            f.write(f"{seed} {torch.get_num_threads()} {sorted(os.sched_getaffinity(0))}\n")
        first = not (folder / f"tried-{seed}").exists()
        (folder / f"tried-{seed}").touch()
        if fail.get(seed) == "always" or (fail.get(seed) == "once" and first):
            raise RuntimeError(f"broken measure of seed {seed}")
        if fail.get(seed) == "kill" and first:
            os.kill(os.getpid(), signal.SIGKILL)
        return {"seed": seed, **options}

    return fake


def _calls(folder) -> list[int]:
    path = folder / "calls"
    return sorted(int(line.split()[0]) for line in path.read_text().splitlines()) if path.exists() else []


def _setup(tmp_path, monkeypatch, seeds, fail=None):
    """Smoke configs of ``seeds``, their jobs and keys, with the stand-in measure in place."""
    monkeypatch.setitem(store.MEASURES, "arm", (store.MEASURES["arm"][0], _measure(tmp_path, fail)))
    configs = [recipe("affinegan-happy", "smoke", seed=s) for s in seeds]
    return configs, [(c, "arm", {}, False) for c in configs], [store.key(c, "arm") for c in configs]


def _stamps(runs) -> dict:
    """What tells a run's files from retrained ones: each file's inode, time and size."""
    return {f: (f.stat().st_ino, f.stat().st_mtime_ns, f.stat().st_size)
            for run in runs for f in sorted(run.iterdir()) if f.is_file()}


def test_recording_twice_records_nothing_the_second_time(tmp_path, capsys, monkeypatch):
    configs, jobs, keys = _setup(tmp_path, monkeypatch, (0, 1))
    book, runs, folder = tmp_path / "recorded", tmp_path / "runs", tmp_path / "jobs"
    done = store.record(jobs, workers=2, root=runs, path=book, engine=engine.Engine(folder=str(folder)))
    out = capsys.readouterr().out
    assert sorted(done) == sorted(keys) == sorted(store.read(book)) and _calls(tmp_path) == [0, 1]
    assert "recording 2 job(s) on local, 2 at a time: about " in out
    assert re.search(r"recorded \S+ after \d+ s: 1 done, [01] running, 0 left, about \d+ s of training left", out)
    assert list(folder.iterdir()) == []                              # a job that succeeded leaves no file
    placed = [line.split(" ", 2)[1:] for line in (tmp_path / "calls").read_text().splitlines()]
    assert all(threads == "1" for threads, _ in placed)              # one thread each...
    if len(os.sched_getaffinity(0)) >= 2:                            # ...on a core of its own
        assert placed[0][1] != placed[1][1] and all(len(json.loads(cores)) == 1 for _, cores in placed)
    before = _stamps(run_dir(c, runs) for c in configs)
    assert store.record(jobs, workers=2, root=runs, path=book, engine=engine.Engine(folder=str(folder))) == []
    assert _calls(tmp_path) == [0, 1] and list(folder.iterdir()) == [] and capsys.readouterr().out == ""
    assert _stamps(run_dir(c, runs) for c in configs) == before


def test_a_job_that_fails_once_is_retried_and_one_that_always_fails_ends_the_command_non_zero(tmp_path, capsys,
                                                                                               monkeypatch):
    """Each failure is one line with the key and the cause; the job that failed once is recorded at its second try,
    the one that failed every try is named at the end, with exit status 1, and its logs are kept."""
    _, jobs, (bad, flaky) = _setup(tmp_path, monkeypatch, (0, 1), fail={0: "always", 1: "once"})
    monkeypatch.setattr(ablations, "jobs", lambda *a, **k: jobs)
    monkeypatch.setattr(store, "RECORDS", tmp_path / "recorded")
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))               # runs and job files under tmp_path/_build
    assert ablations.main(["affinegan", "--retries", "1"]) == 1
    out, err = capsys.readouterr()
    assert f"failed {flaky} (try 1 of 2): RuntimeError: broken measure of seed 1; trying again\n" in out
    assert f"failed {bad} (try 1 of 2): RuntimeError: broken measure of seed 0; trying again\n" in out
    assert f"failed {bad} (try 2 of 2): RuntimeError: broken measure of seed 0; giving up\n" in out
    assert f"recorded {flaky} after" in out and f"recorded {bad}" not in out
    assert err.count("\n") == 1 and err.startswith("ablations: error: 1 job(s) failed 2 time(s) each")
    assert err.rstrip().endswith(f": {bad}") and "Traceback" not in err
    assert list(store.read(tmp_path / "recorded")) == [flaky] and _calls(tmp_path) == [0, 0, 1, 1]
    logs = sorted((tmp_path / "_build" / "record-jobs").glob("*_log.err"))
    assert len(logs) == 3 and sum("broken measure of seed 0" in f.read_text() for f in logs) == 2   # kept, to read


def test_a_recording_whose_job_was_killed_resumes_without_retraining_a_finished_run(tmp_path, capsys, monkeypatch):
    """Seed 1's job is killed (SIGKILL) after its run trained, before its record: the recording ends naming it; run
    again, it records seed 1 from the run it trained, and seed 0 not again."""
    configs, jobs, keys = _setup(tmp_path, monkeypatch, (0, 1), fail={1: "kill"})
    book, runs, where = tmp_path / "recorded", tmp_path / "runs", engine.Engine(retries=0, folder=str(tmp_path / "j"))
    with pytest.raises(engine.JobsFailed) as failed:
        store.record(jobs, workers=2, root=runs, path=book, engine=where)
    assert list(failed.value.failed) == [keys[1]] and "ended without a result" in failed.value.failed[keys[1]]
    assert f"failed {keys[1]} (try 1 of 1): its process ended without a result" in capsys.readouterr().out
    assert list(store.read(book)) == [keys[0]]
    before = _stamps(run_dir(c, runs) for c in configs)
    assert json.loads((run_dir(configs[1], runs) / "run.json").read_text())["finished"]
    assert store.record(jobs, workers=2, root=runs, path=book, engine=where) == [keys[1]]
    assert sorted(store.read(book)) == sorted(keys) and _calls(tmp_path) == [0, 1, 1]
    assert _stamps(run_dir(c, runs) for c in configs) == before      # no run trained again


@pytest.mark.parametrize("sigint", [signal.default_int_handler, signal.SIG_IGN], ids=["foreground", "background"])
def test_an_interrupted_recording_cancels_its_jobs_and_resumes(tmp_path, capsys, monkeypatch, request, sigint):
    """SIGTERM of the recording (as Ctrl-C) while its job runs: the job's process ends with it, nothing is recorded,
    and the recording run again records the job. Also for a recording started with SIGINT ignored (``cmd &`` in a
    script, ``nohup``), whose jobs would otherwise inherit it and ignore submitit's cancel: a smoke job then recorded
    in the seconds before it was killed."""
    configs, jobs, (k,) = _setup(tmp_path, monkeypatch, (0,))
    before = signal.signal(signal.SIGINT, sigint)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, before))
    book, runs, where = tmp_path / "recorded", tmp_path / "runs", engine.Engine(folder=str(tmp_path / "j"))
    sleep, interrupted = time.sleep, []

    def terminate_once(seconds):                  # the driver's first wait for its job in flight
        if not interrupted:
            interrupted.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
        sleep(seconds)

    monkeypatch.setattr(engine.time, "sleep", terminate_once)
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        store.record(jobs, root=runs, path=book, engine=where)
    monkeypatch.setattr(engine.time, "sleep", sleep)
    assert signal.getsignal(signal.SIGTERM) == handler                # the driver's SIGTERM handler is undone
    out = capsys.readouterr().out
    pid = int(re.search(r"\(job (\d+)\)", out).group(1))
    assert "interrupted: 1 job(s) in flight cancelled, 0 recorded; run the command again to resume" in out
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)                                               # the job's process has ended
    assert not book.exists() and _calls(tmp_path) == []
    assert store.record(jobs, root=runs, path=book, engine=where) == [k] and _calls(tmp_path) == [0]


_TASK = """
import pathlib, sys, time
from i2vlib.records.engine import Resumable
folder = pathlib.Path(sys.argv[1])
def job():
    (folder / "started").touch()
    time.sleep(float(sys.argv[2]))
    (folder / "ended").touch()
Resumable(job)()
"""
_CONTROLLER = """
import os, pathlib, subprocess, sys, time
env = dict(os.environ, SUBMITIT_EXECUTOR="local", SUBMITIT_LOCAL_JOB_ID=str(os.getpid()))
env.pop("SUBMITIT_LOCAL_WITH_SHELL", None)
folder, mode, seconds = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
task = subprocess.Popen([sys.executable, "-c", sys.argv[4], str(folder), seconds], env=env)
print(task.pid, flush=True)
if mode == "wait":
    task.wait()
while mode == "started" and not (folder / "started").exists():
    time.sleep(0.05)
"""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (an orphan's zombie, which nobody may reap here, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize("mode, seconds, made", [("wait", "0", {"started", "ended"}),   # its controller waits
                                                 ("at-once", "0", set()),     # ended before the job began
                                                 ("started", "60", {"started"})])   # ended while the job trains
def test_a_local_job_ends_with_the_controller_that_started_it(tmp_path, mode, seconds, made):
    """A cancelled controller kills the tasks it knows of; a task it started a moment before the cancel arrived is not
    among them yet, and a controller killed outright kills none. The task ends with its controller instead: before
    its job begins, or while it runs."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux's parent-death signal and /proc")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    controller = subprocess.run([sys.executable, "-c", _CONTROLLER, str(tmp_path), mode, seconds, _TASK],
                                env=env, capture_output=True, text=True, timeout=120, check=True)
    pid, deadline = int(controller.stdout.split()[0]), time.monotonic() + 60
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
    assert {p.name for p in tmp_path.iterdir()} == made


def test_a_job_run_twice_waits_for_the_other_and_records_once(tmp_path, monkeypatch):
    """A job started again while one that outlived a killed recording still trains its run waits for that one to end
    (its lock on the run directory), then finds the record it made, and trains and measures nothing."""
    (config,), _, (k,) = _setup(tmp_path, monkeypatch, (0,))
    runs, book = tmp_path / "runs", tmp_path / "recorded"
    run = run_dir(config, runs)
    run.mkdir(parents=True)
    fd = os.open(run, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)                # the other job trains into it

    def other_job_ends():
        time.sleep(1.0)
        store.write_record(book, k, {"config": config, "value": {"seed": 0}})
        os.close(fd)                              # its lock goes with it

    threading.Thread(target=other_job_ends).start()
    threads = torch.get_num_threads()
    try:
        assert store.record_job(k, config, store.MEASURES["arm"][1], {}, False, runs, book) == k
    finally:
        torch.set_num_threads(threads)
    assert list(run.iterdir()) == [] and _calls(tmp_path) == []


def test_the_driver_starts_the_longest_first_and_never_two_jobs_on_one_run(tmp_path, capsys):
    """Three jobs on two slots: the longest starts first; the next longest shares a run with it (an FRGAN G_R job
    and its G_M's own), so the third starts beside it, and the second only once the first has ended."""
    log = tmp_path / "log"

    def job(name, threads, core):
        with open(log, "a") as f:
            f.write(f"{name} start {time.time()}\n")
        time.sleep(1.0)
        with open(log, "a") as f:
            f.write(f"{name} end {time.time()}\n")
        return name

    tasks = [engine.Task("refine", job, ("refine",), 30.0, lambda: {"g_m", "g_r"}),
             engine.Task("forecast", job, ("forecast",), 20.0, lambda: {"g_m"}),
             engine.Task("other", job, ("other",), 10.0, lambda: {"x"})]
    done = engine.run_queue(tasks, engine.Engine(), tmp_path / "jobs", workers=2)
    assert sorted(done) == ["forecast", "other", "refine"]
    at = {(name, what): float(t) for name, what, t in (line.split() for line in log.read_text().splitlines())}
    assert at["forecast", "start"] >= at["refine", "end"]
    out = capsys.readouterr().out
    assert "recording 3 job(s) on local, 2 at a time: about 30 s of training" in out
    assert re.findall(r"^recording (\w+) \(job", out, re.M) == ["refine", "other", "forecast"]


def test_the_engine_s_options_and_missing_commands_are_one_line_errors(tmp_path, capsys, monkeypatch):
    _, jobs, _ = _setup(tmp_path, monkeypatch, (0,))
    monkeypatch.setattr(ablations, "jobs", lambda *a, **k: jobs)
    monkeypatch.setattr(store, "RECORDS", tmp_path / "recorded")
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))
    monkeypatch.setattr(engine.shutil, "which", lambda command: None)
    for argv, message in ((["--partition", "cpu"], "--partition: only with --engine slurm"),
                          (["--time", "60", "--cpus", "4"], "--time, --cpus: only with --engine slurm"),
                          (["--engine", "slurm"], "no sbatch or srun here"),
                          (["--device", "tpu"], "device 'tpu' is not available here")):
        assert ablations.main(["affinegan", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and "Traceback" not in err
    monkeypatch.setitem(sys.modules, "submitit", None)              # not installed
    assert ablations.main(["affinegan"]) == 2
    err = capsys.readouterr().err
    assert err == "ablations: error: --engine local needs submitit: pip install 'i2vlib[records]'\n"
    assert list(tmp_path.iterdir()) == []                           # nothing written, no job folder


def test_a_second_local_recording_on_one_machine_refuses_to_start(tmp_path, capsys, monkeypatch):
    """Two recordings side by side would oversubscribe the cores: the second says so in one line, exits 2 and
    writes nothing; once the first has ended, the same command records."""
    _, jobs, keys = _setup(tmp_path, monkeypatch, (0,))
    monkeypatch.setattr(ablations, "jobs", lambda *a, **k: jobs)
    monkeypatch.setattr(store, "RECORDS", tmp_path / "recorded")
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path / "repo"))
    argv = ["affinegan", "--workers", "1"]
    with engine.one_local_recording():                      # the first recording
        assert ablations.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"another recording runs on this machine (process {os.getpid()}" in err
        assert not (tmp_path / "repo").exists() and not (tmp_path / "recorded").exists()
    assert ablations.main(argv) == 0
    assert list(store.read(tmp_path / "recorded")) == keys
    monkeypatch.setenv(engine.LOCK_ENV, str(tmp_path / "no" / "such" / "lock"))
    with pytest.raises(I2VError, match=r"cannot open the recording lock .*lock: No such file or directory"):
        engine.run_queue([engine.Task("k", print, (), 1.0)], engine.Engine(), tmp_path / "jobs")
    assert not (tmp_path / "jobs").exists()


def test_slurm_jobs_get_the_partition_time_and_cores_asked_for(tmp_path, monkeypatch):
    """Without a cluster: the batch script submitit would submit, from the command's options."""
    monkeypatch.setattr(shutil, "which", lambda command, *a, **k: f"/usr/bin/{command}")
    p = argparse.ArgumentParser()
    engine.add_arguments(p)
    where = engine.from_arguments(p.parse_args(["--engine", "slurm", "--partition", "cpu", "--time", "60",
                                                "--cpus", "4"]))
    script = engine.executor(where, tmp_path)._executor._make_submission_file_text("python -m job", "uid")
    for line in ("--partition=cpu", "--time=60", "--cpus-per-task=4", "--signal=USR2@"):   # USR2: requeue, resume
        assert f"#SBATCH {line}" in script
    assert "--gpus-per-node" not in script
    assert engine.placement(where, None, 7) == (7, 4, [])             # every job in flight, 4 threads each
    assert engine.placement(where, 3, 7) == (3, 4, [])
    on_gpu = engine.from_arguments(p.parse_args(["--engine", "slurm", "--device", "cuda:1"]))   # no GPU on this node
    assert "#SBATCH --gpus-per-node=2" in engine.executor(on_gpu, tmp_path)._executor._make_submission_file_text(
        "python -m job", "uid")
    with pytest.raises(I2VError, match="a SLURM job trains on cpu, cuda or cuda:N"):
        engine.from_arguments(p.parse_args(["--engine", "slurm", "--device", "gpu"]))


def test_the_jobs_train_on_the_engine_s_device(tmp_path, monkeypatch):
    _, jobs, keys = _setup(tmp_path, monkeypatch, (0,))
    p = argparse.ArgumentParser()
    engine.add_arguments(p)
    assert engine.from_arguments(p.parse_args([])).device == "cpu"
    where = engine.from_arguments(p.parse_args(["--engine", "debug", "--device", "cpu:0"]))
    assert where.device == "cpu"
    asked, real = [], store.cached_runs
    monkeypatch.setattr(store, "cached_runs", lambda configs, **kw: asked.append(kw["device"]) or real(configs, **kw))
    assert store.record(jobs, root=tmp_path / "runs", path=tmp_path / "book", progress=False, engine=where) == keys
    assert asked == ["cpu"]
    assert "devices" not in store.read(tmp_path / "book")[keys[0]]      # a record without devices trained on a CPU


@pytest.mark.parametrize("device, visible", [("cpu", ""), ("cuda", "0"), ("cuda:1", "0,1")])
def test_a_local_job_sees_the_gpu_its_engine_trains_on(tmp_path, device, visible):
    """submitit hides every GPU from a local job that asks for none (CUDA_VISIBLE_DEVICES): a recording on cuda:N
    asks for GPUs 0 to N, so that its jobs train on the GPU it names (a real job process, on a machine with no GPU)."""
    def visible_gpus():           # a closure, so that submitit sends it to the job process by value
        return os.environ.get("CUDA_VISIBLE_DEVICES")

    where = engine.Engine("local", device=device)
    assert engine.executor(where, tmp_path).submit(visible_gpus).result() == visible


def _sleeper(folder):
    """A job that would run for minutes."""
    def job():
        (folder / "started").write_text(str(os.getpid()))
        time.sleep(600)
    return job


def test_a_cancelled_job_that_ignores_its_signal_is_killed(tmp_path):
    """Cancelling the jobs in flight leaves no process training on after the command ends, even where the jobs ignore
    submitit's SIGINT: a command started in the background by a shell without job control (``cmd &`` in a script,
    ``nohup``) starts with SIGINT ignored, and so do its jobs' processes. They are killed, with the processes below."""
    submitit = pytest.importorskip("submitit")
    executor = submitit.LocalExecutor(folder=tmp_path / "jobs")
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)       # as a background command starts
    try:
        job = executor.submit(_sleeper(tmp_path))
    finally:
        signal.signal(signal.SIGINT, before)
    for _ in range(600):
        if (tmp_path / "started").exists():
            break
        time.sleep(0.1)
    pid = int((tmp_path / "started").read_text())
    engine._cancel({job: None}, engine.Engine("local"), wait_s=1.0)
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"the job's process {pid} still runs")
