"""The papers' claims and the one function family that gives them verdicts.

Each paper has one module of claims (:mod:`.affinegan`, :mod:`.fan`, :mod:`.frgan`) holding the list ``CLAIMS``:
what the paper says and where, which measurement a chapter supplies for it, and the verdict
rule with its threshold, written down before the run. A chapter measures, passes its numbers
to :func:`table` (or :func:`verdicts`) and glues :func:`counts`; no verdict is chosen in a
chapter cell.

A measurement's shape is fixed by its claim's rule (:mod:`.rules`, re-exported here with :mod:`.stats`); a chapter that
cannot measure a claim (a folder of real videos has no true intensities) passes :class:`NotTested`
with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from ..errors import I2VError, check_names
from . import affinegan, fan, frgan
from .claim import CHOICE_DATA, PAPERS, Choice, Claim
from .rules import (ALPHA, BORDERLINE, BUDGET_DEPENDENT, CONTRADICTED, INCONCLUSIVE, NOT_REPRODUCED, NOT_TESTED,
                    PARTLY, REPRODUCED, VERDICTS, AtLeast, AtMost, Better, Between, NotTested, Ratio, Rule, spread, untested)
from .stats import Effect, holm, interaction, mean_interval, welch

class Row(NamedTuple):
    """One line of a claims table; on a ladder, ``interaction_p`` is the test of whether the claim's effect differs
    between the budgets (:func:`ladder`)."""

    claim: Claim
    measured: str
    rule: str
    verdict: str
    interaction_p: float | None = None


_MODULES = {"affinegan": affinegan, "fan": fan, "frgan": frgan}


def registry(paper: str) -> list[Claim]:
    """The claims of ``paper`` (``affinegan``, ``fan``, ``frgan``), from ``i2vlib/claims/<paper>.py``."""
    (paper,) = check_names([paper], PAPERS, "paper")
    claims = list(_MODULES[paper].CLAIMS)
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids) or any(c.paper != paper for c in claims):
        raise ValueError(f"{paper}: claim ids must be unique and every claim's paper {paper!r}")
    return claims


def choices(paper: str) -> list[Choice]:
    """The recipe choices behind the measurements of ``paper``'s claims (``CHOICES`` of its module)."""
    (paper,) = check_names([paper], PAPERS, "paper")
    out = list(_MODULES[paper].CHOICES)
    if any(not isinstance(c, Choice) or c.data not in CHOICE_DATA for c in out):
        raise ValueError(f"{paper}: every choice must be a Choice whose data is one of {', '.join(CHOICE_DATA)}")
    return out


def _claims(paper) -> list[Claim]:
    return registry(paper) if isinstance(paper, str) else list(paper)


def expected(paper) -> dict[str, str]:
    """``{measure: the shape a chapter supplies}`` for the claims of ``paper`` (or a list of claims)."""
    return {c.measure: c.rule.expects for c in _claims(paper)}


_FAMILY = re.compile(r"(Table\s*\d+|Fig\.\s*\d+|§\s*\d+(?:\.\d+)?)")
# How the comparative claims are grouped into Holm families: by the protocol table whose runs they compare (protocol
# v2), by the table, figure or section of the paper their ``where`` names first (v1, 2026-11-27), or one family for
# every claim judged together (a chapter's, before 2026-11-27).
FAMILIES = ("table", "where", "all")


def family(claim: Claim, families: str = "table") -> str:
    """The Holm family of a comparative claim (:data:`FAMILIES`). Under protocol v2 the protocol table its measurement
    reads (one family per table of the experiment and rung: every comparison of an ablation set, or of a paper's
    table with its baselines, judged together); ``"where"``: the table, figure or section its ``where`` names first
    (``where_family`` where set), e.g. "Table 2" for "Table 2, §4.1.3"; ``"all"``: one family."""
    if families == "table":
        return claim.measurement.table
    if families == "all":
        return ""
    if claim.where_family:
        return claim.where_family
    found = _FAMILY.search(claim.where)
    return " ".join(found.group(1).split()) if found else claim.where


def verdicts(paper, measurements: Mapping, families: str = "table") -> list[Row]:
    """One :class:`Row` per claim of ``paper`` (a paper's name, or a list of claims), judged on
    ``measurements`` ({measure: measurement}); keys no claim uses are ignored. The p-values of the comparative claims
    of one :func:`family` are Holm-adjusted together (:class:`~.rules.Better`); ``families`` chooses how
    (:data:`FAMILIES`; the registry log's replays use the earlier ones)."""
    claims = _claims(paper)
    if not isinstance(measurements, Mapping):
        raise I2VError(f"measurements should be a dict keyed by measure, got {type(measurements).__name__}")
    missing = [c for c in claims if c.measure not in measurements]
    if missing:
        raise I2VError("no measurement for " + "; ".join(f"{c.measure!r} (claim {c.id!r}, {c.where}: {c.rule.expects})"
                                                           for c in missing)
                       + "; pass NotTested('why') for a claim this run cannot measure")
    tested: dict[str, dict[str, float]] = {}   # {family: {claim: p}}, each family's p-values adjusted together (Holm)
    for c in claims:
        p = _checked(c, lambda: c.rule.p_value(measurements[c.measure]))
        if p is not None:
            tested.setdefault(family(c, families), {})[c.id] = p
    adjusted = {cid: q for ps in tested.values() for cid, q in zip(ps, holm(list(ps.values())))}
    rows = []
    for c in claims:
        within = {"p_adjusted": adjusted[c.id]} if c.id in adjusted else {}
        verdict, shown = _checked(c, lambda: c.rule.assess(measurements[c.measure], **within))
        rows.append(Row(c, shown, c.rule.describe(), verdict))
    return rows


def families_of(paper, families: str = "table") -> dict[str, list[str]]:
    """``{family: the ids of its comparative claims}`` of ``paper`` (a paper's name, or a list of claims)."""
    out: dict[str, list[str]] = {}
    for c in _claims(paper):
        if isinstance(c.rule, Better):
            out.setdefault(family(c, families), []).append(c.id)
    return out


# How a claim judged at several budgets reads (the registry log's replays use the earlier rules).
RUNG_RULES = {
    "v2": "A claim judged at several budgets reads a verdict only where every budget that tested it gives that "
          "verdict. Where they differ, it reads *budget-dependent* if its effect differs between the smallest and the "
          "largest of them (Welch's test of the difference of the two effects, p < 0.05), and *inconclusive* "
          "otherwise: the seeds do not tell a change with the budget from noise. A budget at which a gate failed "
          "or an arm is not recorded tests nothing and does not vote. Fixed with protocol v2, before its "
          "confirmatory round.",
    "most seeds": "Where the budgets' verdicts differ and the effect does not differ between them (p >= 0.05), the "
                  "verdict of the budget with the most seeds (at a tie, the larger); budget-dependent where it does "
                  "(2026-11-27 to protocol v2).",
    "any difference": "Budget-dependent wherever the budgets' verdicts differ (2026-11-25 to 2026-11-27).",
}
LADDER_RULE = RUNG_RULES["v2"]


def ladder(paper, rungs: Mapping, rung_rule: str = "v2", families: str = "table") -> list[Row]:
    """One :class:`Row` per claim of ``paper`` judged at every rung of a budget ladder, ``rungs`` = {the rung's label
    (e.g. "1000 steps, 5 seeds"): measurements} from the smallest budget up, each rung with its own Holm families
    (:func:`verdicts`). A row shows each rung's measurement and verdict and judges by ``rung_rule``
    (:data:`RUNG_RULES`): where the rungs that tested the claim agree, their verdict; where they differ,
    "budget-dependent" if the effect differs between the first and the last of them (:func:`~.stats.interaction`,
    p < :data:`ALPHA`), else "inconclusive" (v2). One rung gives :func:`verdicts`'s rows."""
    if not isinstance(rungs, Mapping) or not rungs:
        raise I2VError("a ladder needs at least one rung: {label: measurements}")
    check_names([rung_rule], tuple(RUNG_RULES), "rung rule")
    judged = {label: verdicts(paper, m, families) for label, m in rungs.items()}
    if len(judged) == 1:
        return next(iter(judged.values()))
    rows = []
    for i, claim in enumerate(_claims(paper)):
        at = {label: rows_[i] for label, rows_ in judged.items()}
        tested = [label for label, r in at.items() if r.verdict != NOT_TESTED]
        shown = "; ".join(f"{label}: {r.measured} ({r.verdict})" for label, r in at.items())
        if len({(r.measured, r.verdict) for r in at.values()}) == 1:    # one measurement read at every rung
            shown = f"{next(iter(at.values())).measured} (one measurement, read at every budget)"
        p = None
        if not tested:
            verdict = NOT_TESTED
        elif len({at[label].verdict for label in tested}) == 1:
            verdict = at[tested[0]].verdict
        elif rung_rule == "any difference":
            verdict = BUDGET_DEPENDENT
        else:
            effects = {label: _checked(claim, lambda: claim.rule.effect(rungs[label][claim.measure]))
                       for label in tested}
            p = interaction(effects[tested[0]], effects[tested[-1]])
            if p is not None and p < ALPHA:
                verdict = BUDGET_DEPENDENT
                shown += f"; the effect differs between budgets (interaction p = {p:.2g})"
            elif rung_rule == "v2":
                verdict = INCONCLUSIVE
                shown += ("; the verdicts differ but the effect does not differ between budgets "
                          + ("(no spread to test)" if p is None else f"(interaction p = {p:.2g})"))
            else:
                most = max(reversed(tested), key=lambda label: effects[label].seeds)
                verdict = at[most].verdict
                shown += ("; the effect does not differ between budgets "
                          + ("(no spread to test)" if p is None else f"(interaction p = {p:.2g})")
                          + f": the verdict at {most}, with the most seeds")
        rows.append(Row(claim, shown, claim.rule.describe(), verdict, p))
    return rows


def _checked(claim: Claim, judge):
    try:
        return judge()
    except I2VError as e:
        raise I2VError(f"claim {claim.id!r} ({claim.where}), measurement {claim.measure!r}: {e}") from None


def counts(rows) -> dict[str, int]:
    """How many rows have each verdict, every verdict word present (for a chapter to glue)."""
    out = dict.fromkeys(VERDICTS, 0)
    for row in rows:
        out[row.verdict] += 1
    return out


def markdown_cell(text: str) -> str:
    """``text`` as one cell of a Markdown table: one line, its bars escaped."""
    return " ".join(str(text).split()).replace("|", r"\|")


def rows_of(paper, measurements: Mapping | None = None, rungs: Mapping | None = None) -> list[Row]:
    """The rows of ``paper``'s claims for one set of ``measurements`` (:func:`verdicts`) or for the ``rungs`` of a
    budget ladder (:func:`ladder`): exactly one of the two."""
    if (measurements is None) == (rungs is None):
        raise I2VError("pass the measurements of one budget or the rungs of a ladder, not both or neither")
    return verdicts(paper, measurements) if rungs is None else ladder(paper, rungs)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def table(paper, measurements: Mapping | None = None, rungs: Mapping | None = None) -> str:
    """The claims table of ``paper`` as Markdown, one row per claim (:func:`rows_of`): where, the paper's words, how
    we measure it, our measurement and the verdict, which names its rule; each distinct rule is written once, in a
    numbered list below the table. Then the recipe choices behind its measurements and the data each looked at
    (:func:`choices`)."""
    head = "| where | the paper says | we measure | our measurement | verdict (rule) |\n| --- | --- | --- | --- | --- |"
    rows = rows_of(paper, measurements, rungs)
    rules = list(dict.fromkeys(r.rule for r in rows))
    cell = markdown_cell
    lines = [f"| {cell(r.claim.where)} | {cell(r.claim.words)} | {cell(r.claim.measured_as)} | {cell(r.measured)} | "
             f"{r.verdict} (rule {rules.index(r.rule) + 1}) |" for r in rows]
    if rules:
        parts = [next(r.claim.rule.parts() for r in rows if r.rule == rule) for rule in rules]
        lines += ["", "The rules, each written with its claim:", ""]
        lines += [f"{k}. {cell(head)}" for k, (head, _) in enumerate(parts, 1)]
        shared = {}                                   # each shared clause once, with the rules it applies to
        for k, (_, clause) in enumerate(parts, 1):
            if clause:
                shared.setdefault(clause, []).append(str(k))
        lines += [""] + [f"Rule{'s' if len(ks) > 1 else ''} {_listed(ks)}: {cell(clause)}."
                         for clause, ks in shared.items()] if shared else []
    made = choices(rows[0].claim.paper) if rows else []
    if made:
        lines += ["", "Recipe choices made after looking at measurements, and the identities they looked at (a choice "
                      "made on the test identities may flatter the claims measured on them):", ""]
        lines += [f"- {cell(c.what)} ({cell(c.study)}): **{c.data}**" for c in made]
    return "\n".join([head, *lines])


from . import evidence, health, measurement  # noqa: E402  (chapters reach them as i2v.claims.*)

__all__ = ["evidence", "health", "measurement", "PAPERS", "VERDICTS", "REPRODUCED", "BORDERLINE", "PARTLY",
           "NOT_REPRODUCED", "CONTRADICTED", "NOT_TESTED", "BUDGET_DEPENDENT", "INCONCLUSIVE", "ladder", "LADDER_RULE",
           "RUNG_RULES", "FAMILIES", "interaction", "Effect", "rows_of", "NotTested", "untested", "Rule", "AtLeast",
           "AtMost", "Between", "Ratio", "Better", "Claim", "Choice", "CHOICE_DATA", "Row", "registry", "choices",
           "expected", "verdicts", "family", "families_of", "counts", "table", "markdown_cell", "spread", "welch",
           "holm", "mean_interval", "ALPHA"]
