"""Recorded measurements (load-or-measure) and the ablation chapters' seeded comparisons."""

import json
import sys

import numpy as np
import pytest

from i2vlib import claims
from i2vlib.claims import measurement
from i2vlib.config import config_hash
from i2vlib.errors import I2VError
from i2vlib.models import full_config
from i2vlib.protocol import tables
from i2vlib.claims.declaration import protocol_id
from i2vlib.records import ablations, schedule, store
from i2vlib.zoo import recipe


def test_encode_decode_round_trip():
    strip = (np.arange(3 * 8 * 8 * 3) % 251).astype(np.uint8).reshape(3, 8, 8, 3)
    value = {"strip": strip, "psnr": np.float32(21.123456789), "none": float("nan"), "n": np.int64(3),
             "curve": np.array([0.5, 1.0]), "nested": {"rho": 0.25, "list": [1, 2.0]}}
    text = json.dumps(store.encode(value), allow_nan=False)
    back = store.decode(json.loads(text))
    assert back["strip"].dtype == np.uint8 and np.array_equal(back["strip"], strip)
    assert back["psnr"] == pytest.approx(21.1235, abs=1e-4) and back["none"] is None and back["n"] == 3
    assert back["curve"] == [0.5, 1.0] and back["nested"] == {"rho": 0.25, "list": [1, 2.0]}


def test_the_key_names_config_measure_version_and_arguments():
    cfg = recipe("affinegan-happy", "smoke")
    k = store.key(cfg, "arm", videos=2)
    assert k.startswith(f"affinegan-{config_hash(full_config(cfg))}/arm@{store.MEASURES['arm'][0]}")
    assert k != store.key(cfg, "arm", videos=3) != store.key(dict(cfg, seed=1), "arm", videos=2)
    with pytest.raises(I2VError, match="unknown measure"):
        store.key(cfg, "nonsense")


def test_the_records_are_parsed_once_per_version_of_the_folder(tmp_path, monkeypatch):
    book = tmp_path / "recorded"
    store.write_record(book, "a/arm@1", {"value": 1})
    parsed = []
    monkeypatch.setattr(store.json, "loads", lambda text: parsed.append(text) or json.JSONDecoder().decode(text))
    first = store.read(book)
    first["b"] = {"value": 2}                              # the caller's dict: the next read does not see it
    stamp = {"protocol": protocol_id()}                     # every record is stamped with the protocol it was made under
    assert store.read(book) == {"a/arm@1": {"value": 1, **stamp}} and len(parsed) == 1
    store.write_record(book, "c/arm@1", {"value": 3})    # a new state of the folder is parsed again
    assert set(store.read(book)) == {"a/arm@1", "c/arm@1"} and len(parsed) == 3
    assert store.read(tmp_path / "none") == {}


def test_a_record_is_one_file_and_its_pictures_png_files_beside_it(tmp_path):
    """Recording a seed adds its own files and rewrites none; the pictures come back as they went in."""
    book = tmp_path / "recorded"
    strip = np.arange(2 * 4 * 6 * 3, dtype=np.uint8).reshape(2, 4, 6, 3)
    k1, k2 = 'affinegan-0123456789ab/arm@1?{"videos":2}', "fan-ba9876543210/arm@1"
    store.write_record(book, k1, {"config": {"seed": 0}, "value": store.encode({"psnr": 20.5, "strip": strip})})
    before = {f.name: f.stat().st_mtime_ns for f in book.iterdir()}
    store.write_record(book, k2, {"config": {"seed": 1}, "value": {"psnr": float("nan")}})
    after = {f.name: f.stat().st_mtime_ns for f in book.iterdir()}
    assert {n: after[n] for n in before} == before and len(after) == len(before) + 1
    assert sorted(after) == sorted([f"{store.file_name(k1)}.json", f"{store.file_name(k1)}.0.png",
                                    f"{store.file_name(k2)}.json"])
    assert store.file_name(k2) == "fan-ba9876543210.arm@1" and "?" not in store.file_name(k1)
    read = store.read(book)
    assert np.array_equal(store.decode(read[k1]["value"])["strip"], strip) and read[k2]["value"]["psnr"] is None
    text = (book / f"{store.file_name(k1)}.json").read_text()
    assert '"png_file"' in text and '"png":' not in text                  # the JSON holds no picture itself


def _counting(monkeypatch, fail_on=None):
    """Replace the arm measure by a cheap one that counts its calls (and fails on the config seeded ``fail_on``)."""
    calls = []

    def fake(model, **kwargs):
        calls.append(model.config["seed"])
        if model.config["seed"] == fail_on:
            raise KeyboardInterrupt
        return {"seed": model.config["seed"], "strip": np.zeros((1, 4, 4, 3), np.uint8), **kwargs}

    monkeypatch.setitem(store.MEASURES, "arm", (store.MEASURES["arm"][0], fake))
    return calls


def _jobs(configs, pictured=(), **options):
    return [(c, "arm", options, store.key(c, "arm", **options) in pictured) for c in configs]


@pytest.mark.slow
def test_a_recording_measures_once_and_load_or_measure_reads_it_after(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    configs = [recipe("affinegan-happy", "smoke", seed=s) for s in (0, 1)]
    book = tmp_path / "recorded"
    first = store.measured(configs, root=tmp_path / "runs", path=book, device="cpu", progress=False, videos=2)
    assert calls == [0, 1] and [v["seed"] for v in first] == [0, 1] and first[0]["videos"] == 2
    assert not book.exists()                                             # measured, not recorded
    done = store.record(_jobs(configs, **{"videos": 2}), root=tmp_path / "runs", path=book, progress=False,
                        engine="debug")
    saved = store.read(book)
    assert set(saved) == set(done) == {store.key(c, "arm", videos=2) for c in configs} and calls == [0, 1, 0, 1]
    assert all(saved[store.key(c, "arm", videos=2)]["config"]["seed"] == c["seed"] for c in configs)
    assert not any("devices" in saved[k] for k in saved)                  # trained on the CPU: one core's seconds
    trained = store.training(configs + [dict(configs[0], seed=7)], "arm", path=book, videos=2)
    assert trained[2] is None and all(t["seconds"] > 0 for t in trained[:2])   # how each run trained, where recorded
    assert trained[0]["losses"]["step"][-1] == configs[0]["steps"] and len(trained[0]["losses"]) > 2
    assert store.record(_jobs(configs, videos=2), path=book, progress=False, engine="debug") == []   # recorded: kept
    again = store.measured(configs, root=tmp_path / "elsewhere", path=book, device="cpu", progress=False, videos=2)
    assert calls == [0, 1, 0, 1] and not (tmp_path / "elsewhere").exists()     # read, not trained or measured
    assert again[1]["seed"] == 1 and again[0]["videos"] == 2
    monkeypatch.setenv("I2V_RETRAIN", "1")                                  # records ignored: measured afresh
    store.measured(configs[:1], root=tmp_path / "runs", path=book, device="cpu", progress=False, videos=2)
    assert calls == [0, 1, 0, 1, 0]


def test_a_record_of_a_run_trained_on_an_accelerator_names_it(tmp_path, monkeypatch):
    """Its seconds are not one core's: the record says where it trained, and the queue does not time CPU jobs by it."""
    _counting(monkeypatch)
    config = recipe("affinegan-happy", "smoke")
    store.record(_jobs([config]), root=tmp_path / "runs", path=tmp_path / "recorded", progress=False, engine="debug")
    (run,) = (tmp_path / "runs").iterdir()
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "devices": [["cuda:0", 0]]}))
    store._add(tmp_path / "recorded", "gpu", run, {})
    saved = store.read(tmp_path / "recorded")
    assert saved["gpu"]["devices"] == [["cuda:0", 0]] and "devices" not in saved[store.key(config, "arm")]
    assert schedule.step_seconds(config, {"gpu": saved["gpu"]}) == 1.0       # no CPU record: the default


@pytest.mark.slow
def test_a_record_no_chapter_pictures_keeps_its_numbers_only(tmp_path, monkeypatch):
    _counting(monkeypatch)
    configs = [recipe("affinegan-happy", "smoke", seed=s) for s in (0, 1)]
    book = tmp_path / "recorded"
    store.record(_jobs(configs, pictured={store.key(configs[0], "arm")}), root=tmp_path / "runs", path=book,
                 progress=False, engine="debug")
    saved = store.read(book)
    pictured, other = (saved[store.key(c, "arm")]["value"] for c in configs)
    assert "strip" in pictured and "strip" not in other and other["seed"] == configs[1]["seed"]
    assert "strip" not in store.measured(configs[1:], path=book, device="cpu", progress=False)[0]
    assert store.measured(configs[:1], path=book, device="cpu", progress=False)[0]["strip"].shape == (1, 4, 4, 3)


def test_the_recording_queue_never_trains_one_run_in_two_workers(tmp_path):
    arms = ablations.arm_configs("frgan", "smoke", ["forecast", "refine"], seeds=(0, 1))
    (forecast, _), (refine, other_seed) = arms["forecast"], arms["refine"]
    runs = schedule.unfinished_runs(refine, tmp_path)
    assert schedule.unfinished_runs(forecast, tmp_path) < runs and len(runs) == 2   # G_R's job trains its G_M first
    assert not runs & schedule.unfinished_runs(other_seed, tmp_path)               # another seed's: side by side


def test_the_chapters_picture_each_arm_s_first_seed_at_the_first_rung_and_fan_et_al_s_seed_grid():
    pictured = ablations.pictured_keys()

    def kept(paper, arm, seeds, multiple=1):
        options = ablations.measure_options(paper, "book")
        return [store.key(c, tables.MEASURE[paper], **options) in pictured
                for c in ablations.arm_configs(paper, "book", [arm], seeds=seeds, multiple=multiple)[arm]]

    for paper, arms in tables.ARMS.items():
        for arm in arms:
            (first, seeds), *larger = tables.LADDER[paper]
            assert kept(paper, arm, seeds, first)[0] and not any(kept(paper, arm, seeds[3:], first)), (paper, arm)
            assert not any(any(kept(paper, arm, s, m)) for m, s in larger), (paper, arm)
    assert all(kept("fan", "full", tables.SEEDS)) and all(kept("fan", "disordered", tables.SEEDS))
    assert kept("fan", "no_rt", tables.SEEDS) == [True, False, False]


def test_the_recording_command_queues_every_rung_of_every_paper_in_the_order_given():
    ladders = {paper: tables.LADDER[paper] for paper in ("frgan-pose", "fan")}
    jobs = ablations.jobs(ladders, arms=["no_feat", "full", "forecast"])       # fan's full, the poses' two
    options = ablations.measure_options("frgan-pose", "book")
    want = [c for m, seeds in ladders["frgan-pose"] for arm in ("no_feat", "forecast")
            for c in ablations.arm_configs("frgan-pose", "book", [arm], seeds, m)[arm]]
    assert [j[0] for j in jobs[:len(want)]] == want and {j[1] for j in jobs[:len(want)]} == {"pose"}
    assert all(j[2] == options for j in jobs[:len(want)]) and len(jobs) == len(want) + 8     # fan: 5 + 3 seeds
    first = [True] + [False] * 4                                          # each arm's first seed, first rung
    assert [j[3] for j in jobs[:len(want)]] == first * 2 + [False] * 6
    every = ablations.jobs({"frgan-pose": tables.LADDER["frgan-pose"]})       # and what the chapter pictures
    shown = [(c, {**options, **extra}) for c, extra in ablations.pictured("frgan-pose", "book")]
    assert [(j[0], j[2]) for j in every[-len(shown):]] == shown and all(j[3] for j in every[-len(shown):])


@pytest.mark.slow
def test_an_interrupted_recording_keeps_what_it_measured(tmp_path, monkeypatch):
    calls = _counting(monkeypatch, fail_on=1)
    configs = [recipe("affinegan-happy", "smoke", seed=s) for s in (0, 1)]
    book = tmp_path / "recorded"
    with pytest.raises(KeyboardInterrupt):
        store.record(_jobs(configs), root=tmp_path / "runs", path=book, progress=False, engine="debug")
    assert list(store.read(book)) == [store.key(configs[0], "arm")] and calls == [0, 1]
    calls = _counting(monkeypatch)
    assert store.record(_jobs(configs), root=tmp_path / "runs", path=book, progress=False, engine="debug") == \
        [store.key(configs[1], "arm")]                           # the one job left
    assert calls == [1] and len(store.read(book)) == 2


def test_arms_share_one_budget_and_differ_by_their_change_and_seed():
    from i2vlib.models import get_method

    for paper, arms in tables.ARMS.items():
        configs = ablations.arm_configs(paper, "book")
        budget = tables.BUDGET[paper]["book"]
        assert list(configs) == list(arms)
        own = tables.TABLES[paper][1] if paper in tables.TABLES else {}
        for arm, (method, change) in arms.items():
            runs = configs[arm]
            if arm in own:                     # a table's own method: its paper's arm, the same runs and records
                of = tables.TABLES[paper][0]
                assert runs == ablations.arm_configs(of, "book", [own[arm]])[own[arm]]
                continue
            assert [c["seed"] for c in runs] == list(tables.SEEDS)
            n_expr = len(runs[0]["expressions"])
            stage = {k: v for k, v in change.items() if k == "stage"}
            steps = budget.get("steps") or get_method(method).default_config("book", **stage)["steps"]
            longer = tables.OWN_BUDGET.get(paper, {}).get(arm, {}).get("book", 1)   # disclosed, in its table
            assert runs[0]["steps"] == steps * n_expr * longer             # same steps per expression
            assert all(c["method"] == method and all(c[k] == v for k, v in budget.items() if k not in ("steps", "weights"))
                       for c in runs)
            same = [a for a in arms if a not in own and arms[a][0] == method
                    and arms[a][1].get("stage") == change.get("stage")]
            base = configs[same[0]][0]
            differ = {k for k in runs[0] if runs[0][k] != base[k]} - {"steps", "weights"}
            implied = set()            # a design's own defaults (FGST's released code against the book's reading)
            if "design" in change:
                ours, theirs = (get_method(method).default_config("book", design=d) for d in (change["design"],
                                                                                                base["design"]))
                implied = {k for k in ours if ours[k] != theirs.get(k)}
            assert differ <= set(change) | implied, (paper, arm, differ)
            weights = {k for k in runs[0]["weights"] if runs[0]["weights"][k] != base["weights"].get(k)}
            assert weights <= set(change.get("weights", {})) or "weights" in implied, (paper, arm, weights)   # no loss weight but its own
            if change.get("stage") == "refine":     # G_R on the frozen G_M of the forecast arm, seed by seed
                assert [c["forecast"] for c in runs] == [full_config(c) for c in configs["forecast"]]
    assert ablations.arm_configs("affinegan", "book", steps=10)["mlp"][0]["steps"] == 10
    with pytest.raises(I2VError, match="unknown affinegan arm"):
        ablations.arm_configs("affinegan", "book", arms=["nonsense"])


def test_a_rung_multiplies_every_stages_steps_and_changes_nothing_else():
    for paper in tables.ARMS:
        one, four = ablations.arm_configs(paper, "book"), ablations.arm_configs(paper, "book", multiple=4)
        for arm in one:
            for a, b in zip(one[arm], four[arm]):
                assert b["steps"] == 4 * a["steps"] and {k for k in a if a[k] != b[k]} <= {"steps", "forecast"}
                if a.get("forecast"):                                    # G_R's G_M climbs with it
                    assert b["forecast"]["steps"] == 4 * a["forecast"]["steps"]
    for paper, rungs in tables.LADDER.items():
        multiples = [m for m, _ in rungs]
        assert multiples == sorted(multiples) and multiples[-1] >= 4 * multiples[0]      # the ladder spans 4x
        assert all(tuple(seeds[:len(tables.SEEDS)]) == tables.SEEDS for _, seeds in rungs)
        assert len(rungs[0][1]) >= 5                                     # five seeds at one rung


def test_a_chapter_shows_the_rungs_recorded_so_far(monkeypatch):
    arms = ["full", "mlp"]
    options = ablations.measure_options("affinegan", "book")

    def book(*rungs):
        return {store.key(c, "arm", **options): {} for m, seeds in rungs
                for runs in ablations.arm_configs("affinegan", "book", arms, seeds, m).values() for c in runs}

    monkeypatch.setattr(store, "read", lambda path=None: book((1, (0, 1, 2, 3)), (4, (0, 1, 2))))
    assert ablations.rungs("affinegan", "book", arms) == [(1, (0, 1, 2, 3)), (4, (0, 1, 2))]
    monkeypatch.setattr(store, "read", lambda path=None: book((1, (0, 1, 2, 4)), (4, (0, 1))))
    assert ablations.rungs("affinegan", "book", arms) == [(1, (0, 1, 2))]      # seeds as far as recorded; no 4x yet
    assert ablations.rungs("affinegan", "smoke", arms) == [(1, tables.SEEDS)]
    assert ablations.rungs("affinegan", "book", arms, steps=10) == [(1, tables.SEEDS)]
    monkeypatch.setenv("I2V_RETRAIN", "1")
    assert ablations.rungs("affinegan", "book", arms) == list(tables.LADDER["affinegan"])
    assert ablations.rung_label("affinegan", 4, (0, 1, 2)) == "4000 steps, 3 seeds"
    assert ablations.rung_label("affinegan-baselines", 4, (0, 1, 2)) == "4000 steps (fgst 64000), 3 seeds"
    assert ablations.rung_label("affinegan-baselines", 1, (0, 1), "smoke") == "6 steps, 2 seeds"
    assert ablations.rung_label("affinegan", 4, (0, 1, 2), missing=["mlp"]) == "4000 steps, 3 seeds, mlp not yet recorded"


def test_the_ladder_in_words_follows_its_definition(monkeypatch):
    """The chapters glue the ladder's design in words instead of typing its seed counts (ladder_words)."""
    for paper, ((_, first), (m, more)) in tables.LADDER.items():
        assert ablations.ladder_words(paper) == f"{len(first)} seeds per arm at the budget and {len(more)} at {m} times it"
    monkeypatch.setitem(tables.LADDER, "fan", ((1, (0, 1)), (2, (0,)), (8, (0, 1, 2))))
    assert ablations.ladder_words("fan") == "2 seeds per arm at the budget and 1 at 2 times it and 3 at 8 times it"


def test_a_partial_rung_holds_the_arms_recorded_at_it(monkeypatch):
    arms = ["full", "mlp", "convlstm"]
    options = ablations.measure_options("affinegan", "book")
    runs = [(1, arms, (0, 1, 2, 3, 4)), (4, ["full", "convlstm"], (0, 1, 2)), (4, ["mlp"], (0, 1))]
    book = {store.key(c, "arm", **options): {"value": {"psnr": 30.0 + m}} for m, names, seeds in runs
            for configs in ablations.arm_configs("affinegan", "book", names, seeds, m).values() for c in configs}
    monkeypatch.setattr(store, "read", lambda path=None: book)
    assert ablations.rungs("affinegan", "book", arms) == [(1, (0, 1, 2, 3, 4)), (4, (0, 1, 2))]
    assert ablations.rung_arms("affinegan", 4, (0, 1, 2), "book", arms) == ["full", "convlstm"]   # mlp lacks seed 2
    ladder = ablations.ladder("affinegan", "book", arms, device="cpu", progress=False)
    four = ladder[(4, (0, 1, 2))]
    assert ablations.rung_labels("affinegan", ladder, arms=arms) == ["1000 steps, 5 seeds",
                                                                     "4000 steps, 3 seeds, mlp not yet recorded"]
    monkeypatch.setenv("I2V_NO_TRAIN", "1")          # make book: an arm with no record at the first rung is named
    del book[store.key(ablations.arm_configs("affinegan", "book", ["mlp"], (0,))["mlp"][0], "arm", **options)]
    first = ablations.ladder("affinegan", "book", arms, progress=False)
    assert set(first[(1, (0, 1, 2, 3, 4))]) == {"full", "convlstm"}
    assert ablations.rung_labels("affinegan", first, arms=arms)[0] == "1000 steps, 5 seeds, mlp not yet recorded"
    assert set(four) == {"full", "convlstm"} and [r["psnr"] for r in four["full"]] == [34.0] * 3
    assert len(ladder[(1, (0, 1, 2, 3, 4))]["mlp"]) == 5
    missing = claims.untested(compare(four, {"eq5": "full", "mlp": "mlp"}, "psnr"))   # on mlp: not tested
    assert "mlp is not recorded" in missing.reason
    assert compare(four, {"a": "full", "b": "convlstm"}, "psnr") == {"a": [34.0] * 3, "b": [34.0] * 3}
    assert set(ablations.ladder("affinegan", "book", arms, progress=False, train=False)[(4, (0, 1, 2))]) == set(four)


def compare(runs, arms, *path):
    """A comparative claim's measurement from ``runs`` of AffineGAN's table (:func:`i2vlib.claims.measurement.
    measure`)."""
    return measurement.measure(measurement.compare("affinegan", arms, *path), runs, {})


def test_missing_seeds_become_not_tested():
    r = {"full": [{"x": {"y": 1.0}}, {"x": {"y": 2.0}}, {"x": {"y": 3.0}}],
         "mlp": [{"x": {"y": 1.0}}, {"x": None}, {"x": {"y": None}}]}
    assert compare(r, {"arm": "full", "baseline": "full"}, "x", "y") == {"arm": [1.0, 2.0, 3.0],
                                                                         "baseline": [1.0, 2.0, 3.0]}
    missing = claims.untested(compare(r, {"arm": "full", "baseline": "mlp"}, "x", "y"))
    assert isinstance(missing, claims.NotTested) and "seed(s) 1, 2" in missing.reason


@pytest.mark.slow
def test_a_smoke_comparison_measures_every_seed_of_every_arm(tmp_path, monkeypatch):
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))
    out = ablations.comparison("affinegan", "smoke", arms=["full", "convlstm"], device="cpu", progress=False)
    assert set(out) == {"full", "convlstm"} and all(len(v) == len(tables.SEEDS) for v in out.values())
    full = out["full"][0]
    assert full["strip"].shape == (5, 64, 64, 3) and full["strip"].dtype == np.uint8
    assert {"psnr", "acd_g", "landmark_curve", "inferred", "gradient_share", "mouth_sharpness"} <= set(full)
    assert len(full["landmark_curve"]) == 11 and 0 <= full["inferred"]["in_unit_range"] <= 1
    assert "inferred" not in out["convlstm"][0] and "psnr_at_0" not in out["convlstm"][0]   # a fixed-grid model


def test_shipped_records_are_current():
    """Every shipped record was measured from a config the code still builds, by the current version of
    its measure, and belongs to an arm of a round, a headline model or a pictured run of a chapter (no stale records);
    only the runs a chapter pictures carry pictures."""
    shipped = store.read()
    wanted, measures = set(), {}
    for paper in tables.ARMS:
        measure, options = tables.MEASURE[paper], ablations.measure_options(paper, "book")
        for round_, declared in tables.ROUNDS.items():                # every rung of every round
            for multiple, seeds in declared["rungs"]:
                for runs in ablations.arm_configs(paper, "book", seeds=seeds, multiple=multiple,
                                                  round=round_).values():
                    wanted |= {store.key(c, measure, **options) for c in runs}
                    measures.update({store.key(c, measure, **options): (measure, options) for c in runs})
        wanted |= {store.key(recipe(n), measure, **options) for n in tables.HEADLINES[paper]}
        measures.update({store.key(recipe(n), measure, **options): (measure, options)
                         for n in tables.HEADLINES[paper]})
        for config, extra in ablations.pictured(paper, "book"):
            wanted.add(store.key(config, measure, **options, **extra))
            measures[store.key(config, measure, **options, **extra)] = (measure, {**options, **extra})
        for config in [*ablations.chapter_runs("book").get(paper, []),      # shown beside the arms
                       *ablations.budget_checks("book").get(paper, {}).values(),   # the reason "budget"'s check
                       *(c for runs in ablations.departure_checks("book").get(paper, {}).values() for c in runs)]:
            wanted.add(store.key(config, measure, **options))
            measures[store.key(config, measure, **options)] = (measure, options)
    for k, rec in shipped.items():
        assert k in wanted, f"{k} is measured from no arm the chapters ask for"
        measure, options = measures[k]
        assert store.key(rec["config"], measure, **options) == k, k
        assert k in ablations.pictured_keys() or not store.holds_picture(rec["value"]), k


@pytest.mark.slow
def test_every_shipped_comparison_holds_every_seed_of_every_rung():
    """Each verdict is judged on the whole ladder (five seeds at the first rung, three at four times its budget):
    every arm of every chapter's comparison is recorded at each rung of :data:`~i2vlib.protocol.tables.LADDER`, but
    the arms :data:`~i2vlib.protocol.tables.PENDING` names (rebuilt, being recorded again), and only while they lack
    a seed."""
    missing, complete = [], []
    for paper in tables.ARMS:
        pending = tables.PENDING.get(paper, ())
        seeds = {arm: [(m, s) for m, arms in ablations.recorded_seeds(paper).items()
                       for s in dict(tables.LADDER[paper])[m] if s not in arms[arm]]
                 for arm in tables.ARMS[paper]}
        missing += [f"{paper} x{m}: {arm} seed {s}" for arm, gaps in seeds.items() if arm not in pending
                    for m, s in gaps]
        complete += [f"{paper}: {arm}" for arm in pending if not seeds[arm]]
    assert not missing, f"{len(missing)} runs not recorded: {', '.join(missing)}"
    assert not complete, f"recorded in full, yet still listed in tables.PENDING: {', '.join(complete)}"


@pytest.mark.slow
def test_a_smoke_frgan_comparison_trains_g_m_before_g_r_and_scores_retargeting(tmp_path, monkeypatch):
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))
    out = ablations.comparison("frgan", "smoke", arms=["forecast", "refine"], seeds=(0,), device="cpu", progress=False)
    forecast, refine = out["forecast"][0], out["refine"][0]
    options = ablations.measure_options("frgan", "smoke")
    for r in (forecast, refine):
        assert set(r["fitted"]) == set(r["oracle"]) >= {"acd_i", "acd_c", "mse", "psnr", "change_l1", "static_l1"}
        assert len(r["frame_l1"]) == options["targets"] * options["frames"]
        assert r["strip"].shape == (5, 64, 64, 3) and r["strip"].dtype == np.uint8
    assert 0 <= forecast["mask_iou"] <= 1 and 0 <= forecast["mask_mean"] <= 1
    assert forecast["mask_strip"].shape == (5, 64, 64, 3)
    assert refine["mask_iou"] is None and refine["mask_strip"] is None      # G_R's mask is spatio-temporal
    runs = sorted(p.name for p in (tmp_path / "_build" / "runs").iterdir())
    assert len(runs) == 2 and all(name.startswith("frgan-") for name in runs)   # G_M trained once, not twice


@pytest.mark.slow
def test_a_table_trains_its_baselines_and_reuses_its_papers_arms(tmp_path, monkeypatch):
    """The Baselines chapter's tables: a paper's method is its ablation arm (one record for both chapters); a
    fixed-clip baseline is measured on its own clip (AffineGAN's 9 frames: a landmark curve of 9 points) and, in
    FRGAN's Table 1, from the input frame alone."""
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))
    for table, (paper, own, _) in tables.TABLES.items():
        for name, arm in own.items():
            assert ablations.arm_configs(table, "book", [name])[name] == ablations.arm_configs(paper, "book", [arm])[arm]
    out = ablations.comparison("affinegan-baselines", "smoke", arms=["vgan"], seeds=(0,), device="cpu",
                               progress=False, workers=1)
    assert len(out["vgan"][0]["landmark_curve"]) == 9 and "psnr_at_0" not in out["vgan"][0]
    out = ablations.comparison("frgan-baselines", "smoke", arms=["mcnet"], seeds=(0,), device="cpu", progress=False,
                               workers=1)
    mcnet = out["mcnet"][0]
    assert mcnet["fitted"].keys() == mcnet["oracle"].keys() and mcnet["mask_iou"] is None
    assert mcnet["fitted"]["psnr"] == mcnet["oracle"]["psnr"]          # no condition reaches a baseline


def test_the_recording_command_lists_what_is_recorded_and_refuses_unknown_names(monkeypatch, capsys):
    options = ablations.measure_options("fan", "book")
    four = ablations.arm_configs("fan", "book", ["full"], seeds=(0, 2), multiple=4)["full"]
    book = {store.key(c, "arm", **options): {"value": {}} for c in four}
    monkeypatch.setattr(store, "read", lambda path=None: book)
    monkeypatch.setattr(store, "record", lambda *a, **k: pytest.fail("listing records nothing"))
    assert ablations.main(["fan", "--list", "--round", "exploratory"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("fan x1: full -  no_local_d -") and lines[1].startswith("fan x4: full 0,2  no_local_d -")
    assert ablations.main(["fan", "--arms", "full", "--list", "--round", "exploratory"]) == 0
    assert capsys.readouterr().out.splitlines() == ["fan x1: full -", "fan x4: full 0,2"]
    assert ablations.main(["fan", "--arms", "full", "--list"]) == 0                  # the round of record's seeds
    assert capsys.readouterr().out.splitlines() == ["fan x1: full -", "fan x4: full -"]
    assert ablations.main(["fan", "--arms", "full", "--rungs", "4", "--list", "--round", "exploratory"]) == 0
    assert capsys.readouterr().out.splitlines() == ["fan x4: full 0,2"]
    for argv, name in ((["nope"], "unknown paper 'nope'"), (["fan", "--arms", "mlp"], "unknown arm 'mlp'"),  # AffineGAN's
                       (["fan", "--arms"], "unknown arm (none given)"), (["fan", "--rungs", "3", "--list"], "--rungs 3")):
        assert ablations.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and name in err and "Traceback" not in err


@pytest.mark.parametrize("module", ["records.ablations", "records.verify", "records.make_zoo", "studies.refine",
                                    "studies.speckle", "studies.capacity"])
@pytest.mark.parametrize("workers", ["0", "-2", "two"])
def test_every_training_command_refuses_fewer_than_one_worker_before_any_work(module, workers, capsys, tmp_path,
                                                                             monkeypatch):
    import importlib

    monkeypatch.chdir(tmp_path)
    mod = importlib.import_module(f"i2vlib.{module}")
    with pytest.raises(SystemExit) as stop:
        sys.exit(mod.main(["--workers", workers]))
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert ("argument --workers: not an integer: 'two'" if workers == "two"
            else f"argument --workers: must be at least 1: {workers}") in err
    assert list(tmp_path.iterdir()) == []


def test_a_record_of_a_zoo_file_is_of_the_file_that_ships():
    """A record measured on a zoo file (its config is a zoo entry's recipe) names the file by its digest; a retrained
    entry replaces the file under the same config, so a record of the old file would silently describe a model the
    book no longer ships (the AffineGAN ablations' zoo:affinegan-happy row did, once)."""
    from i2vlib import zoo
    from i2vlib.checkpoint import digest, read_checkpoint

    shipped = {}
    for name in zoo.ENTRIES:
        if zoo.path(name).is_file():
            ckpt = read_checkpoint(zoo.path(name))
            shipped[config_hash(full_config(ckpt["config"]))] = (name, digest(ckpt))
    stale = []
    for key, rec in store.read().items():
        found = shipped.get(config_hash(full_config(rec["config"]))) if isinstance(rec.get("config"), dict) else None
        if found and rec.get("zoo_sha256") != found[1]:
            stale.append(f"{key}: not measured on the shipped zoo:{found[0]}")
    assert not stale, "\n".join(stale)


def test_the_verdicts_page_links_each_chapter_where_its_claims_table_stands():
    """Each target the verdicts page links to is set, just above a claims-table heading, in that chapter."""
    from pathlib import Path

    from i2vlib.records import verdicts

    root = Path(__file__).resolve().parents[1] / "notebooks"
    for chapter, target in verdicts.CLAIMS_TARGET.items():
        nb = json.loads((root / f"{chapter}.ipynb").read_text())
        texts = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
        assert any(f"({target})=\n## The claims table" in t for t in texts), (chapter, target)
        assert verdicts.claims_link(chapter, "x") == f"{{ref}}`x <{target}>`"
    assert verdicts.claims_link("affinegan/training", "x") == "[x](../affinegan/training.ipynb)"


def test_an_arm_of_own_budget_trains_that_many_times_longer_at_every_rung_of_its_profile_only():
    from i2vlib.models import get_method

    for table, arms in tables.OWN_BUDGET.items():
        for arm, profiles in arms.items():
            for multiple, _ in tables.LADDER[table]:
                c = ablations.arm_configs(table, "book", [arm], seeds=[0], multiple=multiple)
                assert c[arm][0]["steps"] == profiles["book"] * multiple * tables.BUDGET[table]["book"]["steps"]
            smoke = ablations.arm_configs(table, "smoke", [arm], seeds=[0])[arm][0]
            assert smoke["steps"] == get_method(tables.ARMS[table][arm][0]).default_config("smoke")["steps"]


def test_the_claims_on_fgst_say_its_own_budget():
    times = tables.OWN_BUDGET["affinegan-baselines"]["fgst"]["book"]
    on_fgst = [c for c in claims.registry("affinegan") if c.rule.describe().endswith("fgst") or "_vs_fgst" in c.measure]
    assert on_fgst and all(f"with {times} times" in c.measured_as and "same steps (" not in c.measured_as
                           for c in on_fgst)


def test_fgst_trains_the_multiple_its_rule_chose_from_its_first_rung_seeds():
    """benchmarks/fgst_budget.py's rule (written before most of what it judged was measured): of the multiples tried,
    the smallest at which at least HEALTHY_SHARE of the first rung's seeds are healthy; OWN_BUDGET follows it."""
    from pathlib import Path

    from i2vlib import studies
    from i2vlib.claims.health import HEALTHY_SHARE

    chosen = json.loads((Path(studies.__file__).parent / "fgst_multiple.json").read_text())
    seeds = chosen["seeds"]
    assert sorted(map(int, seeds)) == sorted(dict(tables.LADDER["affinegan-baselines"])[1])
    healthy = {m: sum(by_m[str(m)]["healthy"] for by_m in seeds.values()) for m in chosen["candidates"]}
    assert healthy == {int(m): n for m, n in chosen["healthy"].items()}
    for by_m in seeds.values():
        for s in by_m.values():
            assert s["healthy"] == (not s["failed"]) and set(s["failed"]) <= set(s["checks"])
    rule = next(m for m in chosen["candidates"] if healthy[m] >= HEALTHY_SHARE * len(seeds))
    assert chosen["chosen"] == rule == tables.OWN_BUDGET["affinegan-baselines"]["fgst"]["book"]
