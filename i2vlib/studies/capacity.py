"""The capacity study: what limits quality at 64 px on a CPU budget.

    python -m i2vlib.studies.capacity [ARM ...] [--root _build/capacity] [--workers N] [--no-train]

Each arm of :data:`ARMS` is a training recipe like a zoo entry's (seed 0); it trains with snapshots at
:data:`~i2vlib.zoo.CURVE_STEPS` (resumable, side by side), every snapshot and the final model are
scored with :func:`~i2vlib.evaluate.zoo_scores.measure`, and the learning curve is recorded, a file per run in
``recorded/`` beside this module (:func:`i2vlib.records.study.record`), keyed by arm and seed, with the config and
its hash. The arms' weights are not shipped (the zoo's size budget holds the headline models only); an arm
trained with the same config as a zoo entry is that entry's run. The book's Convergence chapter plots the records,
and a test checks that every record still matches the recipe the code builds. (The recorded runs were trained under
``_build/zoo``: ``--root _build/zoo`` finds them.)
"""

from __future__ import annotations

import sys

from ..evaluate.zoo_scores import measure
from ..models import get_method
from ..records.study import Arm, Study, results, run_study
from ..runs import load
from ..zoo import _LONG, CURVE_STEPS, ENTRIES
from . import RECORDED

# The recipe of the first seven-expression AffineGAN (zoo:affinegan-seven), which the study's two arms change.
_SEVEN = ENTRIES["affinegan-seven"]["config"]

ARMS = {
    # The discriminator: the papers' "three-layer" reading (22x22 patches, 10k parameters at ndf 16)
    # against the public code's pix2pix PatchGAN (70x70 patches, 176k parameters).
    "affinegan-happy-d3": Arm({**_LONG, "steps": 20000, "d_layers": 3},
                              "AffineGAN happy, the papers' 3-conv discriminators", method="affinegan"),
    "affinegan-happy-d5": Arm({**_LONG, "steps": 20000, "d_layers": 5},
                              "AffineGAN happy, the public code's 5-conv 70x70 PatchGAN", method="affinegan"),
    "fan-happy-d3": Arm({**_LONG, "steps": 10000, "d_layers": 3},
                        "Fan et al. happy, the papers' 3-conv discriminators", method="fan"),
    "fan-happy-d5": Arm({**_LONG, "steps": 10000, "d_layers": 5},
                        "Fan et al. happy, the 5-conv 70x70 PatchGAN", method="fan"),
    # Fan et al. with 3-conv critics met both targets on happy with clean faces where the 70x70 PatchGAN
    # left speckles: the same change for the joint model (now the zoo's fan-joint; its 70x70 run was
    # the zoo's before: 30k steps, accuracy 0.92, strength 0.71, ACD-I 2.14x, speckled faces).
    "fan-joint-d3": Arm({**ENTRIES["fan-joint"]["config"], "d_layers": 3},
                        "Fan et al. joint (happy, anger, surprise), the papers' 3-conv discriminators", method="fan"),
    "fan-joint-d5": Arm({**ENTRIES["fan-joint"]["config"], "d_layers": 5},
                        "Fan et al. joint (happy, anger, surprise), the 5-conv 70x70 PatchGAN", method="fan"),
    # The first seven-expression AffineGAN (labels for E_delta, no classification loss) collapsed (no
    # expression at a = 1; its global critic won from step 4k on): the paper's learning rate, and the weaker
    # 3-conv critics.
    "affinegan-all-lr2e-4": Arm({**_SEVEN, "lr": 2e-4},
                                "AffineGAN seven expressions, the paper's learning rate 2e-4 (the book's: 1e-3)",
                                method="affinegan"),
    "affinegan-all-d3": Arm({**_SEVEN, "d_layers": 3},
                            "AffineGAN seven expressions, the papers' 3-conv discriminators", method="affinegan"),
}


def config(arm: str, seed: int = 0) -> dict:
    """The full config of ``arm``: its method's ``book`` profile with its recipe (seed 0: every recorded run's)."""
    return get_method(ARMS[arm].method).default_config("book", **{**ARMS[arm].change, "seed": seed})


def _score_checkpoint(ckpt: dict) -> dict:
    """:func:`~i2vlib.evaluate.zoo_scores.measure` of the model a checkpoint or snapshot holds."""
    return measure(load(ckpt["path"]))


STUDY = Study(name="capacity", folder=RECORDED, arms=ARMS, seeds=(0,),
              config=config, score=_score_checkpoint, snapshots=CURVE_STEPS, about=__doc__.splitlines()[0],
              fields=lambda arm, cfg: {"about": ARMS[arm].about, "config": cfg})


def by_arm(records: dict | None = None) -> dict:
    """The recorded run of each arm (one seed each): ``{arm: {"about", "config", "config_hash", "finished", "seconds",
    "curve": {step: scores}, ...}}`` (an unfinished arm's curve holds the snapshots it had reached)."""
    records = results(STUDY) if records is None else records
    return {r["arm"]: r for r in records.values()}


def main(argv=None) -> int:
    """``python -m i2vlib.studies.capacity``: :data:`STUDY`'s command line (:func:`i2vlib.records.study.run_study`)."""
    return run_study(STUDY, argv)


if __name__ == "__main__":
    sys.exit(main())
