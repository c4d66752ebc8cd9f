"""The Evaluation chapter's recorded measurements (i2vlib.records.evaluation) and the public code's substitution
for a lost face that they measure (i2vlib.evaluate.pitfalls): the record holds what the book profile's chapter asks
for, and one of its parts measured again equals the record."""

import numpy as np
import pytest

from i2vlib.config import profile
from i2vlib.evaluate import baselines, evaluate
from i2vlib.evaluate.pitfalls import Flaky, public_code_acd
from i2vlib.instruments import get_instrument
from i2vlib.records import evaluation

SMOKE = evaluation.arguments(profile("smoke"))
BOOK = evaluation.arguments(profile("book"))


@pytest.fixture(scope="module")
def clips():
    return baselines("synthetic", SMOKE["videos"], SMOKE["size"], 0, frames=tuple(SMOKE["frames"]))["copy"].clips


def _flaky(clips):
    return Flaky("flaky truth", lambda image, a, clip: clip.frames, clips, SMOKE["size"])


def test_flaky_truth_loses_every_fifth_frame_from_the_third(clips):
    clip = clips[0]
    video = _flaky(clips).generate(clip.frames[0], clip.intensity, clip.expression)
    lost = np.arange(2, len(clip), 5)
    assert len(lost) >= 1 and (video[lost] == 128).all()
    kept = np.setdiff1d(np.arange(len(clip)), lost)
    assert np.array_equal(video[kept], clip.frames[kept])


def test_the_public_codes_substitution_scores_the_fill_not_the_video(clips):
    """A lost face becomes a random vector: the flaky truth's ACD-I is far above i2vlib's (which leaves the lost
    frames out), higher still with the paper's N(0, 1) than with the code's rand(128), and changes with the seed."""
    instrument = get_instrument("synthetic")
    gen = _flaky(clips)
    ours = evaluate(gen, videos=SMOKE["videos"], frames=tuple(SMOKE["frames"]), progress=False)["scores"]
    uniform = public_code_acd(clips, gen, instrument, "uniform", 0)
    assert uniform.shape == (3,) and ours["undetected_rate"] > 0
    assert uniform[0] > ours["acd_i"] + 0.5
    assert public_code_acd(clips, gen, instrument, "normal", 0)[0] > uniform[0]
    assert np.array_equal(public_code_acd(clips, gen, instrument, "uniform", 0), uniform)
    assert not np.array_equal(public_code_acd(clips, gen, instrument, "uniform", 1), uniform)


def test_the_record_holds_what_the_book_profiles_chapter_measures():
    rec = evaluation.read().get(evaluation.key(BOOK))
    assert rec is not None, "no record for the book profile: run python -m i2vlib.records.evaluation"
    assert set(evaluation.PARTS) <= set(rec) and set(rec["seconds"]) == set(evaluation.PARTS)
    assert set(rec["baselines"]) == {"ground truth", "copy", "blend", "shuffled truth", "another person"}
    assert all(r["videos"] == BOOK["videos"] for r in rec["baselines"].values())
    assert rec["held_out"]["accuracy"]["held_out"]["triplets"] == BOOK["held_out"]["triplets"]
    assert {k: len(v) for k, v in rec["flaky"]["public_code"].items()} == {"uniform": 5, "normal": 5}
    assert set(rec["agreement"]) == {"dlib", "auto"}


def test_the_record_key_changes_with_what_is_measured():
    assert evaluation.key(BOOK) != evaluation.key({**BOOK, "videos": BOOK["videos"] + 1})
    assert evaluation.key(SMOKE) != evaluation.key(BOOK)


@pytest.mark.slow
def test_a_recorded_part_measured_again_equals_the_record():
    """The copy baseline scored again on the book profile's 42 test videos: every score, per-video score and
    calibration bin as recorded (a changed benchmark, instrument or protocol shows here)."""
    recorded = evaluation.read()[evaluation.key(BOOK)]["baselines"]["copy"]
    again = evaluation.to_json(evaluation.scored_baselines(BOOK, names=["copy"])["copy"])

    def close(a, b, where="copy"):
        if isinstance(a, dict):
            assert set(a) - {"seconds"} == set(b) - {"seconds"}, where
            for k in set(a) - {"seconds"}:
                close(a[k], b[k], f"{where}.{k}")
        elif isinstance(a, list):
            assert len(a) == len(b), where
            for i, (x, y) in enumerate(zip(a, b)):
                close(x, y, f"{where}[{i}]")
        elif isinstance(a, float) and isinstance(b, float):
            assert b == pytest.approx(a, rel=1e-5, abs=1e-7), where
        else:
            assert a == b, where

    close(recorded, again)


def test_recorded_reads_what_record_wrote_and_measures_what_it_lacks(tmp_path, monkeypatch):
    monkeypatch.setattr(evaluation, "PARTS", ("flaky",))           # the cheapest part stands for them all
    path = tmp_path / "evaluation.json"
    written = evaluation.record(SMOKE, path)
    assert set(written) == {"flaky", "seconds"} and evaluation.read(path).keys() == {evaluation.key(SMOKE)}
    read = evaluation.recorded(SMOKE, path)
    assert read["recorded"] is True and {k: read[k] for k in written} == written
    assert evaluation.recorded({**SMOKE, "seed": 1}, path)["recorded"] is False     # not recorded: measured now
    monkeypatch.setenv("I2V_RETRAIN", "1")                                         # make book RETRAIN=1: afresh
    again = evaluation.recorded(SMOKE, path)
    assert again["recorded"] is False and again["flaky"]["scores"] == written["flaky"]["scores"]


@pytest.mark.parametrize("args, words", [
    (["--profile", "nonsense"], ["unknown profile", "nonsense"]),
    (["--seed", "x"], ["--seed", "invalid int"]),
    (["--out", "/proc/i2v-cannot-exist/e.json"], ["cannot write"]),
])
def test_bad_arguments_are_one_line_exit_2_before_any_work(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = evaluation.main(args)
    except SystemExit as stop:
        code = stop.code
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and all(w in err[0] for w in words), err
    assert not list(tmp_path.iterdir())
