"""GANimation, the action-unit baseline of AffineGAN's Table 2, as its authors' code builds it: the attention blend,
the generator and the critic of the code (its depth, its global AU regression), the AU conditioning (the benchmark's
exact AUs, drawn as the code draws them), the schedule (critic steps on their own batches, the penalty's own Adam
step, the AU loss's scale), the config and its refusals, training, generation through the one API, the CLI and the
ONNX export."""

import numpy as np
import pytest
import torch
from torch import nn

import i2vlib
from i2vlib import I2VError
from i2vlib.clip_record import EXPRESSIONS
from i2vlib.config import config_hash
from i2vlib.data.face_shape import ACTIONS, neutral_actions
from i2vlib.data.synthetic import SyntheticBenchmark, actions, make_identity
from i2vlib.models import ganimation, ganimation_parts
from i2vlib.train import train

from test_cli import assert_one_line_error, i2v, i2v_here

FACE = SyntheticBenchmark(64).frame(9, {"happy": 0.0})[0]
K = len(ACTIONS)


@pytest.mark.parametrize("size, blocks", [(64, 1), (32, 0), (128, 2)])
def test_the_frame_is_the_attention_blend_of_the_colour_mask_and_the_input(size, blocks):
    torch.manual_seed(0)
    net = ganimation_parts.GANimationGenerator(ganimation.default_config("smoke", image_size=size, blocks=blocks))
    x, y = torch.rand(3, 3, size, size) * 2 - 1, torch.rand(3, K)
    A, C = net.masks(x, y)
    assert A.shape == (3, 1, size, size) and C.shape == (3, 3, size, size)
    assert 0 <= A.min() and A.max() <= 1 and C.abs().max() <= 1
    out = net(x, y)
    assert out.shape == x.shape and out.abs().max() <= 1
    assert torch.allclose(out, (1 - A) * C + A * x)                     # I_{y_f} = (1 - A) C + A I_{y_o}
    assert torch.equal(ganimation_parts.blend(torch.ones_like(A), C, x), x)  # A = 1 keeps the input, A = 0 paints C
    assert torch.equal(ganimation_parts.blend(torch.zeros_like(A), C, x), C)
    with torch.no_grad():                                               # a zero attention head: A = 1/2 everywhere
        net.attention[0].weight.zero_()
        assert torch.allclose(net(x, y), (net.masks(x, y)[1] + x) / 2, atol=1e-6)


def test_the_generator_is_the_codes():
    cfg = ganimation.default_config("smoke", blocks=6, ngf=64)
    net = ganimation_parts.GANimationGenerator(cfg)
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(m.bias is None for m in convs)                           # every convolution bias-free
    assert [m.kernel_size[0] for m in convs[:3]] == [7, 4, 4] and convs[0].in_channels == 3 + K
    assert [m.out_channels for m in convs[:3]] == [64, 128, 256]
    assert sum(isinstance(m, ganimation_parts.ResidualBlock) for m in net.modules()) == 6
    norms = [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 3 + 2 * 6 + 2 and all(m.affine for m in norms)
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in norms)     # torch's scale 1, as the code
    assert [net.attention[0].kernel_size, net.colour[0].kernel_size] == [(7, 7), (7, 7)]
    assert isinstance(net.attention[1], nn.Sigmoid) and isinstance(net.colour[1], nn.Tanh)


@pytest.mark.parametrize("size, layers", [(128, 6), (64, 5), (32, 4)])
def test_the_critic_has_the_codes_depth_and_a_global_au_regression(size, layers):
    torch.manual_seed(0)
    D = ganimation_parts.GANimationCritic(size, 8)
    convs = [m for m in D.body if isinstance(m, nn.Conv2d)]
    assert len(convs) == layers == ganimation_parts.critic_layers(size)
    assert all(m.stride == (2, 2) and m.kernel_size == (4, 4) for m in convs)
    assert [m.out_channels for m in convs] == [8 * 2 ** i for i in range(layers)]
    assert all(m.negative_slope == 0.01 for m in D.body if isinstance(m, nn.LeakyReLU))
    assert not any(isinstance(m, (nn.InstanceNorm2d, nn.BatchNorm2d)) for m in D.modules())   # WGAN-GP: none
    assert D.au.kernel_size == (2, 2) and D.au.bias is None and D.score.kernel_size == (3, 3)
    x = torch.randn(3, 3, size, size, requires_grad=True)
    score, y = D.both(x)
    assert score.shape == (3, 1, 2, 2) and y.shape == (3, K) and torch.equal(score, D(x))
    y[0, 0].backward()                       # one AU of one image reads every quarter of that image, none of others
    g = x.grad[0].abs().sum(0)
    h = size // 2
    assert all(q.sum() > 0 for q in (g[:h, :h], g[:h, h:], g[h:, :h], g[h:, h:]))
    assert x.grad[1:].abs().sum() == 0


def test_the_attention_loss_as_printed_and_as_the_public_code_computes_it():
    size = 16
    A = torch.full((2, 1, size, size), 0.5)
    A[1, :, :, size // 2:] = 1.0                          # the second mask: one vertical edge of height 0.5
    norm, tv = ganimation_parts.attention_loss(A, "paper")  # per image ||A||_2 and sum of squared steps, batch mean
    per_image = [0.5 * size, np.sqrt(size * size / 2 * (0.25 + 1.0))]
    assert norm.item() == pytest.approx(np.mean(per_image), rel=1e-5)
    assert tv.item() == pytest.approx(size * 0.25 / 2, rel=1e-5)
    mean, tv = ganimation_parts.attention_loss(A, "code")  # the mean of A and the sum of absolute steps, batch-wide
    assert mean.item() == pytest.approx(A.mean().item()) and tv.item() == pytest.approx(size * 0.5, rel=1e-5)
    for scale in (1.0, 1e-3):                             # the printed norm's pull on A keeps its length as A shrinks
        a = (scale * torch.rand(1, 1, size, size)).requires_grad_()
        ganimation_parts.attention_loss(a, "paper")[0].backward()
        assert a.grad.norm().item() == pytest.approx(1.0, rel=1e-4)
        b = a.detach().clone().requires_grad_()
        ganimation_parts.attention_loss(b, "code")[0].backward()
        assert b.grad.norm().item() == pytest.approx(1 / size, rel=1e-4)


def _frames_and_aus(tr):
    """Every frame of the trainer's training clips with its exact AUs."""
    frames, aus = [], []
    for i in range(len(tr.sampler().source)):
        clip = tr.sampler().source[i]
        for t in range(len(clip)):
            frames.append(torch.from_numpy(np.ascontiguousarray(clip.frames[t])))
            aus.append(ganimation_parts.frame_aus(clip, t))
    return frames, np.stack(aus)


def test_batches_are_random_frames_with_their_exact_aus_asked_for_another_frames_aus_plus_noise():
    tr = ganimation.Trainer(ganimation.default_config("smoke", expressions=["happy", "surprise"], critic_steps=3,
                                                      batch=4))
    b = tr.sample(np.random.default_rng(0))
    assert b["real"].shape == (12, 3, 64, 64) and b["y_o"].shape == b["y_f"].shape == (12, K)
    frames, aus = _frames_and_aus(tr)
    pixels = ganimation.to_pixels(b["real"])
    found = [next(i for i, f in enumerate(frames) if torch.equal(f, p)) for p in pixels]
    assert np.allclose(b["y_o"].numpy(), aus[found])                   # the critic's real images with their AUs
    assert len({tuple(a) for a in aus[found]}) > 3                     # not only the neutral frame 0
    gap = np.abs(b["y_f"].numpy()[:, None] - aus[None]).max(-1).min(1)  # to the nearest frame's AUs
    assert (gap <= ganimation.AU_NOISE + 1e-6).all() and (gap > 0).all()
    clip = tr.sampler().source[3]
    for t in (0, len(clip) - 1):
        person = make_identity(clip.meta["seed"], int(clip.identity))
        want = actions(person, {clip.expression: float(clip.intensity[t])})
        assert np.allclose(ganimation_parts.frame_aus(clip, t), [want[k] for k in ACTIONS])
    assert not ganimation_parts.frame_aus(clip, 0).any() and ganimation_parts.frame_aus(clip, len(clip) - 1).any()


def test_fitted_batches_carry_the_fitters_units_with_openfaces_missing_ones_at_zero():
    """au_source="fitted" (the departure undone): y_o and y_f as a detector reads the frames, close to the exact units
    but not them; the default leaves every existing run's hash as it was."""
    cfg = ganimation.default_config("smoke", expressions=["happy", "close-eyes"], critic_steps=2, batch=6)
    fitted = ganimation.Trainer({**cfg, "au_source": "fitted"})
    b = fitted.sample(np.random.default_rng(0))
    frames, exact = _frames_and_aus(fitted)
    found = [next(i for i, f in enumerate(frames) if torch.equal(f, p)) for p in ganimation.to_pixels(b["real"])]
    missing = [ACTIONS.index(u) for u in ganimation.NOT_IN_OPENFACE]
    assert not b["y_o"][:, missing].any() and (b["y_f"][:, missing].abs() <= ganimation.AU_NOISE).all()
    kept = [k for k in range(K) if k not in missing]
    error = np.abs(b["y_o"].numpy()[:, kept] - exact[found][:, kept])
    assert error.mean() < 0.1 and error.max() > 0                        # read, not copied
    assert np.allclose(b["y_o"].numpy(), fitted.sample(np.random.default_rng(0))["y_o"].numpy())   # fitted once
    before = {k: v for k, v in cfg.items() if k != "au_source"}          # a config from before the option
    assert cfg["au_source"] == "exact" and config_hash(cfg) == config_hash(before)
    assert config_hash({**cfg, "au_source": "fitted"}) != config_hash(before)
    with pytest.raises(I2VError, match="au_source") as e:
        ganimation.default_config("smoke", au_source="openface")
    assert "\n" not in str(e.value)


def test_config_follows_the_code_and_refuses_the_rest(tmp_path):
    cfg = ganimation.default_config("smoke")
    assert cfg["expressions"] == list(EXPRESSIONS) and cfg["attention"] == "code"
    assert cfg["weights"] == {"i": 1.0, "gp": 10.0, "y": 4000.0, "a": 0.1, "tv": 1e-5, "idt": 10.0}
    for profile in ("book", "paper"):
        c = ganimation.default_config(profile)
        assert (c["critic_steps"], c["lr"], c["betas"], c["decay_from"]) == (5, 1e-4, [0.5, 0.999], 2 / 3)
        assert c["weights"] == cfg["weights"] and c["blocks"] == 6 and c["lr_d"] is None
    paper = ganimation.default_config("paper")
    assert (paper["image_size"], paper["batch"], paper["ngf"], paper["ndf"]) == (128, 25, 64, 64)
    book = ganimation.default_config("book", expressions=["happy"], steps=1000)
    assert (book["image_size"], book["batch"], book["ngf"], book["ndf"], book["steps"]) == (64, 8, 16, 32, 1000)
    for overrides, words in [({"data": str(tmp_path)}, "only the synthetic benchmark"),
                             ({"augment": True}, "mirror flip"), ({"blocks": -1}, "blocks=-1"),
                             ({"blocks": "6"}, "must be an integer"), ({"attention": "both"}, "choose one of code")]:
        with pytest.raises(I2VError, match=words) as e:
            ganimation.default_config("smoke", **overrides)
        assert "\n" not in str(e.value)


def test_the_au_loss_has_the_codes_scale():
    tr = ganimation.Trainer(ganimation.default_config("smoke", batch=5))
    y_hat, y = torch.rand(5, K), torch.rand(5, K)
    code = 4000 * nn.MSELoss()(y_hat, y) / 5                             # lambda_D_cond * MSE / B, the code's
    assert torch.isclose(tr.weight("y") * ganimation_parts.regression(y_hat, y), code)
    assert tr.weight("gp") == 10.0 and tr.weight("idt") == 10.0


def test_mean_au_loss_is_what_always_answering_the_mean_scores():
    cfg = ganimation.default_config("smoke", expressions=["happy"], videos=6)
    tr = ganimation.Trainer({**ganimation.default_config("book", expressions=["happy"], videos=6,
                                                         frames=cfg["frames"]), "seed": 0, "batch": 200})
    y = tr.sample(np.random.default_rng(7))["y_o"]
    mean = y.mean(0, keepdim=True).expand_as(y)
    assert ganimation_parts.regression(mean, y).item() == pytest.approx(ganimation.mean_au_loss(cfg), rel=0.15)
    assert ganimation_parts.regression(y, y).item() == 0 < ganimation.mean_au_loss(cfg)


def test_each_critic_step_has_its_own_batch_and_two_adam_steps_and_g_learns_on_the_last():
    torch.manual_seed(0)
    tr = ganimation.Trainer(ganimation.default_config("smoke", critic_steps=3, batch=2))
    b = tr.sample(np.random.default_rng(1))
    D, seen = tr.nets["critic"], []
    both = D.both
    D.both = lambda x: seen.append(x.detach().clone()) or both(x)
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    out = tr.step(b)
    assert set(out) == {"d_i", "gp", "d_y", "g_i", "g_y", "a", "tv", "idt", "A_mean"}
    assert all(torch.isfinite(v) for v in out.values())
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    chunks = b["real"].split(2)
    assert len(seen) == 4 and all(torch.equal(s, c) for s, c in zip(seen, chunks))   # real images, round by round
    assert not torch.equal(seen[3], chunks[2])                         # then G's image of the last round's images
    p = next(D.parameters())
    assert tr.optimizers["d"].state[p]["step"].item() == 2 * 3         # L_I + L_y, then the penalty alone
    assert tr.optimizers["g"].state[next(tr.nets["generator"].parameters())]["step"].item() == 1


def test_the_critic_judges_gs_images_of_its_rounds_batch_and_the_cycle_is_the_identity_loss():
    torch.manual_seed(0)
    tr = ganimation.Trainer(ganimation.default_config("smoke", critic_steps=2, batch=3))
    b = tr.sample(np.random.default_rng(2))
    G, fwd = tr.nets["generator"], tr.forward(b)
    with torch.no_grad():
        assert torch.allclose(fwd["critic_fakes"], G(b["real"], b["y_f"]), atol=1e-6)
    last = slice(3, 6)
    i, y_o, y_f = b["real"][last], b["y_o"][last], b["y_f"][last]
    assert torch.allclose(fwd["fake"], G(i, y_f), atol=1e-6)
    cycle = G(G(i, y_f), y_o)                                            # G(G(I_{y_o} | y_f) | y_o)
    assert torch.allclose(fwd["cycle"], cycle, atol=1e-6)
    assert torch.isclose(tr.g_terms(b, fwd)["idt"](), (cycle - i).abs().mean())
    assert torch.isclose(tr.g_terms(b, fwd)["g_y"](),
                         ganimation_parts.regression(tr.nets["critic"].both(G(i, y_f))[1], y_f))


def test_a_zero_weight_drops_the_cycle_pass():
    tr = ganimation.Trainer(ganimation.default_config("smoke", weights={"idt": 0, "a": 0, "tv": 0}))
    out = tr.forward(tr.sample(np.random.default_rng(0)))
    assert "cycle" not in out and set(tr.step(tr.sample(np.random.default_rng(0)))) >= {"g_i", "g_y"}


def test_one_training_step_is_one_generator_step(tmp_path):
    info = train(ganimation.default_config("smoke", steps=2, batch=2, critic_steps=2), tmp_path / "run",
                 progress=False, device="cpu")
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    steps = {k: max(s["step"].item() for s in o["state"].values()) for k, o in ckpt["optimizers"].items()}
    assert info["step"] == 2 and steps == {"g": 2, "d": 2 * 2 * 2}


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
@pytest.mark.slow
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


@pytest.mark.slow
def test_generation_asks_for_the_benchmarks_aus_of_its_typical_person(run):
    model = i2vlib.load(run)
    typical = ganimation_parts.TYPICAL
    assert set(typical.gain.values()) == {1.0} and set(typical.curvature.values()) == {0.0}
    a = [0.0, 0.07, 0.33, 0.5, 0.9, 1.0]
    for e in model.expressions:
        want = np.array([[actions(typical, {e: v})[k] for k in ACTIONS] for v in a])
        assert np.allclose(model.aus(a, expression=e), want, atol=1e-6), e
    assert np.array_equal(model.aus([0.0], expression="anger")[0], [neutral_actions()[k] for k in ACTIONS])
    mix = {"surprise": [0.8, 1.0], "raise-eyes": [0.6, 1.0], "anger": [0.2, 1.0]}      # brow_raise reaches the cap
    want = [[actions(typical, {e: v[t] for e, v in mix.items()})[k] for k in ACTIONS] for t in range(2)]
    assert np.allclose(model.aus(mix), want, atol=1e-6) and model.aus(mix).max() == pytest.approx(1.3)


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
    from i2vlib.onnx_export import TOLERANCE, to_onnx
    model = i2vlib.load(run)
    meta = to_onnx(model, tmp_path / "g.onnx")
    assert meta["inputs"] == ["face", "intensities"] and meta["max_difference"] <= TOLERANCE
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    a = np.zeros(7, np.float32)
    a[[0, 2]] = 0.6, 0.3                                                      # happy 0.6 + surprise 0.3
    got = session.run(None, {"face": FACE, "intensities": a})[0]
    want = model.generate(FACE, {"happy": [0.6], "surprise": [0.3]})[0]
    assert np.abs(got.astype(int) - want).max() <= TOLERANCE


@pytest.mark.slow
def test_cli_trains_generates_evaluates_exports_and_refuses_folders(tmp_path, capsys):
    r = i2v("train", "ganimation", "--profile", "smoke", "--steps", 2, "--out", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    r = i2v_here(capsys, "generate", tmp_path / "run", "synthetic:0", "--expression", "surprise",
                 "--intensities", 0, 0.5, 1, "--out", tmp_path / "x.gif")
    assert r.returncode == 0 and (tmp_path / "x.gif").exists(), r.stderr
    r = i2v_here(capsys, "evaluate", tmp_path / "run", "--videos", 1, "--out", tmp_path / "e.json")
    assert r.returncode == 0, r.stderr
    r = i2v_here(capsys, "export", tmp_path / "run", "--out", tmp_path / "m.onnx")
    assert r.returncode == 0 and "output frame" in r.stdout, r.stderr
    (tmp_path / "videos").mkdir()
    r = i2v_here(capsys, "train", "ganimation", "--profile", "smoke", "--data", tmp_path / "videos",
                 "--out", tmp_path / "r2")
    assert_one_line_error(r, "action units", "data=synthetic")
    assert not (tmp_path / "r2").exists()
