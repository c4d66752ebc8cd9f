"""make verify-records (i2vlib.records.verify): which runs it may draw, how a new measurement is held against its arm's
recorded seeds, and bad input; training is replaced by a canned measurement (a real check trains for minutes)."""

import json

import numpy as np
import pytest

from i2vlib.errors import I2VError
from i2vlib.records import ablations, store, verify

from i2vlib.protocol import tables


def test_numbers_flattens_the_finite_scalars_of_a_measurement_and_reduces_lists_to_their_means():
    value = {"psnr": 24.0, "inferred": {"rho": 0.5, "curve": [1.0, 2.0]}, "mask_iou": None, "ok": True,
             "acd_i": float("nan"), "strip": {"png": "...", "frames": 5}, "actions": ["run", "walk"],
             "mse_t": {"gt": [[1.0, 3.0], [float("nan"), 5.0]]}, "empty": []}
    assert verify.numbers(value) == {"psnr": 24.0, "inferred.rho": 0.5, "inferred.curve": 1.5, "mse_t.gt": 3.0}


def test_check_holds_each_number_against_the_arms_band_and_the_seeds_record():
    seeds = [{"x": 1.0, "y": {"z": 0.1}, "c": 5.0}, {"x": 2.0, "y": {"z": 0.2}, "c": 5.0},
             {"x": 3.0, "y": {"z": 0.3}, "c": 5.0}]
    inside = verify.check({"x": 3.5, "y": {"z": 0.25}, "c": 5.0}, seeds, 1)   # beyond the range, inside the band
    assert inside == {"numbers": 3, "outside": {}, "equal": 1}
    out = verify.check({"x": 300.0, "y": {"z": 0.1}, "c": 5.0001, "new": 7.0}, seeds, 0)
    assert set(out["outside"]) == {"x", "c"} and out["equal"] == 1 and out["numbers"] == 3
    x, low, high = out["outside"]["x"]
    assert x == 300.0 and low < 2.0 and 3.0 < high < 300.0 and out["outside"]["c"] == [5.0001, 5.0, 5.0]   # a constant


def test_the_band_leaves_out_the_seed_being_trained_again():
    """A record of seed 0 that was itself wrong cannot widen the band that judges seed 0's new run."""
    seeds = [{"x": 50.0}, {"x": 1.0}, {"x": 1.1}, {"x": 0.9}, {"x": 1.05}]
    assert list(verify.check({"x": 50.0}, seeds, 0)["outside"]) == ["x"]       # equal to its own record, yet outside
    assert verify.check({"x": 1.0}, seeds, 1)["outside"] == {}


def test_a_pose_record_moved_out_of_its_band_is_caught_and_a_run_that_compares_nothing_fails(canned):
    mse = lambda level: {"mse_t": {"gt": [[level] * 4] * 8, "lstm": [[level * 1.1] * 4] * 8},       # noqa: E731
                         "actions": ["run"] * 8}
    seeds = [mse(v) for v in (0.0081, 0.0086, 0.0079, 0.0084, 0.0083)]
    assert verify.check(mse(0.0082), seeds, 2) == {"numbers": 2, "outside": {}, "equal": 0}
    caught = verify.check({**mse(0.0082), "mse_t": {"gt": [[9.9] * 4] * 8, "lstm": [[0.009] * 4] * 8}}, seeds, 2)
    assert list(caught["outside"]) == ["mse_t.gt"] and caught["outside"]["mse_t.gt"][0] == 9.9
    assert verify.check({"words": "only"}, seeds, 0)["numbers"] == 0
    configs = ablations.arm_configs("affinegan", "book", ["mlp"])["mlp"]
    options = ablations.measure_options("affinegan", "book")
    book = {store.key(c, "arm", **options): {"config": c, "value": {"rho": 0.1 * (i + 1)}}
            for i, c in enumerate(configs)}
    canned.value = {"text": "nothing to compare"}
    assert not verify.verify(["affinegan"], runs=1, book=book, progress=False)["within"]


@pytest.mark.slow
def test_the_band_misses_a_faithful_seed_at_its_stated_rate():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(4000, 6))                       # five recorded seeds and one more, 4000 times
    missed = np.mean([not verify.band(list(d[:5]), 0.95)[0] <= d[5] <= verify.band(list(d[:5]), 0.95)[1]
                      for d in draws])
    beyond_range = np.mean([not d[:5].min() <= d[5] <= d[:5].max() for d in draws])
    assert abs(missed - 0.05) < 0.012 and abs(beyond_range - 2 / 6) < 0.03   # the range of 5 seeds: 1 in 3


def test_only_arms_with_every_seed_recorded_are_drawn_at_every_rung():
    book = store.read()
    runs = verify.recorded_runs(["affinegan"], book)
    for multiple, _ in tables.LADDER["affinegan"]:
        assert {("affinegan", "full", multiple, i) for i in range(len(tables.SEEDS))} <= set(runs)
    assert verify.recorded_runs(["affinegan"], {}) == []
    with pytest.raises(I2VError, match=f"has {len(tables.SEEDS)} seeds recorded"):
        verify.verify(["affinegan"], book={})


@pytest.fixture
def canned(monkeypatch, tmp_path):
    """Training and measuring replaced: every retrained run measures ``canned.value``."""
    class Canned:
        value = None
    monkeypatch.setattr(verify, "cached_runs", lambda configs, **kw: [tmp_path] * len(configs))
    monkeypatch.setattr(verify, "load", lambda run: None)
    monkeypatch.setitem(store.MEASURES, "arm", (store.MEASURES["arm"][0], lambda model, **kw: Canned.value))
    return Canned


def test_verify_reports_each_drawn_run_and_whether_all_fell_within(canned):
    five = dict(tables.LADDER["affinegan"])[1]
    configs = ablations.arm_configs("affinegan", "book", ["mlp"], seeds=five)["mlp"]
    options = ablations.measure_options("affinegan", "book")
    book = {store.key(c, "arm", **options): {"config": c, "value": {"rho": [0.1, 0.15, 0.2, 0.25, 0.3][i]}}
            for i, c in enumerate(configs)}
    canned.value = {"rho": 0.2}
    report = verify.verify(["affinegan"], runs=9, seed=3, book=book, progress=False)
    assert len(report["runs"]) == 5 and report["within"]                  # only mlp is recorded: its 5 seeds at 1x
    assert {r["multiple"] for r in report["runs"]} == {1} and {r["seeds_recorded"] for r in report["runs"]} == {5}
    assert {r["seed"] for r in report["runs"]} == set(five) and sum(r["equal"] for r in report["runs"]) == 1
    canned.value = {"rho": 0.9}
    report = verify.verify(["affinegan"], runs=1, book=book, progress=False)
    assert not report["within"] and list(report["runs"][0]["outside"]) == ["rho"]


def test_the_draw_can_be_narrowed_to_arms_and_rungs_and_names_where_each_record_trained(canned):
    options = ablations.measure_options("affinegan", "book")
    book = {}
    for multiple, seeds in tables.LADDER["affinegan"]:
        for arm in ("mlp", "full"):
            for i, c in enumerate(ablations.arm_configs("affinegan", "book", [arm], seeds, multiple)[arm]):
                book[store.key(c, "arm", **options)] = {"config": c, "value": {"rho": 0.1 + 0.05 * i},
                                                          **({"devices": [["cuda", 0]]} if multiple == 4 else {})}
    canned.value = {"rho": 0.2}
    report = verify.verify(["affinegan"], runs=9, book=book, progress=False, arms=["full"], rungs=[4])
    assert {(r["arm"], r["multiple"]) for r in report["runs"]} == {("full", 4)} and len(report["runs"]) == 3
    assert all(r["recorded_on"] == [["cuda", 0]] for r in report["runs"])
    assert verify.verify(["affinegan"], book=book, progress=False, arms=["mlp"], rungs=[1])["runs"][0][
        "recorded_on"] == [["cpu", 0]]
    with pytest.raises(I2VError, match="among convlstm .* at rung"):
        verify.verify(["affinegan"], book=book, progress=False, arms=["convlstm"], rungs=[4])


@pytest.mark.parametrize("argv, message", [(["videogan"], "unknown paper 'videogan'"),
                                           (["affinegan", "--arms", "nope"], "unknown arm 'nope'"),
                                           (["affinegan", "--rungs", "3"], "the ladder's rungs are 1, 4"),
                                           (["--runs", "0"], "--runs must be at least 1"),
                                           (["--out", "/nonexistent/folder/r.json"], "does not exist")])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert verify.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("verify: error:") and message in err and "\n" not in err


def test_the_report_is_written_where_asked(canned, tmp_path, monkeypatch):
    canned.value = {"psnr": 1e9}                                            # outside every arm's spread
    monkeypatch.setattr(store, "read", lambda path=store.RECORDS: {
        store.key(c, "arm", **ablations.measure_options("affinegan", "book")): {"config": c, "value": {"psnr": 1.0}}
        for c in ablations.arm_configs("affinegan", "book", ["full"])["full"]})
    out = tmp_path / "report.json"
    assert verify.main(["affinegan", "--runs", "1", "--out", str(out)]) == 1
    assert json.loads(out.read_text())["runs"][0]["outside"] == {"psnr": [1e9, 1.0, 1.0]}
