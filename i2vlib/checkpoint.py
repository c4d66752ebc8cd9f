"""The checkpoint format: one ``torch.save`` file, read back with ``weights_only=True``.

    {"format": "i2v-checkpoint", "format_version": 1, "library_version": "0.1.0",
     "method": "affinegan", "config": {...}, "step": 2000,
     "weights": {net: state_dict}, "optimizers": {...}, "schedulers": {...},
     "rng": {"torch": ByteTensor, "cuda": [ByteTensor, ...]}}

A run directory holds ``checkpoint.pt`` (the latest), ``run.json`` and ``losses.csv``;
:func:`read_checkpoint` accepts the directory or the file. Only plain containers, numbers,
strings and tensors are stored, so loading never unpickles code.

Every checkpoint carries ``sha256``, a digest of everything else it holds (every tensor's dtype, shape
and bytes, every number and string), and :func:`read_checkpoint` recomputes it: a file whose bytes changed
after it was written (a disk error, a truncated copy, an edit) is refused in one line instead of loading
weights that render other frames. Files written before the digest existed load unchecked.

What a checkpoint holds is checked too, so that a file that is not what it claims is one line naming what is
wrong with it: the config is a mapping of named options (:func:`i2vlib.models.full_config` then checks each
against the method's schema), the weights a mapping of networks to mappings of tensors, every one finite (a
run that diverged, or an edit, would otherwise render NaN frames with exit status 0); a network's shapes are
checked against those its config implies where it is built (:func:`load_weights`).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from .errors import I2VError
from .outputs import atomic_file
from .version import __version__

FORMAT = "i2v-checkpoint"
FORMAT_VERSION = 1
CHECKPOINT = "checkpoint.pt"


def checkpoint_path(path) -> Path:
    """``path`` itself if it is a file, ``path/checkpoint.pt`` if it is a run directory."""
    if not isinstance(path, (str, os.PathLike)):
        raise I2VError(f"a checkpoint is a file or run directory path, got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        ckpt = path / CHECKPOINT
        if not ckpt.is_file():
            raise I2VError(f"{path} holds no {CHECKPOINT}: not a run directory, or its training has not "
                           "reached the first checkpoint")
        return ckpt
    if not path.exists():
        raise I2VError(f"no such checkpoint or run directory: {path}")
    return path


def digest(payload) -> str:
    """SHA-256 of a checkpoint's contents: dict keys sorted, tensors by dtype, shape and bytes. The ``path`` that
    :func:`read_checkpoint` adds is where the file lies, not what it holds: left out, so one file has one digest
    wherever it is read."""
    h = hashlib.sha256()

    def walk(x):
        if isinstance(x, dict):
            for k in sorted(x, key=str):
                h.update(f"<{k}>".encode())
                walk(x[k])
        elif isinstance(x, (list, tuple)):
            h.update(b"[")
            for v in x:
                walk(v)
            h.update(b"]")
        elif torch.is_tensor(x):
            t = x.detach().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        else:
            h.update(repr(x).encode())

    walk({k: v for k, v in payload.items() if k != "path"} if isinstance(payload, dict) else payload)
    return h.hexdigest()


def save_checkpoint(path, method: str, config: dict, step: int, weights: dict, **state) -> Path:
    """Write a checkpoint atomically (a crash mid-write leaves the previous one intact), with its :func:`digest`."""
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__,
               "method": method, "config": json.loads(json.dumps(config)), "step": int(step),
               "weights": weights, **state}
    payload["sha256"] = digest(payload)
    with atomic_file(path) as f:
        torch.save(payload, f)
    return Path(path)


def read_checkpoint(path, map_location="cpu") -> dict:
    """Load and validate a checkpoint; a wrong, corrupt or foreign file is one clear error."""
    ckpt_path = checkpoint_path(path)
    try:
        ckpt = torch.load(ckpt_path, map_location=map_location, weights_only=True)
    except PermissionError:
        raise I2VError(f"cannot read {ckpt_path}: permission denied") from None
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError, AttributeError,
            KeyError, IndexError, TypeError, OSError) as e:
        refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(e))
        if refused:    # PyTorch's several paragraphs on how to load it anyway: the file is simply not ours
            raise I2VError(f"{ckpt_path} is not a readable i2v checkpoint: it holds Python objects "
                           f"({refused.group(1)}) that a file of weights never holds (loading them could run code)") \
                from None
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()
        first = text.splitlines()[0] if text else type(e).__name__
        raise I2VError(f"{ckpt_path} is not a readable i2v checkpoint (corrupt, truncated or foreign file: "
                       f"{first[:160]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise I2VError(f"{ckpt_path} is not an i2v checkpoint (a torch file without the i2v header; "
                       "foreign weights cannot be loaded)")
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise I2VError(f"{ckpt_path} was written by a newer i2vlib ({ckpt.get('library_version')}); upgrade i2vlib")
    for key in ("method", "config", "weights", "step"):
        if key not in ckpt:
            raise I2VError(f"{ckpt_path} is an incomplete i2v checkpoint (no {key!r})")
    recorded = ckpt.pop("sha256", None)
    if recorded is not None and recorded != digest(ckpt):
        raise I2VError(f"{ckpt_path} is damaged: what it holds no longer matches the SHA-256 written with it; "
                       "resume from an earlier checkpoint if the run kept one, or train it again")
    step = ckpt["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise I2VError(f"{ckpt_path} has step={step!r}, not a whole number of steps (edited by hand?); "
                       "train it again or restore the file")
    _check_contents(ckpt, ckpt_path)
    ckpt["path"] = str(ckpt_path)
    return ckpt


def _check_contents(ckpt: dict, where: Path) -> None:
    """The config is a mapping of named options; the weights map networks to mappings of finite tensors."""
    config, weights = ckpt["config"], ckpt["weights"]
    if not isinstance(config, Mapping):
        raise I2VError(f"{where} is not a usable i2v checkpoint: its config is {_a(config)}, not a mapping of options")
    odd = [k for k in config if not isinstance(k, str)]
    if odd:
        raise I2VError(f"{where} is not a usable i2v checkpoint: its config has an option named {odd[0]!r}, not a word")
    if not isinstance(weights, Mapping) or not weights:
        raise I2VError(f"{where} is not a usable i2v checkpoint: its weights are {_a(weights)}, not a mapping of "
                       "networks to tensors")
    for net, state in weights.items():
        if state is None and net.endswith("_ema"):   # a run without a moving average may name none
            continue
        if not isinstance(state, Mapping):
            raise I2VError(f"{where} is not a usable i2v checkpoint: the weights of {net} are {_a(state)}, not a "
                           "mapping of tensors")
        for name, t in state.items():
            if not torch.is_tensor(t):
                raise I2VError(f"{where} is not a usable i2v checkpoint: weight {name} of {net} is {_a(t)}, not a "
                               "tensor")
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise I2VError(f"{where}: the weights of {net} hold NaN or infinite values ({name}); the run "
                               "diverged or the file was edited: resume from an earlier checkpoint or train again")


def _a(value) -> str:
    """``a list``, ``an int``: what a value is, for a message."""
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def generator_weights(ckpt: dict) -> dict:
    """The generator a checkpoint's model is: the moving average of a run trained with ``ema``, else the
    generator itself."""
    weights = ckpt["weights"]
    return weights.get("generator_ema") or weights["generator"]


def load_weights(module: torch.nn.Module, state: dict, where: str = "checkpoint") -> None:
    """``module.load_state_dict(state)`` with a one-line error when the shapes or names differ."""
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        detail = " ".join(str(e).split())[:200]
        raise I2VError(f"{where}: weights do not fit the model its config describes ({detail})") from None


def file_hash(path) -> str:
    """sha1 prefix of a file's bytes: names the exact weights behind an exported video."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]
