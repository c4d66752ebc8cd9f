"""The GPU code path, run on the CPU: every method (and every multi-expression variant) trains under
bf16 and fp16 autocast and with channels_last, so dtype and layout bugs fail here, not on a reader's GPU."""

import json
import math

import pytest
import torch

from i2vlib import I2VError
from i2vlib.checkpoint import read_checkpoint
from i2vlib.cli import main
from i2vlib.models import get_method
from i2vlib.io import read_losses
from i2vlib.runs import train
from i2vlib.train import resolve_amp

VARIANTS = {
    "affinegan": {},
    "affinegan-3": {"expressions": ["happy", "anger", "surprise"]},
    "fan": {},
    "fan-joint": {"expressions": ["happy", "anger", "surprise"]},
    "fan-true-labels": {"labels": "true"},
    "convlstm": {},
    "frgan": {},
    "frgan-refine": {"stage": "refine"},
    "vgan": {},                 # 3-D convolutions: 5-D weights, which channels_last leaves as they are
}


def _config(variant, **extra):
    method = variant.split("-")[0]
    return get_method(method).default_config("smoke", **{"steps": 2, "batch": 2, **VARIANTS[variant], **extra})


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.slow
def test_every_method_trains_under_cpu_autocast(variant, amp, tmp_path, one_thread, monkeypatch):
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))     # FRGAN's refine stage trains its forecast stage first
    info = train(_config(variant), tmp_path / "run", progress=False, device="cpu", amp=amp)
    assert info["amp"] == amp and info["step"] == 2
    ckpt = read_checkpoint(tmp_path / "run")
    weights = ckpt["weights"]["generator"]
    assert all(t.dtype == torch.float32 for t in weights.values() if t.is_floating_point())   # master weights
    assert all(torch.isfinite(t).all() for t in weights.values() if t.is_floating_point())
    assert bool(ckpt["scalers"]) == (amp == "fp16")


@pytest.mark.parametrize("variant", ["affinegan-3", "fan-joint", "convlstm", "vgan"])
def test_channels_last_trains_like_the_default_layout(variant, tmp_path, one_thread):
    plain = train(_config(variant), tmp_path / "a", progress=False, device="cpu", amp="off")
    nhwc = train(_config(variant), tmp_path / "b", progress=False, device="cpu", amp="off", channels_last=True)
    assert nhwc["channels_last"] and not plain["channels_last"]
    # The same arithmetic in another memory order: the losses agree up to summation order. (Weights are
    # no test: a bias before an instance norm gets a gradient of rounding noise, which Adam scales up.)
    a, b = read_losses(tmp_path / "a"), read_losses(tmp_path / "b")
    assert [r["step"] for r in a] == [r["step"] for r in b] == [1, 2]
    for ra, rb in zip(a, b):
        for k in set(ra) - {"seconds"}:
            assert rb[k] == pytest.approx(ra[k], rel=1e-3, abs=1e-5), k


def test_fp16_resumes_with_its_gradient_scaler(tmp_path, one_thread):
    cfg = _config("affinegan", steps=4, checkpoint_every=2)
    train({**cfg, "steps": 2}, tmp_path / "run", progress=False, device="cpu", amp="fp16")
    scale = read_checkpoint(tmp_path / "run")["scalers"]["g"]["scale"]
    info = train(cfg, tmp_path / "run", resume=True, progress=False, device="cpu", amp="fp16")
    assert info["step"] == 4 and math.isfinite(scale)


def test_amp_resolution():
    cpu = torch.device("cpu")
    assert resolve_amp("auto", cpu) == "off"           # bf16 results not shown equal (benchmarks/amp_quality.py)
    assert resolve_amp("bf16", cpu) == "bf16" and resolve_amp("off", cpu) == "off"
    with pytest.raises(I2VError, match="--amp 'half'"):
        resolve_amp("half", cpu)


def test_the_cli_takes_amp_and_refuses_a_bad_one(tmp_path, capsys):
    assert main(["train", "fan", "--profile", "smoke", "--steps", "1", "--amp", "bf16", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "run.json").read_text())["amp"] == "bf16"
    with pytest.raises(SystemExit) as e:
        main(["train", "fan", "--profile", "smoke", "--amp", "fp8", "--out", str(tmp_path / "bad")])
    assert e.value.code == 2 and "invalid choice: 'fp8'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
