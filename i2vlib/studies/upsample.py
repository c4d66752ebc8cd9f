"""How AffineGAN's decoder should double its size: the cause of the zoo's checkerboard, measured on validation faces.

    python -m i2vlib.studies.upsample [ARM ...] [--workers N] [--seeds S ...]

Every AffineGAN of the zoo drew a fine checkerboard over the whole frame, background included, already at a = 0
(mean |Laplacian| of its grey frames 1.4 to 2.1 times the truth's), where FRGAN's decoder, which resizes and then
convolves, is clean. The U-Net decoder (:class:`i2vlib.nn.UNetDecoder`, pix2pix's and the public code's) doubles its
size with 4x4 stride-2 transposed convolutions: the four output pixels of each 2x2 cell take different kernel taps,
a period-2 pattern that a flat region (the benchmark's faces are flat colour) shows at once (Odena et al., 2016,
"Deconvolution and checkerboard artifacts"). Each arm of :data:`ARMS` changes one option (most ``upsample``,
:func:`i2vlib.nn.up_conv`) in the zoo's happy recipe with the moving average of the speckle study, at the speckle
study's budget of :data:`STEPS` steps, from each seed of :data:`SEEDS`. Snapshots at :data:`SNAPSHOTS` and the last
step are scored by :func:`~i2vlib.records.study.validation_scores` on the benchmark's *validation* identities
(12 videos; never the test identities the book reports), on the generator that ships (the moving average).

The rule, fixed on 2026-11-27 before any run of the resize arms had finished (one run of ``transposed`` had, and its
frames had been looked at):

1. An arm's *texture error* is ``max over a in {0, 0.5, 1} of |texture_at[a] - 1|``
   (:func:`i2vlib.evaluate.measures.texture_at`): how far the frames' fine detail is from the truth's at the worst of
   the three intensities, too grainy or too blurred.
2. An arm is *better* than ``transposed`` if its texture error at the last step is lower (Welch's t-test over seeds,
   one-sided, p < 0.05) and it costs at most 0.05 of expression strength at a = 1 and at most 0.1 of the ACD-I ratio
   (means over seeds), the speckle study's allowances.
3. Of the better arms, the one with the lowest mean texture error is adopted for the zoo's AffineGAN recipe; with
   none, ``transposed`` stays. ``blur`` (a transposed convolution followed by a fixed blur) is run only if the
   resize arms cost more strength than the allowance, as a cheaper remedy.

Two arms were added on 2026-11-27, after the first ``nearest`` run (seed 0) had finished and been looked at (it kept
a grid over the background and drew a blotch on one cheek at a = 0, so resizing alone may not be the remedy), and
before any of their runs: ``r1``, an R1 penalty on the critics (the remedy the field uses against a critic that
rewards pixel noise), and ``lr-paper``, the paper's learning rate (the book trains at five times it). They are judged
by the same rule, against ``transposed``.

One more arm was added on 2026-11-28, before any of its runs: ``wide``, E_delta twice E0's width
(``delta_width=2``), with the transposed decoder. Its lead came from the Eq. 5 study (:mod:`i2vlib.studies.eq5`),
whose ``wide`` runs (one seed, four other expressions) had a lower texture error than the bottleneck's in all four
(mean 0.13 against 0.25) and more strength; those runs were seen before this arm was declared, and only this study's
three seeds on the happy recipe decide it, by the same rule, against ``transposed``.

:func:`decide` applies the rule to the records (``recorded/`` beside this module).
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import stats

from ..errors import I2VError
from ..models import get_method
from ..records.study import Arm, Study, last_scores, results, run_study, shipped_generator, validation_scores
from ..zoo import ENTRIES
from . import RECORDED

STEPS = 8000
SEEDS = (0, 1, 2)
SNAPSHOTS = (1000, 2000, 5000)
EMA = 0.999
BASE = {**ENTRIES["affinegan-happy"]["config"], "steps": STEPS, "ema": EMA}
ARMS = {
    "transposed": Arm({"upsample": "transposed"}, "4x4 stride-2 transposed convolutions (pix2pix, the papers')"),
    "nearest": Arm({"upsample": "nearest"}, "nearest-neighbour resize, then a 3x3 convolution"),
    "bilinear": Arm({"upsample": "bilinear"}, "bilinear resize, then a 3x3 convolution"),
    "blur": Arm({"upsample": "blur"}, "transposed convolution, then a fixed [1, 2, 1] blur"),
    "r1": Arm({"r1_penalty": 1.0}, "transposed, with an R1 penalty (gamma 1) on both image critics' real inputs"),
    "lr-paper": Arm({"lr": 2e-4}, "transposed, at the paper's learning rate 2e-4 (the book's: 1e-3)"),
    "wide": Arm({"delta_width": 2}, "transposed, with E_delta twice E0's width"),
}
ALLOW = {"strength": 0.05, "acd_i_ratio": 0.1}


def config(arm: str, seed: int) -> dict:
    return get_method("affinegan").default_config("book", **{**BASE, **ARMS[arm].change, "seed": seed})


def _score_checkpoint(ckpt: dict) -> dict:
    """:func:`~i2vlib.records.study.validation_scores` of the generator that ships (the moving average)."""
    return validation_scores(shipped_generator(ckpt))


STUDY = Study(name="upsample", folder=RECORDED, arms=ARMS, seeds=SEEDS,
              config=config, score=_score_checkpoint, snapshots=SNAPSHOTS,
              about=__doc__.splitlines()[0])


def decide(records: dict | None = None) -> dict:
    """The rule of this module's docstring applied to the records: ``{"arms": {arm: ...}, "adopted": arm}``; an arm
    with fewer than two seeds at the last step is left out."""
    records = results(STUDY) if records is None else records
    last = {arm: last_scores(records, arm, STEPS) for arm in ARMS}
    base = last["transposed"]
    if len(base) < 2:
        raise I2VError("the upsampling study needs at least two finished runs of the transposed arm")
    mean = lambda rows, k: float(np.mean([r[k] for r in rows]))   # noqa: E731
    out = {}
    for arm, rows in last.items():
        if len(rows) < 2:
            continue
        entry = {k: mean(rows, k) for k in ("texture_error", "texture", "strength", "acd_i_ratio", "rho_linear")}
        entry["texture_at"] = {a: float(np.mean([r["texture_at"][a] for r in rows])) for a in rows[0]["texture_at"]}
        entry["seeds"] = len(rows)
        if arm != "transposed":
            t = stats.ttest_ind([r["texture_error"] for r in rows], [r["texture_error"] for r in base],
                                equal_var=False, alternative="less")
            costs = (entry["strength"] >= mean(base, "strength") - ALLOW["strength"]
                     and entry["acd_i_ratio"] <= mean(base, "acd_i_ratio") + ALLOW["acd_i_ratio"])
            entry.update(p_lower=float(t.pvalue), costs_allowed=bool(costs), better=bool(t.pvalue < 0.05 and costs))
        out[arm] = entry
    better = [a for a, e in out.items() if e.get("better")]
    return {"arms": out, "adopted": min(better, key=lambda a: out[a]["texture_error"]) if better else "transposed"}


def main(argv=None) -> int:
    """``python -m i2vlib.studies.upsample``: :data:`STUDY`'s command line (:func:`i2vlib.records.study.run_study`)."""
    return run_study(STUDY, argv)


if __name__ == "__main__":
    sys.exit(main())
