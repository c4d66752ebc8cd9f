"""The registry log (i2vlib.claims.log): every claim's rule is logged, every logged change has its reason, and the
replays judge as the rules did before each change."""

from __future__ import annotations

import dataclasses
import re

import pytest

from i2vlib import claims
from i2vlib.claims import log, measurement
from i2vlib.claims.rules import (BORDERLINE, BUDGET_DEPENDENT, CONTRADICTED, INCONCLUSIVE, NOT_REPRODUCED, PARTLY,
                                 REPRODUCED, AtLeast, Better, Between, Ratio)

EVERY = [c for p in claims.PAPERS for c in claims.registry(p)]


def test_every_claims_rule_is_its_last_logged_version():
    assert log.unlogged(EVERY) == []
    gone = {k for k, e in log.history().items() if "removed" in e}
    assert set(log.history()) - gone == {f"{c.paper}/{c.id}" for c in EVERY}, "the log lists claims the registry lacks"
    merges = {c.commit for c in log.CHANGES if c.kind in ("merge", "claim")}
    assert all(log.history()[k]["removed"][1] in merges for k in gone), "a removed claim without its reason"


def test_a_rule_moved_without_a_log_entry_is_caught():
    c = next(c for c in EVERY if isinstance(c.rule, AtLeast))
    moved = dataclasses.replace(c, rule=dataclasses.replace(c.rule, threshold=c.rule.threshold * 0.9))
    (why,) = log.unlogged([moved])
    assert why.startswith(f"{c.paper}/{c.id}: its rule is not the last logged one")
    assert log.unlogged([dataclasses.replace(c, id="never-logged")]) == [f"{c.paper}/never-logged: not in the log"]


def test_every_change_of_a_logged_rule_has_its_reason_in_changes():
    why = {ch.commit for ch in log.CHANGES}
    later = {commit for entry in log.history().values() for _, commit, _ in entry["rules"][1:]}
    assert later <= why, f"rule changes without a reason in CHANGES: {sorted(later - why)}"
    for entry in log.history().values():
        dates = [d for d, _, _ in entry["rules"]]
        assert dates == sorted(dates) and entry["fixed"] == entry["rules"][0][:2]
        assert entry["records"] in ("none", "same commit", "before")


def test_changes_are_dated_in_order_and_name_known_replays():
    assert [c.date for c in log.CHANGES] == sorted(c.date for c in log.CHANGES)
    for c in log.CHANGES:
        assert re.fullmatch(r"2\d{3}-\d\d-\d\d", c.date) and re.fullmatch(r"[0-9a-f]{7,40}|", c.commit), c
        kinds = ("verdict rule", "band", "rename", "merge", "recipe choice", "health check", "gate", "measurement",
                 "claim", "round", "log")
        assert c.kind in kinds and c.what and c.why
        assert c.replay in log.REPLAYS or c.replay == ""
    assert {c.replay for c in log.CHANGES if c.replay} == set(log.REPLAYS)   # every replay belongs to a change


def test_the_two_standard_error_rule_replays_as_it_judged():
    better = Better(higher=True, arm="a", baseline="b")
    old = log.TwoStandardErrors(better)
    # difference 0.2, SE = sqrt(2 * 0.01 / 3) ~ 0.082: beyond 2 SE, though Welch's p with 4 df is ~0.07
    m = {"a": [1.1, 1.2, 1.3], "b": [0.9, 1.0, 1.1]}
    assert old.verdict(m) == REPRODUCED and better.verdict(m) == NOT_REPRODUCED
    assert old.verdict({"a": m["b"], "b": m["a"]}) == CONTRADICTED
    assert old.p_value(m) is None                                   # the old rule had no Holm family
    assert old.effect(m) == better.effect(m)


def test_without_borderline_the_mean_alone_decides():
    rule = AtLeast(0.9, partly=0.5)
    values = [0.8, 1.0, 0.95]                                        # mean 0.917 >= 0.9, interval reaches below it
    assert rule.verdict(values) == BORDERLINE
    assert log.WithoutBorderline(rule).verdict(values) == REPRODUCED
    ratio = Ratio(Between(0.5, 1.09, partly=(0.5, 1.21)))
    m = {"value": [1.0, 1.2, 1.13], "reference": 1.0}                # ratio mean 1.11: partly; its interval straddles
    assert ratio.verdict(m) == BORDERLINE and log.WithoutBorderline(ratio).verdict(m) == PARTLY


def test_the_old_partly_bands_replay_for_the_three_claims_they_changed():
    old = log.replay_rules("the old partly bands", EVERY)
    assert set(old) == {"frgan/table1-acd-i", "frgan/table1-acd-c", "frgan/pose-psnr-per-action"}
    before = [r for d, commit, r in log.history()["frgan/table1-acd-i"]["rules"] if d < "2026-11-24"][-1]
    assert "in [0.5, 2.67]: partly" in before and "in [0.5, 2.67]: partly" in old["frgan/table1-acd-i"].describe()
    assert old["frgan/pose-psnr-per-action"].describe().startswith("≥ 0.75: reproduced; ≥ 0.5: partly")
    assert all(isinstance(r, log.TwoStandardErrors) for r in log.replay_rules("two standard errors", EVERY).values())
    with pytest.raises(KeyError):
        log.replay_rules("two standard errors", EVERY)["affinegan/self-reconstruction"]   # not a comparison


_M = measurement.compare("fan", {"a": "full", "b": "no_rt"}, "psnr")


def test_the_rung_rules_of_v2_and_v1_and_before():
    """v2: differing verdicts whose effect does not differ are inconclusive; v1: the budget with the most seeds
    decides; before 2026-11-27: any difference is budget-dependent."""
    c = claims.Claim(id="x", paper="fan", where="Fig. 1", words="w", measure="m", measured_as="m",
                     rule=Better(arm="a", baseline="b"), chapter="fan/ablations", measurement=_M)
    one = {"a": [1.0, 1.1, 1.2, 1.05, 1.15], "b": [0.0, 0.1, 0.2, 0.05, 0.15]}   # clear at 5 seeds
    two = {"a": [1.0, 1.6, 0.4], "b": [0.0, 0.9, -0.6]}                         # same effect, noisy at 3
    rungs = {"1x": {"m": one}, "4x": {"m": two}}
    (now,) = claims.ladder([c], rungs)
    (v1,) = claims.ladder([c], rungs, rung_rule="most seeds")
    (then,) = claims.ladder([c], rungs, rung_rule="any difference")
    assert (now.verdict, v1.verdict, then.verdict) == (INCONCLUSIVE, REPRODUCED, BUDGET_DEPENDENT)
    far = {"a": [1.0, 1.1, 0.9], "b": [2.0, 2.1, 1.9]}                           # the effect turns round
    (changed,) = claims.ladder([c], {"1x": {"m": one}, "4x": {"m": far}})
    assert changed.verdict == BUDGET_DEPENDENT and changed.interaction_p < 0.05
    (agree,) = claims.ladder([c], {"1x": {"m": one}, "4x": {"m": one}})
    assert agree.verdict == REPRODUCED


def test_the_holm_families_of_v2_and_of_v1():
    """v2: one family per table of the experiment; v1: the first place a comparison's 'where' names (or its own
    family)."""
    c = dict(paper="fan", words="w", measure="m", measured_as="m", rule=Better(arm="a", baseline="b"),
             chapter="fan/ablations", measurement=_M)
    assert claims.family(claims.Claim(id="x", where="Table 2, §4.1.3", **c)) == "fan"
    assert claims.family(claims.Claim(id="x", where="Table 2, §4.1.3", **c), "where") == "Table 2"
    assert claims.family(claims.Claim(id="x", where="§4.4; Table 1", **c), "where") == "§4.4"
    assert claims.family(claims.Claim(id="x", where="Eq. 1-2, Fig. 3, §3.2", **c), "where") == "Fig. 3"
    assert claims.family(claims.Claim(id="x", where="Table 4, §4.4", where_family="Table 4, poses", **c),
                         "where") == "Table 4, poses"
    for paper in claims.PAPERS:
        registry = {c.id: c for c in claims.registry(paper)}
        for name, ids in claims.families_of(paper).items():
            assert len({registry[i].chapter for i in ids}) == 1, f"{paper} {name} is judged in several chapters"


def test_the_comparisons_of_two_families_are_adjusted_apart():
    def claim(i, table):
        return claims.Claim(id=f"c{i}", paper="fan", where="Fig. 4", words="w", measure=f"m{i}", measured_as="m",
                            rule=Better(arm="a", baseline="b"), chapter="fan/ablations",
                            measurement=measurement.compare(table, {"a": "full", "b": "no_rt"}, "psnr"))
    clear = {"a": [1.0, 1.1, 1.2, 1.05, 1.15], "b": [0.8, 0.9, 1.0, 0.85, 0.95]}      # Welch p ~ 0.004
    null = {"a": [1.0, 1.1, 0.9, 1.05, 0.95], "b": [1.0, 0.9, 1.1, 0.95, 1.05]}       # p = 1
    members = [claim(0, "fan")] + [claim(i, "fan-baselines") for i in range(1, 120)]
    m = {"m0": clear, **{f"m{i}": null for i in range(1, 120)}}
    assert claims.verdicts(members, m)[0].verdict == REPRODUCED                           # a family of one
    assert claims.verdicts(members, m, families="all")[0].verdict == NOT_REPRODUCED       # one of 120 together
