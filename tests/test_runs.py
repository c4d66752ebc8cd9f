"""The run store (i2vlib.runs): where a config's model is, what it trains first, and what it loads."""

from __future__ import annotations

import pytest
import torch

import i2vlib
from i2vlib import I2VError, runs
from i2vlib.checkpoint import read_checkpoint, save_checkpoint
from i2vlib.config import config_hash
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.models import affinegan, frgan
from i2vlib.train import train


def _refine(**options) -> dict:
    return frgan.default_config("smoke", stage="refine", steps=2, forecast={"steps": 2}, **options)


def test_a_run_lives_under_its_method_and_config_hash(tmp_path):
    cfg = affinegan.default_config("smoke", steps=2)
    assert runs.run_dir(cfg, tmp_path) == tmp_path / f"affinegan-{config_hash(cfg)}"
    assert runs.run_dir({"method": "affinegan", "profile": "smoke", "steps": 2}, tmp_path) == runs.run_dir(cfg, tmp_path)
    assert not runs.is_finished(runs.run_dir(cfg, tmp_path))
    assert runs.locate(cfg, tmp_path) == runs.run_dir(cfg, tmp_path)        # no zoo file for a smoke config


def test_the_training_loop_refuses_a_later_stage_without_its_earlier_one(tmp_path):
    with pytest.raises(I2VError, match="frozen G_M of an earlier run"):
        train(_refine(), tmp_path / "r", device="cpu", progress=False)
    assert not (tmp_path / "r").exists()                                  # nothing left behind


@pytest.mark.slow
def test_the_store_trains_the_earlier_stage_first_and_hands_over_its_generator(tmp_path, monkeypatch):
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))
    cfg = _refine()
    assert set(runs.earlier_stages(cfg)) == {"G_M"}
    runs.train(cfg, tmp_path / "r", device="cpu", progress=False)
    g_m = runs.run_dir(cfg["forecast"])
    assert runs.is_finished(g_m)
    given = read_checkpoint(g_m)["weights"]["generator"]
    kept = read_checkpoint(tmp_path / "r")["weights"]["G_M"]
    assert all(torch.equal(given[k], kept[k]) for k in given)             # frozen: trained G_R, untouched G_M


@pytest.mark.slow
def test_load_fills_in_the_earlier_stage_of_a_file_that_ships_the_later_one_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))
    run = runs.cached_run(_refine(), progress=False, device="cpu")
    ckpt = read_checkpoint(run)
    alone = save_checkpoint(tmp_path / "g_r.pt", "frgan", ckpt["config"], ckpt["step"],
                            {"generator": ckpt["weights"]["generator"]})
    face = SyntheticBenchmark(64).frame(9, {"happy": 0.0})[0]
    a, b = runs.load(alone).generate(face, [0.0, 1.0]), runs.load(run).generate(face, [0.0, 1.0])
    assert (a == b).all()
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path / "elsewhere"))    # its G_M is nowhere to be found
    with pytest.raises(I2VError, match="neither shipped nor trained here"):
        runs.load(alone)


@pytest.mark.parametrize("bad", [None, 123, b"zoo:fan-happy", ["a"]])
def test_load_names_what_it_takes(bad):
    with pytest.raises(I2VError, match="run directory, a checkpoint file or 'zoo:NAME'"):
        runs.load(bad)


def test_the_package_loads_through_the_store_and_reaches_its_modules_lazily():
    assert i2vlib.runs is runs and i2vlib.render.frame_grid is not None
    with pytest.raises(AttributeError):
        i2vlib.no_such_module


@pytest.mark.slow
def test_a_store_root_holds_the_earlier_stage_too(tmp_path, monkeypatch):
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path / "default"))
    cfg = _refine()
    (run,) = runs.cached_runs([cfg], tmp_path / "zoo", device="cpu", workers=1, progress=False, snapshots=(1,))
    assert run.parent == tmp_path / "zoo" and runs.is_finished(run)
    g_m = runs.run_dir(cfg["forecast"], tmp_path / "zoo")
    assert runs.is_finished(g_m) and (g_m / "snapshots" / "step-1.pt").is_file()   # its learning curve kept too
    assert not (tmp_path / "default").exists()                                      # nothing trained elsewhere
