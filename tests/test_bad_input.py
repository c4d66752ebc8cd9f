"""Bad input, as a new user types it: every case ends with exit status 2 and exactly one line on
stderr, no traceback, and nothing written (the workspace is the same before and after); Ctrl-C
ends with 130 and leaves nothing half-written; after each failure the corrected command works.

The CLI runs in-process (``i2vlib.cli.main``) in a workspace folder, so that a case costs
milliseconds; ``tests/test_cli.py`` runs the same command as a subprocess.
"""

import os
import signal
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import i2vlib
from i2vlib import I2VError, cli, render
from i2vlib.data.folders import write_affinegan
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.train import train

UNWRITABLE = "/proc/i2v-cannot-exist"      # root can write almost anywhere, but not under /proc


def smoke_run_and_face(root: Path, run: Path) -> np.ndarray:
    """A copy of ``run`` (conftest's one-step smoke AffineGAN run) in ``root/run`` and a test face in
    ``root/face.png``; returns the face."""
    shutil.copytree(run, root / "run")
    face = SyntheticBenchmark(64).video("test", 0).frames[0]
    Image.fromarray(face).save(root / "face.png")
    return face


@pytest.fixture(scope="module")
def ws(tmp_path_factory, smoke_affinegan_run):
    """A workspace: a trained smoke run, images good and odd, a file, folders, an anger-only dataset."""
    root = tmp_path_factory.mktemp("ws")
    face = smoke_run_and_face(root, smoke_affinegan_run)
    Image.fromarray(face).save(root / "synthetic_me.png")
    (root / "notimage.png").write_text("hello")
    (root / "afile").write_text("x")
    (root / "full").mkdir()
    (root / "full" / "mine.txt").write_text("keep me")
    (root / "empty").mkdir()
    (root / "folder.png").mkdir()
    bench = SyntheticBenchmark(64)
    write_affinegan(root / "angry", [bench.video(s, i, expression="anger", n_frames=6)
                                     for s in ("train", "test") for i in range(2)])
    ckpt = torch.load(root / "run" / "checkpoint.pt", weights_only=True)
    ckpt["method"] = ["affinegan"]
    torch.save(ckpt, root / "damaged.pt")             # edited after it was written: its digest no longer fits
    del ckpt["sha256"]
    torch.save(ckpt, root / "edited.pt")              # edited, as if written before checkpoints had digests
    (root / "noise.pt").write_bytes(os.urandom(3000))
    ckpt = torch.load(root / "run" / "checkpoint.pt", weights_only=True)
    del ckpt["sha256"]
    torch.save({**ckpt, "step": "six"}, root / "stepsix.pt")   # edited by hand, without its digest
    (root / "photos").mkdir()
    Image.fromarray(face).save(root / "photos" / "one.png")     # a folder of photos: i2v prepare's input
    return root


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.stat().st_size if p.is_file() else "dir" for p in sorted(root.rglob("*"))}


def run_cli(ws, monkeypatch, capsys, args) -> tuple[int, list[str]]:
    monkeypatch.chdir(ws)
    capsys.readouterr()
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as stop:      # usage mistakes end inside argparse
        code = stop.code
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def assert_clean_failure(ws, monkeypatch, capsys, args, words, status=2):
    before = tree(ws)
    code, err = run_cli(ws, monkeypatch, capsys, args)
    assert code == status, (args, err)
    assert len(err) == 1 and err[0].startswith("i2v: ") and "Traceback" not in err[0], err
    for w in words:
        assert w in err[0], err[0]
    assert tree(ws) == before, f"{args} left {set(tree(ws)) ^ set(before)}"


TRAIN = ["train", "affinegan", "--profile", "smoke", "--quiet"]
GEN = ["generate", "run", "face.png"]
CASES = {
    # i2v synth
    "synth size below 32": (["synth", "s", "--size", "16"], ["at least 32"]),
    "synth out under a file": (["synth", "afile/s"], ["afile is a file, not a folder"]),
    "synth out is a file": (["synth", "afile"], ["is a file; give a folder"]),
    "synth out not writable": (["synth", f"{UNWRITABLE}/s"], ["cannot write"]),
    "synth unknown expression": (["synth", "s", "--expressions", "smirk"], ["unknown expression 'smirk'"]),
    "synth unknown curve": (["synth", "s", "--curves", "zigzag"], ["unknown intensity curve 'zigzag'"]),
    "synth unknown split": (["synth", "s", "--splits", "nope"], ["unknown split"]),
    "synth zero videos": (["synth", "s", "--videos", "0"], ["must lie in [1, 10000]"]),
    "synth too many videos": (["synth", "s", "--videos", "99999999999"], ["must lie in [1, 10000]"]),
    "synth size 100000": (["synth", "s", "--size", "100000"], ["must lie in [1, 1024]"]),
    "contact-sheet size 100000": (["contact-sheet", "c.png", "--size", "100000"], ["must lie in [1, 1024]"]),
    "synth old --profile flag": (["synth", "s", "--profile", "linear"], ["--curves"]),
    "synth over a full folder": (["synth", "full"], ["not empty", "--overwrite"]),
    "synth one-frame videos": (["synth", "s", "--frames", "1", "4"], ["frame range"]),
    # i2v prepare
    "prepare missing source": (["prepare", "nowhere", "p"], ["nowhere"]),
    "prepare out under a file": (["prepare", "angry", "afile/p"], ["afile is a file, not a folder"]),
    "prepare out is its source": (["prepare", "angry", "angry"], ["must not be the source"]),
    "prepare empty source": (["prepare", "empty", "p"], ["empty"]),
    # i2v contact-sheet
    "contact-sheet out is a folder": (["contact-sheet", "folder.png"], ["is a folder"]),
    "contact-sheet out ends in a slash": (["contact-sheet", "c.png/"], ["is a folder"]),
    "contact-sheet out under a file": (["contact-sheet", "afile/c.png"], ["afile is a file, not a folder"]),
    "contact-sheet not an image name": (["contact-sheet", "c.txt"], ["suffix"]),
    "contact-sheet identity out of range": (["contact-sheet", "c.png", "--identities", "999999"], ["out of range"]),
    "contact-sheet out not writable": (["contact-sheet", f"{UNWRITABLE}/c.png"], ["cannot write"]),
    "contact-sheet negative seed": (["contact-sheet", "c.png", "--seed", "-1"], ["--seed", "must lie in [0, "]),
    "synth negative seed": (["synth", "s", "--seed", "-1"], ["--seed", "must lie in [0, "]),
    "evaluate negative seed": (["evaluate", "run", "--out", "m.json", "--seed", "-1"], ["--seed", "must lie in [0, "]),
    # i2v train
    "train unknown method": (["train", "nomethod", "--out", "r"], ["unknown method"]),
    "train unknown profile": (["train", "affinegan", "--profile", "huge", "--out", "r"], ["unknown profile"]),
    "train empty profile": (["train", "affinegan", "--profile", "", "--out", "r"], ["unknown profile ''"]),
    "train missing data folder": ([*TRAIN, "--data", "nowhere", "--out", "r"], ["unknown data"]),
    "train nothing to resume": ([*TRAIN, "--out", "r", "--resume"], ["nothing to resume"]),
    "train --set without =": ([*TRAIN, "--out", "r", "--set", "mix"], ["KEY=VALUE"]),
    "train size not a power of two": ([*TRAIN, "--out", "r", "--size", "100"], ["power of two of at least 32"]),
    "train size 16": ([*TRAIN, "--out", "r", "--size", "16"], ["image_size=16 is out of range: [32, 1024]"]),
    "train size 48": ([*TRAIN, "--out", "r", "--size", "48"], ["power of two"]),
    "train unknown expression": ([*TRAIN, "--out", "r", "--expressions", "smirk"], ["unknown expression"]),
    "train out is a file": ([*TRAIN, "--out", "afile"], ["is a file"]),
    "train out under a file": ([*TRAIN, "--out", "afile/r"], ["afile is a file, not a folder"]),
    "train out not writable": ([*TRAIN, "--out", f"{UNWRITABLE}/r"], ["cannot write"]),
    "train device gpu": ([*TRAIN, "--out", "r", "--device", "gpu"], ["device 'gpu' is not available", "cpu"]),
    "train device cuda": ([*TRAIN, "--out", "r", "--device", "cuda"], ["device 'cuda' is not available"]),
    "train out holds other files": ([*TRAIN, "--out", "full"], ["not empty"]),
    "train unknown option": ([*TRAIN, "--out", "r", "--set", "colour=1"], ["unknown affinegan option 'colour'"]),
    "train unknown loss weight": ([*TRAIN, "--out", "r", "--set", 'weights={"z": 1}'], ["loss weight"]),
    "train data lacks the expression": ([*TRAIN, "--data", "angry", "--out", "r"], ["no videos of happy"]),
    "train data not prepared": ([*TRAIN, "--data", "photos", "--out", "r"], ["videos layout", "i2v prepare"]),
    "train convlstm mixes": (["train", "convlstm", "--profile", "smoke", "--out", "r", "--expressions", "happy",
                              "anger"], ["one model per expression"]),
    "train over an existing run": ([*TRAIN, "--out", "run"], ["already holds a run"]),
    # i2v generate
    "generate missing run": (["generate", "nowhere", "face.png", "--out", "v.gif"], ["no such checkpoint"]),
    "generate missing image": (["generate", "run", "none.png", "--out", "v.gif"], ["no such image"]),
    "generate not an image": (["generate", "run", "notimage.png", "--out", "v.gif"], ["cannot read image"]),
    "generate NaN intensity": ([*GEN, "--intensities", "nan", "--out", "v.gif"], ["not a finite number", "'nan'"]),
    "generate negative intensity": ([*GEN, "--intensities", "-1", "--out", "v.gif"], ["[0, 1]"]),
    "generate unknown expression": ([*GEN, "--expression", "anger", "--out", "v.gif"], ["cannot render 'anger'"]),
    "generate bad suffix": ([*GEN, "--out", "v.xyz"], ["unsupported video suffix"]),
    "generate out under a file": ([*GEN, "--out", "afile/v.gif"], ["afile is a file, not a folder"]),
    "generate out not writable": ([*GEN, "--out", f"{UNWRITABLE}/v.gif"], ["cannot write"]),
    "generate into a foreign folder": ([*GEN, "--out", "full"], ["holds other files"]),
    "generate fps 1e-9": ([*GEN, "--out", "v.gif", "--fps", "1e-9"], ["fps must be a number from"]),
    "generate fps 0": ([*GEN, "--out", "v.gif", "--fps", "0"], ["fps must be a number from"]),
    "generate device gpu": ([*GEN, "--out", "v.gif", "--device", "gpu"], ["device 'gpu' is not available"]),
    "generate device cuda": ([*GEN, "--out", "v.gif", "--device", "cuda"], ["device 'cuda' is not available"]),
    "generate synthetic:abc": (["generate", "run", "synthetic:abc", "--out", "v.gif"], ["synthetic:K"]),
    "generate synthetic:99999": (["generate", "run", "synthetic:99999", "--out", "v.gif"], ["synthetic:K"]),
    "generate empty mix": ([*GEN, "--mix", "happy=", "--out", "v.gif"], ["EXPR=A,A"]),
    "generate mix and intensities": ([*GEN, "--mix", "happy=0,1", "--intensities", "0", "--out", "v.gif"],
                                     ["not both"]),
    "generate 10000 intensities": ([*GEN, "--intensities", *["0.5"] * 10000, "--out", "v.gif"], ["at most 1000"]),
    "generate hand-edited method": (["generate", "edited.pt", "face.png", "--out", "v.gif"], ["unknown method"]),
    "generate noise checkpoint": (["generate", "noise.pt", "face.png", "--out", "v.gif"], ["not a readable"]),
    "generate damaged checkpoint": (["generate", "damaged.pt", "face.png", "--out", "v.gif"], ["is damaged"]),
    "generate checkpoint at step six": (["generate", "stepsix.pt", "face.png", "--out", "v.gif"], ["step='six'"]),
    "evaluate checkpoint at step six": (["evaluate", "stepsix.pt", "--out", "m.json"], ["step='six'"]),
    # i2v evaluate
    "evaluate out is a folder": (["evaluate", "run", "--out", "empty"], ["is a folder"]),
    "evaluate out under a file": (["evaluate", "run", "--out", "afile/m.json"], ["afile is a file, not a folder"]),
    "evaluate missing run": (["evaluate", "nowhere", "--out", "m.json"], ["no such checkpoint"]),
    "evaluate missing data": (["evaluate", "run", "--data", "nowhere", "--out", "m.json"], ["unknown data"]),
    "evaluate device gpu": (["evaluate", "run", "--out", "m.json", "--device", "gpu"], ["not available"]),
    # usage mistakes
    "no subcommand": ([], ["required"]),
    "unknown subcommand": (["fly"], ["invalid choice"]),
    "videos not a number": (["synth", "s", "--videos", "many"], ["not an integer"]),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.slow
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(name, ws, monkeypatch, capsys):
    args, words = CASES[name]
    assert_clean_failure(ws, monkeypatch, capsys, args, words)


def test_data_named_synthetic_beside_a_folder_of_that_name_is_ambiguous(ws, monkeypatch, capsys):
    (ws / "synthetic").mkdir()
    try:
        assert_clean_failure(ws, monkeypatch, capsys, [*TRAIN, "--out", "r"], ["ambiguous", "./synthetic"])
    finally:
        (ws / "synthetic").rmdir()


# ----------------------------------------------------------------------------- silently wrong, now right
@pytest.mark.slow
def test_an_image_named_synthetic_something_is_that_file(ws, monkeypatch, capsys, tmp_path):
    face = np.full((64, 64, 3), 90, np.uint8)
    Image.fromarray(face).save(tmp_path / "synthetic_me.png")
    code, _ = run_cli(ws, monkeypatch, capsys, [*GEN[:2], tmp_path / "synthetic_me.png", "--intensities", "0",
                                                "--out", tmp_path / "a.gif"])
    code2, _ = run_cli(ws, monkeypatch, capsys, [*GEN[:2], "synthetic:0", "--intensities", "0",
                                                 "--out", tmp_path / "b.gif"])
    assert code == code2 == 0
    a, b = render.read_video(tmp_path / "a.gif"), render.read_video(tmp_path / "b.gif")
    assert not np.array_equal(a, b)
    assert render.read_sidecar(tmp_path / "a.gif")["image"].endswith("synthetic_me.png")


# ----------------------------------------------------------------------------- the Python API
@pytest.mark.parametrize("call,words", [
    (lambda ws: i2vlib.load(ws / "nowhere"), ["no such checkpoint"]),
    (lambda ws: i2vlib.load(ws / "run", device="gpu"), ["not available"]),
    (lambda ws: i2vlib.load(ws / "run", device="cuda"), ["not available"]),
    (lambda ws: i2vlib.load(ws / "edited.pt"), ["unknown method"]),
    (lambda ws: i2vlib.load(ws / "stepsix.pt"), ["step='six'", "not a whole number"]),
    (lambda ws: i2vlib.load(ws / "run").generate(ws / "face.png", [0.5], as_tensor="no"), ["as_tensor must be"]),
    (lambda ws: i2vlib.load(ws / "run").generate(np.zeros((0, 0, 3), np.uint8), [0]), ["H x W x 3"]),
    (lambda ws: i2vlib.load(ws / "run").generate(ws / "face.png", [0.5] * 1001), ["at most 1000"]),
    (lambda ws: i2vlib.load(ws / "run").generate(ws / "face.png", {"happy": [0], "anger": [0]}), ["cannot render"]),
    (lambda ws: i2vlib.load(ws / "run").generate(ws / "face.png", "abc"), ["must be numbers"]),
    (lambda ws: i2vlib.load(ws / "run").generate(ws / "face.png", [0], expression="anger"), ["cannot render"]),
    (lambda ws: render.save_video(np.zeros((2, 8, 8, 3), np.uint8), ws / "x.txt"), ["unsupported video suffix"]),
    (lambda ws: render.save_video(np.zeros((2, 8, 8, 3), np.uint8), ws / "y.gif", fps=1e-9), ["fps"]),
    (lambda ws: render.save_video(np.zeros((2, 8, 8, 3), np.uint8), ws / "afile" / "y.gif"), ["not a folder"]),
    (lambda ws: train({"method": "affinegan", "profile": "smoke"}, ws / "afile", progress=False), ["is a file"]),
    (lambda ws: train({"method": "affinegan", "profile": "smoke"}, ws / "r", device="cuda", progress=False),
     ["not available"]),
])
def test_python_api_bad_input_is_one_line_and_leaves_nothing(ws, call, words):
    before = tree(ws)
    with pytest.raises(I2VError) as e:
        call(ws)
    assert "\n" not in str(e.value) and all(w in str(e.value) for w in words), str(e.value)
    assert tree(ws) == before


# ----------------------------------------------------------------------------- failed or stopped runs
@pytest.mark.slow
def test_a_failed_training_leaves_nothing_and_the_corrected_rerun_works(ws, monkeypatch, capsys, tmp_path):
    out = tmp_path / "deep" / "r"
    code, err = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--data", "angry", "--out", out])
    assert code == 2 and not (tmp_path / "deep").exists()
    code, err = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--data", "angry", "--expressions", "anger",
                                                  "--steps", "2", "--out", out])
    assert code == 0 and (out / "checkpoint.pt").is_file(), err


@pytest.mark.slow
def test_a_folder_with_only_the_leftovers_of_an_unfinished_run_is_reusable(ws, monkeypatch, capsys, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "losses.csv").write_text("step,seconds\n")      # what an older version left after a failure
    code, err = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--steps", "2", "--out", out])
    assert code == 0 and (out / "checkpoint.pt").is_file(), err


def _interrupt_at(monkeypatch, target, name, calls=1):
    real, count = getattr(target, name), {"n": 0}

    def stop(*args, **kwargs):
        count["n"] += 1
        if count["n"] >= calls:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, stop)


@pytest.mark.slow
def test_ctrl_c_before_the_first_checkpoint_leaves_no_run_folder(ws, monkeypatch, capsys, tmp_path):
    from i2vlib.models.gan import GANTrainer

    _interrupt_at(monkeypatch, GANTrainer, "step", calls=2)
    code, err = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--steps", "6", "--out", tmp_path / "r"])
    assert code == 130 and err == ["i2v: interrupted"] and not (tmp_path / "r").exists()


@pytest.mark.slow
def test_ctrl_c_after_a_checkpoint_keeps_a_run_that_resumes(ws, monkeypatch, capsys, tmp_path):
    from i2vlib.models.gan import GANTrainer

    with monkeypatch.context() as m:
        _interrupt_at(m, GANTrainer, "step", calls=4)
        code, _ = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--steps", "6", "--checkpoint-every", "2",
                                                    "--out", tmp_path / "r"])
    assert code == 130 and sorted(p.name for p in (tmp_path / "r").iterdir()) == ["checkpoint.pt", "losses.csv",
                                                                                 "run.json"]
    code, err = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--steps", "6", "--out", tmp_path / "r", "--resume"])
    assert code == 0, err


@pytest.mark.parametrize("suffix,writer", [(".gif", "_write_gif"), (".mp4", "_write_mp4"), ("", "write_image")])
def test_ctrl_c_while_writing_a_video_leaves_nothing(ws, monkeypatch, capsys, tmp_path, suffix, writer):
    from i2vlib.render import files

    out = tmp_path / "deep" / f"clip{suffix}"
    real = getattr(files, writer)

    def half_then_stop(frames, path, *args):
        real(frames, path, *args)                   # a whole temporary file is written ...
        raise KeyboardInterrupt                     # ... and then the user presses Ctrl-C

    monkeypatch.setattr(files, writer, half_then_stop)
    code, err = run_cli(ws, monkeypatch, capsys, [*GEN, "--intensities", "0", "1", "--out", out])
    assert code == 130 and err == ["i2v: interrupted"] and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_ctrl_c_during_evaluate_and_prepare_leaves_nothing(ws, monkeypatch, capsys, tmp_path):
    from i2vlib.data import prepare as prep
    from i2vlib.evaluate import protocol

    with monkeypatch.context() as m:
        _interrupt_at(m, protocol, "score_video", calls=2)
        code, _ = run_cli(ws, monkeypatch, capsys, ["evaluate", "run", "--videos", "3", "--out", tmp_path / "m.json"])
    assert code == 130 and list(tmp_path.iterdir()) == []
    with monkeypatch.context() as m:
        _interrupt_at(m, prep, "prepare_clip", calls=2)
        code, _ = run_cli(ws, monkeypatch, capsys, ["prepare", "angry", tmp_path / "p"])   # its landmarks: no dlib
    assert code == 130 and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_real_sigint_stops_training_with_130_and_no_run_folder(ws, tmp_path):
    out = tmp_path / "r"
    # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT: restore the default.
    proc = subprocess.Popen([sys.executable, "-m", "i2vlib.cli", *TRAIN, "--steps", "100000", "--checkpoint-every",
                             "100000", "--out", str(out)], cwd=ws, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        while not out.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1].strip().splitlines()
    finally:
        proc.kill()       # never leave a 100000-step training behind
    assert proc.returncode == 130 and err[-1] == "i2v: interrupted" and "Traceback" not in "".join(err)
    assert not out.exists()


def test_a_ctrl_c_while_the_library_loads_exits_130_in_one_line(tmp_path):
    """The i2v script imports torch for seconds before a command starts; a Ctrl-C then is no traceback either."""
    proc = subprocess.Popen([sys.executable, "-m", "i2vlib", *TRAIN, "--steps", "100000", "--out", str(tmp_path / "r")],
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(1.0)    # past `import i2vlib` (a fifth of a second); whether torch has loaded or not, 130
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
    finally:
        proc.kill()
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "i2v: interrupted", err
    assert "Traceback" not in err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("bad,good", [
    (["synth", "{t}/s", "--videos", "1", "--expressions", "happy", "--size", "16"],
     ["synth", "{t}/s", "--videos", "1", "--expressions", "happy", "--size", "32"]),
    ([*GEN, "--intensities", "0", "1", "--out", "{t}/v.gif", "--fps", "0"],
     [*GEN, "--intensities", "0", "1", "--out", "{t}/v.gif", "--fps", "4"]),
    ([*GEN, "--intensities", "0", "2", "--out", "{t}/frames/"], [*GEN, "--intensities", "0", "1", "--out", "{t}/frames/"]),
    (["evaluate", "run", "--videos", "1", "--device", "gpu", "--out", "{t}/m.json"],
     ["evaluate", "run", "--videos", "1", "--device", "cpu", "--out", "{t}/m.json"]),
])
def test_after_a_failure_the_corrected_command_works(ws, monkeypatch, capsys, tmp_path, bad, good):
    code, _ = run_cli(ws, monkeypatch, capsys, [a.format(t=tmp_path) for a in bad])
    assert code == 2 and list(tmp_path.iterdir()) == []
    code, err = run_cli(ws, monkeypatch, capsys, [a.format(t=tmp_path) for a in good])
    assert code == 0 and list(tmp_path.iterdir()), err


@pytest.mark.slow
def test_what_was_asked_and_not_done_is_an_error(ws, tmp_path, monkeypatch, capsys):
    """Options that would silently do less than asked: a repeated --mix, snapshots past the last step, fewer
    steps than a resumed run has, a pose model with expressions, a photo far smaller than the model."""
    cases = [
        (["generate", "run", "face.png", "--mix", "happy=0,0.5", "happy=1,1", "--out", "v.gif"], ["twice"]),
        ([*TRAIN, "--out", "r2", "--steps", "3", "--snapshots", "100"], ["beyond the run's 3 steps"]),
        (["train", "frgan-pose", "--profile", "smoke", "--expressions", "anger", "--out", "r3"], ["no expressions"]),
        (["train", "frgan-pose", "--profile", "smoke", "--expressions", "happy", "--out", "r3"], ["no expressions"]),
        ([*GEN, "--intensities", "0", "--intensities", "1", "1", "--out", "v.gif"], ["--intensities is given twice"]),
        ([*TRAIN, "--out", "r4", "--steps", "1", "--steps", "2"], ["--steps is given twice"]),
        ([*TRAIN, "--out", "r4", "--steps", "1", "--set", "steps=1.5"], ["steps is given by --steps"]),
        ([*TRAIN, "--out", "r4", "--set", "data=nowhere"], ["data is given by --data"]),
        ([*TRAIN, "--out", "r4", "--set", "profile=paper"], ["profile is given by --profile"]),
        (["prepare", "angry", "angry/p"], ["must not be the source", "lie inside it"]),
    ]
    for args, words in cases:
        assert_clean_failure(ws, monkeypatch, capsys, args, words)
    train({"method": "affinegan", "profile": "smoke", "steps": 2}, tmp_path / "two", progress=False)
    before = tree(tmp_path)
    code, err = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--out", str(tmp_path / "two"), "--steps", "1", "--resume"])
    assert code == 2 and len(err) == 1 and "is at step 2" in err[0] and tree(tmp_path) == before
    code, err = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--out", str(tmp_path / "two"), "--steps", "3", "--resume",
                                                  "--snapshots", "1"])
    assert code == 2 and len(err) == 1 and "cannot be taken" in err[0] and tree(tmp_path) == before
    with pytest.raises(I2VError, match="too small for a 64-px model"):
        i2vlib.load(ws / "run").generate(np.zeros((1, 1, 3), np.uint8), [0.5])
    # the command line says so in its one line: the note on what the model was trained on comes only with frames
    Image.fromarray(np.zeros((2, 64, 3), np.uint8)).save(tmp_path / "sliver.png")
    assert_clean_failure(ws, monkeypatch, capsys, ["generate", "run", str(tmp_path / "sliver.png"), "--out", "v.gif",
                                                   "--intensities", "0"], ["too small for a 64-px model"])
    with pytest.raises(I2VError, match=r"a batch of 2 images"):
        i2vlib.load(ws / "run").generate(np.zeros((2, 64, 64, 3), np.uint8), [0.5])
