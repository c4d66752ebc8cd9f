"""Why a claim is not reproduced: a reason from a declared set, with the evidence of a controlled check.

Every claim whose verdict of record is not "reproduced" carries one reason of :data:`REASONS`. Some follow from the
verdict itself (a gate failed, the benchmark cannot measure it, an arm is not recorded yet, the budgets disagree);
the others are declared per claim (:mod:`i2vlib.records.why`), each with the controlled check that backs it, run on
the records: the same comparison at a larger budget (the budget), the benchmark without the named difference (the
benchmark), the departure undone (the implementation), the paper's sentence read again (the reading).
"""

from __future__ import annotations

from .rules import BUDGET_DEPENDENT, INCONCLUSIVE, NOT_TESTED, REPRODUCED

REASONS = {
    "fails": "the paper's claim fails on this benchmark",
    "benchmark": "the benchmark differs from the paper's data in a way that decides the verdict",
    "budget": "the training budget decides the verdict",
    "departure": "an implementation departure decides the verdict",
    "reading": "the claim's reading of the paper",
    "gate": "a model the claim compares fails its gates",
    "unmeasurable": "the benchmark cannot measure it",
    "unrecorded": "a model it needs is not recorded yet",
    "seeds": "the seeds cannot tell the effect from noise (at a budget, or between the budgets)",
    "zoo": "it rests on one shipped model: a round of fresh seeds judges it on none",
}
UNRECORDED = "not recorded"     # what a rung says whose arm has no record yet (:mod:`i2vlib.claims.measurement`)


def waits(row: dict) -> list[str]:
    """The rungs (labels) of one claim of a report at which an arm is not recorded yet: its verdict rests on the
    other rungs until their records are in."""
    return [label for label, rung in row["rungs"].items()
            if rung["verdict"] == NOT_TESTED and UNRECORDED in rung["measured"]]


def reason(row: dict, declared: dict | None = None) -> dict:
    """``{"reason", "reason_words", "evidence"}`` of one claim of a report (:func:`i2vlib.records.verdicts.report`):
    empty for a reproduced claim; the reason its verdict gives (a gate, the benchmark, a missing record, one shipped
    model, the budget); else ``declared`` (:mod:`i2vlib.records.why`), or where none is declared yet, no reason with
    the words saying so."""
    verdict = row["verdict"]
    if verdict == REPRODUCED:
        return {"reason": None, "reason_words": "", "evidence": ""}
    said = [rung["measured"] for rung in row["rungs"].values() if rung["verdict"] == NOT_TESTED]
    if verdict == NOT_TESTED:
        text = " ".join(said)
        kind = ("gate" if " fails " in text else "unrecorded" if UNRECORDED in text else
                "zoo" if "one shipped model" in text else "unmeasurable")
        return {"reason": kind, "reason_words": REASONS[kind], "evidence": said[0].removeprefix("not tested: ")}
    if verdict in (BUDGET_DEPENDENT, INCONCLUSIVE):
        kind = "budget" if verdict == BUDGET_DEPENDENT else "seeds"
        at = "; ".join(f"x{label}: {rung['verdict']}" for label, rung in row["rungs"].items())
        p = row.get("interaction_p")
        return {"reason": kind, "reason_words": REASONS[kind],
                "evidence": at + ("" if p is None else f" (interaction p = {p:.2g})")}
    if declared is not None:
        return declared
    return {"reason": None, "reason_words": "no reason declared yet", "evidence": ""}
