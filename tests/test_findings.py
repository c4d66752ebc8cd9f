"""What the book found, as the verdicts page, the intro and the overviews state it (i2vlib.render.findings): every claim
named in words and placed under one idea of its paper, every count from one function and adding up, and each paper's
conclusion saying which round it reads."""

from __future__ import annotations

import itertools
import re

import pytest

from i2vlib import claims
from i2vlib.claims import reasons
from i2vlib.render import conclusions, findings

ALL = [c for p in claims.PAPERS for c in claims.registry(p)]


def _row(claim, verdict, explored, measured="0.5 ± 0.1 (n = 5)"):
    """A row of i2vlib.records.verdicts.claims_json, as it reads ``claim`` judged ``verdict`` (confirmatory) and
    ``explored`` (exploratory) at two rungs."""
    def rungs(v):
        said = {claims.NOT_TESTED: "not tested: full is not recorded at this budget yet"}.get(v, measured)
        return {"1": {"verdict": v, "measured": said, "arms": {}}, "4": {"verdict": v, "measured": said, "arms": {}}}
    row = {"paper": claim.paper, "id": claim.id, "where": claim.where, "chapter": claim.chapter, "words": claim.words,
           "verdict": verdict, "interaction_p": None, "rungs": rungs(verdict), "round": "confirmatory",
           "exploratory_verdict": explored, "exploratory_rungs": rungs(explored)}
    return {**row, **reasons.reason(row)}


@pytest.fixture(scope="module")
def report():
    """Every claim, the confirmatory round not recorded yet, the exploratory one cycling through the verdicts."""
    cycle = itertools.cycle([v for v in claims.VERDICTS if v != claims.NOT_TESTED])
    return {"protocol": "abc123", "round": "confirmatory",
            "claims": [_row(c, claims.NOT_TESTED, next(cycle)) for c in ALL]}


def test_every_claim_has_words_and_one_idea():
    keys = {f"{c.paper}/{c.id}" for c in ALL}
    assert set(findings.SHORT) == keys
    assert all(len(w) <= 70 and w == w.strip() for w in findings.SHORT.values())
    placed = [f"{paper}/{i}" for paper, ideas in conclusions.IDEAS.items() for _, ids in ideas for i in ids]
    assert sorted(placed) == sorted(keys), "every claim under exactly one idea of its paper"


def test_the_counts_add_up_in_each_round(report):
    counts = findings.book_counts(report)
    assert counts["total"] == len(ALL) == sum(counts["papers"].values())
    for round in findings.ROUNDS:
        c = counts[round]
        assert sum(c["verdicts"].values()) == counts["total"]
        assert c["tested"] == counts["total"] - c["verdicts"][claims.NOT_TESTED] == sum(c["papers_tested"].values())
        assert sum(c["untested"].values()) == c["verdicts"][claims.NOT_TESTED]
        assert c["changes"] == c["verdicts"][claims.BUDGET_DEPENDENT] + c["verdicts"][claims.INCONCLUSIVE]
        for paper, by in c["papers"].items():
            assert sum(by.values()) == counts["papers"][paper]
    assert counts["confirmatory"]["untested"]["unrecorded"] == counts["total"]
    said = findings.book_counts({**report, "records_under": ["6f8940af8d63", "af1fb5ee159d", "b0a453c086e4"]})
    assert said["records_under"] == ("6f8940af8d63, af1fb5ee159d, b0a453c086e4 (af1fb5ee159d as Python 3.12 hashed "
                                     "it)")                   # an id of another Python says whose it is
    keys = findings.count_keys(counts)
    assert keys["found_total"] == len(ALL) and keys["found_exploratory_changes"] == counts["exploratory"]["changes"]
    assert keys["found_confirmatory_untested_unrecorded"] == len(ALL)
    assert sum(counts["why"].values()) == 0                     # nothing is tested in the round of record yet


def test_every_tested_verdict_of_record_but_reproduced_is_counted_by_its_reason(report):
    """A rung rule's verdict gives its reason (budget, seeds); the rows here declare none for the others."""
    rows = [_row(c, v, v) for c, v in zip(ALL, itertools.cycle(claims.VERDICTS))]
    why = findings.book_counts({**report, "claims": rows})["why"]
    judged = [r for r in rows if r["verdict"] not in (claims.REPRODUCED, claims.NOT_TESTED)]
    assert sum(why.values()) == len(judged) and set(why) == set(findings.WHY_KINDS)
    assert why["undeclared"] == sum(r["reason"] is None for r in judged) > 0
    assert why["budget"] == sum(r["verdict"] == claims.BUDGET_DEPENDENT for r in rows)
    assert findings.count_keys(findings.book_counts({**report, "claims": rows}))["found_why_seeds"] == why["seeds"]


def test_a_count_is_marked_with_what_it_counts():
    assert findings.marked("found_total", 67) == '<span class="i2v-count" data-count="found_total">67</span>'


def test_a_conclusion_reads_the_exploratory_round_until_the_records_are_in(report):
    copy = {"exploratory": {"fan": {"round": "exploratory", "seeds": 5, "acd_g": 0.59, "psnr": 24.7,
                                    "copy_acd_g": 0.20, "copy_psnr": 25.8}},
            "confirmatory": {"fan": {"round": "confirmatory", "seeds": 5, "acd_g": 0.15, "psnr": 26.1,
                                     "copy_acd_g": 0.20, "copy_psnr": 25.8}}}
    text = conclusions.conclusion(report, "fan", copy)
    assert conclusions.round_for(report, "fan") == "exploratory"
    assert "exploratory round" in text and "records come in" in text
    assert "further from the true frames than the input itself" in text and "below the copy's" in text
    plain = re.sub(r"<[^>]+>", "", text)
    counted = sum(int(n) for n in re.findall(r"(\d+) (?:" + "|".join(claims.VERDICTS) + ")", plain))
    assert counted == len(claims.registry("fan"))
    mentioned = [idea for idea, _ in conclusions.IDEAS["fan"] if idea in text]
    assert len(mentioned) == len(conclusions.IDEAS["fan"]), "every central idea is placed"
    recorded = {**report, "claims": [{**r, "verdict": r["exploratory_verdict"], "rungs": r["exploratory_rungs"],
                                      "reason": None} for r in report["claims"]]}
    assert conclusions.round_for(recorded, "fan") == "confirmatory"
    confirmed = conclusions.conclusion(recorded, "fan", copy)       # against copying, in the round it reads
    assert "closer to the true frames" in confirmed and "first budget of the confirmatory round" in confirmed


def test_a_verdict_waiting_for_a_rung_is_provisional_and_the_conclusion_waits_too(report):
    """A claim judged at the first rung while the second is not recorded yet has a verdict, but a provisional one: it
    is counted, marked on its line, and its paper's conclusion keeps reading the exploratory round."""
    def half(r):
        waiting = {"verdict": claims.NOT_TESTED, "measured": "not tested: full is not recorded at this budget yet"}
        rungs = {"1": {"verdict": claims.REPRODUCED, "measured": "0.5 ± 0.1 (n = 5)", "arms": {}},
                 "4": {**waiting, "arms": {}}}
        return {**r, "verdict": claims.REPRODUCED, "rungs": rungs}
    half_done = {**report, "claims": [half(r) if r["paper"] == "fan" else r for r in report["claims"]]}
    fan = [r for r in half_done["claims"] if r["paper"] == "fan"]
    assert all(reasons.waits(r) == ["4"] for r in fan)
    counts = findings.book_counts(half_done)
    assert counts["confirmatory"]["provisional"] == counts["total"]      # fan's wait at 4x, the others at both
    assert counts["confirmatory"]["verdicts"][claims.REPRODUCED] == len(fan)
    assert counts["exploratory"]["provisional"] == 0
    assert conclusions.round_for(half_done, "fan") == "exploratory"
    assert "provisional: 4x not recorded yet" in findings.claim_item(fan[0])
    done = {**half_done, "claims": [{**r, "rungs": {**r["rungs"], "4": r["rungs"]["1"]}} for r in fan]}
    assert conclusions.round_for(done, "fan") == "confirmatory"
    assert "provisional" not in findings.claim_item(done["claims"][0])
    assert findings.book_counts(done)["confirmatory"]["provisional"] == 0


def test_an_idea_holds_only_where_every_claim_that_tested_it_was_reproduced():
    fan = [c for c in ALL if c.paper == "fan"]
    ids = dict(conclusions.IDEAS["fan"])
    idea = next(i for i, members in ids.items() if len(members) >= 2)
    first, *rest = ids[idea]

    def state(verdicts):
        rows = [_row(c, claims.NOT_TESTED, verdicts.get(c.id, claims.NOT_TESTED)) for c in fan]
        return dict((i, s) for i, s, _ in conclusions.idea_states({"claims": rows}, "fan", "exploratory"))[idea]

    assert state({i: claims.REPRODUCED for i in ids[idea]}) == "held"
    assert state({first: claims.REPRODUCED, **{i: claims.NOT_REPRODUCED for i in rest}}) == "held in part"
    assert state({i: claims.NOT_REPRODUCED for i in ids[idea]}) == "did not hold"
    assert state({i: claims.INCONCLUSIVE for i in ids[idea]}) == "changes with the budget"
    assert state({}) == "not tested"


def test_a_claim_opens_on_both_rounds_and_links_its_chapter(report):
    row = report["claims"][0]
    item = findings.claim_item(row)
    assert item.startswith('<details class="i2v-claim">') and item.endswith("</details>")
    assert findings.short(row) in item and "Confirmatory round (of record)" in item and "Exploratory round" in item
    assert 'href="../affinegan/ablations.html#claims-affinegan-ablations"' in item
    assert "<script" not in item


def test_only_the_round_of_record_says_a_reason_is_not_declared(report):
    """Reasons are declared for the verdicts of record: an exploratory "not reproduced" shows no "Why", one the
    verdict explains (a gate) does, and a verdict of record without a declared reason says so."""
    claim = ALL[0]
    row = _row(claim, claims.NOT_REPRODUCED, claims.NOT_REPRODUCED)
    item = findings.claim_item(row)
    assert item.count("no reason declared yet") == 1
    assert item.index("no reason declared yet") < item.index("Exploratory round")
    gated = {**row, "exploratory_verdict": claims.NOT_TESTED, "exploratory_rungs": {"1": {
        "verdict": claims.NOT_TESTED, "measured": "not tested: vgan fails face (5 of 5 seeds)", "arms": {}}}}
    assert "Why: a model the claim compares fails its gates" in findings.claim_item(gated).split("Exploratory")[1]


def test_every_arm_of_every_table_has_a_name_in_words():
    from i2vlib.protocol.tables import ARMS, POOLED
    from i2vlib.render.names import ARM_WORDS, arm_name

    for table, arms in ARMS.items():
        assert set(ARM_WORDS[table]) == set(arms) | set(POOLED.get(table, {})), table
        assert not [a for a in arms if re.search(r"\b[a-z]+_[a-z]+\b", arm_name(table, a))], table   # no code names
    assert arm_name("fan", "no_local_d") == "without the local discriminator" and arm_name("fan", "no_rt") != "no_rt"
    with pytest.raises(KeyError):
        arm_name("fan", "nonsense")


def test_a_gate_reason_names_the_model_and_what_it_fails_in_words():
    row = {"paper": "affinegan", "id": "acd-i-below-vgan"}
    gated = {"reason": "gate", "reason_words": "a model the claim compares fails its gates",
             "evidence": "affinegan fails direction (2 of 5 seeds)"}
    assert conclusions._why_words(row, gated) == \
        "AffineGAN fails its gates (the intensity read does not rise with the one asked for in 2 of 5 seeds)"
    odd = {**gated, "evidence": "the unified model fails something new"}
    assert conclusions._why_words(row, odd) == "the unified model fails something new"      # as it is, never lost
    declared = {"reason": "fails", "reason_words": "Without L_a the intensities shrink", "evidence": ""}
    assert conclusions._why_words(row, declared) == "without L_a the intensities shrink"


def test_a_conclusion_reads_as_a_paragraph_and_as_a_list_of_the_same_sentences(report):
    copy = {"exploratory": {"fan": {"round": "exploratory", "seeds": 5, "acd_g": 0.59, "psnr": 24.7,
                                    "copy_acd_g": 0.20, "copy_psnr": 25.8}}}
    paragraph, listed = conclusions.conclusion(report, "fan", copy), conclusions.conclusion_list(report, "fan", copy)
    plain = lambda t: " ".join(re.sub(r"<[^>]+>", " ", t).split()).lower()        # noqa: E731
    parts = conclusions.conclusion_parts(report, "fan", copy)
    assert parts[0][0] == "" and parts[-1][0] == conclusions.COPY_HEAD
    for head, text in parts:
        assert plain(text) in plain(paragraph) and plain(text) in plain(listed)
    assert listed.count("<li>") == len(parts) - 1 and "Against copying the input, its model's frames" in paragraph
    assert "first budget of the exploratory round" in paragraph
    counted = lambda t: re.findall(r'data-count="(\w+)">(\d+)<', t)                 # noqa: E731
    assert counted(listed) == counted(paragraph) and counted(paragraph)         # the same counts, marked
