"""``make verify-records``: train a few recorded runs again and check each new measurement against its arm's seeds.

    python -m i2vlib.zoo.verify [PAPER ...] [--runs N] [--seed S] [--root DIR] [--out FILE] [--workers N]

``records.json`` (:mod:`.records`) holds what the ablation chapters measure of each seeded run, so a build reads
numbers it did not train. This check trains some of them again: it picks ``--runs`` runs (an arm of
:data:`~.ablations.ARMS` and one of its seeds) at random, seeded by ``--seed``, among those whose arm has at least
:data:`~.ablations.SEEDS` recorded at the first rung of its ladder, trains each from scratch under ``--root`` (a fresh
temporary folder by default) and measures it as its record was measured. Every finite number of the measurement
(nested scores flattened to ``inferred.rho``; lists and pictures left out) is compared with

- its arm's **prediction band**, where one more seed's value falls with probability 1 - alpha/m under a normal
  model of the arm's recorded seeds (mean ± t · sd · sqrt(1 + 1/n), Student's t with n - 1 degrees of freedom,
  ``scipy.stats.t``): alpha = 0.05 Bonferroni-divided over the run's m numbers, so a faithful run is flagged with
  probability at most 5 %. A number outside it is listed. (The range [min, max] of n seeds, the earlier band,
  misses a new seed's value with probability 2 / (n + 1) per number: half the time with three seeds.)
- the **recorded value of the same seed**: equal (to the 6 significant digits a record keeps) where training is
  deterministic on this machine as on the one that recorded it.

Prints a JSON report and writes it to ``--out``. Not part of CI: a run trains for minutes (AffineGAN and Fan et al.'s
arms) to half an hour (a pose arm on one core).
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
from ..io import check_output, write_json
from ..runs import cached_runs, load
from . import add_workers, records
from .ablations import ARMS, LADDER, MEASURE, SEEDS, arm_configs, measure_options


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


def recorded_seeds(paper: str, arm: str, book: dict) -> list[dict]:
    """The configs of ``arm``'s seeds at the first rung of its ladder that ``book`` records, as far as recorded
    (a prefix: :data:`~.ablations.SEEDS` and beyond)."""
    options, out = measure_options(paper, "book"), []
    for c in arm_configs(paper, "book", [arm], seeds=LADDER[paper][0][1])[arm]:
        if records.key(c, MEASURE[paper], **options) not in book:
            break
        out.append(c)
    return out


def recorded_runs(papers, book: dict) -> list[tuple[str, str, int]]:
    """``(paper, arm, seed index)`` of every recorded run of an arm with at least :data:`~.ablations.SEEDS` recorded
    (:func:`recorded_seeds`)."""
    out = []
    for paper in papers:
        for arm in ARMS[paper]:
            seeds = recorded_seeds(paper, arm, book)
            if len(seeds) >= len(SEEDS):
                out += [(paper, arm, i) for i in range(len(seeds))]
    return out


def band(values: list[float], level: float) -> tuple[float, float]:
    """Where one more draw falls with probability ``level`` under a normal model of ``values`` (at least 2): the
    prediction interval mean ± t · sd · sqrt(1 + 1/n); a point where the values agree."""
    from scipy import stats   # heavy: imported when a run is checked

    n = len(values)
    if min(values) == max(values):
        return values[0], values[0]
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half


def check(new: dict, seeds: list[dict], index: int, alpha: float = ALPHA) -> dict:
    """Each number of ``new`` against its :func:`band` over ``seeds`` (the arm's recorded measurements) at level
    1 - alpha/m for m numbers, and against ``seeds[index]`` (the same seed's):
    ``{"outside": {name: [new, low, high]}, "numbers", "equal"}``."""
    new_n, old_n = numbers(records.encode(new)), [numbers(s) for s in seeds]   # rounded as records are
    names = [k for k in new_n if sum(k in o for o in old_n) == len(seeds)]
    outside, equal = {}, 0
    for name in names:
        v = new_n[name]
        lo, hi = band([o[name] for o in old_n], 1 - alpha / len(names))
        if not lo <= v <= hi:
            outside[name] = [v, lo, hi]
        equal += v == old_n[index][name]
    return {"numbers": len(names), "outside": outside, "equal": equal}


def verify(papers, runs: int = 2, seed: int = 0, root=None, workers: int | None = None, book=None,
           progress: bool = True) -> dict:
    """Train ``runs`` recorded runs of ``papers`` again, chosen at random by ``seed``, and :func:`check` each."""
    book = records.read() if book is None else book
    pool = recorded_runs(papers, book)
    if not pool:
        raise I2VError(f"no arm of {', '.join(papers)} has {len(SEEDS)} seeds recorded in {records.RECORDS.name}")
    chosen = random.Random(seed).sample(pool, min(runs, len(pool)))
    report = {"seed": seed, "runs": []}
    with tempfile.TemporaryDirectory(prefix="i2v-verify-") as tmp:
        for paper, arm, i in chosen:
            configs = recorded_seeds(paper, arm, book)
            measure, options = MEASURE[paper], measure_options(paper, "book")
            start = time.perf_counter()
            (run,) = cached_runs([configs[i]], root=root or tmp, device="cpu", workers=workers, progress=progress,
                                 use_zoo=False)
            new = records.MEASURES[measure][1](load(run), **options)
            seeds = [book[records.key(c, measure, **options)]["value"] for c in configs]
            result = check(new, seeds, i)
            report["runs"].append({"paper": paper, "arm": arm, "seed": configs[i]["seed"], **result,
                                   "minutes": round((time.perf_counter() - start) / 60, 1)})
            if progress:
                print(f"{paper}/{arm} seed {configs[i]['seed']}: {result['numbers'] - len(result['outside'])} of "
                      f"{result['numbers']} numbers within the arm's prediction band ({len(configs)} seeds), "
                      f"{result['equal']} equal to the seed's record", flush=True)
    report["within"] = all(not r["outside"] for r in report["runs"])
    return report


@command_line("verify")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.zoo.verify", description=__doc__.splitlines()[0])
    p.add_argument("papers", nargs="*", help=f"comparisons to draw from (default: {', '.join(ARMS)})")
    p.add_argument("--runs", type=int, default=2, help="runs to train again (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random choice (default 0)")
    p.add_argument("--root", default=None, help="where the runs train (default: a temporary folder)")
    p.add_argument("--out", default=None, help="also write the JSON report here")
    add_workers(p)
    args = p.parse_args(argv)
    try:
        papers = check_names(args.papers or list(ARMS), tuple(ARMS), "paper")
        if args.runs < 1 or args.seed < 0:
            raise I2VError("--runs must be at least 1, --seed at least 0")
        if args.out and not Path(args.out).parent.is_dir():
            raise I2VError(f"--out {args.out}: folder {Path(args.out).parent} does not exist")
        if args.out:
            check_output(args.out, "file")
        report = verify(papers, args.runs, args.seed, args.root, args.workers)
    except I2VError as e:
        print(f"verify: error: {e}", file=sys.stderr)
        return 2
    if args.out:
        write_json(args.out, report)
    print(json.dumps(report, indent=1))
    return 0 if report["within"] else 1


if __name__ == "__main__":
    sys.exit(main())
