"""The seeded comparisons behind the ablation chapters' claims, and their recorded measurements.

    python -m i2vlib.zoo.ablations [PAPER ...] [--workers N]      # make records

Each paper's chapter compares the arms of :data:`ARMS` (a method and what changes from its
config), every arm trained from each seed of :data:`SEEDS` with the same budget: the profile's
config plus :data:`BUDGET`, with the steps multiplied by the number of expressions an arm learns
(so a joint model sees each expression as often as a one-expression model). Every run is measured
by :func:`i2vlib.evaluate.ablation.arm_scores`; the book profile's measurements are recorded in
``records.json`` (:mod:`i2vlib.zoo.records`), so ``make book`` reads them instead of training
the arms, and a run this module has not recorded yet trains in the build.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ..errors import I2VError, check_names

SEEDS = (0, 1, 2)
DISORDERED = ["incomplete", "periodic", "unordered"]
THREE = ["happy", "anger", "surprise"]

# Changes to the profile's config every arm shares (the smoke profile keeps its own). The 70x70
# PatchGAN of the zoo's models; 1000 steps: half the book profile's 2000, a tenth of a zoo model's.
BUDGET = {"book": {"steps": 1000, "d_layers": 5}}

ARMS = {
    "affinegan": {
        "full": ("affinegan", {}),
        "mlp": ("affinegan", {"estimator": "mlp"}),                               # Fig. 7a
        "no_loss_on_a": ("affinegan", {"weights": {"a": 0.0}}),                   # Fig. 7b
        "bottleneck": ("affinegan", {"mix": "bottleneck", "project": "mixed"}),   # the other reading of Eq. 3
        "public_code": ("affinegan", {"denominator": "norm", "detach_a": True}),  # the released code
        "disordered": ("affinegan", {"train_curves": DISORDERED}),                # Fig. 7d
        "fan_disordered": ("fan", {"train_curves": DISORDERED}),                  # Fig. 7d: position labels
        "fan_disordered_true": ("fan", {"train_curves": DISORDERED, "labels": "true"}),
        "convlstm": ("convlstm", {}),                                              # Table 2
    },
    "fan": {
        "full": ("fan", {}),
        "no_local_d": ("fan", {"weights": {"l": 0.0}}),                           # Fig. 4f
        "no_landmarks": ("fan", {"weights": {"k": 0.0}}),                         # Fig. 4, §4.3 (II)
        "no_rt": ("fan", {"weights": {"t": 0.0}}),                                # Fig. 4e
        "joint": ("fan", {"expressions": THREE}),                                 # Fig. 5a/b
        "disordered": ("fan", {"train_curves": DISORDERED}),                      # AffineGAN Fig. 7d
        "convlstm": ("convlstm", {}),                                              # Fig. 2, Table 1
    },
}


# The zoo models whose claims a chapter measures with the same function (recorded by ``make records`` too).
HEADLINES = {"affinegan": ["affinegan-happy"], "fan": []}


def arm_configs(paper: str, profile: str = "book", arms=None, seeds=SEEDS, **overrides) -> dict:
    """``{arm: [config for each seed]}`` of ``paper``'s comparison in ``profile``; ``overrides`` (the
    chapter's ``data``, ``image_size``, ``steps``; ``None`` ignored) apply to every arm."""
    from ..models import get_method

    (paper,) = check_names([paper], tuple(ARMS), "paper")
    arms = list(ARMS[paper]) if arms is None else check_names(list(arms), tuple(ARMS[paper]), f"{paper} arm")
    out = {}
    for arm in arms:
        method, change = ARMS[paper][arm]
        base = {**BUDGET.get(profile, {}), **{k: v for k, v in overrides.items() if v is not None}, **change}
        steps = get_method(method).default_config(profile, **base)["steps"]
        n_expr = len(base.get("expressions", ["happy"]))
        out[arm] = [get_method(method).default_config(profile, **{**base, "steps": steps * n_expr, "seed": s})
                    for s in seeds]
    return out


def comparison(paper: str, profile: str = "book", arms=None, seeds=SEEDS, device: str = "auto",
               workers: int | None = None, progress: bool = True, **overrides) -> dict:
    """``{arm: [arm_scores of each seed's model]}``: recorded where ``records.json`` holds them, else
    trained (side by side) and measured now (:func:`i2vlib.zoo.records.measured`)."""
    from .records import measured

    configs = arm_configs(paper, profile, arms, seeds, **overrides)
    flat = [c for runs in configs.values() for c in runs]
    values = measured(flat, "arm", device=device, workers=workers, progress=progress, videos=videos(profile))
    out, i = {}, 0
    for arm, runs in configs.items():
        out[arm] = values[i:i + len(runs)]
        i += len(runs)
    return out


def videos(profile: str) -> int:
    """Test videos :func:`~i2vlib.evaluate.ablation.arm_scores` measures each run on."""
    return 2 if profile == "smoke" else 12


def per_seed(results: dict, arm: str, *path) -> list:
    """One measurement of every seed of ``arm``, e.g. ``per_seed(r, "full", "inferred", "rho")``
    (None where it could not be measured)."""
    out = []
    for value in results[arm]:
        for part in path:
            value = None if value is None else value[part]
        out.append(value)
    return out


def seeds_of(results: dict, arm: str, *path):
    """:func:`per_seed` as a claim's measurement: the per-seed list, or a
    :class:`~i2vlib.claims.NotTested` saying which seeds the instrument could not measure."""
    from ..claims import NotTested

    values = per_seed(results, arm, *path)
    missing = [i for i, v in enumerate(values) if v is None]
    if missing:
        return NotTested(f"{'.'.join(path)} of {arm} could not be measured for seed(s) "
                         f"{', '.join(map(str, missing))} (the instrument read no face in the generated frames)")
    return values


def compare(results: dict, arms: dict, *path):
    """A comparative claim's measurement ``{claim's name: per-seed values}`` from ``arms``
    ({claim's name: arm}), or the first :class:`~i2vlib.claims.NotTested` among them."""
    from ..claims import NotTested

    out = {name: seeds_of(results, arm, *path) for name, arm in arms.items()}
    return next((v for v in out.values() if isinstance(v, NotTested)), out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m i2vlib.zoo.ablations", description=__doc__.splitlines()[0])
    p.add_argument("papers", nargs="*", help=f"comparisons to record (default: {', '.join(ARMS)})")
    p.add_argument("--arms", nargs="*", default=None, help="only these arms (names of ARMS)")
    p.add_argument("--workers", type=int, default=None, help="parallel trainings (default: one per core)")
    args = p.parse_args(argv)
    from . import recipe
    from .records import measured

    os.environ["I2V_RECORD"] = "1"
    start = time.perf_counter()
    try:
        for paper in args.papers or list(ARMS):
            arms = None if args.arms is None else [a for a in args.arms if a in ARMS.get(paper, {})]
            comparison(paper, "book", arms=arms, device="cpu", workers=args.workers)
            if args.arms is None:
                measured([recipe(name) for name in HEADLINES[paper]], "arm", device="cpu", videos=videos("book"))
    except I2VError as e:
        print(f"ablations: error: {e}", file=sys.stderr)
        return 2
    print(f"ablations: recorded after {(time.perf_counter() - start) / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
