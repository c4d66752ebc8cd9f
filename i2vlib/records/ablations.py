"""The seeded comparisons behind the ablation chapters' claims, and their recorded measurements.

    python -m i2vlib.records.ablations [PAPER ...] [--arms ARM ...] [--rungs M ...] [--round R] [--workers N]
        [--engine local|slurm|debug] [--retries N] [--partition P --time MINUTES --cpus N] [--jobs-folder DIR]
        [--device cpu|cuda[:N]]

(``make records``) records every run of the papers' comparisons not recorded yet, as one queue of jobs over papers and
rungs (:func:`i2vlib.records.store.record`, :func:`jobs`) on a job engine (:mod:`i2vlib.records.engine`, submitit):
processes on this machine by default, one one-thread job per core, or ``--engine slurm`` jobs of a SLURM cluster;
``--device cuda`` trains every job's runs on a GPU (the jobs in flight share it; each record names the device).
Run again, it resumes: recorded keys are skipped and runs resume from their checkpoints. It prints the jobs done,
running and left with the training time left; a failed job is tried again ``--retries`` times, and one that failed
every try is named at the end, with exit status 1.

The comparisons are declared in :mod:`i2vlib.protocol.tables` (the arms, seeds, budgets, measures and budget ladder,
the papers' comparison tables with their baselines); this module makes their runs' configs (:func:`arm_configs`) and
measurements (:func:`comparison`). The book profile's measurements are recorded in ``recorded/``
(:mod:`i2vlib.records.store`), so ``make book`` reads them instead of training the arms, and a run this module has not
recorded yet trains in the build.

A chapter shows every rung of the budget ladder recorded so far (:func:`rungs`, :func:`ladder`) and judges each claim
at each (:func:`i2vlib.claims.ladder`), so that a verdict about the paper can be told from one about the budget. A
comparison table with its baselines is recorded like a paper's comparison: ``python -m i2vlib.records.ablations
fan-baselines``.
"""

from __future__ import annotations

import functools
import sys
import time

from ..errors import ArgumentParser, I2VError, check_names, command_line
from ..models.frgan import PAPER_WEIGHTS, chapter_config
from ..protocol.tables import (ARMS, HEADLINES, LADDER, LONGER, MEASURE, OWN_BUDGET, RECORD_ROUND, ROUNDS, SEED_GRIDS,
                               SEEDS, SHOWN, arm_configs, measure_options)
from ..runs import may_train, retraining
from ..zoo import add_workers, recipe
from . import engine, schedule, store
from .store import measured


def pictured(paper: str, profile: str = "book") -> list[tuple[dict, dict]]:
    """(config, the measure's extra options) of every run :data:`SHOWN` and :data:`LONGER` add to ``paper``'s
    records."""
    out = [(arm_configs(paper, profile, [arm])[arm][k], extra) for arm, k, extra in SHOWN.get(paper, [])]
    if paper in LONGER:
        out.append((longer_config(paper, profile), LONGER[paper][2]))
    return out


# The controlled check of the reason "budget" (:mod:`i2vlib.records.why`): a table's arm trained this many times the
# first rung's budget, on the first seed of SEEDS, its recipe otherwise unchanged. A claim whose reason says more steps
# would reproduce it is judged by its own rule on this one run (declared 2026-11-30, before the runs trained).
BUDGET_CHECKS = {"fan": {"full": 16}, "affinegan": {"full": 16}}


def budget_checks(profile: str = "book") -> dict[str, dict[str, dict]]:
    """``{paper: {arm: config}}`` of :data:`BUDGET_CHECKS`' runs."""
    return {paper: {arm: arm_configs(paper, profile, [arm], [SEEDS[0]], multiple)[arm][0]
                    for arm, multiple in arms.items()} for paper, arms in BUDGET_CHECKS.items()}


# The controlled check of the reason "departure" (:mod:`i2vlib.records.why`): a table's arm with the one departure
# undone (the option named), at the first rung on every exploratory seed of it, where every arm of the table passed
# its gates; the claims on that arm are judged by their own rule with these runs in its place (declared 2026-12-01,
# before the runs trained). GANimation trains on the benchmark's exact action units; its authors' data held units a
# detector (OpenFace) measured.
# {table: {arm: (the change that undoes it, what the arm then trains on)}}.
DEPARTURE_CHECKS = {"affinegan-baselines": {
    "ganimation": ({"au_source": "fitted"}, "the action units the fitter reads off its frames, as a detector would")}}
DEPARTURE_RUNG = ROUNDS["exploratory"]["rungs"][0]      # (multiple, seeds) of the check's runs


def departure_checks(profile: str = "book") -> dict[str, dict[str, list[dict]]]:
    """``{table: {arm: [config per seed]}}`` of :data:`DEPARTURE_CHECKS`' runs."""
    multiple, seeds = DEPARTURE_RUNG
    return {table: {arm: arm_configs(table, profile, [arm], seeds, multiple, **undone)[arm]
                    for arm, (undone, _) in arms.items()} for table, arms in DEPARTURE_CHECKS.items()}


def chapter_runs(profile: str = "book") -> dict[str, list[dict]]:
    """``{paper: configs}`` of the runs a chapter shows beside the comparisons' arms, recorded with the paper's
    measure (:data:`MEASURE`, :func:`measure_options`) so that ``make book`` trains nothing: FRGAN's G_M at the public
    code's weights and at the paper's, at the FRGAN training chapter's short schedule (seed 0)."""
    return {"frgan": [chapter_config(profile, seed=0, data="synthetic"),
                      chapter_config(profile, seed=0, weights=PAPER_WEIGHTS, data="synthetic")]}


@functools.cache
def pictured_keys() -> frozenset[str]:
    """The record keys whose pictures the chapters show, the only records that keep theirs: each arm's first seed at
    the first rung of the book profile, :data:`SEED_GRIDS`' arms on every seed of :data:`SEEDS`, and the runs of
    :func:`pictured`."""
    out = set()
    for paper in ARMS:
        options, (multiple, _) = measure_options(paper, "book"), LADDER[paper][0]
        for arm, runs in arm_configs(paper, "book", seeds=SEEDS, multiple=multiple).items():
            shown_ = runs if arm in SEED_GRIDS.get(paper, []) else runs[:1]
            out |= {store.key(c, MEASURE[paper], **options) for c in shown_}
        out |= {store.key(c, MEASURE[paper], **options, **extra) for c, extra in pictured(paper, "book")}
    return frozenset(out)


def shown(paper: str, profile: str = "book", device: str = "auto") -> dict[str, dict]:
    """``{arm: measurement}`` of each run :data:`SHOWN` pictures for ``paper``, with its pictures (its measure's
    extra options): recorded, or trained and measured now (where this process may train; a book built from the
    records leaves out a run not yet recorded)."""
    options = measure_options(paper, profile)
    found = {arm: measured([arm_configs(paper, profile, [arm])[arm][k]], MEASURE[paper], device=device,
                           train=may_train(), **options, **extra)[0] for arm, k, extra in SHOWN.get(paper, [])}
    return {arm: value for arm, value in found.items() if value is not None}


def longer_config(paper: str, profile: str = "book", seed: int = SEEDS[0]) -> dict:
    """The config of :data:`LONGER`'s run of ``paper``: its arm with the steps multiplied, one seed."""
    arm, times, _ = LONGER[paper]
    steps = arm_configs(paper, profile, [arm], seeds=[seed])[arm][0]["steps"]
    return arm_configs(paper, profile, [arm], seeds=[seed], steps=times * steps)[arm][0]


def comparison(paper: str, profile: str = "book", arms=None, seeds=SEEDS, device: str = "auto",
               workers: int | None = None, progress: bool = True, multiple: int = 1, train: bool = True,
               round: str = "exploratory", **overrides) -> dict:
    """``{arm: [arm_scores of each seed's model]}``: recorded where the records hold them, else
    trained (side by side) and measured now (:func:`i2vlib.records.store.measured`); ``train=False``: the arms whose
    every seed is recorded, nothing trained."""
    configs = arm_configs(paper, profile, arms, seeds, multiple, round, **overrides)
    flat = [c for runs in configs.values() for c in runs]
    values = measured(flat, MEASURE[paper], device=device, workers=workers, progress=progress, train=train,
                      **measure_options(paper, profile))
    out, i = {}, 0
    for arm, runs in configs.items():
        if None not in values[i:i + len(runs)]:
            out[arm] = values[i:i + len(runs)]
        i += len(runs)
    return out


def rungs(paper: str, profile: str = "book", arms=None, train: bool = True, round: str = "exploratory",
          **overrides) -> list[tuple[int, tuple[int, ...]]]:
    """The rungs of :data:`LADDER` a chapter shows: ``(multiple, seeds)`` (:func:`rung_arms` says which arms). The
    first rung always, with its seeds beyond :data:`SEEDS` as far as every arm has them recorded (the others train
    now if missing); each larger rung whose :data:`SEEDS` are recorded for at least one arm (a partial rung), with
    its seeds as far as recorded for those arms. Only the book profile on the benchmark climbs the ladder; any other
    setting (a profile, a folder, a size or a number of steps) is its first rung on :data:`SEEDS`. With
    ``I2V_RETRAIN=1`` every rung is shown, and trained. ``train=False`` (or ``I2V_NO_TRAIN``): every rung shows its
    recorded arms only, the first too, so that an arm not recorded yet does not cut the others' seeds. ``round``: the
    seeds of which round of :data:`~i2vlib.protocol.tables.ROUNDS` (its first three seeds stand for SEEDS)."""
    return [(m, seeds) for m, seeds, _ in _rungs(paper, profile, arms, overrides, train, round)]


def rung_arms(paper: str, multiple: int, seeds, profile: str = "book", arms=None, round: str = "exploratory",
              **overrides) -> list[str]:
    """The arms of ``arms`` (default: all of ``paper``'s) whose runs of ``seeds`` at ``multiple`` times the budget
    are all recorded (every arm with ``I2V_RETRAIN=1``, which trains what is missing)."""
    return _recorded_arms(paper, multiple, seeds, profile, arms, None, overrides, round)


def _recorded_arms(paper, multiple, seeds, profile, arms, book, overrides, round="exploratory") -> list[str]:
    """:func:`rung_arms` against ``book`` (the records, read now if None)."""
    configs = arm_configs(paper, profile, arms, seeds, multiple, round, **overrides)
    if retraining():
        return list(configs)
    book, options = store.read() if book is None else book, measure_options(paper, profile)
    return [arm for arm, runs in configs.items()
            if all(store.key(c, MEASURE[paper], **options) in book for c in runs)]


def _rungs(paper, profile, arms, overrides, train=True,
           round="exploratory") -> list[tuple[int, tuple[int, ...], list[str]]]:
    """:func:`rungs` with the arms each rung shows."""
    check_names([paper], tuple(ARMS), "paper")
    round_ = ROUNDS[check_names([round], tuple(ROUNDS), "round")[0]]
    ladder_ = round_["rungs"]
    every = list(arm_configs(paper, profile, arms, [SEEDS[0]], **overrides))
    if profile != "book" or any(v is not None and k != "data" for k, v in overrides.items()) \
            or overrides.get("data", "synthetic") != "synthetic":
        return [(LADDER[paper][0][0], SEEDS, every)]
    out, book = [], store.read()
    for i, (multiple, seeds) in enumerate(ladder_):
        base = seeds[:round_["least"]]
        shown = every if i == 0 and train and may_train() else _recorded_arms(paper, multiple, base, profile, every,
                                                                              book, overrides, round)
        if not shown:
            continue
        kept = list(base)
        for s in seeds[len(base):]:   # as far as recorded: a rung's seeds are a prefix of the round's
            if _recorded_arms(paper, multiple, [s], profile, shown, book, overrides, round) != shown:
                break
            kept.append(s)
        out.append((multiple, tuple(kept), shown))
    return out


def ladder(paper: str, profile: str = "book", arms=None, device: str = "auto", workers: int | None = None,
           progress: bool = True, train: bool = True, round: str = "exploratory",
           **overrides) -> dict[tuple[int, tuple[int, ...]], dict]:
    """``{(multiple, seeds): comparison}`` of every rung :func:`rungs` shows, the smallest first. The first rung
    holds every arm (``train=False``: those recorded); a larger one the arms recorded at it so far: a claim on an arm
    it lacks is not tested there (:func:`i2vlib.claims.evidence.seeds_of`), and rests on the rungs that have it."""
    train = train and may_train()
    return {(m, seeds): comparison(paper, profile, shown, seeds, device, workers, progress, m, train, round,
                                   **overrides)
            for m, seeds, shown in _rungs(paper, profile, arms, overrides, train, round)}


def rung_label(paper: str, multiple: int, seeds, profile: str = "book", missing=(), **overrides) -> str:
    """How a chapter names a rung: the steps of ``paper``'s first arm at ``multiple`` times the budget (per
    expression; G_M's for FRGAN), those of the arms trained longer (:data:`OWN_BUDGET`), the number of seeds, and
    the arms not yet recorded there (``missing``), e.g. "4000 steps, 3 seeds", "4000 steps, 3 seeds, joint not yet
    recorded" or "1000 steps (fgst 8000), 5 seeds"."""
    first = next(iter(ARMS[paper]))
    longer = [arm for arm, by in OWN_BUDGET.get(paper, {}).items() if by.get(profile, 1) != 1]
    steps = {arm: runs[0]["steps"] for arm, runs in
             arm_configs(paper, profile, [first, *longer], [SEEDS[0]], multiple, **overrides).items()}
    own = f" ({', '.join(f'{arm} {steps[arm]}' for arm in longer)})" if longer else ""
    later = f", {', '.join(missing)} not yet recorded" if missing else ""
    return f"{steps[first]} steps{own}, {len(seeds)} seeds{later}"


def ladder_words(paper: str) -> str:
    """The design of ``paper``'s budget ladder (:data:`LADDER`) in words, for prose that must not type it by hand,
    e.g. "5 seeds per arm at the budget and 3 at 4 times it"."""
    (_, first), *rest = LADDER[paper]
    return " and ".join([f"{len(first)} seeds per arm at the budget"]
                        + [f"{len(seeds)} at {m} times it" for m, seeds in rest])


def rung_labels(paper: str, ladder_: dict, profile: str = "book", arms=None, **overrides) -> list[str]:
    """:func:`rung_label` of each rung of ``ladder_`` (a :func:`ladder` of ``arms``, default all of ``paper``'s),
    naming the arms each rung lacks (a book built from the records lacks, even at the first rung, an arm not yet
    recorded)."""
    every = list(arm_configs(paper, profile, arms, [SEEDS[0]], **overrides))
    return [rung_label(paper, m, seeds, profile, missing=[a for a in every if a not in results], **overrides)
            for (m, seeds), results in ladder_.items()]


def data_scope(data: str) -> tuple[list[str], dict[str, str]]:
    """What an ablations chapter run on ``data`` measured and skipped before any arm, for
    :func:`i2vlib.evaluate.data_note`: nothing on the benchmark; on a folder, every ablation is still measured on
    the benchmark's test faces (which the variants trained on ``data`` never saw), and the ablations on the
    folder's own videos are skipped (they need true intensities and an instrument that reads expression strength)."""
    if data == "synthetic":
        return [], {}
    return (["every ablation on the benchmark's test faces, which the variants trained on DATA never saw"],
            {"the ablations measured on the folder's own videos":
             "true intensities, and an instrument that reads expression strength"})


def recorded_seeds(paper: str, round: str = "exploratory") -> dict[int, dict[str, list[int]]]:
    """``{multiple: {arm: the seeds recorded}}`` for each rung of ``round`` (book profile)."""
    book, options = store.read(), measure_options(paper, "book")
    return {m: {arm: [c["seed"] for c in runs if store.key(c, MEASURE[paper], **options) in book]
                for arm, runs in arm_configs(paper, "book", seeds=seeds, multiple=m, round=round).items()}
            for m, seeds in ROUNDS[round]["rungs"]}


def progress(round: str = RECORD_ROUND) -> list[dict]:
    """How far ``round``'s records are, per table and rung: ``{"table", "multiple", "declared", "recorded", "hours",
    "runs", "accelerated", "expected"}`` -- the runs the protocol declares (every arm, every seed of the rung), those
    recorded, the hours their training took on one core (:func:`i2vlib.records.store.training`; a refinement arm's
    G_R alone; a run trained on an accelerator, whose seconds are not one core's, left out), ``runs``: ``{record key:
    training seconds, None where not recorded}`` (a run two tables share is one run: :func:`progress_total`),
    ``accelerated``: the keys of the recorded runs that trained on an accelerator, and ``expected``: ``{record key:
    seconds}``, how long each run not recorded yet is expected to train on one core
    (:func:`i2vlib.records.schedule.job_seconds`, as the recording queue estimates it)."""
    book, out = store.read(), []
    for table in ARMS:
        options = measure_options(table, "book")
        for multiple, seeds in ROUNDS[round]["rungs"]:
            configs = {store.key(c, MEASURE[table], **options): c
                       for arms in arm_configs(table, "book", seeds=seeds, multiple=multiple, round=round).values()
                       for c in arms}
            runs = {k: float(book[k].get("seconds", 0.0)) if k in book else None for k in configs}
            accelerated = sorted(k for k in configs if k in book and schedule.on_accelerator(book[k]))
            done = [v for k, v in runs.items() if v is not None and k not in accelerated]
            out.append({"table": table, "multiple": multiple, "declared": len(runs),
                        "recorded": len(done) + len(accelerated), "hours": sum(done) / 3600, "runs": runs,
                        "accelerated": accelerated,
                        "expected": {k: schedule.job_seconds(configs[k], book) for k, v in runs.items() if v is None}})
    return out


def progress_total(rows: list[dict]) -> dict:
    """``{"declared", "recorded", "accelerated", "hours", "left_hours"}`` of :func:`progress`'s ``rows`` together,
    each run counted once: ``hours`` of training on one core (the runs trained on an accelerator, ``accelerated`` of
    them, left out), ``left_hours``, the training the runs not recorded yet are expected to take on one core (their
    ``expected`` seconds)."""
    runs = {k: v for r in rows for k, v in r["runs"].items()}
    accelerated = {k for r in rows for k in r.get("accelerated", ())}
    expected = {k: v for r in rows for k, v in r["expected"].items()}
    done = [v for k, v in runs.items() if v is not None and k not in accelerated]
    return {"declared": len(runs), "recorded": len(done) + len(accelerated), "accelerated": len(accelerated),
            "hours": sum(done) / 3600, "left_hours": sum(expected.values()) / 3600}


def jobs(ladders: dict, arms=None, round: str = "exploratory") -> list[tuple]:
    """The jobs of :func:`i2vlib.records.store.record` that record ``ladders`` (``{paper: rungs: (multiple, seeds)}``)
    of ``round`` in the book profile: every arm's runs at each rung (only ``arms``, in their order, where given),
    then, where ``arms`` is None and the round is the exploratory one, the paper's :data:`HEADLINES`, the runs
    :func:`pictured` adds, its :data:`BUDGET_CHECKS` and :data:`DEPARTURE_CHECKS`. A record keeps its pictures where a
    chapter shows them (:func:`pictured_keys`)."""
    keep, out = pictured_keys(), []

    def job(config, paper, **extra):
        options = {**measure_options(paper, "book"), **extra}
        return config, MEASURE[paper], options, store.key(config, MEASURE[paper], **options) in keep

    for paper, ladder_ in ladders.items():
        chosen = None if arms is None else [a for a in arms if a in ARMS[paper]]
        for multiple, seeds in ladder_:
            out += [job(c, paper) for runs in arm_configs(paper, "book", chosen, seeds, multiple, round).values()
                    for c in runs]
        if arms is None and round == "exploratory":
            out += [job(recipe(name), paper) for name in HEADLINES[paper]]
            out += [job(config, paper, **extra) for config, extra in pictured(paper, "book")]
            out += [job(config, paper) for config in budget_checks("book").get(paper, {}).values()]
            out += [job(config, paper) for runs in departure_checks("book").get(paper, {}).values() for config in runs]
    return out


@command_line("ablations")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.records.ablations", description=__doc__.splitlines()[0])
    p.add_argument("papers", nargs="*", help=f"comparisons to record (default: {', '.join(ARMS)})")
    p.add_argument("--arms", nargs="*", default=None,
                   help="only these arms (names of ARMS), trained in the order given")
    p.add_argument("--rungs", nargs="*", type=int, default=None,
                   help="only these rungs of the budget ladder, as multiples of the budget (default: every rung "
                        "of LADDER, the smallest first)")
    p.add_argument("--round", choices=list(ROUNDS), default=RECORD_ROUND,
                   help=f"the round whose seeds to record (default: {RECORD_ROUND}, the round of record)")
    add_workers(p)
    engine.add_arguments(p)
    p.add_argument("--list", action="store_true",
                   help="print the seeds of each arm recorded at each rung, and record nothing")
    args = p.parse_args(argv)

    start = time.perf_counter()
    try:
        where = engine.from_arguments(args)
        papers = check_names(args.papers or list(ARMS), tuple(ARMS), "paper")
        if args.arms is not None:
            check_names(args.arms, tuple(dict.fromkeys(a for paper in papers for a in ARMS[paper])), "arm")
        rungs_ = ROUNDS[args.round]["rungs"]
        ladders = {paper: [r for r in rungs_ if args.rungs is None or r[0] in args.rungs] for paper in papers}
        if args.rungs is not None and len([r for r in rungs_ if r[0] in args.rungs]) != len(set(args.rungs)):
            raise I2VError(f"--rungs {' '.join(map(str, args.rungs))}: the ladder has the rungs "
                           f"{', '.join(str(m) for m, _ in rungs_)}")
        if args.list:
            for paper, ladder_ in ladders.items():
                recorded = recorded_seeds(paper, args.round)
                for m, _ in ladder_:
                    print(f"{paper} x{m}: " + "  ".join(f"{arm} {','.join(map(str, s)) or '-'}"
                                                         for arm, s in recorded[m].items()
                                                         if args.arms is None or arm in args.arms))
            return 0
        store.record(jobs(ladders, args.arms, args.round), workers=args.workers, engine=where)
    except engine.JobsFailed as e:
        print(f"ablations: error: {e}", file=sys.stderr)
        return 1
    except I2VError as e:
        print(f"ablations: error: {e}", file=sys.stderr)
        return 2
    print(f"ablations: recorded after {(time.perf_counter() - start) / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
