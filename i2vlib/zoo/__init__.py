"""The model zoo: trained models shipped inside the library, loaded offline by name.

    i2vlib.load("zoo:affinegan-happy")
    i2v generate zoo:affinegan-happy synthetic:3 --out smile.gif --intensities 0 0.5 1
    i2v evaluate zoo:fan-joint --out metrics.json

Every entry of :data:`ENTRIES` is a recipe: a method and its overrides on the ``book`` profile,
trained to its plateau by ``make zoo`` (:mod:`i2vlib.records.make_zoo`). The shipped file ``NAME.pt``
beside this module is an i2v checkpoint with the generator's weights in fp16 (the critics are
not shipped), the full config, and a ``zoo`` record: the loss log (means over windows of
:data:`LOG_WINDOW` steps), the learning curve (the scores of the snapshots taken while training),
the scores of the final model (:func:`measure`), and how long training took.

A chapter asks for a config with :func:`i2vlib.runs.cached_run`; when a shipped entry was
trained with exactly that config (same config hash) its file is used instead of training
(:func:`i2vlib.runs.zoo_file`), unless the environment variable ``I2V_RETRAIN=1`` is set
(``make book RETRAIN=1``). The entries' scores are measured by :func:`i2vlib.evaluate.zoo_scores.measure`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..checkpoint import read_checkpoint
from ..clip_record import EXPRESSIONS
from ..errors import I2VError, whole_number
from ..models import get_method

HERE = Path(__file__).resolve().parent
PREFIX = "zoo:"
LOG_WINDOW = 50
# The learning curve's points: snapshots of the generator at these steps (those below the
# entry's length), each scored like the final model.
CURVE_STEPS = (1000, 2000, 5000, 10000, 20000, 30000, 40000)

# The mixed precision ``make zoo`` trains in (not part of a config; each file's record says which it used).
AMP = "off"

# Shared by every entry: 1000 training identities (the book profile's 200 are seen hundreds of
# times in a long run), checkpoints every 1000 steps.
_LONG = {"videos": 1000, "checkpoint_every": 1000}

# What each entry was trained on (its ``trained_on``): the book's own benchmarks, never a photograph. A model meets a
# photo far from them (i2vlib.api.domain_note says so when it does).
FACES = ("the book's synthetic face benchmark only: drawn, flat-shaded 64-px faces, 1000 training videos per "
         "expression; never a photograph")
POSES = ("the book's synthetic pose benchmark only: drawn articulated figures at 64 px, 200 training videos per "
         "action; never a photograph")

# The discriminators, chosen per method by the capacity study (:mod:`i2vlib.studies.capacity`, the
# Convergence chapter): AffineGAN's are the public code's 70x70 PatchGAN (``d_layers=5``), since
# with the papers' "three-layer" reading it painted coloured blobs and Eq. 5 read intensities worse;
# Fan et al.'s models keep the papers' three convolutions: the happy model met both targets with
# clean faces in a fifth of the time, where the 70x70 PatchGAN left speckles over the whole face, and
# the joint model's faces are clean too (ACD-I 1.14x against 2.14x; accuracy 0.86 against 0.92).
#
# AffineGAN: one model per expression, as the paper trains them (§3.1: "We train models for expressions
# respectively"; no local loss for close-eyes and raise-eyes, §4, which the method does by itself), and the
# unified model of all seven the paper sketches after Eq. 6 (labels for E_delta, StarGAN's classification loss).
# The speckle study (studies/speckle.py, the Convergence chapter) adopted the generator's moving average (ema), which
# is evaluated and shipped; none of its other remedies (tests/test_zoo.py checks that this recipe is what it adopted).
_AFFINEGAN = {**_LONG, "steps": 20000, "d_layers": 5, "ema": 0.999}
_EXPERTS = {f"affinegan-{e}": {"method": "affinegan", "config": {**_AFFINEGAN, "expressions": [e]},
                               "about": f"AffineGAN, one model for {e} (the paper's setting: one model per expression)",
                               "trained_on": FACES}
            for e in EXPRESSIONS}
# FRGAN: each stage its own entry, so that a chapter asking for G_M alone finds it and the full model's file
# ships G_R alone (i2vlib.runs.load adds its G_M). The book's recipe (frgan.chapter_config): the public code's
# loss weights, G_M at batch 8, G_R at half the widths on clips of 16, for many times the chapters' steps.
_CODE_WEIGHTS = {"rec": 3.0, "mask": 0.05}
# G_R's adversarial weights (Eq. 12, gen for D_V and frames for D_I), the zoo's and the refine-stage ablation arms':
# what the refinement study adopted on validation identities and videos (studies/refine.py; on the 40k faces G_M, at
# 1 G_R cost 5.1 dB of G_M's PSNR there, at 0.1 it gained 0.14 dB; on poses 0.18 dB against a gain of 0.41 dB)
REFINE_ADVERSARIAL = {"gen": 0.1, "frames": 0.1}
_FRGAN_FACES = {**_LONG, "expressions": list(EXPRESSIONS), "weights": _CODE_WEIGHTS}
# G_M's PSNR still moved by the plateau rule at 20k, 30k and 40k (+0.42, then +0.33 dB per 10k, against 0.3): 40k
# (about 2 h on one core) is where the zoo stops, and the Convergence chapter says the curve is still moving
_FRGAN_FACES_GM = {**_FRGAN_FACES, "steps": 40000}
# The pose G_M at the paper's batch of 32 (§4.1; the faces' G_M keeps the book's 8): its first 20k steps on a lent
# H200 (10 min), the last 10k on one core (134 min; the record's devices say so). At 20k its change ratio still
# fell (0.62, then 0.54 at 30k); at batch 8 the same 20k steps on one core (89 min) reached 0.63.
_FRGAN_POSE = {"videos": 200, "checkpoint_every": 1000, "weights": _CODE_WEIGHTS}
_FRGAN_POSE_GM = {**_FRGAN_POSE, "steps": 30000, "batch": 32}
_FRGAN = {
    "frgan-faces-forecast": {"method": "frgan", "config": _FRGAN_FACES_GM,
                             "about": "FRGAN's G_M alone, the seven expressions (the forecast of zoo:frgan-faces)",
                             "trained_on": FACES},
    # G_R's adversarial weights at 0.1 (REFINE_ADVERSARIAL)
    "frgan-faces": {"method": "frgan", "config": {**_FRGAN_FACES, "stage": "refine", "steps": 5000,
                                                  "weights": {**_CODE_WEIGHTS, **REFINE_ADVERSARIAL},
                                                  "forecast": _FRGAN_FACES_GM},
                    "about": "FRGAN, G_M and G_R on the seven expressions (G_C: the benchmark's face model)",
                    "trained_on": FACES},
    "frgan-pose-forecast": {"method": "frgan-pose", "config": _FRGAN_POSE_GM,
                            "about": "FRGAN's pose G_M alone (the forecast of zoo:frgan-pose)", "trained_on": POSES},
    # The pose G_R's adversarial weights at 0.1 too (REFINE_ADVERSARIAL: at 1 it also drew specks; the study's rule as
    # first written took 1, and was changed, openly, after these results)
    "frgan-pose": {"method": "frgan-pose", "config": {**_FRGAN_POSE, "stage": "refine", "steps": 4000,
                                                      "weights": {**_CODE_WEIGHTS, **REFINE_ADVERSARIAL},
                                                      "forecast": _FRGAN_POSE_GM},
                   "about": "FRGAN on the pose benchmark, G_M and G_R (joints from the LSTM of [39])",
                   "trained_on": POSES},
}
ENTRIES = {
    **_EXPERTS,
    "affinegan-all": {"method": "affinegan",   # the paper's budget for it, 40k steps: 48 min on one core
                      "config": {**_AFFINEGAN, "steps": 40000, "expressions": list(EXPRESSIONS), "classify": 1.0},
                      "about": "AffineGAN, one unified model for the seven expressions (label planes for E_delta, "
                               "StarGAN's classification loss)", "trained_on": FACES},
    "affinegan-seven": {"method": "affinegan",   # its own recipe: _AFFINEGAN may change, this file may not
                        "config": {**_LONG, "steps": 20000, "d_layers": 5, "expressions": list(EXPRESSIONS)},
                        "about": "AffineGAN's earlier seven-expression recipe: label planes without the "
                                 "classification loss, 20k steps (it draws no expression; kept for the Convergence "
                                 "chapter's study of it)", "trained_on": FACES},
    "fan-happy": {"method": "fan", "config": {**_LONG, "steps": 10000, "d_layers": 3},
                  "about": "Fan et al., one model for happy", "trained_on": FACES},
    "fan-joint": {"method": "fan", "config": {**_LONG, "steps": 30000, "d_layers": 3,   # 10k left it rising
                                              "expressions": ["happy", "anger", "surprise"]},
                  "about": "Fan et al., one joint model for happy, anger and surprise (one e_1 each)",
                  "trained_on": FACES},
    "convlstm-happy": {"method": "convlstm", "config": {**_LONG, "steps": 10000, "d_layers": 5},
                       "about": "Fan et al.'s ConvLSTM baseline (a fixed ten-frame clip), happy",
                       "trained_on": FACES},
    **_FRGAN,
}


def names() -> list[str]:
    """The entries of :data:`ENTRIES` whose file is shipped."""
    return [n for n in ENTRIES if (HERE / f"{n}.pt").is_file()]


def entry_config(name: str) -> dict:
    """The full config the current code builds for entry ``name`` (what ``make zoo`` trains)."""
    e = _entry(name)
    return get_method(e["method"]).default_config("book", **e["config"])


def recipe(name: str, profile: str = "book", **overrides) -> dict:
    """The config a chapter asks for when it shows entry ``name``: in the book profile the entry's own
    (:func:`entry_config`, which :func:`find` loads from the zoo), in another profile that profile's
    config of the same method, expressions and stage (a later stage on its earlier stage's, likewise).
    ``overrides`` (``None`` ignored) change either; a changed book config no longer matches the entry and trains."""
    e = _entry(name)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    method = get_method(e["method"])
    if profile == "book":
        return method.default_config("book", **{**e["config"], **overrides})
    keep = {k: v for k, v in e["config"].items() if k in ("expressions", "stage")}
    if "forecast" in e["config"]:          # a later stage: on its earlier stage's config in the same profile
        earlier = {k: v for k, v in e["config"]["forecast"].items() if k == "expressions"}
        keep["forecast"] = method.default_config(profile, **{**earlier, **overrides})
    return method.default_config(profile, **{**keep, **overrides})


def path(name: str) -> Path:
    """The shipped file of entry ``name`` (``zoo:`` prefix allowed)."""
    if not isinstance(name, str):
        raise I2VError(f"a zoo entry is named by a string (zoo:NAME), got {type(name).__name__}")
    name = name.removeprefix(PREFIX)
    _entry(name)
    file = HERE / f"{name}.pt"
    if not file.is_file():
        raise I2VError(f"zoo entry {name!r} is not shipped with this copy of i2vlib; train it with `make zoo`")
    return file


def env_flag(name: str) -> bool:
    """Whether environment variable ``name`` is set to anything but empty or ``0`` (``I2V_RETRAIN``)."""
    return os.environ.get(name, "") not in ("", "0")


def record(name: str) -> dict:
    """The ``zoo`` record of a shipped entry: ``scores``, ``curve``, ``losses``, ``seconds``, ``steps``."""
    ckpt = read_checkpoint(path(name))
    return {**ckpt["zoo"], "steps": int(ckpt["step"]), "config": ckpt["config"]}


def listing(describe=None) -> list[str]:
    """One line per entry: shipped or not, its steps, expressions and three headline scores (``i2v zoo``), what
    ``describe(method, scores)`` says of it (the command adds each entry's health), what it is and was trained on."""
    lines = []
    for name, entry in ENTRIES.items():
        if name not in names():
            lines.append(f"zoo:{name:25s} not shipped in this copy (make zoo)  {entry['about']}; trained on "
                         f"{entry['trained_on']}")
            continue
        rec = record(name)
        s = rec["scores"]
        shown = "; ".join(f"{label} {'-' if s.get(key) is None else format(s[key], '.2f')}"
                          for key, label in (("strength_ratio", "strength at a=1 / truth's"),
                                             ("acd_i_ratio", "ACD-I / truth's"), ("texture", "texture")) if key in s)
        state = f"; {describe(entry['method'], s)}" if describe else ""
        lines.append(f"zoo:{name:25s} {rec['steps']} steps, {', '.join(rec['config']['expressions'])}; {shown}"
                     f"{state}  {entry['about']}; trained on {entry['trained_on']}")
    return lines


def _entry(name: str) -> dict:
    if name not in ENTRIES:
        raise I2VError(f"unknown zoo entry {name!r}; the zoo holds {', '.join(ENTRIES)}")
    return ENTRIES[name]


__all__ = ["ENTRIES", "names", "entry_config", "recipe", "path", "record", "listing", "env_flag", "add_workers"]


def add_workers(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` of a command that trains runs side by side (:func:`i2vlib.runs.cached_runs`): at least 1."""
    parser.add_argument("--workers", type=whole_number(1), default=None,
                        help="parallel trainings (default: one per core)")
