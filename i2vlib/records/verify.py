"""``make verify-records``: train a few recorded runs again and check each new measurement against its arm's seeds.

    python -m i2vlib.records.verify [PAPER ...] [--arms ARM ...] [--rungs M ...] [--runs N] [--seed S] [--root DIR]
                                [--out FILE] [--workers N]

The records (:mod:`.store`, ``recorded/``) hold what the ablation chapters measure of each seeded run, so a build
reads numbers it did not train. This check trains some of them again: for each comparison of ``PAPER ...`` and each rung
of its budget ladder, it picks ``--runs`` runs (an arm of :data:`~i2vlib.protocol.tables.ARMS` and one of its seeds) at random,
seeded by ``--seed``, among those whose arm has at least :data:`~i2vlib.protocol.tables.SEEDS` recorded at that rung, trains
each from scratch under ``--root`` (a fresh temporary folder by default) and measures it as its record was measured.
Every finite number of the measurement (nested scores flattened to ``inferred.rho``; a list of numbers, such as a
pose run's per-video errors, reduced to its mean; pictures left out) is compared with

- its arm's **prediction band**, where one more seed's value falls with probability 1 - alpha/m under a normal
  model of the arm's *other* recorded seeds at that rung (leave one out: the record of the seed being trained
  again is not part of its own band; mean ± t · sd · sqrt(1 + 1/n), Student's t with n - 1 degrees of freedom,
  ``scipy.stats.t``): alpha = 0.05 Bonferroni-divided over the run's m numbers, so a faithful run is flagged with
  probability at most 5 %. A number outside it is listed.
- the **recorded value of the same seed**: equal (to the 6 significant digits a record keeps) where training is
  deterministic on this machine as on the one that recorded it.

A run whose measurement shares no number with its records compares nothing, and fails. ``--arms`` and ``--rungs``
narrow the draw (e.g. to the seeds a lent GPU trained: the report's ``recorded_on`` names where each record's run
trained, and such a record is not expected to be equal to its CPU retraining, only within its band). Prints a JSON
report and writes it to ``--out``. Not part of CI: a run trains for minutes (AffineGAN and Fan et al.'s arms at the
first rung) to an hour (a pose arm at four times the budget, on one core).
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ..claims import ALPHA
from ..errors import ArgumentParser, I2VError, check_names, command_line
from ..io import write_json
from ..outputs import check_output
from ..runs import cached_runs, load
from ..zoo import add_workers
from . import store

REPORT = Path(__file__).with_name("verify_report.json")   # make verify-records' report, committed
from .ablations import arm_configs, measure_options
from ..protocol.tables import ARMS, LADDER, MEASURE, SEEDS


def numbers(value, prefix: str = "") -> dict[str, float]:
    """The finite numbers of a measurement, nested dicts flattened to dotted names; a list (of lists) of numbers
    reduced to the mean of its finite entries; pictures, words and lists of words left out."""
    out = {}
    if isinstance(value, dict) and set(value) == {"png", "frames"}:      # a picture (store.encode)
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(numbers(v, f"{prefix}{k}."))
    elif isinstance(value, list):
        flat = list(_flatten(value))
        if flat and all(_is_number(v) for v in flat) and any(math.isfinite(v) for v in flat):
            out[prefix[:-1]] = statistics.fmean(v for v in flat if math.isfinite(v))
    elif _is_number(value) and math.isfinite(value):
        out[prefix[:-1]] = float(value)
    return out


def _flatten(items):
    for v in items:
        if isinstance(v, list):
            yield from _flatten(v)
        else:
            yield v


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def recorded_seeds(paper: str, arm: str, book: dict, multiple: int = 1) -> list[dict]:
    """The configs of ``arm``'s seeds at the rung of ``multiple`` times the budget that ``book`` records, as far as
    recorded (a prefix of the rung's seeds)."""
    options, out = measure_options(paper, "book"), []
    seeds = dict(LADDER[paper])[multiple]
    for c in arm_configs(paper, "book", [arm], seeds=seeds, multiple=multiple)[arm]:
        if store.key(c, MEASURE[paper], **options) not in book:
            break
        out.append(c)
    return out


def recorded_runs(papers, book: dict) -> list[tuple[str, str, int, int]]:
    """``(paper, arm, multiple, seed index)`` of every recorded run of an arm with at least :data:`~i2vlib.protocol.tables.SEEDS`
    recorded at that rung (:func:`recorded_seeds`)."""
    out = []
    for paper in papers:
        for multiple, _ in LADDER[paper]:
            for arm in ARMS[paper]:
                seeds = recorded_seeds(paper, arm, book, multiple)
                if len(seeds) >= len(SEEDS):
                    out += [(paper, arm, multiple, i) for i in range(len(seeds))]
    return out


def band(values: list[float], level: float) -> tuple[float, float]:
    """Where one more draw falls with probability ``level`` under a normal model of ``values`` (at least 2): the
    prediction interval mean ± t · sd · sqrt(1 + 1/n); a point where the values agree."""
    from scipy import stats  # heavy: imported when a run is checked

    n = len(values)
    if min(values) == max(values):
        return values[0], values[0]
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half


def check(new: dict, seeds: list[dict], index: int, alpha: float = ALPHA) -> dict:
    """Each number of ``new`` against its :func:`band` over ``seeds`` (the arm's recorded measurements) but
    ``seeds[index]`` (leave one out) at level 1 - alpha/m for m numbers, and against ``seeds[index]`` (the same
    seed's): ``{"outside": {name: [new, low, high]}, "numbers", "equal"}``."""
    new_n, old_n = numbers(store.encode(new)), [numbers(s) for s in seeds]   # rounded as records are
    names = [k for k in new_n if sum(k in o for o in old_n) == len(seeds)]
    others = [o for i, o in enumerate(old_n) if i != index]
    outside, equal = {}, 0
    for name in names:
        v = new_n[name]
        lo, hi = band([o[name] for o in others], 1 - alpha / len(names))
        if not lo <= v <= hi:
            outside[name] = [v, lo, hi]
        equal += v == old_n[index][name]
    return {"numbers": len(names), "outside": outside, "equal": equal}


def verify(papers, runs: int = 1, seed: int = 0, root=None, workers: int | None = None, book=None,
           progress: bool = True, arms=None, rungs=None) -> dict:
    """Train ``runs`` recorded runs of each comparison of ``papers`` at each rung again (only ``arms`` and ``rungs``,
    as multiples of the budget, where given), chosen at random by ``seed``, and :func:`check` each."""
    book = store.read() if book is None else book
    pool = [r for r in recorded_runs(papers, book)
            if (arms is None or r[1] in arms) and (rungs is None or r[2] in rungs)]
    if not pool:
        raise I2VError(f"no arm of {', '.join(papers)}{' among ' + ', '.join(arms) if arms else ''} has {len(SEEDS)} "
                       f"seeds recorded in {store.RECORDS.name}"
                       + (f" at rung(s) {', '.join(map(str, rungs))}" if rungs else ""))
    rng, chosen = random.Random(seed), []
    for group in dict.fromkeys((paper, multiple) for paper, _, multiple, _ in pool):
        here = [r for r in pool if (r[0], r[2]) == group]
        chosen += rng.sample(here, min(runs, len(here)))
    report = {"seed": seed, "runs": []}
    with tempfile.TemporaryDirectory(prefix="i2v-verify-") as tmp:
        for paper, arm, multiple, i in chosen:
            configs = recorded_seeds(paper, arm, book, multiple)
            measure, options = MEASURE[paper], measure_options(paper, "book")
            start = time.perf_counter()
            (run,) = cached_runs([configs[i]], root=root or tmp, device="cpu", workers=workers, progress=progress,
                                 use_zoo=False)
            new = store.MEASURES[measure][1](load(run), **options)
            seeds = [book[store.key(c, measure, **options)]["value"] for c in configs]
            result = check(new, seeds, i)
            recorded_on = book[store.key(configs[i], measure, **options)].get("devices", [["cpu", 0]])
            report["runs"].append({"paper": paper, "arm": arm, "multiple": multiple, "seed": configs[i]["seed"],
                                   "seeds_recorded": len(configs), "recorded_on": recorded_on, **result,
                                   "minutes": round((time.perf_counter() - start) / 60, 1)})
            if progress:
                print(f"{paper}/{arm} x{multiple} seed {configs[i]['seed']}: {result['numbers'] - len(result['outside'])}"
                      f" of {result['numbers']} numbers within the band of its other {len(configs) - 1} seeds, "
                      f"{result['equal']} equal to the seed's record", flush=True)
    report["within"] = all(r["numbers"] > 0 and not r["outside"] for r in report["runs"])
    return report


@command_line("verify")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.records.verify", description=__doc__.splitlines()[0])
    p.add_argument("papers", nargs="*", help=f"comparisons to draw from (default: {', '.join(ARMS)})")
    p.add_argument("--arms", nargs="+", default=None, help="draw only from these arms")
    p.add_argument("--rungs", nargs="+", type=int, default=None,
                   help="draw only at these rungs, as multiples of the budget (e.g. 4)")
    p.add_argument("--runs", type=int, default=1, help="runs to train again per comparison and rung (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random choice (default 0)")
    p.add_argument("--root", default=None, help="where the runs train (default: a temporary folder)")
    p.add_argument("--out", default=None, help="also write the JSON report here")
    add_workers(p)
    args = p.parse_args(argv)
    try:
        papers = check_names(args.papers or list(ARMS), tuple(ARMS), "paper")
        if args.arms:
            check_names(args.arms, tuple(dict.fromkeys(a for p_ in papers for a in ARMS[p_])), "arm")
        if args.rungs and not set(args.rungs) <= {m for p_ in papers for m, _ in LADDER[p_]}:
            raise I2VError(f"--rungs {' '.join(map(str, args.rungs))}: the ladder's rungs are "
                           f"{', '.join(str(m) for m in sorted({m for p_ in papers for m, _ in LADDER[p_]}))}")
        if args.runs < 1 or args.seed < 0:
            raise I2VError("--runs must be at least 1, --seed at least 0")
        if args.out and not Path(args.out).parent.is_dir():
            raise I2VError(f"--out {args.out}: folder {Path(args.out).parent} does not exist")
        if args.out:
            check_output(args.out, "file")
        report = verify(papers, args.runs, args.seed, args.root, args.workers, arms=args.arms, rungs=args.rungs)
    except I2VError as e:
        print(f"verify: error: {e}", file=sys.stderr)
        return 2
    if args.out:
        write_json(args.out, report)
    print(json.dumps(report, indent=1))
    return 0 if report["within"] else 1


if __name__ == "__main__":
    sys.exit(main())
