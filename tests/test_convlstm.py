"""The ConvLSTM baseline (Fan et al. §4.1): the cell, shapes, config, one step, the fixed-clip API, the CLI."""

import re

import numpy as np
import pytest
import torch

import i2vlib
from i2vlib import I2VError
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.models import convlstm as bl
from i2vlib.nn import ConvLSTMCell
from i2vlib.train import train


def _net(size=64, **kw):
    torch.manual_seed(0)
    cfg = bl.default_config("smoke", image_size=size, **kw)
    return bl.ConvLSTMGenerator(cfg), cfg


def test_convlstm_cell_state_shapes_and_memory():
    torch.manual_seed(0)
    cell = ConvLSTMCell(5, 7)
    x1, x1b, x2 = torch.randn(2, 5, 4, 4), torch.randn(2, 5, 4, 4), torch.randn(2, 5, 4, 4)
    h, (h_, c) = cell(x1)
    assert h.shape == c.shape == (2, 7, 4, 4) and h is h_ and h.abs().max() < 1
    out_a, _ = cell(x2, cell(x1)[1])
    out_b, _ = cell(x2, cell(x1b)[1])
    assert not torch.allclose(out_a, out_b)               # step 2 remembers step 1's input
    assert torch.allclose(out_a, cell(x2, cell(x1)[1])[0])


@pytest.mark.parametrize("size", [64, 128, 256])
@pytest.mark.slow
def test_shapes_at_every_supported_size(size):
    net, _ = _net(size, ngf=4)
    x = torch.rand(2, 3, size, size) * 2 - 1
    assert net.encoder(x)[net.level].shape[-1] == 4       # the ConvLSTM runs at the 4x4 level
    y = net(x)
    assert y.shape == (2, 10, 3, size, size) and y.abs().max() <= 1


def test_config_follows_the_paper_and_refuses_the_rest():
    cfg = bl.default_config("smoke")
    assert cfg["length"] == 10 and cfg["weights"] == {"g": 1.0, "r": 100.0} and cfg["expressions"] == ["happy"]
    assert np.allclose(bl.INTENSITIES, np.arange(1, 11) / 10)
    with pytest.raises(I2VError, match="one model per expression"):
        bl.default_config("smoke", expressions=["happy", "surprise"])
    with pytest.raises(I2VError, match="at least 11 frames"):
        bl.default_config("smoke", frames=[8, 12])
    with pytest.raises(I2VError, match="unknown convlstm option"):
        bl.default_config("smoke", mix="skips")
    with pytest.raises(I2VError, match="unknown expression"):
        bl.default_config("smoke", expressions=["smirk"])


@pytest.mark.slow
def test_one_training_step_moves_every_network_and_reports_finite_losses():
    torch.manual_seed(0)
    tr = bl.Trainer(bl.default_config("smoke", videos=2))
    b = tr.sample(np.random.default_rng(0))
    assert b["neutral"].shape == (2, 3, 64, 64) and b["target"].shape == (2, 10, 3, 64, 64)
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    lstm = [p.detach().clone() for p in tr.nets["generator"].lstm.parameters()]
    out = tr.step(b)
    assert set(out) == set(tr.loss_names) and all(torch.isfinite(v) for v in out.values())
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    assert all(not torch.equal(a, p) for a, p in zip(lstm, tr.nets["generator"].lstm.parameters()))  # the ConvLSTM learns


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("convlstm") / "run"
    info = train(bl.default_config("smoke", steps=2), out, progress=False)
    assert info["finished"] and info["step"] == 2
    return out


@pytest.mark.slow
def test_train_checkpoint_load_generate_round_trip(run):
    model = i2vlib.load(run)
    assert model.method == "convlstm" and model.step == 2
    assert np.array_equal(model.supported_intensities, bl.INTENSITIES)
    face = SyntheticBenchmark(64).frame(9, {"happy": 0.0})[0]
    calls, encode = [], model._encode
    model._encode = lambda *a: calls.append(1) or encode(*a)
    frames = model.generate(face, list(bl.INTENSITIES))
    assert frames.shape == (10, 64, 64, 3) and frames.dtype == np.uint8
    assert np.array_equal(model.generate(face, {"happy": np.linspace(0.1, 1, 10)}), frames)
    t = model.generate(face, bl.INTENSITIES, expression="happy", as_tensor=True)
    assert t.shape == (10, 3, 64, 64) and len(calls) == 1                 # encoder + ConvLSTM cached


@pytest.mark.parametrize("intensities,words", [
    ([0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0], "fixed clip of 10 frames at a = 0.1, 0.2, ..., 1.0 (Fan et al. §4.1); got 7"),
    (list(np.linspace(0, 0.9, 10)), "got 10 intensities"),
    ({"happy": list(bl.INTENSITIES), "surprise": list(bl.INTENSITIES)}, "cannot mix"),
    ([0.5, float("nan")], "NaN"), ([], "no intensities"),
])
def test_generate_refuses_what_the_baseline_cannot_render(run, intensities, words):
    model = i2vlib.load(run)
    with pytest.raises(I2VError, match=re.escape(words)):
        model.generate(np.zeros((64, 64, 3), np.uint8), intensities)
