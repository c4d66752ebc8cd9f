"""A battery of bad input, as a new user types it (issue 28): every option of every ``i2v`` command and the
Python API's entry points (``i2vlib.load``, ``model.generate``, each method's ``default_config``) with wrong
types, values out of range, unknown names, missing, empty, unreadable and damaged files, and interrupted runs.

    OMP_NUM_THREADS=1 python tests/battery.py [--out FILE] [--only WORD] [--part N] [--jobs N]

A script, not a test module (pytest does not collect it): ``tests/test_bad_input.py`` keeps each case that
found a fault. Each CLI case runs ``i2v`` as a subprocess in a fresh folder (its ``setup`` copies what it needs
there from a shared folder of assets, built once) and ends as one of :data:`OUTCOMES`; each case lists the
outcomes it accepts (by default ``clean_error`` alone). An API case calls the library in this process, in a
fresh folder too. The script prints JSON: the counts by outcome and every unacceptable case with its command
and the tail of its stderr. ``--part 3`` runs the third battery alone (issue 75: options that mean two things,
signals, a video and its sidecar, OS errors, the API's input types, edited runs, outputs that are not what was
named); cases that need root (``chattr +i``, a full or read-only mount) are skipped without it.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

OUTCOMES = {
    "clean_error": "exit 2, exactly one non-empty stderr line, no traceback, nothing left behind",
    "worked": "exit 0 and the output is as asked",
    "traceback": "a Python traceback reached the user",
    "multi_line": "a non-zero exit with more than one stderr line (no traceback)",
    "left_behind": "an error, but a new or changed file or folder remains",
    "silently_wrong": "exit 0 but the result is not what was asked",
    "interrupted_ok": "Ctrl-C, SIGTERM or SIGHUP: exit 130, 143 or 129, at most 2 stderr lines, nothing "
                      "half-written or temporary left",
    "wrong_status": "an error with one line but an exit status other than 2 (or a signal)",
    "vague": "a clean error whose line does not name what it must (the value as given, the path, the cause)",
    "timeout": "still running after the case's time limit",
    "skipped": "not run here (e.g. permissions do not bite as root)",
    "battery_error": "the battery itself failed on the case",
}
ERROR_OR_WORKED = ("clean_error", "worked")
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False
SIGNALLED = {130: signal.SIGINT, 128 + signal.SIGTERM: signal.SIGTERM, 128 + signal.SIGHUP: signal.SIGHUP}
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


@dataclass
class Case:
    """One bad (or borderline) input. ``args``: the ``i2v`` arguments, or ``api``: a call ``api(folder)`` in this
    process; ``setup(folder)`` makes what the case starts from; ``check(folder, stdout)`` returns why a result
    that exited 0 is not what was asked (None when it is); ``interrupt``: send SIGINT after this many seconds
    (``keeps``: what an interrupted run may keep), or ``signal`` once ``interrupt_when(folder)`` holds; ``says``: words
    the one error line must hold; ``module``: the ``python -m`` module run (default ``i2vlib``, the ``i2v`` command);
    ``file_limit``: a limit on the size of the files it writes (``ulimit -f``, bytes); ``teardown(folder)`` undoes
    what ``setup`` made that the folder's removal cannot (an immutable file, a mount)."""

    name: str
    args: list = field(default_factory=list)   # the i2v arguments
    ok: tuple = ("clean_error",)
    setup: Callable | None = None
    check: Callable | None = None
    api: Callable | None = None
    interrupt: float | None = None
    keeps: tuple = ()
    needs_permissions: bool = False
    timeout: float = 180
    signal: int = signal.SIGINT
    interrupt_when: Callable | None = None
    says: tuple = ()
    module: str = "i2vlib"
    file_limit: int | None = None
    needs_root: bool = False
    teardown: Callable | None = None
    part: int = 1


# ----------------------------------------------------------------------------- assets, built once
def build_assets(root: Path) -> Path:
    """A tiny trained run and every odd file the cases copy: photos good and bad, data folders of every wrong
    kind, damaged checkpoints and run records."""
    import torch
    from PIL import Image

    from i2vlib.data.folders import write_affinegan
    from i2vlib.data.synthetic import SyntheticBenchmark
    from i2vlib.render import save_video
    from i2vlib.train import train

    a = root / "assets"
    a.mkdir()
    train({"method": "affinegan", "profile": "smoke", "steps": 2}, a / "run", progress=False, device="cpu")
    bench = SyntheticBenchmark(64)
    face = bench.video("test", 0).frames[0]
    Image.fromarray(face).save(a / "face.png")
    Image.fromarray(face[:1, :1]).save(a / "tiny.png")                       # a 1 x 1 px photo
    Image.fromarray(face[:, :2]).save(a / "sliver.png")                      # 2 x 64 px
    Image.fromarray(face[..., 0]).save(a / "gray.png")
    Image.fromarray(np.dstack([face, np.full(face.shape[:2], 128, np.uint8)])).save(a / "rgba.png")
    (a / "notimage.png").write_text("hello")
    (a / "zero.png").write_bytes(b"")
    png = (a / "face.png").read_bytes()
    (a / "truncated.png").write_bytes(png[:len(png) // 2])
    (a / "folder.png").mkdir()
    (a / "notes.txt").write_text("x")
    save_video(bench.video("test", 1).frames[:6], a / "ref.gif", fps=8)
    (a / "ref.json").unlink(missing_ok=True)
    (a / "badref.mp4").write_text("not a video")
    (a / "emptyref").mkdir()
    (a / "textref").mkdir()
    (a / "textref" / "0000.png").write_text("no")
    # data folders
    write_affinegan(a / "angry", [bench.video(s, i, expression="anger", n_frames=6)
                                  for s in ("train", "test") for i in range(2)])
    write_affinegan(a / "onlytest", [bench.video("test", i, expression="happy", n_frames=6) for i in range(2)])
    # 180 clips, about 6 s to prepare: still running when the SIGINT case interrupts it
    write_affinegan(a / "big", [bench.video(s, i, expression=e, n_frames=16) for s in ("train", "test")
                                for e in ("happy", "anger", "surprise") for i in range(30)])
    (a / "emptydir").mkdir()
    (a / "textdata").mkdir()
    for i in range(3):
        (a / "textdata" / f"note{i}.txt").write_text("no images here")
    (a / "flat").mkdir()                                                      # images, but no layout
    (a / "flat" / "happy").mkdir()
    Image.fromarray(face).save(a / "flat" / "happy" / "0001.png")
    shutil.copytree(a / "angry", a / "badmeta")
    (a / "badmeta" / "metadata.json").write_text("{ not json")
    (a / "photos").mkdir()
    Image.fromarray(face[:1, :1]).save(a / "photos" / "one.png")
    (a / "photos" / "two.png").write_text("not a photo")
    # damaged checkpoints and runs
    ckpt_file = a / "run" / "checkpoint.pt"
    data = ckpt_file.read_bytes()
    (a / "truncated.pt").write_bytes(data[:len(data) // 2])
    (a / "zero.pt").write_bytes(b"")
    (a / "flipped.pt").write_bytes(flip_tensor_bytes(ckpt_file))
    (a / "noise.pt").write_bytes(os.urandom(3000))
    (a / "text.pt").write_text("checkpoint: step 6\n")
    torch.save({"weights": torch.zeros(3)}, a / "foreign.pt")
    ckpt = torch.load(ckpt_file, weights_only=True)
    edited = {**ckpt, "method": "nomethod"}
    del edited["sha256"]
    torch.save(edited, a / "edited.pt")
    edited = {**ckpt, "config": {**ckpt["config"], "ngf": -3}}
    del edited["sha256"]
    torch.save(edited, a / "badconfig.pt")
    edited = {**ckpt, "step": "six"}
    del edited["sha256"]
    torch.save(edited, a / "stepsix.pt")
    edited = {**ckpt, "format_version": 99}
    torch.save(edited, a / "future.pt")
    for name, change in {"textrun": lambda r: (r / "checkpoint.pt").write_text("not a checkpoint"),
                         "brokenjson": lambda r: (r / "run.json").write_text("{ broken"),
                         "stepsix": lambda r: _edit_run(r, step="six"),
                         "nojson": lambda r: (r / "run.json").unlink(),
                         "nockpt": lambda r: (r / "checkpoint.pt").unlink(),
                         "truncrun": lambda r: (r / "checkpoint.pt").write_bytes(data[:len(data) // 3]),
                         "fliprun": lambda r: (r / "checkpoint.pt").write_bytes(flip_tensor_bytes(ckpt_file))}.items():
        shutil.copytree(a / "run", a / name)
        change(a / name)
    odd_files(a, ckpt)
    return a


def odd_files(a: Path, ckpt: dict) -> None:
    """Files that are not what they claim (the second battery): weights that hold NaN, a config that is a list,
    weights that are a number, a pickle of other objects, a photo whose header claims 400 megapixels, one of 100,
    a JPEG stored turned (EXIF orientation 6), a float TIFF, a checkpoint named .onnx."""
    import struct
    import zlib

    import torch
    from PIL import Image

    from i2vlib.checkpoint import digest

    def resave(c: dict, name: str) -> None:
        c = {k: v for k, v in c.items() if k != "sha256"}
        torch.save({**c, "sha256": digest(c)}, a / name)

    nan = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
           for k, v in ckpt["weights"]["generator"].items()}
    resave({**ckpt, "weights": {**ckpt["weights"], "generator": nan}}, "nan.pt")
    resave({**ckpt, "config": [1, 2, 3]}, "configlist.pt")
    resave({**ckpt, "weights": 5}, "weightsint.pt")
    torch.save({"x": np.zeros(3)}, a / "pickle.pt")
    shutil.copy(a / "run" / "checkpoint.pt", a / "model.onnx")

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    for name, side in (("bomb.png", 20000), ("big.png", 10000)):
        ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
        (a / name).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
                               + chunk(b"IEND", b""))
    upright = np.zeros((64, 48, 3), np.uint8)
    upright[:16] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(np.rot90(upright))).save(a / "turned.jpg", exif=exif)
    ramp = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    Image.fromarray(ramp, mode="F").save(a / "float.tif")


def _edit_run(run: Path, **fields) -> None:
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, **fields}))


def flip_tensor_bytes(path: Path) -> bytes:
    """The bytes of a torch checkpoint with 64 bytes inverted in the middle of its largest tensor (torch's zip
    stores tensors uncompressed, so the file still opens: only the digest can tell)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    head = info.header_offset
    start = head + 30 + int.from_bytes(data[head + 26:head + 28], "little") + \
        int.from_bytes(data[head + 28:head + 30], "little")
    mid = start + info.file_size // 2
    data[mid:mid + 64] = bytes(255 - b for b in data[mid:mid + 64])
    return bytes(data)


# ----------------------------------------------------------------------------- running a case
def tree(*roots: Path) -> dict:
    """Every file and folder under ``roots``, with size and modification time (a change counts)."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            st = p.lstat()
            out[str(p)] = (("link", os.readlink(p)) if p.is_symlink() else (st.st_size, st.st_mtime_ns) if p.is_file()
                           else ("dir",))
    return out


def copier(assets: Path, *names: str) -> Callable:
    """A setup that copies the named assets into the case's folder."""
    def setup(d: Path) -> None:
        for n in names:
            src = assets / n
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, d / n)
    return setup


def run_case(case: Case, assets: Path, scratch: Path, progress: bool = False) -> dict:
    d = Path(tempfile.mkdtemp(prefix="case-", dir=scratch))
    try:
        return _run_case(case, assets, d)
    except Exception as e:  # noqa: BLE001 -- a fault of the battery itself is reported, not fatal
        return {"outcome": "battery_error", "command": case.name, "stderr": f"{type(e).__name__}: {e}"}
    finally:
        if case.teardown is not None:
            case.teardown(d)
        _unlock(d)
        shutil.rmtree(d, ignore_errors=True)
        if progress:
            print(f"{case.name}", file=sys.stderr, flush=True)


def _run_case(case: Case, assets: Path, d: Path) -> dict:
    """Set the case up in ``d``, run it, and classify what happened (and what changed in ``d`` and the assets)."""
    if case.needs_permissions and ROOT:
        return {"outcome": "skipped", "why": "running as root: permissions do not bite"}
    if case.needs_root and not ROOT:
        return {"outcome": "skipped", "why": "needs root (chattr, mount)"}
    if case.setup is not None:
        case.setup(d)
    before = tree(d, assets)
    result = run_api(case, d) if case.api is not None else run_cli(case, d, assets)
    changed = sorted(set(tree(d, assets).items()) ^ set(before.items()), key=repr)
    result["changed"] = sorted({str(Path(p).relative_to(d) if p.startswith(str(d)) else p) for p, _ in changed})
    result["outcome"] = classify(case, result, d)
    return result


def _unlock(d: Path) -> None:
    for p in [d, *d.rglob("*")]:
        if not p.is_symlink():
            try:
                p.chmod(0o755 if p.is_dir() else 0o644)
            except OSError:
                pass


def run_cli(case: Case, d: Path, assets: Path) -> dict:
    args = [str(a) for a in case.args]
    cmd = [sys.executable, "-m", case.module, *args]   # i2vlib: what the i2v script runs
    start = time.perf_counter()

    def started():
        # A shell starts background jobs with SIGINT ignored (nohup: SIGHUP), and Python keeps an ignored signal:
        # restore the defaults.
        for signum in SIGNALLED.values():
            signal.signal(signum, signal.SIG_DFL)
        if case.file_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (case.file_limit, case.file_limit))

    # Bytes, not text=True: text mode would turn a progress bar's carriage returns into new lines.
    proc = subprocess.Popen(cmd, cwd=d, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=started)
    try:
        if case.interrupt is not None:
            try:
                out, err = proc.communicate(timeout=case.interrupt)   # finished before the Ctrl-C
            except subprocess.TimeoutExpired:
                proc.send_signal(case.signal)
                out, err = proc.communicate(timeout=case.timeout)
        elif case.interrupt_when is not None:
            out = None
            while out is None and time.perf_counter() - start < case.timeout:
                try:
                    out, err = proc.communicate(timeout=0.1)          # finished before the moment came
                except subprocess.TimeoutExpired:
                    if case.interrupt_when(d):
                        proc.send_signal(case.signal)
                        out, err = proc.communicate(timeout=case.timeout)
            if out is None:
                raise subprocess.TimeoutExpired(cmd, case.timeout)
        else:
            out, err = proc.communicate(timeout=case.timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        code = "timeout"
    out, err = (b.decode("utf-8", "replace") for b in (out, err))
    return {"command": "i2v " + " ".join(args), "code": code, "stdout": out, "stderr": err,
            "seconds": round(time.perf_counter() - start, 1)}


def run_api(case: Case, d: Path) -> dict:
    from i2vlib import I2VError

    here, start = os.getcwd(), time.perf_counter()
    os.chdir(d)
    try:
        value = case.api(d)
        code, err = 0, ""
    except I2VError as e:
        code, err = 2, f"i2v: error: {e}"
    except Exception as e:  # noqa: BLE001 -- the battery reports what escaped as a traceback
        code, err = 1, f"Traceback (most recent call last): {type(e).__name__}: {e}"
        value = None
    finally:
        os.chdir(here)
    return {"command": case.name, "code": code, "stdout": "" if code else value, "stderr": err,
            "seconds": round(time.perf_counter() - start, 1)}


def shown(err: str) -> list[str]:
    """The lines a terminal shows for ``err``: a carriage return redraws its line (a progress bar), so each line
    shows its last drawing, and a bar that cleared itself (``leave=False``) shows nothing."""
    lines = []
    for raw in err.split("\n"):
        drawn = [seg for seg in raw.split("\r") if seg]
        if drawn and drawn[-1].strip():
            lines.append(drawn[-1].strip())
    return lines


BAR = re.compile(r"\d+%\|.*\|")     # a tqdm progress bar as drawn: "evaluate affinegan: 100%|######| 1/1"


def classify(case: Case, r: dict, d: Path) -> str:
    code, err = r["code"], r["stderr"] or ""
    lines = shown(err)
    if code == "timeout":
        return "timeout"
    if "Traceback" in err:
        return "traceback"
    if code in SIGNALLED or code == -case.signal:     # -signal: ended by it before its handlers were set (its import)
        if len(lines) > 2:
            return "multi_line"
        kept = [p for p in r["changed"] if not any(p == k or p.startswith(k + "/") for k in case.keeps)]
        whole = kept and case.check is not None and case.check(d, r["stdout"]) is None   # done before the signal
        return "interrupted_ok" if not kept or whole else "left_behind"
    if code == 0:
        why = case.check(d, r["stdout"]) if case.check is not None else None
        if why:
            r["why"] = why
            return "silently_wrong"
        return "worked"
    if r["changed"]:
        return "left_behind"
    lines = [line for line in lines if not BAR.search(line)]   # a finished progress bar is output, not the error
    if len(lines) > 1:
        return "multi_line"
    if code != 2 or len(lines) != 1:
        return "wrong_status"
    if not all(w in lines[0] for w in case.says):
        r["why"] = f"the line does not say {' and '.join(map(repr, case.says))}"
        return "vague"
    return "clean_error"


def unshipped() -> list[str]:
    """Zoo entries whose file does not ship (yet): loading one by name is an error (none once every entry ships)."""
    from i2vlib import zoo

    return [n for n in zoo.ENTRIES if n not in zoo.names()][:1]


# ----------------------------------------------------------------------------- checks of results that worked
def frames_of(path: str, n: int) -> Callable:
    """A check: the video at ``path`` has ``n`` frames, and its sidecar, where it has one, says so and describes it
    (the SHA-256 it holds, where it holds one, is the file's)."""
    def check(d: Path, stdout) -> str | None:
        import hashlib

        from i2vlib.render import read_video
        p = d / path
        if not p.exists():
            return f"{path} was not written"
        try:
            got = len(read_video(p))
        except Exception as e:  # noqa: BLE001 -- what the reader says is the finding
            return f"{path} cannot be read back: {e}"
        if got != n:
            return f"{path} has {got} frames, {n} asked"
        real = Path(os.path.realpath(p))
        side = real / "frames.json" if real.is_dir() else real.with_name(real.name + ".json")
        if side.is_file():
            meta = json.loads(side.read_text())
            if meta.get("frames") != n:
                return f"the sidecar of {path} says {meta.get('frames')} frames; the video has {n}"
            if real.is_file() and meta.get("sha256") not in (None, hashlib.sha256(real.read_bytes()).hexdigest()):
                return f"the sidecar of {path} describes another file"
        return None
    return check


def videos_in(path: str, n: int, size: int | None = None) -> Callable:
    """A check: the synthetic folder ``path`` holds ``n`` videos (of ``size`` px)."""
    def check(d: Path, stdout) -> str | None:
        meta = d / path / "metadata.json"
        if not meta.exists():
            return f"{meta} was not written"
        videos = json.loads(meta.read_text())["videos"]
        if len(videos) != n:
            return f"{len(videos)} videos written, {n} asked"
        if size is not None:
            from PIL import Image
            first = next((d / path).rglob("img/*/*.png"))
            if Image.open(first).size != (size, size):
                return f"frames of {Image.open(first).size}, {size} px asked"
        return None
    return check


def run_step(path: str, step: int) -> Callable:
    def check(d: Path, stdout) -> str | None:
        info = json.loads((d / path / "run.json").read_text())
        return None if info.get("step") == step else f"the run is at step {info.get('step')}, {step} asked"
    return check


def file_written(path: str) -> Callable:
    def check(d: Path, stdout) -> str | None:
        return None if (d / path).exists() else f"{path} was not written"
    return check


def returns(test: Callable, what: str) -> Callable:
    """A check of an API call's return value."""
    def check(d: Path, value) -> str | None:
        try:
            return None if test(value) else f"returned {what!r} not as asked: {_short(value)}"
        except Exception as e:  # noqa: BLE001
            return f"returned {_short(value)} ({type(e).__name__})"
    return check


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array {value.dtype} {value.shape}"
    return repr(value)[:120]


# ----------------------------------------------------------------------------- the cases
BAD_INTS = {"negative": "-1", "zero": "0", "huge": "99999999999", "word": "1.5"}
BAD_FLOATS = {"negative": "-1", "nan": "nan", "inf": "inf", "word": "abc", "huge": "1e400"}


def cli_cases(A: Path) -> list[Case]:
    c = lambda *names: copier(A, *names)  # noqa: E731
    face, run = c("face.png"), c("run")
    both = c("run", "face.png")
    T = ["train", "affinegan", "--profile", "smoke", "--quiet", "--out", "r"]
    G = ["generate", "run", "face.png"]
    cases: list[Case] = []
    add = cases.append

    # ---- every integer option, every bad kind of whole number
    int_options = {
        "synth --videos": (["synth", "s", "--videos"], ["--size", "32"], None),
        "synth --size": (["synth", "s", "--size"], [], None),
        "synth --frames": (["synth", "s", "--frames"], ["8"], None),
        "prepare --size": (["prepare", "angry", "p", "--size"], [], c("angry")),
        "contact-sheet --size": (["contact-sheet", "c.png", "--size"], [], None),
        "contact-sheet --identities": (["contact-sheet", "c.png", "--size", "32", "--identities"], [], None),
        "train --steps": ([*T, "--steps"], [], None),
        "train --size": ([*T, "--steps", "1", "--size"], [], None),
        "train --seed": ([*T, "--steps", "1", "--seed"], [], None),
        "train --checkpoint-every": ([*T, "--steps", "1", "--checkpoint-every"], [], None),
        "train --snapshots": ([*T, "--steps", "1", "--snapshots"], [], None),
        "evaluate --videos": (["evaluate", "run", "--out", "m.json", "--videos"], [], run),
    }
    for opt, (head, tail, setup) in int_options.items():
        for kind, value in BAD_INTS.items():
            ok = ("clean_error",)
            if opt.endswith("--seed") and kind in ("zero", "huge"):
                ok = ERROR_OR_WORKED                      # any seed a generator takes is a seed
            check = None
            if opt == "contact-sheet --identities" and kind == "zero":
                ok, check = ("worked",), file_written("c.png")   # identity 0 is an identity
            add(Case(f"{opt} {kind} ({value!r})", [*head, value, *tail], ok=ok, setup=setup, check=check))

    # ---- every float option
    for kind, value in BAD_FLOATS.items():
        add(Case(f"generate --intensities {kind}", [*G, "--out", "v.gif", "--intensities", "0", value], setup=both))
        add(Case(f"generate --fps {kind}", [*G, "--out", "v.gif", "--intensities", "0", "--fps", value], setup=both))
    add(Case("generate --intensities above 1", [*G, "--out", "v.gif", "--intensities", "1.5"], setup=both))
    add(Case("generate --fps 99999999999", [*G, "--out", "v.gif", "--intensities", "0", "--fps", "99999999999"], setup=both))
    add(Case("generate --fps 1000 (gif cannot)", [*G, "--out", "v.gif", "--intensities", "0", "1", "--fps", "1000"],
             setup=both))
    add(Case("generate --intensities 1001 values", [*G, "--out", "v.gif", "--intensities", *["0.5"] * 1001],
             setup=both))
    add(Case("generate --intensities none given", [*G, "--out", "v.gif", "--intensities"], setup=both))

    # ---- choices and words
    for opt, head in {"synth --kind": ["synth", "s", "--kind"], "prepare --landmarks": ["prepare", "angry", "p",
                      "--landmarks"], "train --amp": [*T, "--amp"], "evaluate --instrument": ["evaluate", "run",
                      "--out", "m.json", "--instrument"]}.items():
        for value in ("nope",):
            add(Case(f"{opt} {value!r}", [*head, value], setup=c("angry", "run")))
    for value in ("smirk", "happy,anger"):
        add(Case(f"synth --expressions {value!r}", ["synth", "s", "--size", "32", "--expressions", value]))
        add(Case(f"train --expressions {value!r}", [*T, "--expressions", value]))
        add(Case(f"prepare --expression {value!r}", ["prepare", "angry", "p", "--expression", value],
                 setup=c("angry")))
        add(Case(f"generate --expression {value!r}", [*G, "--out", "v.gif", "--expression", value], setup=both))
    for head in (["synth", "s", "--size", "32", "--videos", "1", "--expressions", "happy"], ["contact-sheet", "c.png",
                 "--size", "32"], ["evaluate", "run", "--out", "m.json", "--videos", "1"]):
        add(Case(f"{head[0]} --seed -1", [*head, "--seed", "-1"], setup=run))
        add(Case(f"{head[0]} --seed 99999999999", [*head, "--seed", "99999999999"], setup=run, ok=ERROR_OR_WORKED))
    for value in ("zigzag", "", "Linear"):
        add(Case(f"synth --curves {value!r}", ["synth", "s", "--size", "32", "--curves", value]))
    for value in ("nope", "forecast"):
        add(Case(f"synth --splits {value!r}", ["synth", "s", "--size", "32", "--splits", value]))
    for value in ("nope", ""):
        add(Case(f"synth --kind pose --splits {value!r}", ["synth", "s", "--kind", "pose", "--splits", value]))
        add(Case(f"evaluate --split {value!r}", ["evaluate", "run", "--out", "m.json", "--split", value], setup=run))
    add(Case("evaluate --split train of the benchmark", ["evaluate", "run", "--out", "m.json", "--videos", "1",
             "--split", "val"], ok=ERROR_OR_WORKED, setup=run, check=file_written("m.json")))
    for value in ("nomethod", "", "AffineGAN", "gan"):
        add(Case(f"train method {value!r}", ["train", value, "--profile", "smoke", "--out", "r"]))
    for value in ("huge", "", "Smoke"):
        add(Case(f"train --profile {value!r}", ["train", "affinegan", "--profile", value, "--out", "r"]))
    for value in ("cuda:7", ""):
        add(Case(f"train --device {value!r}", [*T, "--steps", "1", "--device", value]))
    for value in ("gpu", "cpu:0"):
        ok = ERROR_OR_WORKED if value == "cpu:0" else ("clean_error",)
        add(Case(f"train --device {value!r}", [*T, "--steps", "1", "--device", value], ok=ok))
        add(Case(f"generate --device {value!r}", [*G, "--out", "v.gif", "--intensities", "0", "--device", value],
                 ok=ok, setup=both))
        add(Case(f"evaluate --device {value!r}", ["evaluate", "run", "--out", "m.json", "--videos", "1",
                                                  "--device", value], ok=ok, setup=run))

    # ---- --set KEY=VALUE
    for item in ["mix", "=1", "colour=1", "lr=fast", "lr=NaN", "lr=Infinity", "steps=1.5", "batch='8'", "batch=true",
                 "ngf=100000", "betas=[2,3]", 'weights={"z":1}', "weights=3", 'weights={"a":"x"}', "frames=[8,2]",
                 "norm=nope", "spectral_norm=maybe", "expressions=[]", "data=nowhere", "method=fan", "profile=paper",
                 "pairs_per_video=3", 'train_curves=["zigzag"]']:
        add(Case(f"train --set {item}", [*T, "--steps", "1", "--set", item]))
    add(Case("train --set the same key twice", [*T, "--steps", "1", "--set", "batch=2", "batch=3"],
             ok=ERROR_OR_WORKED, check=file_written("r/checkpoint.pt")))
    add(Case("train --set steps beside --steps", [*T, "--steps", "1", "--set", "steps=2"], ok=ERROR_OR_WORKED,
             check=run_step("r", 1)))
    add(Case("train --set seed beside --seed", [*T, "--steps", "1", "--seed", "1", "--set", "seed=2"],
             ok=ERROR_OR_WORKED, check=file_written("r/checkpoint.pt")))
    add(Case("train --set image_size beside --size", [*T, "--steps", "1", "--size", "32", "--set", "image_size=64"],
             ok=ERROR_OR_WORKED, check=file_written("r/checkpoint.pt")))

    # ---- duplicated and conflicting options
    add(Case("train --steps twice", [*T, "--steps", "1", "--steps", "2"], ok=ERROR_OR_WORKED, check=run_step("r", 2)))
    add(Case("train --out twice", [*T, "--steps", "1", "--out", "r2"], ok=ERROR_OR_WORKED,
             check=file_written("r2/checkpoint.pt")))
    add(Case("train --expressions twice", [*T, "--steps", "1", "--expressions", "happy", "happy"]))
    add(Case("train convlstm with two expressions", ["train", "convlstm", "--profile", "smoke", "--out", "r",
                                                     "--expressions", "happy", "anger"]))
    add(Case("train frgan-pose with expressions", ["train", "frgan-pose", "--profile", "smoke", "--out", "r",
                                                   "--expressions", "happy"]))
    add(Case("train frgan-pose --set expressions", ["train", "frgan-pose", "--profile", "smoke", "--out", "r",
                                                    "--set", "expressions=[\"anger\"]"]))
    add(Case("train frgan-pose --size 48", ["train", "frgan-pose", "--profile", "smoke", "--out", "r",   # FRGAN's
                                            "--size", "48"], ok=ERROR_OR_WORKED,   # encoders take multiples of 16
             check=file_written("r/checkpoint.pt")))
    add(Case("train --snapshots beyond --steps", [*T, "--steps", "2", "--snapshots", "5"]))
    add(Case("train --snapshots beyond the profile's steps", [*T, "--snapshots", "100"]))
    add(Case("train --snapshots repeated", [*T, "--steps", "2", "--snapshots", "1", "1"], ok=ERROR_OR_WORKED,
             check=file_written("r/snapshots/step-1.pt")))
    add(Case("train --checkpoint-every beyond --steps", [*T, "--steps", "2", "--checkpoint-every", "50"],
             ok=ERROR_OR_WORKED, check=file_written("r/checkpoint.pt")))
    add(Case("synth --expressions repeated", ["synth", "s", "--size", "32", "--videos", "1", "--expressions",
                                              "happy", "happy"], ok=ERROR_OR_WORKED, check=videos_in("s", 2)))
    add(Case("synth --splits repeated", ["synth", "s", "--size", "32", "--videos", "1", "--expressions", "happy",
                                         "--splits", "test", "test"], ok=ERROR_OR_WORKED, check=videos_in("s", 1)))
    add(Case("synth --frames three numbers", ["synth", "s", "--frames", "8", "9", "10"]))
    add(Case("synth --frames 1 1", ["synth", "s", "--frames", "1", "1"]))
    add(Case("synth --frames reversed", ["synth", "s", "--size", "32", "--videos", "1", "--expressions", "happy",
                                         "--frames", "9", "6"], ok=ERROR_OR_WORKED, check=videos_in("s", 2)))
    add(Case("synth --kind pose --frames 10", ["synth", "s", "--kind", "pose", "--frames", "10"]))
    add(Case("synth --kind pose --frames two numbers", ["synth", "s", "--kind", "pose", "--frames", "48", "50"]))
    add(Case("synth --kind pose --expressions", ["synth", "s", "--kind", "pose", "--expressions", "happy"]))
    add(Case("synth --kind pose --curves", ["synth", "s", "--kind", "pose", "--curves", "linear"]))
    add(Case("synth --kind pose --size 16", ["synth", "s", "--kind", "pose", "--size", "16"]))
    add(Case("synth --kind twice", ["synth", "s", "--kind", "pose", "--kind", "faces", "--size", "32", "--videos",
                                    "1", "--expressions", "happy"], ok=ERROR_OR_WORKED, check=videos_in("s", 2)))
    add(Case("synth --videos 1 size 32 works", ["synth", "s", "--size", "32", "--videos", "1", "--expressions",
                                                "happy"], ok=("worked",), check=videos_in("s", 2, 32)))
    add(Case("synth --size 33 (odd)", ["synth", "s", "--size", "33", "--videos", "1", "--expressions", "happy"],
             ok=ERROR_OR_WORKED, check=videos_in("s", 2, 33)))
    add(Case("synth --profile (old flag)", ["synth", "s", "--profile", "linear"]))
    add(Case("generate --mix and --intensities", [*G, "--out", "v.gif", "--mix", "happy=0,1", "--intensities", "0"],
             setup=both))
    add(Case("generate --mix and --expression", [*G, "--out", "v.gif", "--mix", "happy=0,1", "--expression",
                                                 "happy"], setup=both))
    add(Case("generate --reference and --intensities", [*G, "--out", "v.gif", "--reference", "ref.gif",
                                                        "--intensities", "0"], setup=c("run", "face.png", "ref.gif")))
    add(Case("generate --out twice", [*G, "--out", "a.gif", "--out", "b.gif", "--intensities", "0", "1"],
             ok=ERROR_OR_WORKED, setup=both, check=frames_of("b.gif", 2)))
    add(Case("generate --intensities twice", [*G, "--out", "v.gif", "--intensities", "0", "--intensities", "1", "1"],
             ok=ERROR_OR_WORKED, setup=both, check=frames_of("v.gif", 2)))
    add(Case("generate 2 intensities works", [*G, "--out", "v.gif", "--intensities", "0", "1"], ok=("worked",),
             setup=both, check=frames_of("v.gif", 2)))
    add(Case("generate --expression of the model", [*G, "--out", "v.gif", "--intensities", "0", "0.5", "1",
                                                    "--expression", "happy"], ok=("worked",), setup=both,
             check=frames_of("v.gif", 3)))
    add(Case("generate frames folder", [*G, "--out", "frames/", "--intensities", "0", "1"], ok=("worked",),
             setup=both, check=frames_of("frames", 2)))

    # ---- --mix malformed and duplicated
    for item in (["happy=0,1", "happy=1,1"], ["happy"], ["happy="], ["=0,1"], ["happy=a,b"], ["happy=0,,1"],
                 ["happy=nan"], ["anger=0,1"], ["happy=0;1"], ["happy==0,1"]):
        add(Case(f"generate --mix {' '.join(item)!r}", [*G, "--out", "v.gif", "--mix", *item], setup=both))
    add(Case("generate --mix one expression works", [*G, "--out", "v.gif", "--mix", "happy=0,0.5,1"],
             ok=ERROR_OR_WORKED, setup=both, check=frames_of("v.gif", 3)))

    # ---- images
    for name in ("tiny.png", "sliver.png", "notimage.png", "zero.png", "truncated.png", "folder.png", "missing.png"):
        setup = c("run", name) if name != "missing.png" else run
        add(Case(f"generate image {name}", ["generate", "run", name, "--out", "v.gif", "--intensities", "0"],
                 setup=setup))
    for name in ("gray.png", "rgba.png"):
        add(Case(f"generate image {name}", ["generate", "run", name, "--out", "v.gif", "--intensities", "0"],
                 ok=ERROR_OR_WORKED, setup=c("run", name), check=frames_of("v.gif", 1)))
    for value in ("synthetic:", "synthetic:-1", "synthetic:99999999999", ""):
        add(Case(f"generate image {value!r}", ["generate", "run", value, "--out", "v.gif", "--intensities", "0"],
                 setup=run))
    add(Case("generate image unreadable (chmod 000)", [*G, "--out", "v.gif", "--intensities", "0"],
             setup=lambda d: (both(d), (d / "face.png").chmod(0)), needs_permissions=True))

    # ---- models: zoo names, runs and checkpoints, damaged
    for name in ("zoo:nope", "zoo:", *(f"zoo:{n}" for n in unshipped()), "zoo:../run", "nowhere", "", "."):
        add(Case(f"generate model {name!r}", ["generate", name, "face.png", "--out", "v.gif", "--intensities", "0"],
                 setup=face))
    for name in ("truncated.pt", "zero.pt", "flipped.pt", "text.pt", "foreign.pt", "badconfig.pt", "stepsix.pt",
                 "future.pt", "face.png", "textrun", "nockpt"):
        add(Case(f"generate model {name}", ["generate", name, "face.png", "--out", "v.gif", "--intensities", "0"],
                 setup=c(name, "face.png")))
    for name in ("flipped.pt", "textrun", "stepsix.pt", "emptydir", "zoo:nope"):
        add(Case(f"evaluate model {name}", ["evaluate", name, "--out", "m.json", "--videos", "1"],
                 setup=c(name) if name not in ("nowhere", "zoo:nope") else None))
    for name in ("brokenjson", "stepsix", "nojson"):    # run.json edited by hand: generate needs only the weights
        add(Case(f"generate from a run with {name} run.json", ["generate", name, "face.png", "--out", "v.gif",
                                                              "--intensities", "0"], ok=ERROR_OR_WORKED,
                 setup=c(name, "face.png"), check=frames_of("v.gif", 1)))
    add(Case("generate model unreadable (chmod 000)", [*G, "--out", "v.gif", "--intensities", "0"],
             setup=lambda d: (both(d), (d / "run" / "checkpoint.pt").chmod(0)), needs_permissions=True))
    add(Case("generate --reference with an affinegan model", [*G, "--out", "v.gif", "--reference", "ref.gif"],
             setup=c("run", "face.png", "ref.gif")))
    for name in ("badref.mp4", "emptyref", "textref", "missing.mp4", "face.png", "notes.txt"):
        add(Case(f"generate --reference {name}", [*G, "--out", "v.gif", "--reference", name],
                 setup=c("run", "face.png", *([name] if name not in ("missing.mp4", "face.png") else []))))

    # ---- outputs
    for out, extra in (("full", ("full",)), ("notes.txt/v.gif", ("notes.txt",)), ("v.GIF", ()), ("", ()),
                       ("face.png", ())):
        setup = both if not extra else (lambda d, e=extra: (both(d), (d / "full").mkdir() if "full" in e else None,
                                                            (d / "full" / "mine.txt").write_text("x")
                                                            if "full" in e else None,
                                                            (d / "notes.txt").write_text("x")
                                                            if "notes.txt" in e else None))
        ok = ERROR_OR_WORKED if out == "v.GIF" else ("clean_error",)
        add(Case(f"generate --out {out!r}", [*G, "--out", out, "--intensities", "0"], ok=ok, setup=setup,
                 check=frames_of("v.GIF", 1) if out == "v.GIF" else None))
    add(Case("generate --out into a read-only folder", [*G, "--out", "ro/v.gif", "--intensities", "0"],
             setup=lambda d: (both(d), (d / "ro").mkdir(), (d / "ro").chmod(0o555)), needs_permissions=True))
    for out in ("m.txt", "", "run"):
        add(Case(f"evaluate --out {out!r}", ["evaluate", "run", "--out", out, "--videos", "1"],
                 ok=ERROR_OR_WORKED if out == "m.txt" else ("clean_error",),
                 setup=lambda d: (run(d), (d / "notes.txt").write_text("x")), check=file_written("m.txt")))
    for out in ("c", "", "c.png/"):
        add(Case(f"contact-sheet out {out!r}", ["contact-sheet", out, "--size", "32"]))
    add(Case("contact-sheet --identities repeated", ["contact-sheet", "c.png", "--size", "32", "--identities", "9",
                                                     "9"], ok=ERROR_OR_WORKED, check=file_written("c.png")))
    for out in ("", "notes.txt", "full"):
        add(Case(f"synth out {out!r}", ["synth", out, "--size", "32", "--videos", "1"],
                 setup=lambda d: ((d / "notes.txt").write_text("x"), (d / "full").mkdir(),
                                  (d / "full" / "mine").write_text("x"))))
    add(Case("synth into a read-only folder", ["synth", "ro/s", "--size", "32"],
             setup=lambda d: ((d / "ro").mkdir(), (d / "ro").chmod(0o555)), needs_permissions=True))
    for out in ("", "full", "face.png/r"):
        add(Case(f"train --out {out!r}", ["train", "affinegan", "--profile", "smoke", "--quiet", "--steps", "1",
                                          "--out", out],
                 setup=lambda d: ((d / "notes.txt").write_text("x"), (d / "full").mkdir(),
                                  (d / "full" / "mine").write_text("x"), face(d))))
    add(Case("train --out missing", ["train", "affinegan", "--profile", "smoke"]))
    add(Case("generate --out missing", ["generate", "run", "face.png"], setup=both))
    add(Case("evaluate --out missing", ["evaluate", "run"], setup=run))

    # ---- i2v export: models that are not one network, damaged models, bad outputs
    for name in ("flipped.pt", "textrun", "stepsix.pt", "emptydir", "zoo:nope", "face.png"):
        add(Case(f"export model {name}", ["export", name, "--out", "m.onnx"],
                 setup=c(name) if name != "zoo:nope" else None))
    for out in ("m.gif", "", "full.onnx/", "run"):
        add(Case(f"export --out {out!r}", ["export", "run", "--out", out], setup=run))
    add(Case("export --out into a read-only folder", ["export", "run", "--out", "ro/m.onnx"],
             setup=lambda d: (run(d), (d / "ro").mkdir(), (d / "ro").chmod(0o555)), needs_permissions=True))
    for value in ("int8", "", "FP16"):
        add(Case(f"export --weights {value!r}", ["export", "run", "--out", "m.onnx", "--weights", value], setup=run))
    add(Case("export --out missing", ["export", "run"], setup=run))
    add(Case("export a run", ["export", "run", "--out", "m.onnx"], setup=run, ok=("worked",),
             check=file_written("m.onnx")))

    # ---- data folders: train, evaluate and prepare
    for name in ("emptydir", "textdata", "flat", "onlytest", "badmeta", "face.png", "photos"):
        add(Case(f"train --data {name}", [*T, "--steps", "1", "--data", name], setup=c(name)))
        add(Case(f"evaluate --data {name}", ["evaluate", "run", "--out", "m.json", "--videos", "1", "--data", name],
                 setup=c("run", name), ok=ERROR_OR_WORKED if name == "onlytest" else ("clean_error",),
                 check=file_written("m.json")))   # test videos are what evaluate reads
        # a photo, or a folder of them, is a clip of one frame (prepare's docstring): preparing it works
        add(Case(f"prepare {name}", ["prepare", name, "p", "--size", "32"], setup=c(name),
                 ok=ERROR_OR_WORKED if name in ("onlytest", "flat", "face.png") else ("clean_error",),
                 check=file_written("p/metadata.json")))
    add(Case("prepare angry works", ["prepare", "angry", "p", "--size", "32"], setup=c("angry"), ok=("worked",),
             check=file_written("p/metadata.json")))
    add(Case("train --data onlytest --expressions anger", [*T, "--steps", "1", "--data", "onlytest"],
             setup=c("onlytest")))
    add(Case("train --data unreadable (chmod 000)", [*T, "--steps", "1", "--data", "angry", "--expressions", "anger"],
             setup=lambda d: (c("angry")(d), (d / "angry").chmod(0)), needs_permissions=True))
    add(Case("prepare out is its source", ["prepare", "angry", "angry"], setup=c("angry")))
    add(Case("prepare out inside its source", ["prepare", "angry", "angry/p"], setup=c("angry")))
    add(Case("prepare out is a file", ["prepare", "angry", "notes.txt"], setup=c("angry", "notes.txt")))
    add(Case("prepare a text file", ["prepare", "notes.txt", "p"], setup=c("notes.txt")))
    add(Case("prepare a 1 x 1 photo", ["prepare", "tiny.png", "p"], setup=c("tiny.png")))
    add(Case("prepare a broken video", ["prepare", "badref.mp4", "p"], setup=c("badref.mp4")))
    add(Case("prepare --overwrite over a file", ["prepare", "angry", "notes.txt", "--overwrite"],
             setup=c("angry", "notes.txt")))
    add(Case("prepare missing out", ["prepare", "angry"], setup=c("angry")))

    # ---- resume
    add(Case("train --resume fewer steps than the run has", [*T[:-1], "run", "--steps", "1", "--resume"], setup=run))
    add(Case("train --resume a damaged checkpoint", [*T[:-1], "fliprun", "--steps", "3", "--resume"],
             setup=c("fliprun")))
    add(Case("train --resume a text checkpoint", [*T[:-1], "textrun", "--steps", "3", "--resume"],
             setup=c("textrun")))
    add(Case("train --resume a run.json of broken JSON", [*T[:-1], "brokenjson", "--steps", "3", "--resume"],
             ok=ERROR_OR_WORKED, setup=c("brokenjson"), check=run_step("brokenjson", 3)))
    add(Case("train --resume a run.json with step six", [*T[:-1], "stepsix", "--steps", "3", "--resume"],
             ok=ERROR_OR_WORKED, setup=c("stepsix"), check=run_step("stepsix", 3)))
    add(Case("train --resume with another method", ["train", "fan", "--profile", "smoke", "--quiet", "--out", "run",
                                                     "--steps", "3", "--resume"], setup=run))
    add(Case("train --resume with another size", [*T[:-1], "run", "--steps", "3", "--size", "32", "--resume"],
             setup=run))
    add(Case("train --resume with another --set", [*T[:-1], "run", "--steps", "3", "--set", "batch=2", "--resume"],
             setup=run))
    add(Case("train --resume nothing there", [*T, "--resume"]))
    add(Case("train --resume the same steps (nothing to do)", [*T[:-1], "run", "--steps", "2", "--resume"],
             ok=ERROR_OR_WORKED, setup=run, check=run_step("run", 2)))
    add(Case("train --resume more steps works", [*T[:-1], "run", "--steps", "3", "--resume"], ok=("worked",),
             setup=run, check=run_step("run", 3)))
    add(Case("train over an existing run", [*T[:-1], "run", "--steps", "3"], setup=run))
    add(Case("train --resume --snapshots before the run's step", [*T[:-1], "run", "--steps", "3", "--snapshots",
                                                                  "1", "--resume"], ok=ERROR_OR_WORKED, setup=run,
             check=file_written("run/snapshots/step-1.pt")))

    # ---- usage
    add(Case("no command", []))
    add(Case("unknown command", ["fly"]))
    add(Case("unknown option", ["synth", "s", "--colour", "red"]))
    add(Case("option of another command", ["synth", "s", "--steps", "3"]))
    add(Case("zoo with an argument", ["zoo", "extra"]))
    add(Case("zoo --json twice", ["zoo", "--json", "--json"], ok=ERROR_OR_WORKED,
             check=lambda d, out: None if json.loads(out) else "no JSON"))
    add(Case("generate with no image", ["generate", "run"], setup=run))
    add(Case("prepare --size 16", ["prepare", "angry", "p", "--size", "16"], setup=c("angry")))

    # ---- Ctrl-C
    add(Case("SIGINT i2v train", [*T[:-1], "r", "--steps", "100000", "--checkpoint-every", "100000"],
             ok=("interrupted_ok",), interrupt=3.5))
    add(Case("SIGINT i2v train after a checkpoint", [*T[:-1], "r", "--steps", "100000", "--checkpoint-every", "2"],
             ok=("interrupted_ok",), interrupt=5, keeps=("r",)))
    add(Case("SIGINT i2v prepare", ["prepare", "big", "p", "--size", "64"], ok=("interrupted_ok",), interrupt=3.5,
             setup=c("big")))
    add(Case("SIGINT i2v synth", ["synth", "s", "--videos", "200", "--size", "128"], ok=("interrupted_ok",),
             interrupt=3.5))
    add(Case("SIGINT i2v evaluate", ["evaluate", "run", "--videos", "200", "--out", "m.json"],
             ok=("interrupted_ok",), interrupt=3.5, setup=run))
    add(Case("SIGINT i2v generate", [*G, "--out", "v.mp4", "--intensities", *["0.5"] * 1000],
             ok=("interrupted_ok", "worked"), interrupt=3.5, setup=both, check=frames_of("v.mp4", 1000)))
    cases += second_cli_cases(A)
    return cases


def second_cli_cases(A: Path) -> list[Case]:
    """The second battery's classes, at the command line: output paths that destroy or crash, files that are not
    what they claim, values that mean nothing (each must now be one line, exit 2, nothing changed)."""
    c = lambda *names: copier(A, *names)  # noqa: E731
    run, long = c("run"), "x" * 300
    G = ["generate", "run", "face.png", "--intensities", "0", "1"]
    T = ["train", "affinegan", "--profile", "smoke", "--quiet", "--steps", "1", "--out", "r"]
    cases = []
    add = cases.append
    # ---- output paths
    for name in ("checkpoint.pt", "losses.csv", "run.json"):
        add(Case(f"evaluate --out the run's own {name}", ["evaluate", "run", "--videos", "1", "--out", f"run/{name}"],
                 setup=run))
    add(Case("evaluate --out a checkpoint", ["evaluate", "run", "--videos", "1", "--out", "nan.pt"],
             setup=c("run", "nan.pt")))
    add(Case("evaluate --out a device", ["evaluate", "run", "--videos", "1", "--out", "/dev/null"], setup=run))
    add(Case("export --out a checkpoint named .onnx", ["export", "run", "--out", "model.onnx"],
             setup=c("run", "model.onnx")))
    add(Case("synth into the current folder", ["synth", ".", "--overwrite", "--size", "32"]))
    add(Case("synth into ''", ["synth", "", "--size", "32"]))
    add(Case("synth over a run", ["synth", "run", "--overwrite", "--size", "32"], setup=run))
    for head, out in {"train": (T[:-1], long), "generate": (G + ["--out"], f"{long}.gif"),
                      "evaluate": (["evaluate", "run", "--out"], f"{long}.json"),
                      "export": (["export", "run", "--out"], f"{long}.onnx"),
                      "synth": (["synth", "--size", "32"], long),
                      "contact-sheet": (["contact-sheet", "--size", "32"], f"{long}.png")}.items():
        add(Case(f"{head} out name too long", [*out[0], out[1]] if head not in ("synth", "contact-sheet")
                 else [out[0][0], out[1], *out[0][1:]], setup=c("run", "face.png")))
    # ---- files that are not what they claim
    for name in ("nan.pt", "configlist.pt", "weightsint.pt", "pickle.pt"):
        add(Case(f"generate model {name}", ["generate", name, "face.png", "--out", "v.gif", "--intensities", "0"],
                 setup=c(name, "face.png")))
    add(Case("evaluate model nan.pt", ["evaluate", "nan.pt", "--videos", "1", "--out", "m.json"], setup=c("nan.pt")))
    add(Case("export model nan.pt", ["export", "nan.pt", "--out", "m.onnx"], setup=c("nan.pt")))
    for name in ("bomb.png", "big.png"):
        add(Case(f"generate image {name}", ["generate", "run", name, "--out", "v.gif", "--intensities", "0"],
                 setup=c("run", name)))
    add(Case("train --resume a damaged losses.csv", [*T[:-4], "--steps", "3", "--out", "run", "--resume"],
             setup=lambda d: (run(d), (d / "run" / "losses.csv").write_bytes(b"\xc0\xff" * 50))))
    # ---- values that mean nothing
    for item in (["batch=1", "batch=2"], ["batch=null"], ["d_layers=2.5"], ['weights={"l1":1,"l1":2}'],
                 ['train_curves=["linear"]', 'train_profiles=["linear"]']):
        add(Case(f"train --set {' '.join(item)}", [*T, "--set", *item]))
    add(Case("train --set d_layers=5.0 (an integer)", [*T, "--set", "d_layers=5.0"], ok=("worked",),
             check=lambda d, out: None if type(json.loads((d / "r" / "run.json").read_text())["config"]["d_layers"])
             is int else "d_layers stored as a float"))
    return cases


def api_cases(A: Path) -> list[Case]:
    import i2vlib
    from i2vlib.models import METHODS, get_method

    cases: list[Case] = []
    add = cases.append
    m = functools.cache(lambda: i2vlib.load(A / "run"))    # the run, loaded by the first API case that needs it

    face = str(A / "face.png")
    for name, path in {"None": None, "empty str": "", "zoo:nope": "zoo:nope",
                       **{"zoo not shipped": f"zoo:{n}" for n in unshipped()},
                       "text run": A / "textrun", "truncated": A / "truncated.pt", "flipped": A / "flipped.pt",
                       "step six": A / "stepsix.pt", "empty folder": A / "emptydir", "list": [str(A / "run")]}.items():
        add(Case(f"api load {name}", api=lambda d, p=path: i2vlib.load(p)))
    for device in ("", None, "cpu:0"):
        add(Case(f"api load device {device!r}", api=lambda d, v=device: i2vlib.load(A / "run", device=v),
                 ok=ERROR_OR_WORKED if device == "cpu:0" else ("clean_error",)))
    images = {"None": None, "missing path": "nowhere.png", "NaN floats": np.full((64, 64, 3), np.nan, np.float32),
              "floats 0-255": np.full((64, 64, 3), 200.0), "5 channels": np.zeros((64, 64, 5), np.uint8),
              "4-D batch of two": np.zeros((2, 64, 64, 3), np.uint8), "string": "", "text file": str(A / "notimage.png"),
              "negative ints": np.full((64, 64, 3), -5, np.int64), "huge": np.zeros((100000, 1, 3), np.uint8)}
    for name, image in images.items():
        add(Case(f"api generate image {name}", api=lambda d, i=image: m().generate(i, [0.5])))
    # a batch of one is one image (inputs.check_image's documented 1 x H x W x 3): one frame of the model's size
    add(Case("api generate image 4-D batch of one", api=lambda d: m().generate(np.zeros((1, 64, 64, 3), np.uint8),
                                                                             [0.5]),
             ok=("worked",), check=returns(lambda f: f.shape == (1, 64, 64, 3), "one 64 x 64 frame")))
    for name, value in {"None": None, "empty": [], "dict empty": {}, "dict empty list": {"happy": []},
                        "dict str": {"happy": "a"}, "set": {0.5}, "100000 values": [0.5] * 100000, "inf": [math.inf],
                        "complex": [1j], "bool": [True], "scalar": 0.5, "nested": [[0.5, 0.5]],
                        "array 2-D": np.zeros((2, 2))}.items():
        ok = ERROR_OR_WORKED if name in ("scalar", "nested", "array 2-D", "bool") else ("clean_error",)
        n = {"scalar": 1, "nested": 2, "array 2-D": 4, "bool": 1}.get(name)
        add(Case(f"api generate intensities {name}", api=lambda d, v=value: m().generate(face, v), ok=ok,
                 check=returns(lambda f, n=n: len(f) == n, f"{n} frames") if n else None))
    for name, kw in {"expression unknown": {"expression": "smirk"}, "expression int": {"expression": 5},
                     "expression empty": {"expression": ""}, "as_tensor string": {"as_tensor": "no"}}.items():
        ok = ERROR_OR_WORKED if name == "as_tensor string" else ("clean_error",)
        add(Case(f"api generate {name}", api=lambda d, k=kw: m().generate(face, [0.5], **k), ok=ok,
                 check=returns(lambda f: isinstance(f, np.ndarray), "an array, as as_tensor is not true")
                 if name == "as_tensor string" else None))

    add(Case("api get_method unknown", api=lambda d: get_method("nomethod")))
    add(Case("api get_method None", api=lambda d: get_method(None)))
    bad = {"steps=-1": {"steps": -1}, "steps=0": {"steps": 0}, "steps=1.5": {"steps": 1.5},
           "steps='6'": {"steps": "6"}, "steps=NaN": {"steps": float("nan")}, "steps=huge": {"steps": 99999999999},
           "batch=0": {"batch": 0}, "lr=NaN": {"lr": float("nan")},
           "image_size=100000": {"image_size": 100000}, "image_size=48": {"image_size": 48},
           "unknown key": {"colour": 1}, "weights unknown": {"weights": {"z": 1}}, "weights str": {"weights": "x"},
           "seed=-1": {"seed": -1}, "seed=2**40": {"seed": 2**40}, "d_layers=4": {"d_layers": 4},
           "expressions unknown": {"expressions": ["smirk"]}, "expressions empty": {"expressions": []},
           "expressions repeated": {"expressions": ["happy", "happy"]}, "data missing": {"data": "nowhere"},
           "videos=huge": {"videos": 99999999999}, "augment='yes'": {"augment": "yes"},
           "ema=1": {"ema": 1}}
    core = ("steps='6'", "lr=NaN", "image_size=100000", "unknown key", "expressions unknown")
    for method in METHODS:      # every method the core cases, affinegan all of them
        for name, kw in bad.items():
            if method != "affinegan" and name not in core:
                continue
            if method == "frgan-pose" and name.startswith("expressions"):
                name, kw = "expressions given", {"expressions": ["anger"]}
            # a config names where its data is; that folder is read when training starts (a checkpoint's config
            # may name a folder of another machine), so default_config takes a path that is not there yet
            ok = ERROR_OR_WORKED if name == "data missing" else ("clean_error",)
            add(Case(f"api {method} default_config {name}", ok=ok,
                     api=lambda d, mm=method, k=kw: get_method(mm).default_config("smoke", **k)))
        add(Case(f"api {method} default_config profile huge", api=lambda d, mm=method:
                 get_method(mm).default_config("huge")))
    poses = {"benchmark": "poses", "action": "golf_swing"}      # the pose baselines' own options (FRGAN Table 3)
    for name, (method, kw) in {
            "vgan benchmark=poses without action": ("vgan", {"benchmark": "poses"}),
            "vgan benchmark=poses action unknown": ("vgan", {**poses, "action": "dance"}),
            "vgan benchmark=poses action list": ("vgan", {**poses, "action": ["golf_swing"]}),
            "vgan benchmark unknown": ("vgan", {"benchmark": "hands"}),
            "vgan action on faces": ("vgan", {"action": "golf_swing"}),
            "vgan benchmark=poses length=8": ("vgan", {**poses, "length": 8}),
            "vgan benchmark=poses frames short": ("vgan", {**poses, "frames": [33, 33]}),
            "mathieu history=0": ("mathieu", {"history": 0}), "mathieu history='4'": ("mathieu", {"history": "4"}),
            "mathieu history=true": ("mathieu", {"history": True}), "mathieu scales=7": ("mathieu", {"scales": 7}),
            "mathieu scales=5 at 32 px": ("mathieu", {"scales": 5, "image_size": 32}),
            "mathieu data folder": ("mathieu", {"data": "."})}.items():
        add(Case(f"api {name}", api=lambda d, mm=method, k=kw: get_method(mm).default_config("smoke", **k)))

    # ---- the second battery: the API's raw exceptions and wrong colours, values that mean nothing
    from PIL import Image

    from i2vlib.checkpoint import read_checkpoint
    from i2vlib.io import as_image, read_image
    from i2vlib.onnx_export import to_onnx

    for name, value in {"int": 123, "None": None, "list": [str(A / "run")]}.items():
        add(Case(f"api read_checkpoint {name}", api=lambda d, v=value: read_checkpoint(v)))
    for name, value in {"string": "run", "None": None}.items():
        add(Case(f"api to_onnx of {name}", api=lambda d, v=value: to_onnx(v, d / "m.onnx")))
    for name, value in {"2-D list": [[0.5, 0.5]], "booleans": [True, False], "strings": ["0.5"],
                        "None in list": [None], "bool array": np.array([True])}.items():
        add(Case(f"api generate intensities {name} (2)", api=lambda d, v=value: m().generate(face, v)))
    rgb = Image.open(face).convert("RGB")
    for mode in ("P", "CMYK", "YCbCr", "HSV", "LA", "I;16"):
        im = rgb.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257)
        want = np.asarray(rgb.convert("P").convert("RGB") if mode == "P" else rgb if mode in ("CMYK", "YCbCr", "HSV")
                          else rgb.convert("L").convert("RGB")).astype(int)
        add(Case(f"api as_image PIL {mode}", api=lambda d, i=im: as_image(i), ok=("worked",),
                 check=returns(lambda a, w=want: np.abs(a.astype(int) - w).mean() < 2, "the image's colours")))
    add(Case("api read_image EXIF orientation 6", api=lambda d: read_image(A / "turned.jpg"), ok=("worked",),
             check=returns(lambda a: a.shape == (64, 48, 3) and a[:16].mean() > 200, "upright")))
    add(Case("api read_image float TIFF", api=lambda d: read_image(A / "float.tif"), ok=("worked",),
             check=returns(lambda a: abs(a.mean() - 127.5) < 2, "grey levels of [0, 1] floats")))
    add(Case("api generate a face that requires grad", ok=ERROR_OR_WORKED,
             api=lambda d: m().generate(__import__("torch").rand(64, 64, 3, requires_grad=True), [0.5])))
    return cases


# ----------------------------------------------------------------------------- the third battery (issue 75)
DEAD = 4999999   # a process id above Linux's largest (2**22): no process has it, as a killed writer's no longer runs
STALE = (f".v.gif.i2v{DEAD}-abcdefgh.gif", f".v.gif.json.i2v{DEAD}-abcdefgh.json", f".fr.i2v{DEAD}-writing-abcdefgh",
         f".fr.i2v{DEAD}-old-abcdefgh", ".v.gif.i2v-lock")


def writing(d: Path) -> bool:
    """Whether a write has begun in ``d``: a temporary file or folder (a dot name) is there."""
    return any(p.name.startswith(".") for p in d.iterdir())


def no_leftovers(d: Path, stdout) -> str | None:
    """A check: no temporary file or folder (a dot name) is left in ``d``."""
    left = sorted(p.name for p in d.iterdir() if p.name.startswith("."))
    return f"left {', '.join(left)}" if left else None


def both_checks(*checks: Callable) -> Callable:
    def check(d: Path, stdout) -> str | None:
        return next((why for c in checks if (why := c(d, stdout)) is not None), None)
    return check


def shell(*cmd) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def mount(size: str, ro: bool = False, fill: bool = False) -> Callable:
    """A setup: a tmpfs of ``size`` at ``small/`` (read-only with ``ro``; ``fill``: filled up to its last byte)."""
    def setup(d: Path) -> None:
        (d / "small").mkdir()
        shell("mount", "-t", "tmpfs", "-o", f"size={size}" + (",ro" if ro else ""), "tmpfs", d / "small")
        if fill:
            with open(d / "small" / "filler", "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 4096)
                        f.flush()
                except OSError:
                    pass
    return setup


def unmount(d: Path) -> None:
    subprocess.run(["umount", str(d / "small")], capture_output=True)


def immutable(*names: str) -> Callable:
    def setup(d: Path) -> None:
        for n in names:
            shell("chattr", "+i", d / n)
    return setup


def unfreeze(d: Path) -> None:
    for p in d.rglob("*"):
        if not p.is_symlink():
            subprocess.run(["chattr", "-i", str(p)], capture_output=True)


def edit_run(**config) -> Callable:
    """A setup: the run asset, its run.json edited (``method``: the method field; the rest: config options)."""
    def setup(d: Path) -> None:
        info = json.loads((d / "run" / "run.json").read_text())
        if "method" in config:
            info["method"] = config.pop("method")
        info["config"].update(config)
        (d / "run" / "run.json").write_text(json.dumps(info))
    return setup


def logged(path: str, steps: list[int]) -> Callable:
    """A check: the run's loss log holds exactly these steps."""
    def check(d: Path, stdout) -> str | None:
        import csv
        with open(d / path / "losses.csv", newline="") as f:
            got = [int(r["step"]) for r in csv.DictReader(f)]
        return None if got == steps else f"its losses.csv holds steps {got}, not {steps}"
    return check


def save_frames(name: str, n: int = 2) -> Callable:
    def setup(d: Path) -> None:
        from i2vlib.render import save_video
        save_video(np.stack([np.full((16, 16, 3), 60 * i, np.uint8) for i in range(n)]), d / name, fps=8)
    return setup


def third_cli_cases(A: Path) -> list[Case]:
    """The third battery's classes at the command line: options that mean two things, signals while writing,
    a video and its sidecar, OS errors, edited runs, outputs that are not what was named."""
    c = lambda *names: copier(A, *names)  # noqa: E731
    run, both = c("run"), c("run", "face.png")
    G = ["generate", "run", "face.png"]
    T = ["train", "affinegan", "--profile", "smoke", "--quiet"]
    many = ["--intensities", *["0.5"] * 1000]
    cases: list[Case] = []
    add = cases.append
    # ---- 1. one parser policy: no abbreviations, an option once however it is spelled
    for name, args, says in (
            ("generate --int, an abbreviation", [*G, "--intensities", "0", "0.5", "--int", "1", "--out", "v.gif"],
             ("--int", "--intensities")),
            ("generate --ou, an abbreviation", [*G, "--intensities", "0", "--out", "a.gif", "--ou", "b.gif"],
             ("--ou",)),
            ("generate --fp=30, an abbreviation with =", [*G, "--intensities", "0", "--fps=8", "--fp=30", "--out",
                                                          "v.gif"], ("--fp",)),
            ("generate --fps=8 --fps 30", [*G, "--intensities", "0", "--fps=8", "--fps", "30", "--out", "v.gif"],
             ("--fps", "twice")),
            ("generate --out=a.gif --out b.gif", [*G, "--intensities", "0", "--out=a.gif", "--out", "b.gif"],
             ("--out", "twice")),
            ("claims --pap fan --paper frgan", ["claims", "--pap", "fan", "--paper", "frgan"], ("--pap",)),
            ("claims --json --js", ["claims", "--json", "--js"], ("--js",)),
            ("zoo --js", ["zoo", "--js"], ("--js",)),
            ("train --ste 1", [*T, "--out", "r", "--ste", "1"], ("--ste",)),
            ("train --quiet twice", [*T, "--out", "r", "--steps", "1", "--quiet"], ("--quiet", "twice")),
            ("train --set=batch=2 --set batch=3", [*T, "--out", "r", "--steps", "1", "--set=batch=2", "--set",
                                                   "batch=3"], ("--set", "twice")),
            ("evaluate --vid 1", ["evaluate", "run", "--out", "m.json", "--vid", "1"], ("--vid",)),
            ("synth --siz 32", ["synth", "s", "--siz", "32"], ("--siz",)),
            ("export --wei fp32", ["export", "run", "--out", "m.onnx", "--wei", "fp32"], ("--wei",)),
            ("prepare --overw", ["prepare", "angry", "p", "--overw"], ("--overw",)),
            ("contact-sheet --see 1", ["contact-sheet", "c.png", "--see", "1"], ("--see",))):
        add(Case(name, args, setup=c("run", "face.png", "angry"), says=says))
    cannot = "/proc/i2v-cannot-exist"
    for module, args, says in (
            ("i2vlib.records.ablations", ["--lis"], ("--lis",)),
            ("i2vlib.records.verify", ["--seed", "1", "--seed", "2", "--runs", "x"], ("--seed", "twice")),
            ("i2vlib.studies.eq5", ["--workers", "1", "--workers=2", "--seeds", "x"], ("--workers", "twice")),
            ("i2vlib.studies.capacity", ["--seeds", "-1e-300"], ("'-1e-300'",)),
            ("i2vlib.instruments.fitter", ["--out", "a.pt", "--out=b.pt", "--steps", "x"], ("--out", "twice")),
            ("i2vlib.instruments.build", ["--out", f"{cannot}/a.pt", "--assess", "--quick"], ("--assess",)),
            ("i2vlib.instruments.pose_net", ["--step", "1", "--out", f"{cannot}/w.pt"], ("--step",)),
            ("i2vlib.evaluate.pose_protocol", ["--ou", f"{cannot}/g.pt"], ("--ou",)),
            ("i2vlib.colab", ["nb.ipynb", "--che"], ("--che",))):
        add(Case(f"python -m {module} {' '.join(args)}", args, module=module, says=says, timeout=120,
                 setup=lambda d: (d / "nb.ipynb").write_text(json.dumps(
                     {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))))
    # ---- 2. signals while writing; what a killed writer left, removed by the next write there
    for sig in (signal.SIGTERM, signal.SIGHUP):
        for out in ("v.gif", "v.mp4", "fr"):
            add(Case(f"{sig.name} while generate writes {out}", [*G, "--out", out, *many], signal=sig,
                     interrupt_when=writing, ok=("interrupted_ok", "worked"), setup=both,
                     check=frames_of(out, 1000), timeout=400))
    add(Case("SIGINT while generate writes v.gif", [*G, "--out", "v.gif", *many], interrupt_when=writing,
             ok=("interrupted_ok", "worked"), setup=both, check=frames_of("v.gif", 1000), timeout=400))
    add(Case("SIGTERM i2v train before its first checkpoint", [*T, "--out", "r", "--steps", "100000",
                                                                "--checkpoint-every", "100000"],
             signal=signal.SIGTERM, interrupt_when=lambda d: (d / "r" / "losses.csv").exists(), ok=("interrupted_ok",)))
    add(Case("SIGHUP i2v train after a checkpoint", [*T, "--out", "r", "--steps", "100000", "--checkpoint-every", "2"],
             signal=signal.SIGHUP, interrupt_when=lambda d: (d / "r" / "checkpoint.pt").exists(),
             ok=("interrupted_ok",), keeps=("r",)))
    add(Case("SIGTERM i2v synth", ["synth", "s", "--videos", "200", "--size", "128"], signal=signal.SIGTERM,
             interrupt_when=writing, ok=("interrupted_ok",)))
    add(Case("SIGHUP i2v prepare", ["prepare", "big", "p", "--size", "64"], signal=signal.SIGHUP,
             interrupt_when=writing, ok=("interrupted_ok",), setup=c("big")))
    add(Case("SIGTERM i2v evaluate", ["evaluate", "run", "--videos", "200", "--out", "m.json"], signal=signal.SIGTERM,
             interrupt=15, ok=("interrupted_ok",), setup=run))

    def stale(d: Path) -> None:
        both(d)
        for name in STALE:
            if "writing" in name or "old" in name:
                (d / name / "x").mkdir(parents=True)
                (d / name / "x" / "0000.png").write_bytes(b"half")
            else:
                (d / name).write_bytes(b"half")

    add(Case("generate after a killed writer's leftovers", [*G, "--intensities", "0", "1", "--out", "v.gif"],
             ok=("worked",), setup=stale, check=both_checks(frames_of("v.gif", 2), no_leftovers)))
    add(Case("generate frames after a killed writer's leftovers", [*G, "--intensities", "0", "1", "--out", "fr"],
             ok=("worked",), setup=stale, check=both_checks(frames_of("fr", 2), no_leftovers)))
    add(Case("generate over a frame folder with an immutable sidecar", [*G, "--intensities", "0", "1", "--out", "fr"],
             setup=lambda d: (both(d), save_frames("fr")(d), immutable("fr/frames.json")(d)), teardown=unfreeze,
             needs_root=True, says=("frames.json", "immutable"), check=no_leftovers))
    # ---- 3. a video and its sidecar, one unit
    for out in ("v.gif", "v.mp4", "fr"):
        add(Case(f"generate --intensities 0 0 0 --out {out}", [*G, "--intensities", "0", "0", "0", "--out", out],
                 ok=("worked",), setup=both, check=frames_of(out, 3)))
    # ---- 4. OS errors: one line naming the path and the cause
    for name, args, target in (("generate", [*G, "--intensities", "0", "--out", "v.gif"], "v.gif"),
                               ("generate (its sidecar)", [*G, "--intensities", "0", "--out", "v.gif"], "v.gif.json"),
                               ("evaluate", ["evaluate", "run", "--videos", "1", "--out", "m.json"], "m.json"),
                               ("export", ["export", "run", "--out", "m.onnx"], "m.onnx"),
                               ("contact-sheet", ["contact-sheet", "c.png", "--size", "32"], "c.png")):
        add(Case(f"{name} onto an immutable file", args, needs_root=True, teardown=unfreeze, says=("immutable",),
                 setup=lambda d, t=target: (both(d), (d / t).write_text("{}"),
                                            (d / "v.gif").write_bytes(b"GIF89a") if t == "v.gif.json" else None,
                                            immutable(t)(d))))
    add(Case("synth --overwrite a folder that holds an immutable file", ["synth", "s", "--size", "32", "--videos", "1",
                                                                         "--overwrite"],
             needs_root=True, teardown=unfreeze, says=("immutable",),
             setup=lambda d: ((d / "s").mkdir(), (d / "s" / "x.txt").write_text("x"), immutable("s/x.txt")(d))))
    for name, args in (("generate", [*G, "--intensities", "0", "--out", "small/v.gif"]),
                       ("evaluate", ["evaluate", "run", "--videos", "1", "--out", "small/m.json"]),
                       ("train", [*T, "--steps", "1", "--out", "small/r"]),
                       ("synth", ["synth", "small/s", "--size", "32", "--videos", "1"])):
        add(Case(f"{name} onto a read-only file system", args, needs_root=True, teardown=unmount,
                 setup=lambda d: (both(d), mount("1m", ro=True)(d)), says=("small", "Read-only file system")))
    for name, args in (("generate a GIF", [*G, *many[:301], "--out", "small/v.gif"]),
                       ("generate an MP4", [*G, *many[:301], "--out", "small/v.mp4"]),
                       ("generate frames", [*G, *many[:301], "--out", "small/fr"]),
                       ("train", [*T, "--steps", "1", "--out", "small/r"]),
                       ("evaluate", ["evaluate", "run", "--videos", "1", "--out", "small/m.json"]),
                       ("export", ["export", "run", "--out", "small/m.onnx"])):
        add(Case(f"{name} onto a full disk", args, needs_root=True, teardown=unmount, timeout=300,
                 setup=lambda d: (both(d), mount("256k", fill=True)(d)), says=("small", "No space left on device")))
    ramp = ["--intensities", *[str(i / 1000) for i in range(1000)]]     # frames that differ: a GIF of size
    for name, args in (("generate a GIF", [*G, *ramp, "--out", "v.gif"]),
                       ("generate an MP4", [*G, *ramp, "--out", "v.mp4"]),
                       ("train", [*T, "--steps", "1", "--out", "r"]),
                       ("export", ["export", "run", "--out", "m.onnx"])):
        add(Case(f"{name} beyond a limit on file size (ulimit -f)", args, file_limit=20_000, setup=both, timeout=400,
                 says=("File too large",)))
    # ---- 6. a resume of a run whose files were edited or lost
    R = [*T, "--out", "run", "--steps", "3", "--resume"]
    for option, value in (("lr", 0.5), ("steps", 5), ("image_size", 32), ("expressions", ["anger"]), ("ngf", 3),
                          ("batch", 2), ("method", "fan")):
        add(Case(f"train --resume a run whose run.json {option} was edited", R, setup=lambda d, o=option, v=value:
                 (run(d), edit_run(**{o: v})(d)), says=("run.json", option)))
    add(Case("train --resume without --steps, run.json steps edited", [*T, "--out", "run", "--resume"],
             setup=lambda d: (run(d), edit_run(steps=5)(d)), says=("run.json", "steps")))
    add(Case("train --resume a run without its losses.csv", R, setup=lambda d: (run(d), (d / "run" / "losses.csv")
                                                                              .unlink()), says=("losses.csv",)))
    add(Case("train --resume a run with an empty losses.csv", R, ok=("worked",),
             setup=lambda d: (run(d), (d / "run" / "losses.csv").write_text("")),
             check=both_checks(run_step("run", 3), logged("run", [3]))))
    add(Case("train --resume keeps the log", R, ok=("worked",), setup=run,
             check=both_checks(run_step("run", 3), logged("run", [1, 2, 3]))))
    # ---- 7. outputs that are what was named
    for out in ("v.gif.", ".gif", "-", ".MP4", "v.mp4..", "./.gif"):
        add(Case(f"generate --out {out!r}", [*G, "--intensities", "0", "--out", out], setup=both, says=(repr(out),)
                 if out not in ("-",) else ("'-'",)))
    for out in ("v.GIF", "v.Mp4"):
        add(Case(f"generate --out {out!r} (a suffix in capitals)", [*G, "--intensities", "0", "1", "--out", out],
                 ok=("worked",), setup=both, check=frames_of(out, 2)))
    for what, target in (("a symbolic link", "real/v.gif"), ("a dangling symbolic link", "real/new.gif")):
        add(Case(f"generate --out {what}", [*G, "--intensities", "0", "1", "--out", "link.gif"], ok=("worked",),
                 setup=lambda d, t=target: (both(d), (d / "real").mkdir(), (d / "real" / "v.gif").write_bytes(b"old"),
                                            (d / "link.gif").symlink_to(t)),
                 check=lambda d, out, t=target: ("link.gif is no longer a link" if not (d / "link.gif").is_symlink()
                                                 else frames_of(t, 2)(d, out))))
    add(Case("generate --out a link to a frame folder", [*G, "--intensities", "0", "1", "--out", "link"],
             ok=("worked",), setup=lambda d: (both(d), save_frames("real")(d), (d / "link").symlink_to("real")),
             check=lambda d, out: ("link is no longer a link" if not (d / "link").is_symlink()
                                   else frames_of("real", 2)(d, out))))
    add(Case("evaluate --out a link to the run's losses.csv", ["evaluate", "run", "--videos", "1", "--out", "m.json"],
             setup=lambda d: (run(d), (d / "m.json").symlink_to("run/losses.csv")), says=("losses.csv",)))
    for out in ("m.json.gz", "m.JSON.GZ", "m.json.xz"):
        add(Case(f"evaluate --out {out}", ["evaluate", "run", "--videos", "1", "--out", out], ok=("worked",),
                 setup=run, check=lambda d, stdout, o=out: _packed_json(d / o)))
    for out in ("m.json.zip", "m.json."):
        add(Case(f"evaluate --out {out}", ["evaluate", "run", "--videos", "1", "--out", out], setup=run,
                 says=(out.rsplit(".", 1)[-1] if out.endswith("zip") else out,)))
    add(Case("export --out m.ONNX", ["export", "run", "--out", "m.ONNX"], ok=("worked",), setup=run,
             check=file_written("m.ONNX")))
    for head in (["synth", "-", "--size", "32"], ["contact-sheet", "c.png.", "--size", "32"], [*T, "--out", "-"],
                 ["export", "run", "--out", "-"], ["evaluate", "run", "--out", "-"]):
        add(Case(f"{head[0]} out {'-' if '-' in head else 'c.png.'!r}", head, setup=run))
    for value in ("-inf", "-1e-300", "1.0000000000000002", "1e400", "-.5"):
        add(Case(f"generate --intensities {value} quoted", [*G, "--out", "v.gif", "--intensities", "0", value],
                 setup=both, says=(value,)))
    for value in ("-inf", "1e400"):
        add(Case(f"generate --fps {value} quoted", [*G, "--out", "v.gif", "--intensities", "0", "--fps", value],
                 setup=both, says=(value,)))
    add(Case("generate --mix happy=0,1.0000000000000002 quoted", [*G, "--out", "v.gif", "--mix",
                                                                  "happy=0,1.0000000000000002"],
             setup=both, says=("1.0000000000000002",)))
    for case in cases:
        case.part = 3
    return cases


def _packed_json(path: Path) -> str | None:
    """A check: ``path`` is JSON compressed as its suffix says."""
    import bz2
    import gzip
    import lzma

    if not path.exists():
        return f"{path.name} was not written"
    opener = {".gz": gzip.decompress, ".xz": lzma.decompress, ".bz2": bz2.decompress}[path.suffix.lower()]
    try:
        json.loads(opener(path.read_bytes()))
    except Exception as e:  # noqa: BLE001
        return f"{path.name} is not compressed JSON ({type(e).__name__})"
    return None


def _race(d: Path, writers: int = 6, rounds: int = 10) -> int:
    """How many of ``rounds`` videos written by ``writers`` processes at once end with a sidecar that does not
    describe the video left (its frame count, or its SHA-256 where it holds one)."""
    import hashlib
    from multiprocessing import get_context

    from PIL import Image, ImageSequence

    bad = 0
    with get_context("fork").Pool(writers) as pool:
        for r in range(rounds):
            path = d / f"r{r}.gif"
            pool.map(_race_writer, [(k, str(path)) for k in range(writers)])
            side = json.loads(Path(f"{path}.json").read_text())
            with Image.open(path) as im:
                frames = sum(1 for _ in ImageSequence.Iterator(im))
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            bad += frames != side["frames"] or side.get("sha256", digest) != digest
    return bad


def _race_writer(job) -> None:
    from i2vlib.render import save_video
    k, path = job
    frames = (np.arange(2 + k)[:, None, None, None] * 7 + 40 * k + np.zeros((1, 16, 16, 3))).astype(np.uint8)
    save_video(frames, path, fps=8, writer=k)


def third_api_cases(A: Path) -> list[Case]:
    """The third battery's classes in Python: what ``generate`` takes as an image and as intensities, a video whose
    sidecar describes another, files written one at a time by several processes."""
    import io

    import torch
    from PIL import Image

    import i2vlib

    cases: list[Case] = []
    add = cases.append
    m = functools.cache(lambda: i2vlib.load(A / "run"))    # the run, loaded by the first API case that needs it

    face_path = A / "face.png"
    face = np.asarray(Image.open(face_path).convert("RGB"))
    frame = returns(lambda f, n=1: isinstance(f, np.ndarray) and f.shape == (n, 64, 64, 3) and f.dtype == np.uint8,
                    "1 frame of 64 x 64 x 3 uint8")

    def closed_pil():
        im = Image.open(face_path)
        im.load()
        im.close()
        return im

    def closed_file():
        f = open(face_path, "rb")
        f.close()
        return f

    works = {"BytesIO of a PNG": lambda: io.BytesIO(face_path.read_bytes()),
             "a file open for reading bytes": lambda: open(face_path, "rb"),
             "a bfloat16 tensor": lambda: torch.from_numpy(face / 255.0).bfloat16(),
             "a float16 array": lambda: (face / 255.0).astype(np.float16),
             "floats in [-1, 1]": lambda: face / 127.5 - 1,
             "int64 levels": lambda: face.astype(np.int64),
             "a nested list": lambda: face.tolist(),
             "a sparse tensor": lambda: torch.from_numpy(face).to_sparse(),
             "a channels-first tensor": lambda: torch.from_numpy(face).permute(2, 0, 1),
             "generate's own as_tensor frame": lambda: m().generate(face, [0.5], as_tensor=True)[0],
             "generate's own as_tensor clip of one": lambda: m().generate(face, [0.5], as_tensor=True)}
    for name, image in works.items():
        add(Case(f"api generate image {name}", api=lambda d, i=image: m().generate(i(), [0.5]), ok=("worked",),
                 check=frame))
    refused = {"a ragged nested list": lambda: [[1, 2, 3], [1, 2]], "a meta tensor": lambda: torch.zeros(
               64, 64, 3, device="meta"), "a closed PIL image": closed_pil, "a closed file": closed_file,
               "a text-mode file": lambda: open(face_path, encoding="latin-1"), "bytes": lambda: face_path.read_bytes(),
               "a complex array": lambda: face.astype(np.complex64), "an object array": lambda: np.array(
               [[None]], dtype=object), "a batch of two": lambda: np.stack([face, face]),
               "floats in [0, 255]": lambda: face.astype(np.float32), "a number": lambda: 3}
    for name, image in refused.items():
        add(Case(f"api generate image {name}", api=lambda d, i=image: m().generate(i(), [0.5])))
    for name, value in {"bfloat16": lambda: torch.tensor([0.0, 0.5]).bfloat16(),
                        "a sparse tensor": lambda: torch.tensor([0.0, 0.5]).to_sparse(),
                        "a 0-d tensor": lambda: torch.tensor(0.5)}.items():
        n = 1 if "0-d" in name else 2
        add(Case(f"api generate intensities {name}", api=lambda d, v=value: m().generate(face, v()), ok=("worked",),
                 check=returns(lambda f, n=n: f.shape == (n, 64, 64, 3), f"{n} frames")))
    for name, value in {"a meta tensor": lambda: torch.zeros(2, device="meta"),
                        "a ragged nested list": lambda: [[0.5], [0.5, 0.5]]}.items():
        add(Case(f"api generate intensities {name}", api=lambda d, v=value: m().generate(face, v())))
    for name, value, says in (("1.0000000000000002", [1.0000000000000002], "1.0000000000000002"),
                              ("-1e-300", [-1e-300], "-1e-300"), ("-inf", [-math.inf], "-inf")):
        add(Case(f"api generate intensities {name} quoted", api=lambda d, v=value: m().generate(face, v),
                 says=(says,)))
    for name, kw in {"expression a list": {"expression": ["happy"]}, "expression a tuple": {"expression": ("happy",)},
                     "expression a set": {"expression": {"happy"}}}.items():
        add(Case(f"api generate {name}", api=lambda d, k=kw: m().generate(face, [0.5], **k)))
    add(Case("api load device 'cpu:0' works", ok=("worked",), check=frame,
             api=lambda d: i2vlib.load(A / "run", device="cpu:0").generate(face, [0.5])))
    add(Case("api load device 'cpu:1'", api=lambda d: i2vlib.load(A / "run", device="cpu:1")))

    def swapped(d: Path):
        save_frames("v.gif", 2)(d)
        save_frames("w.gif", 3)(d)
        shutil.copy(d / "w.gif", d / "v.gif")          # v.gif.json still describes the 2-frame clip

    add(Case("api read_video of a GIF whose sidecar describes another", setup=swapped, says=("v.gif.json",),
             api=lambda d: __import__("i2vlib.render").render.read_video(d / "v.gif")))
    add(Case("api 6 processes write one GIF at once (10 rounds)", api=lambda d: _race(d), ok=("worked",),
             check=returns(lambda bad: bad == 0, "no video beside another writer's sidecar")))
    add(Case("api save_video of 3 equal frames to a GIF", ok=("worked",),
             api=lambda d: __import__("i2vlib.render").render.save_video(np.zeros((3, 8, 8, 3), np.uint8), d / "z.gif"),
             check=lambda d, out: frames_of("z.gif", 3)(d, out)))
    for case in cases:
        case.part = 3
    return cases


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="also write the JSON report to this file")
    p.add_argument("--only", help="run the cases whose name contains this word")
    p.add_argument("--part", type=int, choices=[1, 3], help="only the first two batteries' cases (1) or the third's")
    p.add_argument("--jobs", type=int, default=1, help="CLI cases run side by side (default 1)")
    p.add_argument("--list", action="store_true", help="list the cases and stop")
    p.add_argument("--progress", action="store_true", help="name each case on stderr as it ends")
    args = p.parse_args(argv)
    os.environ.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    import torch
    torch.set_num_threads(1)

    start = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="i2v-battery-"))
    try:
        A = build_assets(scratch)
        cases = cli_cases(A) + third_cli_cases(A) + api_cases(A) + third_api_cases(A)
        if args.part is not None:
            cases = [c for c in cases if c.part == args.part]
        if args.only:
            cases = [c for c in cases if args.only in c.name]
        names = Counter(c.name for c in cases)
        assert not [n for n, k in names.items() if k > 1], [n for n, k in names.items() if k > 1]
        if args.list:
            print("\n".join(c.name for c in cases))
            return 0
        cli = [c for c in cases if c.api is None]
        api = [c for c in cases if c.api is not None]
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = dict(zip([c.name for c in cli], pool.map(lambda c: run_case(c, A, scratch, args.progress), cli)))
        results.update({c.name: run_case(c, A, scratch, args.progress) for c in api})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bad = []
    for case in cases:
        r = results[case.name]
        if r["outcome"] not in case.ok and r["outcome"] != "skipped":
            tail = [line for line in (r.get("stderr") or "").splitlines() if line.strip()][-3:]
            bad.append({"case": case.name, "outcome": r["outcome"], "accepted": list(case.ok),
                        "command": r.get("command"), "code": r.get("code"), "stderr_tail": tail,
                        **({"why": r["why"]} if "why" in r else {}),
                        **({"left": r["changed"][:5]} if r["outcome"] == "left_behind" else {})})
    report = {"cases": len(cases), "seconds": round(time.perf_counter() - start),
              "counts": dict(Counter(r["outcome"] for r in results.values()).most_common()),
              "unacceptable": len(bad), "failures": bad}
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
