"""Every claim that is not reproduced says why, from a declared set, with the evidence of a check (i2vlib.claims.reasons,
i2vlib.records.why)."""

import pytest

from i2vlib.claims import reasons
from i2vlib.records import why


def _row(verdict, *rungs, p=None):
    return {"paper": "fan", "id": "x", "verdict": verdict, "interaction_p": p,
            "rungs": {label: {"verdict": v, "measured": m, "arms": {}} for label, v, m in rungs}}


def test_a_reproduced_claim_needs_no_reason():
    assert reasons.reason(_row("reproduced", ("1", "reproduced", "..."))) == {"reason": None, "reason_words": "",
                                                                                 "evidence": ""}


@pytest.mark.parametrize("said, kind", [("not tested: vgan fails face (5 of 5 seeds)", "gate"),
                                        ("not tested: mlp is not recorded at this budget yet", "unrecorded"),
                                        ("not tested: needs a user study (Amazon Mechanical Turk in the paper)",
                                         "unmeasurable"),
                                        ("not tested: it rests on one shipped model of the zoo, not on seeds",
                                         "zoo")])
def test_a_claim_not_tested_gives_the_reason_its_measurement_says(said, kind):
    got = reasons.reason(_row("not tested", ("1", "not tested", said), ("4", "not tested", said)))
    assert got["reason"] == kind and got["reason_words"] == reasons.REASONS[kind]
    assert got["evidence"] == said.removeprefix("not tested: ")


def test_budgets_that_disagree_give_the_budget_or_the_seeds():
    dependent = reasons.reason(_row("budget-dependent", ("1", "not reproduced", "a"), ("4", "reproduced", "b"),
                                    p=0.01))
    assert dependent["reason"] == "budget" and dependent["evidence"] == ("x1: not reproduced; x4: reproduced "
                                                                          "(interaction p = 0.01)")
    assert reasons.reason(_row("inconclusive", ("1", "reproduced", "a"), ("4", "borderline", "b"), p=0.4))[
        "reason"] == "seeds"


def test_a_declared_reason_runs_its_check_on_the_records():
    rows = {"exploratory": {("fan", "x"): _row("reproduced", ("4", "reproduced", "+0.3 (95 % CI 0.1 to 0.5)"))},
            "confirmatory": {("fan", "x"): _row("not reproduced", ("1", "not reproduced", "+0.1"))}}
    rows["exploratory"]["fan", "x"]["rungs"]["4"]["arms"] = {"full": {"seed_ids": [0, 1, 2]}}
    ctx = why.Context(rows)
    w = why.Why("budget", "the effect needs more steps", why.at_rung("fan", "x"))
    got = reasons.reason(rows["confirmatory"]["fan", "x"], {"reason": w.kind, "reason_words": w.words,
                                                           "evidence": w.check(ctx)})
    assert got["reason"] == "budget" and "seeds 0, 1, 2" in got["evidence"] and "+0.3" in got["evidence"]
    assert "not measured" in why.at_rung("fan", "missing")(ctx)
    with pytest.raises(ValueError, match="unknown reason"):
        why.Why("luck", "w", why.at_rung("fan", "x"))


def test_an_undeclared_reason_says_so():
    assert reasons.reason(_row("not reproduced", ("1", "not reproduced", "a")))["reason_words"] == \
        "no reason declared yet"


class _Made:
    """An Evidence stand-in: one claim's rule and measurement at one rung."""

    def __init__(self, claim, measurement):
        self.claims, self.measurements = {claim.measure: claim}, {claim.measure: measurement}


def test_more_seeds_judges_both_rounds_seeds_together():
    """Three seeds a round cannot tell a difference of one spread from noise; the six of both rounds can, and the
    check says so before Holm's adjustment, then gives each round's rungs. Rounds that disagree stay within noise
    together; a measurement a gate kept out is not pooled."""
    from i2vlib.claims import rules
    from i2vlib.claims.claim import Claim
    from i2vlib.claims.measurement import compare

    better = rules.Better(arm="full", baseline="plain")
    claim = Claim(id="x", paper="fan", where="Table 1", words="w", measure="m", measured_as="s",
                  chapter="fan/ablations", rule=better,
                  measurement=compare("fan", {"full": "full", "plain": "plain"}, "s"))
    rows = {r: {("fan", "x"): {**_row("not reproduced", ("1", "not reproduced", "one round")),
                               "chapter": "fan/ablations"}} for r in ("confirmatory", "exploratory")}

    def check(confirmatory, exploratory):
        made = {r: {"fan/ablations": {"1": _Made(claim, m)}}
                for r, m in (("confirmatory", confirmatory), ("exploratory", exploratory))}
        return why.more_seeds("fan", "x")(why.Context(rows, made))

    one = {"full": [1.0, 2.0, 3.0], "plain": [0.0, 1.0, 2.0]}
    other = {"full": [1.2, 2.2, 3.2], "plain": [-0.2, 0.8, 1.8]}
    assert better.assess(one)[0] == better.assess(other)[0] == "not reproduced"
    text = check(one, other)
    assert text.startswith("both rounds' seeds together, before Holm's adjustment: at 1 times the budget, reproduced")
    assert "(n = 6)" in text and "Each round: 1 times the budget" in text

    reversed_ = {"full": [0.0, 1.0, 2.0], "plain": [1.0, 2.0, 3.0]}
    assert "at 1 times the budget, not reproduced" in check(one, reversed_)
    assert not check(one, rules.NotTested("plain fails face (3 of 3 seeds)")).startswith("both rounds")
    assert why._pooled({"a": [1.0], "copy": 2.0}, {"a": [3.0], "copy": 2.5}) is None   # references that differ


def test_a_larger_budget_judges_the_claim_s_own_rule_on_one_longer_run(monkeypatch):
    """The reason "budget" is backed by the claim's rule on its arm's run at BUDGET_CHECKS' multiple: reproduced
    there, the reason holds; until the run is recorded, the evidence says so; a claim on another table keeps each
    round's rungs only."""
    from i2vlib.claims import rules
    from i2vlib.claims.claim import Claim
    from i2vlib.claims.measurement import seeds

    claim = Claim(id="x", paper="fan", where="Eq. 2", words="w", measure="m", measured_as="s",
                  chapter="fan/ablations", rule=rules.AtLeast(30, partly=20), measurement=seeds("fan", "full", "s"))
    rows = {r: {("fan", "x"): {**_row("partly", ("1", "partly", "25 ± 1 (n = 5)")), "chapter": "fan/ablations"}}
            for r in ("confirmatory", "exploratory")}
    ctx = why.Context(rows, {r: {"fan/ablations": {"1": _Made(claim, [25.0, 26.0, 25.5])}} for r in rows})
    monkeypatch.setattr(why, "BUDGET_CHECKS", {"fan": {"full": 16}})
    monkeypatch.setattr(why, "budget_checks", lambda: {"fan": {"full": {"seed": 0, "steps": 16000}}})
    recorded = [{"s": 32.5}]
    monkeypatch.setattr(why.store, "measured", lambda configs, measure, train, **options: recorded)
    text = why.longer("fan", "x")(ctx)
    assert text.startswith("one run at 16 times the budget (seed 0, the recipe otherwise the table's): "
                           "reproduced, 32.5")
    assert "Each round: 1 times the budget, confirmatory: partly" in text
    recorded[0] = {"s": 27.0}
    assert ": partly, 27" in why.longer("fan", "x")(ctx)
    recorded[0] = None
    assert why.longer("fan", "x")(ctx).startswith("a run at 16 times the budget is not recorded yet")
    monkeypatch.setattr(why, "budget_checks", lambda: {})
    assert why.longer("fan", "x")(ctx).startswith("1 times the budget, confirmatory")
