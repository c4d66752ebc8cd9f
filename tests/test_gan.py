"""The GAN trainer base (i2vlib.models.gan) on two toy methods: loss terms and their weights,
frozen critics, critic steps, the WGAN-GP penalty, and a two-stage run chained through the cache."""

import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from i2vlib import I2VError, losses, models
from i2vlib.checkpoint import read_checkpoint
from i2vlib.models.gan import GANTrainer
from i2vlib.runs import cached_run, train

CALLS = {"d_wgan": 0, "gp": 0, "l1": 0}


class Toy(GANTrainer):
    """A 1x1-conv generator that learns to copy noise; a linear critic; WGAN-GP + L1."""

    name = "toy"
    options = {"weights": {"adv": 1.0, "gp": 10.0, "l1": 1.0}}
    critics = ("critic",)
    d_losses = {"d_wgan": ("adv", "Eq. 8"), "gp": ("gp", "Eq. 9")}
    g_losses = {"g_wgan": ("adv", "Eq. 7"), "l1": ("l1", "Eq. 5")}

    def build(self):
        return {"generator": nn.Conv2d(3, 3, 1), "critic": nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 1))}

    def sample(self, rng):
        x = torch.from_numpy(rng.standard_normal((self.cfg["batch"], 3, 8, 8)).astype(np.float32))
        return {"x": x}

    def forward(self, b):
        return {"y": self.nets["generator"](b["x"])}

    def d_terms(self, b, out):
        critic, fake = self.nets["critic"], out["y"].detach()
        CALLS["flags_d"] = [p.requires_grad for p in critic.parameters()]
        return {"d_wgan": lambda: _count("d_wgan", losses.wgan_d(critic(b["x"]), critic(fake))),
                "gp": lambda: _count("gp", losses.gradient_penalty(critic, b["x"], fake))}

    def g_terms(self, b, out):
        CALLS["flags_g"] = [p.requires_grad for p in self.nets["critic"].parameters()]
        return {"g_wgan": lambda: losses.wgan_g(self.nets["critic"](out["y"])),
                "l1": lambda: _count("l1", losses.l1(out["y"], b["x"]))}


class Toy2(Toy):
    """A second stage: a refiner learns on the output of a frozen toy generator trained first."""

    name = "toy2"
    options = {"weights": {"adv": 0.0, "gp": 0.0, "l1": 1.0}, "first": {"method": "toy", "profile": "smoke"}}
    frozen = ("first",)
    stages = {"first": "first"}

    def build(self):
        return {"generator": nn.Conv2d(3, 3, 1), "critic": nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 1)),
                "first": nn.Conv2d(3, 3, 1)}

    def forward(self, b):
        return {"y": self.nets["generator"](self.nets["first"](b["x"]))}


def _count(name, value):
    CALLS[name] += 1
    return value


@pytest.fixture(autouse=True)
def toy_methods(monkeypatch):
    """Register the toys as methods ``toy`` and ``toy2`` (import_module returns what sys.modules holds)."""
    for name, cls in (("toy", Toy), ("toy2", Toy2)):
        monkeypatch.setitem(sys.modules, f"i2v_test_{name}", SimpleNamespace(Trainer=cls, default_config=cls.default_config))
        monkeypatch.setitem(models.METHODS, name, f"i2v_test_{name}")
    for k in ("d_wgan", "gp", "l1"):
        CALLS[k] = 0


def test_every_term_is_computed_weighted_and_logged_in_declared_order():
    tr = Toy(Toy.default_config("smoke"))
    assert tr.loss_names == ("d_wgan", "gp", "g_wgan", "l1")
    values = tr.step(tr.sample(np.random.default_rng(0)))
    assert list(values) == list(tr.loss_names) and all(torch.isfinite(v) for v in values.values())
    assert CALLS["d_wgan"] == CALLS["gp"] == CALLS["l1"] == 1
    assert Toy.loss_table()[1] == {"half": "critics", "term": "gp", "weight": "gp", "equation": "Eq. 9"}


def test_a_zero_weight_removes_the_term_and_its_computation():
    tr = Toy(Toy.default_config("smoke", weights={"gp": 0, "l1": 0}))
    values = tr.step(tr.sample(np.random.default_rng(0)))
    assert CALLS["gp"] == 0 and CALLS["l1"] == 0 and CALLS["d_wgan"] == 1
    assert values["gp"] == 0 and values["l1"] == 0
    tr = Toy(Toy.default_config("smoke", weights={"adv": 0, "gp": 0}))
    before = [p.clone() for p in tr.nets["critic"].parameters()]
    tr.step(tr.sample(np.random.default_rng(0)))
    assert all(torch.equal(a, b) for a, b in zip(before, tr.nets["critic"].parameters()))   # no critic term: no update


def test_critics_learn_in_their_half_only_and_take_critic_steps_updates():
    tr = Toy(Toy.default_config("smoke", critic_steps=3))
    tr.step(tr.sample(np.random.default_rng(0)))
    assert all(CALLS["flags_d"]) and not any(CALLS["flags_g"])
    assert CALLS["d_wgan"] == 3 and CALLS["l1"] == 1
    state = tr.optimizers["d"].state[next(tr.nets["critic"].parameters())]
    assert int(state["step"]) == 3 and int(tr.optimizers["g"].state[tr.nets["generator"].weight]["step"]) == 1


def test_gradient_penalty_equals_a_hand_computation():
    critic = nn.Linear(5, 1)
    real, fake = torch.randn(4, 5), torch.randn(4, 5)
    # a linear critic has the gradient w everywhere: the penalty is (||w|| - 1)^2 wherever it is taken
    want = (critic.weight.norm() - 1) ** 2
    assert losses.gradient_penalty(critic, real, fake).item() == pytest.approx(want.item(), rel=1e-6)
    quad = lambda x: (x ** 2).sum(1, keepdim=True)   # noqa: E731  grad = 2x at the interpolate
    torch.manual_seed(0)
    got = losses.gradient_penalty(quad, real, fake)
    torch.manual_seed(0)
    eps = torch.rand(4, 1)
    x = eps * real + (1 - eps) * fake
    assert got.item() == pytest.approx((((2 * x).norm(dim=1) - 1) ** 2).mean().item(), rel=1e-6)
    assert losses.wgan_d(torch.ones(3), torch.zeros(3)) == -1 and losses.wgan_g(torch.full((3,), 2.0)) == -2


def test_a_two_stage_run_trains_its_earlier_stage_first_and_keeps_it_frozen(tmp_path, monkeypatch):
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))
    run2 = cached_run({"method": "toy2", "profile": "smoke"}, progress=False)
    first_runs = sorted((tmp_path / "_build" / "runs").glob("toy-*"))
    assert len(first_runs) == 1                                    # the earlier stage was trained first
    first = read_checkpoint(first_runs[0])["weights"]["generator"]
    second = read_checkpoint(run2)["weights"]
    assert all(torch.equal(first[k], second["first"][k]) for k in first)   # loaded, and frozen in training
    assert set(read_checkpoint(run2)["optimizers"]) == {"g", "d"}
    # the earlier stage's config is part of this one's: changing it retrains both
    changed = cached_run({"method": "toy2", "profile": "smoke", "first": {"method": "toy", "profile": "smoke",
                                                                         "seed": 1}}, progress=False)
    assert changed != run2 and len(list((tmp_path / "_build" / "runs").glob("toy-*"))) == 2


def test_an_earlier_stage_trained_or_cached_leaves_the_same_random_stream(tmp_path, monkeypatch):
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))
    a = train({"method": "toy2", "profile": "smoke"}, tmp_path / "a", progress=False)   # trains stage 1 too
    b = train({"method": "toy2", "profile": "smoke"}, tmp_path / "b", progress=False)   # finds it cached
    wa, wb = read_checkpoint(tmp_path / "a")["weights"], read_checkpoint(tmp_path / "b")["weights"]
    assert a["steps"] == b["steps"] and all(torch.equal(wa["generator"][k], wb["generator"][k]) for k in wa["generator"])


def test_config_errors_name_the_method():
    with pytest.raises(I2VError, match="unknown toy option 'colour'"):
        Toy.default_config("smoke", colour=1)
    with pytest.raises(I2VError, match=r"critic_steps=0 is out of range: \[1, 100\]"):
        Toy.default_config("smoke", critic_steps=0)
    with pytest.raises(I2VError, match=r"weights.gp=-1 is out of range"):
        Toy.default_config("smoke", weights={"gp": -1})


def test_fused_adam_is_the_same_update_and_a_resumed_run_takes_the_setting_it_is_given():
    tr, fused = Toy(Toy.default_config("smoke")), Toy(Toy.default_config("smoke"))
    fused.nets.load_state_dict(tr.nets.state_dict())
    fused.fuse_adam(True)
    batch = tr.sample(np.random.default_rng(0))
    torch.manual_seed(0)
    tr.step(batch)
    torch.manual_seed(0)
    fused.step(batch)
    for (name, a), b in zip(tr.nets.named_parameters(), fused.nets.parameters()):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-7), name      # one step: equal up to rounding
    assert all(g["fused"] for o in fused.optimizers.values() for g in o.param_groups)
    # a checkpoint's optimiser state carries the flag it was saved with; fuse_adam after loading decides
    resumed = Toy(Toy.default_config("smoke"))
    for k, o in resumed.optimizers.items():
        o.load_state_dict(fused.optimizers[k].state_dict())
    assert all(g["fused"] for o in resumed.optimizers.values() for g in o.param_groups)
    resumed.fuse_adam(False)
    assert not any(g["fused"] or g["foreach"] for o in resumed.optimizers.values() for g in o.param_groups)
    resumed.step(batch)                                               # and steps with the default kernel
