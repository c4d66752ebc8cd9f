"""What each claim is judged on: its measurement, from the runs of the comparison that tests it.

A chapter trains (or reads the records of) a comparison's arms at one rung of the budget ladder: ``runs`` maps each
arm to its seeds' measurements, each a dict that carries the run's ``health`` (:mod:`.health`). The functions below
turn such runs into the measurements of one chapter's claims, in the shapes their rules expect, and note which arms
each measurement rests on. They are the one place a claim's measurement is defined: the chapters call them, and so
does ``i2v claims``, on the records (:mod:`i2vlib.records.verdicts`).

Two rules hold for every measurement made here:

* **Health first.** An arm whose seeds fail their health checks (fewer than
  :data:`~.health.HEALTHY_SHARE` healthy) is not compared: the claim reads "not tested: ARM fails CHECK".
* **Identity distances are judged against the truth's.** ACD-I is the distance of each generated frame's identity
  features from the input's; the true video's own ACD-I is not 0, because an expression changes a face's features,
  and a generator that copies its input scores 0. A comparison of ACD-I therefore compares each seed's distance from
  the truth's value, ``|ln(ACD-I / truth's)|`` (:func:`from_truth`), with the ratio floored at :data:`FLOOR` (below
  it a video barely performs the expression, the floor of FRGAN's Table 1 claims): 0 is the truth's identity drift,
  and a copy of the input scores ``|ln FLOOR|``, never better. (Fixed on 2026-11-27, after the first records; the
  registry log says what it changed.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from ..errors import I2VError
from ..metrics import floats
from .health import arm_health, why_unhealthy, zoo_health
from .rules import NotTested

FLOOR = 0.5   # an ACD-I below half the truth's: the video barely performs the expression


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


def health_of(runs: Mapping, arm: str) -> dict | None:
    """The health of ``arm`` over its seeds in ``runs`` (:func:`~.health.arm_health`), or None where its values carry
    none (a measurement made before health was recorded beside it)."""
    healths = [v.get("health") for v in runs.get(arm, []) if isinstance(v, Mapping)]
    if not healths or any(h is None for h in healths):
        return None
    return arm_health(healths)


def usable(runs: Mapping, arm: str) -> NotTested | None:
    """Why ``arm`` cannot back a claim at this rung (not recorded there, or unhealthy), or None if it can."""
    if arm not in runs:
        return NotTested(f"{arm} is not recorded at this budget yet")
    health = health_of(runs, arm)
    if health is not None and not health["healthy"]:
        return NotTested(why_unhealthy(arm, health))
    return None


def seeds_of(runs: Mapping, arm: str, *path):
    """A claim's per-seed values of one measurement of ``arm`` (:func:`per_seed`), or the :class:`~.rules.NotTested`
    that says why they cannot be used: the arm is not recorded at this rung, is unhealthy, or the instrument could not
    measure some seeds."""
    why = usable(runs, arm)
    if why is not None:
        return why
    return checked(per_seed(runs, arm, *path), arm, ".".join(map(str, path)))


def checked(values, arm: str, what: str = "the measurement"):
    """Per-seed values as floats, or NotTested naming the seeds whose value is missing (None or NaN)."""
    bad = [i for i, v in enumerate(values) if v is None or not math.isfinite(float(v))]
    if bad:
        return NotTested(f"{what} of {arm} could not be measured for seed(s) {', '.join(map(str, bad))} (the "
                         f"instrument read no face in the generated frames)")
    return [float(v) for v in values]


def from_truth(acd_i, truth: float) -> list[float]:
    """Each seed's identity distance from the truth's: ``|ln(max(ACD-I / truth, FLOOR))|`` (see the module's
    docstring). 0: the identity drifts as much as the true video's."""
    if not truth > 0:
        raise I2VError(f"the true video's ACD-I must be positive to judge against it, got {truth!r}")
    return [abs(math.log(max(float(v) / truth, FLOOR))) for v in acd_i]


class Evidence:
    """The measurements of one chapter's claims at one rung, built from ``runs``, and the arms each rests on.

    ``add(measure, value, arms)`` records a measurement; ``compare``, ``seeds`` and ``pair`` make the usual ones.
    ``measurements`` is what :func:`i2vlib.claims.verdicts` takes; ``arms`` maps each measure to its arms.
    """

    def __init__(self, runs: Mapping):
        self.runs = runs
        self.measurements: dict = {}
        self.arms: dict[str, tuple[str, ...]] = {}
        self.sources: dict[str, Mapping] = {}       # the runs each measurement was made from

    def add(self, measure: str, value, arms=()) -> None:
        self.measurements[measure] = value
        self.arms[measure] = tuple(arms)
        self.sources[measure] = self.runs

    def join(self, other: Evidence) -> Evidence:
        """This evidence and ``other``'s (of another comparison, e.g. FRGAN's faces and poses tables) as one."""
        for measure in other.measurements:
            self.measurements[measure] = other.measurements[measure]
            self.arms[measure], self.sources[measure] = other.arms[measure], other.sources[measure]
        return self

    def seeds(self, arm: str, *path):
        return seeds_of(self.runs, arm, *path)

    def compare(self, measure: str, arms: Mapping[str, str], *path) -> None:
        """A comparative claim's measurement ``{name: per-seed values}`` from ``arms`` ({claim's name: arm})."""
        self.add(measure, {name: self.seeds(arm, *path) for name, arm in arms.items()}, arms.values())

    def pair(self, measure: str, arms: Mapping[str, str], value: Callable) -> None:
        """Like :meth:`compare`, each arm's per-seed values computed by ``value(runs, arm)`` from its runs."""
        out = {}
        for name, arm in arms.items():
            why = usable(self.runs, arm)
            out[name] = why if why is not None else checked(list(value(self.runs, arm)), arm)
        self.add(measure, out, arms.values())

    def ratio(self, measure: str, arm: str, value: str, reference: str, names: tuple[str, str]) -> None:
        """A ratio claim's measurement ``{names[0]: per-seed values, names[1]: per-seed references}`` of one arm."""
        parts = {names[0]: self.seeds(arm, value), names[1]: self.seeds(arm, reference)}
        self.add(measure, next((v for v in parts.values() if isinstance(v, NotTested)), parts), (arm,))

    def health(self, measure: str) -> dict[str, dict]:
        """``{arm: {"seeds", "healthy"}}`` for the arms ``measure`` rests on (those recorded at this rung)."""
        out, runs = {}, self.sources.get(measure, {})
        for arm in self.arms.get(measure, ()):
            if arm in runs:
                h = health_of(runs, arm)
                n = len(runs[arm])
                out[arm] = {"seeds": n, "healthy": n if h is None else h["healthy_seeds"]}
        return out


def one(value, what: str):
    """A single measurement of a headline model, or NotTested where the instrument could not read it."""
    return [float(value)] if value is not None and math.isfinite(float(value)) else NotTested(
        f"{what} could not be measured")


def headline(value: Mapping | None, what: str = "the headline model"):
    """NotTested when a zoo model behind a chapter's single-model claims fails its health checks, else None."""
    health = (value or {}).get("health")
    if health is not None and not health["healthy"]:
        return NotTested(f"{what} fails {', '.join(health['failed'])}")
    return None


# ------------------------------------------------------------------------------------------------------- AffineGAN
USER_STUDY = "needs a user study (Amazon Mechanical Turk in the paper)"
NEEDS_CURVES = "needs the benchmark's intensity curves"


def affinegan_ablations(R: Mapping, head: Mapping, disorder: bool = True) -> Evidence:
    """AffineGAN's ablation chapter: the first five claims on ``head`` (the zoo's happy model, measured like the arms),
    the others on the arms of ``R``. ``disorder``: the runs include the disordered-video arms (the benchmark)."""
    e = Evidence(R)
    sick = headline(head, "zoo:affinegan-happy")
    e.add("psnr_at_0", sick or one(head.get("psnr_at_0"), "PSNR at a = 0"))
    e.add("progress_rho", sick or one(head.get("progress_rho"), "the progress of the generated videos"))
    e.add("peak_strength", sick or ({"at_1": head["strength_at_1"], "true_peak": head["true_peak_strength"]}
                                    if None not in (head.get("strength_at_1"), head.get("true_peak_strength"))
                                    else NotTested("the instrument read no expression strength")))
    e.add("eq5_rho_per_video", sick or one(head["inferred"]["rho_per_video"], "Eq. 5's per-video rho"))
    e.add("a_in_range", sick or one(head["inferred"]["in_unit_range"], "the share of a in [0, 1]"))
    e.compare("mlp_progress_rho", {"eq5": "full", "mlp": "mlp"}, "progress_rho")
    inside = e.seeds("no_loss_on_a", "inferred", "in_unit_range")
    e.add("no_loss_a_outside", inside if isinstance(inside, NotTested) else [1 - v for v in inside], ("no_loss_on_a",))
    e.compare("no_loss_strength_at_1", {"full": "full", "no_loss_on_a": "no_loss_on_a"}, "strength_at_1")
    gradient = {w: e.seeds("full", "gradient_share", w) for w in ("e_delta", "e0")}
    e.add("mouth_gradient_share", next((v for v in gradient.values() if isinstance(v, NotTested)), gradient), ("full",))
    if disorder:
        e.compare("disordered_intensity_mae", {"affinegan": "disordered", "fan": "fan_disordered"}, "intensity_mae")
        e.compare("label_kinds_intensity_mae", {"true": "fan_disordered_true", "position": "fan_disordered"},
                  "intensity_mae")
    else:
        e.add("disordered_intensity_mae", NotTested(NEEDS_CURVES))
        e.add("label_kinds_intensity_mae", NotTested(NEEDS_CURVES))
    e.add("turing_real_share", NotTested(USER_STUDY))
    return e


def affinegan_training(experts: Mapping[str, Mapping], unified: Mapping | None) -> Evidence:
    """AffineGAN's unified model against its one-expression models (the zoo's scores,
    :mod:`i2vlib.evaluate.zoo_scores`): ``experts`` {expression: scores}, ``unified`` the unified model's scores
    (None: no unified model)."""
    e = Evidence({})
    if unified is None:
        why = NotTested("needs the benchmark's expression instrument and several expressions")
        e.add("unified_accuracy", why)
        e.add("unified_strength", why)
        return e
    unread = NotTested("the instrument read no expression in some of the generated frames")
    sick = {name: h for name, h in (("the unified model", zoo_health("affinegan", unified)),
                                    *((f"affinegan-{x}", zoo_health("affinegan", s)) for x, s in experts.items()))
            if not h["healthy"]}
    if "the unified model" in sick:
        why = NotTested(f"the unified model fails {', '.join(sick['the unified model']['failed'])}")
        e.add("unified_accuracy", why)
        e.add("unified_strength", why)
        return e
    known = list(experts)
    strength = {"unified": [unified["strength_ratio_per_expression"][x] for x in known],
                "separate": [experts[x]["strength_ratio_per_expression"][x] for x in known]}
    finite = all(v is not None and math.isfinite(v) for vs in strength.values() for v in vs)
    e.add("unified_accuracy", unread if unified["expression_accuracy"] is None else unified["expression_accuracy"])
    experts_sick = [f"{name} fails {', '.join(h['failed'])}" for name, h in sick.items()]
    e.add("unified_strength", NotTested("; ".join(experts_sick)) if experts_sick else strength if finite else unread)
    return e


def affinegan_baselines(R: Mapping) -> Evidence:
    """AffineGAN's Table 2 and Fig. 4 against its baselines (the Baselines chapter). ACD-I is judged against the
    truth's (:func:`from_truth`), ACD-G and strength as measured."""
    e = Evidence(R)
    for base in ("convlstm", "vgan", "fgst", "ganimation"):
        arms = {"affinegan": "affinegan", base: base}
        e.pair(f"acd_i_vs_{base}", arms, lambda R_, arm: from_truth(
            per_seed(R_, arm, "acd_i"), float(np.mean(per_seed(R_, arm, "reference", "acd_i")))))
        e.compare(f"acd_g_vs_{base}", arms, "acd_g")
    e.compare("strength_at_1_vs_ganimation", {"affinegan": "affinegan", "ganimation": "ganimation"}, "strength_at_1")
    return e


# ----------------------------------------------------------------------------------------------------- Fan et al.
def fan_ablations(R: Mapping, joint: bool = True, transfer_rho: float | None = None) -> Evidence:
    """Fan et al.'s ablation chapter. ``joint``: the runs include the joint arm; ``transfer_rho``: the transfer claim's
    measurement on the zoo's joint model (:func:`i2vlib.evaluate.ablation.transfer_rho`; None: not measured, NaN: the
    instrument read nothing)."""
    e = Evidence(R)
    e.add("psnr_at_0", e.seeds("full", "psnr_at_0"), ("full",))
    e.add("progress_rho", e.seeds("full", "progress_rho"), ("full",))
    e.ratio("peak_strength", "full", "strength_at_1", "true_peak_strength", ("at_1", "true_peak"))
    e.add("landmark_rho", e.seeds("full", "landmark_rho"), ("full",))
    e.ratio("landmark_final", "full", "landmark_final", "landmark_final_truth", ("ours", "truth"))
    e.ratio("convlstm_landmark_final", "convlstm", "landmark_final", "landmark_final_truth", ("convlstm", "truth"))
    e.compare("psnr_vs_convlstm", {"fan": "full", "convlstm": "convlstm"}, "psnr")
    e.compare("local_d_mouth_sharpness", {"full": "full", "no_local_d": "no_local_d"}, "mouth_sharpness")
    e.compare("landmarks_landmark_error", {"full": "full", "no_landmarks": "no_landmarks"}, "landmark_error")
    e.compare("landmarks_mouth_sharpness", {"full": "full", "no_landmarks": "no_landmarks"}, "mouth_sharpness")
    e.compare("rt_sudden_change", {"full": "full", "no_rt": "no_rt"}, "sudden_change")
    e.compare("rt_mouth_sharpness", {"full": "full", "no_rt": "no_rt"}, "mouth_sharpness")
    needs_three = NotTested("needs videos of happy, anger and surprise")
    if joint:
        e.compare("joint_psnr", {"joint": "joint", "separate": "full"}, "psnr")
    else:
        e.add("joint_psnr", needs_three)
    if transfer_rho is None:
        e.add("transfer_rho", needs_three)
    else:
        e.add("transfer_rho", transfer_rho if math.isfinite(transfer_rho) else
              NotTested("the instrument read no expression in the transferred frames"))
    e.add("turing_real_share", NotTested(USER_STUDY))
    return e


def first_share(R: Mapping, arm: str) -> np.ndarray:
    """Per seed: the landmark distance at the clip's first generated frame over that at its last (a = 1); for a
    model that renders from landmarks it predicts (HP), of those landmarks (``landmark_curve_own``) where recorded."""
    own = all("landmark_curve_own" in r for r in R[arm])
    key = "landmark_curve_own" if own else "landmark_curve"
    first, last = seed_values(R, arm, key, 1), seed_values(R, arm, key, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return first / last


def fan_baselines(R: Mapping) -> Evidence:
    """Fan et al.'s Fig. 3 and §4.2 against HP (the Baselines chapter)."""
    e = Evidence(R)
    e.pair("first_step_share", {"hp": "hp", "fan": "fan"}, first_share)
    e.compare("landmark_rho_vs_hp", {"fan": "fan", "hp": "hp"}, "landmark_rho")
    return e


# ---------------------------------------------------------------------------------------------------------- FRGAN
USER_PREFERENCE = ("a user study: which of two videos people find more realistic cannot be computed")


def frgan_ablations(R: Mapping, truth: Mapping, copy: Mapping, third: np.ndarray) -> Evidence:
    """FRGAN's ablation chapter on faces. ``truth`` and ``copy``: the retargeting protocol's exact ground truth's and
    copying the input's scores (:func:`i2vlib.evaluate.retarget.baselines`); ``third``: each protocol frame's motion
    third (0 small ... 2 large; the protocol's ``third``)."""
    e = Evidence(R)
    full = "refine"                                      # G_M + G_R: the full model

    def large(R_, arm):                                  # each seed's mean error in the largest-motion third
        return [float(np.mean(np.asarray(r["frame_l1"])[third == 2])) for r in R_[arm]]

    def mean_l1(R_, arm):
        return [float(np.mean(r["frame_l1"])) for r in R_[arm]]

    e.add("table1_acd_i", {"frgan": e.seeds(full, "fitted", "acd_i"), "truth": truth["acd_i"]}, (full,))
    e.add("table1_acd_c", {"frgan": e.seeds(full, "fitted", "acd_c"), "truth": truth["acd_c"]}, (full,))
    e.add("retarget_change_l1", {"frgan": e.seeds(full, "fitted", "change_l1"), "copy": copy["change_l1"]}, (full,))
    e.add("eq4_unweighted_change_l1", {"paper_weights": e.seeds("paper_weights", "oracle", "change_l1"),
                                       "copy": copy["change_l1"]}, ("paper_weights",))
    e.pair("eq2_vs_eq1_large_motion", {"mask": "forecast", "difference": "difference"}, large)
    e.add("mask_iou", e.seeds("forecast", "mask_iou"), ("forecast",))
    e.compare("dense_acd_i", {"dense": "forecast", "plain": "plain"}, "fitted", "acd_i")
    e.compare("dense_mse", {"dense": "forecast", "plain": "plain"}, "oracle", "mse")
    e.compare("dense_vs_wide_mse", {"dense": "forecast", "plain_wide": "plain_wide"}, "oracle", "mse")
    e.compare("refine_acd_c", {"refined": full, "forecast": "forecast"}, "fitted", "acd_c")
    e.compare("refine_mse", {"refined": full, "forecast": "forecast"}, "oracle", "mse")
    e.compare("residual_vs_none_acd_i", {"mask": "forecast", "none": "no_residual"}, "fitted", "acd_i")
    e.pair("random_vs_first_l1", {"random": "forecast", "first": "first_source"}, mean_l1)
    e.compare("refine_d_i_mse", {"with_d_i": full, "without_d_i": "refine_no_d_i"}, "oracle", "mse")
    e.add("user_preference", NotTested(USER_PREFERENCE))
    return e


def pose_mse(R: Mapping, arm: str, condition: str, actions=None) -> np.ndarray:
    """Per-seed MSE of ``arm``'s pose forecasts (pixels in [0, 1]); ``actions``: only the videos of these actions."""
    out = []
    for r in R[arm]:
        keep = [actions is None or a in actions for a in r["actions"]]
        out.append(float(np.asarray(r["mse_t"][condition])[keep].mean()))
    return np.array(out)


def frgan_pose(R: Mapping, actions) -> Evidence:
    """FRGAN's pose chapter (§4.3-4.4 on the pose benchmark); ``actions``: the benchmark's actions (Fig. 7)."""
    e = Evidence(R)

    def mse(condition):
        return lambda R_, arm: pose_mse(R_, arm, condition)

    def psnr(arm, action):     # mean PSNR over the seeds and the action's test videos, LSTM's joints (Fig. 7)
        out = []
        for r in R[arm]:
            m = np.asarray(r["mse_t"]["lstm"])[np.asarray(r["actions"]) == action]
            out.append(float((10 * np.log10(1.0 / np.maximum(m, 1e-10))).mean()))
        return float(np.mean(out))

    lacking = [w for w in (usable(R, a) for a in ("refine", "no_residual")) if w is not None]
    e.add("pose_psnr_actions", lacking[0] if lacking else
          float(np.mean([psnr("refine", a) > psnr("no_residual", a) for a in actions])), ("refine", "no_residual"))
    e.pair("pose_dense_mse", {"dense": "forecast", "plain": "plain"}, mse("gt"))
    e.pair("pose_refine_mse", {"refined": "refine", "forecast": "forecast"}, mse("gt"))
    e.pair("pose_feat_mse", {"with_feat": "forecast", "without": "no_feat"}, mse("gt"))
    return e


def frgan_baselines(faces: Mapping, poses: Mapping, truth: Mapping,
                    vgans=("vgan_jumping_jacks", "vgan_tennis_forehand")) -> Evidence:
    """FRGAN's Table 1 (faces) and Table 3 (poses) against its baselines (the Baselines chapter). ACD-I is judged
    against ``truth["acd_i"]`` (:func:`from_truth`), the exact retargeted truth's on the protocol the runs were scored
    on (:func:`i2vlib.evaluate.retarget.baselines`). VGAN on
    poses is one model per action (``vgans``): its score pools its actions' models on their videos, against FRGAN's
    on the same videos."""
    e = Evidence(faces)
    for base in ("mcnet", "mocogan", "villegas"):
        arms = {"frgan": "frgan", base: base}
        e.pair(f"acd_i_vs_{base}", arms, lambda R_, arm: from_truth(per_seed(R_, arm, "fitted", "acd_i"),
                                                                    truth["acd_i"]))
        e.compare(f"acd_c_vs_{base}", arms, "fitted", "acd_c")

    def mse(condition, actions=None):
        return lambda R_, arm: pose_mse(R_, arm, condition, actions)

    table3 = Evidence(poses)
    table3.pair("pose_mse_vs_villegas", {"frgan": "frgan", "villegas": "villegas"}, mse("lstm"))
    table3.pair("pose_mse_gt_vs_villegas", {"frgan": "frgan", "villegas": "villegas"}, mse("gt"))
    table3.pair("pose_mse_vs_mathieu", {"frgan": "frgan", "mathieu": "mathieu"}, mse("lstm"))
    two = [v[len("vgan_"):] for v in vgans]
    out = {}
    why = usable(poses, "frgan")
    out["frgan"] = why if why is not None else checked(list(pose_mse(poses, "frgan", "lstm", two)), "frgan")
    lacking = [w for w in (usable(poses, v) for v in vgans) if w is not None]
    if lacking:
        out["vgan"] = lacking[0]
    else:
        pooled = [float(np.mean(np.concatenate([np.asarray(poses[v][s]["mse_t"]["lstm"]).ravel() for v in vgans])))
                  for s in range(len(poses[vgans[0]]))]
        out["vgan"] = checked(pooled, "vgan")
    table3.add("pose_mse_vs_vgan", out, ("frgan", *vgans))
    return e.join(table3)
