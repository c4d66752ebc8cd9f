"""The recipe studies' engine (i2vlib.records.study) and the studies declared on it (i2vlib.studies)."""

from pathlib import Path

import numpy as np
import pytest

from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.errors import I2VError
from i2vlib.evaluate.measures import texture_at
from i2vlib.models import get_method
from i2vlib.records import make_zoo
from i2vlib.records.study import Arm, Study, record, results
from i2vlib.studies import upsample


def tiny_study(tmp_path: Path, calls: list, **options) -> Study:
    def config(arm, seed):
        return get_method("affinegan").default_config("smoke", **{**ARMS[arm].change, "seed": seed, "steps": 4})

    def score(ckpt):
        calls.append(int(ckpt["step"]))
        return {"step": int(ckpt["step"])}

    ARMS = {"a": Arm({}, "the smoke recipe"), "b": Arm({"upsample": "bilinear"}, "resize, then convolve")}
    return Study(name="tiny", folder=tmp_path / "recorded", arms=ARMS, seeds=(0,), config=config, score=score,
                 snapshots=(2,), root=str(tmp_path / "runs"), **options)


@pytest.mark.slow
def test_a_study_records_each_run_once_and_scores_each_step_once(tmp_path, one_thread):
    calls = []
    study = tiny_study(tmp_path, calls)
    out = record(study, workers=1, progress=False)
    assert set(out) == {"a/0", "b/0"} and all(r["finished"] for r in out.values())
    assert all(set(r["curve"]) == {"2", "4"} for r in out.values()) and sorted(calls) == [2, 2, 4, 4]
    record(study, workers=1, progress=False)                  # nothing trains again, nothing is scored again
    assert len(calls) == 4 and results(study) == out


@pytest.mark.slow
def test_recording_a_seed_adds_one_file_and_rewrites_none(tmp_path, one_thread):
    study = tiny_study(tmp_path, [])
    record(study, arms=["a"], workers=1, progress=False)
    first = {f.name: f.stat().st_mtime_ns for f in study.folder.glob("*.json")}
    assert len(first) == 1 and next(iter(first)).endswith(".tiny.a@1.json")
    record(study, arms=["b"], workers=1, progress=False)
    now = {f.name: f.stat().st_mtime_ns for f in study.folder.glob("*.json")}
    assert len(now) == 2 and all(now[name] == t for name, t in first.items())


def test_a_changed_recipe_replaces_its_arms_record(tmp_path, one_thread):
    study = tiny_study(tmp_path, [])
    old = record(study, arms=["a"], workers=1, progress=False)["a/0"]
    config = study.config
    changed = Study(**{**study.__dict__, "config": lambda arm, seed: {**config(arm, seed), "steps": 2}})
    new = record(changed, arms=["a"], workers=1, progress=False)["a/0"]
    assert new["config_hash"] != old["config_hash"] and set(new["curve"]) == {"2"}
    assert len(list(study.folder.glob("*.json"))) == 1 and results(changed) == {"a/0": new}


def test_every_recorded_study_run_is_what_its_study_trains_now():
    """Every record in the studies' folder belongs to a declared arm and seed of its study, under the config the code
    builds for it now (no stale or orphaned records)."""
    import importlib

    from i2vlib.config import config_hash
    from i2vlib.records import store
    from i2vlib.records.study import key
    from i2vlib.studies import RECORDED

    studies = {n: importlib.import_module(f"i2vlib.studies.{n}").STUDY
               for n in ("capacity", "speckle", "refine", "eq5", "upsample")}
    book = store.read(RECORDED)
    assert book
    for k, rec in book.items():
        study = studies[k.partition("/")[2].split(".")[0]]
        arm, seed = rec["value"]["arm"], rec["value"]["seed"]
        cfg = study.config(arm, seed)
        assert k == key(study, arm, cfg) and rec["value"]["config_hash"] == config_hash(cfg), k
    assert sum(len(results(s)) for s in studies.values()) == len(book)


def test_a_record_keeps_the_studys_own_fields(tmp_path, one_thread):
    study = tiny_study(tmp_path, [], fields=lambda arm, cfg: {"about": study.arms[arm].about, "steps": cfg["steps"]})
    out = record(study, arms=["a"], workers=1, progress=False)
    assert out["a/0"]["about"] == "the smoke recipe" and out["a/0"]["steps"] == 4


def test_a_study_on_the_zoo_reads_the_zoos_file_of_a_config_as_its_finished_run(tmp_path, one_thread, monkeypatch):
    import shutil

    import i2vlib.records.study as engine

    first = tiny_study(tmp_path, [])
    trained = record(first, arms=["a"], workers=1, progress=False)["a/0"]
    shipped = tmp_path / "zoo-a.pt"      # stands for the zoo's file of the arm's config
    shutil.copy(engine.run_dir(first.config("a", 0), first.where("a")) / "checkpoint.pt", shipped)
    monkeypatch.setattr(engine, "locate", lambda cfg, where, zoo: shipped if zoo else engine.run_dir(cfg, where))
    calls = []
    other = tmp_path / "other"
    other.mkdir()
    study = tiny_study(other, calls, use_zoo=True)                   # no run of its own under its root
    out = record(study, arms=["a"], train=False, progress=False)
    assert out["a/0"]["finished"] and set(out["a/0"]["curve"]) == {"4"} and calls == [4]
    assert out["a/0"]["config_hash"] == trained["config_hash"] and out["a/0"]["seconds"] is None
    assert record(tiny_study(other, [], use_zoo=False), arms=["a"], train=False, progress=False) == out   # not read


def test_a_study_refuses_an_unknown_arm(tmp_path):
    with pytest.raises(I2VError, match="tiny arm"):
        record(tiny_study(tmp_path, []), arms=["c"], train=False)


def fake(arm, seed, error, strength=0.95, acd=1.5):
    scores = {"texture_error": error, "texture": 1 + error, "strength": strength, "acd_i_ratio": acd,
              "rho_linear": 0.9, "texture_at": {"0": 1 + error, "0.5": 1.0, "1": 1.0}}
    return {f"{arm}/{seed}": {"arm": arm, "seed": seed, "curve": {str(upsample.STEPS): scores}}}


def test_the_upsampling_rule_adopts_the_clean_arm_that_costs_nothing():
    records = {}
    for s, (t, n, b) in enumerate([(0.9, 0.10, 0.2), (0.8, 0.12, 0.25), (0.85, 0.11, 0.22)]):
        records.update({**fake("transposed", s, t), **fake("nearest", s, n), **fake("bilinear", s, b)})
    assert upsample.decide(records)["adopted"] == "nearest"
    weak = {k: v for k, v in records.items() if not k.startswith("nearest")}
    for s in range(3):                                      # the cleaner arm now loses a third of the strength
        weak.update(fake("nearest", s, 0.05, strength=0.6))
    decision = upsample.decide(weak)
    assert decision["adopted"] == "bilinear" and decision["arms"]["nearest"]["costs_allowed"] is False


def test_the_upsampling_rule_needs_two_runs_of_the_base():
    with pytest.raises(I2VError, match="two finished runs"):
        upsample.decide(fake("transposed", 0, 0.5))


def test_the_zoo_ships_the_last_step_that_meets_its_targets():
    assert make_zoo.meets({"texture_error": 0.2, "strength": 0.95, "acd_i_ratio": 1.5})
    assert not make_zoo.meets({"texture_error": 0.4, "strength": 0.95, "acd_i_ratio": 1.5})
    assert not make_zoo.meets({"texture_error": 0.2, "strength": None, "acd_i_ratio": 1.5})
    good, no_identity, nothing = ({"texture_error": t, "strength": s, "acd_i_ratio": a}
                                  for t, s, a in ((0.2, 0.95, 1.5), (0.2, 0.95, 2.5), (0.8, 0.5, 3.0)))
    assert make_zoo.choose({"5000": good, "10000": good, "20000": no_identity}) == 10000
    # none meets every bound: the last of those that miss the fewest, not the last step
    worse = {**no_identity, "texture_error": 0.8}
    assert make_zoo.choose({"5000": no_identity, "10000": no_identity, "20000": worse}) == 10000
    assert make_zoo.choose({"1000": nothing, "2000": nothing}) == 2000
    assert make_zoo.failed(no_identity) == ["acd_i_ratio"] and make_zoo.failed(good) == []


def test_the_zoo_never_ships_a_step_that_has_not_learned_its_expressions():
    # the second run of affinegan-all: no step met strength or ACD-I; step 2000 missed only those two, but it had
    # not learned (validation strength 0.06), so the last step ships
    run = {"1000": (0.19, 0.04, 6.17), "2000": (0.24, 0.06, 6.42), "5000": (0.32, 0.17, 3.44),
           "10000": (0.44, 0.20, 2.94), "20000": (0.57, 0.59, 2.48)}
    validation = {s: {"texture_error": t, "strength": a, "acd_i_ratio": c} for s, (t, a, c) in run.items()}
    assert make_zoo.choose(validation) == 20000
    flat = {s: {**v, "strength": 0.1} for s, v in validation.items()}        # none has learned: every step counts
    assert make_zoo.choose(flat) == 2000


def test_every_shipped_selection_is_what_the_rule_chooses_now():
    from i2vlib import zoo

    chosen = {n: zoo.record(n)["selection"] for n in zoo.names() if "selection" in zoo.record(n)}
    assert chosen
    for name, selection in chosen.items():
        assert make_zoo.choose(selection["validation"]) == selection["chosen"], name


class Copy:
    method, expressions, image_size = "copy", ("happy",), 64

    def generate(self, image, intensities, expression=None):
        return np.repeat(np.asarray(image)[None], len(intensities), axis=0)


def test_texture_at_zero_is_one_for_a_model_that_returns_its_input():
    clips = [SyntheticBenchmark(64).video("val", i, expression="happy", n_frames=8) for i in range(2)]
    t = texture_at(Copy(), clips)
    assert set(t) == {"0", "0.5", "1"} and t["0"] == pytest.approx(1.0)
