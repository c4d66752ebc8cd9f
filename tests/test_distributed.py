"""Training on several processes (torchrun, gloo on the CPU): the steps of one process on the whole batch.

Two processes draw their halves of the batch from their own streams; one process stepping on the two
halves put together must log the same losses (the gradients are averaged, and every loss is a mean
over its examples). Rank 0 alone writes the run directory, and a resumed run goes on as if it had never
stopped.
"""

import csv
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from i2vlib import I2VError, checkpoint, distributed
from i2vlib.distributed import Context
from i2vlib.models import affinegan, fan
from i2vlib.train import train

# Constant learning rate: the linear decay depends on the number of steps, which grows on resume.
OPTIONS = {"videos": 2, "decay_from": 1.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(out, *args, timeout=300) -> subprocess.CompletedProcess:
    # TMPDIR: torchrun's own folders (torchelastic_*) go beside the run, not into the machine's temporary folder
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "TMPDIR": str(out.parent)}
    sets = [f"{k}={json.dumps(v)}" for k, v in OPTIONS.items()]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m", "i2vlib.cli", "train", "fan",
           "--profile", "smoke", "--device", "cpu", "--quiet", "--out", str(out), "--set", *sets, *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def _rows(run) -> list[dict]:
    with open(run / "losses.csv", newline="") as f:
        return list(csv.DictReader(f))


def _reference(steps: int) -> list[dict]:
    """One process, stepping on the two ranks' batches put together."""
    cfg = fan.default_config("smoke", steps=steps, **OPTIONS)
    torch.manual_seed(cfg["seed"])
    trainer = fan.Trainer(cfg)
    trainer.cfg["batch"] = cfg["batch"] // 2
    ranks = [Context(rank=r, local_rank=r, world=2) for r in (0, 1)]
    rows = []
    for step in range(steps):
        halves = [trainer.sample(distributed.batch_rng(cfg["seed"], step, c)) for c in ranks]
        assert not torch.equal(halves[0]["target"], halves[1]["target"])   # two streams, not one twice
        batch = {k: torch.cat([h[k] for h in halves]) for k in halves[0]}
        rows.append({k: float(v.detach()) for k, v in trainer.step(batch).items()})
    return rows


@pytest.mark.slow
def test_two_gloo_processes_step_like_one_process_on_the_whole_batch_and_resume(tmp_path):
    run = tmp_path / "run"
    _torchrun(run, "--steps", "2")
    _torchrun(run, "--steps", "4", "--resume")
    rows = _rows(run)
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]        # one writer: no row twice
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "losses.csv", "run.json"]
    for got, want in zip(rows, _reference(4)):
        for k, v in want.items():
            assert float(got[k]) == pytest.approx(v, rel=1e-4, abs=1e-5), (got["step"], k)
    ckpt = checkpoint.read_checkpoint(run)
    assert ckpt["step"] == 4 and ckpt["config"]["batch"] == 4 and len(ckpt["rng"]["ranks"]) == 2
    assert not torch.equal(ckpt["rng"]["ranks"][0]["torch"], ckpt["rng"]["ranks"][1]["torch"])
    assert json.loads((run / "run.json").read_text())["processes"] == 2


@pytest.mark.slow
def test_fp16_gradient_scalers_agree_across_processes(tmp_path):
    _torchrun(tmp_path / "run", "--steps", "2", "--amp", "fp16")
    rows = _rows(tmp_path / "run")
    assert [int(r["step"]) for r in rows] == [1, 2]
    assert all(np.isfinite(float(v)) for r in rows for k, v in r.items() if k != "step")
    assert set(checkpoint.read_checkpoint(tmp_path / "run")["scalers"]) == {"g", "d"}


def test_one_process_draws_its_batches_as_before(monkeypatch):
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    assert distributed.context() == Context() and not Context().active
    a = distributed.batch_rng(3, 7, Context()).integers(1 << 30, size=4)
    assert np.array_equal(a, np.random.default_rng([3, 7]).integers(1 << 30, size=4))


def test_a_batch_that_does_not_split_is_one_line_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(I2VError, match="batch 4 cannot be split over 3 processes") as e:
        train(fan.default_config("smoke"), tmp_path / "run", progress=False)
    assert "\n" not in str(e.value) and not (tmp_path / "run").exists()
    paper = affinegan.default_config("paper")                      # one video of five pairs per batch
    with pytest.raises(I2VError, match="not whole videos of pairs_per_video=5; give a batch that is a multiple of 25"):
        distributed.share({**paper, "batch": 10}, 5)
    assert distributed.share({**paper, "batch": 10}, 2) == 5


@pytest.mark.parametrize("env", [{"WORLD_SIZE": "two"}, {"WORLD_SIZE": "2", "RANK": "2"}])
def test_a_bad_torchrun_environment_is_one_line(monkeypatch, env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(I2VError):
        distributed.context()
