"""Mathieu et al. (ICLR 2016), FRGAN's Table 3 baseline on poses: the coarse-to-fine generator, the multi-scale
discriminator, the gradient difference loss (:func:`i2vlib.losses.gdl`, shared with MCNet), the config, one step, the
forecast through the pose protocol, the CLI."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import i2vlib
from i2vlib import I2VError, losses
from i2vlib.data.clips import to_tensor
from i2vlib.data.pose_benchmark import ACTIONS, OBSERVED, PREDICTED, PoseBenchmark
from i2vlib.evaluate import pose_protocol
from i2vlib.models import mathieu
from i2vlib.train import train

from test_cli import assert_one_line_error, i2v, i2v_here


@pytest.mark.parametrize("size, scales, history", [(64, 4, 4), (32, 2, 1), (64, 5, 2)])
def test_every_scale_refines_the_upsampled_coarser_prediction(size, scales, history):
    torch.manual_seed(0)
    cfg = mathieu.default_config("smoke", image_size=size, scales=scales, history=history)
    g, d = mathieu.MultiScaleGenerator(cfg), mathieu.MultiScaleDiscriminator(cfg)
    past = torch.rand(2, history, 3, size, size) * 2 - 1
    xs = mathieu.pyramid(past.flatten(1, 2), scales)
    ys = g(past)
    sides = [size // 2 ** (scales - 1 - k) for k in range(scales)]
    assert [x.shape for x in xs] == [(2, 3 * history, s, s) for s in sides]
    assert [y.shape for y in ys] == [(2, 3, s, s) for s in sides]
    assert torch.allclose(xs[0], F.avg_pool2d(past.flatten(1, 2), 2 ** (scales - 1)))
    assert torch.allclose(ys[0], g.nets[0](xs[0]))                                         # Y^_1 = G'_1(X_1)
    for k in range(1, scales):                                          # Y^_k = u(Y^_k-1) + G'_k(X_k, u(Y^_k-1))
        up = F.interpolate(ys[k - 1], scale_factor=2, mode="bilinear", align_corners=False)
        assert torch.allclose(ys[k], up + g.nets[k](torch.cat([xs[k], up], 1)), atol=1e-6)
    logits = d(xs, ys)
    assert len(logits) == scales and all(s.shape == (2, 1) for s in logits)
    assert g.nets[-1].net[0].kernel_size == (7, 7) and g.nets[-1].net[0].out_channels == cfg["ngf"]   # G_4's


def test_the_forecast_feeds_each_prediction_back_as_the_newest_frame():
    torch.manual_seed(0)
    g = mathieu.MultiScaleGenerator(mathieu.default_config("smoke")).eval()
    past = torch.rand(1, 4, 3, 64, 64) * 2 - 1
    y1 = g(past)[-1].clamp(-1, 1)
    y2 = g(torch.cat([past[:, 1:], y1[:, None]], 1))[-1].clamp(-1, 1)
    y3 = g(torch.cat([past[:, 2:], y1[:, None], y2[:, None]], 1))[-1].clamp(-1, 1)
    assert torch.allclose(g.rollout(past, 3), torch.stack([y1, y2, y3], 1), atol=1e-6)


def test_gradient_difference_loss_on_hand_cases():
    edge = torch.zeros(2, 3, 6, 8)
    edge[..., 4:] = 1                                         # a vertical unit step edge
    assert losses.gdl(edge, edge) == 0 and losses.gdl(edge, edge + 0.25) == 0   # gradients, not colours
    moved = torch.roll(edge, 1, -1)
    moved[..., 0] = 0                                         # the same edge one column to the right
    assert torch.isclose(losses.gdl(edge, moved), torch.tensor(2 / 7))          # 2 mismatches of W - 1 = 7 per row
    assert torch.isclose(losses.gdl(0.5 * edge, 0.5 * moved, exponent=2), torch.tensor(2 * 0.25 / 7))
    assert torch.isclose(losses.gdl(edge.transpose(-1, -2), moved.transpose(-1, -2)), torch.tensor(2 / 7))


def test_config_follows_the_paper_and_refuses_the_rest():
    cfg = mathieu.default_config("smoke")
    assert (cfg["history"], cfg["scales"], cfg["weights"]) == (4, 4, {"adv": 0.05, "p": 1.0, "gdl": 1.0})
    paper = mathieu.default_config("paper")
    assert (paper["image_size"], paper["ngf"], paper["ndf"], paper["frames"]) == (64, 128, 64, [48, 48])
    assert set(mathieu.STATED) | set(mathieu.UNSTATED) <= set(paper) and not set(mathieu.STATED) & set(mathieu.UNSTATED)
    for bad, words in [({"expressions": ["anger"]}, "no expressions"), ({"frames": [30, 30]}, "at least 42"),
                       ({"data": "."}, "pose benchmark"), ({"history": 0}, "history must be an integer from 1 to 10"),
                       ({"history": 11}, "from 1 to 10"), ({"history": 2.5}, "history"),
                       ({"scales": 6}, "fewer scales"),
                       ({"weights": {"l1": 1.0}}, "unknown mathieu loss weight")]:
        with pytest.raises(I2VError, match=words) as e:
            mathieu.default_config("smoke", **bad)
        assert "\n" not in str(e.value)


def test_one_step_moves_every_network_and_the_loss_terms_are_the_papers():
    torch.manual_seed(0)
    tr = mathieu.Trainer(mathieu.default_config("smoke"))
    b = tr.sample(np.random.default_rng(0))
    assert b["past"].shape == (2, 4, 3, 64, 64) and b["target"].shape == (2, 3, 64, 64)
    assert set(tr.sampler().splits) == {"forecast", "refine"} and tr.sampler().actions == ACTIONS   # one for all
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    out = tr.step(b)
    assert set(out) == {"d", "adv", "p", "gdl"} and all(torch.isfinite(v) for v in out.values())
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    fwd = tr.forward(b)
    terms = tr.g_terms(b, fwd)
    fake = fwd["scales"][-1]
    assert torch.isclose(terms["p"](), ((fake - b["target"]) ** 2).mean())
    assert torch.isclose(terms["gdl"](), losses.gdl((fake + 1) / 2, (b["target"] + 1) / 2))
    xs, ys = (mathieu.pyramid(x, 4) for x in (b["past"].flatten(1, 2), b["target"]))
    adv = sum(losses.gan_g(tr.nets["D"].nets[k](torch.cat([xs[k], fwd["scales"][k]], 1))) for k in range(4))
    assert torch.isclose(terms["adv"](), adv)                                     # every scale's D_k
    assert tr.nets["D"].nets[0].convs[0].in_channels == 15                        # the 4 frames and the next one


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mathieu") / "run"
    info = train(mathieu.default_config("smoke", steps=2), out, progress=False)
    assert info["finished"] and info["step"] == 2
    return out


@pytest.mark.slow
def test_the_model_forecasts_from_the_observed_frames_only(run):
    model = i2vlib.load(run)
    assert model.method == "mathieu" and model.observes == 4
    v = PoseBenchmark(64).video("test", 3)
    past = v.frames[OBSERVED - 4:OBSERVED]
    frames = model.forecast(v.frames[OBSERVED - 1], v.joints[OBSERVED - 1], v.joints[OBSERVED:OBSERVED + 5],
                            observed=past)
    assert frames.shape == (5, 64, 64, 3) and frames.dtype == np.uint8
    with torch.inference_mode():
        clip = model.net.rollout(to_tensor(past)[None], 5)[0]
    assert torch.allclose(model.forecast(v.frames[OBSERVED - 1], None, np.zeros((5, 13, 2)), as_tensor=True,
                                         observed=past), clip.clamp(-1, 1), atol=1e-5)   # the joints only count frames
    for kw, words in [({}, "observes 4 frames"), ({"observed": past[:3]}, "last 4 observed frames"),
                      ({"observed": past[::-1]}, "ending with the input frame")]:
        with pytest.raises(I2VError, match=words):
            model.forecast(v.frames[OBSERVED - 1], v.joints[OBSERVED - 1], v.joints[OBSERVED:OBSERVED + 2], **kw)
    with pytest.raises(I2VError, match="13 x 2"):
        model.forecast(v.frames[OBSERVED - 1], None, np.zeros((3, 68, 2)), observed=past)
    with pytest.raises(I2VError, match="not from intensities"):
        model.generate(v.frames[0], [0.5])
    with pytest.raises(I2VError, match="cannot be exported"):
        model.onnx_graph()


@pytest.mark.slow
def test_the_pose_protocol_scores_it_on_every_action_under_both_conditions(run, monkeypatch):
    model = i2vlib.load(run)
    seen = []
    forecast = model.forecast
    monkeypatch.setattr(model, "forecast", lambda *a, **k: seen.append(k["observed"]) or forecast(*a, **k))
    s = pose_protocol.pose_scores(model, per_action=1, strips=["golf_swing"])
    assert s["mse_t"]["gt"].shape == (len(ACTIONS), PREDICTED) and s["actions"] == list(ACTIONS)
    assert np.array_equal(s["mse_t"]["lstm"], s["mse_t"]["gt"])        # no joints observed: one forecast per video
    assert np.array_equal(seen[0], pose_protocol.test_videos(1)[0].frames[OBSERVED - 4:OBSERVED])   # I_6 ... I_9
    assert s["strips"]["golf_swing"].shape == (len(pose_protocol.STRIP), 3 * 64, 64, 3)


@pytest.mark.slow
def test_cli_trains_evaluates_and_refuses_what_a_pose_model_cannot_do(tmp_path, capsys):
    r = i2v("train", "mathieu", "--profile", "smoke", "--steps", 2, "--out", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    r = i2v_here(capsys, "evaluate", tmp_path / "run", "--videos", 1, "--out", tmp_path / "e.json")
    assert r.returncode == 0, r.stderr
    e = json.loads((tmp_path / "e.json").read_text())
    assert e["method"] == "mathieu" and e["videos"] == len(ACTIONS) and e["scores"]["mse_lstm"] == e["scores"]["mse_gt"]
    r = i2v_here(capsys, "export", tmp_path / "run", "--out", tmp_path / "m.onnx")
    assert_one_line_error(r, "mathieu models cannot be exported")
    r = i2v_here(capsys, "generate", tmp_path / "run", "synthetic:0", "--out", tmp_path / "x.gif")
    assert_one_line_error(r, "mathieu", "not from intensities")
    r = i2v_here(capsys, "train", "mathieu", "--profile", "smoke", "--expressions", "anger", "--out", tmp_path / "bad")
    assert_one_line_error(r, "no expressions")
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "x.gif").exists() and not (tmp_path / "bad").exists()
