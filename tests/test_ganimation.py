"""GANimation, the action-unit baseline of AffineGAN's Table 2: the attention blend, the AU conditioning (the
benchmark's exact AUs), the config and its refusals, one step, the cycle term, training, generation through the one
API, the CLI and the ONNX export."""

import numpy as np
import pytest
import torch

import i2vlib
from i2vlib import I2VError
from i2vlib.data.face_shape import ACTIONS, neutral_actions
from i2vlib.data.synthetic import SyntheticBenchmark, actions, make_identity
from i2vlib.data.types import EXPRESSIONS
from i2vlib.models import ganimation
from i2vlib.train import train

from test_cli import assert_one_line_error, i2v

FACE = SyntheticBenchmark(64).frame(9, {"happy": 0.0})[0]


@pytest.mark.parametrize("size, blocks", [(64, 1), (32, 0), (128, 2)])
def test_the_frame_is_the_attention_blend_of_the_colour_mask_and_the_input(size, blocks):
    torch.manual_seed(0)
    net = ganimation.GANimationGenerator(ganimation.default_config("smoke", image_size=size, blocks=blocks))
    x, y = torch.rand(3, 3, size, size) * 2 - 1, torch.rand(3, len(ACTIONS))
    A, C = net.masks(x, y)
    assert A.shape == (3, 1, size, size) and C.shape == (3, 3, size, size)
    assert 0 <= A.min() and A.max() <= 1 and C.abs().max() <= 1
    out = net(x, y)
    assert out.shape == x.shape and out.abs().max() <= 1
    assert torch.allclose(out, (1 - A) * C + A * x)                     # I_{y_f} = (1 - A) C + A I_{y_o}
    with torch.no_grad():                                               # A = 1 keeps the input, A = 0 paints C
        net.attention[0].bias.fill_(50.0)
        assert torch.allclose(net(x, y), x, atol=1e-6)
        net.attention[0].bias.fill_(-50.0)
        assert torch.allclose(net(x, y), net.masks(x, y)[1], atol=1e-6)


@pytest.mark.parametrize("size", [16, 64])
def test_the_attention_loss_as_printed_and_as_the_public_code_computes_it(size):
    A = torch.full((2, 1, size, size), 0.5)
    A[1, :, :, size // 2:] = 1.0                          # the second mask: one vertical edge of height 0.5
    norm, tv = ganimation.attention_loss(A, "paper")      # per image ||A||_2 and sum of squared steps, batch mean
    per_image = [0.5 * size, np.sqrt(size * size / 2 * (0.25 + 1.0))]
    assert norm.item() == pytest.approx(np.mean(per_image), rel=1e-5)
    assert tv.item() == pytest.approx(size * 0.25 / 2, rel=1e-5)
    mean, tv = ganimation.attention_loss(A, "code")       # the mean of A and the sum of absolute steps, batch-wide
    assert mean.item() == pytest.approx(A.mean().item()) and tv.item() == pytest.approx(size * 0.5, rel=1e-5)
    # why the book reads the code: the printed norm's pull on A keeps its length as A shrinks
    for scale in (1.0, 1e-3):
        a = (scale * torch.rand(1, 1, size, size)).requires_grad_()
        ganimation.attention_loss(a, "paper")[0].backward()
        assert a.grad.norm().item() == pytest.approx(1.0, rel=1e-4)
        b = a.detach().clone().requires_grad_()
        ganimation.attention_loss(b, "code")[0].backward()
        assert b.grad.norm().item() == pytest.approx(1 / size, rel=1e-4)


def test_training_conditions_on_the_exact_aus_of_both_frames():
    tr = ganimation.Trainer(ganimation.default_config("smoke"))
    b = tr.sample(np.random.default_rng(0))
    assert b["y_o"].shape == b["y_f"].shape == (4, len(ACTIONS))
    clip = tr.sampler().source[3]
    for t in (0, len(clip) - 1):
        person = make_identity(clip.meta["seed"], int(clip.identity))
        want = actions(person, {clip.expression: float(clip.intensity[t])})
        assert np.allclose(ganimation.frame_aus(clip, t), [want[k] for k in ACTIONS])
    assert not ganimation.frame_aus(clip, 0).any() and ganimation.frame_aus(clip, len(clip) - 1).any()


def test_generation_asks_for_the_benchmarks_aus_of_its_typical_person(run):
    model = i2vlib.load(run)
    typical = ganimation.TYPICAL
    assert set(typical.gain.values()) == {1.0} and set(typical.curvature.values()) == {0.0}
    a = [0.0, 0.07, 0.33, 0.5, 0.9, 1.0]
    for e in model.expressions:
        want = np.array([[actions(typical, {e: v})[k] for k in ACTIONS] for v in a])
        assert np.allclose(model.aus(a, expression=e), want, atol=1e-6), e
    assert np.array_equal(model.aus([0.0], expression="anger")[0], [neutral_actions()[k] for k in ACTIONS])
    mix = {"surprise": [0.8, 1.0], "raise-eyes": [0.6, 1.0], "anger": [0.2, 1.0]}      # brow_raise reaches the cap
    want = [[actions(typical, {e: v[t] for e, v in mix.items()})[k] for k in ACTIONS] for t in range(2)]
    assert np.allclose(model.aus(mix), want, atol=1e-6) and model.aus(mix).max() == pytest.approx(1.3)


def test_config_follows_the_paper_and_refuses_the_rest(tmp_path):
    cfg = ganimation.default_config("smoke")
    assert cfg["expressions"] == list(EXPRESSIONS) and cfg["attention"] == "code"
    assert cfg["weights"] == {"i": 1.0, "gp": 10.0, "y": 10.0, "a": 0.1, "tv": 1e-5, "idt": 10.0}
    paper = ganimation.default_config("paper")
    assert (paper["image_size"], paper["batch"], paper["lr"], paper["critic_steps"], paper["blocks"]) == \
        (128, 25, 1e-4, 4, 6)
    for overrides, words in [({"data": str(tmp_path)}, "only the synthetic benchmark"),
                             ({"augment": True}, "mirror flip"), ({"blocks": -1}, "blocks=-1"),
                             ({"blocks": "6"}, "must be an integer"), ({"attention": "both"}, "choose one of code")]:
        with pytest.raises(I2VError, match=words) as e:
            ganimation.default_config("smoke", **overrides)
        assert "\n" not in str(e.value)


def test_one_step_moves_every_network_and_the_cycle_term_is_the_identity_loss():
    torch.manual_seed(0)
    tr = ganimation.Trainer(ganimation.default_config("smoke"))
    b = tr.sample(np.random.default_rng(1))
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    out = tr.step(b)
    assert set(out) == {"d_i", "gp", "d_y", "g_i", "g_y", "a", "tv", "idt", "A_mean"}
    assert all(torch.isfinite(v) for v in out.values())
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    G, i = tr.nets["generator"], b["neutral"]
    fwd = tr.forward(b)
    cycle = G(G(i, b["y_f"]), b["y_o"])                                   # G(G(I_{y_o} | y_f) | y_o)
    assert torch.allclose(fwd["cycle"], cycle, atol=1e-6)
    assert torch.isclose(tr.g_terms(b, fwd)["idt"](), (cycle - i).abs().mean())


def test_a_zero_weight_drops_the_cycle_pass():
    tr = ganimation.Trainer(ganimation.default_config("smoke", weights={"idt": 0, "a": 0, "tv": 0}))
    out = tr.forward(tr.sample(np.random.default_rng(0)))
    assert "cycle" not in out and set(tr.step(tr.sample(np.random.default_rng(0)))) >= {"g_i", "g_y"}


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_it_trains_under_cpu_autocast(amp, tmp_path):
    info = train(ganimation.default_config("smoke", steps=2, batch=2), tmp_path / "run", progress=False,
                 device="cpu", amp=amp, channels_last=amp == "bf16")
    assert info["amp"] == amp and info["step"] == 2
    model = i2vlib.load(tmp_path / "run")
    assert np.isfinite(model.generate(FACE, [0.5], expression="happy", as_tensor=True).numpy()).all()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ganimation") / "run"
    info = train(ganimation.default_config("smoke", steps=2), out, progress=False)
    assert info["finished"] and info["step"] == 2
    return out


def test_generate_renders_any_intensities_of_every_expression_and_mixes(run):
    model = i2vlib.load(run)
    assert model.method == "ganimation" and len(model.expressions) == 7 and model.mixes
    for e, a in [("happy", [0.0, 0.5, 1.0]), ("close-eyes", [0.13]), ("drum-cheeks", np.linspace(0, 1, 20))]:
        frames = model.generate(FACE, a, expression=e)
        assert frames.shape == (len(a), 64, 64, 3) and frames.dtype == np.uint8
    y = torch.from_numpy(model.aus([0.3, 1.0], expression="surprise"))
    want = model.net(model.tensor(FACE).expand(2, -1, -1, -1), y)
    assert torch.allclose(model.generate(FACE, [0.3, 1.0], expression="surprise", as_tensor=True), want, atol=1e-6)
    mixed = model.generate(FACE, {"happy": [0.5], "anger": [0.5]})
    assert mixed.shape == (1, 64, 64, 3)
    A, C = model.masks(FACE, [0.0, 1.0], expression="happy")
    assert A.shape == (2, 64, 64) and C.shape == (2, 64, 64, 3) and 0 <= A.min() <= A.max() <= 1
    with pytest.raises(I2VError, match="name the one to render"):
        model.generate(FACE, [0.5])


def test_the_onnx_file_renders_generates_frames(run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from i2vlib.export import TOLERANCE, to_onnx
    model = i2vlib.load(run)
    meta = to_onnx(model, tmp_path / "g.onnx")
    assert meta["inputs"] == ["face", "intensities"] and meta["max_difference"] <= TOLERANCE
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    a = np.zeros(7, np.float32)
    a[[0, 2]] = 0.6, 0.3                                                      # happy 0.6 + surprise 0.3
    got = session.run(None, {"face": FACE, "intensities": a})[0]
    want = model.generate(FACE, {"happy": [0.6], "surprise": [0.3]})[0]
    assert np.abs(got.astype(int) - want).max() <= TOLERANCE


def test_cli_trains_generates_evaluates_exports_and_refuses_folders(tmp_path):
    r = i2v("train", "ganimation", "--profile", "smoke", "--steps", 2, "--out", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    r = i2v("generate", tmp_path / "run", "synthetic:0", "--expression", "surprise", "--intensities", 0, 0.5, 1,
            "--out", tmp_path / "x.gif")
    assert r.returncode == 0 and (tmp_path / "x.gif").exists(), r.stderr
    r = i2v("evaluate", tmp_path / "run", "--videos", 1, "--out", tmp_path / "e.json")
    assert r.returncode == 0, r.stderr
    r = i2v("export", tmp_path / "run", "--out", tmp_path / "m.onnx")
    assert r.returncode == 0 and "output frame" in r.stdout, r.stderr
    (tmp_path / "videos").mkdir()
    r = i2v("train", "ganimation", "--profile", "smoke", "--data", tmp_path / "videos", "--out", tmp_path / "r2")
    assert_one_line_error(r, "action units", "data=synthetic")
    assert not (tmp_path / "r2").exists()
