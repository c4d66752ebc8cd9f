"""Bad input by class (issue: the second battery), beside ``tests/test_bad_input.py``: output paths that would destroy
or crash, files that are not what they claim, values that mean nothing, the Python API, the module entry points and
the process edges (a closed pipe, a full device, an ASCII terminal). Every case that is an error ends in one line
with exit status 2 and changes nothing; every case that works gives what a viewer or the schema says it should.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_bad_input import assert_clean_failure, run_cli, smoke_run_and_face, tree

import i2vlib
from i2vlib import I2VError, cli
from i2vlib.checkpoint import digest, read_checkpoint
from i2vlib.config import config_hash
from i2vlib.io import MAX_PIXELS, as_image, read_image, read_losses
from i2vlib.models import get_method
from i2vlib.run_files import run_lock
from i2vlib.train import train

LONG = "x" * 300                       # longer than any file system's name limit (255 bytes)
TRAIN = ["train", "affinegan", "--profile", "smoke", "--quiet"]
GEN = ["generate", "run", "face.png", "--intensities", "0", "1"]
REPO = Path(__file__).resolve().parents[1]


def _resave(ckpt: dict, path: Path) -> None:
    """Save an edited checkpoint with a fresh digest: the file is whole, only what it holds is wrong."""
    ckpt = {k: v for k, v in ckpt.items() if k not in ("sha256", "path")}
    torch.save({**ckpt, "sha256": digest(ckpt)}, path)


def _png_claiming(w: int, h: int, path: Path) -> None:
    """A tiny PNG whose header claims ``w`` x ``h`` pixels (a decompression bomb, or a photo too large)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
                     + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def ws(tmp_path_factory, smoke_affinegan_run):
    """A trained smoke run, a face, and files that are not what they claim."""
    root = tmp_path_factory.mktemp("ws")
    smoke_run_and_face(root, smoke_affinegan_run)
    ckpt = torch.load(root / "run" / "checkpoint.pt", weights_only=True)
    nan = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
           for k, v in ckpt["weights"]["generator"].items()}
    _resave({**ckpt, "weights": {**ckpt["weights"], "generator": nan}}, root / "nan.pt")
    _resave({**ckpt, "config": [1, 2, 3]}, root / "configlist.pt")
    _resave({**ckpt, "weights": 5}, root / "weightsint.pt")
    _resave({**ckpt, "weights": {**ckpt["weights"], "generator": [1, 2]}}, root / "netlist.pt")
    _resave({**ckpt, "config": {**ckpt["config"], 3: "x"}}, root / "configkey.pt")
    torch.save({"x": np.zeros(3)}, root / "pickle.pt")
    shutil.copy(root / "run" / "checkpoint.pt", root / "model.onnx")
    _png_claiming(20000, 20000, root / "bomb.png")
    _png_claiming(10000, 10000, root / "big.png")
    (root / "empty").mkdir()
    return root


# ----------------------------------------------------------------------------- 1. output paths
PATH_CASES = {
    "evaluate over the run's checkpoint": (["evaluate", "run", "--videos", "1", "--out", "run/checkpoint.pt"],
                                           ["run's own checkpoint.pt"]),
    "evaluate over the run's loss log": (["evaluate", "run", "--videos", "1", "--out", "run/losses.csv"],
                                         ["run's own losses.csv"]),
    "evaluate over the run's record": (["evaluate", "run", "--videos", "1", "--out", "run/run.json"],
                                       ["run's own run.json"]),
    "evaluate over a checkpoint file": (["evaluate", "run", "--videos", "1", "--out", "nan.pt"], ["is a checkpoint"]),
    "evaluate over its own model file": (["evaluate", "nan.pt", "--out", "nan.pt"], ["an input of this command"]),
    "generate into the run's snapshots": ([*GEN, "--out", "run/snapshots/v.gif"], ["run's own snapshots/v.gif"]),
    "generate over its own reference video": (["generate", "run", "face.png", "--reference", "ref.gif", "--out",
                                               "ref.gif"], ["is an input of this command"]),
    "export over a checkpoint named .onnx": (["export", "run", "--out", "model.onnx"], ["is a checkpoint"]),
    "evaluate out name too long": (["evaluate", "run", "--out", f"{LONG}.json"], ["too long"]),
    "evaluate out folder name too long": (["evaluate", "run", "--out", f"{LONG}/m.json"], ["too long"]),
    "generate out name too long": ([*GEN, "--out", f"{LONG}.gif"], ["too long"]),
    "generate frames folder name too long": ([*GEN, "--out", f"{LONG}/"], ["too long"]),
    "export out name too long": (["export", "run", "--out", f"{LONG}.onnx"], ["too long"]),
    "synth out name too long": (["synth", LONG, "--size", "32"], ["too long"]),
    "train out name too long": ([*TRAIN, "--steps", "1", "--out", LONG], ["too long"]),
    "contact-sheet name too long": (["contact-sheet", f"{LONG}.png", "--size", "32"], ["too long"]),
    "evaluate out a device": (["evaluate", "run", "--videos", "1", "--out", "/dev/null"], ["not a regular file"]),
    "synth into the current folder": (["synth", ".", "--overwrite", "--size", "32"], ["current folder"]),
    "synth into ''": (["synth", "", "--size", "32"], ["current folder"]),
    "synth over the folder that holds this one": (["synth", "..", "--overwrite", "--size", "32"], ["current folder"]),
    "synth over a run": (["synth", "run", "--overwrite", "--size", "32"], ["holds a run"]),
    "prepare over a run": (["prepare", "face.png", "run", "--overwrite"], ["holds a run"]),
}


@pytest.mark.parametrize("name", list(PATH_CASES))
def test_an_output_path_that_would_destroy_or_crash_is_one_line(name, ws, monkeypatch, capsys):
    args, words = PATH_CASES[name]
    if "--reference" in args:
        from i2vlib.render import save_video
        save_video(np.zeros((3, 64, 64, 3), np.uint8), ws / "ref.gif", fps=4)
    before = {p: p.read_bytes() for p in (ws / "run").iterdir()}
    assert_clean_failure(ws, monkeypatch, capsys, args, words)
    assert {p: p.read_bytes() for p in (ws / "run").iterdir()} == before


def test_generate_frames_into_the_current_folder_is_refused_and_leaves_nothing(ws, monkeypatch, capsys, tmp_path):
    """``--out .`` in an empty folder used to end in 'Device or resource busy' and leave a ``..old-*`` folder."""
    here = tmp_path / "o"
    here.mkdir()
    monkeypatch.chdir(here)
    for out in (".", ""):
        code = cli.main(["generate", str(ws / "run"), str(ws / "face.png"), "--intensities", "0", "--out", out])
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert code == 2 and len(err) == 1 and "current folder" in err[0], err
    assert list(tmp_path.rglob("*")) == [here]


@pytest.mark.slow
def test_resume_after_run_json_lost_its_device_works(ws, tmp_path):
    """A run.json without ``device`` (rewritten by hand, or by an older i2v evaluate --out RUN/run.json) resumes."""
    out = tmp_path / "r"
    train({"method": "affinegan", "profile": "smoke", "steps": 1}, out, progress=False)
    (out / "run.json").write_text(json.dumps({"model": "run", "scores": {}}))
    info = train({"method": "affinegan", "profile": "smoke", "steps": 2}, out, resume=True, progress=False)
    assert info["step"] == 2 and info["devices"] == [["cpu", 1]]


@pytest.mark.slow
def test_a_run_folder_is_locked_while_a_process_trains_into_it(ws, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    cfg = {"method": "affinegan", "profile": "smoke", "steps": 1}
    with run_lock(out):                 # another training holds the folder
        before = tree(tmp_path)
        with pytest.raises(I2VError, match="another process is training into it") as e:
            train(cfg, out, progress=False)
        assert "\n" not in str(e.value) and tree(tmp_path) == before
    assert train(cfg, out, progress=False)["step"] == 1       # free again once that process ends
    with run_lock(out):               # the lock is flock on the folder: the kernel drops it when a process dies
        fd = os.open(out, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "losses.csv", "run.json"]   # no lock file


@pytest.mark.slow
def test_two_trainings_started_into_one_folder_one_refused(tmp_path):
    """Two processes, one --out: one trains, the other is refused in one line (neither used to know of the other)."""
    cmd = [sys.executable, "-m", "i2vlib", *TRAIN, "--steps", "30", "--out", str(tmp_path / "r")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd + ["--seed", str(s)], stderr=subprocess.PIPE, text=True, env=env) for s in (0, 1)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    err = next(e for code, e in results if code == 2).strip().splitlines()
    assert len(err) == 1 and ("another process" in err[0] or "already holds a run" in err[0]), err
    assert read_checkpoint(tmp_path / "r")["step"] == 30


def _i2v(*args, env=None, stdout=subprocess.PIPE, cwd=None):
    return subprocess.Popen([sys.executable, "-m", "i2vlib", *map(str, args)], stdout=stdout, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})}, cwd=cwd)


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(tmp_path):
    """``i2v zoo | head -c0``: the reader is gone before i2v writes; i2v ends as a shell tool does (status 141, the
    status of a process ended by SIGPIPE), with nothing on stderr."""
    r, w = os.pipe()
    os.close(r)
    proc = _i2v("zoo", stdout=w)
    os.close(w)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141 and err.decode() == ""


@pytest.mark.slow
def test_a_full_device_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        proc = _i2v("zoo", stdout=full)
        _, err = proc.communicate(timeout=300)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "No space left" in lines[0], lines


@pytest.mark.slow
def test_an_ascii_terminal_and_a_non_ascii_path(tmp_path):
    """An ASCII terminal (PYTHONIOENCODING=ascii) and a non-ASCII output name: the file is written and reported,
    no UnicodeEncodeError after the work is done."""
    proc = _i2v("contact-sheet", "m\u00e9tro.png", "--size", "32", env={"PYTHONIOENCODING": "ascii"}, cwd=tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "Traceback" not in err.decode(), err
    assert [p.name for p in tmp_path.iterdir()] == ["m\u00e9tro.png"] and b"wrote m" in out


@pytest.mark.slow
def test_an_onnx_file_with_a_name_the_locale_cannot_decode(ws, tmp_path):
    """Under LC_ALL=C without UTF-8 mode a non-ASCII name reaches Python as undecodable bytes, which the exporter's
    C++ side refused (TypeError); the file is now made in memory and written by Python."""
    proc = _i2v("export", ws / "run", "--out", "\u00e9.onnx", env={"LC_ALL": "C", "PYTHONUTF8": "0"}, cwd=tmp_path)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "Traceback" not in err.decode(), err
    assert [p.name for p in tmp_path.iterdir()] == ["\u00e9.onnx"]


def test_a_full_disk_while_writing_is_one_line_and_leaves_nothing(ws, tmp_path, monkeypatch):
    import errno

    from i2vlib.io import write_json

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(I2VError, match="No space left on device"):
        write_json(tmp_path / "m.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- 2. files that are not what they claim
FILE_CASES = {
    "generate NaN weights": (["generate", "nan.pt", "face.png", "--intensities", "0", "--out", "v.gif"],
                             ["NaN or infinite"]),
    "evaluate NaN weights": (["evaluate", "nan.pt", "--videos", "1", "--out", "m.json"], ["NaN or infinite"]),
    "export NaN weights": (["export", "nan.pt", "--out", "m.onnx"], ["NaN or infinite"]),
    "generate a config that is a list": (["generate", "configlist.pt", "face.png", "--out", "v.gif"],
                                         ["config is a list"]),
    "generate a config with a number for a key": (["generate", "configkey.pt", "face.png", "--out", "v.gif"],
                                                  ["config"]),
    "generate weights that are an int": (["generate", "weightsint.pt", "face.png", "--out", "v.gif"],
                                         ["weights are an int"]),
    "generate a network's weights a list": (["generate", "netlist.pt", "face.png", "--out", "v.gif"],
                                            ["generator", "list"]),
    "generate a pickle weights_only refuses": (["generate", "pickle.pt", "face.png", "--out", "v.gif"],
                                               ["numpy", "not a readable i2v checkpoint"]),
    "generate a 20000 x 20000 px image": (["generate", "run", "bomb.png", "--out", "v.gif"], ["megapixels"]),
    "generate a 100-megapixel image": (["generate", "run", "big.png", "--out", "v.gif"], ["100 megapixels"]),
}


@pytest.mark.parametrize("name", list(FILE_CASES))
def test_a_file_that_is_not_what_it_claims_is_one_line(name, ws, monkeypatch, capsys):
    args, words = FILE_CASES[name]
    assert_clean_failure(ws, monkeypatch, capsys, args, words)
    assert "\x1b" not in capsys.readouterr().err        # no terminal escapes from PyTorch's own explanation


def test_a_damaged_loss_log_is_one_line_on_resume_and_read(ws, monkeypatch, capsys, tmp_path):
    out = tmp_path / "r"
    train({"method": "affinegan", "profile": "smoke", "steps": 1}, out, progress=False)
    (out / "losses.csv").write_bytes(b"\xc0\xff\x00" * 100)
    assert_clean_failure(tmp_path, monkeypatch, capsys, [*TRAIN, "--out", out, "--steps", "2", "--resume"],
                         ["losses.csv", "damaged"])
    with pytest.raises(I2VError, match="damaged"):
        read_losses(out)


@pytest.mark.parametrize("run_json", ['{"step": ', '{"method": "affinegan", "step": "six"}'])
@pytest.mark.slow
def test_resume_refuses_a_bad_run_json_before_touching_the_loss_log(run_json, monkeypatch, capsys, tmp_path):
    """run.json is read before the loss log is cut back to the checkpoint's step: a refused resume changes no byte."""
    out = tmp_path / "r"
    train({"method": "affinegan", "profile": "smoke", "steps": 2}, out, progress=False)
    with (out / "losses.csv").open("a") as log:            # a row past the checkpoint, as a killed run leaves
        log.write("3,0.1" + ",0.5" * 9 + "\n")
    (out / "run.json").write_text(run_json)
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    assert_clean_failure(tmp_path, monkeypatch, capsys, [*TRAIN, "--out", out, "--steps", "3", "--resume"],
                         ["run.json"])
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before


def test_images_are_read_as_a_viewer_shows_them(tmp_path):
    upright = np.zeros((64, 48, 3), np.uint8)
    upright[:16] = (255, 0, 0)                                   # red on top, as shown
    exif = Image.Exif()
    exif[0x0112] = 6                                             # stored turned left; shown turned right
    Image.fromarray(np.ascontiguousarray(np.rot90(upright))).save(tmp_path / "turned.jpg", exif=exif, quality=95)
    got = read_image(tmp_path / "turned.jpg")
    assert got.shape == upright.shape and np.abs(got.astype(int) - upright).mean() < 10

    ramp = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    Image.fromarray(ramp, mode="F").save(tmp_path / "float.tif")
    assert np.abs(read_image(tmp_path / "float.tif")[..., 0].astype(int) - np.rint(ramp * 255)).max() <= 1
    Image.fromarray(ramp * 255, mode="F").save(tmp_path / "float255.tif")       # floats of 0..255 are levels
    assert np.abs(read_image(tmp_path / "float255.tif")[..., 0].astype(int) - np.rint(ramp * 255)).max() <= 1
    Image.fromarray(ramp * 1000 - 5, mode="F").save(tmp_path / "hdr.tif")
    with pytest.raises(I2VError, match="float image"):
        read_image(tmp_path / "hdr.tif")
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / "deep.png")
    assert np.abs(read_image(tmp_path / "deep.png")[..., 0].astype(int) - np.rint(ramp * 255)).max() <= 1


def test_images_beyond_the_pixel_limit_are_refused_before_decoding(ws, recwarn):
    for name in ("bomb.png", "big.png"):
        with pytest.raises(I2VError, match="megapixels") as e:
            read_image(ws / name)
        assert "\n" not in str(e.value) and f"{MAX_PIXELS // 10**6}" in str(e.value)
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


# ----------------------------------------------------------------------------- 3. values typed by the schema
def test_an_integer_option_stores_an_integer():
    fan = get_method("fan")
    whole = fan.default_config("smoke", d_layers=5.0, ngf=8.0, frames=[6.0, 8.0], batch=4.0)
    assert [type(whole[k]) for k in ("d_layers", "ngf", "batch")] == [int, int, int] and whole["frames"] == [6, 8]
    assert all(type(v) is int for v in whole["frames"])
    assert config_hash(whole) == config_hash(fan.default_config("smoke", d_layers=5, ngf=8, frames=[6, 8], batch=4))
    for bad in ({"d_layers": 2.5}, {"ngf": 8.5}, {"frames": [6.5, 8]}, {"d_layers": True}, {"seed": 1.5}):
        with pytest.raises(I2VError, match="must be an integer|choose one of 3, 5"):
            fan.default_config("smoke", **bad)


def test_set_d_layers_5_0_trains_the_run_of_d_layers_5(ws, monkeypatch, capsys, tmp_path):
    code, err = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--steps", "1", "--out", tmp_path / "r", "--set",
                                                  "d_layers=5.0"])
    assert code == 0, err
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert type(info["config"]["d_layers"]) is int
    assert info["config_hash"] == config_hash(get_method("affinegan").default_config("smoke", d_layers=5, steps=1))


SET_CASES = {
    "--set a key twice": (["--set", "batch=1", "batch=2"], ["batch", "twice"]),
    "--set a key and its old name": (["--set", 'train_curves=["linear"]', 'train_profiles=["linear"]'],
                                     ["train_curves", "twice"]),
    "--set a loss weight twice in one JSON object": (["--set", 'weights={"l1": 1, "l1": 2}'], ["l1", "twice"]),
    "--set colour=null (no such option)": (["--set", "colour=null"], ["colour"]),
}


@pytest.mark.parametrize("name", list(SET_CASES))
def test_a_set_value_that_means_nothing_is_one_line(name, ws, monkeypatch, capsys):
    extra, words = SET_CASES[name]
    assert_clean_failure(ws, monkeypatch, capsys, [*TRAIN, "--steps", "1", "--out", "r", *extra], words)


@pytest.mark.slow
def test_set_null_only_where_null_is_the_options_value(ws, monkeypatch, capsys, tmp_path):
    """``batch=null`` used to train with the default batch; ``ema=null`` (no moving average) is the default's value."""
    assert_clean_failure(ws, monkeypatch, capsys, [*TRAIN, "--steps", "1", "--out", "r", "--set", "batch=null"],
                         ["batch=null", "default is 4"])
    code, err = run_cli(ws, monkeypatch, capsys, [*TRAIN, "--steps", "1", "--out", tmp_path / "r", "--set",
                                                  "ema=null"])
    assert code == 0, err


@pytest.mark.parametrize("intensities", [[[0.5, 0.5]], [True, False], ["0.5"], [0.5, "a"], np.array([True]),
                                         np.zeros((2, 1)), {"happy": [[0.1]]}, {"happy": [False]}, [None], True])
def test_intensities_are_a_flat_list_of_numbers(ws, intensities):
    model = i2vlib.load(ws / "run")
    with pytest.raises(I2VError, match="intensities") as e:
        model.generate(ws / "face.png", intensities)
    assert "\n" not in str(e.value)


def test_flat_intensities_of_any_number_type_work(ws):
    model = i2vlib.load(ws / "run")
    for a, n in (([0, 1], 2), ((0.5,), 1), (np.array([0.25, 1.0], np.float32), 2), (torch.tensor([0.5, 1.0]), 2),
                 (0.5, 1), ([np.float64(0.5)], 1), (np.int64(1), 1)):
        assert len(model.generate(ws / "face.png", a)) == n


@pytest.mark.parametrize("where", ["joints", "source"])
def test_pose_forecast_joints_must_be_finite(where):
    model = i2vlib.load("zoo:frgan-pose")
    s = model.image_size
    joints, source = np.full((2, 13, 2), s / 2, np.float32), np.full((13, 2), s / 2, np.float32)
    (joints[0] if where == "joints" else source)[3, 1] = np.nan
    with pytest.raises(I2VError, match="NaN or infinite"):
        model.forecast(np.zeros((s, s, 3), np.uint8), source, joints)
    with pytest.raises(I2VError, match="13 x 2"):
        model.forecast(np.zeros((s, s, 3), np.uint8), np.zeros((12, 2)), np.full((2, 13, 2), s / 2))


# ----------------------------------------------------------------------------- 4. the Python API
API_CASES = {
    "read_checkpoint(123)": (lambda ws: read_checkpoint(123), ["a checkpoint is", "int"]),
    "read_checkpoint(None)": (lambda ws: read_checkpoint(None), ["a checkpoint is", "NoneType"]),
    "to_onnx of a string": (lambda ws: importlib.import_module("i2vlib.onnx_export").to_onnx("run", ws / "m.onnx"),
                            ["i2vlib.load", "str"]),
    "to_onnx of None": (lambda ws: importlib.import_module("i2vlib.onnx_export").to_onnx(None, ws / "m.onnx"),
                        ["i2vlib.load", "NoneType"]),
    "generate a PIL image of an unknown kind": (lambda ws: i2vlib.load(ws / "run").generate(
        Image.new("I;16B", (64, 64)).convert("F").point(lambda v: v - 5), [0.5]), ["float image"]),
}


@pytest.mark.parametrize("name", list(API_CASES))
def test_the_python_api_speaks_in_one_line(name, ws):
    call, words = API_CASES[name]
    before = tree(ws)
    with pytest.raises(I2VError) as e:
        call(ws)
    assert "\n" not in str(e.value) and all(w in str(e.value) for w in words), str(e.value)
    assert tree(ws) == before


def test_a_tensor_that_requires_grad_is_detached(ws):
    model = i2vlib.load(ws / "run")
    face = torch.rand(64, 64, 3, requires_grad=True)
    frames = model.generate((face * 255).round().to(torch.uint8), [0.5])       # uint8 cannot require grad ...
    assert frames.shape == (1, 64, 64, 3)
    assert as_image(face, convert=True).dtype == np.uint8                       # ... a float face can, and reads
    assert model.generate(face, [0.5]).shape == (1, 64, 64, 3)                  # floats in [0, 1] are a face too
    pose = i2vlib.load("zoo:frgan-pose")
    s = pose.image_size
    frames = pose.forecast(torch.zeros(s, s, 3, dtype=torch.uint8), torch.full((13, 2), s / 2.0, requires_grad=True),
                           torch.full((1, 13, 2), s / 2.0, requires_grad=True))
    assert frames.shape == (1, s, s, 3)


def _lab(rgb: Image.Image) -> Image.Image:
    from PIL import ImageCms
    return ImageCms.applyTransform(rgb, ImageCms.buildTransformFromOpenProfiles(
        ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"))


@pytest.mark.parametrize("mode", ["P", "PA", "CMYK", "YCbCr", "HSV", "LAB", "LA", "La", "1", "I", "F"])
def test_every_pil_mode_is_read_in_its_colours(ws, mode):
    rgb = Image.open(ws / "face.png").convert("RGB")
    if mode == "LAB":
        im, want = _lab(rgb), np.asarray(rgb)
    elif mode in ("I", "I;16", "F"):
        gray = np.asarray(rgb.convert("L"))
        scale = {"I": 1, "I;16": 257, "F": 1 / 255}[mode]
        dtype = {"I": np.int32, "I;16": np.uint16, "F": np.float32}[mode]
        im, want = Image.fromarray((gray.astype(np.float64) * scale).astype(dtype)), np.repeat(gray[..., None], 3, -1)
        assert im.mode == mode
    elif mode == "La":
        im = rgb.convert("LA").convert("La")
        want = np.asarray(rgb.convert("L").convert("RGB"))
    else:
        im = rgb.convert(mode)
        want = np.asarray(im.convert("RGBA" if "A" in mode or "a" in mode else "RGB"))
        want = want[..., :3] if want.shape[-1] == 4 else want
    got = as_image(im)
    assert got.shape == (64, 64, 3) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - want).mean() < 2, (mode, np.abs(got.astype(int) - want).mean())


def test_a_pil_image_with_exif_orientation_is_upright(tmp_path):
    upright = np.zeros((64, 48, 3), np.uint8)
    upright[:16] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(np.rot90(upright))).save(tmp_path / "t.jpg", exif=exif)
    with Image.open(tmp_path / "t.jpg") as im:
        assert as_image(im).shape == (64, 48, 3)


# ----------------------------------------------------------------------------- 5. module entry points
ENTRY_POINTS = {
    "i2vlib.records.ablations": ["--rungs", "x"], "i2vlib.records.verify": ["--runs", "x"],
    "i2vlib.records.make_zoo": ["--workers", "0"], "i2vlib.studies.capacity": ["--workers", "x"],
    "i2vlib.studies.refine": ["--nope"], "i2vlib.studies.speckle": ["--nope"], "i2vlib.studies.eq5": ["--seeds", "-1"],
    "i2vlib.studies.upsample": ["--workers", "0"], "i2vlib.colab": [],
    "i2vlib.instruments.fitter": ["--steps", "x", "--out", "a.pt"], "i2vlib.instruments.pose_net": ["--steps", "x"],
    "i2vlib.instruments.build": ["--steps", "x", "--out", "a.pt"], "i2vlib.evaluate.pose_protocol": ["--nope"],
}


@pytest.mark.parametrize("module", list(ENTRY_POINTS))
def test_every_module_entry_point_says_a_usage_mistake_in_one_line(module, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entry = importlib.import_module(module)
    with pytest.raises(SystemExit) as stop:
        entry.main(ENTRY_POINTS[module])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert stop.value.code == 2 and len(err) == 1 and "error" in err[0] and "--help" in err[0], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module,args,words", [
    ("i2vlib.colab", ["--check", "nowhere.ipynb"], ["no such notebook"]),
    ("i2vlib.colab", ["--check", "text.ipynb"], ["not a notebook"]),
    ("i2vlib.colab", ["text.ipynb"], ["not a notebook"]),
    ("i2vlib.colab", ["list.ipynb"], ["not a notebook"]),
    ("i2vlib.instruments.pose_net", ["--steps", "0"], ["at least 1"]),
    ("i2vlib.instruments.pose_net", ["--out", "/proc/i2v-cannot-exist/w.pt"], ["cannot write"]),
    ("i2vlib.evaluate.pose_protocol", ["--out", "/proc/i2v-cannot-exist/w.pt"], ["cannot write"]),
    ("i2vlib.instruments.build", ["--out", "/proc/i2v-cannot-exist/w.pt", "--quick"], ["cannot write"]),
    ("i2vlib.instruments.fitter", ["--out", f"{LONG}.pt", "--quick"], ["too long"]),
    ("i2vlib.records.verify", ["--out", f"{LONG}.json"], ["too long"]),
])
def test_a_module_entry_point_error_is_one_line(module, args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text.ipynb").write_text("no json")
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    before = tree(tmp_path)
    try:
        code = importlib.import_module(module).main(args)
    except SystemExit as stop:
        code = stop.code
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and all(w in err[0] for w in words), err
    assert tree(tmp_path) == before


def test_the_module_parsers_are_the_shared_one():
    """Every module with a command line builds it on :class:`i2vlib.errors.ArgumentParser` (one line per mistake)."""
    plain = []
    for path in sorted((REPO / "i2vlib").rglob("*.py")):
        text = path.read_text()
        if "argparse.ArgumentParser(" in text and path.name != "errors.py":
            plain.append(str(path.relative_to(REPO)))
    assert plain == []
