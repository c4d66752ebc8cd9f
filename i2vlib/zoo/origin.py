"""Where a chapter's model comes from: the zoo's file or a run the chapter trained, in words.

A chapter that asks for a model with :func:`i2vlib.train.cached_run` gets either a shipped zoo file
(in the book profile, when the config is a zoo entry's) or a run directory; :func:`trained` reads
how either was made and :func:`provenance` says it in a sentence the chapter glues.
"""

from __future__ import annotations

import json
from pathlib import Path


def duration(seconds: float) -> str:
    """A training time in words."""
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes" if seconds >= 90 else f"{seconds:.0f} s"


def trained(run) -> dict:
    """How a model was made: ``zoo`` (the entry's name, or None for a run directory), ``steps``, ``seconds``
    and, for a run, ``device``. A zoo file ships only its generator, in fp16: no critics, no optimiser state."""
    from . import record

    run = Path(run)
    if run.suffix == ".pt":
        rec = record(run.stem)
        return {"zoo": run.stem, "steps": rec["steps"], "seconds": rec["seconds"]}
    info = json.loads((run / "run.json").read_text())
    return {"zoo": None, "steps": info["step"], "seconds": info["seconds"], "device": info["device"]}


def made_by(t: dict) -> str:
    """Steps, time and origin of a model (:func:`trained`), in a few words."""
    return (f"{t['steps']} steps, {duration(t['seconds'])}, "
            + (f"the zoo's `{t['zoo']}`" if t["zoo"] else "trained by this chapter"))


def provenance(label: str, entry: str, run, config: dict, **overrides) -> str:
    """A sentence on where the ``label`` model comes from: ``run`` (what ``cached_run(config)`` returned),
    ``entry`` the zoo entry the chapter asks for, ``overrides`` the chapter's changes to it (``data``,
    ``image_size``, ``steps``, ``seed``; ``None`` ignored)."""
    from . import entry_config, env_flag, find, recipe
    from ..config import config_hash
    from ..models import full_config

    t = trained(run)
    if t["zoo"]:
        return (f"The {label} is the zoo's `{t['zoo']}`: trained once, in the background, by `make zoo` for "
                f"{t['steps']} steps ({duration(t['seconds'])}), and loaded here instead of trained.")
    twin = recipe(entry, "book", **{**overrides, "expressions": config["expressions"]})
    if config_hash(full_config(twin)) != config_hash(entry_config(entry)):
        why = f"its configuration differs from the zoo's `{entry}`"
    elif config["profile"] != "book":
        why = f"in the `book` profile the chapter loads the zoo's `{entry}` instead"
    elif env_flag("I2V_RETRAIN"):
        why = f"I2V_RETRAIN is set, so the zoo's `{entry}` is not used"
    elif find(config) is not None:
        why = f"a finished run of the zoo's configuration, cached on disk, comes before the zoo's file `{entry}`"
    else:
        why = f"the zoo's `{entry}` has this configuration, but this copy of i2vlib does not ship it"
    return (f"The {label} was trained by this chapter: {t['steps']} steps in {duration(t['seconds'])} on "
            f"{t['device']} ({why}).")
