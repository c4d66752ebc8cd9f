"""The `i2v` command, run as a user runs it: a subprocess, its exit status and its one-line errors (a test's later
calls run it in the test's process, entered the same way: :func:`i2v_here`)."""

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


def i2v_here(capsys, *args):
    """``i2v ARGS`` in this process, entered as the ``i2v`` script enters it, with what :func:`i2v` gives: its exit
    status, output and errors. A test runs the command once as a subprocess and its further calls here: a subprocess
    mostly imports torch (about 2.5 s of one core)."""
    from i2vlib.__main__ import main

    argv = [str(a) for a in args]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:                # a usage mistake: argparse's exit
        code = e.code
    said = capsys.readouterr()
    return subprocess.CompletedProcess(["i2v", *argv], code, said.out, said.err)


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
def test_prepare_on_photos_and_bad_sources(tmp_path, capsys):
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
    assert_one_line_error(i2v_here(capsys, "prepare", tmp_path / "empty", tmp_path / "o1"))
    noface = tmp_path / "noface"
    noface.mkdir()
    Image.fromarray(data.coffee()).save(noface / "coffee.png")
    assert_one_line_error(i2v_here(capsys, "prepare", noface, tmp_path / "o2"), "no face")
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert_one_line_error(i2v_here(capsys, "prepare", bad, tmp_path / "o3"), "broken.png")
    assert_one_line_error(i2v_here(capsys, "prepare", tmp_path / "missing", tmp_path / "o4"))
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 5))


@pytest.mark.slow
def test_contact_sheet(tmp_path, capsys):
    r = i2v("contact-sheet", tmp_path / "sheet.png", "--size", 48, "--identities", 9, 19)
    assert r.returncode == 0, r.stderr
    w, h = Image.open(tmp_path / "sheet.png").size
    assert h > 7 * 48 and w > 10 * 48
    assert_one_line_error(i2v_here(capsys, "contact-sheet", tmp_path / "x.png", "--identities", 99999), "out of range")


@pytest.mark.slow
def test_usage_mistakes_are_one_line_too(tmp_path, capsys):
    assert_one_line_error(i2v("synth", tmp_path / "o", "--videos", 0), "--videos", "must lie in [1, 10000]")
    assert_one_line_error(i2v_here(capsys, "synth"), "required")
    assert_one_line_error(i2v_here(capsys, "transmogrify"), "invalid choice")
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def real_photos(tmp_path_factory):
    """The two real photos that ship with installed packages, as files: the astronaut (512 x 512) and Grace Hopper
    (512 wide, 600 high)."""
    import shutil

    import matplotlib
    from skimage import data

    root = tmp_path_factory.mktemp("photos")
    Image.fromarray(data.astronaut()).save(root / "astronaut.png")
    shutil.copy(f"{matplotlib.get_data_path()}/sample_data/grace_hopper.jpg", root / "grace_hopper.jpg")
    Image.fromarray(data.coffee()).save(root / "coffee.png")
    return root


@pytest.mark.parametrize("model, expression", [("affinegan-happy", None), ("fan-happy", None),
                                               ("frgan-faces", "happy")])
def test_generate_on_a_photo_changes_its_face_and_nothing_else(real_photos, tmp_path, capsys, model, expression):
    """A photo in, the photo out: PNG frames at the photo's own size, every pixel outside the face's box (which the
    sidecar gives) the photo's own, the face changed as the intensity grows; one line says how many faces were
    found, and one that the model never saw a photograph. (In this process, as the CLI's main: a subprocess
    would spend most of its time importing torch.)"""
    from i2vlib.cli import main

    for name in ("astronaut.png", "grace_hopper.jpg"):
        photo = np.asarray(Image.open(real_photos / name).convert("RGB"))
        out = tmp_path / name.split(".")[0]
        code = main(["generate", f"zoo:{model}", str(real_photos / name), "--out", str(out), "--intensities", "0",
                     "1", *(["--expression", expression] if expression else [])])
        said = capsys.readouterr()
        assert code == 0, said.err
        assert "found 1 face in the photo" in said.out
        assert said.err.count("synthetic benchmark") == 1 and len(said.err.strip().splitlines()) == 1, said.err
        side = json.loads((out / "frames.json").read_text())
        x0, y0, x1, y1 = side["crop_box"]
        assert side["alignment"]["faces_found"] == 1 and (side["height"], side["width"]) == photo.shape[:2]
        assert 0 <= x0 < x1 <= photo.shape[1] and 0 <= y0 < y1 <= photo.shape[0] and x1 - x0 == y1 - y0 > 100
        frames = [np.asarray(Image.open(out / f"{t:04d}.png")) for t in range(2)]
        outside = np.ones(photo.shape[:2], bool)
        outside[y0:y1, x0:x1] = False
        for frame in frames:
            assert frame.shape == photo.shape and np.array_equal(frame[outside], photo[outside])
        mouth = (slice(y0 + (y1 - y0) // 2, y1 - (y1 - y0) // 5), slice(x0 + (x1 - x0) // 3, x1 - (x1 - x0) // 3))
        assert np.abs(frames[1][mouth].astype(int) - frames[0][mouth]).mean() > 2          # the smile is drawn


def test_generate_on_a_photo_without_a_face_and_the_options_that_skip_or_keep_the_crop(real_photos, tmp_path, capsys):
    r = i2v("generate", "zoo:fan-happy", real_photos / "coffee.png", "--out", tmp_path / "cup")
    assert_one_line_error(r, "no face found", "--whole-image")
    assert not (tmp_path / "cup").exists()

    def run(*args):                        # the rest in this process
        r = i2v_here(capsys, "generate", "zoo:fan-happy", *args)
        return r.returncode, r.stderr

    code, said = run(real_photos / "coffee.png", "--out", tmp_path / "cup", "--whole-image", "--intensities", 0, 1)
    assert code == 0 and said.count("synthetic benchmark") == 1, said
    assert Image.open(tmp_path / "cup" / "0001.png").size == (64, 64)                  # today's squashed whole image
    assert json.loads((tmp_path / "cup" / "frames.json").read_text())["crop_box"] is None
    code, said = run(real_photos / "astronaut.png", "--out", tmp_path / "crop", "--no-paste", "--intensities", 0, 1)
    assert code == 0 and Image.open(tmp_path / "crop" / "0001.png").size == (64, 64)
    assert json.loads((tmp_path / "crop" / "frames.json").read_text())["alignment"]["pasted"] is False
    for args, words in [(["--face", 2], ["face 2 asked for", "shows 1 face"]),
                        (["--whole-image", "--no-paste"], ["--whole-image finds no face"]),
                        (["--face", 0], ["--face", "must be at least 1"])]:
        code, said = run(real_photos / "astronaut.png", "--out", tmp_path / "x", *args)
        assert code == 2 and all(w in said.strip().splitlines()[-1] for w in words), said
    code, said = run("synthetic:1", "--out", tmp_path / "x", "--face", 1)
    assert code == 2 and "benchmark face" in said
    assert not (tmp_path / "x").exists()
    code, said = run("synthetic:1", "--out", tmp_path / "s.gif", "--intensities", 0, 1)
    assert code == 0 and "synthetic benchmark" not in said                         # a benchmark face: no note
