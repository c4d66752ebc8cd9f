"""The paper profile is each paper's stated settings, and every method trains one step at them on the CPU.

The one-step runs keep every paper's image size and widths on one video (the least data a step
needs); two batches shrink to keep the suite's time: Fan et al.'s one clip gives 2 of its 16
frames, and FRGAN's refinement trains on 1 of its 32 clips of 32 frames.
"""

import numpy as np
import pytest
import torch

from i2vlib import I2VError
from i2vlib.config import HASH_NEUTRAL, config_hash
from i2vlib.models import paper_settings
from i2vlib.models import affinegan, convlstm, fan, frgan, get_method

METHODS = ("affinegan", "fan", "convlstm", "frgan")


def test_affinegan_paper_settings():
    cfg = affinegan.default_config("paper")
    assert cfg["image_size"] == 256 and cfg["ngf"] == cfg["ndf"] == 64 and cfg["norm"] == "instance"
    assert cfg["batch"] == 5 and cfg["pairs_per_video"] == 5                      # one video, five pairs (§4)
    assert cfg["lr"] == 2e-4 and cfg["betas"] == [0.5, 0.999] and cfg["d_layers"] == 3
    assert cfg["weights"] == {"g": 1.0, "l": 1.0, "r1": 100.0, "r2": 10.0, "a": 100.0}
    assert set(affinegan.NO_MOUTH) == {"close-eyes", "raise-eyes"}
    tr = affinegan.Trainer(affinegan.default_config("smoke", expressions=["close-eyes", "happy"]))
    assert tr.local_weight.tolist() == [0.0, 1.0]                                 # no local loss where no mouth moves


def test_fan_paper_settings():
    cfg = fan.default_config("paper")
    assert cfg["image_size"] == 256 and cfg["load_size"] == 289                   # random 256 crops of 289 (§4.1)
    assert cfg["pairs_per_video"] == cfg["batch"]                                  # one clip per batch
    assert cfg["d_layers"] == 3 and cfg["lr"] == 2e-4 and cfg["delta_a"] == 0.1 and cfg["norm"] == "batch"
    assert cfg["steps"] == 2100 * cfg["videos"] * len(cfg["expressions"])         # 2100 epochs of one clip a step


def test_convlstm_and_frgan_paper_settings():
    cfg = convlstm.default_config("paper")
    assert cfg["length"] == 10 and cfg["expressions"] == ["happy"] and cfg["image_size"] == 256
    assert cfg["frames"][0] >= 11
    for stage in frgan.STAGES:
        cfg = frgan.default_config("paper", stage=stage)
        assert cfg["image_size"] == 96 and cfg["batch"] == 32 and cfg["lr"] == 1e-4 and cfg["betas"] == [0.0, 0.9]
        assert cfg["weights"]["gp"] == 10 and cfg["clip_length"] == 32 and cfg["frames"][0] > 32


@pytest.mark.parametrize("method", METHODS)
def test_the_settings_table_says_what_the_paper_leaves_unstated(method):
    module = get_method(method)
    rows = paper_settings(method)
    assert [r["option"] for r in rows] == [*module.STATED, *module.UNSTATED]
    assert not set(module.STATED) & set(module.UNSTATED)
    assert all(r["source"].startswith("§") for r in rows if r["option"] in module.STATED)
    assert all(r["source"].startswith("unstated: ") for r in rows if r["option"] in module.UNSTATED)


def test_new_options_at_their_defaults_keep_the_hashes_of_cached_runs():
    for method in ("affinegan", "fan"):
        cfg = get_method(method).default_config("book")
        old = {k: v for k, v in cfg.items() if k not in HASH_NEUTRAL}
        assert config_hash(cfg) == config_hash(old)
        assert config_hash({**cfg, "pairs_per_video": 2}) != config_hash(cfg)


def test_bad_batch_composition_and_crop_are_one_line():
    with pytest.raises(I2VError, match="pairs_per_video=3 must be a positive integer that divides batch=5"):
        affinegan.default_config("paper", pairs_per_video=3)
    with pytest.raises(I2VError, match="load_size=200 must be an integer of at least image_size=256"):
        fan.default_config("paper", load_size=200)


def test_a_batch_is_one_video_and_fans_frames_are_random_crops():
    tr = affinegan.Trainer(affinegan.default_config("smoke", videos=3, batch=10, pairs_per_video=5))
    b = tr.sample(np.random.default_rng(1))
    for half in (b["neutral"][:5], b["neutral"][5:]):
        assert all(torch.equal(half[0], x) for x in half)                          # one neutral frame per video
    assert len({x.numpy().tobytes() for x in b["target"][:5]}) == 5                # five distinct targets
    tr = fan.Trainer(fan.default_config("smoke", videos=1, load_size=72, batch=2, pairs_per_video=2))
    sampler = tr.sampler()
    assert sampler.source[0].size == (72, 72) and tr.sample(np.random.default_rng(0))["neutral"].shape[-1] == 64
    crops = {tuple(sampler.clip(np.random.default_rng(s)).meta["crop"]) for s in range(6)}
    assert len(crops) > 1 and all(x1 - x0 == 64 and y1 - y0 == 64 for x0, y0, x1, y1 in crops)


# method, overrides of the one-step run (beyond videos=1), the shape of the batch's input images
STEPS = [
    ("affinegan", {}, (5, 3, 256, 256)),
    ("fan", {"batch": 2, "pairs_per_video": 2}, (2, 3, 256, 256)),
    ("convlstm", {}, (1, 3, 256, 256)),
    ("frgan", {"stage": "forecast"}, (32, 3, 96, 96)),
    ("frgan", {"stage": "refine", "batch": 1}, (1, 3, 96, 96)),
]


@pytest.mark.slow
@pytest.mark.parametrize("method, overrides, shape", STEPS, ids=[f"{m}-{o.get('stage', 'paper')}" for m, o, _ in STEPS])
def test_one_training_step_at_the_papers_sizes_and_widths(method, overrides, shape, one_thread):
    module = get_method(method)
    cfg = module.default_config("paper", videos=1, **overrides)
    assert cfg["ngf"] == cfg["ndf"] == 64
    torch.manual_seed(0)
    tr = module.Trainer(cfg)
    batch = tr.sample(np.random.default_rng([0, 0]))
    assert tuple(batch["neutral" if "neutral" in batch else "source"].shape) == shape
    trained = {k: next(n.parameters()).detach().clone() for k, n in tr.nets.items() if k not in tr.frozen}
    values = tr.step(batch)
    assert set(values) == set(tr.loss_names) and all(torch.isfinite(v) for v in values.values())
    for k, before in trained.items():
        assert not torch.equal(before, next(tr.nets[k].parameters())), f"{k} did not learn"
