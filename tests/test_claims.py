"""The claims registry: every rule gives each of its verdicts on hand-made inputs, comparative rules
refuse too few seeds, bad measurements are errors, and every registered claim is complete, cites
the paper, can fail, and gets a verdict."""

import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from i2vlib.claims import (CHOICE_DATA, VERDICTS, AtLeast, AtMost, Better, Between, Claim, NotTested, Ratio, choices,
                           counts, expected, interaction, ladder, holm, mean_interval, registry, table, untested, verdicts,
                           welch)
from i2vlib.errors import I2VError
from i2vlib.claims import measurement

ROOT = Path(__file__).resolve().parents[1]
PAPER_FILES = {"affinegan": "shen2019-affinegan.md", "fan": "fan2019-controllable-image-to-video.md",
               "frgan": "zhao2018-frgan.md"}
# The papers' texts, where present: the project's shared/ folder beside the repository.
PAPERS_DIR = Path(os.environ.get("I2V_PAPERS", Path(__file__).resolve().parents[2] / "shared" / "papers"))


# --- threshold rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, verdict", [(31, "reproduced"), (30, "reproduced"), (29.9, "partly"),
                                            (20, "partly"), (19.9, "not reproduced")])
def test_at_least_on_one_value(value, verdict):
    assert AtLeast(30, partly=20).verdict(value) == verdict


@pytest.mark.parametrize("value, verdict", [(0.1, "reproduced"), (0.5, "reproduced"), (0.51, "partly"),
                                            (0.8, "partly"), (0.81, "not reproduced")])
def test_at_most_on_one_value(value, verdict):
    assert AtMost(0.5, partly=0.8).verdict(value) == verdict


def test_without_partly_a_near_miss_is_not_reproduced():
    assert AtLeast(0.05).verdict(0.0499) == "not reproduced"
    assert AtMost(0.5).verdict(0.5001) == "not reproduced"


def test_per_seed_values_are_judged_by_their_mean_and_shown_with_their_spread():
    rule = AtLeast(30, partly=20)
    assert rule.verdict([30.9, 31.0, 31.1]) == "reproduced"           # the whole 95 % interval is above 30
    assert rule.verdict(np.array([24.0, 25.0, 26.0])) == "partly"     # mean 25, interval 22.5 to 27.5
    assert rule.verdict([10.0, 11.0, 12.0]) == "not reproduced"
    assert rule.show([29, 31, 31]) == "30.3 ± 1.15 (n = 3), 95 % CI 27.5 to 33.2"   # sd sqrt(4/3), t(0.975, 2)
    assert rule.show([29]) == "29 (n = 1)"
    assert rule.show(np.float32(31.0)) == "31"


def test_a_mean_whose_interval_straddles_the_threshold_is_borderline_on_either_side():
    assert AtLeast(30).verdict([29, 31, 31]) == "borderline"          # mean 30.3 above, interval 27.5 to 33.2
    assert AtLeast(30).verdict([29, 29, 31]) == "borderline"          # mean 29.7 below
    assert AtMost(0.5).verdict([0.43, 0.49, 0.56]) == "borderline"    # Fan's ConvLSTM: 0.493 against <= 0.5
    assert Between(0.8, 1.25).verdict([1.2, 1.3, 1.25]) == "borderline"
    assert AtLeast(30).verdict(30.0) == "reproduced"                  # one value has no interval
    low, high = mean_interval([1.0, 2.0, 3.0])
    assert (low, high) == pytest.approx((2 - 4.302653 / 3 ** 0.5, 2 + 4.302653 / 3 ** 0.5))
    assert mean_interval([2.0, 2.0]) == (2.0, 2.0)


@pytest.mark.parametrize("value, verdict", [(0.8, "reproduced"), (1.25, "reproduced"), (1.0, "reproduced"),
                                            (0.79, "partly"), (2.0, "partly"), (0.49, "not reproduced"),
                                            (2.01, "not reproduced")])
def test_between(value, verdict):
    assert Between(0.8, 1.25, partly=(0.5, 2.0)).verdict(value) == verdict


def test_ratio_judges_the_mean_of_per_seed_ratios():
    rule = Ratio(AtLeast(0.8, partly=0.5), value="at_1", reference="true_peak")
    assert rule.verdict({"at_1": 0.8, "true_peak": 1.0}) == "reproduced"
    assert rule.verdict({"at_1": [0.68, 0.7, 0.72], "true_peak": 1.0}) == "partly"          # mean ratio 0.7
    # seed by seed: ratios 0.25, 0.25, 2.2, mean 0.9 (the ratio of the means would be 0.64); their interval is wide
    shown = rule.show({"at_1": [0.25, 0.25, 1.1], "true_peak": [1.0, 1.0, 0.5]})
    assert shown.startswith("at_1 / true_peak = 0.9 ± 1.13 (n = 3), 95 % CI")
    assert rule.verdict({"at_1": [0.25, 0.25, 1.1], "true_peak": [1.0, 1.0, 0.5]}) == "borderline"
    assert rule.verdict({"at_1": 0.2, "true_peak": 1.0}) == "not reproduced"
    assert rule.show({"at_1": 0.6, "true_peak": 0.8}).startswith("at_1 / true_peak = 0.75")
    assert Ratio(AtMost(0.5), value="convlstm", reference="truth").verdict({"convlstm": 2.0, "truth": 5.0}) == \
        "reproduced"
    with pytest.raises(I2VError, match="'true_peak' is 0"):
        rule.verdict({"at_1": 0.5, "true_peak": 0.0})
    with pytest.raises(I2VError, match="3 values of 'at_1' but 2"):
        rule.verdict({"at_1": [1, 2, 3], "true_peak": [1, 2]})
    with pytest.raises(I2VError, match="keys 'at_1', 'true_peak'"):
        rule.verdict({"at_1": 0.5, "peak": 1.0})


def test_rules_refuse_thresholds_that_contradict_themselves():
    with pytest.raises(ValueError):
        AtLeast(0.5, partly=0.6)
    with pytest.raises(ValueError):
        AtMost(0.5, partly=0.4)
    with pytest.raises(ValueError):
        Between(0.8, 1.25, partly=(0.9, 2.0))
    with pytest.raises(ValueError):
        Better(arm="full", baseline="full")


# --- the comparative rule -----------------------------------------------------------------------------
# arm [9, 9, 12]: mean 10, variance 3; baseline [b-3, b, b+3]: variance 9. SE = sqrt(3/3 + 9/3) = 2 and the
# Welch-Satterthwaite degrees of freedom are (1 + 3)^2 / (1^2/2 + 3^2/2) = 3.2: a two-sided p < 0.05 needs
# |difference| > 2 * t(0.975, 3.2) = 6.15.

def _arms(b):
    return {"arm": [9.0, 9.0, 12.0], "baseline": [b - 3.0, b, b + 3.0]}


@pytest.mark.parametrize("baseline_mean, verdict", [
    (3, "reproduced"),        # difference +7 > 6.15: p = 0.036
    (4, "not reproduced"),    # +6: p = 0.053
    (10, "not reproduced"),   # no difference
    (16, "not reproduced"),   # -6
    (17, "contradicted"),     # -7
])
def test_better_by_welchs_t_test(baseline_mean, verdict):
    assert Better().verdict(_arms(baseline_mean)) == verdict


def test_welchs_interval_uses_the_welch_satterthwaite_degrees_of_freedom():
    from scipy import stats

    t = welch(*_arms(0).values())
    half = 2 * stats.t.ppf(0.975, 3.2)
    assert t.difference == 10 and t.low == pytest.approx(10 - half) and t.high == pytest.approx(10 + half)
    assert t.p == pytest.approx(2 * stats.t.sf(5.0, 3.2))


def test_better_lower_and_what_the_table_shows():
    assert Better(higher=False).verdict(_arms(17)) == "reproduced"      # arm lower by 7
    assert Better(higher=False).verdict(_arms(3)) == "contradicted"
    m = {"eq5": [0.9, 0.95, 1.0], "mlp": np.array([0.2, 0.3, 0.4])}
    assert Better(arm="eq5", baseline="mlp").verdict(m) == "reproduced"
    shown = Better().show(_arms(3))
    assert "arm 10 ± 1.73 (n = 3)" in shown and "baseline 3 ± 3 (n = 3)" in shown
    assert "arm − baseline +7 (95 % CI" in shown and "Welch p = 0.036" in shown


def test_better_identical_seeds_give_no_spread():
    assert Better().verdict({"arm": [1, 1, 1], "baseline": [1, 1, 1]}) == "not reproduced"
    assert Better().verdict({"arm": [1.1, 1.1, 1.1], "baseline": [1, 1, 1]}) == "reproduced"


_IN_FAN = measurement.compare("fan", {"arm": "full", "baseline": "no_rt"}, "psnr")   # a measurement of one table


def test_holm_adjusts_the_p_values_of_one_table_together():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([]) == [] and holm([0.2]) == [0.2] and max(holm([0.9, 0.8])) == 1.0
    one = Claim(id="one", paper="fan", where="Table 1", words="w", measure="a", measured_as="m", rule=Better(),
                chapter="fan/ablations", measurement=_IN_FAN)
    two = Claim(id="two", paper="fan", where="Table 1, §2", words="w", measure="b", measured_as="m", rule=Better(),
                chapter="fan/ablations", measurement=_IN_FAN)
    m = {"a": _arms(3), "b": _arms(3)}                                   # p = 0.036 each
    assert [r.verdict for r in verdicts([one], m)] == ["reproduced"]     # alone: 0.036 < 0.05
    rows = verdicts([one, two], m)                                       # together: 2 x 0.0355 = 0.071
    assert [r.verdict for r in rows] == ["not reproduced"] * 2 and "Holm-adjusted 0.071" in rows[0].measured
    elsewhere = Claim(id="two", paper="fan", where="Table 2", words="w", measure="b", measured_as="m", rule=Better(),
                      chapter="fan/ablations", measurement=measurement.compare("fan-baselines", {}, "psnr"))
    assert [r.verdict for r in verdicts([one, elsewhere], m)] == ["reproduced"] * 2   # two tables, two families
    m["b"] = NotTested("not here")                                       # a claim not tested is no comparison
    assert [r.verdict for r in verdicts([one, two], m)] == ["reproduced", "not tested"]


@pytest.mark.parametrize("m", [{"arm": [1, 2], "baseline": [1, 2, 3]}, {"arm": [1, 2, 3], "baseline": [0]},
                               {"arm": 1.0, "baseline": [1, 2, 3]}])
def test_better_refuses_fewer_than_three_seeds(m):
    with pytest.raises(I2VError, match="at least 3 per arm"):
        Better().verdict(m)


def test_better_wants_exactly_its_two_arms():
    with pytest.raises(I2VError, match="keys 'arm', 'baseline'"):
        Better().verdict({"arm": [1, 2, 3]})
    with pytest.raises(I2VError, match="keys"):
        Better().verdict([1, 2, 3])


# --- measurements that are not numbers ----------------------------------------------------------------

def _claim(rule, measure="x"):
    return Claim(id="c", paper="fan", where="§3.1", words="w", measure=measure, measured_as="m", rule=rule,
                 chapter="fan/ablations", measurement=_IN_FAN)


def test_a_missing_measurement_is_an_error_naming_the_key():
    with pytest.raises(I2VError, match="no measurement for 'x'.*NotTested"):
        verdicts([_claim(AtLeast(1))], {"y": 1.0})


@pytest.mark.parametrize("bad, message", [(math.nan, "is NaN"), ([1.0, float("nan"), 2.0], r"\[1\] is NaN"),
                                          (np.float64("nan"), "is NaN"), (math.inf, "infinite"),
                                          (None, "should be a number"), ("30", "should be a number"),
                                          ([], "empty"), ({"a": 1}, "got a dict")])
def test_a_measurement_that_is_not_a_finite_number_is_an_error(bad, message):
    with pytest.raises(I2VError, match=message) as e:
        verdicts([_claim(AtLeast(1))], {"x": bad})
    assert "claim 'c'" in str(e.value)


def test_nan_in_a_comparison_is_an_error():
    with pytest.raises(I2VError, match="'baseline'.*NaN"):
        Better().verdict({"arm": [1, 2, 3], "baseline": [1, math.nan, 3]})


def test_not_tested_only_when_the_chapter_says_why():
    row, = verdicts([_claim(Better())], {"x": NotTested("the folder has no true intensities")})
    assert row.verdict == "not tested" and "no true intensities" in row.measured
    assert AtLeast(1).verdict(NotTested("no user study")) == "not tested"
    with pytest.raises(ValueError):
        NotTested(" ")


def test_a_measurement_with_an_untested_part_is_not_tested_and_leaves_the_holm_family():
    missing = NotTested("no_rt is not recorded at this budget yet")
    row, = verdicts([_claim(Better())], {"x": {"arm": [1.0, 2.0, 3.0], "baseline": missing}})
    assert row.verdict == "not tested" and "no_rt is not recorded" in row.measured
    assert Better().p_value({"arm": missing, "baseline": [1.0, 2.0, 3.0]}) is None
    assert Ratio(AtMost(0.5)).verdict({"value": missing, "reference": 2.0}) == "not tested"
    assert untested({"arm": [1.0], "baseline": [2.0]}) is None and untested(missing) is missing
    with pytest.raises(I2VError):                       # a part that is neither measured nor NotTested still fails
        Better().verdict({"arm": [1.0, 2.0, 3.0], "baseline": None})


def test_counts_every_verdict():
    rows = verdicts([_claim(AtLeast(1, partly=0.5), "a"), _claim(AtLeast(1), "b"), _claim(Better(), "c")],
                    {"a": 0.7, "b": 2, "c": NotTested("no seeds")})
    assert counts(rows) == {"reproduced": 1, "borderline": 0, "partly": 1, "not reproduced": 0, "contradicted": 0,
                            "budget-dependent": 0, "inconclusive": 0, "not tested": 1}
    assert tuple(counts([])) == VERDICTS


def test_a_ladder_gives_the_rungs_verdict_where_they_agree_and_budget_dependent_where_the_effect_differs():
    claims_ = [Claim(**{**vars(_claim(rule, m)), "id": m}) for rule, m in ((AtLeast(1), "a"), (Better(), "b"),
                                                                         (AtLeast(1), "c"))]
    better, worse = {"arm": [2.0, 2.1, 1.9], "baseline": [0.0, 0.1, -0.1]}, {"arm": [0.0, 0.1, -0.1],
                                                                             "baseline": [0.0, 0.1, -0.1]}
    small = {"a": 2.0, "b": worse, "c": NotTested("not recorded at this budget")}
    large = {"a": 3.0, "b": better, "c": 0.5}
    rows = ladder(claims_, {"1000 steps": small, "4000 steps": large})
    assert [r.verdict for r in rows] == ["reproduced", "budget-dependent", "not reproduced"]
    assert rows[1].interaction_p < 0.05 and rows[0].interaction_p is None
    assert rows[0].measured.startswith("1000 steps: 2 (reproduced); 4000 steps: 3 (reproduced)")
    assert "1000 steps: not tested" in rows[2].measured
    assert ladder(claims_, {"one budget": large}) == verdicts(claims_, large)
    md = table(claims_, rungs={"1000 steps": small, "4000 steps": large})
    assert "budget-dependent (rule 2) |" in md and "4000 steps:" in md
    with pytest.raises(I2VError, match="at least one rung"):
        ladder(claims_, {})
    with pytest.raises(I2VError, match="not both or neither"):
        table(claims_, large, rungs={"x": large})


def test_differing_verdicts_with_the_same_effect_are_inconclusive_and_v1_took_the_most_seeds():
    """Five seeds past the threshold and three whose interval straddles it: the verdicts differ, the effects do not, so
    the claim is not budget-dependent; under v2 it is inconclusive, under v1 the five seeds' verdict stood (at equal
    seeds, the larger budget's)."""
    claim = [_claim(AtLeast(1.0), "a")]
    five, three = [1.10, 1.12, 1.08, 1.11, 1.09], [0.55, 0.85, 1.15]      # reproduced; borderline
    rows = ladder(claim, {"1x": {"a": five}, "4x": {"a": three}})
    assert rows[0].verdict == "inconclusive" and rows[0].interaction_p > 0.05
    rows = ladder(claim, {"1x": {"a": five}, "4x": {"a": three}}, rung_rule="most seeds")
    assert rows[0].verdict == "reproduced" and "the verdict at 1x, with the most seeds" in rows[0].measured
    rows = ladder(claim, {"1x": {"a": three[:2] + [1.4]}, "4x": {"a": [1.2, 1.3, 1.25]}}, rung_rule="most seeds")
    assert rows[0].verdict == "reproduced" and "the verdict at 4x" in rows[0].measured
    single = ladder(claim, {"1x": {"a": 0.9}, "4x": {"a": 1.2}})          # one value each: nothing to test
    assert single[0].verdict == "inconclusive" and single[0].interaction_p is None
    untested = ladder(claim, {"1x": {"a": five}, "4x": {"a": NotTested("not recorded")}})
    assert untested[0].verdict == "reproduced"                            # a budget that tests nothing does not vote


def test_the_interaction_test_is_welchs_on_the_difference_of_two_effects():
    from scipy import stats

    a1, b1, a4, b4 = [1.0, 1.2, 0.9, 1.1, 1.05], [0.5, 0.6, 0.55, 0.4, 0.5], [2.0, 2.3, 2.1], [0.5, 0.45, 0.6]
    rule = Better()
    e1, e4 = rule.effect({"arm": a1, "baseline": b1}), rule.effect({"arm": a4, "baseline": b4})
    assert e1.seeds == 5 and e4.seeds == 3
    p = interaction(e1, e4)
    v = [np.var(x, ddof=1) / len(x) for x in (a1, b1, a4, b4)]
    d = (np.mean(a4) - np.mean(b4)) - (np.mean(a1) - np.mean(b1))
    df = sum(v) ** 2 / sum(vi ** 2 / (len(x) - 1) for vi, x in zip(v, (a1, b1, a4, b4)))
    assert p == pytest.approx(2 * stats.t.sf(abs(d) / np.sqrt(sum(v)), df))
    assert p < 0.01
    # one list of values against another: Welch's two-sample test itself
    x, y = [0.2, 0.4, 0.3, 0.35], [0.5, 0.7, 0.6]
    expected = stats.ttest_ind(y, x, equal_var=False).pvalue
    assert interaction(AtLeast(0).effect(x), AtLeast(0).effect(y)) == pytest.approx(expected)
    assert interaction(AtLeast(0).effect(0.3), AtLeast(0).effect(y)) is None
    assert AtLeast(0).effect(NotTested("no seeds")) is None


# --- the registries -----------------------------------------------------------------------------------

def _examples(rule):
    """(a measurement of the rule's documented shape that it reproduces, one that it does not)."""
    if isinstance(rule, Better):
        hi, lo = [1.0, 1.1, 0.9], [0.0, 0.1, -0.1]
        good = {rule.arm: hi, rule.baseline: lo} if rule.higher else {rule.arm: lo, rule.baseline: hi}
        return good, {rule.arm: good[rule.baseline], rule.baseline: good[rule.arm]}
    if isinstance(rule, Ratio):
        good, bad = _examples(rule.rule)
        return {rule.value: good, rule.reference: 1.0}, {rule.value: bad, rule.reference: 1.0}
    if isinstance(rule, AtLeast):
        t = rule.threshold
        return [t + 0.5, t + 0.6, t + 0.7], (rule.partly if rule.partly is not None else t) - 1   # interval above t
    if isinstance(rule, AtMost):
        t = rule.threshold
        return [0.5 * t, 0.51 * t, 0.52 * t], (rule.partly if rule.partly is not None else t) + 1   # well below t
    if isinstance(rule, Between):
        return (rule.low + rule.high) / 2, (rule.partly[1] if rule.partly else rule.high) + 1
    raise AssertionError(f"no example for {rule!r}")


@pytest.fixture(params=["affinegan", "fan", "frgan"])
def paper(request):
    return request.param


def test_every_claim_is_complete_and_cites_the_paper(paper):
    claims = registry(paper)
    assert len(claims) >= 10
    assert len({c.id for c in claims}) == len(claims)
    assert len({c.measure for c in claims}) == len(claims)
    for c in claims:
        assert c.paper == paper
        assert all(str(getattr(c, f)).strip() for f in ("id", "where", "words", "measure", "measured_as", "chapter"))
        assert re.search(r"(Fig\.|Table|§|Eq\.) ?\d", c.where), c.where
        assert (ROOT / "notebooks" / f"{c.chapter}.ipynb").is_file(), c.chapter
        assert c.rule.describe() and c.measure in expected(paper)


def test_every_rule_can_fail_and_every_claim_gets_a_verdict(paper):
    claims = registry(paper)
    good = {c.measure: _examples(c.rule)[0] for c in claims}
    bad = {c.measure: _examples(c.rule)[1] for c in claims}
    assert {r.verdict for r in verdicts(paper, good)} == {"reproduced"}
    assert all(r.verdict in ("not reproduced", "contradicted") for r in verdicts(paper, bad))
    untested = verdicts(paper, {c.measure: NotTested("not measured in this test") for c in claims})
    assert [r.verdict for r in untested] == ["not tested"] * len(claims)


def test_the_words_quote_the_paper(paper):
    """Every quoted fragment of ``words`` stands in the paper's text (maths and emphasis marks aside)."""
    path = PAPERS_DIR / PAPER_FILES[paper]
    if not path.is_file():
        pytest.skip(f"the paper's text is not at {path}")
    text = " ".join(re.sub(r"[*$]", "", path.read_text()).split())
    for c in registry(paper):
        quotes = re.findall(r'"([^"]+)"', c.words)
        assert quotes, f"{c.id}: words should quote the paper"
        for q in quotes:
            assert " ".join(q.split()) in text, f"{c.id}: {q!r} is not in {path.name}"


def test_fig7b_fails_when_the_inferred_a_stays_inside_the_unit_range():
    claim, = [c for c in registry("affinegan") if c.id == "no-loss-on-a-leaves-range"]
    assert "7b" in claim.where
    rng = np.random.default_rng(0)
    shrunk = [rng.uniform(0.0, 0.12, 200) for _ in range(3)]           # a shrank towards 0, as on the benchmark
    drifted = [np.abs(rng.normal(0.7, 0.4, 200)) for _ in range(3)]     # a drifts above 1 now and then
    share = lambda seeds: [float(np.mean((a < 0) | (a > 1))) for a in seeds]   # noqa: E731
    assert verdicts([claim], {claim.measure: share(shrunk)})[0].verdict == "not reproduced"
    assert verdicts([claim], {claim.measure: share(drifted)})[0].verdict == "reproduced"


def test_fan_reconstruction_at_zero_can_fail():
    claim, = [c for c in registry("fan") if c.id == "f-of-i-0-is-i"]
    assert [claim.rule.verdict(v) for v in (33.0, 24.0, 15.0)] == ["reproduced", "partly", "not reproduced"]


def test_table_has_one_row_per_claim(paper):
    claims = registry(paper)
    md = table(paper, {c.measure: _examples(c.rule)[0] for c in claims})
    lines = md.splitlines()
    assert lines[0].startswith("| where | the paper says | we measure | our measurement | verdict (rule) |")
    rows = [line for line in lines if line.startswith("|")]
    assert len(rows) == 2 + len(claims)
    rules = list(dict.fromkeys(c.rule.describe() for c in claims))
    for line, c in zip(rows[2:], claims):
        cells = re.split(r"(?<!\\)\|", line)[1:-1]                      # escaped pipes stay inside a cell
        k = rules.index(c.rule.describe()) + 1
        assert len(cells) == 5 and cells[0].strip() == c.where and cells[-1].strip() == f"reproduced (rule {k})"
    numbered = [line for line in lines if re.match(r"\d+\. ", line)]
    assert len(numbered) == len(rules) and numbered[0].startswith("1. ")


def test_the_table_discloses_each_choice_and_the_identities_it_looked_at(paper):
    made = choices(paper)
    assert made and all(c.data in CHOICE_DATA for c in made)
    md = table(paper, {c.measure: _examples(c.rule)[0] for c in registry(paper)})
    listed = [line for line in md.splitlines() if line.startswith("- ")]
    assert len(listed) == len(made)
    for line, c in zip(listed, made):
        assert line.endswith(f"**{c.data}**") and c.what.split(",")[0] in line


def test_unknown_papers_are_errors():
    with pytest.raises(I2VError, match="unknown paper"):
        registry("videogan")


def test_seed_values_follow_the_path_and_read_a_missing_value_as_nan():
    from i2vlib.claims import evidence

    R = {"full": [{"inferred": {"rho": 0.9}}, None, {"inferred": {"rho": None}}]}
    np.testing.assert_array_equal(evidence.seed_values(R, "full", "inferred", "rho"), [0.9, np.nan, np.nan])


def test_one_measurement_read_at_every_rung_is_shown_once():
    """A zoo model's number read at each rung of a ladder is one measurement: the row says so instead of repeating it
    under each budget as if each budget had measured it."""
    claim = [_claim(AtLeast(1.0), "a")]
    row, = ladder(claim, {"1x": {"a": 2.0}, "4x": {"a": 2.0}})
    assert row.verdict == "reproduced" and "1x" not in row.measured and "one measurement" in row.measured


def test_the_table_states_each_shared_clause_of_its_rules_once():
    """The clause every Welch comparison shares (and every threshold rule's 'borderline') is written once below the
    numbered rules, naming the rules it applies to; each numbered rule keeps what is its own."""
    claims_ = [Claim(**{**vars(_claim(rule, m)), "id": m})
               for rule, m in ((Better(), "b"), (AtLeast(1), "a"), (Better(higher=False), "c"))]
    md = table(claims_, {"a": 2.0, "b": {"arm": [2.0, 2.1, 1.9], "baseline": [0.0, 0.1, -0.1]},
                         "c": {"arm": [0.0, 0.1, -0.1], "baseline": [2.0, 2.1, 1.9]}})
    numbered = [line for line in md.splitlines() if re.match(r"\d+\. ", line)]
    assert len(numbered) == 3 and not any("Welch" in line or "borderline" in line for line in numbered)
    assert md.count("Welch's t-test") == 1 and "Rules 1 and 3: Welch's t-test" in md
    assert md.count("borderline") == 1 and "Rule 2: a mean over seeds" in md
    assert all(c.rule.parts()[0] in c.rule.describe() for c in claims_)
