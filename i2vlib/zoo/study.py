"""The capacity study: what limits quality at 64 px on a CPU budget.

    python -m i2vlib.zoo.study [ARM ...] [--root _build/zoo]

Each arm of :data:`ARMS` is a training recipe like a zoo entry's; it trains with snapshots at
:data:`~i2vlib.zoo.CURVE_STEPS` (resumable, side by side), every snapshot and the final model are
scored with :func:`~i2vlib.zoo.measure`, and the learning curve is recorded in ``study.json``
beside this module, keyed by arm, with the config and its hash. The arms' weights are not
shipped (the zoo's size budget holds the headline models only); an arm trained with the same
config as a zoo entry is that entry's run. The book's Convergence chapter plots the records, and
a test checks that every record still matches the recipe the code builds.
"""

from __future__ import annotations

import json
import sys

from ..checkpoint import read_checkpoint
from ..config import config_hash
from ..errors import I2VError, command_line
from ..io import write_json
from ..models import get_method
from ..runs import cached_runs, is_finished, load, run_dir
from . import _LONG, CURVE_STEPS, ENTRIES, HERE, study_main
from .make import score_snapshots
from .measure import measure

RESULTS = HERE / "study.json"
# The recipe of the first seven-expression AffineGAN (zoo:affinegan-seven), which the study's two arms change.
_SEVEN = ENTRIES["affinegan-seven"]["config"]

ARMS = {
    # The discriminator: the papers' "three-layer" reading (22x22 patches, 10k parameters at ndf 16)
    # against the public code's pix2pix PatchGAN (70x70 patches, 176k parameters).
    "affinegan-happy-d3": {"method": "affinegan", "config": {**_LONG, "steps": 20000, "d_layers": 3},
                           "about": "AffineGAN happy, the papers' 3-conv discriminators"},
    "affinegan-happy-d5": {"method": "affinegan", "config": {**_LONG, "steps": 20000, "d_layers": 5},
                           "about": "AffineGAN happy, the public code's 5-conv 70x70 PatchGAN"},
    "fan-happy-d3": {"method": "fan", "config": {**_LONG, "steps": 10000, "d_layers": 3},
                     "about": "Fan et al. happy, the papers' 3-conv discriminators"},
    "fan-happy-d5": {"method": "fan", "config": {**_LONG, "steps": 10000, "d_layers": 5},
                     "about": "Fan et al. happy, the 5-conv 70x70 PatchGAN"},
    # Fan et al. with 3-conv critics met both targets on happy with clean faces where the 70x70 PatchGAN
    # left speckles: the same change for the joint model (now the zoo's fan-joint; its 70x70 run was
    # the zoo's before: 30k steps, accuracy 0.92, strength 0.71, ACD-I 2.14x, speckled faces).
    "fan-joint-d3": {"method": "fan", "config": {**ENTRIES["fan-joint"]["config"], "d_layers": 3},
                     "about": "Fan et al. joint (happy, anger, surprise), the papers' 3-conv discriminators"},
    "fan-joint-d5": {"method": "fan", "config": {**ENTRIES["fan-joint"]["config"], "d_layers": 5},
                     "about": "Fan et al. joint (happy, anger, surprise), the 5-conv 70x70 PatchGAN"},
    # The first seven-expression AffineGAN (labels for E_delta, no classification loss) collapsed (no
    # expression at a = 1; its global critic won from step 4k on): the paper's learning rate, and the weaker
    # 3-conv critics.
    "affinegan-all-lr2e-4": {"method": "affinegan", "config": {**_SEVEN, "lr": 2e-4},
                             "about": "AffineGAN seven expressions, the paper's learning rate 2e-4 (the book's: 1e-3)"},
    "affinegan-all-d3": {"method": "affinegan", "config": {**_SEVEN, "d_layers": 3},
                         "about": "AffineGAN seven expressions, the papers' 3-conv discriminators"},
}


def arm_config(name: str) -> dict:
    if name not in ARMS:
        raise I2VError(f"unknown study arm {name!r}; the study has {', '.join(ARMS)}")
    arm = ARMS[name]
    return get_method(arm["method"]).default_config("book", **arm["config"])


def results() -> dict:
    """The recorded arms: ``{arm: {"config", "config_hash", "finished", "curve": {step: scores}, "seconds"}}``
    (an unfinished arm's curve holds the snapshots it had reached)."""
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def record(names, root="_build/zoo", workers=None, progress: bool = True, train: bool = True) -> dict:
    """Train (or resume) the arms ``names``, score their learning curves and merge them into ``study.json``.

    ``train=False`` scores what the runs under ``root`` hold now (the snapshots of an unfinished run,
    recorded with ``"finished": false``), and trains nothing.
    """
    configs = [arm_config(n) for n in names]
    if train:
        runs = cached_runs(configs, root=root, device="cpu", workers=workers, snapshots=CURVE_STEPS, use_zoo=False)
    else:
        runs = [run_dir(cfg, root) for cfg in configs]
    out = results()
    for name, cfg, run in zip(names, configs, runs):
        if not (run / "checkpoint.pt").is_file():
            continue
        ckpt = read_checkpoint(run)
        earlier = out.get(name, {})
        curve = score_snapshots(run, name, progress,
                                known=earlier.get("curve") if earlier.get("config_hash") == config_hash(cfg) else None)
        finished = is_finished(run)
        if finished:
            curve[str(ckpt["step"])] = measure(load(run))
        out[name] = {"about": ARMS[name]["about"], "config": ckpt["config"], "config_hash": config_hash(cfg),
                     "finished": finished, "curve": curve, "seconds": float(ckpt.get("seconds", 0.0))}
    write_json(RESULTS, out)
    return out


@command_line("study")
def main(argv=None) -> int:
    return study_main(argv, "i2vlib.zoo.study", __doc__, ARMS, record, RESULTS, "_build/zoo", can_skip_training=True)


if __name__ == "__main__":
    sys.exit(main())
