"""A training's run directory, as the loop (:mod:`i2vlib.train`) keeps it: the folder checked before any work and
held while a process trains into it, the checkpoints it writes and resumes from, the generator's snapshots, the loss
log and ``run.json``, read back checked.

A run directory::

    RUN_DIR/checkpoint.pt   weights, config, optimiser/scheduler/RNG state (i2vlib.checkpoint)
    RUN_DIR/losses.csv      one row per step: step, seconds, one column per loss term
    RUN_DIR/run.json        method, config, progress, timings (rewritten at every checkpoint)
    RUN_DIR/snapshots/      the generator at chosen steps, ``step-N.pt``
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from pathlib import Path

import torch

from . import checkpoint, distributed
from .errors import I2VError, os_error
from .io import read_csv
from .models import full_config
from .outputs import atomic_path, check_name, check_output, is_temporary, make_folders, remove_created

try:
    import fcntl
except ImportError:        # no flock (Windows): run folders are not locked there
    fcntl = None

RUN_FILES = ("losses.csv", "run.json")   # what a run writes beside its checkpoint
SNAPSHOTS = "snapshots"

# What run.json must hold, and of what type: the fields a reader of a run relies on.
RUN_INFO = {"method": str, "config": dict, "step": int, "finished": bool, "seconds": (int, float), "device": str,
            "amp": str}


def snapshot_path(run, step: int) -> Path:
    """Where the run in ``run`` keeps its generator at ``step`` (``snapshots/step-N.pt``)."""
    return Path(run) / SNAPSHOTS / f"step-{int(step)}.pt"


def kept_snapshots(run) -> dict[int, Path]:
    """The generators the run in ``run`` kept (:func:`snapshot_path`), by step, in step order; none is an empty dict."""
    return dict(sorted((int(p.stem.split("-")[1]), p) for p in (Path(run) / SNAPSHOTS).glob("step-*.pt")))


@contextlib.contextmanager
def run_lock(out: Path, created=()):
    """Hold run directory ``out`` (which exists) while this process trains into it: an advisory lock (flock) on
    the directory itself, which the kernel releases when the process ends however it ends, so that a killed
    training leaves no stale lock and the run gains no file. A directory another process holds is one line, after
    removing ``created`` (the folders this process made for the run)."""
    if fcntl is None:
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            remove_created(created)
            raise I2VError(f"{out} is in use: another process is training into it; wait for it to end, or choose "
                           "another --out") from None
        yield
    finally:
        os.close(fd)


def _stamp(path: Path):
    """What tells one version of a file from another (inode, time, size), or None where there is no file."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _check_run_dir(out: Path, resume: bool) -> None:
    """``out`` may be new, empty, hold a run to resume, or hold only the leftovers of a run that
    never reached its first checkpoint; anything else is refused before any work."""
    check_name(out, "folder")
    if out.exists() and not out.is_dir():
        raise I2VError(f"--out {out} is a file; give a directory")
    if (out / checkpoint.CHECKPOINT).exists():
        if not resume:
            raise I2VError(f"{out} already holds a run; pass --resume to continue it, or choose another --out")
        return
    if out.is_dir():
        others = [p.name for p in out.iterdir() if p.name not in RUN_FILES and not is_temporary(p.name)
                  and not p.name.startswith(f".{checkpoint.CHECKPOINT}.")]
        if others:
            raise I2VError(f"{out} is not empty ({', '.join(sorted(others)[:3])}); choose a new or empty --out")
    check_output(out, "folder")


def read_run(run) -> dict:
    """A run directory's ``run.json``, checked: a file that is no JSON, or whose fields have the wrong types (a
    hand edit), is a one-line error naming the field."""
    path = Path(run) / "run.json"
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        raise I2VError(f"{run} holds no run.json: not a run directory, or its training never reached a checkpoint") \
            from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise I2VError(f"cannot read {path}: {type(e).__name__}: {str(e).splitlines()[0][:120]}") from None
    if not isinstance(info, dict):
        raise I2VError(f"{path} is not a run's record (a JSON object)")
    for key, kind in RUN_INFO.items():
        if key in info and (not isinstance(info[key], kind) or isinstance(info[key], bool) is not (kind is bool)):
            what = {str: "a string", dict: "an object", int: "a whole number", bool: "true or false"}.get(kind, "a number")
            raise I2VError(f"{path}: {key} is {info[key]!r}, not {what}; the file was edited by hand: train the run "
                           "again or restore the file")
    return info


def _devices(out: Path, device, start: int) -> list:
    """``[[device, first step], ...]``: where the run trained, in order; a run resumed on another device (a GPU's
    run finished on a CPU) adds it, from the step it resumed at."""
    before = []
    if start and (out / "run.json").exists():
        old = read_run(out)
        before = old.get("devices") or ([[old["device"], 0]] if isinstance(old.get("device"), str) else [])
    return before if before and before[-1][0] == str(device) else [*before, [str(device), int(start)]]


def _save(trainer, config, step, seconds, path, ranks=None) -> None:
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    if ranks is not None:
        rng["ranks"] = ranks
    checkpoint.save_checkpoint(
        path, config["method"], config, step,
        weights={k: {n: t.detach().cpu() for n, t in net.state_dict().items()} for k, net in trainer.nets.items()},
        optimizers={k: o.state_dict() for k, o in trainer.optimizers.items()},
        schedulers={k: s.state_dict() for k, s in trainer.schedulers.items()},
        scalers={k: s.state_dict() for k, s in trainer.scalers.items()},
        rng=rng, seconds=float(seconds))


def _snapshot(trainer, config, step, path) -> None:
    make_folders(path.parent)
    weights = {k: {n: t.detach().cpu() for n, t in trainer.nets[k].state_dict().items()}
               for k in ("generator", "generator_ema") if k in trainer.nets}
    checkpoint.save_checkpoint(path, config["method"], config, step, weights=weights)


def _restore(trainer, config, path, ctx=distributed.Context()) -> tuple[int, float]:
    ckpt = checkpoint.read_checkpoint(path)
    if ckpt["method"] != config["method"]:
        raise I2VError(f"{path} holds a run of {ckpt['method']}, not of {config['method']}")
    old = {k: v for k, v in full_config(ckpt["config"], where=str(path)).items() if k != "steps"}
    new = json.loads(json.dumps({k: v for k, v in config.items() if k != "steps"}))
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        raise I2VError(f"cannot resume {path.parent}: its run used different settings ({', '.join(changed)}); "
                       "choose another --out")
    if ctx.main:
        _check_record(path.parent, ckpt)
    for k, net in trainer.nets.items():
        checkpoint.load_weights(net, ckpt["weights"][k], str(path))
    for k, o in trainer.optimizers.items():
        o.load_state_dict(ckpt["optimizers"][k])
    for k, s in trainer.schedulers.items():
        s.load_state_dict(ckpt["schedulers"][k])
        # The optimiser kept the rate of the old schedule's last step; a run whose steps grew on resume
        # (its decay starts later) takes its next step at the new schedule's rate.
        for group, base, factor in zip(s.optimizer.param_groups, s.base_lrs, s.lr_lambdas):
            group["lr"] = base * factor(s.last_epoch)
    trainer.saved_scalers = ckpt.get("scalers") or {}
    ranks = ckpt["rng"].get("ranks")
    if ctx.active and ranks is not None and len(ranks) == ctx.world:
        distributed.set_rng_state(ranks[ctx.rank])
    elif ctx.active:   # written by another number of processes: a fresh stream per rank from here on
        distributed.seed_torch(config["seed"], int(ckpt["step"]), ctx)
    else:
        torch.set_rng_state(ckpt["rng"]["torch"])
        if "cuda" in ckpt["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
    return int(ckpt["step"]), float(ckpt.get("seconds", 0.0))


def _check_record(run: Path, ckpt: dict) -> None:
    """What a resume keeps beside the checkpoint, as the run left it: a ``run.json`` whose method or settings differ
    from the checkpoint's was edited (a resume takes the checkpoint's and would overwrite the edit without a word),
    and a missing ``losses.csv`` would lose the log of every step before the checkpoint. Either is one line."""
    if (run / "run.json").exists():
        info = read_run(run)
        saved, written = ckpt["config"], info.get("config", ckpt["config"])
        lagging = info.get("step") != ckpt["step"]   # killed between the checkpoint and run.json: steps may differ
        edits = [f"method {ckpt['method']!r} -> {info['method']!r}"] if info.get("method", ckpt["method"]) != \
            ckpt["method"] else []
        edits += [f"{k} {_shown(saved.get(k))} -> {_shown(written.get(k))}" for k in sorted(set(saved) | set(written))
                  if saved.get(k) != written.get(k) and not (k == "steps" and lagging)]
        if edits:
            raise I2VError(f"cannot resume {run}: its run.json was edited ({'; '.join(edits)}), and a resume takes "
                           "the run's settings from its checkpoint.pt: restore run.json, or train a new run with the "
                           "new settings (i2v train --set KEY=VALUE --out NEW)")
    if not (run / "losses.csv").exists():
        raise I2VError(f"cannot resume {run}: its losses.csv is missing, the log of its steps 1-{ckpt['step']}; "
                       f"restore it, or resume with a log that starts at step {ckpt['step'] + 1} by creating an empty "
                       f"one (touch {run / 'losses.csv'})")


def _shown(value) -> str:
    text = json.dumps(value) if value is not None else "(none)"
    return text if len(text) <= 40 else text[:37] + "..."


class _NoLog:
    """The loss log of a rank other than 0: it writes nothing."""

    def write(self, step: int, seconds: float, values: dict) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _LossLog:
    """``losses.csv``: appends one row per step; on resume, drops rows after the checkpoint's step."""

    def __init__(self, path: Path, names, keep_until: int):
        self.path, self.names = path, list(names)
        rows = []
        if keep_until > 0 and path.exists():
            for row in read_csv(path):         # a damaged log is one line
                try:
                    if int(row["step"]) <= keep_until and None not in row.values():
                        rows.append(row)
                except (KeyError, TypeError, ValueError):
                    continue  # a row cut short by a kill
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, ["step", "seconds", *self.names])
            w.writeheader()
            w.writerows(rows)
        self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, ["step", "seconds", *self.names])

    def write(self, step: int, seconds: float, values: dict) -> None:
        with self._errors():
            self.writer.writerow({"step": step, "seconds": f"{seconds:.3f}",
                                  **{k: f"{values[k]:.6g}" for k in self.names if k in values}})

    def flush(self) -> None:
        with self._errors():
            self.file.flush()

    def close(self) -> None:
        with self._errors():
            self.file.close()

    @contextlib.contextmanager
    def _errors(self):
        """A write that fails (a full disk) is one line naming the log."""
        try:
            yield
        except OSError as e:
            raise I2VError(os_error(e, self.path)) from None
