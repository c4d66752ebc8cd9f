"""What removes AffineGAN's speckle: the remedies the field uses, measured on validation identities.

    python -m i2vlib.zoo.speckle [ARM ...] [--root _build/speckle] [--workers N]

``zoo:affinegan-happy`` meets its targets by the numbers but paints red speckle around the mouth and a grid
texture on the background (its ``texture``, :func:`i2vlib.metrics.texture`: about 1.9 where the truth is 1).
Each arm of :data:`ARMS` changes one thing in the zoo's recipe, at a shorter budget (:data:`STEPS`), and trains
from each seed of :data:`SEEDS`; every run also keeps an exponential moving average of its generator (``ema``),
so the average and the raw generator of the same run are compared pair by pair. ``bf16`` is the base recipe
trained under bf16 autocast (``--amp bf16``: the same config, so its runs live under a root of their own).
Snapshots at :data:`~i2vlib.zoo.CURVE_STEPS` below the budget and the final model are scored by
:func:`scores` on the benchmark's *validation* identities (never the test identities the book reports), and
recorded in ``speckle.json`` beside this module.

The rule, fixed before the runs (a recipe choice made on validation identities):

1. **EMA** is adopted if, over every run of the study at its last step, the raw generator's texture exceeds the
   average's (paired t-test, one-sided, p < 0.05), and the average loses no more than 0.05 of strength and
   adds no more than 0.1 to the ACD-I ratio (means over the runs).
2. **An arm** (``sn``, ``ttur``, ``d3``) is better than ``base`` if its texture, read on the generator that would
   ship (the average where rule 1 adopts it, else the raw one), is lower (Welch's t-test, one-sided,
   p < 0.05) with the same two allowances on strength and ACD-I. Of the arms that are better, the one with
   the lowest mean texture is adopted; combinations of arms are not tested.
3. **bf16** is adopted for the zoo's trainings if it is equal within the allowances: mean texture within
   0.1 of ``base``'s, strength within 0.05, ACD-I ratio within 0.1.

:func:`decide` applies the rule to the records.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from scipy import stats

from ..checkpoint import read_checkpoint
from ..config import config_hash
from ..errors import I2VError, check_names, command_line
from ..evaluate import evaluate, test_clips
from ..io import write_json
from ..metrics import nanmean, spearman
from ..models import get_method
from ..run_files import SNAPSHOTS
from ..runs import cached_runs, is_finished, run_dir
from . import CURVE_STEPS, ENTRIES, HERE, study_main

RESULTS = HERE / "speckle.json"
STEPS = 8000
SEEDS = (0, 1, 2)
EMA = 0.999
BASE = {**ENTRIES["affinegan-happy"]["config"], "steps": STEPS, "ema": EMA}
ARMS = {
    "base": ({}, "the zoo's recipe (70x70 PatchGAN critics, lr 1e-3 for both)", "off"),
    "sn": ({"spectral_norm": True}, "spectral normalisation of both patch critics", "off"),
    "ttur": ({"lr": 5e-4, "lr_d": 2e-3}, "two time-scales: generator 5e-4, critics 2e-3 (ratio 4)", "off"),
    "d3": ({"d_layers": 3}, "the papers' 3-conv critics (22x22 patches)", "off"),
    "bf16": ({}, "the base recipe under bf16 autocast", "bf16"),
}
ALLOW = {"strength": 0.05, "acd_i_ratio": 0.1}   # what a remedy may cost
EQUAL_TEXTURE = 0.1                               # bf16 counts as equal within this much texture


def results() -> dict:
    """The recorded runs: ``{"ARM/SEED": {"arm", "seed", "curve": {step: {"raw": scores, "ema": scores}}, ...}}``."""
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def arm_config(arm: str, seed: int) -> dict:
    (arm,) = check_names([arm], tuple(ARMS), "speckle arm")
    return get_method("affinegan").default_config("book", **{**BASE, **ARMS[arm][0], "seed": seed})


def scores(model, videos: int = 12, seed: int = 0) -> dict:
    """``texture``, ``strength``, the ACD-I ratio and Eq. 5's rho of ``model`` on ``videos`` validation videos."""
    r = evaluate(model, split="val", videos=videos, seed=seed, per_video=False, progress=False)
    s, ref = r["scores"], r["reference"]
    rho = [spearman(c.intensity, model.infer_intensity(c.frames[0], c.frames, expression=c.expression))
           for c in test_clips(model, n=videos, frames=16, seed=seed, split="val")]
    num = lambda v: np.nan if v is None else float(v)   # noqa: E731  (None: nothing measured)
    return {"texture": num(s["texture"]), "strength": num(s["strength"]),
            "acd_i_ratio": num(s["acd_i"]) / num(ref["acd_i"]), "rho_linear": nanmean(rho)}


def _both(ckpt: dict) -> dict:
    """Scores of the raw generator and of its moving average (a checkpoint that keeps both)."""
    method = get_method(ckpt["method"])
    out = {}
    for name, key in (("raw", "generator"), ("ema", "generator_ema")):
        weights = {"generator": ckpt["weights"][key]}
        out[name] = scores(method.Model.from_checkpoint({**ckpt, "weights": weights}))
    return out


def record(arms, root: str = "_build/speckle", workers=None, progress: bool = True) -> dict:
    """Train (or resume) ``arms`` for every seed, score their snapshots and last steps, merge into ``speckle.json``."""
    out = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    where = {arm: root if ARMS[arm][2] == "off" else f"{root}-{arm}" for arm in arms}   # bf16: same configs
    for group in ([a for a in arms if ARMS[a][2] == "off"], *([a] for a in arms if ARMS[a][2] != "off")):
        if group:   # side by side, seed by seed: an interrupted study has whole seeds
            cached_runs([arm_config(a, s) for s in SEEDS for a in group], root=where[group[0]], device="cpu",
                        workers=workers, snapshots=CURVE_STEPS, use_zoo=False, amp=ARMS[group[0]][2])
    for arm in arms:
        for seed in SEEDS:
            cfg = arm_config(arm, seed)
            run = run_dir(cfg, where[arm])
            key = f"{arm}/{seed}"
            known = out.get(key, {}).get("curve", {}) if out.get(key, {}).get("config_hash") == config_hash(cfg) else {}
            curve = dict(known)
            for snap in sorted(run.glob(f"{SNAPSHOTS}/step-*.pt"), key=lambda p: int(p.stem.split("-")[1])):
                step = snap.stem.split("-")[1]
                if step not in curve:
                    if progress:
                        print(f"  {key}: scoring step {step}", flush=True)
                    curve[step] = _both(read_checkpoint(snap))
            if is_finished(run):
                ckpt = read_checkpoint(run)
                if str(ckpt["step"]) not in curve:       # scored once: a recorded end keeps its scores
                    curve[str(ckpt["step"])] = _both(ckpt)
            out[key] = {"arm": arm, "seed": seed, "config_hash": config_hash(cfg), "amp": ARMS[arm][2],
                        "finished": is_finished(run), "curve": curve,
                        "seconds": float(json.loads((run / "run.json").read_text())["seconds"])}
            write_json(RESULTS, out)
    return out


def _last(records: dict, arm: str, weights: str, key: str) -> np.ndarray:
    return np.array([r["curve"][str(STEPS)][weights][key] for r in records.values()
                     if r["arm"] == arm and str(STEPS) in r["curve"]], float)


def decide(records: dict | None = None) -> dict:
    """The rule of this module's docstring applied to the records: ``{"ema": ..., "arm": ..., "bf16": ...}`` with
    the tests behind each decision; an arm with fewer than two finished runs is left out (``bf16`` is then None)."""
    records = results() if records is None else records
    last = [r["curve"][str(STEPS)] for r in records.values() if str(STEPS) in r["curve"]]
    if not last:
        raise I2VError("no run of the speckle study has reached its last step yet")
    diff = {k: np.array([c["ema"][k] - c["raw"][k] for c in last]) for k in ("texture", "strength", "acd_i_ratio")}
    p_ema = float(stats.ttest_1samp(-diff["texture"], 0.0, alternative="greater").pvalue) if len(last) > 1 else 1.0
    ema = bool(p_ema < 0.05 and diff["strength"].mean() >= -ALLOW["strength"]
               and diff["acd_i_ratio"].mean() <= ALLOW["acd_i_ratio"])
    weights = "ema" if ema else "raw"
    base = {k: _last(records, "base", weights, k) for k in ("texture", "strength", "acd_i_ratio")}
    arms = {}
    for arm in ("sn", "ttur", "d3", "bf16"):
        mine = {k: _last(records, arm, weights, k) for k in base}
        if len(mine["texture"]) < 2 or len(base["texture"]) < 2:
            continue
        t = stats.ttest_ind(mine["texture"], base["texture"], equal_var=False, alternative="less")
        cost_ok = (mine["strength"].mean() >= base["strength"].mean() - ALLOW["strength"]
                   and mine["acd_i_ratio"].mean() <= base["acd_i_ratio"].mean() + ALLOW["acd_i_ratio"])
        equal = (abs(mine["texture"].mean() - base["texture"].mean()) <= EQUAL_TEXTURE
                 and abs(mine["strength"].mean() - base["strength"].mean()) <= ALLOW["strength"]
                 and abs(mine["acd_i_ratio"].mean() - base["acd_i_ratio"].mean()) <= ALLOW["acd_i_ratio"])
        arms[arm] = {"texture": float(mine["texture"].mean()), "p_lower": float(t.pvalue), "costs_allowed": bool(cost_ok),
                     "better": bool(t.pvalue < 0.05 and cost_ok), "equal": bool(equal)}
    better = [a for a in ("sn", "ttur", "d3") if arms.get(a, {}).get("better")]
    return {"ema": {"adopted": ema, "p": p_ema, "runs": len(last), **{f"mean_{k}_change": float(v.mean())
                                                                      for k, v in diff.items()}},
            "weights": weights, "base_texture": float(base["texture"].mean()), "arms": arms,
            "adopted_arm": min(better, key=lambda a: arms[a]["texture"]) if better else None,
            "bf16": bool(arms["bf16"]["equal"]) if "bf16" in arms else None}   # None: not run (two seeds at least)


def adopted(decision: dict | None = None) -> dict:
    """The options the zoo's AffineGAN recipe takes from the study (:func:`decide`): ``ema`` and the adopted arm's."""
    decision = decide() if decision is None else decision
    out = {"ema": EMA} if decision["ema"]["adopted"] else {}
    return {**out, **(ARMS[decision["adopted_arm"]][0] if decision["adopted_arm"] else {})}


@command_line("speckle")
def main(argv=None) -> int:
    return study_main(argv, "i2vlib.zoo.speckle", __doc__, ARMS, record, RESULTS, "_build/speckle")


if __name__ == "__main__":
    sys.exit(main())
