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

import hashlib
import json
import math
import sys
from collections.abc import Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from functools import cache
from pathlib import Path

from .. import claims
from ..claims import evidence, health, log, reasons
from ..clip_record import EXPRESSIONS
from ..errors import ArgumentParser, check_names, command_line
from ..evaluate import test_clips
from ..evaluate.ablation import transfer_strength
from ..io import write_json
from ..protocol import gates, references
from ..claims.declaration import protocol_id, record_protocols
from ..protocol.tables import RECORD_ROUND, ROUNDS, TABLES
from ..runs import load
from ..version import __version__
from ..zoo import HERE as ZOO
from ..zoo import names, recipe, record
from .ablations import ladder, measure_options
from . import store, why
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


# The tables each chapter's claims read (a chapter of shipped models reads none).
CHAPTER_TABLES = {"affinegan/ablations": ("affinegan",), "affinegan/training": (), "fan/ablations": ("fan",),
                  "frgan/ablations": ("frgan",), "frgan/pose": ("frgan-pose",),
                  "baselines/baselines": ("fan-baselines", "affinegan-baselines", "frgan-baselines",
                                          "frgan-pose-baselines")}
assert set(TABLES) == {f"{p}-baselines" for p in ("fan", "affinegan", "frgan", "frgan-pose")}
assert set(CHAPTER_TITLES) == set(CHAPTER_TABLES)


def table_runs(table: str, round: str = RECORD_ROUND) -> dict[int, tuple[tuple[int, ...], dict]]:
    """``{multiple: (seeds, runs)}`` of every rung of ``table``'s ladder recorded so far in ``round`` (nothing
    trained)."""
    return {m: (seeds, runs) for (m, seeds), runs in
            ladder(table, PROFILE, progress=False, train=False, round=round).items()}


ZOO_UNSEEDED = ("it rests on one shipped model of the zoo, not on seeds: the confirmatory round judges fresh seeds "
                "only")


def chapter_context(chapter: str) -> dict:
    """What ``chapter``'s claims read beside the runs (:func:`i2vlib.claims.measurement.measure`): FRGAN's protocol
    references (the truth's and copying's scores) and motion thirds, shipped with the references
    (:mod:`i2vlib.protocol.references`), and the measurements on the zoo's shipped models (Fan et al.'s transfer,
    renders ``zoo:fan-joint``'s frames: a few seconds; AffineGAN's unified model)."""
    if chapter in ("frgan/ablations", "baselines/baselines"):
        refs = references.recorded()["retarget"]
        return {"retarget": {name: refs[name]["fitted"] for name in ("truth", "copy")}, "third": refs["third"]}
    if chapter == "fan/ablations":
        return {"zoo": {"transfer_rho": _transfer_rho()}}
    if chapter == "affinegan/training":
        shipped = set(names())
        experts = {e: record(f"affinegan-{e}")["scores"] for e in EXPRESSIONS if f"affinegan-{e}" in shipped}
        unified = record("affinegan-all")["scores"] if "affinegan-all" in shipped else None
        return {"zoo": evidence.affinegan_unified(experts, unified)}
    return {}


@cache
def _transfer_rho():
    if "fan-joint" not in names():
        return claims.NotTested("needs the zoo's joint model")
    joint = load("zoo:fan-joint")
    faces = test_clips(joint, "linear", n=measure_options("fan", PROFILE)["videos"], frames=16, seed=0,
                       expressions=["happy"])
    rho = transfer_strength(joint, faces)["rho"]
    return rho if math.isfinite(rho) else claims.NotTested("the instrument read no expression in the transferred "
                                                           "frames")


def evidence_of(round: str = RECORD_ROUND, gating: str = "v2",
                changed: Mapping | None = None, zoo: Mapping | None = None) -> dict[str, dict[str, evidence.Evidence]]:
    """``{chapter: {rung: Evidence}}`` of ``round``'s records, as each chapter makes it (a rung is named by its
    multiple of the budget, ``"zoo"`` for a chapter of shipped models). For the registry log's replays: ``gating``
    and ``changed`` as :func:`i2vlib.claims.evidence.chapter`, ``zoo`` more measurements on shipped models. Each
    Evidence's ``seed_ids`` holds the seeds of each table."""
    out = {}
    for chapter, tables_ in CHAPTER_TABLES.items():
        context = chapter_context(chapter)
        context["zoo"] = {**context.get("zoo", {}), **(zoo or {})}
        if round != "exploratory":        # a claim on shipped models has no seeds: no round of fresh ones judges it
            context["zoo"] = {k: claims.NotTested(ZOO_UNSEEDED) for k in context["zoo"]}
        context.update(gating=gating, changed=changed)
        if not tables_:
            out[chapter] = {"zoo": evidence.chapter(chapter, {}, **context)}
            continue
        by_rung: dict[int, dict] = {m: {t: (seeds, {}) for t in tables_} for m, seeds in ROUNDS[round]["rungs"]}
        for table in tables_:                    # every declared rung: one nothing is recorded at tests nothing
            for m, (seeds, runs) in table_runs(table, round).items():
                by_rung[m][table] = (seeds, runs)
        out[chapter] = {}
        for m in sorted(by_rung):
            e = evidence.chapter(chapter, {t: runs for t, (_, runs) in by_rung[m].items()}, **context)
            e.seed_ids = {t: list(seeds) for t, (seeds, _) in by_rung[m].items()}
            out[chapter][str(m)] = e
    return out


def report(paper: str | None = None, made: Mapping | None = None, rules: Mapping | None = None,
           rung_rule: str = "v2", families: str = "table") -> list[dict]:
    """One dict per claim of ``paper`` (default: every paper), judged from ``made`` (an :func:`evidence_of`; default:
    the round of record's). For a replay of the registry log (:mod:`i2vlib.claims.log`): ``rules`` ({"paper/id":
    Rule}) judges those claims by another rule, ``rung_rule`` and ``families`` as :func:`i2vlib.claims.ladder`."""
    made = evidence_of() if made is None else made
    papers = claims.PAPERS if paper is None else check_names([paper], claims.PAPERS, "paper")
    rules = rules or {}
    out = []
    for p in papers:
        registry, mine = claims.registry(p), []
        for chapter, rungs in made.items():
            here = [replace(c, rule=rules[f"{p}/{c.id}"]) if f"{p}/{c.id}" in rules else c
                    for c in registry if c.chapter == chapter]
            if not here:
                continue
            rows = claims.ladder(here, {label: e.measurements for label, e in rungs.items()}, rung_rule, families)
            per_rung = {label: claims.verdicts(here, e.measurements, families) for label, e in rungs.items()}
            for i, (claim, row) in enumerate(zip(here, rows)):
                mine.append({"paper": p, "id": claim.id, "where": claim.where, "chapter": chapter,
                             "words": claim.words, "verdict": row.verdict, "interaction_p": row.interaction_p,
                             "rungs": {label: {"verdict": per_rung[label][i].verdict,
                                               "measured": per_rung[label][i].measured,
                                               "arms": _arms(rungs[label], claim)}
                                       for label in rungs}})
        order = {c.id: k for k, c in enumerate(registry)}
        out += sorted(mine, key=lambda r: order[r["id"]])
    return out


def _arms(e: evidence.Evidence, claim) -> dict:
    """``{arm: {"seeds", "healthy", "seed_ids"}}`` of the arms ``claim`` rests on at one rung."""
    seeds = getattr(e, "seed_ids", {}).get(claim.measurement.table, [])
    return {arm: {**h, "seed_ids": seeds[:h["seeds"]]} for arm, h in e.health(claim.measure).items()}


SNAPSHOT = Path(__file__).with_name("verdicts.json")
# The code that shapes the report beyond the protocol's (whose id covers how claims are measured and judged): this
# module, the declared reasons and their checks.
REPORT_CODE = (Path(__file__), Path(why.__file__), Path(reasons.__file__))


def state() -> str:
    """A digest of everything :func:`snapshot` is computed from: the protocol's id, the records' and the zoo's files
    (their contents), the code of the report and the library's version."""
    h = hashlib.sha256(json.dumps([protocol_id(), __version__]).encode())
    for f in [*sorted(store.RECORDS.glob("*.json")), *sorted(ZOO.glob("*.pt")), *REPORT_CODE]:
        h.update(f.name.encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def snapshot() -> dict:
    """Every claim's verdicts (:func:`claims_json`), the robustness of the verdicts of record
    (:func:`robustness`) and the registry log's rows with their replays (:func:`log_rows`), computed from the records
    (a minute or two), with the :func:`state` they were computed from."""
    made, exploratory = evidence_of(RECORD_ROUND), evidence_of("exploratory")
    robust = robustness(made, exploratory)
    return {"state": state(), **claims_json(made=made, exploratory=exploratory),
            "robustness": [{"paper": p, "id": i, **v} for (p, i), v in robust.items()],
            "log": log_rows(exploratory)}


def current(say=None) -> dict:
    """The :func:`snapshot` shipped in :data:`SNAPSHOT` where the records, the protocol and the code are what it was
    computed from (``i2v claims`` answers at once), else computed now (``say`` is told first)."""
    if SNAPSHOT.is_file():
        shipped = json.loads(SNAPSHOT.read_text())
        if shipped.get("state") == state():
            return shipped
    if say is not None:
        say("the records, the protocol or the report's code changed since i2vlib/records/verdicts.json was written: "
            "judging every claim anew (a minute or two; python -m i2vlib.records.verdicts writes it)")
    return snapshot()


def claims_json(paper: str | None = None, made: Mapping | None = None, exploratory: Mapping | None = None) -> dict:
    """What ``i2v claims --json`` prints: the protocol's id, the ids its records may carry (``records_under``:
    :func:`~i2vlib.claims.declaration.record_protocols`), the round of record, and every claim with its verdict in
    that round (:func:`report`), the rungs at which it waits for records (``waits_for``: its verdict is provisional
    until they are in), its reason where it is not reproduced (:func:`i2vlib.claims.reasons.reason`), and the
    exploratory round's verdict beside it. ``made`` and ``exploratory``: the two rounds' :func:`evidence_of`, where
    made already."""
    made = evidence_of(RECORD_ROUND) if made is None else made
    explored = evidence_of("exploratory") if exploratory is None else exploratory
    confirmatory = report(paper, made)
    exploratory = {(r["paper"], r["id"]): r for r in report(paper, explored)}
    ctx = why.Context({RECORD_ROUND: {(r["paper"], r["id"]): r for r in confirmatory}, "exploratory": exploratory},
                      {RECORD_ROUND: made, "exploratory": explored})
    rows = [{**r, "round": RECORD_ROUND, "waits_for": reasons.waits(r), **reasons.reason(r, why.declared(r, ctx)),
             "exploratory_verdict": exploratory[r["paper"], r["id"]]["verdict"],
             "exploratory_rungs": exploratory[r["paper"], r["id"]]["rungs"]} for r in confirmatory]
    return {"protocol": protocol_id(), "records_under": list(record_protocols()), "round": RECORD_ROUND,
            "claims": rows}


def replay(name: str, paper: str | None = None, made: Mapping | None = None, round: str = RECORD_ROUND) -> list[dict]:
    """:func:`report` as the registry stood before the change whose replay is ``name``
    (:data:`i2vlib.claims.log.REPLAYS`): ``round``'s records judged by the rules as they were then. ``made``: its
    :func:`evidence_of` to reuse (the replays of the gates make their own)."""
    check_names([name], log.REPLAYS, "replay")
    if name == "no health checks":
        return report(paper, made=evidence_of(round, gating="none"))
    if name in ("protocol v1 gates", "attention as a gate", "no identity check"):
        regate = {"attention as a gate": {"names": ["attention"]}, "no identity check": {"ungated": ["identity"]}}
        with health.gating(*regate.get(name, {}).get("names", ()), ungated=regate.get(name, {}).get("ungated", ())), \
                store.v1_health():
            return report(paper, made=evidence_of(round, gating="v1"))
    if name in ("raw ACD-I", "claims on the zoo model"):
        return report(paper, made=evidence_of(round, **_as_before(name)))
    if name in ("protocol v2 gates", "no graded gate"):
        with _without_gate("graded"), _without_gate("follows") if name == "protocol v2 gates" else nullcontext():
            return report(paper, made=evidence_of(round))
    made = evidence_of(round) if made is None else made
    if name == "any difference":
        return report(paper, made=made, rung_rule="any difference")
    if name == "protocol v1 rung rule":
        return report(paper, made=made, rung_rule="most seeds")
    if name == "protocol v1 families":
        return report(paper, made=made, families="where")
    if name == "one family per chapter":
        return report(paper, made=made, families="all")
    return report(paper, made=made, rules=log.replay_rules(name, [c for p in claims.PAPERS
                                                                  for c in claims.registry(p)]))


@contextmanager
def _without_gate(name: str):
    """Within it, the gate ``name`` gates no role (:data:`i2vlib.protocol.gates.GATES`): the gates as they were before
    it was added. The protocol's id is taken first: it hashes the gates as they are."""
    protocol_id()
    before = {m: dict(roles) for m, roles in gates.GATES.items()}
    for roles in gates.GATES.values():
        for role, kept in roles.items():
            roles[role] = tuple(g for g in kept if g.name != name)
    try:
        yield
    finally:
        for m, roles in before.items():
            gates.GATES[m].update(roles)


HEADLINE = ("self-reconstruction", "monotone-progress", "peak-at-one", "eq5-infers-intensity", "a-within-range")


def _as_before(name: str) -> dict:
    """The claims as they were measured before the change whose replay is ``name``: ACD-I compared raw, or
    AffineGAN's five claims on its own model measured on ``zoo:affinegan-happy`` alone (:func:`evidence_of`'s
    ``changed`` and ``zoo``)."""
    registry = [c for p in claims.PAPERS for c in claims.registry(p)]
    if name == "raw ACD-I":
        raw = {"acd_i_from_truth": ("acd_i",), "fitted_acd_i_from_truth": ("fitted", "acd_i")}
        return {"changed": {f"{c.paper}/{c.id}": replace(c, measurement=replace(
            c.measurement, extract="", path=raw[c.measurement.extract]))
            for c in registry if c.measurement.extract in raw}}
    with store.v1_health():
        head = measured([recipe("affinegan-happy")], "arm", train=False, **measure_options("affinegan", PROFILE))[0]
    sick = evidence.headline(head, "zoo:affinegan-happy") if head is not None else claims.NotTested(
        "zoo:affinegan-happy is not recorded")
    values = {"psnr_at_0": head and head.get("psnr_at_0"), "progress_rho": head and head.get("progress_rho"),
              "eq5_rho_per_video": head and head["inferred"]["rho_per_video"],
              "a_in_range": head and head["inferred"]["in_unit_range"]}
    zoo = {k: sick or evidence.one(v, k) for k, v in values.items()}
    zoo["peak_strength"] = sick or {"at_1": head["strength_at_1"], "true_peak": head["true_peak_strength"]}
    mine = [c for c in claims.registry("affinegan") if c.id in HEADLINE]
    return {"changed": {f"affinegan/{c.id}": replace(c, measurement=claims.measurement.Measurement(
        "zoo", path=(c.measure,))) for c in mine}, "zoo": zoo}


# Changes that a later change replaced in turn: their replays are compared with the replay of what they became
# (protocol v1's checks, rung rule and families; protocol v2's gates before 'graded'), not with today's rules, so that
# each entry shows its own effect.
SUPERSEDED = {"no health checks": "protocol v1 gates", "attention as a gate": "protocol v1 gates",
              "no identity check": "protocol v1 gates", "any difference": "protocol v1 rung rule",
              "one family per chapter": "protocol v1 families", "protocol v2 gates": "no graded gate"}


def log_rows(made: Mapping | None = None, round: str = "exploratory") -> list[dict]:
    """The registry log (:data:`i2vlib.claims.log.CHANGES`) as table rows, each with what the change did to the
    verdicts of ``round``'s records (the exploratory round's: the records that existed when the rules changed): the
    records judged as before it (:func:`replay`) against :func:`report`, claim by claim. ``made``: that round's
    :func:`evidence_of`."""
    made = evidence_of(round) if made is None else made
    today = {(r["paper"], r["id"]): r["verdict"] for r in report(made=made)}
    replayed: dict[str, dict] = {}

    def judged(name):
        if name not in replayed:
            replayed[name] = {(r["paper"], r["id"]): r["verdict"] for r in replay(name, made=made, round=round)}
        return replayed[name]

    out = []
    for c in log.CHANGES:
        effect = "nothing to replay"
        if c.replay:
            after = SUPERSEDED.get(c.replay)
            now, then = (today if after is None else judged(after)), judged(c.replay)
            word = "now" if after is None else "after it"
            moved = [f"{SHORT[p]} {i}: {then[p, i]}, {word} {v}" for (p, i), v in now.items() if then[p, i] != v]
            effect = (f"judged as before it, {len(moved)} of {len(now)} verdicts differ"
                      + (f" from what the rules after it gave, until a later change replaced them (replayed as "
                         f"{after!r})"
                         if after else "") + (": " + "; ".join(moved) if moved else ""))
        out.append({"date": c.date, "commit": c.commit or "this one", "change": f"{c.kind}: {c.what}",
                    "records then": "yes" if c.records else "no", "why": c.why, "today's records as before it": effect})
    return out


# The registry log's replays that judge the same records by another rule (a verdict rule, a band, the gates, the
# families, the rung rule, how ACD-I is compared): a claim is robust where every one of them, and the exploratory
# round, gives its verdict of record. "claims on the zoo model" judges other evidence (one shipped model), not the
# round's records by another rule, and is left out.
RULE_VARIANTS = tuple(name for name in log.REPLAYS if name != "claims on the zoo model")


def robustness(made: Mapping | None = None, exploratory: Mapping | None = None,
               round: str = RECORD_ROUND) -> dict[tuple[str, str], dict]:
    """``{(paper, id): {"verdict", "variants": {variant: verdict}, "robust"}}``: each claim's verdict of record
    (``round``'s records, ``made`` its :func:`evidence_of`) beside its verdict under every rule variant of
    :data:`RULE_VARIANTS` on the same records and its exploratory verdict (``exploratory``: that round's
    :func:`evidence_of`); robust where all agree. A claim not tested in the round is never robust."""
    made = evidence_of(round) if made is None else made
    exploratory = evidence_of("exploratory") if exploratory is None else exploratory
    verdict = {(r["paper"], r["id"]): r["verdict"] for r in report(made=made)}
    variants = {k: {} for k in verdict}
    for name in RULE_VARIANTS:
        for r in replay(name, made=made, round=round):
            variants[r["paper"], r["id"]][name] = r["verdict"]
    for r in report(made=exploratory):
        variants[r["paper"], r["id"]]["exploratory round"] = r["verdict"]
    return {k: {"verdict": v, "variants": variants[k],
                "robust": v != claims.NOT_TESTED and all(x == v for x in variants[k].values())}
            for k, v in verdict.items()}


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


def text(report_: dict) -> str:
    """What ``i2v claims`` prints: the protocol's id, how many verdicts are provisional, the counts per paper in the
    round of record, then one line per claim with both rounds' verdicts and its rungs'."""
    rows = report_["claims"]
    waiting = sum(bool(r["waits_for"]) for r in rows)
    lines = [f"protocol {report_['protocol']}; verdicts of the {report_['round']} round (the exploratory round's "
             f"beside them)" + (f"; {waiting} of {len(rows)} provisional: a rung of theirs waits for its records"
                                if waiting else "")]
    for paper, c in counts(rows).items():
        lines.append(f"{paper}: " + ", ".join(f"{n} {v}" for v, n in c.items() if n))
    for r in rows:
        at = "; ".join(f"x{label}: {rung['verdict']}" if label != "zoo" else f"zoo: {rung['verdict']}"
                       for label, rung in r["rungs"].items())
        waits = f" (provisional: x{', x'.join(r['waits_for'])} not recorded yet)" if r["waits_for"] else ""
        lines.append(f"{r['paper']:9s} {r['id']:40s} {r['verdict']:16s} (exploratory {r['exploratory_verdict']}) "
                     f"{at}{waits}")
    return "\n".join(lines)


@command_line("verdicts")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.records.verdicts",
                       description="judge every claim from the records and write i2vlib/records/verdicts.json, which "
                                   "i2v claims and the book read while the records are what it was computed from")
    p.parse_args(argv)
    write_json(SNAPSHOT, snapshot())
    print(f"verdicts: wrote {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
