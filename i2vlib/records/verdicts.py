"""Every claim's verdict, from the records: what ``i2v claims`` prints and the book's verdicts page shows.

    i2v claims [--paper NAME] [--json]

Nothing trains and nothing is recorded. Each chapter's claims are judged as the chapter judges them: the book
profile's comparisons at every rung of their budget ladder, read from the records (:mod:`.store`; arms not
recorded are not tested), turned into measurements by the chapter's function of :mod:`i2vlib.claims.evidence`, and judged by the rules
of the claims registry, one Holm family per table or figure of the paper at each rung. The claims on single zoo
models read the zoo's files (the transfer of Fan et al.'s Fig. 5c renders frames of ``zoo:fan-joint``: a few
seconds).

:func:`report` returns one dict per claim::

    {"paper", "id", "where", "chapter", "words", "verdict", "interaction_p",
     "rungs": {"1": {"verdict", "measured", "arms": {ARM: {"seeds", "healthy"}}}, "4": {...}}}

where a rung is named by its multiple of the budget (``"zoo"`` for the claims on shipped zoo models).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from .. import claims
from ..claims import evidence, health, log
from ..clip_record import EXPRESSIONS
from ..data.pose_benchmark import ACTIONS
from ..errors import check_names
from ..evaluate import retarget, test_clips
from ..evaluate.ablation import transfer_strength
from ..runs import load
from ..zoo import names, recipe, record
from .ablations import ladder, measure_options
from .comparisons import TABLES
from .store import measured

PROFILE = "book"
TITLES = {"affinegan": "AffineGAN (ACM MM 2019)", "fan": "Fan et al. (AAAI 2019)", "frgan": "FRGAN (ECCV 2018)"}
SHORT = {"affinegan": "AffineGAN", "fan": "Fan et al.", "frgan": "FRGAN"}      # in tables
CHAPTER_TITLES = {"affinegan/ablations": "AffineGAN: ablations", "affinegan/training": "AffineGAN: training",
                  "fan/ablations": "Fan et al.: ablations", "frgan/ablations": "FRGAN: ablations",
                  "frgan/pose": "FRGAN: the pose half", "baselines/baselines": "The papers' baselines"}
# The MyST target set just above each chapter's claims table (``(claims-<chapter>)=``), where the verdicts page links;
# a chapter whose claims sit in a section of their own kind is linked at its top.
CLAIMS_TARGET = {c: "claims-" + c.replace("/", "-") for c in ("affinegan/ablations", "fan/ablations",
                                                               "frgan/ablations", "frgan/pose", "baselines/baselines")}


def claims_link(chapter: str, title: str) -> str:
    """A MyST link, from a page of the book's notebooks, to where ``chapter`` judges its claims."""
    target = CLAIMS_TARGET.get(chapter)
    return f"{{ref}}`{title} <{target}>`" if target else f"[{title}](../{chapter}.ipynb)"


def _by_multiple(paper: str, health: bool = True) -> dict[int, dict]:
    """``{multiple: runs}`` of every rung of ``paper``'s ladder recorded so far (nothing trained); ``health=False``
    drops each run's health, as the records were judged before the health checks (a replay of the registry log)."""
    rungs = {m: runs for (m, _), runs in ladder(paper, PROFILE, progress=False, train=False).items()}
    if health:
        return rungs
    return {m: {arm: [{k: v for k, v in r.items() if k != "health"} if isinstance(r, dict) else r for r in seeds]
                    for arm, seeds in runs.items()} for m, runs in rungs.items()}


def _affinegan_ablations(health: bool = True) -> dict[str, evidence.Evidence]:
    head = measured([recipe("affinegan-happy")], "arm", train=False, **measure_options("affinegan", PROFILE))[0]
    if head is None:
        head = {"health": {"healthy": False, "failed": ["not recorded"]}}
    return {str(m): evidence.affinegan_ablations(R, head) for m, R in _by_multiple("affinegan", health).items()}


def _affinegan_training(health: bool = True) -> dict[str, evidence.Evidence]:
    shipped = set(names())
    experts = {e: record(f"affinegan-{e}")["scores"] for e in EXPRESSIONS if f"affinegan-{e}" in shipped}
    unified = record("affinegan-all")["scores"] if "affinegan-all" in shipped else None
    return {"zoo": evidence.affinegan_training(experts, unified)}


def _fan_ablations(health: bool = True) -> dict[str, evidence.Evidence]:
    rho = None
    if "fan-joint" in names():
        joint = load("zoo:fan-joint")
        faces = test_clips(joint, "linear", n=measure_options("fan", PROFILE)["videos"], frames=16, seed=0,
                           expressions=["happy"])
        rho = transfer_strength(joint, faces)["rho"]
    return {str(m): evidence.fan_ablations(R, transfer_rho=rho) for m, R in _by_multiple("fan", health).items()}


def _retarget_reference(paper: str) -> dict:
    return retarget.baselines(64, **measure_options(paper, PROFILE))


def _frgan_ablations(health: bool = True) -> dict[str, evidence.Evidence]:
    options = measure_options("frgan", PROFILE)
    base, third = _retarget_reference("frgan"), retarget.protocol(64, **options).third
    return {str(m): evidence.frgan_ablations(R, base["truth"], base["copy"], third)
            for m, R in _by_multiple("frgan", health).items()}


def _frgan_pose(health: bool = True) -> dict[str, evidence.Evidence]:
    return {str(m): evidence.frgan_pose(R, ACTIONS) for m, R in _by_multiple("frgan-pose", health).items()}


def _baselines(paper: str, health: bool = True) -> dict[str, evidence.Evidence]:
    if paper == "fan":
        return {str(m): evidence.fan_baselines(R) for m, R in _by_multiple("fan-baselines", health).items()}
    if paper == "affinegan":
        return {str(m): evidence.affinegan_baselines(R) for m, R in _by_multiple("affinegan-baselines", health).items()}
    faces, poses = _by_multiple("frgan-baselines", health), _by_multiple("frgan-pose-baselines", health)
    truth = _retarget_reference("frgan-baselines")["truth"]
    return {str(m): evidence.frgan_baselines(faces.get(m, {}), poses.get(m, {}), truth)
            for m in sorted(set(faces) | set(poses))}


# Each chapter that judges claims, and how its evidence is made from the records, per paper.
CHAPTERS: dict[str, dict[str, Callable[..., dict[str, evidence.Evidence]]]] = {
    "affinegan": {"affinegan/ablations": _affinegan_ablations, "affinegan/training": _affinegan_training,
                  "baselines/baselines": lambda health=True: _baselines("affinegan", health)},
    "fan": {"fan/ablations": _fan_ablations, "baselines/baselines": lambda health=True: _baselines("fan", health)},
    "frgan": {"frgan/ablations": _frgan_ablations, "frgan/pose": _frgan_pose,
              "baselines/baselines": lambda health=True: _baselines("frgan", health)},
}
assert set(TABLES) == {f"{p}-baselines" for p in ("fan", "affinegan", "frgan", "frgan-pose")}
assert set(CHAPTER_TITLES) == {c for chapters in CHAPTERS.values() for c in chapters}


def evidence_of(paper: str | None = None, health: bool = True) -> dict[str, dict[str, dict[str, evidence.Evidence]]]:
    """``{paper: {chapter: {rung: Evidence}}}`` from the records, as each chapter makes it (``health=False``: without
    the runs' health, as before the health checks)."""
    papers = claims.PAPERS if paper is None else check_names([paper], claims.PAPERS, "paper")
    return {p: {chapter: make(health) for chapter, make in CHAPTERS[p].items()} for p in papers}


def report(paper: str | None = None, rules: Mapping | None = None, interaction_test: bool = True,
           by_family: bool = True, made: Mapping | None = None) -> list[dict]:
    """One dict per claim of ``paper`` (default: every paper), judged from the records (see the module's docstring).
    For a replay of the registry log (:mod:`i2vlib.claims.log`): ``rules`` ({"paper/id": Rule}) judges those claims
    by another rule, ``interaction_test=False`` reads budget-dependent wherever the rungs' verdicts differ,
    ``by_family=False`` makes each chapter's comparisons one Holm family, and ``made`` is an :func:`evidence_of` to
    judge instead of the records' own."""
    made = evidence_of(paper) if made is None else made
    rules = rules or {}
    out = []
    for p, chapters in made.items():
        registry, mine = claims.registry(p), []
        for chapter, rungs in chapters.items():
            here = [replace(c, rule=rules[f"{p}/{c.id}"]) if f"{p}/{c.id}" in rules else c
                    for c in registry if c.chapter == chapter]
            rows = claims.ladder(here, {label: e.measurements for label, e in rungs.items()},
                                 interaction_test=interaction_test, by_family=by_family)
            per_rung = {label: claims.verdicts(here, e.measurements, by_family) for label, e in rungs.items()}
            for i, (claim, row) in enumerate(zip(here, rows)):
                mine.append({"paper": p, "id": claim.id, "where": claim.where, "chapter": chapter,
                            "words": claim.words, "verdict": row.verdict, "interaction_p": row.interaction_p,
                            "rungs": {label: {"verdict": per_rung[label][i].verdict,
                                              "measured": per_rung[label][i].measured,
                                              "arms": rungs[label].health(claim.measure)}
                                      for label in rungs}})
        order = {c.id: k for k, c in enumerate(registry)}
        out += sorted(mine, key=lambda r: order[r["id"]])
    return out


def replay(name: str, paper: str | None = None, made: Mapping | None = None) -> list[dict]:
    """:func:`report` as the registry stood before the change whose replay is ``name``
    (:data:`i2vlib.claims.log.REPLAYS`): today's records judged by the rules as they were then. ``made``: an
    :func:`evidence_of` ``paper`` to reuse (the replay of the health checks makes its own, without health)."""
    check_names([name], log.REPLAYS, "replay")
    if name == "no health checks":
        return report(made=evidence_of(paper, health=False))
    if name == "attention as a gate":
        with health.gating("attention"):
            return report(made=evidence_of(paper))
    if name == "no identity check":
        with health.gating(ungated=["identity"]):
            return report(made=evidence_of(paper))
    made = evidence_of(paper) if made is None else made
    if name == "any difference":
        return report(made=made, interaction_test=False)
    if name == "one family per chapter":
        return report(made=made, by_family=False)
    return report(made=made, rules=log.replay_rules(name, [c for p in made for c in claims.registry(p)]))


def log_rows(made: Mapping | None = None) -> list[dict]:
    """The registry log (:data:`i2vlib.claims.log.CHANGES`) as table rows, each with what the change did to today's
    verdicts: the records judged as before it (:func:`replay`) against :func:`report`, claim by claim."""
    made = evidence_of() if made is None else made
    now = {(r["paper"], r["id"]): r["verdict"] for r in report(made=made)}
    out = []
    for c in log.CHANGES:
        effect = "nothing to replay"
        if c.replay:
            then = {(r["paper"], r["id"]): r["verdict"] for r in replay(c.replay, made=made)}
            moved = [f"{SHORT[p]} {i}: {then[p, i]}, now {v}" for (p, i), v in now.items() if then[p, i] != v]
            effect = (f"judged as before it, {len(moved)} of {len(now)} verdicts differ"
                      + (": " + "; ".join(moved) if moved else ""))
        out.append({"date": c.date, "commit": c.commit or "this one", "change": f"{c.kind}: {c.what}",
                    "records then": "yes" if c.records else "no", "why": c.why, "today's records as before it": effect})
    return out


def claim_log() -> dict[str, int]:
    """How many claims were fixed before any record of the runs they judge, in the same commit as them, or after,
    and how many of their rules changed after they were fixed (:func:`i2vlib.claims.log.history`)."""
    entries = log.history().values()
    return {"claims": len(entries),
            **{f"records {k}": sum(e["records"] == k for e in entries) for k in ("none", "same commit", "before")},
            "changed later": sum(len(e["rules"]) > 1 for e in entries)}


def counts(rows: list[dict]) -> dict[str, dict[str, int]]:
    """``{paper: {verdict: how many claims}}`` of a :func:`report`, every verdict present."""
    out = {}
    for r in rows:
        out.setdefault(r["paper"], dict.fromkeys(claims.VERDICTS, 0))[r["verdict"]] += 1
    return out


def rung_counts(rows: list[dict]) -> dict[str, dict[str, dict[str, int]]]:
    """``{paper: {rung: {verdict: how many claims}}}`` of a :func:`report`: each rung judged on its own (``"zoo"``
    for the claims on shipped models), every verdict present."""
    out = {}
    for r in rows:
        for label, rung in r["rungs"].items():
            at = out.setdefault(r["paper"], {}).setdefault(label, dict.fromkeys(claims.VERDICTS, 0))
            at[rung["verdict"]] += 1
    return {p: dict(sorted(by.items(), key=lambda kv: (kv[0] == "zoo", kv[0].isdigit() and int(kv[0]))))
            for p, by in out.items()}


UNTESTED = {"unhealthy": "an arm fails its health checks", "unrecorded": "an arm is not recorded yet",
            "unmeasurable": "the benchmark cannot measure it (a user study, data it does not have)"}


def why_not_tested(rows: list[dict]) -> dict[str, int]:
    """How many claims are not tested at any rung, by why (:data:`UNTESTED`'s keys); an unhealthy arm at one rung
    and an unrecorded one at another counts as unhealthy."""
    out = dict.fromkeys(UNTESTED, 0)
    for r in rows:
        if r["verdict"] == claims.NOT_TESTED:
            said = " ".join(rung["measured"] for rung in r["rungs"].values())
            out["unhealthy" if " fails " in said else "unrecorded" if "not recorded" in said else "unmeasurable"] += 1
    return out


def text(rows: list[dict]) -> str:
    """A report as lines a terminal shows: the counts per paper, then one line per claim with its rungs' verdicts."""
    lines = []
    for paper, c in counts(rows).items():
        lines.append(f"{paper}: " + ", ".join(f"{n} {v}" for v, n in c.items() if n))
    for r in rows:
        at = "; ".join(f"x{label}: {rung['verdict']}" if label != "zoo" else f"zoo: {rung['verdict']}"
                       for label, rung in r["rungs"].items())
        lines.append(f"{r['paper']:9s} {r['id']:42s} {r['verdict']:16s} {at}")
    return "\n".join(lines)
