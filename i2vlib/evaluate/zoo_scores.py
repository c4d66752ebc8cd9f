"""The scores every zoo model carries, measured on unseen test identities of the benchmark, each method on its
paper's protocol: intensity models (Fan et al., AffineGAN, the baselines) on generated intensities, FRGAN's face
models on Table 1's retargeting protocol, its pose models on §4.3's forecasting protocol.

The targets the zoo is held to (:data:`TARGETS`, what the book reports against them):

* ``strength_ratio`` -- the instrument's strength of the expression at a = 1, over that of the
  true peak frames (target >= 0.9); each expression's under ``strength_ratio_per_expression``;
* ``acd_i_ratio`` -- ACD-I of generated videos over the ground-truth reference row's (target <= 2; FRGAN's
  retargeted videos <= 1.69, the paper's own ratio in Table 1);
* ``expression_accuracy`` -- share of generated frames with a >= 0.5 read as the requested
  expression (multi-expression models: target >= 0.95; FRGAN's retargeted frames >= 0.90);
* ``inferred_intensity_rho`` -- for models that infer intensities (AffineGAN Eq. 5): per-video
  Spearman rho of the inferred vs the true intensity, per intensity curve (target >= 0.90 on
  ``linear``, >= 0.85 on the others);
* ``texture`` -- speckle as a number: the generated frames' fine detail over that of the true frames
  without sensor noise (:func:`i2vlib.metrics.texture`; target <= 1.3);
* FRGAN with G_R: ``refine_psnr_cost`` (G_M alone's PSNR minus the full model's, target <= 0.5 dB) and
  ``refine_colour_shift`` (the colour shift G_R adds, :func:`i2vlib.metrics.colour_shift`, target <= 1 grey level);
* pose models: ``mse_lstm_over_hold`` (MSE with the LSTM's joints over holding the last observed frame, target
  below 1) and ``change_ratio_gt`` (the error inside the true change region with true joints over holding the
  frame's, target <= 0.6).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import metrics
from ..io import to_json
from ..runs import load
from ..zoo import ENTRIES, HERE, record
from . import evaluate, expression_progress, pose_protocol, retarget, test_clips

# Intensity curves on which Eq. 5 is read (the benchmark's test videos follow each in turn).
INFER_CURVES = ("linear", "incomplete", "periodic", "unordered")


def measure(model, videos: int = 12, frames: int = 16, seed: int = 0) -> dict:
    """The zoo scores of ``model`` (any generator of :func:`i2vlib.load`), deterministic for a given model.

    ``videos`` per expression for the protocol (FRGAN: target identities per expression), and per curve for
    Eq. 5; ``frames`` per Eq. 5 and strength video. A pose model is scored on its protocol's fixed test videos.
    """
    method = getattr(model, "method", None)
    if callable(getattr(model, "forecast", None)):              # a pose model (frgan-pose, vgan and mathieu on poses)
        out = _forecasting(model)
    elif method == "frgan":
        out = {**_retargeting(model, videos, seed), **_strength(model, videos, frames, seed)}
    else:
        out = _intensities(model, videos, frames, seed)
    return to_json(_rounded(out))


def _rounded(value):
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 6) if isinstance(value, float) else value


def _intensities(model, videos: int, frames: int, seed: int) -> dict:
    exprs = tuple(model.expressions)
    r = evaluate(model, videos=videos * len(exprs), seed=seed, per_video=False, progress=False)
    s, ref = r["scores"], r["reference"]
    out = {key: s[key] for key in ("acd_i", "acd_c", "expression_accuracy", "intensity_rho", "landmark_error",
                                   "psnr", "ssim", "texture")}
    out["acd_i_reference"] = ref["acd_i"]
    out["acd_i_ratio"] = _ratio(s["acd_i"], ref["acd_i"])
    if getattr(model, "supported_intensities", None) is None:
        out.update(_strength(model, videos, frames, seed))
    if hasattr(model, "infer_intensity"):
        rho, inside = {}, []
        for curve in INFER_CURVES:
            per_video = []
            for clip in test_clips(model, curve=curve, n=videos * len(exprs), frames=frames, seed=seed):
                a = model.infer_intensity(clip.frames[0], clip.frames, expression=clip.expression)
                per_video.append(metrics.spearman(clip.intensity, a))
                inside.append(np.mean((a >= 0) & (a <= 1)))
            rho[curve] = metrics.nanmean(per_video)
        out["inferred_intensity_rho"], out["inferred_in_unit_range"] = rho, float(np.mean(inside))
    return out


def _strength(model, videos: int, frames: int, seed: int) -> dict:
    """``strength_ratio`` (the mean over expressions, and each one's) and ``progress_rho`` of generated intensities."""
    exprs = tuple(model.expressions)
    ratios, rhos = [], []
    for e in exprs:
        p = expression_progress(model, test_clips(model, n=videos, frames=frames, seed=seed, expressions=(e,)))
        ratios.append(p["strength_at_1"] / p["true_peak_strength"])
        rhos.append(p["rho"])
    return {"strength_ratio": float(np.mean(ratios)), "progress_rho": float(np.mean(rhos)),
            "strength_ratio_per_expression": dict(zip(exprs, map(float, ratios)))}


# What the FRGAN face record keeps of each row of the retargeting protocol.
RETARGET_KEYS = ("acd_i", "acd_c", "expression_accuracy", "landmark_error", "mse", "psnr", "ssim", "texture",
                 "colour_shift")


def _retargeting(model, videos: int, seed: int) -> dict:
    """Table 1's protocol (:func:`i2vlib.evaluate.retarget.retargeting`): the full model's scores, G_M alone's under
    ``forecast``, what refinement costs, and the ACD-I ratio and accuracy of each expression."""
    r = retarget.retargeting(model, targets=videos, seed=seed)
    s, g_m, ref = r["scores"], r["forecast_scores"], r["reference"]
    out = {k: s[k] for k in RETARGET_KEYS}
    out["acd_i_reference"] = ref["acd_i"]
    out["acd_i_ratio"] = _ratio(s["acd_i"], ref["acd_i"])
    out["forecast"] = {**{k: g_m[k] for k in RETARGET_KEYS}, "acd_i_ratio": _ratio(g_m["acd_i"], ref["acd_i"])}
    if model.refiner is not None:
        out["refine_psnr_cost"] = g_m["psnr"] - s["psnr"]
        out["refine_colour_shift"] = s["colour_shift"] - g_m["colour_shift"]
    out["per_expression"] = {e: {"acd_i_ratio": _ratio(p["scores"]["acd_i"], p["reference"]["acd_i"]),
                                 **{k: p["scores"][k] for k in ("expression_accuracy", "psnr", "texture")}}
                             for e, p in r["per_expression"].items()}
    return out


def _forecasting(model) -> dict:
    """§4.3's protocol (:func:`i2vlib.evaluate.pose_protocol.forecasting`): its scores, and MSE over holding the
    frame's."""
    s = pose_protocol.forecasting(model)["scores"]
    return {**s, "mse_lstm_over_hold": _ratio(s["mse_lstm"], s["mse_hold"]),
            "mse_gt_over_hold": _ratio(s["mse_gt"], s["mse_hold"])}


def _ratio(a, b):
    return None if a is None or not b else a / b


def scores_of(run, **options) -> dict:
    """:func:`measure`'s scores of the model ``run`` holds (what :func:`i2vlib.runs.cached_runs` returned): a zoo
    file's recorded ones, else measured now (``options``: :func:`measure`'s)."""
    run = Path(run)
    if run.suffix == ".pt" and run.parent == HERE and run.stem in ENTRIES:
        return record(run.stem)["scores"]
    return measure(load(run), **options)


# The book's targets for a zoo model: (score, at least / at most / below, threshold, to whom it applies, the methods
# of a row that replaces the general one for them; None: every method without a row of its own for that score).
TARGETS = (
    ("strength_ratio", ">=", 0.90, "every model that renders any intensity", None),
    ("acd_i_ratio", "<=", 2.0, "every model", None),
    ("acd_i_ratio", "<=", 1.69, "FRGAN's retargeted videos: the paper's own ratio (Table 1, 0.184 / 0.109)",
     ("frgan",)),
    ("texture", "<=", 1.3, "every model", None),
    ("expression_accuracy", ">=", 0.95, "models of several expressions", None),
    ("expression_accuracy", ">=", 0.90, "FRGAN's retargeted frames of intensity >= 0.5", ("frgan",)),
    ("inferred_intensity_rho.linear", ">=", 0.90, "models that infer intensities", None),
    ("inferred_intensity_rho.incomplete", ">=", 0.85, "models that infer intensities", None),
    ("inferred_intensity_rho.periodic", ">=", 0.85, "models that infer intensities", None),
    ("inferred_intensity_rho.unordered", ">=", 0.85, "models that infer intensities", None),
    ("refine_psnr_cost", "<=", 0.5, "FRGAN with G_R: the PSNR (dB) refinement loses against G_M alone", ("frgan",)),
    ("refine_colour_shift", "<=", 1.0, "FRGAN with G_R: the colour shift (grey levels) refinement adds",
     ("frgan",)),
    ("mse_lstm_over_hold", "<", 1.0, "pose models: MSE with the LSTM's joints over holding the last observed frame",
     ("frgan-pose",)),
    ("change_ratio_gt", "<=", 0.6, "pose models: error in the true change region, true joints, over holding "
                                   "the frame's", ("frgan-pose",)),
)


def score(scores: dict, key: str, missing=None):
    """``scores[key]``, where ``a.b`` reads a nested dict (``inferred_intensity_rho.linear``); ``missing`` where
    it is absent or None."""
    for part in key.split("."):
        scores = scores.get(part) if isinstance(scores, dict) else None
    return missing if scores is None else scores


def targets(scores: dict, expressions, method: str | None = None) -> list[dict]:
    """The :data:`TARGETS` that apply to a model of ``method`` with these ``scores`` and ``expressions``, each with
    the model's value and whether it is met (``None`` when the score could not be measured)."""
    rows = []
    for key, op, threshold, who, methods in TARGETS:
        if who.startswith("models of several") and len(expressions) < 2:
            continue
        if key.split(".")[0] not in scores:            # the score does not apply to this model
            continue
        own = any(k == key and m and method in m for k, _, _, _, m in TARGETS)
        if (methods is None) == own or (methods is not None and method not in methods):
            continue
        value = score(scores, key)
        met = None if value is None else {">=": value >= threshold, "<=": value <= threshold,
                                          "<": value < threshold}[op]
        rows.append({"score": key, "target": f"{op} {threshold:g}", "value": value, "met": met})
    return rows


# When a stage has reached the flat part of its learning curve (fixed before FRGAN's zoo runs were trained): between
# the last two points of its curve each score moves by less than its tolerance, absolute or relative to the earlier.
PLATEAU = {"frgan": {"psnr": ("absolute", 0.3), "acd_i_ratio": ("relative", 0.05)},
           "frgan-pose": {"mse_gt": ("relative", 0.05), "change_ratio_gt": ("absolute", 0.03)}}


def plateau(curve: dict, method: str) -> dict:
    """Whether a learning curve (``{step: scores}``, a zoo record's) has flattened by :data:`PLATEAU`'s rule for
    ``method``: ``steps`` (the last two), per score its two values, ``change`` and ``flat``, and ``flat`` overall
    (None with fewer than two points)."""
    steps = sorted(curve, key=int)[-2:]
    out = {"steps": [int(s) for s in steps], "scores": {}, "flat": None}
    if len(steps) < 2:
        return out
    for key, (kind, tolerance) in PLATEAU[method].items():
        before, after = (score(curve[s], key) for s in steps)
        change = None if before is None or after is None else after - before
        if change is not None and kind == "relative":
            change = change / abs(before) if before else None
        flat = None if change is None else abs(change) < tolerance
        out["scores"][key] = {"values": [before, after], "change": change, "kind": kind, "tolerance": tolerance,
                              "flat": flat}
    verdicts = [s["flat"] for s in out["scores"].values()]
    out["flat"] = None if None in verdicts else all(verdicts)
    return out
