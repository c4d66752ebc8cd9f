"""Throughput of the training queues: the recording queue starts the longest jobs first (estimated from the records'
own training times), and one-thread workers get a core each; and the fairness of benchmarks/step_ceiling.py's
comparison of convolution algorithms."""

import json
import os

import pytest
from scripts import load_script

from i2vlib.models import affinegan as ag
from i2vlib.models import fan
from i2vlib.records import schedule, store
from i2vlib.runs import run_dir, worker_pool


def _rec(config, seconds):
    return {"config": config, "value": {}, "seconds": seconds}


def _book():
    """Records of two AffineGAN shapes and of Fan et al.: 0.1 s a step at batch 4, 0.4 s at batch 8, Fan 1 s."""
    return {"a1": _rec(ag.default_config("smoke", steps=100), 10.0),
            "a2": _rec(ag.default_config("smoke", steps=300), 30.0),
            "a3": _rec(ag.default_config("smoke", steps=100, batch=8), 40.0),
            "f1": _rec(fan.default_config("smoke", steps=50), 50.0),
            "old": {"config": ag.default_config("smoke"), "value": {}},          # older than the seconds field
            "gpu": {**_rec(ag.default_config("smoke", steps=100), 0.5), "devices": [["cuda", 0]]}}  # not a core's


def test_a_step_is_timed_by_the_records_of_its_method_and_shape():
    book = _book()
    assert schedule.step_seconds(ag.default_config("smoke", steps=7), book) == pytest.approx(0.1)
    assert schedule.step_seconds(ag.default_config("smoke", batch=8), book) == pytest.approx(0.4)
    # no record of this shape: the method's median (0.1, 0.1, 0.4)
    assert schedule.step_seconds(ag.default_config("smoke", ngf=4), book) == pytest.approx(0.1)
    # no record of the method: the median of all (0.1, 0.1, 0.4, 1.0)
    assert schedule.step_seconds({"method": "vgan", "batch": 4}, book) == pytest.approx(0.25)
    assert schedule.step_seconds({"method": "vgan"}, {}) == 1.0


def test_a_job_costs_the_steps_its_unfinished_runs_have_to_go(tmp_path):
    book, cfg = _book(), ag.default_config("smoke", steps=200)
    assert schedule.job_seconds(cfg, book, tmp_path) == pytest.approx(20.0)
    run = run_dir(cfg, tmp_path)
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"step": 150, "finished": False}))   # interrupted at step 150
    assert schedule.job_seconds(cfg, book, tmp_path) == pytest.approx(5.0)
    (run / "run.json").write_text(json.dumps({"step": 200, "finished": True}))
    assert schedule.job_seconds(cfg, book, tmp_path) == 0.0


def test_the_queue_starts_the_longest_jobs_first(tmp_path, monkeypatch):
    book = _book()
    path = tmp_path / "recorded"
    for k, rec in book.items():
        store.write_record(path, k, rec)
    jobs = [(ag.default_config("smoke", steps=10, seed=1), "arm", {}, False),                # 1 s
            (fan.default_config("smoke", steps=30, seed=1), "arm", {}, False),               # 30 s
            (ag.default_config("smoke", steps=20, batch=8, seed=1), "arm", {}, False),       # 8 s
            (ag.default_config("smoke", steps=50, seed=1), "arm", {}, False)]                # 5 s
    started = []

    def fake_job(key, config, measure, options, pictures, root, path_, device, threads, core):
        started.append((config["method"], config["steps"]))
        return key

    monkeypatch.setattr(store, "record_job", fake_job)
    done = store.record(jobs, root=tmp_path / "runs", path=path, progress=False, engine="debug")
    assert started == [("fan", 30), ("affinegan", 20), ("affinegan", 50), ("affinegan", 10)]
    assert len(done) == 4
    # already recorded jobs are not queued at all
    store.write_record(path, store.key(jobs[1][0]), _rec(jobs[1][0], 1.0))
    started.clear()
    store.record(jobs, root=tmp_path / "runs", path=path, progress=False, engine="debug")
    assert [s for s in started if s[0] == "fan"] == []


def test_one_thread_workers_are_pinned_to_a_core_each():
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    assert "initializer" not in worker_pool(2, 2)                       # several threads: the scheduler decides
    assert "initializer" not in worker_pool(len(cores) + 1, 1)           # more workers than cores: no pinning
    if len(cores) < 2:
        pytest.skip("needs two cores to pin two workers apart")
    pool = worker_pool(2, 1)
    before = os.sched_getaffinity(0)
    try:
        pool["initializer"](*pool["initargs"])
        first = os.sched_getaffinity(0)
        pool["initializer"](*pool["initargs"])
        second = os.sched_getaffinity(0)
    finally:
        os.sched_setaffinity(0, before)
    assert len(first) == len(second) == 1 and first != second and first | second <= set(cores)


@pytest.mark.parametrize("stride,pad,bias", [(2, 1, True), (1, 0, False), (1, 1, True)])
def test_the_step_ceilings_gemm_forms_compute_the_same_convolutions_and_gradients(stride, pad, bias):
    """benchmarks/step_ceiling.py times oneDNN against im2col GEMM; the comparison is fair only if both compute
    the same function, values and gradients, for convolutions and transposed convolutions alike."""
    import torch
    import torch.nn.functional as F

    sc = load_script("benchmarks/step_ceiling.py")
    g = torch.Generator().manual_seed(0)
    for transpose in (False, True):
        x = torch.randn(3, 5, 8, 8, generator=g, requires_grad=True)
        w = torch.randn(*((5, 7) if transpose else (7, 5)), 4, 4, generator=g, requires_grad=True)
        b = torch.randn(7, generator=g, requires_grad=True) if bias else None
        ref = F.conv_transpose2d if transpose else F.conv2d
        ours = sc.gemm_conv_transpose if transpose else sc.gemm_conv
        y0, y1 = ref(x, w, b, stride, pad), ours(x, w, b, stride, pad)
        assert y1.shape == y0.shape
        torch.testing.assert_close(y1, y0, rtol=1e-4, atol=1e-4)
        up = torch.randn(y0.shape, generator=g)
        inputs = (x, w) + ((b,) if bias else ())
        for a, c in zip(torch.autograd.grad(y0, inputs, up), torch.autograd.grad(y1, inputs, up)):
            torch.testing.assert_close(c, a, rtol=1e-4, atol=1e-3)


def test_the_step_ceiling_times_only_the_convolutions_its_gemm_forms_compute():
    from torch import nn

    sc = load_script("benchmarks/step_ceiling.py")
    assert sc.plain(nn.Conv2d(4, 8, 4, 2, 1)) and sc.plain(nn.ConvTranspose2d(4, 8, 4, 2, 1))
    assert not sc.plain(nn.Conv2d(4, 8, 3, groups=2))
    assert not sc.plain(nn.Conv2d(4, 8, 3, dilation=2))
    assert not sc.plain(nn.Conv2d(4, 8, (3, 1)))
    assert not sc.plain(nn.Conv2d(4, 8, 3, padding="same"))
    assert not sc.plain(nn.ConvTranspose2d(4, 8, 4, 2, 1, output_padding=1))
