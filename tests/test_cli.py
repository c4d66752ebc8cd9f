"""The `i2v` command, run as a user runs it: a subprocess, its exit status and its one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from i2vlib.data.folders import read_affinegan
from i2vlib.data.synthetic import SyntheticBenchmark


def i2v(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "i2vlib.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def assert_one_line_error(result, *words):
    assert result.returncode == 2, result
    # Progress bars may come first; the error is exactly one line, the last, and no traceback.
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("i2v:")]
    assert errors == lines[-1:] and errors[0].startswith("i2v: error:"), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for w in words:
        assert w in errors[0], errors[0]


@pytest.mark.slow
def test_synth_writes_the_affinegan_layout_and_reads_back(tmp_path):
    out = tmp_path / "synth"
    r = i2v("synth", out, "--videos", 2, "--size", 64, "--expressions", "happy", "close-eyes",
            "--curves", "linear", "unordered", "--frames", 6, 9, "--seed", 3)
    assert r.returncode == 0, r.stderr
    assert "wrote 8 videos" in r.stdout
    for expr in ("happy", "close-eyes"):
        for split in ("train", "test"):
            videos = sorted((out / expr / split / "img").iterdir())
            assert len(videos) == 2
            for v in videos:
                frames = sorted(v.glob("*.png"))
                masks = sorted((out / expr / split / "patch" / v.name).glob("*.png"))
                assert 6 <= len(frames) <= 9 and len(masks) == len(frames)
                assert Image.open(frames[0]).size == (64, 64)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["format"] == "i2v-affinegan" and len(meta["videos"]) == 8
    assert {v["meta"]["curve"] for v in meta["videos"].values()} == {"linear", "unordered"}

    data = read_affinegan(out)
    assert len(data) == 8 and set(data.expressions) == {"happy", "close-eyes"}
    bench = SyntheticBenchmark(size=64, seed=3, frames=(6, 9))
    for clip in data:
        index = int(clip.video_id.split("_v")[1])
        truth = bench.video(clip.split, index, expression=clip.expression, curve=("linear", "unordered")[index % 2])
        np.testing.assert_array_equal(clip.frames, truth.frames)
        np.testing.assert_allclose(clip.intensity, truth.intensity, atol=1e-6)
        np.testing.assert_allclose(clip.landmarks, truth.landmarks, atol=0.006)
        np.testing.assert_array_equal(clip.masks, truth.masks)
        assert clip.identity == truth.identity and clip.meta["curve"] == truth.meta["curve"]


@pytest.mark.slow
def test_synth_is_deterministic(tmp_path):
    for name in ("a", "b"):
        assert i2v("synth", tmp_path / name, "--videos", 1, "--expressions", "anger", "--splits", "test",
                   "--frames", 4, 4).returncode == 0
    fa = sorted((tmp_path / "a").rglob("*.png"))
    fb = sorted((tmp_path / "b").rglob("*.png"))
    assert [p.relative_to(tmp_path / "a") for p in fa] == [p.relative_to(tmp_path / "b") for p in fb]
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(fa, fb))


@pytest.mark.parametrize("args, words", [
    (["--expressions", "happy", "smug"], ["unknown expression", "smug"]),
    (["--curves", "zigzag"], ["unknown intensity curve", "zigzag"]),
    (["--profile", "linear"], ["--curves", "run profile"]),   # the old name of --curves
    (["--splits", "holdout"], ["unknown split", "holdout"]),
    (["--size", "16"], ["at least 32"]),
])
@pytest.mark.slow
def test_synth_bad_input_is_one_line_and_writes_nothing(tmp_path, args, words):
    out = tmp_path / "out"
    assert_one_line_error(i2v("synth", out, "--videos", 1, *args), *words)
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no temporary leftovers either


@pytest.mark.slow
def test_synth_refuses_a_non_empty_folder_unless_told(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    assert_one_line_error(i2v("synth", tmp_path, "--videos", 1, "--expressions", "happy", "--frames", 3, 3),
                          str(tmp_path))
    assert (tmp_path / "keep.txt").read_text() == "mine"


@pytest.mark.slow
def test_prepare_on_photos_and_bad_sources(tmp_path):
    import matplotlib
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(data.astronaut()).save(photos / "astronaut.png")
    hopper = Image.open(f"{matplotlib.get_data_path()}/sample_data/grace_hopper.jpg")
    hopper.save(photos / "hopper.jpg")
    r = i2v("prepare", photos, tmp_path / "out", "--size", 96)
    assert r.returncode == 0, r.stderr
    assert "clips: 2" in r.stdout and "skipped: 0" in r.stdout
    clips = read_affinegan(tmp_path / "out")
    assert len(clips) == 2 and clips[0].frames.shape == (1, 96, 96, 3) and clips[0].landmarks.shape == (1, 68, 2)

    (tmp_path / "empty").mkdir()
    assert_one_line_error(i2v("prepare", tmp_path / "empty", tmp_path / "o1"))
    noface = tmp_path / "noface"
    noface.mkdir()
    Image.fromarray(data.coffee()).save(noface / "coffee.png")
    assert_one_line_error(i2v("prepare", noface, tmp_path / "o2"), "no face")
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert_one_line_error(i2v("prepare", bad, tmp_path / "o3"), "broken.png")
    assert_one_line_error(i2v("prepare", tmp_path / "missing", tmp_path / "o4"))
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 5))


@pytest.mark.slow
def test_contact_sheet(tmp_path):
    r = i2v("contact-sheet", tmp_path / "sheet.png", "--size", 48, "--identities", 9, 19)
    assert r.returncode == 0, r.stderr
    w, h = Image.open(tmp_path / "sheet.png").size
    assert h > 7 * 48 and w > 10 * 48
    assert_one_line_error(i2v("contact-sheet", tmp_path / "x.png", "--identities", 99999), "out of range")


@pytest.mark.slow
def test_usage_mistakes_are_one_line_too(tmp_path):
    assert_one_line_error(i2v("synth", tmp_path / "o", "--videos", 0), "--videos", "must lie in [1, 10000]")
    assert_one_line_error(i2v("synth"), "required")
    assert_one_line_error(i2v("transmogrify"), "invalid choice")
    assert not (tmp_path / "o").exists()
