"""The refinement studies (i2vlib.studies.refine): their arms change only G_R's adversarial weights, and their rule
picks, of the weights that meet the zoo's refinement targets on validation identities (faces) or videos (poses), the
one nearest the truth (the rule as first written: the largest)."""

import pytest

from i2vlib import zoo
from i2vlib.config import config_hash
from i2vlib.errors import I2VError
from i2vlib.records import ablations
from i2vlib.studies import refine


@pytest.mark.parametrize("study", ["faces", "pose"])
def test_each_arm_is_the_zoos_g_r_recipe_with_its_adversarial_weight(study):
    entry, arms = refine.STUDIES[study]
    base = zoo.entry_config(entry)
    for arm, weight in arms.items():
        assert refine.study_of(arm) == study
        cfg = refine.config(arm)
        assert {k for k in cfg if cfg[k] != base[k]} <= {"weights"}
        assert {k for k in cfg["weights"] if cfg["weights"][k] != base["weights"][k]} <= {"gen", "frames"}
        assert cfg["weights"]["gen"] == cfg["weights"]["frames"] == weight and cfg["stage"] == "refine"
    with pytest.raises(I2VError, match="unknown refine arm"):
        refine.config("w2")


def _records(**final) -> dict:
    """Records whose final models have {arm: (PSNR cost, colour shift added)}."""
    last = str(refine.BASE["steps"])
    return {f"{arm}/0": {"arm": arm, "seed": 0, "weight": refine.ARMS[arm],
                         "curve": {"1000": {"psnr_cost": 9.0, "colour_shift_added": 9.0},
                                   last: {"psnr_cost": cost, "colour_shift_added": shift}}}
            for arm, (cost, shift) in final.items()}


def test_the_pose_rule_reads_the_psnr_cost_alone():
    last = str(zoo.ENTRIES["frgan-pose"]["config"]["steps"])
    recs = {f"{arm}/0": {"arm": arm, "seed": 0, "weight": w, "curve": {last: {"psnr_cost": cost}}}
            for (arm, w), cost in zip(refine.POSE_ARMS.items(), (0.7, 0.2))}
    assert refine.decide(recs, study="pose") == {"adopted": 0.1, "meets": {"pose-w1": False, "pose-w0.1": True},
                                                 "final": {r["arm"]: r["curve"][last] for r in recs.values()},
                                                 "first_rule": 0.1}
    assert set(refine.by_arm("pose")) == set(refine.POSE_ARMS) and set(refine.by_arm()) == set(refine.ARMS)


def test_the_rule_adopts_the_passing_weight_nearest_the_truth():
    d = refine.decide(_records(**{"w1": (1.6, 0.1), "w0.1": (0.45, 0.2)}))
    assert d["adopted"] == d["first_rule"] == 0.1 and d["meets"] == {"w1": False, "w0.1": True}
    d = refine.decide(_records(**{"w1": (0.5, 1.0), "w0.1": (0.1, 0.0)}))         # the bounds count
    assert d["meets"] == {"w1": True, "w0.1": True} and d["adopted"] == 0.1 and d["first_rule"] == 1.0
    d = refine.decide(_records(**{"w1": (0.18, 0.0), "w0.1": (-0.41, 0.0)}))      # a gain beats a cost
    assert d["adopted"] == 0.1 and d["first_rule"] == 1.0
    assert refine.decide(_records(**{"w1": (0.0, 0.0), "w0.1": (0.3, 0.0)}))["adopted"] == 1.0
    assert refine.decide(_records(**{"w1": (0.2, 0.0), "w0.1": (0.2, 0.0)}))["adopted"] == 1.0     # a tie: the larger
    d = refine.decide(_records(**{"w1": (0.6, 0.0), "w0.1": (0.2, 1.5)}))         # none: the paper's
    assert d["adopted"] == d["first_rule"] == 1.0
    with pytest.raises(I2VError, match="no arm of the faces refinement study has reached its last step"):
        refine.decide({"w0.1/0": {"arm": "w0.1", "seed": 0, "curve": {"1000": {"psnr_cost": 0.0,
                                                                             "colour_shift_added": 0.0}}}})


@pytest.mark.parametrize("name", ["refine", "speckle", "capacity", "eq5", "upsample"])
def test_every_recipe_studys_command_line_refuses_an_unknown_arm_in_one_line(name, capsys):
    import importlib

    module = importlib.import_module(f"i2vlib.studies.{name}")
    assert module.main(["w7"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{name}: error: unknown {name} arm 'w7'") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("paper, entry", [("frgan", "frgan-faces"), ("frgan-pose", "frgan-pose")])
def test_the_refine_stage_arms_train_g_r_with_the_zoos_adversarial_weights(paper, entry):
    zoo_weights = zoo.entry_config(entry)["weights"]
    arms = {a: runs[0] for a, runs in ablations.arm_configs(paper, "book").items() if runs[0].get("stage") == "refine"}
    assert "refine" in arms
    for arm, config in arms.items():
        assert config["weights"]["gen"] == zoo_weights["gen"]                       # D_V's
        assert config["weights"]["frames"] == (0.0 if arm == "refine_no_d_i" else zoo_weights["frames"])   # D_I's


@pytest.mark.parametrize("study", ["faces", "pose"])
def test_the_zoos_g_r_takes_the_weight_the_shipped_study_adopted(study):
    entry, arms = refine.STUDIES[study]
    adopted = refine.decide(study=study)["adopted"]
    weights = zoo.entry_config(entry)["weights"]
    assert weights["gen"] == weights["frames"] == adopted
    arm = next(a for a, w in arms.items() if w == adopted)
    assert config_hash(refine.config(arm)) == config_hash(zoo.entry_config(entry))   # its run shipped
    assert refine.by_arm(study)[arm]["config_hash"] == config_hash(zoo.entry_config(entry))
    for r in refine.by_arm(study).values():              # every arm stands on the zoo's own G_M
        assert r["weight"] == arms[r["arm"]] and r["config_hash"] == config_hash(refine.config(r["arm"], r["seed"]))
