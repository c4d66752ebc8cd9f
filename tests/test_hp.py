"""HP, the Hierarchical Prediction baseline of Fan et al. §4.1: the landmark LSTM, the visual-structure analogy,
the config, one step, the fixed clip through the one API and the CLI."""

import re

import numpy as np
import pytest
import torch

import i2vlib
from i2vlib import I2VError
from i2vlib.clip_record import Clip
from i2vlib.data.sampling import Sampler
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.instruments.condition import measure_landmarks
from i2vlib.models import hp
from i2vlib.models.pose_lstm import normalise
from i2vlib.train import train


def _net(size=64, **kw):
    torch.manual_seed(0)
    return hp.HPGenerator(hp.default_config("smoke", image_size=size, **kw))


def _face_and_landmarks(size=64, n=2):
    bench = SyntheticBenchmark(size)
    clips = [bench.video("train", i, curve="linear", n_frames=11) for i in range(n)]
    x = torch.stack([torch.as_tensor(c.frames[0]).permute(2, 0, 1).float() / 127.5 - 1 for c in clips])
    return x, torch.as_tensor(np.stack([c.landmarks for c in clips]), dtype=torch.float32)


def test_the_lstm_unrolls_ten_landmark_sets_from_the_input_alone():
    net = _net()
    _, p = _face_and_landmarks()
    u0 = normalise(p[:, 0], 64)
    u = net.lstm(u0)
    assert u.shape == (2, 10, 68, 2) and u.abs().max() <= 1
    x = torch.cat([u0.reshape(2, 1, 136), torch.zeros(2, 10, 136)], 1)     # p_0, then no input for the future
    h, _ = net.lstm.lstm(x)
    assert torch.allclose(u, torch.tanh(net.lstm.head(h[:, 1:])).view(2, 10, 68, 2))
    assert torch.allclose(net.structure(p[:, 0]), (u + 1) / 2 * 63)         # in pixels


@pytest.mark.parametrize("size", [64, 32])
def test_the_analogy_renders_the_clip_and_the_input_structure_gives_f_img_alone(size):
    net = _net(size).eval()
    x, p = _face_and_landmarks(size)
    clip = net(x, p[:, 0])
    assert clip.shape == (2, 10, 3, size, size) and clip.abs().max() <= 1
    m = net.draw(p)
    assert m.shape == (2, 11, 68, size, size) and 0 <= m.min() and m.max() <= 1
    a = net.analogy
    same = net.render(x, m[:, 0], m[:, :1])[:, 0]         # p_t = p_0: f_pose(g(p_t)) - f_pose(g(p_0)) = 0
    assert torch.allclose(same, a.decode(a.f_I(x), None)["frame"], atol=1e-6)
    moved = net.render(x, m[:, 0], m[:, 1:])
    with torch.no_grad():
        for w in a.f_M.parameters():
            w.add_(0.1)
    assert torch.allclose(net.render(x, m[:, 0], m[:, :1])[:, 0], same, atol=1e-6)   # f_pose cancels out
    assert not torch.allclose(net.render(x, m[:, 0], m[:, 1:]), moved)             # ... only when p_t = p_0


def test_config_follows_the_papers_and_refuses_the_rest():
    cfg = hp.default_config("smoke")
    assert cfg["length"] == 10 and cfg["weights"] == {"pose": 1.0, "img": 1.0, "gan": 0.02}
    assert cfg["expressions"] == ["happy"]
    paper = hp.default_config("paper")
    assert (paper["hidden"], paper["batch"], paper["lr"], paper["betas"]) == (1024, 8, 1e-4, [0.5, 0.999])
    assert set(hp.STATED) | set(hp.UNSTATED) <= set(paper) and not set(hp.STATED) & set(hp.UNSTATED)
    with pytest.raises(I2VError, match="one model per expression"):
        hp.default_config("smoke", expressions=["happy", "surprise"])
    with pytest.raises(I2VError, match="at least 11 frames"):
        hp.default_config("smoke", frames=[8, 12])
    with pytest.raises(I2VError, match="length=0 is out of range"):
        hp.default_config("smoke", length=0)
    with pytest.raises(I2VError, match="hidden"):
        hp.default_config("smoke", hidden=0)
    with pytest.raises(I2VError, match="unknown hp loss weight"):
        hp.default_config("smoke", weights={"feat": 1.0})


def test_data_without_landmarks_is_a_one_line_error():
    tr = hp.Trainer(hp.default_config("smoke", videos=2))
    tr._sampler = Sampler([Clip(np.zeros((12, 64, 64, 3), np.uint8), "happy", "p", "v7")], ["happy"])
    with pytest.raises(I2VError, match="clip v7 has no landmarks") as e:
        tr.sample(np.random.default_rng(0))
    assert "\n" not in str(e.value)


@pytest.mark.slow
def test_one_step_moves_every_network_and_the_loss_terms_are_hps():
    torch.manual_seed(0)
    tr = hp.Trainer(hp.default_config("smoke", videos=2))
    b = tr.sample(np.random.default_rng(0))
    assert b["neutral"].shape == (2, 3, 64, 64) and b["target"].shape == (2, 10, 3, 64, 64)
    assert b["landmarks"].shape == (2, 11, 68, 2)
    g = tr.nets["generator"]
    parts = {"lstm": g.lstm, "analogy": g.analogy, "d_pair": tr.nets["d_pair"]}
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in parts.items()}
    out = tr.step(b)
    assert set(out) == {"d", "pose", "img", "gan"} and all(torch.isfinite(v) for v in out.values())
    for k, net in parts.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    f = tr.forward(b)
    terms = tr.g_terms(b, f)
    assert torch.isclose(terms["img"](), 0.5 * ((f["fake"] - b["target"]) ** 2).mean())
    assert torch.isclose(terms["pose"](), ((f["structure"] - normalise(b["landmarks"][:, 1:], 64)) ** 2).mean())
    assert torch.allclose(f["fake"], g.render(b["neutral"], g.draw(b["landmarks"][:, 0]), f["maps"]))  # true p_t
    assert tr.nets["d_pair"].net[0].in_channels == 3 + 68        # D sees a frame beside its structure's maps


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hp") / "run"
    info = train(hp.default_config("smoke", steps=2), out, progress=False)
    assert info["finished"] and info["step"] == 2
    return out


@pytest.mark.slow
def test_generate_renders_the_fixed_clip_from_the_measured_landmarks(run):
    model = i2vlib.load(run)
    assert model.method == "hp" and np.allclose(model.supported_intensities, np.arange(1, 11) / 10)
    face = SyntheticBenchmark(64).frame(9, {"happy": 0.0})[0]
    frames = model.generate(face, list(model.supported_intensities))
    assert frames.shape == (10, 64, 64, 3) and frames.dtype == np.uint8
    p0 = torch.as_tensor(measure_landmarks(face[None]), dtype=torch.float32)
    with torch.no_grad():
        clip = model.net(model.tensor(face), p0)[0]
    assert torch.allclose(model.generate(face, model.supported_intensities, as_tensor=True), clip, atol=1e-5)
    lm = model.landmarks(face)
    assert lm.shape == (11, 68, 2) and np.allclose(lm[0], p0[0].numpy())
    with pytest.raises(I2VError, match=re.escape("fixed clip of 10 frames at a = 0.1, 0.2, ..., 1.0")):
        model.generate(face, [0, 0.5, 1])
    with pytest.raises(I2VError, match="cannot be exported"):
        model.onnx_graph()
