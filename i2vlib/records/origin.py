"""Where a chapter's model comes from: the zoo's file or a run the chapter trained, in words.

A chapter that asks for a model with :func:`i2vlib.runs.cached_run` gets either a shipped zoo file
(in the book profile, when the config is a zoo entry's) or a run directory; :func:`trained` reads
how either was made, :func:`provenance` says it in a sentence the chapter glues, and
:func:`train_command` is the ``i2v train`` command line that makes it.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from ..config import config_hash
from ..models import full_config, get_method
from ..run_files import read_run
from ..runs import retraining, zoo_file
from ..zoo import entry_config, recipe, record


def duration(seconds: float) -> str:
    """A training time in words."""
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes" if seconds >= 90 else f"{seconds:.0f} s"


def trained(run) -> dict:
    """How a model was made: ``zoo`` (the entry's name, or None for a run directory), ``steps``, ``seconds``,
    ``devices`` (``[[device, first step], ...]``) and ``device`` (the last of them). A zoo file ships only its
    generator, in fp16: no critics, no optimiser state; one made before records named devices was made on a CPU."""
    run = Path(run)
    if run.suffix == ".pt":
        rec = record(run.stem)
        devices = rec.get("devices") or [["cpu", 0]]
        return {"zoo": run.stem, "steps": rec["steps"], "seconds": rec["seconds"], "devices": devices,
                "device": devices[-1][0]}
    info = read_run(run)
    devices = info.get("devices") or [[info["device"], 0]]
    return {"zoo": None, "steps": info["step"], "seconds": info["seconds"], "devices": devices,
            "device": info["device"]}


def on_devices(devices) -> str:
    """Where a run trained, in words: "on cpu", or "on cuda, then on cpu from step 20000"."""
    return ", then ".join(f"on {d}" + (f" from step {s}" if s else "") for d, s in devices)


def made_by(t: dict) -> str:
    """Steps, time, devices and origin of a model (:func:`trained`), in a few words."""
    return (f"{t['steps']} steps, {duration(t['seconds'])} {on_devices(t['devices'])}, "
            + (f"the zoo's `{t['zoo']}`" if t["zoo"] else "trained by this chapter"))


def provenance(label: str, entry: str, run, config: dict, **overrides) -> str:
    """A sentence on where the ``label`` model comes from: ``run`` (what ``cached_run(config)`` returned),
    ``entry`` the zoo entry the chapter asks for, ``overrides`` the chapter's changes to it (``data``,
    ``image_size``, ``steps``, ``seed``; ``None`` ignored)."""
    t = trained(run)
    if t["zoo"]:
        return (f"The {label} is the zoo's `{t['zoo']}`: trained once, in the background, by `make zoo` for "
                f"{t['steps']} steps ({duration(t['seconds'])} {on_devices(t['devices'])}), and loaded here instead "
                "of trained.")
    twin = recipe(entry, "book", **{**overrides, "expressions": config["expressions"]})
    if config_hash(full_config(twin)) != config_hash(entry_config(entry)):
        why = f"its configuration differs from the zoo's `{entry}`"
    elif config["profile"] != "book":
        why = f"in the `book` profile the chapter loads the zoo's `{entry}` instead"
    elif retraining():
        why = f"I2V_RETRAIN is set, so the zoo's `{entry}` is not used"
    elif zoo_file(config) is not None:
        why = f"a finished run of the zoo's configuration, cached on disk, comes before the zoo's file `{entry}`"
    else:
        why = f"the zoo's `{entry}` has this configuration, but this copy of i2vlib does not ship it"
    return (f"The {label} was trained by this chapter: {t['steps']} steps in {duration(t['seconds'])} "
            f"{on_devices(t['devices'])} ({why}).")


def train_command(config: dict, out: str) -> str:
    """The ``i2v train`` command line that trains ``config`` into ``out`` (options at their profile
    default left out)."""
    default = get_method(config["method"]).default_config(config["profile"])
    flags = {"data": "--data", "steps": "--steps", "image_size": "--size", "seed": "--seed"}
    words, sets = ["i2v", "train", config["method"], "--profile", config["profile"]], []
    for key, value in config.items():
        if key in ("method", "profile") or value == default.get(key):
            continue
        if key in flags:
            words += [flags[key], str(value)]
        elif key == "expressions":
            words += ["--expressions", *value]
        else:
            sets.append(f"{key}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}")
    words += (["--set", *sets] if sets else []) + ["--out", out]
    return " ".join(shlex.quote(w) for w in words)
