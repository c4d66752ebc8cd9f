"""The model zoo (i2vlib.zoo): shipped entries match the code and their recorded scores; export,
lookup by config, ``zoo:NAME`` everywhere a model is named; training snapshots; the discriminator
readings the capacity study compares."""

import json

import numpy as np
import pytest
import torch

import i2vlib
from i2vlib import I2VError, zoo
from i2vlib.checkpoint import read_checkpoint
from i2vlib.cli import main
from i2vlib.config import config_hash
from i2vlib.evaluate.zoo_scores import measure
from i2vlib.evaluate.zoo_scores import targets as zoo_targets
from i2vlib.models import full_config, get_method
from i2vlib.nn import PatchDiscriminator, n_params, receptive_field
from i2vlib.records.make_zoo import export
from i2vlib.records.store import thin_losses
from i2vlib.runs import cached_run, read_losses, zoo_file
from i2vlib.train import train

SHIPPED = zoo.names()
# Re-scoring a shipped model on another machine may round differently in the last bits of a
# convolution; a rank correlation or a ratio moves by far less than this.
TOLERANCE = {"abs": 0.02, "rel": 0.02}


# ---------------------------------------------------------------------------------------------
# The shipped entries
# ---------------------------------------------------------------------------------------------
def test_the_zoo_fits_its_size_budget_and_ships_fp16_generators_only():
    total = sum(zoo.path(n).stat().st_size for n in SHIPPED)
    assert total <= 80 * 10 ** 6   # the package's budget for shipped weights: seven experts, the unified model, ...
    for name in SHIPPED:
        ckpt = read_checkpoint(zoo.path(name))
        assert set(ckpt["weights"]) == {"generator"}
        assert all(t.dtype == torch.float16 for t in ckpt["weights"]["generator"].values() if t.is_floating_point())
        assert "optimizers" not in ckpt


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_entry_is_what_the_current_code_would_train(name):
    shipped = read_checkpoint(zoo.path(name))
    assert config_hash(full_config(shipped["config"])) == config_hash(zoo.entry_config(name))
    rec = zoo.record(name)
    chosen = rec["selection"]["chosen"] if "selection" in rec else zoo.entry_config(name)["steps"]
    assert shipped["step"] == chosen      # the last step, or the snapshot the selection rule chose (make_zoo.SELECT)
    assert set(rec["curve"]) >= {str(shipped["step"])} and rec["curve"][str(shipped["step"])] == rec["scores"]
    assert rec["losses"]["step"][-1] == zoo.entry_config(name)["steps"]


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.slow
@pytest.mark.xdist_group("zoo-scores")    # on one worker, in turn: entries of the same expressions share test videos
def test_a_shipped_entry_reproduces_its_recorded_scores(name, one_thread):
    recorded = zoo.record(name)["scores"]
    again = measure(i2vlib.load(f"zoo:{name}"))
    assert set(again) == set(recorded)
    for key, value in _flat(recorded).items():
        now = _flat(again)[key]
        if value is None or now is None:
            assert value is None and now is None, key
        else:
            assert now == pytest.approx(value, abs=TOLERANCE["abs"], rel=TOLERANCE["rel"]), key


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


@pytest.mark.parametrize("name", list(zoo.ENTRIES))
def test_every_entry_states_what_it_was_trained_on(name):
    """The book's own benchmark, the one its config names, at its size and number of videos: never a photograph."""
    cfg, said = zoo.entry_config(name), zoo.ENTRIES[name]["trained_on"]
    kind = "pose" if cfg["method"] == "frgan-pose" else "face"
    assert cfg["data"] == "synthetic" and f"synthetic {kind} benchmark only" in said and "never a photograph" in said
    assert f"{cfg['image_size']} px" in said.replace("-px", " px")
    assert f"{cfg['videos']} training videos per {'action' if kind == 'pose' else 'expression'}" in said
    if name in SHIPPED:
        assert said in next(line for line in zoo.listing() if line.startswith(f"zoo:{name} "))


def test_every_recipe_builds_a_valid_config():
    for name, entry in zoo.ENTRIES.items():
        cfg = zoo.entry_config(name)
        assert cfg["method"] == entry["method"] and cfg["profile"] == "book"
        assert set(zoo.CURVE_STEPS) & set(range(1, cfg["steps"])), name   # a learning curve has inner points


def test_unknown_or_unshipped_names_are_one_line_errors(monkeypatch):
    with pytest.raises(I2VError, match="unknown zoo entry 'nope'"):
        i2vlib.load("zoo:nope")
    monkeypatch.setitem(zoo.ENTRIES, "fan-unshipped", {"method": "fan", "config": {}, "about": "test"})
    with pytest.raises(I2VError, match="not shipped.*make zoo"):
        zoo.path("zoo:fan-unshipped")


# ---------------------------------------------------------------------------------------------
# Export, lookup and the chapters' load-or-train, on a smoke run
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    torch.set_num_threads(1)
    cfg = get_method("affinegan").default_config("smoke", steps=6)
    out = tmp_path_factory.mktemp("zoo") / "run"
    train(cfg, out, progress=False, snapshots=[2, 4])
    return cfg, out


@pytest.mark.slow
def test_snapshots_keep_the_generator_at_the_asked_steps(smoke_run, tmp_path):
    cfg, out = smoke_run
    snaps = sorted(p.name for p in (out / "snapshots").iterdir())
    assert snaps == ["step-2.pt", "step-4.pt"]
    with pytest.raises(I2VError, match="beyond the run's 6 steps"):
        train(cfg, tmp_path / "late", progress=False, snapshots=[2, 99])
    assert not (tmp_path / "late").exists()
    early, late = read_checkpoint(out / "snapshots" / "step-2.pt"), read_checkpoint(out)
    assert early["step"] == 2 and set(early["weights"]) == {"generator"} and "optimizers" not in early
    w2 = early["weights"]["generator"]["decoder.out.1.weight"]
    assert not torch.equal(w2, late["weights"]["generator"]["decoder.out.1.weight"])
    assert i2vlib.load(out / "snapshots" / "step-4.pt").step == 4


@pytest.mark.slow
def test_a_resumed_run_takes_the_same_snapshots(smoke_run, tmp_path, monkeypatch):
    cfg, out = smoke_run
    trainer, calls = get_method("affinegan").Trainer, []
    real_step = trainer.step

    def interrupted(self, batch, autocast=None):
        if len(calls) == 4:
            raise KeyboardInterrupt       # during step 5: after the snapshot of step 4, before the end
        calls.append(1)
        return real_step(self, batch)

    monkeypatch.setattr(trainer, "step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "half", progress=False, snapshots=[2, 4])
    monkeypatch.setattr(trainer, "step", real_step)
    assert read_checkpoint(tmp_path / "half")["step"] == 4         # a snapshot step is a checkpoint too
    train(cfg, tmp_path / "half", resume=True, progress=False, snapshots=[2, 4])
    for step in (2, 4):
        a = read_checkpoint(tmp_path / "half" / "snapshots" / f"step-{step}.pt")["weights"]["generator"]
        b = read_checkpoint(out / "snapshots" / f"step-{step}.pt")["weights"]["generator"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert i2vlib.load(tmp_path / "half").step == 6


@pytest.fixture(scope="module")
def exported(smoke_run, tmp_path_factory):
    cfg, out = smoke_run
    dest = tmp_path_factory.mktemp("shipped")
    return cfg, export(out, "affinegan-smoke", dest, progress=False)


@pytest.mark.slow
def test_export_ships_fp16_weights_with_the_loss_log_the_curve_and_the_scores(exported, smoke_run):
    cfg, file = exported
    ckpt = read_checkpoint(file)
    assert ckpt["config"] == json.loads(json.dumps(cfg)) and ckpt["step"] == 6
    rec = ckpt["zoo"]
    assert list(rec["curve"]) == ["2", "4", "6"] and rec["curve"]["6"] == rec["scores"]
    s = rec["scores"]
    assert set(s["inferred_intensity_rho"]) == {"linear", "incomplete", "periodic", "unordered"}
    assert s["acd_i_reference"] > 0 and s["progress_rho"] is None or -1 <= s["progress_rho"] <= 1
    assert s["acd_i_ratio"] is None or s["acd_i_ratio"] == pytest.approx(s["acd_i"] / s["acd_i_reference"], rel=1e-4)
    log = read_losses(file)
    assert [r["step"] for r in log] == [6]                         # 6 steps in one window of 50
    full = read_losses(smoke_run[1])
    assert log[0]["r1"] == pytest.approx(np.mean([r["r1"] for r in full]), rel=1e-4)
    model = i2vlib.load(file)
    assert model.generate(np.zeros((64, 64, 3), np.uint8), [0.0, 1.0]).shape == (2, 64, 64, 3)


def test_thin_losses_averages_windows():
    rows = [{"step": s, "seconds": s / 10, "a": float(s)} for s in range(1, 8)]
    assert thin_losses(rows, window=3) == {"step": [3, 6, 7], "a": [2.0, 5.0, 7.0]}


@pytest.fixture
def shipped_smoke(exported, monkeypatch):
    cfg, file = exported
    monkeypatch.setattr(zoo, "HERE", file.parent)
    monkeypatch.setitem(zoo.ENTRIES, "affinegan-smoke",
                        {"method": "affinegan", "config": {}, "about": "test", "trained_on": zoo.FACES})
    monkeypatch.setattr(zoo, "entry_config", lambda name: cfg if name == "affinegan-smoke" else None)
    monkeypatch.delenv("I2V_RETRAIN", raising=False)
    return cfg, file


@pytest.mark.slow
def test_a_chapter_gets_the_zoo_model_for_its_exact_config_and_trains_otherwise(shipped_smoke, tmp_path,
                                                                                 monkeypatch):
    cfg, file = shipped_smoke
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))            # a run cache without this config
    assert zoo_file(cfg) == file
    assert cached_run(cfg, progress=False) == file                 # no training: the zoo's file
    assert zoo_file({**cfg, "seed": 1}) is None
    monkeypatch.setenv("I2V_RETRAIN", "1")                         # make book RETRAIN=1
    assert zoo_file(cfg) is None
    run = cached_run(cfg, progress=False)
    assert run.is_dir() and read_checkpoint(run)["step"] == 6


@pytest.mark.slow
def test_zoo_names_work_in_load_generate_and_evaluate(shipped_smoke, tmp_path, capsys):
    assert i2vlib.load("zoo:affinegan-smoke").step == 6
    assert main(["generate", "zoo:affinegan-smoke", "synthetic:1", "--intensities", "0", "1",
                 "--out", str(tmp_path / "smile.gif")]) == 0
    assert (tmp_path / "smile.gif").is_file()
    assert main(["evaluate", "zoo:affinegan-smoke", "--videos", "1", "--out", str(tmp_path / "m.json")]) == 0
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["scores"]["inferred_intensity_rho"] is not None and m["reference"]["inferred_intensity_rho"] is None
    assert main(["generate", "zoo:nope", "synthetic:1", "--out", str(tmp_path / "x.gif")]) == 2
    assert "unknown zoo entry 'nope'" in capsys.readouterr().err and not (tmp_path / "x.gif").exists()
    assert main(["zoo"]) == 0
    listed = capsys.readouterr().out
    assert "zoo:affinegan-smoke" in listed and "6 steps, happy" in listed
    assert main(["zoo", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["affinegan-smoke"]
    assert shown["steps"] == 6 and shown["scores"] == zoo.record("affinegan-smoke")["scores"]
    assert shown["trained_on"] == zoo.FACES


# ---------------------------------------------------------------------------------------------
# The two discriminator readings
# ---------------------------------------------------------------------------------------------
def test_the_two_discriminator_readings():
    papers, public = PatchDiscriminator(6, 64, layers=3), PatchDiscriminator(6, 64, layers=5)
    assert n_params(papers) == 139_713 and receptive_field(papers) == 22
    assert n_params(public) == 2_769_601 and receptive_field(public) == 70   # pix2pix n_layers=3
    x = torch.zeros(2, 6, 64, 64)
    assert papers(x).shape == (2, 1, 15, 15) and public(x).shape == (2, 1, 6, 6)
    with pytest.raises(I2VError, match="3 or 5 layers"):
        PatchDiscriminator(6, 64, layers=4)


@pytest.mark.parametrize("method", ["affinegan", "fan", "convlstm"])
def test_every_method_trains_with_either_discriminator(method, tmp_path):
    with pytest.raises(I2VError, match="d_layers=4"):
        get_method(method).default_config("smoke", d_layers=4)
    cfg = get_method(method).default_config("smoke", d_layers=5, steps=1)
    tr = get_method(method).Trainer(cfg)
    assert receptive_field(tr.nets["d_global"]) == 70
    info = train(cfg, tmp_path / "run", progress=False)
    assert info["step"] == 1


def test_old_configs_keep_the_papers_discriminator():
    old = get_method("fan").default_config("smoke")
    del old["d_layers"]
    assert full_config(old)["d_layers"] == 3


# ---------------------------------------------------------------------------------------------
# The capacity study's records
# ---------------------------------------------------------------------------------------------
def test_every_recorded_study_arm_is_what_the_current_code_would_train():
    from i2vlib.records.study import results
    from i2vlib.studies import capacity

    for name, arm in results(capacity.STUDY).items():
        assert name == f"{arm['arm']}/{arm['seed']}" and arm["about"] == capacity.ARMS[arm["arm"]].about, name
        assert arm["config_hash"] == config_hash(capacity.config(arm["arm"], arm["seed"])), name
        assert config_hash(full_config(arm["config"])) == arm["config_hash"], name
        steps = sorted(int(s) for s in arm["curve"])
        assert steps and steps[-1] <= arm["config"]["steps"], name
        assert (steps[-1] == arm["config"]["steps"]) == arm["finished"], name
        assert set(arm["curve"][str(steps[-1])]) >= {"strength_ratio", "acd_i_ratio", "psnr"}, name


def test_the_zoo_recipes_are_the_study_arms_they_were_chosen_from():
    from i2vlib.studies import capacity, speckle

    arms = {config_hash(capacity.config(n)) for n in capacity.ARMS}
    assert config_hash(zoo.entry_config("fan-happy")) in arms
    # AffineGAN's: the capacity study's 70x70-PatchGAN arm with what the speckle study adopted (its moving average)
    arm = capacity.ARMS["affinegan-happy-d5"].change
    assert zoo.entry_config("affinegan-happy") == get_method("affinegan").default_config(
        "book", **arm, **speckle.adopted(), expressions=["happy"])


# ---------------------------------------------------------------------------------------------
# FRGAN's entries: each stage its own entry, scored on its paper's protocol
# ---------------------------------------------------------------------------------------------
def test_frgans_full_models_stand_on_their_forecast_entries():
    for full, forecast in (("frgan-faces", "frgan-faces-forecast"), ("frgan-pose", "frgan-pose-forecast")):
        cfg = zoo.entry_config(full)
        assert cfg["stage"] == "refine" and zoo.entry_config(forecast)["stage"] == "forecast"
        assert config_hash(full_config(cfg["forecast"])) == config_hash(zoo.entry_config(forecast))
        smoke = zoo.recipe(full, "smoke")                 # another profile: the same stage on its own G_M
        assert smoke["stage"] == "refine" and smoke["profile"] == "smoke"
        assert config_hash(full_config(smoke["forecast"])) == config_hash(zoo.recipe(forecast, "smoke"))
    assert len(zoo.entry_config("frgan-faces")["expressions"]) == 7


@pytest.fixture(scope="module")
def frgan_smoke(tmp_path_factory):
    """A smoke FRGAN of two expressions and a smoke pose FRGAN, both stages each."""
    root = tmp_path_factory.mktemp("frgan")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    faces = get_method("frgan").default_config("smoke", stage="refine", steps=2, expressions=["happy", "anger"],
                                               forecast={"steps": 2, "expressions": ["happy", "anger"]})
    pose = get_method("frgan-pose").default_config("smoke", stage="refine", steps=2, forecast={"steps": 2})
    from i2vlib.runs import cached_runs, load
    out = {name: load(run) for name, run in zip(("faces", "pose"), cached_runs([faces, pose], root, device="cpu",
                                                                               workers=1, progress=False))}
    torch.set_num_threads(before)
    return out


@pytest.mark.slow
def test_an_frgan_face_model_is_scored_on_table_1s_protocol(frgan_smoke):
    s = measure(frgan_smoke["faces"], videos=1, frames=4)
    assert set(s["per_expression"]) == {"happy", "anger"}
    assert s["acd_i_reference"] > 0                      # the truth's faces are always measured
    # a two-step model's frames may fool the instrument in every case: then no ACD-I, and no ratio
    assert s["acd_i_ratio"] == (None if s["acd_i"] is None else pytest.approx(s["acd_i"] / s["acd_i_reference"],
                                                                                rel=1e-4))
    assert s["refine_psnr_cost"] == pytest.approx(s["forecast"]["psnr"] - s["psnr"], abs=1e-4)
    assert s["refine_colour_shift"] == pytest.approx(s["colour_shift"] - s["forecast"]["colour_shift"], abs=1e-4)
    assert "strength_ratio" in s and set(s["strength_ratio_per_expression"]) == {"happy", "anger"}
    rows = {r["score"]: r for r in zoo_targets(s, ["happy", "anger"], "frgan")}
    assert rows["acd_i_ratio"]["target"] == "<= 1.69" and rows["expression_accuracy"]["target"] == ">= 0.9"
    assert {"refine_psnr_cost", "refine_colour_shift", "texture", "strength_ratio"} <= set(rows)
    assert len([r for r in zoo_targets(s, ["happy", "anger"], "frgan") if r["score"] == "acd_i_ratio"]) == 1


@pytest.mark.slow
def test_an_frgan_pose_model_is_scored_on_the_pose_protocol(frgan_smoke):
    s = measure(frgan_smoke["pose"])
    assert s["mse_lstm_over_hold"] == pytest.approx(s["mse_lstm"] / s["mse_hold"], rel=1e-4)
    assert len(s["psnr_lstm"]) == 8 and "expression_accuracy" not in s
    rows = {r["score"]: r for r in zoo_targets(s, ["happy"], "frgan-pose")}
    assert set(rows) == {"mse_lstm_over_hold", "change_ratio_gt"}
    assert rows["mse_lstm_over_hold"]["met"] == (s["mse_lstm_over_hold"] < 1)


def test_a_methods_own_target_replaces_the_general_one():
    scores = {"acd_i_ratio": 1.8, "expression_accuracy": 0.92}
    general = {r["score"]: r for r in zoo_targets(scores, ["happy", "anger"], "affinegan")}
    own = {r["score"]: r for r in zoo_targets(scores, ["happy", "anger"], "frgan")}
    assert general["acd_i_ratio"]["met"] and not own["acd_i_ratio"]["met"]           # <= 2, but not <= 1.69
    assert not general["expression_accuracy"]["met"] and own["expression_accuracy"]["met"]   # >= 0.95 / >= 0.90


@pytest.mark.parametrize("curve, flat", [
    ({"1000": {"psnr": 20.0, "acd_i_ratio": 2.0}, "5000": {"psnr": 22.0, "acd_i_ratio": 1.9}}, False),   # PSNR +2 dB
    ({"1000": {"psnr": 20.0, "acd_i_ratio": 2.0}, "5000": {"psnr": 21.0, "acd_i_ratio": 1.5},
      "10000": {"psnr": 21.1, "acd_i_ratio": 1.48}}, True),                                            # the last two
    ({"1000": {"psnr": 20.0, "acd_i_ratio": 2.0}, "2000": {"psnr": 20.1, "acd_i_ratio": 1.7}}, False),   # ACD-I -15 %
    ({"2000": {"psnr": 20.0, "acd_i_ratio": 2.0}}, None),                                              # one point
])
def test_the_plateau_rule_reads_the_last_two_points_of_a_curve(curve, flat):
    from i2vlib.evaluate.zoo_scores import plateau

    assert plateau(curve, "frgan")["flat"] is flat
