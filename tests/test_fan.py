"""Fan et al.: shapes, f(I, 0) through the base path, mixing (Eq. 7), R_t (Eq. 5), the landmark head, training."""

import numpy as np
import pytest
import torch

import i2vlib
from i2vlib import I2VError, losses
from i2vlib.models import fan
from i2vlib.nn import unet_levels
from i2vlib.train import train

from test_cli import assert_one_line_error, i2v, i2v_here


def _net(size=64, **kw):
    torch.manual_seed(0)
    cfg = fan.default_config("smoke", image_size=size, **kw)
    return fan.FanGenerator(cfg), cfg


def _model(**kw):
    net, cfg = _net(**kw)
    for p in net.parameters():  # untrained but not trivial: residual encoders that really differ
        p.data.add_(0.05 * torch.randn_like(p))
    return fan.Model(net, cfg)


def _face(k=0):
    from i2vlib.data.synthetic import SyntheticBenchmark

    return SyntheticBenchmark(64).video("test", k, expression="happy", n_frames=4).frames[0]


@pytest.mark.parametrize("size", [64, 128, 256])
def test_shapes_at_every_supported_size(size):
    net, _ = _net(size, ngf=4, expressions=["happy", "surprise"])
    x = torch.rand(2, 3, size, size) * 2 - 1
    f0 = net.e0(x)
    assert len(f0) == unet_levels(size) and f0[-1].shape[-1] == 1
    y = net(x, torch.tensor([0.2, 0.9]), "surprise")
    assert y.shape == x.shape and y.abs().max() <= 1
    frames, points = net.decode(net.mix(f0, [(torch.tensor([0.5, 1.0]), net.e["happy"](x))]), landmarks=True)
    assert frames.shape == x.shape and points.shape == (2, 68, 2)


def test_mixing_happens_at_every_skip_level():
    net, _ = _net()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    f0, fe = net.e0(x), net.e["happy"](x)
    mixed = net.mix(f0, [(torch.tensor([0.3]), fe)])
    for a, b, c in zip(mixed, f0, fe):                                   # Eq. 1, layer by layer
        assert torch.allclose(a, b + 0.3 * c)


def test_a_zero_is_the_base_path():
    model = _model()
    with torch.inference_mode():
        base = model.net.decoder(model.net.e0(model.tensor(_face())))
    assert torch.equal(model.generate(_face(), [0.0], as_tensor=True), base)   # f(I, 0) = d(e0(I))


@pytest.mark.slow
def test_mixing_with_one_non_zero_entry_equals_the_single_expression_call():
    model = _model(expressions=["happy", "anger", "surprise"])
    a = [0.0, 0.3, 0.7, 1.0]
    single = model.generate(_face(), a, expression="anger", as_tensor=True)
    mixed = model.generate(_face(), {"happy": [0] * 4, "anger": a, "surprise": [0] * 4}, as_tensor=True)
    assert torch.allclose(single, mixed, atol=1e-6)
    both = model.generate(_face(), {"happy": a, "anger": a}, as_tensor=True)
    assert not torch.allclose(single, both, atol=1e-3)


@pytest.mark.slow
def test_residual_picks_each_samples_own_encoder():
    net, _ = _net(expressions=["happy", "anger", "surprise"])
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    expr = torch.tensor([2, 0, 2, 1])
    got = net.residual(x, expr)
    for i, k in enumerate(expr.tolist()):
        want = net.e[net.expressions[k]](x[i:i + 1])
        for g, w in zip(got, want):
            assert torch.allclose(g[i:i + 1], w, atol=1e-6)


def test_temporal_regulariser_is_eq5():
    v = torch.rand(2, 3, 8, 8)
    assert fan.temporal_regulariser(v, v.clone(), v.clone()) == 0          # identical frames: nothing to regularise
    vm, vp = v + 0.1, v - 0.3
    assert torch.isclose(fan.temporal_regulariser(v, vm, vp), torch.tensor(0.4))
    assert torch.isclose(fan.temporal_regulariser(v, vm, vp), losses.l1(v, vm) + losses.l1(v, vp))


def test_landmark_head_returns_points_in_image_pixels():
    head = fan.LandmarkHead(4)
    hidden = torch.zeros(1, 4, 32, 32)
    logits = torch.full((1, 68, 32, 32), -1e4)
    logits[0, :, 5, 20] = 0.0                                             # every map peaks at row 5, column 20

    class Fixed(torch.nn.Module):
        def forward(self, h):
            return logits

    head.heatmaps = Fixed()
    pts = head(hidden, 64)
    # cell (5, 20) of a 32-cell map covers pixels 40-41 across and 10-11 down: centre (40.5, 10.5)
    assert torch.allclose(pts[0], torch.tensor([40.5, 10.5]).expand(68, 2))
    net, _ = _net()
    _, pts = net.decode(net.e0(torch.rand(3, 3, 64, 64) * 2 - 1), landmarks=True)
    assert pts.min() >= -0.5 and pts.max() <= 63.5                       # a soft-argmax stays in the frame


def test_landmark_loss_is_the_norm_of_the_136_vector_in_image_units():
    target = torch.zeros(2, 68, 2)
    pred = target.clone()
    pred[0, 3] = torch.tensor([3.0, 4.0])                                 # one point 5 px off in the first sample
    assert torch.isclose(fan.landmark_loss(pred, target, 64), torch.tensor(5 / 64 / 2))
    assert fan.landmark_loss(pred, target, 64, weight=torch.tensor([0.0, 1.0])) == 0


def _batch(trainer, expressions):
    b = trainer.sample(np.random.default_rng(0))
    b["expression"] = torch.tensor([i % len(expressions) for i in range(len(b["neutral"]))])
    return b


@pytest.mark.slow
def test_one_step_moves_every_network_and_returns_every_loss():
    tr = fan.Trainer(fan.default_config("smoke", expressions=["happy", "surprise"]))
    before = {k: v.clone() for k, v in tr.nets.state_dict().items()}
    out = tr.step(_batch(tr, ["happy", "surprise"]))
    assert set(out) == set(tr.loss_names) and all(torch.isfinite(v) for v in out.values())
    assert all(out[k] > 0 for k in ("r", "k", "t", "d_g", "d_l"))
    after = tr.nets.state_dict()
    for prefix in ("generator.e0.", "generator.e.happy.", "generator.e.surprise.", "generator.decoder.",
                   "generator.landmark_head.", "d_global.", "d_local."):
        keys = [k for k in before if k.startswith(prefix) and before[k].is_floating_point()]
        assert keys and any(not torch.equal(before[k], after[k]) for k in keys), prefix


@pytest.mark.parametrize("off", ["l", "k", "t"])
@pytest.mark.slow
def test_a_zero_weight_removes_its_term_fig4_ablations(off):
    tr = fan.Trainer(fan.default_config("smoke", weights={off: 0.0}))
    out = tr.step(tr.sample(np.random.default_rng(1)))
    name = {"l": "g_l", "k": "k", "t": "t"}[off]
    assert out[name] == 0 and out["r"] > 0
    if off == "l":
        before = {k: v.clone() for k, v in tr.nets["d_local"].state_dict().items()}
        tr.step(tr.sample(np.random.default_rng(2)))
        assert all(torch.equal(before[k], v) for k, v in tr.nets["d_local"].state_dict().items())   # D_l never trains


def test_position_labels_follow_the_frame_index():
    tr = fan.Trainer(fan.default_config("smoke"))
    clips = tr.sampler().source
    b = tr.sample(np.random.default_rng(3))
    for i in range(len(b["a"])):
        clip = next(c for c in (clips[j] for j in range(len(clips))) if np.array_equal(
            i2vlib.data.clips.to_tensor(c.frames[0]).numpy(), b["neutral"][i].numpy()))
        t = next(t for t in range(len(clip)) if np.array_equal(
            i2vlib.data.clips.to_tensor(clip.frames[t]).numpy(), b["target"][i].numpy()))
        assert b["a"][i] == pytest.approx(t / (len(clip) - 1))                 # a = (t - 1) / (T - 1), 1-based


def test_config_errors_are_clear():
    for kw, words in [({"labels": "frame"}, "labels"), ({"weights": {"z": 1}}, "weight"),
                      ({"weights": {"t": -1}}, r"weights.t=-1 is out of range: \[0"), ({"delta_a": 0}, "delta_a"), ({"jitter": -1}, "jitter"),
                      ({"expressions": ["happy", "happy"]}, "distinct"), ({"colour": 1}, "unknown fan option")]:
        with pytest.raises(I2VError, match=words):
            fan.default_config("smoke", **kw)


@pytest.mark.slow
def test_train_load_generate_round_trip_and_the_landmark_api(tmp_path):
    cfg = fan.default_config("smoke", steps=3, expressions=["happy", "anger"])
    info = train(cfg, tmp_path / "run", progress=False)
    assert info["finished"]
    model = i2vlib.load(tmp_path / "run")
    assert model.method == "fan" and model.step == 3 and model.expressions == ("happy", "anger")
    frames = model.generate(_face(), {"happy": [0, 0.5, 1], "anger": [1, 0.5, 0]})
    assert frames.shape == (3, 64, 64, 3) and frames.dtype == np.uint8
    assert model.landmarks(_face(), [0, 1], expression="anger").shape == (2, 68, 2)
    for bad, words in [([], "no intensities"), ([0.2, float("nan")], "NaN"), ([-0.1], "[0, 1]"),
                       ({"surprise": [0.5]}, "cannot render")]:
        with pytest.raises(I2VError, match=words if words != "[0, 1]" else r"\[0, 1\]"):
            model.generate(_face(), bad, expression=None if isinstance(bad, dict) else "happy")


@pytest.mark.slow
def test_cli_trains_and_generates_a_mix(tmp_path, capsys):
    run = tmp_path / "run"
    r = i2v("train", "fan", "--profile", "smoke", "--steps", 2, "--expressions", "happy", "surprise",
            "--out", run, "--quiet")
    assert r.returncode == 0, r.stderr
    r = i2v_here(capsys, "generate", run, "synthetic:1", "--mix", "happy=0,0.5,1", "surprise=0,0.2,0.4",
                 "--out", tmp_path / "m.gif")
    assert r.returncode == 0 and (tmp_path / "m.gif").is_file(), r.stderr
    r = i2v_here(capsys, "train", "fan", "--profile", "smoke", "--set", "weights={\"q\": 1}", "--out", tmp_path / "bad")
    assert_one_line_error(r, "weight")
    assert not (tmp_path / "bad" / "checkpoint.pt").exists()


def test_training_videos_are_registered_by_default_and_jitter_brings_head_motion_back():
    from i2vlib.data.sampling import training_source

    def wobble(cfg):
        clip = training_source(cfg)[0]
        return float(np.abs(np.diff(clip.landmarks[:, 27:31], axis=0)).max())   # the nose bridge: no expression moves it

    still = fan.default_config("smoke")
    assert still["jitter"] == 0 and wobble(still) == 0
    assert wobble(fan.default_config("smoke", jitter=1.0)) > 0.1


def test_fig3_landmark_curves_start_at_zero_and_match_the_truth_for_a_perfect_model():
    from i2vlib.data.clips import resample
    from i2vlib.data.synthetic import SyntheticBenchmark
    from i2vlib.evaluate import landmark_curves

    clips = [SyntheticBenchmark(64).video("test", k, expression="happy", n_frames=14) for k in range(2)]

    class Oracle:  # renders the true frames at the ten positions
        def generate(self, image, intensities, expression=None):
            clip = next(c for c in clips if np.array_equal(c.frames[0], image))
            return resample(clip, len(intensities) + 1).frames[1:]

    curves = landmark_curves({"oracle": Oracle()}, clips)
    assert curves["ground truth"].shape == (2, 11) and np.all(curves["ground truth"][:, 0] == 0)
    np.testing.assert_array_equal(curves["oracle"], curves["ground truth"])
    assert np.all(curves["ground truth"][:, -1] > curves["ground truth"][:, 1])   # the smile moves the landmarks
