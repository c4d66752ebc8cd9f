"""What the field uses against GAN artefacts, as options of every method (none is a paper's): a moving
average of the generator (``ema``), the critics' own learning rate (``lr_d``), spectral normalisation of the
patch critics (``spectral_norm``); and speckle as a number (``texture``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import i2vlib
from i2vlib import I2VError, metrics
from i2vlib.checkpoint import read_checkpoint
from i2vlib.config import HASH_NEUTRAL, config_hash
from i2vlib.models import affinegan, fan
from i2vlib.train import train
from i2vlib.studies import speckle
from i2vlib.studies.speckle import decide


def test_the_new_options_at_their_defaults_keep_every_hash():
    cfg = affinegan.default_config("book")
    assert {k: cfg[k] for k in ("ema", "lr_d", "spectral_norm")} == {"ema": None, "lr_d": None, "spectral_norm": False}
    old = {k: v for k, v in cfg.items() if k not in HASH_NEUTRAL}
    assert config_hash(cfg) == config_hash(old)
    assert config_hash(affinegan.default_config("book", ema=0.999)) != config_hash(cfg)


def test_the_average_follows_the_generator_and_is_what_loads(tmp_path):
    cfg = affinegan.default_config("smoke", ema=0.5, steps=3)
    tr = affinegan.Trainer(cfg)
    g, avg = tr.nets["generator"], tr.nets["generator_ema"]
    assert not any(p.requires_grad for p in avg.parameters()) and "generator_ema" not in tr.optimizers
    before = [p.detach().clone() for p in avg.parameters()]
    tr.step(tr.sample(np.random.default_rng(0)))
    for b, a, p in zip(before, avg.parameters(), g.parameters()):     # ema <- d ema + (1 - d) theta
        assert torch.allclose(a, 0.5 * b + 0.5 * p.detach(), atol=1e-6)
    train(cfg, tmp_path / "r", device="cpu", progress=False, snapshots=[2])
    ckpt = read_checkpoint(tmp_path / "r")
    snap = read_checkpoint(tmp_path / "r" / "snapshots" / "step-2.pt")
    assert {"generator", "generator_ema"} <= set(ckpt["weights"]) and set(snap["weights"]) == {"generator", "generator_ema"}
    loaded = i2vlib.load(tmp_path / "r").net.state_dict()
    assert all(torch.equal(loaded[k], ckpt["weights"]["generator_ema"][k]) for k in loaded)


@pytest.mark.slow
def test_an_averaged_run_resumes_as_if_it_had_not_stopped(tmp_path):
    cfg = fan.default_config("smoke", ema=0.9, steps=4, checkpoint_every=2)
    train(cfg, tmp_path / "a", device="cpu", progress=False)
    train({**cfg, "steps": 2}, tmp_path / "b", device="cpu", progress=False)
    train(cfg, tmp_path / "b", resume=True, device="cpu", progress=False)
    a, b = (read_checkpoint(tmp_path / x)["weights"]["generator_ema"] for x in "ab")
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_the_critics_learn_at_their_own_rate_and_may_be_spectrally_normalised():
    tr = affinegan.Trainer(affinegan.default_config("smoke", lr_d=4e-4, spectral_norm=True))
    assert tr.optimizers["g"].param_groups[0]["lr"] == tr.cfg["lr"] and tr.optimizers["d"].param_groups[0]["lr"] == 4e-4
    convs = [m for m in tr.nets["d_global"].modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    w = convs[0].weight.detach().flatten(1)
    assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, rel=0.2)   # sigma(W / sigma) = 1
    tr.step(tr.sample(np.random.default_rng(0)))


@pytest.mark.parametrize("bad", [{"ema": 1.0}, {"ema": 0}, {"ema": "fast"}, {"lr_d": -1e-3}, {"lr_d": True},
                                 {"spectral_norm": "yes"}])
def test_bad_values_are_one_line_errors(bad):
    with pytest.raises(I2VError, match=next(iter(bad))):
        affinegan.default_config("smoke", **bad)


def test_texture_is_one_for_the_truth_above_for_speckle_below_for_blur():
    rng = np.random.default_rng(0)
    truth = np.kron(rng.uniform(60, 200, (3, 8, 8, 3)), np.ones((1, 4, 4, 1))).round().astype(np.uint8)  # blocks
    speckled = (truth + rng.normal(0, 12, truth.shape)).clip(0, 255).round().astype(np.uint8)
    box = sum(np.roll(np.roll(truth.astype(float), i, 1), j, 2) for i in (-1, 0, 1) for j in (-1, 0, 1)) / 9
    blurred = box.round().astype(np.uint8)
    assert metrics.texture(truth, truth) == 1.0
    assert metrics.texture(speckled, truth) > 1.5 and metrics.texture(blurred, truth) < 1.0
    with pytest.raises(I2VError, match="3 x 3"):
        metrics.detail(np.zeros((2, 2, 3)))


def test_the_unified_model_adds_stargans_domain_classification():
    cfg = affinegan.default_config("smoke", classify=1.0, expressions=["happy", "anger", "surprise"])
    tr = affinegan.Trainer(cfg)
    assert {"d_cls", "g_cls"} <= set(tr.loss_names)
    x = torch.zeros(2, 6, 64, 64)
    patch, logits = tr.nets["d_global"].both(x)
    assert logits.shape == (2, 3) and torch.equal(patch, tr.nets["d_global"](x))
    values = tr.step(tr.sample(np.random.default_rng(0)))
    assert float(values["d_cls"]) == pytest.approx(np.log(3), rel=0.5)        # about chance at the start
    plain = affinegan.Trainer(affinegan.default_config("smoke", expressions=["happy", "anger"]))
    assert "d_cls" not in plain.loss_names and not hasattr(plain.nets["d_global"], "cls")
    assert config_hash(affinegan.default_config("book", classify=0.0)) == config_hash(affinegan.default_config("book"))
    with pytest.raises(I2VError, match="several expressions"):
        affinegan.default_config("smoke", classify=1.0)


@pytest.mark.parametrize("bad, words", [
    ({"lr": "fast"}, "lr must be a number, got 'fast'"), ({"lr": -0.001}, r"lr=-0.001 is out of range: \(0"),
    ({"lr": float("nan")}, "lr=nan is out of range"), ({"betas": [2, 3]}, "betas=2 is out of range"),
    ({"steps": 1.5}, "steps must be an integer, got 1.5"), ({"weights": {"g": "x"}}, "weights.g must be a number"),
    ({"batch": "8"}, "batch must be an integer, got '8'"), ({"videos": 99999999999}, "videos=99999999999 is out of"),
    ({"image_size": 100000}, "image_size=100000 is out of range"), ({"frames": [8, 2]}, "shortest length comes first"),
    ({"augment": "yes"}, "augment must be true or false"), ({"mix": 3}, "mix must be a word"),
    ({"seed": -1}, r"seed=-1 is out of range: \[0, 4294967295\]")])
def test_every_option_is_typed_and_bounded_before_anything_is_built(bad, words):
    with pytest.raises(I2VError, match=words):
        affinegan.default_config("book", **bad)


def _study(texture: dict, ema_gain: float, strength=0.9, acd=2.0) -> dict:
    """Records of the speckle study: per arm, one texture per seed of the raw generator at the last step."""
    last = str(speckle.STEPS)
    out = {}
    for arm, values in texture.items():
        for seed, t in enumerate(values):
            raw = {"texture": t, "strength": strength, "acd_i_ratio": acd, "rho_linear": 0.9}
            out[f"{arm}/{seed}"] = {"arm": arm, "seed": seed, "curve": {
                last: {"raw": raw, "ema": {**raw, "texture": t - ema_gain - 0.01 * seed}}}}
    return out


def test_the_speckle_rule_adopts_what_beats_the_base_and_nothing_else():
    d = decide(_study({"base": [1.6, 1.65, 1.55], "sn": [1.5, 1.7, 1.6], "d3": [1.2, 1.22, 1.18],
                       "ttur": [1.3, 1.31, 1.29]}, ema_gain=0.1))
    assert d["ema"]["adopted"] and d["weights"] == "ema" and d["ema"]["runs"] == 12
    assert not d["arms"]["sn"]["better"] and d["arms"]["d3"]["better"] and d["arms"]["ttur"]["better"]
    assert d["adopted_arm"] == "d3"                          # the lowest texture of the arms that are better
    assert d["bf16"] is None                                 # not run: neither adopted nor refused
    none = decide(_study({"base": [1.6, 1.65, 1.55], "d3": [1.6, 1.62, 1.58]}, ema_gain=-0.05))
    assert not none["ema"]["adopted"] and none["weights"] == "raw" and none["adopted_arm"] is None


def test_a_remedy_that_costs_too_much_strength_is_not_adopted():
    records = _study({"base": [1.6, 1.65, 1.55]}, ema_gain=0.1)
    records.update(_study({"d3": [1.2, 1.22, 1.18]}, ema_gain=0.1, strength=0.8))   # 0.1 below base: > 0.05
    d = decide(records)
    assert d["arms"]["d3"]["p_lower"] < 0.05 and not d["arms"]["d3"]["costs_allowed"] and d["adopted_arm"] is None
