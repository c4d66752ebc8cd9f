"""``make verify-records``: train a few recorded runs again and check each new measurement against its arm's spread.

    python -m i2vlib.zoo.verify [PAPER ...] [--runs N] [--seed S] [--root DIR] [--out FILE] [--workers N]

``records.json`` (:mod:`.records`) holds what the ablation chapters measure of each seeded run, so a build reads
numbers it did not train. This check trains some of them again: it picks ``--runs`` runs (an arm of
:data:`~.ablations.ARMS` and one of its seeds) at random, seeded by ``--seed``, among those whose arm has every seed
recorded, trains each from scratch under ``--root`` (a fresh temporary folder by default) and measures it as its
record was measured. Every finite number of the measurement (nested scores flattened to ``inferred.rho``; lists and
pictures left out) is compared with

- its arm's **recorded spread**, the range [min, max] over the arm's recorded seeds: the check the run must pass
  (a number outside it is listed), and
- the **recorded value of the same seed**: equal (to the 6 significant digits a record keeps) where training is
  deterministic on this machine as on the one that recorded it.

Prints a JSON report and writes it to ``--out``. Not part of CI: a run trains for minutes (AffineGAN and Fan et al.'s
arms) to half an hour (a pose arm on one core).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path

from ..errors import I2VError, check_names
from ..io import write_json
from ..runs import cached_runs, load
from . import records
from .ablations import ARMS, MEASURE, SEEDS, arm_configs, measure_options


def numbers(value, prefix: str = "") -> dict[str, float]:
    """The finite numbers of a measurement, nested dicts flattened to dotted names (lists and pictures left out)."""
    out = {}
    if isinstance(value, dict) and set(value) == {"png", "frames"}:      # a picture (records.encode)
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(numbers(v, f"{prefix}{k}."))
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        out[prefix[:-1]] = float(value)
    return out


def recorded_runs(papers, book: dict) -> list[tuple[str, str, int]]:
    """``(paper, arm, seed index)`` of every run whose arm has all of its seeds recorded in ``book``."""
    out = []
    for paper in papers:
        options = measure_options(paper, "book")
        for arm, runs in arm_configs(paper, "book").items():
            if all(records.key(c, MEASURE[paper], **options) in book for c in runs):
                out += [(paper, arm, i) for i in range(len(runs))]
    return out


def check(new: dict, seeds: list[dict], index: int) -> dict:
    """Each number of ``new`` against the spread of ``seeds`` (the arm's recorded measurements) and against
    ``seeds[index]`` (the same seed's): ``{"outside": {name: [new, min, max]}, "numbers", "equal"}``."""
    new_n, old_n = numbers(records.encode(new)), [numbers(s) for s in seeds]   # rounded as records are
    outside, equal, n = {}, 0, 0
    for name, v in new_n.items():
        spread = [o[name] for o in old_n if name in o]
        if len(spread) < len(seeds):
            continue
        n += 1
        lo, hi = min(spread), max(spread)
        if not lo <= v <= hi:
            outside[name] = [v, lo, hi]
        equal += v == old_n[index][name]
    return {"numbers": n, "outside": outside, "equal": equal}


def verify(papers, runs: int = 2, seed: int = 0, root=None, workers: int | None = None, book=None,
           progress: bool = True) -> dict:
    """Train ``runs`` recorded runs of ``papers`` again, chosen at random by ``seed``, and :func:`check` each."""
    book = records.read() if book is None else book
    pool = recorded_runs(papers, book)
    if not pool:
        raise I2VError(f"no arm of {', '.join(papers)} has all its seeds recorded in {records.RECORDS.name}")
    chosen = random.Random(seed).sample(pool, min(runs, len(pool)))
    report = {"seed": seed, "runs": []}
    with tempfile.TemporaryDirectory(prefix="i2v-verify-") as tmp:
        for paper, arm, i in chosen:
            configs = arm_configs(paper, "book", [arm])[arm]
            measure, options = MEASURE[paper], measure_options(paper, "book")
            start = time.perf_counter()
            (run,) = cached_runs([configs[i]], root=root or tmp, device="cpu", workers=workers, progress=progress,
                                 use_zoo=False)
            new = records.MEASURES[measure][1](load(run), **options)
            seeds = [book[records.key(c, measure, **options)]["value"] for c in configs]
            result = check(new, seeds, i)
            report["runs"].append({"paper": paper, "arm": arm, "seed": SEEDS[i], **result,
                                   "minutes": round((time.perf_counter() - start) / 60, 1)})
            if progress:
                print(f"{paper}/{arm} seed {SEEDS[i]}: {result['numbers'] - len(result['outside'])} of "
                      f"{result['numbers']} numbers within the recorded spread, {result['equal']} equal to the "
                      f"seed's record", flush=True)
    report["within_spread"] = all(not r["outside"] for r in report["runs"])
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m i2vlib.zoo.verify", description=__doc__.splitlines()[0])
    p.add_argument("papers", nargs="*", help=f"comparisons to draw from (default: {', '.join(ARMS)})")
    p.add_argument("--runs", type=int, default=2, help="runs to train again (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random choice (default 0)")
    p.add_argument("--root", default=None, help="where the runs train (default: a temporary folder)")
    p.add_argument("--out", default=None, help="also write the JSON report here")
    p.add_argument("--workers", type=int, default=None, help="parallel trainings (default: one per core)")
    args = p.parse_args(argv)
    try:
        papers = check_names(args.papers or list(ARMS), tuple(ARMS), "paper")
        if args.runs < 1 or args.seed < 0 or (args.workers is not None and args.workers < 1):
            raise I2VError("--runs and --workers must be at least 1, --seed at least 0")
        if args.out and not Path(args.out).parent.is_dir():
            raise I2VError(f"--out {args.out}: folder {Path(args.out).parent} does not exist")
        report = verify(papers, args.runs, args.seed, args.root, args.workers)
    except I2VError as e:
        print(f"verify: error: {e}", file=sys.stderr)
        return 2
    if args.out:
        write_json(args.out, report)
    print(json.dumps(report, indent=1))
    return 0 if report["within_spread"] else 1


if __name__ == "__main__":
    sys.exit(main())
