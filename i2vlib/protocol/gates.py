"""The gates: what an arm's run must show before a claim may use it, by the arm's role in its table.

Two roles (each table declares its arms', :mod:`.tables`):

* a **comparator** -- a baseline, or the paper's full model -- must render a face, move toward the truth and keep
  the input's identity: a claim that compares with a model that does none of these compares with nothing;
* an **ablation** -- an arm the paper predicts to be worse (a component removed, a baseline whose failure is the
  paper's claim) -- is gated only against failure: finite scores, and an output not collapsed onto one face. The
  degradation the paper predicts must stay measurable, so no quality bound applies to it.

Every bound is read from a model-free reference (:mod:`.references`), never from a model's result, and the gates of
every table fail every reference of :data:`~.references.MUST_FAIL` and pass the truth (``tests/test_protocol.py``):

=============  ============================================================================  =================
gate           passes when                                                                   measures
=============  ============================================================================  =================
``face``       the video's PSNR to the truth is above a blank frame's (each frame the input's  arm, retarget
               mean colour)
``direction``  the intensity the instrument reads rises with the one asked for: Spearman rho   arm
               at least a quarter of the truth's (copying, sliding or a mean face: 0)
``moves``      the landmarks move at least a quarter of the truth's displacement at the end     arm
``graded``     the change comes in steps: the largest step between neighbouring frames over the  arm
               mean step lies at least a quarter of the way from a jump's toward the truth's
               (a model that renders only its own clip's frames: not measured, passes)
``toward``     the error inside the region that moves lies at least a quarter of the way from   retarget, pose
               the copy's (faces) or the held frame's (poses) to the truth's
``follows``    the error does not fall as the motion grows: the last third's minus the first's  retarget, pose
               at least minus a quarter of the copy's rise (poses: of its size, for on periodic
               actions the copy's error falls); holding the last frame, it falls
``identity``   ACD-I to the input below another test person's true video's                      arm, retarget
``near_hold``  the forecast's MSE at most twice holding the last observed frame                 pose
``finite``     its scores are finite numbers (the instrument read faces in its frames)          every measure
``distinct``   ACD-I below the training set's mean face's: the output depends on the input     arm, retarget
``figure``     the forecast's MSE below a blank frame's: it renders a figure                   pose
=============  ============================================================================  =================

A quarter is the zoo's own bound on expression strength (:data:`i2vlib.claims.health.STRENGTH`), fixed before any
model was gated here. :func:`gate` applies a table's comparator gates to any model (``i2v gate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import I2VError
from . import references
from .measures import MEASURES
from .tables import ABLATION, COMPARATOR, MEASURE, measure_options

ROLES = (COMPARATOR, ABLATION)
QUARTER = 0.25
OPS = {">=": lambda v, b: v >= b, ">": lambda v, b: v > b, "<=": lambda v, b: v <= b, "<": lambda v, b: v < b}


@dataclass(frozen=True)
class Gate:
    """One gate: ``read`` takes a run's measurement (a record's value) and the references of its measure and returns
    a number (None: not measured, a failure); ``bound`` takes the references; ``op`` compares them. ``applies``: where
    given, a run it is False for passes unmeasured (a measurement that a kind of model cannot have)."""

    name: str
    says: str
    read: Callable[[Mapping, Mapping], float | None]
    op: str
    bound: Callable[[Mapping], float]
    applies: Callable[[Mapping], bool] | None = None

    def judge(self, value: Mapping, refs: Mapping) -> dict:
        """``{"value", "bound", "passed"}`` of one run."""
        bound = float(self.bound(refs))
        if self.applies is not None and not self.applies(value):
            return {"value": None, "bound": bound, "passed": True}
        try:
            x = self.read(value, refs)
        except (KeyError, TypeError, IndexError, ValueError, ZeroDivisionError):
            x = None
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return {"value": None, "bound": bound, "passed": False}
        return {"value": float(x), "bound": bound, "passed": bool(OPS[self.op](float(x), bound))}

    def describe(self, refs: Mapping) -> str:
        return f"{self.says} {self.op} {self.bound(refs):.4g}"


def _num(x) -> float | None:
    return None if x is None else float(x)


def _toward(err: float | None, copy: float, truth: float) -> float | None:
    """How far an error lies from the copy's toward the truth's: 0 at the copy's, 1 at the truth's."""
    return None if err is None else (copy - float(err)) / (copy - truth)


def _motion_rise(frame_l1, third) -> float:
    """How much a retargeted video's error grows with the motion: its frames' mean error in the last motion third
    minus the first's (``third``: each frame's, the references')."""
    fl, third = np.asarray(frame_l1, dtype=float), np.asarray(third)
    return float(fl[third == third.max()].mean() - fl[third == third.min()].mean())


def _toward_bound(degenerate: float, truth: float) -> float:
    """The value a quarter of the way from a degenerate reference's toward the truth's."""
    return float(degenerate) - QUARTER * (float(degenerate) - float(truth))


def _mean_videos(value: Mapping, key: str, condition: str = "gt") -> float:
    return float(np.nanmean(np.asarray(value[key][condition], dtype=float)))


def _pose_ref(value: Mapping, refs: Mapping, name: str, key: str, condition: str = "gt") -> float:
    """A pose reference's mean over the videos of the run's actions (a one-action model is scored on its own)."""
    ref = refs[name]
    keep = [a in set(value["actions"]) for a in ref["actions"]]
    return float(np.nanmean(np.asarray(ref[key][condition], dtype=float)[keep]))


# ------------------------------------------------------------------------------------------------ the gates
FACE = Gate("face", "PSNR of the video to the truth (dB), against a blank frame's",
            lambda v, r: _num(v["psnr"]), ">", lambda r: r["blank"]["psnr"])
DIRECTION = Gate("direction", "Spearman rho of the intensity read against the one asked for, against a quarter "
                              "of the truth's", lambda v, r: _num(v["intensity_rho"]), ">=",
                 lambda r: QUARTER * r["truth"]["intensity_rho"])
MOVES = Gate("moves", "landmark displacement at the end over the truth's",
             lambda v, r: float(v["landmark_final"]) / float(v["landmark_final_truth"]), ">=", lambda r: QUARTER)
GRADED = Gate("graded", "largest change between neighbouring frames over the mean change (41 frames, a = 0 ... 1), "
                        "against a quarter of the way from a jump's toward the truth's",
               lambda v, r: _num(v["sudden_change"]), "<=",
               lambda r: _toward_bound(r["jump"]["sudden_change"], r["truth"]["sudden_change"]),
               applies=lambda v: "sudden_change" in v)
IDENTITY = Gate("identity", "ACD-I to the input, against another test person's true video's",
                lambda v, r: _num(v["acd_i"]), "<", lambda r: r["another person"]["acd_i"])
FINITE = Gate("finite", "PSNR of the video to the truth (finite: a video was rendered and read)",
              lambda v, r: _num(v["psnr"]) if v.get("acd_i") is not None else None, ">", lambda r: -math.inf)
DISTINCT = Gate("distinct", "ACD-I to the input, against the training set's mean face's",
                lambda v, r: _num(v["acd_i"]), "<", lambda r: r["mean face"]["acd_i"])

R_FACE = Gate("face", "PSNR of the retargeted video to the truth (dB, G_C fitted), against a blank frame's",
              lambda v, r: _num(v["fitted"]["psnr"]), ">", lambda r: r["blank"]["fitted"]["psnr"])
R_TOWARD = Gate("toward", "error inside the change region, from the copy's (0) toward the truth's (1)",
                lambda v, r: _toward(v["fitted"]["change_l1"], r["copy"]["fitted"]["change_l1"],
                                     r["truth"]["fitted"]["change_l1"]), ">=", lambda r: QUARTER)
R_FOLLOWS = Gate("follows", "rise of the error from the first motion third to the last (L1, oracle), against minus a "
                             "quarter of the copy's", lambda v, r: _motion_rise(v["frame_l1"], r["third"]), ">=",
                 lambda r: -QUARTER * _motion_rise(r["copy"]["frame_l1"], r["third"]))
R_IDENTITY = Gate("identity", "ACD-I to the input (G_C fitted), against another target's true video's",
                  lambda v, r: _num(v["fitted"]["acd_i"]), "<", lambda r: r["another person"]["fitted"]["acd_i"])
R_FINITE = Gate("finite", "PSNR of the retargeted video (finite: a video was rendered and read)",
                lambda v, r: _num(v["fitted"]["psnr"]) if v["fitted"].get("acd_i") is not None else None, ">",
                lambda r: -math.inf)
R_DISTINCT = Gate("distinct", "ACD-I to the input (G_C fitted), against the training set's mean face's",
                  lambda v, r: _num(v["fitted"]["acd_i"]), "<", lambda r: r["mean face"]["fitted"]["acd_i"])

P_NEAR_HOLD = Gate("near_hold", "MSE of the forecast (true joints) over holding the last observed frame's",
                   lambda v, r: _mean_videos(v, "mse_t") / _pose_ref(v, r, "copy", "mse_v"), "<=", lambda r: 2.0)
P_TOWARD = Gate("toward", "MSE inside the change region (true joints), from the held frame's (0) toward the "
                          "truth's (1)",
                lambda v, r: _toward(_mean_videos(v, "change_t"), _pose_ref(v, r, "copy", "change_v"),
                                     _pose_ref(v, r, "truth", "change_v")), ">=", lambda r: QUARTER)
P_FOLLOWS = Gate("follows", "rise of the forecast's MSE (true joints) from the first third of its frames to the last, "
                             "plus a quarter of the size of holding the last observed frame's (on the run's actions)",
                 lambda v, r: float(np.nanmean(references.rise(v["mse_t"]["gt"])))
                 + QUARTER * abs(_pose_ref(v, r, "copy", "rise_v")), ">=", lambda r: 0.0)
P_FINITE = Gate("finite", "MSE of the forecast (finite)", lambda v, r: _mean_videos(v, "mse_t"), ">=",
                lambda r: 0.0)
P_FIGURE = Gate("figure", "MSE of the forecast (true joints) over a blank frame's", lambda v, r: _mean_videos(
    v, "mse_t") / _pose_ref(v, r, "blank", "mse_v"), "<", lambda r: 1.0)

GATES = {
    "arm": {COMPARATOR: (FACE, DIRECTION, MOVES, GRADED, IDENTITY), ABLATION: (FINITE, DISTINCT)},
    "retarget": {COMPARATOR: (R_FACE, R_TOWARD, R_FOLLOWS, R_IDENTITY), ABLATION: (R_FINITE, R_DISTINCT)},
    "pose": {COMPARATOR: (P_NEAR_HOLD, P_TOWARD, P_FOLLOWS), ABLATION: (P_FINITE, P_FIGURE)},
}


def judge(value: Mapping, measure: str, role: str, refs: Mapping | None = None) -> dict:
    """The gates of ``role`` for a run measured by ``measure``: ``{"checks": {name: {"value", "bound", "passed"}},
    "failed": [names], "passed": bool}``. ``refs``: the references' scores (default: the shipped ones)."""
    refs = references.recorded()[measure] if refs is None else refs
    checks = {g.name: g.judge(value, refs) for g in GATES[measure][role]}
    failed = [name for name, c in checks.items() if not c["passed"]]
    return {"checks": checks, "failed": failed, "passed": not failed}


def describe(measure: str, role: str, refs: Mapping | None = None) -> list[str]:
    """The gates of ``role`` under ``measure`` in words, each with its bound."""
    refs = references.recorded()[measure] if refs is None else refs
    return [f"{g.name}: {g.describe(refs)}" for g in GATES[measure][role]]


def gate(model, table: str, role: str = COMPARATOR) -> dict:
    """``table``'s gates of ``role`` applied to any model (anything with the generation API the table's measure
    calls: ``generate(image, intensities, expression=)``, FRGAN's ``retarget``, or a pose forecaster's
    ``forecast``), measured as the table measures its arms: ``{"table", "measure", "role", "checks", "failed",
    "passed"}``. ``i2v gate MODEL --table TABLE`` prints it."""
    if table not in MEASURE:
        raise I2VError(f"unknown table {table!r}; choose one of {', '.join(MEASURE)}")
    if role not in ROLES:
        raise I2VError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    measure = MEASURE[table]
    value = MEASURES[measure][1](model, **measure_options(table, "book"))
    return {"table": table, "measure": measure, "role": role, **judge(value, measure, role)}
