"""How a claim is measured, as data: which table's runs, which arms, which number of each run, and how it is read.

A :class:`Measurement` names the arms of a table of the protocol (:mod:`i2vlib.protocol.tables`) under the names its
rule uses, the path of the number in each run's measurement (or a named extraction of :data:`EXTRACT`), and for a
ratio or a comparison with a reference, where the reference comes from. :func:`measure` makes the measurement from a
rung's runs, in the shape the claim's rule expects (:mod:`.rules`); :func:`describe` is what the protocol's hash
covers. A claim that names an arm its table does not declare fails ``tests/test_protocol.py``.

Two rules hold for every measurement made here:

* **Gates first.** An arm enters a measurement only where at least :data:`HEALTHY_SHARE` of its seeds pass the gates of
  its role in its table (:mod:`i2vlib.protocol.gates`); otherwise the claim reads "not tested: ARM fails GATE".
* **Identity distances are judged against the truth's** (:func:`from_truth`): a copy of the input scores 0 ACD-I, so
  "lower" alone would reward not moving.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..data.pose_benchmark import ACTIONS
from ..errors import I2VError
from ..metrics import floats
from ..protocol.gates import judge
from ..protocol.tables import POOLED, ROLES
from .health import arm_health, why_unhealthy
from .rules import NotTested

HEALTHY_SHARE = 0.8       # of an arm's seeds that must pass its gates
FLOOR = 0.5               # an ACD-I below half the truth's: the video barely performs the expression
KINDS = ("compare", "seeds", "ratio", "against", "actions", "zoo", "unmeasurable")
USER_STUDY = "needs a user study (Amazon Mechanical Turk in the paper)"
# What a chapter's data may lack, and what a claim that needs it says then.
NEEDS = {"curves": "needs the benchmark's intensity curves", "three": "needs videos of happy, anger and surprise"}


@dataclass(frozen=True)
class Measurement:
    """One claim's measurement (see the module's docstring).

    ``kind``: ``compare`` ({name: per-seed values} of each arm, :class:`~.rules.Better`); ``seeds`` (the one arm's
    per-seed values); ``ratio`` ({name: the arm's values at ``path``, ``reference[0]``: at ``reference[1:]``});
    ``against`` ({name: the arm's values, ``reference[0]``: a protocol reference's value, ``reference[1:]`` its path in
    the chapter's references}); ``actions`` (the share of the pose benchmark's actions on which the first arm's
    PSNR is above the second's); ``zoo`` (a claim on shipped models: ``path`` names it); ``unmeasurable`` (``why``).
    ``arms``: (the rule's name, the table's arm) pairs; ``extract``: a name of :data:`EXTRACT` read instead of
    ``path``; ``needs``: a key of :data:`NEEDS`."""

    kind: str
    table: str = ""
    arms: tuple[tuple[str, str], ...] = ()
    path: tuple[str, ...] = ()
    extract: str = ""
    reference: tuple[str, ...] = ()
    needs: str = ""
    why: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"measurement kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.extract and self.extract not in EXTRACT:
            raise ValueError(f"unknown extraction {self.extract!r}; one of {', '.join(EXTRACT)}")
        if self.needs and self.needs not in NEEDS:
            raise ValueError(f"unknown need {self.needs!r}; one of {', '.join(NEEDS)}")
        if self.kind == "unmeasurable" and not self.why:
            raise ValueError("an unmeasurable claim says why")

    @property
    def arm_names(self) -> tuple[str, ...]:
        """The table's arms it reads."""
        return tuple(arm for _, arm in self.arms)

    def describe(self) -> dict:
        """The measurement as JSON, for the protocol's hash."""
        return {"kind": self.kind, "table": self.table, "arms": [list(a) for a in self.arms], "path": list(self.path),
                "extract": self.extract, "reference": list(self.reference), "needs": self.needs, "why": self.why}


# ----------------------------------------------------------------------------------------------- constructors
def compare(table: str, arms: Mapping[str, str], *path: str, extract: str = "", needs: str = "") -> Measurement:
    return Measurement("compare", table, tuple(arms.items()), tuple(path), extract, needs=needs)


def seeds(table: str, arm: str, *path: str, extract: str = "") -> Measurement:
    return Measurement("seeds", table, ((arm, arm),), tuple(path), extract)


def ratio(table: str, arm: str, value: tuple[str, ...], reference: tuple[str, ...]) -> Measurement:
    """``{value[0]: the arm's values at the path value[1:], reference[0]: at reference[1:]}``."""
    return Measurement("ratio", table, ((value[0], arm),), tuple(value[1:]), reference=tuple(reference))


def against(table: str, name: str, arm: str, path: tuple[str, ...], reference: tuple[str, ...]) -> Measurement:
    return Measurement("against", table, ((name, arm),), tuple(path), reference=tuple(reference))


def unmeasurable(why: str) -> Measurement:
    return Measurement("unmeasurable", why=why)


# ------------------------------------------------------------------------------------------- reading runs
def per_seed(runs: Mapping, arm: str, *path) -> list:
    """One measurement of every seed of ``arm``, e.g. ``per_seed(R, "full", "inferred", "rho")`` (None where it could
    not be measured)."""
    out = []
    for value in runs[arm]:
        for part in path:
            value = None if value is None else value[part]
        out.append(value)
    return out


def seed_values(runs: Mapping, arm: str, *path) -> np.ndarray:
    """:func:`per_seed` as a float array, NaN where a seed could not be measured: what a chapter plots or averages."""
    return floats(per_seed(runs, arm, *path))


def gated(runs: Mapping, arm: str, role: str) -> dict | None:
    """How ``arm``'s seeds in ``runs`` fare at the gates of ``role`` (their records' ``gates``): ``{"seeds",
    "passed", "healthy", "failing": {gate: seeds}}``, or None where the runs carry no gates (a chapter measuring
    runs now, off the book profile)."""
    results = [v.get("gates", {}).get(role) for v in runs.get(arm, []) if isinstance(v, Mapping)]
    if not results or any(r is None for r in results):
        return None
    failing: dict[str, int] = {}
    for r in results:
        for name in r["failed"]:
            failing[name] = failing.get(name, 0) + 1
    passed = sum(bool(r["passed"]) for r in results)
    return {"seeds": len(results), "passed": passed, "healthy": passed >= HEALTHY_SHARE * len(results),
            "failing": failing}


def why_gated(arm: str, gates: dict) -> str:
    """The reason a claim on an arm that fails its gates is not tested, e.g. "vgan fails toward (5 of 5 seeds)"."""
    worst = sorted(gates["failing"].items(), key=lambda kv: -kv[1])
    return f"{arm} fails " + ", ".join(f"{name} ({k} of {gates['seeds']} seeds)" for name, k in worst)


def role_of(table: str, arm: str) -> str:
    return ROLES[table][arm] if table in ROLES and arm in ROLES[table] else ROLES[table][POOLED[table][arm][0]]


def usable(runs: Mapping, table: str, arm: str, gating: str = "v2") -> NotTested | None:
    """Why ``arm`` of ``table`` cannot back a claim at this rung (not recorded there, or it fails its gates).
    ``gating="v1"``: the health checks of protocol v1 (:mod:`.health`) instead, ``"none"``: no gate (the registry
    log's replays)."""
    if arm not in runs:
        return NotTested(f"{arm} is not recorded at this budget yet")
    if gating == "none":
        return None
    if gating == "v1":
        healths = [v.get("health") for v in runs[arm] if isinstance(v, Mapping)]
        if healths and all(h is not None for h in healths):
            h = arm_health(healths)
            return None if h["healthy"] else NotTested(why_unhealthy(arm, h))
        return None
    g = gated(runs, arm, role_of(table, arm))
    if g is not None and not g["healthy"]:
        return NotTested(why_gated(arm, g))
    return None


def checked(values, arm: str, what: str = "the measurement"):
    """Per-seed values as floats, or NotTested naming the seeds whose value is missing (None or NaN)."""
    bad = [i for i, v in enumerate(values) if v is None or not math.isfinite(float(v))]
    if bad:
        return NotTested(f"{what} of {arm} could not be measured for seed(s) {', '.join(map(str, bad))} (the "
                         f"instrument read no face in the generated frames)")
    return [float(v) for v in values]


def from_truth(acd_i, truth: float) -> list[float]:
    """Each seed's identity distance from the truth's: ``|ln(max(ACD-I / truth, FLOOR))|``: 0, the identity drifts as
    much as the true video's; a copy of the input, ``|ln FLOOR|``."""
    if not truth > 0:
        raise I2VError(f"the true video's ACD-I must be positive to judge against it, got {truth!r}")
    return [abs(math.log(max(float(v) / truth, FLOOR))) for v in acd_i]


def pool(runs: Mapping, table: str) -> dict:
    """``runs`` of ``table`` with its :data:`~i2vlib.protocol.tables.POOLED` arms added: the pose runs of a baseline
    trained as one model per action, the same seeds, as one arm whose every seed pools its models' videos, its gates
    judged on them (:func:`i2vlib.protocol.gates.judge`). An arm one of whose models is missing is left out."""
    out = dict(runs)
    for name, parts in POOLED.get(table, {}).items():
        if not all(p in runs for p in parts) or len({len(runs[p]) for p in parts}) != 1:
            continue
        merged = []
        for models in zip(*(runs[p] for p in parts)):
            v = {key: {c: np.concatenate([np.asarray(m[key][c], dtype=float) for m in models]) for c in models[0][key]}
                 for key in ("mse_t", "change_t")}
            v["actions"] = [a for m in models for a in m["actions"]]
            if all("gates" in m for m in models):
                v["gates"] = {role: judge(v, "pose", role) for role in models[0]["gates"]}
            if all("health" in m for m in models):        # protocol v1 gated each model apart
                failed = sorted({name for m in models for name in m["health"]["failed"]})
                v["health"] = {"checks": {}, "failed": failed, "healthy": not failed}
            merged.append(v)
        out[name] = merged
    return out


# ------------------------------------------------------------------------------------ named per-seed extractions
def _acd_i_from_truth(runs, arm, context):
    """ACD-I against the true videos' on the same runs (the ablation protocol: each record's reference row)."""
    return from_truth(per_seed(runs, arm, "acd_i"), float(np.mean(per_seed(runs, arm, "reference", "acd_i"))))


def _fitted_acd_i_from_truth(runs, arm, context):
    """ACD-I (G_C fitted) against the exact retargeted truth's (FRGAN's protocol)."""
    return from_truth(per_seed(runs, arm, "fitted", "acd_i"), context["retarget"]["truth"]["acd_i"])


def first_share(runs: Mapping, arm: str, context=None) -> np.ndarray:
    """Per seed: the landmark distance at the clip's first generated frame over that at its last (a = 1); for a
    model that renders from landmarks it predicts (HP), of those landmarks (``landmark_curve_own``) where recorded."""
    own = all("landmark_curve_own" in r for r in runs[arm])
    key = "landmark_curve_own" if own else "landmark_curve"
    first, last = seed_values(runs, arm, key, 1), seed_values(runs, arm, key, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return first / last


def _large_motion_l1(runs, arm, context):
    """Each seed's mean L1 error over the frames in the largest-motion third of FRGAN's protocol."""
    third = np.asarray(context["third"])
    return [float(np.mean(np.asarray(r["frame_l1"])[third == 2])) for r in runs[arm]]


def _mean_frame_l1(runs, arm, context):
    return [float(np.mean(r["frame_l1"])) for r in runs[arm]]


def _outside_unit_range(runs, arm, context):
    return [None if v is None else 1 - v for v in per_seed(runs, arm, "inferred", "in_unit_range")]


def pose_mse(runs: Mapping, arm: str, condition: str, actions=None) -> np.ndarray:
    """Per-seed MSE of ``arm``'s pose forecasts (pixels in [0, 1]); ``actions``: only the videos of these actions."""
    out = []
    for r in runs[arm]:
        keep = [actions is None or a in actions for a in r["actions"]]
        out.append(float(np.asarray(r["mse_t"][condition])[keep].mean()))
    return np.array(out)


def _pose(condition: str):
    def extract(runs, arm, context):
        """Per-seed MSE of the forecasts under ``condition``, on the videos every compared arm forecasts."""
        return list(pose_mse(runs, arm, condition, context.get("actions")))
    extract.__name__ = f"pose_mse_{condition}"
    return extract


EXTRACT: dict[str, Callable] = {
    "acd_i_from_truth": _acd_i_from_truth, "fitted_acd_i_from_truth": _fitted_acd_i_from_truth,
    "first_share": first_share, "large_motion_l1": _large_motion_l1, "mean_frame_l1": _mean_frame_l1,
    "outside_unit_range": _outside_unit_range, "pose_mse_gt": _pose("gt"), "pose_mse_lstm": _pose("lstm"),
}


# ------------------------------------------------------------------------------------------------ measuring
def _values(m: Measurement, runs: Mapping, arm: str, context: Mapping, path=None):
    """An arm's per-seed values of ``m`` (its extraction, or ``path``), or why they cannot be used."""
    why = usable(runs, m.table, arm, context.get("gating", "v2"))
    if why is not None:
        return why
    if m.extract and path is None:
        return checked(list(EXTRACT[m.extract](runs, arm, context)), arm)
    return checked(per_seed(runs, arm, *(m.path if path is None else path)), arm, ".".join(m.path if path is None
                                                                                             else path))


def _first_untested(parts: Mapping):
    return next((v for v in parts.values() if isinstance(v, NotTested)), None)


def common_actions(runs: Mapping, arms) -> tuple[str, ...] | None:
    """The pose actions every one of ``arms`` forecasts (None where the runs are not pose runs or lack an arm)."""
    try:
        sets = [set(runs[a][0]["actions"]) for a in arms]
    except (KeyError, IndexError, TypeError):
        return None
    return tuple(a for a in ACTIONS if all(a in s for s in sets))


def measure(m: Measurement, runs: Mapping, context: Mapping):
    """The measurement ``m`` of a rung's ``runs`` of its table ({arm: per-seed values}), in the shape its claim's rule
    expects, or the :class:`NotTested` that says why it cannot be made. ``context``: what the chapter knows beside
    the runs: ``has`` (the :data:`NEEDS` its data offers), ``retarget`` (FRGAN's protocol references ``truth`` and
    ``copy``), ``third`` (each protocol frame's motion third), ``zoo`` ({name: the claim's measurement on shipped
    models})."""
    if m.kind == "unmeasurable":
        return NotTested(m.why)
    if m.needs and m.needs not in context.get("has", NEEDS):
        return NotTested(NEEDS[m.needs])
    if m.kind == "zoo":
        return context.get("zoo", {}).get(m.path[0], NotTested("needs the zoo's shipped models"))
    if m.kind == "actions":
        return _action_share(m, runs, context.get("gating", "v2"))
    context = {**context, "actions": common_actions(runs, m.arm_names)}
    if m.kind == "compare":
        return {name: _values(m, runs, arm, context) for name, arm in m.arms}
    (name, arm), = m.arms
    values = _values(m, runs, arm, context)
    if m.kind == "seeds" or isinstance(values, NotTested):
        return values
    if m.kind == "ratio":
        parts = {name: values, m.reference[0]: _values(m, runs, arm, context, m.reference[1:])}
        return _first_untested(parts) or parts
    ref = context
    for key in m.reference[1:]:
        ref = ref[key]
    return {name: values, m.reference[0]: float(ref)}


def _action_share(m: Measurement, runs: Mapping, gating: str = "v2"):
    """The share of the pose benchmark's actions on which the first arm's mean PSNR (over its seeds and the action's
    test videos, the LSTM's joints) is above the second's."""
    lacking = _first_untested({arm: usable(runs, m.table, arm, gating) for arm in m.arm_names})
    if lacking is not None:
        return lacking

    def psnr(arm, action):
        out = []
        for r in runs[arm]:
            mse = np.asarray(r["mse_t"]["lstm"])[np.asarray(r["actions"]) == action]
            out.append(float((10 * np.log10(1.0 / np.maximum(mse, 1e-10))).mean()))
        return float(np.mean(out))

    better, worse = m.arm_names
    return float(np.mean([psnr(better, a) > psnr(worse, a) for a in ACTIONS]))


def arms_health(m: Measurement, runs: Mapping) -> dict[str, dict]:
    """``{arm: {"seeds", "healthy"}}`` for the arms ``m`` rests on that are recorded at this rung (``healthy``: the
    seeds that pass the gates of the arm's role)."""
    out = {}
    for arm in m.arm_names:
        if arm in runs:
            g = gated(runs, arm, role_of(m.table, arm))
            n = len(runs[arm])
            out[arm] = {"seeds": n, "healthy": n if g is None else g["passed"]}
    return out
