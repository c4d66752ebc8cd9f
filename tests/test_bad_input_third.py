"""Bad input, the third battery's classes (issue 75), beside ``tests/test_bad_input.py`` and ``_more.py``: an option
that means two things, a signal while a file is written, a video and its sidecar, OS errors, the Python API's input
types, a resume of an edited run, outputs that are not what was named. Each class runs through every entry point it
concerns: the ``i2v`` commands (in-process, and as a process where a signal or a limit needs one), the ``python -m``
entry points and the Python API. Cases that need root (``chattr +i``, a mount) are skipped without it.
"""

from __future__ import annotations

import argparse
import bz2
import errno
import gzip
import importlib
import io
import json
import lzma
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence
from test_bad_input import assert_clean_failure, run_cli, tree

import i2vlib
from i2vlib import I2VError, cli, errors, outputs, runs
from i2vlib.data.clips import from_tensor
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.inputs import check_image
from i2vlib.io import write_json
from i2vlib.render import read_sidecar, read_video, save_video
from i2vlib.render import files as render_files
from i2vlib.train import train

GEN = ["generate", "run", "face.png"]
TRAIN = ["train", "affinegan", "--profile", "smoke", "--quiet"]
DEAD = 4999999                    # above Linux's largest process id: the id of a writer that no longer runs
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A trained smoke run (2 steps, a checkpoint at each) and a test face."""
    root = tmp_path_factory.mktemp("ws")
    train({"method": "affinegan", "profile": "smoke", "steps": 2}, root / "run", progress=False, checkpoint_every=1)
    Image.fromarray(SyntheticBenchmark(64).video("test", 0).frames[0]).save(root / "face.png")   # a test face
    return root


@pytest.fixture()
def here(ws, tmp_path, monkeypatch):
    """A fresh folder holding a copy of the workspace's run and face, as the current folder."""
    shutil.copytree(ws / "run", tmp_path / "run")
    shutil.copy(ws / "face.png", tmp_path / "face.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _i2v(*args, cwd, limit=None, **kwargs) -> subprocess.Popen:
    def started():
        for signum in errors.TERMINATING:       # a background job's SIGINT, nohup's SIGHUP: ignored no more
            signal.signal(signum, signal.SIG_DFL)
        if limit is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.Popen([sys.executable, "-m", "i2vlib", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=started, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            **kwargs)


def _lines(err: bytes) -> list[str]:
    return [line for line in err.decode().splitlines() if line.strip()]


def _dots(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ----------------------------------------------------------------------------- 1. one parser policy
BASE = {"synth": ["synth", "s"], "prepare": ["prepare", "a", "p"], "zoo": ["zoo"], "claims": ["claims"],
        "contact-sheet": ["contact-sheet", "c.png"], "train": ["train", "affinegan", "--out", "r"],
        "generate": ["generate", "m", "i.png", "--out", "o.gif"], "evaluate": ["evaluate", "m", "--out", "m.json"],
        "export": ["export", "m", "--out", "m.onnx"], "gate": ["gate", "m", "--table", "affinegan"]}


def _options():
    """Every long option of every i2v command, with a value its type takes (None for a flag)."""
    sub = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command, parser in sub.choices.items():
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and action.help != argparse.SUPPRESS:
                    value = None if action.nargs == 0 else str((action.choices or ["1"])[0])
                    yield command, option, value, [o for a in parser._actions for o in a.option_strings]


OPTIONS = list(_options())


@pytest.mark.parametrize("command,option,value,known", OPTIONS, ids=[f"{c} {o}" for c, o, _, _ in OPTIONS])
def test_every_i2v_option_is_spelled_in_full_and_given_once(command, option, value, known, tmp_path, monkeypatch,
                                                            capsys):
    """No abbreviation is taken for the option it abbreviates, with a space or an ``=``; an option given twice is
    refused however each is spelled (``--fps=8 --fps 30``). Nothing runs, nothing is written."""
    monkeypatch.chdir(tmp_path)
    short = option[:-1]
    value_args = [] if value is None else [value]
    attempts = [] if short in known else [([short, *value_args], [short, option]),
                                          ([f"{short}={value}"] if value else [short], [short])]
    if option not in BASE[command]:
        twice = [f"{option}={value}", option, value] if value is not None else [option, option]
        attempts.append((twice, [option, "given twice"]))
    for extra, words in attempts:
        code, err = run_cli(tmp_path, monkeypatch, capsys, [*BASE[command], *extra])
        assert code == 2 and len(err) == 1 and all(w in err[0] for w in words), (extra, err)
    assert list(tmp_path.iterdir()) == []


MODULES = {   # module: (an abbreviation of one of its options, an option given twice) -- each refused while parsing
    "i2vlib.records.ablations": (["--lis"], ["--list", "--list"]),
    "i2vlib.records.verify": (["--run", "1"], ["--seed", "1", "--seed=2"]),
    "i2vlib.records.make_zoo": (["--ro", "x"], ["--root", "a", "--root=b"]),
    "i2vlib.studies.capacity": (["--no-tr"], ["--no-train", "--no-train"]),
    "i2vlib.studies.eq5": (["--work", "1"], ["--workers", "1", "--workers=2"]),
    "i2vlib.studies.refine": (["--see", "1"], ["--seeds", "1", "--seeds", "2"]),
    "i2vlib.studies.speckle": (["--ro", "x"], ["--root=a", "--root", "b"]),
    "i2vlib.studies.upsample": (["--no-t"], ["--workers=1", "--workers=2"]),
    "i2vlib.instruments.fitter": (["--out", "a.pt", "--qu"], ["--out", "a.pt", "--out=b.pt"]),
    "i2vlib.instruments.build": (["--out", "a.pt", "--assess"], ["--out", "a.pt", "--quick", "--quick"]),
    "i2vlib.instruments.pose_net": (["--step", "1"], ["--steps", "1", "--steps", "2"]),
    "i2vlib.evaluate.pose_protocol": (["--ou", "x.pt"], ["--out", "a.pt", "--out", "b.pt"]),
    "i2vlib.colab": (["x.ipynb", "--che"], ["x.ipynb", "--check", "--check"]),
}


@pytest.mark.parametrize("module", list(MODULES))
def test_every_module_entry_point_takes_options_in_full_and_once(module, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entry = importlib.import_module(module)
    for argv, words in zip(MODULES[module], (["is not an option"], ["given twice"])):
        with pytest.raises(SystemExit) as stop:
            entry.main(argv)
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert stop.value.code == 2 and len(err) == 1 and all(w in err[0] for w in words), (argv, err)
    assert list(tmp_path.iterdir()) == []


def test_every_command_line_of_the_library_and_its_benchmarks_is_the_shared_parser():
    """The policy lives in :class:`i2vlib.errors.ArgumentParser`: a plain argparse parser anywhere would take
    abbreviations and let the last of two options win."""
    repo = Path(__file__).resolve().parents[1]
    files = [p for folder in ("i2vlib", "benchmarks", "book") for p in sorted((repo / folder).rglob("*.py"))]
    plain = [str(p.relative_to(repo)) for p in files if "argparse.ArgumentParser(" in p.read_text()
             and p.name != "errors.py"]
    assert plain == []
    parser = errors.ArgumentParser(prog="p", allow_abbrev=True)      # asked for, still refused
    parser.add_argument("--steps")
    with pytest.raises(SystemExit):
        parser.parse_args(["--ste", "1"])


@pytest.mark.parametrize("value", ["-inf", "-1e-300", "-.5", "-1E+3", "1.0000000000000002", "1e400", "nan"])
def test_a_number_of_any_spelling_is_a_value_and_its_error_quotes_it(value, here, monkeypatch, capsys):
    """argparse took ``-inf`` and ``-1e-300`` for options ("expected at least one argument"), and
    ``1.0000000000000002`` was shown as ``1``: the line now quotes the number as it was typed."""
    assert_clean_failure(here, monkeypatch, capsys, [*GEN, "--out", "v.gif", "--intensities", "0", value],
                         ["--intensities", repr(value)])


@pytest.mark.parametrize("value", [float("-inf"), -1e-300, 1.0000000000000002, float("nan")])
def test_the_api_and_mix_quote_an_intensity_as_python_writes_it(value, here, monkeypatch, capsys):
    with pytest.raises(I2VError, match=f"got {value!r} for 'happy'"):
        i2vlib.load(here / "run").generate(here / "face.png", [0.5, value])
    assert_clean_failure(here, monkeypatch, capsys, [*GEN, "--out", "v.gif", "--mix", f"happy=0,{value!r}"],
                         [f"got {value!r}"])


def test_a_module_entry_point_reads_negative_numbers_as_values(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        importlib.import_module("i2vlib.studies.capacity").main(["--seeds", "-1e-300"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'-1e-300'" in err[0], err


# ----------------------------------------------------------------------------- 2. signals and what killed runs left
def _signal_inside(monkeypatch, module, name, signum):
    """``module.name`` does its work, then the process receives ``signum`` (as from ``kill``)."""
    real = getattr(module, name)

    def then_signal(*args, **kwargs):
        out = real(*args, **kwargs)
        os.kill(os.getpid(), signum)
        time.sleep(1)                 # the handler runs at the next instruction; the sleep is cut short
        return out

    monkeypatch.setattr(module, name, then_signal)


WRITERS = {   # what writes: (module, function, i2v arguments)
    "gif": (render_files, "_write_gif", [*GEN, "--intensities", "0", "1", "--out", "deep/v.gif"]),
    "mp4": (render_files, "_write_mp4", [*GEN, "--intensities", "0", "1", "--out", "deep/v.mp4"]),
    "frames": (render_files, "write_image", [*GEN, "--intensities", "0", "1", "--out", "deep/fr"]),
    "checkpoint": (torch, "save", [*TRAIN, "--steps", "2", "--out", "deep/r"]),
    "metrics": (Path, "write_text", ["evaluate", "run", "--videos", "1", "--out", "deep/m.json"]),
    "contact sheet": (Image.Image, "save", ["contact-sheet", "deep/c.png", "--size", "32"]),
}


@pytest.fixture()
def signals_heard():
    """The signals at their defaults while a test runs: a shell starts a background job (``pytest &``) with SIGINT
    ignored, ``nohup`` with SIGHUP ignored, and a command keeps a signal it started with ignored."""
    before = {s: signal.getsignal(s) for s in errors.TERMINATING}
    for s in errors.TERMINATING:
        signal.signal(s, signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)
    yield
    for s, handler in before.items():
        signal.signal(s, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_signal_while_a_file_is_written_leaves_nothing(writer, signum, here, monkeypatch, capsys, signals_heard):
    module, name, args = WRITERS[writer]
    before = tree(here)
    with monkeypatch.context() as m:
        _signal_inside(m, module, name, signum)
        code, err = run_cli(here, monkeypatch, capsys, args)
    want = (130, "i2v: interrupted") if signum == signal.SIGINT else (128 + signum, f"i2v: terminated ({signum.name})")
    assert (code, err[-1:]) == (want[0], [want[1]]), err
    assert tree(here) == before and _dots(here) == []
    assert signal.getsignal(signal.SIGTERM) is not errors._on_signal      # the command's handlers are gone again


def test_a_module_entry_point_ends_on_sigterm_as_i2v_does(tmp_path, monkeypatch, capsys):
    """Every ``python -m`` entry point runs through the same :func:`~i2vlib.errors.run_command`."""
    monkeypatch.chdir(tmp_path)

    @errors.command_line("tool")
    def main(argv):
        with outputs.atomic_path(tmp_path / "out.bin") as tmp:
            tmp.write_bytes(b"half")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        return 0

    assert main([]) == 143 and capsys.readouterr().err.strip() == "tool: terminated (SIGTERM)"
    assert list(tmp_path.iterdir()) == []


def test_a_real_sigterm_while_a_gif_is_written_leaves_nothing(ws, tmp_path):
    shutil.copy(ws / "face.png", tmp_path)
    shutil.copytree(ws / "run", tmp_path / "run")
    proc = _i2v(*GEN, "--out", "v.gif", "--intensities", *["0.5"] * 1000, cwd=tmp_path)
    while proc.poll() is None and not _dots(tmp_path):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    if proc.returncode == 0:            # the GIF was written before the signal came: then it is whole
        assert len(read_video(tmp_path / "v.gif")) == 1000
    else:
        assert proc.returncode == 143 and _lines(err)[-1] == "i2v: terminated (SIGTERM)", err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["face.png", "run"]


def test_a_signal_inside_a_deferred_block_acts_when_it_ends(tmp_path, monkeypatch):
    code = errors.run_command("t", _deferred, tmp_path)
    assert code == 143 and (tmp_path / "after").read_text() == "done"


def _deferred(folder: Path) -> int:
    with errors.signals_deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        (folder / "after").write_text("done")         # reached: the signal waits for the block's end
    raise AssertionError("the signal should have ended the command here")


def _stale(folder: Path) -> list[str]:
    """The leftovers of a writer killed mid-write (SIGKILL) in ``folder``: what the next write there removes."""
    names = [f".v.gif.i2v{DEAD}-abcdefgh.gif", f".v.gif.json.i2v{DEAD}-ijklmnop.json",
             f".fr.i2v{DEAD}-writing-abcdefgh", f".fr.i2v{DEAD}-old-abcdefgh", f".i2v{DEAD}-probe-abcdefgh",
             ".v.gif.i2v-lock"]
    for name in names:
        if "writing" in name or "old" in name:
            (folder / name / "x").mkdir(parents=True)
        else:
            (folder / name).write_bytes(b"half")
    return names


def test_the_next_write_removes_what_a_killed_writer_left(here, monkeypatch, capsys):
    """SIGKILL cannot be handled: what it leaves (named by the writer's process id) the next write there removes,
    through every writer (a video, a frame folder, the API, a run's checkpoint), and a live writer's stays."""
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    own = f".v.gif.i2v{live.pid}-qrstuvwx.gif"
    try:
        (here / own).write_bytes(b"a write in progress")
        for write in (lambda: run_cli(here, monkeypatch, capsys, [*GEN, "--intensities", "0", "1", "--out", "v.gif"]),
                      lambda: run_cli(here, monkeypatch, capsys, [*GEN, "--intensities", "0", "--out", "fr"]),
                      lambda: save_video(np.zeros((2, 8, 8, 3), np.uint8), here / "w.gif"),
                      lambda: write_json(here / "m.json", {})):
            _stale(here)
            write()
            assert _dots(here) == [own]
        (here / "run" / f".checkpoint.pt.i2v{DEAD}-abcdefgh.pt").write_bytes(b"half")
        assert run_cli(here, monkeypatch, capsys, [*TRAIN, "--steps", "3", "--out", "run", "--resume"])[0] == 0
        assert _dots(here / "run") == []
    finally:
        live.kill()
        live.wait()


@pytest.mark.skipif(not ROOT, reason="chattr +i needs root")
def test_a_frame_folder_that_cannot_be_replaced_is_refused_before_the_work(here, monkeypatch, capsys):
    """An immutable ``fr/frames.json`` left ``.fr.old-XXXX/`` behind after a run that reported success."""
    save_video(np.zeros((2, 8, 8, 3), np.uint8), here / "fr")
    if subprocess.run(["chattr", "+i", here / "fr" / "frames.json"]).returncode:
        pytest.skip("this file system has no immutable files")
    try:
        assert_clean_failure(here, monkeypatch, capsys, [*GEN, "--intensities", "0", "--out", "fr"],
                             ["fr/frames.json is immutable"])
        with pytest.raises(I2VError, match="immutable"):
            save_video(np.zeros((2, 8, 8, 3), np.uint8), here / "fr")
        assert _dots(here) == []
    finally:
        subprocess.run(["chattr", "-i", here / "fr" / "frames.json"])


# ----------------------------------------------------------------------------- 3. a video and its sidecar, one unit
@pytest.mark.parametrize("out", ["v.gif", "v.mp4", "fr"])
def test_equal_frames_are_frames_and_the_sidecar_agrees(out, here, monkeypatch, capsys):
    """``--intensities 0 0 0 --out o.gif`` wrote a GIF of 1 frame (Pillow merges equal frames) whose sidecar said 3."""
    code, err = run_cli(here, monkeypatch, capsys, [*GEN, "--intensities", "0", "0", "0", "--out", out])
    assert code == 0, err
    frames = read_video(here / out)
    assert len(frames) == 3 == read_sidecar(here / out)["frames"]
    if out == "v.gif":
        with Image.open(here / out) as im:                       # any GIF reader sees 3 frames, all alike
            assert sum(1 for _ in ImageSequence.Iterator(im)) == 3
        assert np.array_equal(frames[0], frames[2])
    save_video(frames[:1].repeat(4, 0), here / "api.gif")
    assert len(read_video(here / "api.gif")) == 4 == read_sidecar(here / "api.gif")["frames"]


def test_a_gif_whose_equal_frames_share_no_colour_with_the_others_says_why(tmp_path):
    a, b = np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)
    with pytest.raises(I2VError, match="a GIF would merge") as e:
        save_video(np.stack([a, a, b, b, b]), tmp_path / "v.gif")
    assert "\n" not in str(e.value) and list(tmp_path.iterdir()) == []


def test_the_sidecar_is_renamed_into_place_before_its_video(tmp_path, monkeypatch):
    order = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (order.append(Path(b).name), real(a, b)))
    save_video(np.zeros((2, 8, 8, 3), np.uint8), tmp_path / "v.gif")
    assert order == ["v.gif.json", "v.gif"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.gif", "v.gif.json"]     # the lock file is gone too


def _writer(job) -> None:
    k, path = job
    frames = (np.arange(2 + k)[:, None, None, None] * 7 + 40 * k + np.zeros((1, 16, 16, 3))).astype(np.uint8)
    save_video(frames, path, fps=8, writer=k)


def test_six_writers_of_one_video_leave_one_writers_video_and_sidecar(tmp_path):
    """6 processes calling save_video on one file: 12 of 40 rounds ended with one's GIF beside another's sidecar."""
    from multiprocessing import get_context

    with get_context("fork").Pool(6) as pool:
        for r in range(10):
            path = tmp_path / f"r{r}.gif"
            pool.map(_writer, [(k, str(path)) for k in range(6)])
            side = read_sidecar(path)                           # refuses a pair that disagrees
            assert len(read_video(path)) == side["frames"] == 2 + side["writer"]
    assert _dots(tmp_path) == []


@pytest.mark.parametrize("reader", [read_video, read_sidecar])
def test_a_video_beside_another_videos_sidecar_is_refused_in_one_line(reader, tmp_path):
    save_video(np.zeros((2, 8, 8, 3), np.uint8), tmp_path / "v.gif")
    save_video(np.full((3, 8, 8, 3), 9, np.uint8), tmp_path / "w.gif")
    shutil.copy(tmp_path / "w.gif", tmp_path / "v.gif")
    with pytest.raises(I2VError, match="v.gif.json does not describe") as e:
        reader(tmp_path / "v.gif")
    assert "\n" not in str(e.value)


# ----------------------------------------------------------------------------- 4. OS errors, one line each
def test_every_os_error_of_a_command_is_one_line_naming_the_path(capsys):
    def fails(e):
        raise e
    for e, words in ((PermissionError(errno.EACCES, "Permission denied", "a/x.gif"), ["a/x.gif", "Permission"]),
                     (OSError(errno.EROFS, "Read-only file system", "ro/m.json"), ["ro/m.json", "Read-only"]),
                     (OSError(errno.EPERM, "Operation not permitted", "o.gif"), ["o.gif", "immutable"]),
                     (BrokenPipeError(errno.EPIPE, "Broken pipe"), ["Broken pipe"])):
        assert errors.run_command("i2v", fails, e) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and all(w in err[0] for w in words), err


def test_torch_saves_full_disk_is_the_oserror_behind_it(tmp_path, monkeypatch):
    """``torch.save`` meets a full disk as an OSError, then fails to close its archive: ``RuntimeError: [enforce fail
    at inline_container.cc:672] . unexpected pos``. The OSError is what the line says."""
    def full(obj, f):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 74944 vs 74832")

    monkeypatch.setattr(torch, "save", full)
    from i2vlib.checkpoint import save_checkpoint
    with pytest.raises(I2VError, match=r"cannot write .*r/checkpoint.pt: No space left on device$"):
        save_checkpoint(tmp_path / "r" / "checkpoint.pt", "affinegan", {}, 1, weights={})
    assert list(tmp_path.iterdir()) == []


def test_ffmpegs_nothing_was_written_gives_way_to_the_cause():
    log = "[out#0/mp4] Error writing trailer: No space left on device\nNothing was written into output file"
    assert render_files._ffmpeg_failure(log, 1) == "No space left on device"
    assert render_files._ffmpeg_failure("x\nNothing was written into output file", 1) == "ffmpeg failed: x"
    assert "File too large" in render_files._ffmpeg_failure("", -signal.SIGXFSZ)


@pytest.mark.parametrize("what,args", [
    ("an MP4", [*GEN, "--intensities", *[str(i / 300) for i in range(300)], "--out", "v.mp4"]),
    ("a checkpoint", [*TRAIN, "--steps", "1", "--out", "r"]),
])
def test_a_limit_on_file_size_is_one_line(what, args, ws, tmp_path):
    """``ulimit -f``: torch.save's write fails with EFBIG (which it reported as ``enforce fail at
    inline_container.cc``); ffmpeg, a child process, is ended by SIGXFSZ instead."""
    shutil.copy(ws / "face.png", tmp_path)
    shutil.copytree(ws / "run", tmp_path / "run")
    proc = _i2v(*args, cwd=tmp_path, limit=20_000)
    _, err = proc.communicate(timeout=300)
    lines = _lines(err)
    assert proc.returncode == 2 and len(lines) == 1 and "File too large" in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.png", "run"]


def _mount(folder: Path, options: str) -> None:
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True).returncode:
        folder.rmdir()
        pytest.skip("cannot mount a tmpfs here")


@pytest.mark.skipif(not ROOT, reason="mounting needs root")
def test_a_full_disk_and_a_read_only_one_are_one_line_and_leave_nothing(here, monkeypatch, capsys):
    small, ro = here / "small", here / "ro"
    _mount(small, "size=256k")
    _mount(ro, "size=64k,ro")
    try:
        with open(small / "filler", "wb", buffering=0) as f:    # the disk is full to its last byte
            with pytest.raises(OSError):
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        for out in ("v.gif", "v.mp4", "fr"):
            assert_clean_failure(here, monkeypatch, capsys, [*GEN, "--intensities", *["0.5"] * 30, "--out",
                                                             f"small/{out}"], [f"small/{out}", "No space left"])
        assert_clean_failure(here, monkeypatch, capsys, [*TRAIN, "--steps", "1", "--out", "small/r"],
                             ["small/r/", "No space left"])
        code, err = run_cli(here, monkeypatch, capsys, ["evaluate", "run", "--videos", "1", "--out", "small/m.json"])
        err = [line for line in err if "%|" not in line]                      # its progress bar drew first
        assert code == 2 and err == ["i2v: error: cannot write small/m.json: No space left on device"], err
        with pytest.raises(I2VError, match="No space left"):
            save_video(np.random.default_rng(0).integers(0, 255, (30, 64, 64, 3), np.uint8), small / "api.mp4")
        assert sorted(p.name for p in small.iterdir()) == ["filler"]
        assert_clean_failure(here, monkeypatch, capsys, [*GEN, "--intensities", "0", "--out", "ro/v.gif"],
                             ["ro/v.gif", "Read-only file system"])
        with pytest.raises(I2VError, match="Read-only file system"):
            write_json(ro / "m.json", {})
    finally:
        for folder in (small, ro):
            subprocess.run(["umount", str(folder)])


@pytest.mark.skipif(not ROOT, reason="chattr +i needs root")
@pytest.mark.parametrize("target,args", [
    ("v.gif", [*GEN, "--intensities", "0", "--out", "v.gif"]),
    ("v.gif.json", [*GEN, "--intensities", "0", "--out", "v.gif"]),
    ("m.json", ["evaluate", "run", "--videos", "1", "--out", "m.json"]),
    ("m.onnx", ["export", "run", "--out", "m.onnx"]),
    ("c.png", ["contact-sheet", "c.png", "--size", "32"]),
])
def test_an_immutable_output_is_refused_before_the_work(target, args, here, monkeypatch, capsys):
    for name in {target, "v.gif"} if target == "v.gif.json" else {target}:
        (here / name).write_bytes(b"old")
    if subprocess.run(["chattr", "+i", here / target]).returncode:
        pytest.skip("this file system has no immutable files")
    try:
        assert_clean_failure(here, monkeypatch, capsys, args, [target, "immutable"])
        if target.startswith("v.gif"):
            with pytest.raises(I2VError, match="immutable"):
                save_video(np.zeros((2, 8, 8, 3), np.uint8), here / "v.gif")
        assert _dots(here) == []
    finally:
        subprocess.run(["chattr", "-i", here / target])


# ----------------------------------------------------------------------------- 5. the Python API's inputs
def _face(ws) -> np.ndarray:
    return np.array(Image.open(ws / "face.png").convert("RGB"))


ACCEPTED = {
    "uint8": lambda f, ws: f,
    "int64 levels": lambda f, ws: f.astype(np.int64),
    "uint16": lambda f, ws: f.astype(np.uint16) * 257,
    "floats in [0, 1]": lambda f, ws: f / 255.0,
    "float16 in [0, 1]": lambda f, ws: (f / 255.0).astype(np.float16),
    "floats in [-1, 1]": lambda f, ws: f / 127.5 - 1,
    "a nested list": lambda f, ws: f.tolist(),
    "a path": lambda f, ws: ws / "face.png",
    "a path as text": lambda f, ws: str(ws / "face.png"),
    "a file open for bytes": lambda f, ws: open(ws / "face.png", "rb"),
    "BytesIO": lambda f, ws: io.BytesIO((ws / "face.png").read_bytes()),
    "a PIL image": lambda f, ws: Image.open(ws / "face.png"),
    "a uint8 tensor": lambda f, ws: torch.from_numpy(f),
    "a bfloat16 tensor": lambda f, ws: torch.from_numpy(f / 255.0).bfloat16(),
    "a float64 tensor that requires grad": lambda f, ws: torch.from_numpy(f / 255.0).requires_grad_(),
    "a sparse tensor": lambda f, ws: torch.from_numpy(f).to_sparse(),
    "a channels-first tensor in [-1, 1]": lambda f, ws: torch.from_numpy(f / 127.5 - 1).permute(2, 0, 1),
    "a batch of one": lambda f, ws: f[None],
}


@pytest.mark.parametrize("kind", list(ACCEPTED))
def test_every_kind_of_image_the_api_names_is_the_same_face(kind, ws):
    face = _face(ws)
    got = check_image(ACCEPTED[kind](face, ws))
    assert got.dtype == np.uint8 and got.shape == face.shape
    assert np.abs(got.astype(int) - face).max() <= 1, kind       # [-1, 1] and bfloat16 round to within a level


def test_generates_own_tensor_is_accepted_back(ws):
    model = i2vlib.load(ws / "run", device="cpu:0")                # cpu:0 is the CPU
    out = model.generate(ws / "face.png", [0.0, 1.0], as_tensor=True)
    assert np.array_equal(check_image(out[1]), from_tensor(out)[1])
    assert model.generate(out[1], [0.5]).shape == model.generate(out[1:], [0.5]).shape == (1, 64, 64, 3)
    face = torch.from_numpy(_face(ws) / 255.0).bfloat16()
    assert model.generate(face, torch.tensor([0.0, 0.5]).bfloat16()).shape == (2, 64, 64, 3)


def test_a_photo_in_every_accepted_form_is_found_animated_and_pasted_back(ws):
    """The photo pipeline (generate on an image that is not a model-sized crop, and animate) reads its photo through
    the same check as every other image: each form gives the same frames as the array."""
    import skimage.data

    photo = np.ascontiguousarray(skimage.data.astronaut()[::2, ::2])
    model = i2vlib.load(ws / "run")
    want = model.generate(photo, [0.0, 1.0])
    assert want.shape == (2, *photo.shape)
    png = io.BytesIO()
    Image.fromarray(photo).save(png, format="PNG")
    forms = {"BytesIO": lambda: io.BytesIO(png.getvalue()), "a PIL image": lambda: Image.open(io.BytesIO(
             png.getvalue())), "a channels-first float tensor": lambda: torch.from_numpy(photo / 255.0).permute(2, 0, 1),
             "a nested list": photo.tolist}
    for name, form in forms.items():
        assert np.array_equal(model.generate(form(), [0.0, 1.0]), want), name
    assert model.animate(io.BytesIO(png.getvalue()), [1.0]).box == model.animate(photo, [1.0]).box
    back = model.generate(photo, [0.5], as_tensor=True)                # (1, 3, H, W) in [-1, 1]: a photo again
    assert model.generate(back, [0.5]).shape == (1, *photo.shape)
    for call in (model.generate, model.animate):
        with pytest.raises(I2VError, match="give a path") as e:
            call(object(), [0.5])
        assert "\n" not in str(e.value)


def _closed_pil(ws):
    im = Image.open(ws / "face.png")
    im.load()
    im.close()
    return im


def _closed_file(ws):
    f = open(ws / "face.png", "rb")
    f.close()
    return f


REFUSED = {
    "a ragged nested list": (lambda ws: [[1, 2, 3], [1, 2]], "ragged"),
    "a meta tensor": (lambda ws: torch.zeros(64, 64, 3, device="meta"), "meta device"),
    "a closed PIL image": (_closed_pil, "closed"),
    "a closed file": (_closed_file, "closed file"),
    "a text-mode file": (lambda ws: open(ws / "face.png", encoding="latin-1"), "opened as text"),
    "bytes": (lambda ws: (ws / "face.png").read_bytes(), "io.BytesIO"),
    "a complex array": (lambda ws: np.zeros((8, 8, 3), np.complex64), "dtype complex64"),
    "an object array": (lambda ws: np.array([[None]], dtype=object), "dtype object"),
    "a batch of two": (lambda ws: np.zeros((2, 8, 8, 3), np.uint8), "a batch of 2 images"),
    "floats in [0, 255]": (lambda ws: np.full((8, 8, 3), 200.0), "[0, 1] or [-1, 1]"),
    "integers beyond 255": (lambda ws: np.full((8, 8, 3), 300), "[0, 255]"),
    "NaN": (lambda ws: np.full((8, 8, 3), np.nan), "NaN"),
    "a number": (lambda ws: 3, "give a path"),
    "None": (lambda ws: None, "give a path"),
    "an object of its own": (lambda ws: object(), "give a path"),
    "a generator": (lambda ws: (row for row in range(3)), "give a path"),
    "a folder": (lambda ws: ws, "is a folder; give a path"),
    "a missing path": (lambda ws: ws / "nowhere.png", "no such image"),
    "channels-first numpy": (lambda ws: np.zeros((3, 8, 8), np.uint8), "channels-first"),
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_every_other_image_is_one_line_naming_what_is_wrong(kind, ws):
    make, words = REFUSED[kind]
    model = i2vlib.load(ws / "run")
    before = tree(ws)
    with pytest.raises(I2VError, match=re.escape(words)) as e:
        model.generate(make(ws), [0.5])
    assert "\n" not in str(e.value) and tree(ws) == before


@pytest.mark.parametrize("intensities,words", [
    (torch.zeros(2, device="meta"), "meta device"), ([[0.5], [0.5, 0.5]], "nested list"),
    ([1.0000000000000002], "got 1.0000000000000002"), ([-1e-300], "got -1e-300"), ([float("-inf")], "got -inf"),
    (np.array([[0.5, 0.5]]), "2-D array"),
])
def test_intensities_of_every_kind_are_checked_in_one_line(intensities, words, ws):
    with pytest.raises(I2VError, match=words) as e:
        i2vlib.load(ws / "run").generate(ws / "face.png", intensities)
    assert "\n" not in str(e.value)


def test_intensities_of_any_dtype_and_device_work(ws):
    model = i2vlib.load(ws / "run")
    for values, n in ((torch.tensor([0.0, 0.5]).bfloat16(), 2), (torch.tensor([0.0, 0.5, 1.0]).to_sparse(), 3),
                      (torch.tensor(0.5), 1), (np.array([0, 1], np.uint8), 2), ((0.0, 0.5), 2)):
        assert len(model.generate(ws / "face.png", values)) == n


@pytest.mark.parametrize("expression", [["happy"], ("happy",), {"happy"}, 5, ""])
def test_an_expression_is_one_name(expression, ws):
    with pytest.raises(I2VError, match="expression is one name|cannot render") as e:
        i2vlib.load(ws / "run").generate(ws / "face.png", [0.5], expression=expression)
    assert "\n" not in str(e.value)


def test_a_device_is_named_as_torch_names_it(ws, here, monkeypatch, capsys):
    assert i2vlib.load(ws / "run", device="cpu:0").device == torch.device("cpu")
    with pytest.raises(I2VError, match="'cpu:1' is not available"):
        i2vlib.load(ws / "run", device="cpu:1")
    code, err = run_cli(here, monkeypatch, capsys, [*GEN, "--intensities", "0", "--out", "v.gif", "--device", "cpu:0"])
    assert code == 0, err


# ----------------------------------------------------------------------------- 6. a resume of an edited run
EDITS = {"lr": 0.5, "steps": 5, "image_size": 32, "expressions": ["anger"], "ngf": 3, "batch": 2, "method": "fan"}


def _edit(run: Path, option: str, value) -> None:
    info = json.loads((run / "run.json").read_text())
    if option == "method":
        info["method"] = value
    else:
        info["config"][option] = value
    (run / "run.json").write_text(json.dumps(info))


@pytest.mark.parametrize("option", list(EDITS))
def test_a_resume_refuses_an_edited_run_json(option, here, monkeypatch, capsys):
    _edit(here / "run", option, EDITS[option])
    log = (here / "run" / "losses.csv").read_text()
    assert_clean_failure(here, monkeypatch, capsys, [*TRAIN, "--out", "run", "--steps", "3", "--resume"],
                         ["run.json was edited", option])
    with pytest.raises(I2VError, match=f"run.json was edited.*{option}"):
        train({"method": "affinegan", "profile": "smoke", "steps": 3}, here / "run", resume=True, progress=False)
    assert (here / "run" / "losses.csv").read_text() == log


def test_a_resume_refuses_a_missing_loss_log_and_takes_an_empty_one(here, monkeypatch, capsys):
    (here / "run" / "losses.csv").unlink()
    assert_clean_failure(here, monkeypatch, capsys, [*TRAIN, "--out", "run", "--steps", "3", "--resume"],
                         ["losses.csv is missing", "steps 1-2", "touch"])
    with pytest.raises(I2VError, match="losses.csv is missing"):
        runs.train({"method": "affinegan", "profile": "smoke", "steps": 3}, here / "run", resume=True, progress=False)
    (here / "run" / "losses.csv").write_text("")           # what the message offers: a log that starts here
    assert run_cli(here, monkeypatch, capsys, [*TRAIN, "--out", "run", "--steps", "3", "--resume"])[0] == 0
    assert [r.split(",")[0] for r in (here / "run" / "losses.csv").read_text().splitlines()[1:]] == ["3"]


def test_an_untouched_run_resumes_with_its_whole_log(here, monkeypatch, capsys):
    assert run_cli(here, monkeypatch, capsys, [*TRAIN, "--out", "run", "--steps", "3", "--resume"])[0] == 0
    assert [r.split(",")[0] for r in (here / "run" / "losses.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]


# ----------------------------------------------------------------------------- 7. outputs that are what was named
@pytest.mark.parametrize("out,words", [("v.gif.", "ends in a dot"), (".gif", "suffix without a name"),
                                       (".MP4", "suffix without a name"), ("-", "standard output"),
                                       ("sub/.png", "suffix without a name"), ("v.txt", "unsupported video suffix")])
def test_a_video_name_that_only_looks_like_one_is_refused(out, words, here, monkeypatch, capsys):
    """``--out o.gif.``, ``.gif`` and ``-`` silently wrote folders of PNG frames."""
    assert_clean_failure(here, monkeypatch, capsys, [*GEN, "--intensities", "0", "--out", out], [words])
    with pytest.raises(I2VError, match=words):
        save_video(np.zeros((1, 8, 8, 3), np.uint8), here / out if out != "-" else out)


@pytest.mark.parametrize("args", [["synth", "-", "--size", "32"], [*TRAIN, "--out", "-"],
                                  ["evaluate", "run", "--out", "-"], ["export", "run", "--out", "-"],
                                  ["contact-sheet", "c.png.", "--size", "32"], ["evaluate", "run", "--out", "m.json."],
                                  ["evaluate", "run", "--out", "m.json.zip"], ["synth", "s.", "--size", "32"]])
def test_every_command_refuses_standard_output_and_a_trailing_dot(args, here, monkeypatch, capsys):
    assert_clean_failure(here, monkeypatch, capsys, args, [])


@pytest.mark.parametrize("out", ["v.GIF", "v.Mp4"])
def test_suffixes_are_matched_in_any_case(out, here, monkeypatch, capsys):
    assert run_cli(here, monkeypatch, capsys, [*GEN, "--intensities", "0", "1", "--out", out])[0] == 0
    assert len(read_video(here / out)) == 2 == read_sidecar(here / out)["frames"]
    from i2vlib.onnx_export import check_destination
    assert check_destination(here / "m.ONNX") == here / "m.ONNX"


@pytest.mark.parametrize("target", ["real/v.gif", "real/new.gif"], ids=["a link", "a dangling link"])
def test_a_link_given_as_out_is_followed_not_replaced(target, here, monkeypatch, capsys):
    (here / "real").mkdir()
    (here / "real" / "v.gif").write_bytes(b"old")
    (here / "link.gif").symlink_to(target)
    assert run_cli(here, monkeypatch, capsys, [*GEN, "--intensities", "0", "1", "--out", "link.gif"])[0] == 0
    assert (here / "link.gif").is_symlink() and len(read_video(here / target)) == 2
    assert read_sidecar(here / "link.gif") == read_sidecar(here / target)          # the sidecar beside the target
    (here / "m.json").symlink_to("real/m.json")
    write_json(here / "m.json", {"a": 1})
    assert (here / "m.json").is_symlink() and json.loads((here / "real" / "m.json").read_text()) == {"a": 1}
    (here / "fr").symlink_to("real")
    with pytest.raises(I2VError, match="holds other files"):                    # real/ holds more than frames
        save_video(np.zeros((2, 8, 8, 3), np.uint8), here / "fr")


def test_a_link_to_a_runs_own_file_is_refused(here, monkeypatch, capsys):
    (here / "m.json").symlink_to("run/losses.csv")
    assert_clean_failure(here, monkeypatch, capsys, ["evaluate", "run", "--videos", "1", "--out", "m.json"],
                         ["run's own losses.csv"])


@pytest.mark.parametrize("name,opener", [("m.json.gz", gzip.decompress), ("m.JSON.GZ", gzip.decompress),
                                         ("m.json.bz2", bz2.decompress), ("m.json.xz", lzma.decompress)])
def test_json_named_compressed_is_written_compressed(name, opener, tmp_path):
    write_json(tmp_path / name, {"a": [1, None]})
    assert json.loads(opener((tmp_path / name).read_bytes())) == {"a": [1, None]}
    if name.endswith("gz"):                             # no time stamp in the header: the same JSON, the same bytes
        first = (tmp_path / name).read_bytes()
        write_json(tmp_path / name, {"a": [1, None]})
        assert (tmp_path / name).read_bytes() == first


def test_evaluate_writes_its_metrics_compressed_when_named_so(here, monkeypatch, capsys):
    code, err = run_cli(here, monkeypatch, capsys, ["evaluate", "run", "--videos", "1", "--out", "m.json.gz"])
    assert code == 0, err
    assert "scores" in json.loads(gzip.decompress((here / "m.json.gz").read_bytes()))
