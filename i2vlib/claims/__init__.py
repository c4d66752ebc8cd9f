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

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import I2VError, check_names
from .rules import (ALPHA, BORDERLINE, BUDGET_DEPENDENT, CONTRADICTED, NOT_REPRODUCED, NOT_TESTED, PARTLY, REPRODUCED,
                    VERDICTS, AtLeast, AtMost, Better, Between, NotTested, Ratio, Rule, spread, untested)
from .stats import Effect, holm, interaction, mean_interval, welch

PAPERS = ("affinegan", "fan", "frgan")
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_KEY = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, with the measurement that tests it and the rule that judges it.

    ``measure`` is the key of the measurement the chapter supplies (its shape: ``rule.expects``);
    ``measured_as`` says in one sentence how it is measured and in what units; ``chapter`` is the
    notebook that supplies it (``notebooks/<chapter>.ipynb``); ``family`` names its Holm family where the first place
    of ``where`` does not (:func:`family`).
    """

    id: str
    paper: str
    where: str
    words: str
    measure: str
    measured_as: str
    rule: Rule
    chapter: str
    family: str = ""

    def __post_init__(self):
        for name in ("id", "paper", "where", "words", "measure", "measured_as", "chapter"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"claim {self.id!r}: {name} must be a non-empty string")
        if not _SLUG.fullmatch(self.id) or not _KEY.fullmatch(self.measure):
            raise ValueError(f"claim {self.id!r}: the id must be a slug and the measure a plain name")
        if self.paper not in PAPERS:
            raise ValueError(f"claim {self.id!r}: unknown paper {self.paper!r}")
        if not isinstance(self.rule, Rule):
            raise ValueError(f"claim {self.id!r}: the rule must be a Rule")


class Choice(NamedTuple):
    """A recipe choice the book made after looking at measurements, which the paper's claims tables disclose:
    ``what`` was chosen over what, by ``study`` (the module or chapter that measured it), looking at ``data``
    (one of :data:`CHOICE_DATA`). A choice made on the test identities may flatter claims measured on them."""

    what: str
    study: str
    data: str


CHOICE_DATA = ("validation identities", "test identities")


class Row(NamedTuple):
    """One line of a claims table; on a ladder, ``interaction_p`` is the test of whether the claim's effect differs
    between the budgets (:func:`ladder`)."""

    claim: Claim
    measured: str
    rule: str
    verdict: str
    interaction_p: float | None = None


def registry(paper: str) -> list[Claim]:
    """The claims of ``paper`` (``affinegan``, ``fan``, ``frgan``), from ``i2vlib/claims/<paper>.py``."""
    (paper,) = check_names([paper], PAPERS, "paper")
    name = f"{__name__}.{paper}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        raise I2VError(f"no claims registered for {paper} yet ({name} does not exist)") from None
    claims = list(module.CLAIMS)
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids) or any(c.paper != paper for c in claims):
        raise ValueError(f"{name}: claim ids must be unique and every claim's paper {paper!r}")
    return claims


def choices(paper: str) -> list[Choice]:
    """The recipe choices behind the measurements of ``paper``'s claims (``CHOICES`` of its module)."""
    registry(paper)
    out = list(importlib.import_module(f"{__name__}.{paper}").CHOICES)
    if any(not isinstance(c, Choice) or c.data not in CHOICE_DATA for c in out):
        raise ValueError(f"{paper}: every choice must be a Choice whose data is one of {', '.join(CHOICE_DATA)}")
    return out


def _claims(paper) -> list[Claim]:
    return registry(paper) if isinstance(paper, str) else list(paper)


def expected(paper) -> dict[str, str]:
    """``{measure: the shape a chapter supplies}`` for the claims of ``paper`` (or a list of claims)."""
    return {c.measure: c.rule.expects for c in _claims(paper)}


_FAMILY = re.compile(r"(Table\s*\d+|Fig\.\s*\d+|§\s*\d+(?:\.\d+)?)")


def family(claim: Claim) -> str:
    """The Holm family of a comparative claim: the table, figure or section of its paper that its ``where`` names first
    (its own place; a later one is where the paper also shows it), e.g. "Table 2" for "Table 2, §4.1.3" and "§4.4"
    for "§4.4; Table 1". The comparisons of one family are judged together, as the paper groups them."""
    if claim.family:
        return claim.family
    found = _FAMILY.search(claim.where)
    return " ".join(found.group(1).split()) if found else claim.where


def verdicts(paper, measurements: Mapping, by_family: bool = True) -> list[Row]:
    """One :class:`Row` per claim of ``paper`` (a paper's name, or a list of claims), judged on
    ``measurements`` ({measure: measurement}); keys no claim uses are ignored. The p-values of the comparative claims
    of one :func:`family` (one table or figure of the paper) are Holm-adjusted together (:class:`~.rules.Better`);
    ``by_family=False`` adjusts all of them together, the rule before 2026-11-27 (:mod:`.log`: one family per
    chapter)."""
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
            tested.setdefault(family(c) if by_family else "", {})[c.id] = p
    adjusted = {cid: q for ps in tested.values() for cid, q in zip(ps, holm(list(ps.values())))}
    rows = []
    for c in claims:
        within = {"p_adjusted": adjusted[c.id]} if c.id in adjusted else {}
        verdict, shown = _checked(c, lambda: c.rule.assess(measurements[c.measure], **within))
        rows.append(Row(c, shown, c.rule.describe(), verdict))
    return rows


def families(paper) -> dict[str, list[str]]:
    """``{family: the ids of its comparative claims}`` of ``paper`` (a paper's name, or a list of claims)."""
    out: dict[str, list[str]] = {}
    for c in _claims(paper):
        if isinstance(c.rule, Better):
            out.setdefault(family(c), []).append(c.id)
    return out


LADDER_RULE = (
    "A claim judged at several budgets reads *budget-dependent* only when its verdicts there differ **and** its effect "
    "differs between the budgets: Welch's test of the difference of the two effects (the difference of two arms' "
    "means, or a mean), p < 0.05. Otherwise its verdict is the one at the budget with the most seeds (at equal seeds, "
    "the larger budget), and the other budget's measurement stands beside it. This rule was fixed on 2026-11-27, "
    "after both budgets had been recorded; before it, any two differing verdicts read budget-dependent.")


def ladder(paper, rungs: Mapping, interaction_test: bool = True, by_family: bool = True) -> list[Row]:
    """One :class:`Row` per claim of ``paper`` judged at every rung of a budget ladder, ``rungs`` = {the rung's label
    (e.g. "1000 steps, 5 seeds"): measurements} from the smallest budget up, each rung with its own Holm families
    (:func:`verdicts`). A row shows each rung's measurement and verdict and judges by :data:`LADDER_RULE`: where the
    rungs that tested the claim agree, their verdict; where they differ, "budget-dependent" if the effect differs
    between the first and the last of them (:func:`~.stats.interaction`, p < :data:`ALPHA`), else the verdict of
    the rung with the most seeds (the later at a tie). One rung gives :func:`verdicts`'s rows.
    ``interaction_test=False`` replays the rule of 2026-11-25 to 2026-11-27 (:mod:`.log`): budget-dependent wherever
    the verdicts differ; ``by_family`` as :func:`verdicts`."""
    if not isinstance(rungs, Mapping) or not rungs:
        raise I2VError("a ladder needs at least one rung: {label: measurements}")
    judged = {label: verdicts(paper, m, by_family) for label, m in rungs.items()}
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
        elif not interaction_test:
            verdict = BUDGET_DEPENDENT
        else:
            effects = {label: _checked(claim, lambda: claim.rule.effect(rungs[label][claim.measure]))
                       for label in tested}
            p = interaction(effects[tested[0]], effects[tested[-1]])
            if p is not None and p < ALPHA:
                verdict = BUDGET_DEPENDENT
                shown += f"; the effect differs between budgets (interaction p = {p:.2g})"
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


from . import evidence, health  # noqa: E402  (they use the rules above; chapters reach them as i2v.claims.*)

__all__ = ["evidence", "health", "PAPERS", "VERDICTS", "REPRODUCED", "BORDERLINE", "PARTLY", "NOT_REPRODUCED", "CONTRADICTED", "NOT_TESTED",
           "BUDGET_DEPENDENT", "ladder", "LADDER_RULE", "interaction", "Effect", "rows_of",
           "NotTested", "untested", "Rule", "AtLeast", "AtMost", "Between", "Ratio", "Better", "Claim", "Choice",
           "CHOICE_DATA",
           "Row", "registry", "choices", "expected", "verdicts", "family", "families", "counts", "table", "markdown_cell", "spread", "welch", "holm",
           "mean_interval", "ALPHA"]
