"""The evaluation protocol (`i2vlib.evaluate`, `i2v evaluate`) and the chapters' quick measurements,
with generators whose scores are known.

The fakes implement only the generation API (method, expressions, image_size, generate; and
AffineGAN's infer_intensity for intensity_agreement), so these tests do not depend on any trained
model; the last test runs `i2v evaluate` on a tiny model trained by `i2v train` in the smoke profile.
"""

import json
import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

import i2vlib.evaluate as ev
from i2vlib import EXPRESSIONS
from i2vlib.data.clips import resample
from i2vlib.data.folders import write_affinegan
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.errors import I2VError
from i2vlib.evaluate import SCORE_KEYS, evaluate, table
from i2vlib.evaluate.ablation import sudden_change

from test_cli import assert_one_line_error, i2v, i2v_here

N = 7  # one test video per expression
FRAMES = (6, 10)


class Oracle:
    """Returns the ground-truth video of the neutral frame it is given (it has seen the answers)."""

    method, expressions, image_size = "oracle", EXPRESSIONS, 64

    def __init__(self, clips):
        self.videos = {c.frames[0].tobytes(): c for c in clips}

    def generate(self, image, intensities, expression=None):
        clip = self.videos[np.asarray(image).tobytes()]
        assert expression == clip.expression
        np.testing.assert_allclose(intensities, clip.intensity, atol=1e-6)
        return clip.frames.copy()


class Copy:
    """Returns the input frame once per intensity: identity kept perfectly, no expression at all."""

    method, expressions, image_size = "copy", EXPRESSIONS, 64

    def generate(self, image, intensities, expression=None):
        return np.repeat(np.asarray(image)[None], len(intensities), axis=0)


class HalfBlank(Oracle):
    """The oracle, but every other frame after the first is a flat grey image without a face."""

    method = "half-blank"

    def generate(self, image, intensities, expression=None):
        out = super().generate(image, intensities, expression)
        out[1::2] = 128
        return out


@pytest.fixture(scope="module")
def clips():
    bench = SyntheticBenchmark(size=64, seed=0, frames=FRAMES)
    return [bench.video("test", i) for i in range(N)]


@pytest.fixture(scope="module")
def results(clips):
    kw = {"videos": N, "frames": FRAMES, "progress": False}
    return {"oracle": evaluate(Oracle(clips), **kw), "copy": evaluate(Copy(), **kw),
            "half-blank": evaluate(HalfBlank(clips), **kw)}


@pytest.mark.slow
def test_the_oracle_scores_the_reference_row(results):
    r = results["oracle"]
    assert r["method"] == "oracle" and r["videos"] == N and r["instrument"] == "synthetic"
    assert r["expressions"] == list(EXPRESSIONS) and r["intensity_labels"] == "true"
    s, ref = r["scores"], r["reference"]
    for k in SCORE_KEYS:
        assert s[k] == ref[k], k
    assert s["acd_g"] == 0 and s["l1"] == 0 and s["ssim"] == pytest.approx(1.0) and s["landmark_error"] == 0
    assert s["psnr"] is None                    # identical videos: infinite PSNR, stored as null
    assert s["undetected_rate"] == 0
    assert s["acd_i"] > 0 and s["acd_c"] > 0     # expressions move the features, even for the truth
    # Head jitter moves the landmarks too, so even the truth is not perfectly monotone (see the chapter).
    assert s["landmark_rho"] > 0.5 and s["intensity_rho"] > 0.9 and s["intensity_mae"] < 0.1


@pytest.mark.slow
def test_the_metrics_separate_copy_from_truth(results):
    copy, truth = results["copy"]["scores"], results["oracle"]["scores"]
    assert copy["acd_i"] == 0 and copy["acd_c"] == 0     # a still video is "perfect" for ACD-I and ACD-C ...
    assert copy["landmark_rho"] == 0 and copy["intensity_rho"] == 0   # ... and shows no expression
    assert copy["acd_g"] > truth["acd_g"] and copy["l1"] > truth["l1"] and copy["ssim"] < truth["ssim"]
    assert copy["intensity_mae"] > 3 * truth["intensity_mae"]
    assert copy["expression_accuracy"] < truth["expression_accuracy"]
    assert results["copy"]["reference"] == results["oracle"]["reference"]  # the reference is the truth's


@pytest.mark.slow
def test_frames_without_a_face_are_counted_not_scored(results, clips):
    r = results["half-blank"]
    blank = sum(len(range(1, len(c), 2)) for c in clips)
    assert r["scores"]["undetected_rate"] == pytest.approx(blank / sum(len(c) for c in clips))
    assert r["reference"]["undetected_rate"] == 0
    # The remaining frames are the truth's: ACD-G stays 0 (no random vector stands in for the blanks).
    assert r["scores"]["acd_g"] == 0
    per = r["per_video"][0]
    assert per["trajectory"][1] is None and per["measured_intensity"][1] is None


@pytest.mark.slow
def test_per_expression_calibration_and_per_video_records(results, clips):
    r = results["oracle"]
    assert set(r["per_expression"]) == set(EXPRESSIONS)
    assert all(v["videos"] == 1 for v in r["per_expression"].values())
    cal = r["calibration"]["scores"]
    assert sum(cal["count"]) == sum(len(c) for c in clips) and len(cal["centre"]) == 10
    pv = r["per_video"]
    assert [p["video_id"] for p in pv] == [c.video_id for c in clips]
    assert all(len(p["trajectory"]) == len(c) and p["trajectory"][0] == 0 for p, c in zip(pv, clips))
    json.dumps(r, allow_nan=False)               # strict JSON: no NaN or Infinity anywhere
    text = table({k: results[k] for k in ("oracle", "copy")}, keys=("acd_i", "acd_g", "psnr"))
    assert "reference (ground truth)" in text and "copy" in text and len(text.split("\n\n")) == 1
    wide = table({k: results[k] for k in ("oracle", "copy")}, columns=80)
    blocks = wide.split("\n\n")
    assert len(blocks) > 1 and max(map(len, wide.splitlines())) <= 80
    assert [line.split()[0] for line in blocks[-1].splitlines()[1:]] == ["oracle", "copy", "reference"]
    assert [w for b in blocks for w in b.splitlines()[0].split()] == list(SCORE_KEYS)    # each score once, in order


@pytest.mark.slow
def test_bad_generators_and_arguments_are_clear_errors(clips):
    class Wrong(Copy):
        def generate(self, image, intensities, expression=None):
            return np.zeros((len(intensities), 32, 32, 3), np.uint8)

    with pytest.raises(I2VError, match="expected .* 64 x 64 x 3 uint8"):
        evaluate(Wrong(), videos=1, progress=False)
    with pytest.raises(I2VError, match="not a generator"):
        evaluate(object(), videos=1, progress=False)
    with pytest.raises(I2VError, match="unknown split"):
        evaluate(Copy(), split="holdout", videos=1, progress=False)
    with pytest.raises(I2VError, match="unknown data"):
        evaluate(Copy(), data="imagenet", videos=1, progress=False)
    with pytest.raises(I2VError, match="unknown instrument"):
        evaluate(Copy(), instrument="openface", videos=1, progress=False)
    with pytest.raises(I2VError, match="renders"):
        evaluate(Copy(), expressions=["smug"], videos=1, progress=False)


@pytest.mark.slow
def test_a_folder_exported_from_the_benchmark(tmp_path, clips):
    root = write_affinegan(tmp_path / "synth", clips[:3])
    r = evaluate(Oracle(clips), data=str(root), split="test", progress=False)
    assert r["instrument"] == "synthetic" and r["videos"] == 3 and r["seed"] is None
    assert r["intensity_measure"].startswith("a, from")     # response curves found from the metadata
    assert r["scores"]["acd_g"] == 0 and r["scores"]["intensity_mae"] < 0.1
    one_split = evaluate(Copy(), data=str(root), split="train", progress=False)
    assert one_split["split"] == "test"          # a folder with one split is evaluated whole, and says so
    both = write_affinegan(tmp_path / "both", [clips[0], replace(clips[1], split="train")])
    with pytest.raises(I2VError, match="no split 'val'"):
        evaluate(Copy(), data=str(both), split="val", progress=False)


class GridReplay(Oracle):
    """Renders only a = 0.1, ..., 1.0, like the ConvLSTM baseline: the true video at 11 frames, less the first."""

    method, supported_intensities = "grid", np.round(np.linspace(0.1, 1.0, 10), 6)

    def generate(self, image, intensities, expression=None):
        np.testing.assert_array_equal(intensities, self.supported_intensities)   # asked for its grid, exactly
        return resample(self.videos[np.asarray(image).tobytes()], 11).frames[1:]


@pytest.mark.slow
def test_a_fixed_grid_generator_is_evaluated_on_its_grid(clips):
    r = evaluate(GridReplay(clips), videos=N, frames=FRAMES, progress=False)
    assert r["intensity_labels"] == "grid" and r["grid"] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert r["videos"] == N and r["frames"] == 10 * N        # every video resampled to 1 + 10 frames, the input first
    assert all(v["intensities"] == r["grid"] and len(v["trajectory"]) == 10 for v in r["per_video"])
    s, ref = r["scores"], r["reference"]
    for k in SCORE_KEYS:                                     # it replays the truth at its grid: the reference scores
        assert s[k] == ref[k], k
    assert s["acd_g"] == 0 and s["l1"] == 0 and s["acd_i"] > 0   # ACD-I against the input face, not the first frame
    assert evaluate(Copy(), videos=1, frames=FRAMES, progress=False)["grid"] is None


@pytest.mark.slow
def test_data_truth_and_the_note_of_what_a_chapter_skipped(tmp_path, clips):
    from i2vlib.data.folders import read_affinegan

    truth = ev.data_truth("synthetic")
    assert truth["synthetic"] and truth["intensity"] and truth["landmarks"] == "exact"
    assert truth["expressions"] == list(EXPRESSIONS) and truth["instrument"] == "synthetic"
    assert ev.data_note(truth, ["the PSNR"], {}) == ""           # nothing skipped: nothing to say
    export = ev.data_truth(str(write_affinegan(tmp_path / "synth", clips[:2])))
    assert export["synthetic"] and export["intensity"] and export["landmarks"] == "exact"
    assert export["splits"] == {"test": 2} and export["expressions"] == list(EXPRESSIONS[:2])
    # a folder of real-looking videos: no intensities, landmarks "found" (as i2v prepare records them)
    real = [replace(c, intensity=None, meta={"landmarks": "dlib"}, split=split)
            for c, split in zip(clips[:3], ("train", "train", "test"))]
    root = write_affinegan(tmp_path / "real", real)
    truth = ev.data_truth(str(root))
    assert not truth["synthetic"] and not truth["intensity"] and truth["landmarks"] == "detected"
    assert truth["instrument"] == "dlib" and truth["splits"] == {"test": 1, "train": 2}
    note = ev.data_note(truth, ["the PSNR at a = 0"], {"Eq. 5 against the truth": "true intensities"})
    assert note.startswith(f"This run used `{root}` (1 test, 2 train videos; no true intensities, no exact landmarks).")
    assert "It measured the PSNR at a = 0." in note and "Eq. 5 against the truth (needs true intensities)" in note
    one_split = write_affinegan(tmp_path / "one", [replace(c, split="train") for c in real[:1]])
    assert "no test split" in ev.data_note(ev.data_truth(str(one_split)), [], {"x": "y"})
    assert len(read_affinegan(one_split)) == 1


@pytest.mark.slow
def test_dlib_instrument_on_a_folder(tmp_path, clips):
    root = write_affinegan(tmp_path / "synth", clips[:2])
    r = evaluate(Copy(), data=str(root), instrument="dlib", progress=False)
    assert r["instrument"] == "dlib" and r["intensity_measure"] is None
    s = r["scores"]
    assert s["intensity_mae"] is None and s["expression_accuracy"] is None   # dlib reads no expressions
    assert s["acd_i"] == 0 and s["landmark_rho"] == 0                         # a still video, measured by dlib
    assert 0 < r["reference"]["acd_i"] < 0.6                                  # dlib: same person below ~0.6


# ---------------------------------------------------------------------------- quick measurements
# (called through the module: pytest would collect a test_clips imported into this file)

class Replay(Copy):
    """Plays the true video of the neutral frame it is given, resampled to the requested length."""

    method, expressions, scale = "replay", ("happy", "surprise"), 1.0

    def __init__(self, clips):
        self.videos = {c.frames[0].tobytes(): c for c in clips}

    def generate(self, image, intensities, expression=None):
        return resample(self.videos[np.asarray(image).tobytes()], len(intensities)).frames

    def infer_intensity(self, neutral, frames, expression=None):
        return self.videos[np.asarray(neutral).tobytes()].intensity * self.scale


@pytest.fixture(scope="module")
def linear_clips():
    return ev.test_clips(Replay([]), "linear", n=4, frames=9)


def test_test_clips_are_unseen_identities_cycling_over_the_model_expressions(linear_clips):
    assert [c.expression for c in linear_clips] == ["happy", "surprise"] * 2
    assert all(c.split == "test" and len(c) == 9 and c.meta["curve"] == "linear" for c in linear_clips)
    assert [c.expression for c in ev.test_clips(Replay([]), n=2, frames=3, expressions=["anger"])] == ["anger"] * 2


def test_reconstruction_psnr_and_expression_progress(linear_clips):
    assert ev.reconstruction_psnr(Copy(), linear_clips) == math.inf
    replay = ev.expression_progress(Replay(linear_clips), linear_clips)
    still = ev.expression_progress(Copy(), linear_clips)
    assert replay["rho"] > 0.8 and replay["strength_at_1"] == pytest.approx(replay["true_peak_strength"], abs=1e-6)
    assert still["rho"] == 0 and still["strength_at_1"] < 0.1 < replay["strength_at_1"]
    assert still["true_peak_strength"] == replay["true_peak_strength"]


def test_sudden_change_reads_even_stepped_and_still_videos(linear_clips):
    class Fade(Copy):              # the input faded to white along a: an even video; ``step``: all at a = 0.5
        def __init__(self, step=False):
            self.step = step

        def generate(self, image, intensities, expression=None):
            a = np.asarray(intensities, float)[:, None, None, None]
            a = (a >= 0.5).astype(float) if self.step else a
            return np.asarray(image)[None] * (1 - a) + 255.0 * a

    assert sudden_change(Fade(), linear_clips) == pytest.approx(1)
    assert sudden_change(Fade(step=True), linear_clips) == pytest.approx(40)        # 41 frames: one step of 40
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(sudden_change(Copy(), linear_clips))                    # no change: undefined


def test_intensity_agreement(linear_clips):
    model = Replay(linear_clips)
    exact = ev.intensity_agreement(model, linear_clips)
    assert exact["rho"] == pytest.approx(1) and exact["rho_per_video"] == pytest.approx(1)
    assert exact["mae"] == 0 and exact["in_unit_range"] == 1 and len(exact["true"]) == 4 * 9
    model.scale = 2.0
    double = ev.intensity_agreement(model, linear_clips)
    assert double["rho"] == pytest.approx(1) and double["in_unit_range"] < 1
    assert double["mae"] == pytest.approx(np.mean(double["true"]))


def test_align_to_first_removes_the_heads_motion_and_keeps_a_still_video():
    still = SyntheticBenchmark(jitter=0, noise=False).video("test", 0, expression="happy", n_frames=5)
    same = ev.measures.align_to_first(still.frames, still.landmarks).astype(int) - still.frames
    assert np.abs(same).max() <= 1                      # the identity, up to rounding
    moving = SyntheticBenchmark(jitter=3, noise=False).video("test", 0, expression="happy", curve="linear",
                                                             n_frames=5)
    moved = moving.frames.astype(float) - moving.frames[0]
    aligned = ev.measures.align_to_first(moving.frames, moving.landmarks).astype(float) - moving.frames[0]
    assert aligned.shape == moved.shape and np.abs(aligned[1:]).mean() < 0.5 * np.abs(moved[1:]).mean()


def test_intensity_nuisances_names_what_moves_a_pixel_reader():
    class PixelReader:               # "infers" a frame's intensity as its mean distance to the neutral frame
        expressions, image_size = ("happy",), 64

        def infer_intensity(self, neutral, frames, expression=None):
            return np.abs(np.asarray(frames, float) - np.asarray(neutral, float)).mean(axis=(1, 2, 3))

    out = ev.intensity_nuisances(PixelReader(), n=3, frames=8)
    assert list(out) == ["happy"] and list(out["happy"]) == list(ev.measures.NUISANCES)
    r = out["happy"]
    assert all(-1 <= v <= 1 for v in r.values())
    assert r["without head motion"] == pytest.approx(1) and r["without head motion"] > r["as drawn"]


def test_the_package_names_its_public_api():
    for name in ev.__all__:
        assert getattr(ev, name) is not None
    assert ev.choose_instrument("synthetic").name == "synthetic"
    with pytest.raises(I2VError, match="unknown data"):
        list(ev.evaluation_videos("imagenet"))


# ---------------------------------------------------------------------------- the command

@pytest.mark.slow
def test_i2v_evaluate_on_a_tiny_trained_model(tmp_path, capsys):
    run = tmp_path / "run"
    r = i2v("train", "affinegan", "--data", "synthetic", "--profile", "smoke", "--steps", 5, "--out", run, "--quiet")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "metrics.json"
    r = i2v_here(capsys, "evaluate", run, "--data", "synthetic", "--split", "test", "--videos", 2, "--out", out)
    assert r.returncode == 0, r.stderr
    m = json.loads(out.read_text())
    assert m["method"] == "affinegan" and m["videos"] == 2 and m["instrument"] == "synthetic"
    assert set(m["scores"]) == set(SCORE_KEYS) == set(m["reference"])
    assert m["reference"]["acd_g"] == 0 and m["reference"]["undetected_rate"] == 0
    assert 0 <= m["scores"]["undetected_rate"] <= 1
    assert str(out) in r.stdout
    lines = r.stdout.splitlines()
    assert max(map(len, lines)) <= 100, max(lines, key=len)                     # an 80-to-100-column terminal
    shown = {w for line in lines for w in line.split()}
    assert {k for k, v in m["scores"].items() if not isinstance(v, dict)} <= shown   # every score, in blocks
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary leftovers


@pytest.mark.slow
def test_i2v_evaluate_errors_are_one_line(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert_one_line_error(i2v("evaluate", tmp_path / "nothing", "--out", out), "nothing")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert_one_line_error(i2v_here(capsys, "evaluate", bad, "--out", out), "bad.pt")
    assert_one_line_error(i2v_here(capsys, "evaluate", bad, "--videos", 0, "--out", out), "--videos")
    assert_one_line_error(i2v_here(capsys, "evaluate", bad), "--out")
    assert not out.exists()


@pytest.mark.slow
def test_math_is_finite_where_it_should_be(results):
    for name in ("oracle", "copy"):
        for k in ("acd_i", "acd_c", "landmark_rho", "l1", "ssim"):
            assert results[name]["scores"][k] is not None and math.isfinite(results[name]["scores"][k])


class Reader(Oracle):
    """An oracle that also infers intensities (like AffineGAN's Eq. 5): exactly, or reversed."""

    method = "reader"

    def __init__(self, clips, sign=1):
        super().__init__(clips)
        self.sign = sign

    def infer_intensity(self, neutral, frames, expression=None):
        clip = self.videos[np.asarray(neutral).tobytes()]
        assert expression == clip.expression and len(frames) == len(clip)
        return self.sign * np.asarray(clip.intensity)


@pytest.mark.slow
def test_models_that_infer_intensities_are_scored_on_it(clips):
    right = evaluate(Reader(clips), videos=N, frames=FRAMES, progress=False)
    wrong = evaluate(Reader(clips, sign=-1), videos=N, frames=FRAMES, progress=False)
    assert right["scores"]["inferred_intensity_rho"] == pytest.approx(1.0)
    assert wrong["scores"]["inferred_intensity_rho"] == pytest.approx(-1.0)
    assert right["reference"]["inferred_intensity_rho"] is None          # the truth infers nothing
    assert evaluate(Copy(), videos=1, frames=FRAMES, progress=False)["scores"]["inferred_intensity_rho"] is None
