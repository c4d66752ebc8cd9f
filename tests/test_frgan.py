"""FRGAN: the networks' shapes and invariants (Eq. 2, 3, 9, 10), G_C and its motion maps, the two
stages chained through the run cache, retargeting, the generation API and the CLI."""

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import i2vlib
from i2vlib import I2VError, losses
from i2vlib.config import config_hash
from i2vlib.data.clips import to_tensor
from i2vlib.data.sampling import Sampler
from i2vlib.data.stages import stage_identities
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.instruments.condition import PARTS, ExpressionTable, Fitted, Oracle, map_channels, motion_maps
from i2vlib.models import frgan
from i2vlib.models.frgan_parts import (Decoder, ForecastNet, ImageCritic, RefineNet, VideoCritic, decoder_macs,
                                       decoder_plan, levels)
from i2vlib.runs import cached_run, runs_root

BENCH = SyntheticBenchmark(64)
TEST_ID = int(BENCH.identities("test")[0])


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _cfg(size=64, **kw):
    return frgan.default_config("smoke", image_size=size, **kw)


def _forecast_net(size=64, ngf=2, **kw):
    torch.manual_seed(0)
    return ForecastNet(_cfg(size, ngf=ngf, **kw))


def _model(**kw) -> frgan.Model:
    """An untrained G_M at tiny width with a true expression table (a few G_M-third identities)."""
    net = _forecast_net(ngf=4, **kw)
    table = ExpressionTable.from_benchmark(stage_identities(net.cfg, "forecast")[:8], net.cfg["expressions"])
    net.displacements.copy_(torch.as_tensor(table.d))
    return frgan.Model(net, net.cfg)


def _set_mask(head: nn.Module, value: float):
    """Make a mask head output exactly ``value`` (0 or 1) everywhere."""
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(1e4 if value else -1e4)


# ----------------------------------------------------------------------------------------------
# Networks
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size,n", [(64, 4), (96, 4), (128, 5), (256, 6)])
def test_every_network_keeps_the_shapes_at_every_size(size, n):
    assert levels(size) == n
    net = _forecast_net(size)
    c = map_channels("dense")
    x, m = torch.rand(2, 3, size, size) * 2 - 1, torch.rand(2, c, size, size)
    out = net(x, m, m.flip(0))
    assert out["frame"].shape == x.shape and out["mask"].shape == (2, 1, size, size)
    assert 0 <= out["mask"].min() and out["mask"].max() <= 1 and out["content"].abs().max() <= 1
    assert ImageCritic(3 + c, 2, size)(torch.cat([x, m], 1)).shape == (2,)
    if size <= 128:
        k = 4
        g_r = RefineNet(_cfg(size, stage="refine", ngf=2, clip_length=k))
        v, mv = torch.rand(1, 3, k, size, size) * 2 - 1, torch.rand(1, c, k, size, size)
        assert g_r(v, mv)["video"].shape == v.shape and g_r(v, mv)["mask"].shape == (1, 1, k, size, size)
        assert VideoCritic(3 + c, 2, size, k)(torch.cat([v, mv], 1)).shape == (1,)
    lm = torch.as_tensor(BENCH.frame(TEST_ID, {"happy": 0.5})[1]) * size / 64
    for kind, channels in (("dense", 8), ("heatmaps", 68)):
        maps = motion_maps(lm[None], size, kind)
        assert maps.shape == (1, channels, size, size) and 0 <= maps.min() and maps.max() <= 1 and maps.max() > 0.9


@pytest.mark.parametrize("size, words", [(40, "multiple of 16"), (100, "multiple of 16"), (16, r"out of range: \[32, ")])
def test_sizes_without_a_bottleneck_are_clear_errors(size, words):
    with pytest.raises(I2VError, match=words):
        frgan.default_config("smoke", image_size=size)


def test_mask_zero_returns_the_input_exactly_and_mask_one_the_content():
    net = _forecast_net()
    x, m0, m1 = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 8, 64, 64), torch.rand(2, 8, 64, 64)
    _set_mask(net.mask, 0.0)
    out = net(x, m0, m1)
    assert torch.equal(out["mask"], torch.zeros_like(out["mask"])) and torch.equal(out["frame"], x)   # Eq. 2, static
    _set_mask(net.mask, 1.0)
    out = net(x, m0, m1)
    assert torch.equal(out["frame"], out["content"]) and not torch.equal(out["frame"], x)            # Eq. 2, all motion


def test_eq1_and_no_residual_variants():
    x, m0, m1 = torch.rand(1, 3, 64, 64) * 2 - 1, torch.rand(1, 8, 64, 64), torch.rand(1, 8, 64, 64)
    diff = _forecast_net(residual="difference")(x, m0, m1)
    assert diff["mask"] is None and torch.allclose(diff["frame"] - x, diff["content"], atol=1e-6)   # Eq. 1
    assert diff["content"].abs().max() <= 2
    plain = _forecast_net(residual="none")(x, m0, m1)
    assert plain["mask"] is None and torch.equal(plain["frame"], plain["content"])


def test_the_analogy_is_eq3_and_equal_maps_cancel():
    net = _forecast_net()
    x, m0, m1 = torch.rand(1, 3, 64, 64) * 2 - 1, torch.rand(1, 8, 64, 64), torch.rand(1, 8, 64, 64)
    f_i, f0, f1 = net.f_I(x), net.motion(m0), net.motion(m1)
    mixed = net.analogy(f_i, f0, f1)
    assert torch.allclose(mixed[-1], f1[-1] - f0[-1] + f_i[-1])
    assert all(torch.equal(a, b) for a, b in zip(mixed[:-1], f_i[:-1]))          # the skips carry f_I
    every = _forecast_net(analogy="every-level").analogy(f_i, f0, f1)
    assert all(torch.allclose(e, b - a + i) for e, a, b, i in zip(every, f0, f1, f_i))
    same = net(x, m0, m0)["frame"]                                             # M_{t+k} = M_t: f_M cancels
    assert torch.allclose(same, net.decode(f_i, x)["frame"], atol=1e-6)


def test_the_dense_decoder_feeds_every_later_block():
    enc, ngf = [16, 32, 64, 128], 16
    widths, ins = decoder_plan(enc, ngf, dense=True)
    assert widths == [64, 32, 16, 16] and ins == [128, 64 + 64, 96 + 32, 112 + 16]
    assert decoder_plan(enc, ngf, dense=False)[1] == [128, 128, 64, 32]
    dense = decoder_macs(enc, ngf, 64, True)
    wide = Decoder(enc, ngf, 64, "plain-wide")
    assert wide.widths[-1] > ngf and abs(decoder_macs(enc, ngf, 64, False, wide.scale) - dense) < 0.05 * dense
    assert decoder_macs(enc, ngf, 64, False) < 0.7 * dense
    # every block's output reaches the last block directly: perturbing block 0 changes the last block's input
    dec = Decoder(enc, ngf, 64, "dense")
    feats = [torch.rand(1, c, 64 // 2 ** (i + 1), 64 // 2 ** (i + 1)) for i, c in enumerate(enc)]
    seen = []
    dec.blocks[-1].register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    dec(feats)
    assert seen[0].shape[1] == ins[-1]


def test_gradient_penalty_equals_a_hand_computation_on_a_tiny_critic():
    torch.manual_seed(0)
    conv, lin = nn.Conv2d(4, 3, 4, 2, 1), nn.Linear(3 * 4 * 4, 1)
    critic = nn.Sequential(conv, nn.LeakyReLU(0.2), nn.Flatten(), lin)
    real, fake = torch.randn(5, 4, 8, 8), torch.randn(5, 4, 8, 8)      # [image, motion map], Eq. 9
    torch.manual_seed(1)
    got = losses.gradient_penalty(critic, real, fake)
    torch.manual_seed(1)
    eps = torch.rand(5, 1, 1, 1)
    x = eps * real + (1 - eps) * fake
    z = nn.functional.conv2d(x, conv.weight, conv.bias, 2, 1)
    dz = lin.weight.view(1, 3, 4, 4) * torch.where(z > 0, 1.0, 0.2)     # d score / d z, by hand
    dx = nn.functional.conv_transpose2d(dz, conv.weight, stride=2, padding=1)
    want = ((dx.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert got.item() == pytest.approx(want.item(), rel=1e-5)


def test_g_r_keeps_the_clip_length_and_with_its_mask_at_zero_returns_its_input():
    for k in (2, 8):
        g_r = RefineNet(_cfg(stage="refine", ngf=2, clip_length=k))
        v, mv = torch.rand(2, 3, k, 64, 64) * 2 - 1, torch.rand(2, 8, k, 64, 64)
        out = g_r(v, mv)
        assert out["video"].shape == v.shape and not torch.equal(out["video"], v)
        _set_mask(g_r.mask, 0.0)
        assert torch.equal(g_r(v, mv)["video"], v)                           # Eq. 10 with m = 0
    with pytest.raises(I2VError, match="power of two"):
        _cfg(stage="refine", clip_length=6)


# ----------------------------------------------------------------------------------------------
# G_C and motion maps
# ----------------------------------------------------------------------------------------------
def test_motion_maps_follow_the_face():
    img, lm = BENCH.frame(TEST_ID, {"surprise": 0.0})
    open_mouth = BENCH.frame(TEST_ID, {"surprise": 1.0})[1]
    maps = motion_maps(np.stack([lm, open_mouth]), 64)
    mouth, face = list(PARTS).index("mouth"), list(PARTS).index("face")
    assert maps[1, mouth].sum() > 10 * maps[0, mouth].sum()                 # the mouth opens
    assert maps[1, face].sum() > maps[0, face].sum() + 50                  # and the jaw drops
    assert maps[0, face].sum() > 300 and torch.equal(motion_maps(lm[None], 64), maps[:1])
    heat = motion_maps(lm[None], 64, "heatmaps")[0]
    peak = np.unravel_index(int(heat[30].argmax()), (64, 64))
    assert abs(peak[1] - lm[30, 0]) <= 1 and abs(peak[0] - lm[30, 1]) <= 1   # channel i peaks at landmark i
    with pytest.raises(I2VError, match="68 x 2"):
        motion_maps(np.zeros((1, 5, 2)), 64)


def test_oracle_is_the_benchmark_and_fitted_approximates_it():
    oracle = Oracle(TEST_ID, 64)
    image, lm = BENCH.frame(TEST_ID, {"happy": 0.6})
    mix = {"happy": np.array([0.0, 0.6])}
    assert np.allclose(oracle.expression(None, mix)[1], lm, atol=1e-4)            # exact landmarks
    assert np.array_equal(oracle.truth(mix)[1], image)                             # and the exact frames
    assert np.array_equal(oracle.neutral(), BENCH.frame(TEST_ID, {"happy": 0})[0])
    table = ExpressionTable.from_benchmark(stage_identities(_cfg(), "forecast")[:20], ["happy"])
    fitted = Fitted(table)
    neutral = fitted.source(oracle.neutral())
    assert np.abs(neutral - oracle.source()).mean() < 0.5                           # the instrument's landmarks
    err = np.linalg.norm(fitted.expression(neutral, mix) - oracle.expression(None, mix), axis=-1).mean(-1)
    assert err.max() < 0.6                                                           # pixels, at 64 px
    moved = fitted.expression(neutral, {"happy": np.array([1.0])})[0] - neutral
    assert moved[48, 0] < -0.5 and moved[54, 0] > 0.5 and moved[[48, 54], 1].mean() < -0.5   # a smile: corners out, up
    linear = Fitted(table, linear=True).expression(neutral, {"happy": np.array([0.5])})[0]
    assert np.allclose(linear - neutral, 0.5 * moved)


def test_retargeting_with_the_oracle_on_the_benchmark():
    model = _model()
    oracle = Oracle(TEST_ID, 64)
    image = oracle.neutral()
    ref = BENCH.video("test", 3, expression="happy", n_frames=6)
    assert int(ref.identity) != TEST_ID
    out = model.retarget(image, ref, condition=oracle)
    assert out.shape == (6, 64, 64, 3) and out.dtype == np.uint8
    lms = model.landmarks(image, reference=ref, condition=oracle)
    assert np.allclose(lms[0], oracle.source()) and not np.allclose(lms[-1], oracle.source())
    truth = oracle.truth(reference=ref)                                            # the exact answer
    assert truth.shape == out.shape and np.array_equal(truth[0], image) and not np.array_equal(truth[-1], image)
    assert not np.array_equal(out[-1], out[0])                                    # the motion reaches the frames
    still = replace(ref, intensity=np.zeros(6, np.float32))                       # a neutral reference
    flat = model.retarget(image, still, condition=oracle, as_tensor=True)
    assert all(torch.equal(f, flat[0]) for f in flat)
    at_zero = model.generate(image, [0.0], expression="happy", condition=oracle, as_tensor=True)[0]
    assert torch.allclose(flat[0], at_zero, atol=1e-5)                           # (batch sizes differ: last bits)
    _set_mask(model.net.mask, 0.0)                                                # m = 0: the input, exactly
    assert np.array_equal(model.retarget(image, ref, condition=oracle), np.repeat(image[None], 6, 0))


def test_retargeting_frames_with_the_fitted_condition():
    model = _model()
    image = Oracle(TEST_ID, 64).neutral()
    ref = BENCH.video("test", 5, expression="surprise", n_frames=5, expressions=["surprise"])
    out = model.retarget(image, ref.frames)
    assert out.shape == (5, 64, 64, 3)
    neutral = model.landmarks(image, [0.0], expression="happy")[0]
    still = model.landmarks(image, reference=np.repeat(ref.frames[:1], 3, 0))
    assert np.allclose(still, neutral[None], atol=1e-6)                            # a still reference moves nothing
    moved = model.landmarks(image, reference=ref.frames)
    assert np.linalg.norm(moved[-1] - neutral, axis=-1).max() > 1.0              # surprise: the jaw drops


def test_generation_api_and_bad_inputs():
    model = _model(expressions=["happy", "surprise"])
    image = Oracle(TEST_ID, 64).neutral()
    frames = model.generate(image, [0.0, 0.5, 1.0], expression="happy")
    assert frames.shape == (3, 64, 64, 3) and frames.dtype == np.uint8
    mixed = model.generate(image, {"happy": [0.7], "surprise": [0.0]}, as_tensor=True)
    assert torch.allclose(mixed, model.generate(image, [0.7], expression="happy", as_tensor=True), atol=1e-6)
    lm = model.landmarks(image, {"happy": [1.0], "surprise": [1.0]})[0] - model.landmarks(image, [0.0], "happy")[0]
    assert np.allclose(lm, (model.landmarks(image, [1.0], "happy") + model.landmarks(image, [1.0], "surprise")
                            - 2 * model.landmarks(image, [0.0], "happy"))[0], atol=1e-6)   # mixes add displacements
    calls, passes = [], []
    encode = model._encode
    model._encode = lambda *a: calls.append(1) or encode(*a)
    model.net.f_D.register_forward_hook(lambda *a: passes.append(1))
    other = Oracle(int(BENCH.identities("test")[1]), 64).neutral()
    for a in (0.1, 0.2, 0.3):
        model.generate(other, [a], expression="happy")
    assert len(calls) == 1 and len(passes) == 3                                   # a slider step: one G_M pass
    bad = [
        (lambda: model.generate(image, [1.5], expression="happy"), r"\[0, 1\]"),
        (lambda: model.generate(image, [-0.1], expression="happy"), r"\[0, 1\]"),
        (lambda: model.generate(image, [0.5], expression="anger"), "cannot render 'anger'"),
        (lambda: model.generate(image, [0.5]), "several expressions"),
        (lambda: model.generate(np.full((64, 64, 3), 200, np.float32), [0.5], expression="happy"), "uint8"),
        (lambda: model.generate(np.zeros((2, 64, 64, 3), np.uint8), [0.5], expression="happy"), "H x W x 3"),
        (lambda: model.generate(np.full((64, 64, 3), 127, np.uint8), [0.5], expression="happy"), "no face"),
        (lambda: model.generate(image, [0.5], expression="happy", condition="3dmm"), "unknown condition"),
        (lambda: model.generate(image, [0.5], expression="happy", condition=Oracle(TEST_ID, 128)), "128-px"),
        (lambda: model.retarget(image, np.zeros((4, 64, 64, 3), np.float32)), "uint8 frames"),
        (lambda: model.retarget(image, np.zeros((4, 64, 64)), ), "uint8 frames"),
        (lambda: model.retarget(image, np.zeros((4, 64, 64, 3), np.uint8), condition=Oracle(TEST_ID, 64)),
         "benchmark clip"),
        (lambda: model.retarget(image, "no/such/video.gif"), "no such video"),
    ]
    for call, words in bad:
        with pytest.raises(I2VError, match=words):
            call()


# ----------------------------------------------------------------------------------------------
# Configs, batches, training
# ----------------------------------------------------------------------------------------------
def test_configs_of_the_two_stages():
    paper = frgan.default_config("paper", stage="refine")
    assert paper["image_size"] == 96 and paper["batch"] == 32 and paper["lr"] == 1e-4 and paper["betas"] == [0.0, 0.9]
    assert paper["clip_length"] == 32 and paper["weights"]["gp"] == 10 and paper["forecast"]["image_size"] == 96
    assert paper["forecast"]["stage"] == "forecast" and paper["forecast"]["forecast"] is None
    code = frgan.default_config("book", weights={"rec": 3, "mask": 0.05})          # the public code's weights
    assert code["weights"] == {"rec": 3, "mask": 0.05, "gen": 1.0, "gp": 10.0, "frames": 1.0}
    with pytest.raises(I2VError, match="share image_size"):
        frgan.default_config("smoke", stage="refine", forecast={"image_size": 128})
    with pytest.raises(I2VError, match="nests no forecast"):
        frgan.default_config("smoke", forecast={"profile": "smoke"})
    with pytest.raises(I2VError, match="residual="):
        frgan.default_config("smoke", residual="sometimes")
    with pytest.raises(I2VError, match="unknown frgan option"):
        frgan.default_config("smoke", colour="red")
    assert [r["equation"] for r in frgan.Trainer.loss_table("refine")][:2] == ["Eq. 13", "Eq. 14"]


def test_batches_jump_forward_in_time_or_start_at_frame_0():
    clip = BENCH.video("train", 0, expression="happy", n_frames=8)
    frames = to_tensor(clip.frames)
    for source, check in (("random", lambda s, t: t > s), ("first", lambda s, t: s == 0)):
        tr = frgan.Trainer(_cfg(source=source, batch=6))
        tr._sampler = Sampler([clip], ["happy"])
        b = tr.sample(np.random.default_rng(0))
        for i in range(6):
            s = next(j for j in range(8) if torch.equal(frames[j], b["source"][i]))
            t = next(j for j in range(8) if torch.equal(frames[j], b["target"][i]))
            assert check(s, t), (source, s, t)
            assert torch.equal(b["maps_target"][i], motion_maps(clip.landmarks[t:t + 1], 64)[0])
    tr = frgan.Trainer(_cfg(stage="refine", clip_length=4))
    tr._sampler = Sampler([clip], ["happy"])
    b = tr.sample(np.random.default_rng(0))
    assert b["target"].shape == (2, 4, 3, 64, 64) and b["maps_target"].shape == (2, 4, 8, 64, 64)


@pytest.mark.slow
def test_one_step_of_each_stage_moves_its_networks_and_not_the_frozen_g_m():
    for stage in ("forecast", "refine"):
        torch.manual_seed(0)
        tr = frgan.Trainer(_cfg(stage=stage, videos=2))
        before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
        values = tr.step(tr.sample(np.random.default_rng(0)))
        assert set(values) == set(tr.loss_names) and all(torch.isfinite(v) for v in values.values())
        for k, net in tr.nets.items():
            moved = any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters()))
            assert moved == (k != "G_M"), (stage, k)
    no_mask = frgan.Trainer(_cfg(residual="difference", weights={"gen": 0}))
    assert "mask" not in no_mask.loss_names and "gp_image" not in no_mask.loss_names
    torch.manual_seed(0)
    variant = frgan.Trainer(_cfg(motion_maps="heatmaps", decoder="plain-wide", analogy="every-level",
                                 source="first", videos=2, batch=2))
    b = variant.sample(np.random.default_rng(0))
    assert b["maps_target"].shape == (2, 68, 64, 64)
    assert all(torch.isfinite(v) for v in variant.step(b).values())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A smoke refine run (2 steps), which trains its forecast run first, in a fresh run cache."""
    root = tmp_path_factory.mktemp("repo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("I2V_REPO_ROOT", str(root))
        cfg = frgan.default_config("smoke", stage="refine", steps=2, videos=2)
        refine = cached_run(cfg, root=runs_root(), progress=False)
        forecast = runs_root() / f"frgan-{config_hash(cfg['forecast'])}"
    return {"root": root, "config": cfg, "refine": refine, "forecast": forecast}


@pytest.mark.slow
def test_the_two_stages_chain_through_the_run_cache(runs, monkeypatch):
    from i2vlib.checkpoint import read_checkpoint

    monkeypatch.setenv("I2V_REPO_ROOT", str(runs["root"]))
    cfg, refine, forecast = runs["config"], runs["refine"], runs["forecast"]
    assert forecast.is_dir() and refine != forecast
    g_m = read_checkpoint(forecast)["weights"]["generator"]
    kept = read_checkpoint(refine)["weights"]["G_M"]
    assert all(torch.equal(g_m[k], kept[k]) for k in g_m) and g_m["displacements"].abs().sum() > 0
    other = frgan.default_config("smoke", stage="refine", steps=2, videos=2,
                                 forecast={**{k: v for k, v in cfg["forecast"].items()}, "seed": 1})
    assert config_hash(other) != config_hash(cfg)
    again = cached_run(other, root=runs_root(), progress=False)
    assert again != refine and len(list(runs_root().glob("frgan-*"))) == 4      # both stages trained anew
    assert cached_run(cfg, root=runs_root(), progress=False) == refine           # and the old pair is reused


@pytest.mark.slow
def test_each_stage_writes_a_loadable_checkpoint(runs, monkeypatch):
    monkeypatch.setenv("I2V_REPO_ROOT", str(runs["root"]))
    image = Oracle(TEST_ID, 64).neutral()
    ref = BENCH.video("test", 1, expression="happy", n_frames=5)
    for run, refines in ((runs["forecast"], False), (runs["refine"], True)):
        model = i2vlib.load(run)
        assert isinstance(model, frgan.Model) and (model.refiner is not None) == refines
        assert model.generate(image, [0.0, 1.0], expression="happy").shape == (2, 64, 64, 3)
        assert model.retarget(image, ref.frames).shape == (5, 64, 64, 3)
    refined = i2vlib.load(runs["refine"])
    coarse = refined.refiner
    refined.refiner = None
    plain = refined.retarget(image, ref.frames, as_tensor=True)
    refined.refiner = coarse
    assert not torch.equal(refined.retarget(image, ref.frames, as_tensor=True), plain)   # clips went through G_R
    one = refined.generate(image, [0.5], expression="happy", as_tensor=True)          # one frame: G_M alone
    refined.refiner = None
    assert torch.equal(one, refined.generate(image, [0.5], expression="happy", as_tensor=True))
    from i2vlib.checkpoint import read_checkpoint, save_checkpoint

    ckpt = read_checkpoint(runs["refine"])                                       # a snapshot keeps G_R alone:
    snap = save_checkpoint(runs["root"] / "snap.pt", "frgan", ckpt["config"], 2,  # G_M comes from the forecast run
                           {"generator": ckpt["weights"]["generator"]})
    assert torch.equal(i2vlib.load(snap).retarget(image, ref.frames, as_tensor=True),
                       i2vlib.load(runs["refine"]).retarget(image, ref.frames, as_tensor=True))
    monkeypatch.setenv("I2V_REPO_ROOT", str(runs["root"] / "elsewhere"))
    with pytest.raises(I2VError, match="neither shipped nor trained here"):
        i2vlib.load(snap)


@pytest.mark.slow
def test_a_snapshot_in_a_store_of_its_own_finds_its_earlier_stage_there(runs, tmp_path, monkeypatch):
    import shutil

    from i2vlib.checkpoint import read_checkpoint, save_checkpoint

    store = tmp_path / "study"                                  # a study's root, not the default store
    for run in (runs["forecast"], runs["refine"]):
        shutil.copytree(run, store / run.name)
    ckpt = read_checkpoint(runs["refine"])
    snap = save_checkpoint(store / runs["refine"].name / "snapshots" / "step-2.pt", "frgan", ckpt["config"], 2,
                           {"generator": ckpt["weights"]["generator"]})
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path / "elsewhere"))
    image = Oracle(TEST_ID, 64).neutral()
    assert torch.equal(i2vlib.load(snap).generate(image, [0.5, 1.0], expression="happy", as_tensor=True),
                       i2vlib.load(store / runs["refine"].name).generate(image, [0.5, 1.0], expression="happy",
                                                                         as_tensor=True))
    shutil.rmtree(store / runs["forecast"].name)                # without it there: the default store, then an error
    with pytest.raises(I2VError, match="neither shipped nor trained here"):
        i2vlib.load(snap)


@pytest.mark.slow
def test_cli_generate_retargets_a_reference_folder(runs, tmp_path, capsys):
    from i2vlib.checkpoint import save_checkpoint
    from i2vlib.cli import main
    from i2vlib.models import affinegan
    from i2vlib.render import save_video
    from i2vlib.data.video import read_video

    ref = save_video(BENCH.video("test", 2, expression="happy", n_frames=4).frames, tmp_path / "ref")
    out = tmp_path / "out.gif"
    assert main(["generate", str(runs["forecast"]), "synthetic:0", "--reference", str(ref), "--out", str(out)]) == 0
    assert read_video(out).shape[1:] == (64, 64, 3) and "wrote 4 frames" in capsys.readouterr().out
    cfg = affinegan.default_config("smoke", ngf=2)
    other = save_checkpoint(tmp_path / "ag.pt", "affinegan", cfg, 0,
                            {"generator": affinegan.AffineGenerator(cfg).state_dict()})
    for argv, words in (([str(other), "synthetic:0", "--reference", str(ref)], "needs an frgan model"),
                        ([str(runs["forecast"]), "synthetic:0", "--reference", str(ref), "--intensities", "0.5"],
                         "not both"),
                        ([str(runs["forecast"]), "synthetic:0", "--reference", str(tmp_path / "none")],
                         "no such video")):
        assert main(["generate", *argv, "--out", str(tmp_path / "x.gif")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("i2v: error:") and words in err[0], err


def test_the_retargeting_protocol_scores_the_truth_perfectly_and_copying_by_the_change():
    from i2vlib.evaluate import retarget

    p = retarget.protocol(64, targets=2, frames=6)
    base = retarget.baselines(64, targets=2, frames=6)
    assert len(p.cases) == 2 and len(p.motion) == 12 and set(np.unique(p.third)) <= {0, 1, 2}
    assert all(c["identity"] != int(p.reference.identity) for c in p.cases)      # an unseen person performs it
    assert base["truth"]["mse"] == 0 and base["truth"]["change_l1"] == 0 and base["truth"]["acd_g"] == pytest.approx(0)
    # copying the input errs by the change itself inside the change region, by at most CHANGE outside it
    assert base["copy"]["change_l1"] > retarget.CHANGE / 3 and base["copy"]["static_l1"] <= retarget.CHANGE
    assert base["copy_frame_l1"][0] == pytest.approx(0, abs=1.0)                     # the first frame is neutral
    model = _model()
    parts = retarget.forecast_parts(model, p.cases[0])
    assert parts["frame"].shape == (6, 64, 64, 3) and parts["mask"].shape == (6, 64, 64)
    assert np.all((parts["mask"] >= 0) & (parts["mask"] <= 1))


def test_a_baseline_without_retargeting_renders_from_the_input_at_the_reference_intensities():
    from i2vlib.evaluate import retarget

    class Clip:                       # a fixed-clip baseline: frame k shows 100 * its intensity in every pixel
        supported_intensities = np.array([0.25, 0.5, 0.75, 1.0])

        def generate(self, image, intensities, expression=None):
            assert expression == "happy" and list(intensities) == list(self.supported_intensities)
            return np.stack([np.full((2, 2, 3), round(100 * a), np.uint8) for a in intensities])

    class Any(Clip):                  # a model of any intensity renders the reference's own
        supported_intensities = None

        def generate(self, image, intensities, expression=None):
            return np.stack([np.full((2, 2, 3), round(100 * a), np.uint8) for a in intensities])

    reference = SimpleNamespace(intensity=np.array([0.0, 0.2, 0.4, 0.6, 0.9, 1.0]), expression="happy")
    neutral = np.full((2, 2, 3), 7, np.uint8)
    clip = retarget.from_input(Clip(), neutral, reference)
    assert list(clip[:, 0, 0, 0]) == [25, 25, 50, 50, 100, 100]       # the clip's frame of the nearest intensity
    assert list(retarget.from_input(Any(), neutral, reference)[:, 0, 0, 0]) == [0, 20, 40, 60, 90, 100]
    case = {"neutral": neutral}
    assert np.array_equal(retarget.video(Clip(), case, reference, "oracle"), clip)   # no retarget(): from the input


@pytest.mark.slow
def test_i2v_evaluate_scores_an_frgan_model_on_the_retargeting_protocol(runs, tmp_path, monkeypatch, capsys):
    from i2vlib.cli import main

    monkeypatch.setenv("I2V_REPO_ROOT", str(runs["root"]))
    out = tmp_path / "m.json"
    assert main(["evaluate", str(runs["refine"]), "--videos", "2", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["method"] == "frgan" and r["protocol"].startswith("retargeting") and r["targets"] == 2
    assert set(r["per_expression"]) == {"happy"} and r["stage"] == "refine"
    for name in ("scores", "forecast_scores", "reference"):
        assert {"acd_i", "psnr", "texture", "expression_accuracy", "change_l1"} <= set(r[name])
    assert r["reference"]["texture"] == 1.0 and r["scores"] != r["forecast_scores"]    # G_R changes G_M's frames
    assert "reference (ground truth)" in capsys.readouterr().out
    assert main(["evaluate", str(runs["refine"]), "--instrument", "dlib", "--out", str(tmp_path / "x.json")]) == 2
    assert "drop --instrument dlib" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
    val = tmp_path / "val.json"                      # the validation identities, for recipe choices
    assert main(["evaluate", str(runs["refine"]), "--videos", "2", "--split", "val", "--out", str(val)]) == 0
    v = json.loads(val.read_text())
    assert v["split"] == "val" and r["split"] == "test" and v["scores"]["psnr"] != r["scores"]["psnr"]
    assert main(["evaluate", str(runs["refine"]), "--split", "train", "--out", str(tmp_path / "x.json")]) == 2
    assert "test and val identities" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
