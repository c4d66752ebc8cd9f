"""``i2v claims``: every claim judged from the records, training nothing (i2vlib.records.verdicts)."""

import json
import subprocess
from collections import Counter
import sys

import pytest

from i2vlib import claims
from i2vlib.claims.measurement import HEALTHY_SHARE
from i2vlib.claims.declaration import protocol_id, record_protocols
from i2vlib.claims import reasons
from i2vlib.records import verdicts
from i2vlib.render import findings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report, computed with training forbidden: a claim whose runs are missing must read not tested."""
    mp = pytest.MonkeyPatch()
    mp.setenv("I2V_NO_TRAIN", "1")
    mp.setenv("I2V_REPO_ROOT", str(tmp_path_factory.mktemp("store")))
    try:
        yield verdicts.report(made=verdicts.evidence_of("exploratory"))
    finally:
        mp.undo()


def test_every_claim_of_every_paper_once_with_its_rungs(report):
    ids = [(r["paper"], r["id"]) for r in report]
    assert ids == [(p, c.id) for p in claims.PAPERS for c in claims.registry(p)]
    for r in report:
        assert r["verdict"] in claims.VERDICTS and r["rungs"]
        for rung in r["rungs"].values():
            assert rung["verdict"] in claims.VERDICTS and isinstance(rung["measured"], str)


def test_no_claim_is_judged_on_an_unhealthy_arm(report):
    for r in report:
        for label, rung in r["rungs"].items():
            if rung["verdict"] == claims.NOT_TESTED:
                continue
            for arm, h in rung["arms"].items():
                assert h["healthy"] >= HEALTHY_SHARE * h["seeds"], (r["id"], label, arm, h)


def test_a_claim_reads_a_verdict_only_where_its_tested_rungs_agree(report):
    """Protocol v2's rung rule: the rungs' common verdict; where they differ, budget-dependent with a significant
    interaction, inconclusive without."""
    for r in report:
        tested = {rung["verdict"] for rung in r["rungs"].values()} - {claims.NOT_TESTED}
        dependent = len(tested) > 1 and r["interaction_p"] is not None and r["interaction_p"] < claims.ALPHA
        assert (r["verdict"] == claims.BUDGET_DEPENDENT) == dependent
        if len(tested) > 1 and not dependent:
            assert r["verdict"] == claims.INCONCLUSIVE
        if len(tested) == 1:
            assert r["verdict"] in tested


def test_the_command_prints_the_report_as_json():
    out = subprocess.run([sys.executable, "-m", "i2vlib.cli", "claims", "--paper", "fan", "--json"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    report_ = json.loads(out.stdout)
    assert report_["protocol"] == protocol_id() and report_["round"] == "confirmatory"
    assert report_["records_under"] == list(record_protocols())
    rows = report_["claims"]
    assert {r["paper"] for r in rows} == {"fan"} and len(rows) == len(claims.registry("fan"))
    assert all(set(r["rungs"]) >= {"1", "4"} and set(r["exploratory_rungs"]) >= {"1", "4"} for r in rows)
    assert all(r["round"] == "confirmatory" and r["exploratory_verdict"] in claims.VERDICTS for r in rows)
    for r in rows:       # a rung waiting for its records tests nothing yet; the exploratory round waits for none
        assert all(r["rungs"][label]["verdict"] == claims.NOT_TESTED for label in r["waits_for"])
    for r in rows:
        for rung in r["rungs"].values():
            assert all(isinstance(arm["seed_ids"], list) and len(arm["seed_ids"]) == arm["seeds"]
                       for arm in rung["arms"].values())


def test_the_command_says_which_verdicts_wait_for_a_rung():
    def row(id_, waits):
        rungs = {"1": {"verdict": claims.REPRODUCED, "measured": "0.9 (n = 5)", "arms": {}},
                 "4": {"verdict": claims.NOT_TESTED, "measured": "not tested: full is not recorded at this budget yet",
                       "arms": {}} if waits else {"verdict": claims.REPRODUCED, "measured": "0.9 (n = 3)", "arms": {}}}
        return {"paper": "fan", "id": id_, "verdict": claims.REPRODUCED, "rungs": rungs,
                "exploratory_verdict": claims.REPRODUCED, "waits_for": ["4"] if waits else []}
    lines = verdicts.text({"protocol": "abc", "round": "confirmatory",
                           "claims": [row("a", True), row("b", False)]}).splitlines()
    assert "1 of 2 provisional" in lines[0]
    a, b = (next(line for line in lines if line.startswith(f"fan       {i} ")) for i in "ab")
    assert a.endswith("(provisional: x4 not recorded yet)") and "provisional" not in b


def test_a_bad_paper_is_one_line():
    out = subprocess.run([sys.executable, "-m", "i2vlib.cli", "claims", "--paper", "pix2pix"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "pix2pix" in out.stderr


def test_the_counts_per_rung_and_the_reasons_not_tested_add_up(report):
    per_paper = verdicts.counts(report)
    for paper, by_rung in verdicts.rung_counts(report).items():
        judged = [r for r in report if r["paper"] == paper]
        for label, c in by_rung.items():
            assert sum(c.values()) == sum(label in r["rungs"] for r in judged)
    why = Counter(reasons.reason(r)["reason"] for r in report if r["verdict"] == claims.NOT_TESTED)
    assert set(why) <= set(findings.UNTESTED)            # each kind the verdicts page counts, and no other
    assert sum(why.values()) == sum(c[claims.NOT_TESTED] for c in per_paper.values())
    user_study = next(r for r in report if r["id"] == "turing-test")
    assert user_study["verdict"] == claims.NOT_TESTED and reasons.reason(user_study)["reason"] == "unmeasurable"


def test_the_shipped_verdicts_are_those_of_the_shipped_records():
    """i2v claims and the book read i2vlib/records/verdicts.json: it must have been written from the records, the zoo,
    the protocol and the report's code as they are (python -m i2vlib.records.verdicts writes it)."""
    shipped = json.loads(verdicts.SNAPSHOT.read_text())
    assert shipped["state"] == verdicts.state(), "run python -m i2vlib.records.verdicts and commit the file"
    assert shipped["protocol"] == protocol_id() and len(shipped["claims"]) == sum(len(claims.registry(p))
                                                                                  for p in claims.PAPERS)
    assert {(r["paper"], r["id"]) for r in shipped["robustness"]} == {(r["paper"], r["id"]) for r in shipped["claims"]}


def test_every_shipped_verdict_of_record_but_reproduced_says_why():
    """Issue 72: each claim that the round of record does not reproduce carries a reason from the declared set and
    the evidence of its check (a claim newly not reproduced needs its entry in i2vlib.records.why.WHY)."""
    from i2vlib.claims.reasons import REASONS

    shipped = json.loads(verdicts.SNAPSHOT.read_text())
    missing = [f"{r['paper']}/{r['id']} ({r['verdict']})" for r in shipped["claims"]
               if r["verdict"] != claims.REPRODUCED and (r["reason"] not in REASONS or not r["evidence"])]
    assert not missing, "no reason declared: " + ", ".join(missing)


def test_the_rounds_progress_counts_each_declared_run_once_and_only_records_of_the_protocol():
    """The verdicts page's "confirmatory round so far": every run the protocol declares for the round, per table and
    rung, is recorded or waiting, with its expected training time; a run two tables share counts once in the total; a
    recorded one was made under the frozen protocol (or one whose records the current protocol keeps), on the round's
    seeds."""
    from i2vlib.protocol.tables import ROUNDS
    from i2vlib.records import ablations, store

    rows = ablations.progress("confirmatory")
    book = store.read()
    seeds = {m: set(s) for m, s in ROUNDS["confirmatory"]["rungs"]}
    assert {(r["table"], r["multiple"]) for r in rows} == {(t, m) for t in ablations.ARMS for m in seeds}
    for r in rows:
        done = {k: v for k, v in r["runs"].items() if v is not None}
        assert r["declared"] == len(r["runs"]) > 0 and r["recorded"] == len(done)
        assert set(r["accelerated"]) == {k for k in done if "devices" in book[k]}   # not one core's seconds
        assert r["hours"] == pytest.approx(sum(v for k, v in done.items() if k not in r["accelerated"]) / 3600)
        for k in done:
            assert book[k]["protocol"] in record_protocols() and book[k]["config"]["seed"] in seeds[r["multiple"]], k
    total = ablations.progress_total(rows)
    union = {k for r in rows for k in r["runs"]}
    assert total["declared"] == len(union) < sum(r["declared"] for r in rows)     # the baselines tables share runs
    assert total["recorded"] == sum(book.get(k) is not None for k in union)
    assert total["accelerated"] == len({k for r in rows for k in r["accelerated"]}) > 0   # the H200's, 2026-11-30
    for r in rows:       # each run left has its expected training time, and only a run left has one
        assert set(r["expected"]) == {k for k, v in r["runs"].items() if v is None}
        assert all(v >= 0 for v in r["expected"].values())     # 0: trained here already, not recorded yet
    expected = {k: v for r in rows for k, v in r["expected"].items()}
    assert total["left_hours"] == pytest.approx(sum(expected.values()) / 3600)
    assert total["left_hours"] > 0 or total["recorded"] == total["declared"]


def test_a_replay_without_a_gate_leaves_the_gates_and_the_protocol_id_as_they_were():
    """The registry log's gate replays take a gate out while they judge, and put it back; the protocol's id, which
    hashes the gates, is the current one even when first asked for inside a replay."""
    from i2vlib.claims import declaration
    from i2vlib.protocol import gates

    before = {m: dict(roles) for m, roles in gates.GATES.items()}
    declaration.protocol_id.cache_clear()
    try:
        with verdicts._without_gate("follows"):
            assert all(g.name != "follows" for roles in gates.GATES.values() for gs in roles.values() for g in gs)
            inside = declaration.protocol_id()
    finally:
        declaration.protocol_id.cache_clear()
    assert gates.GATES == before and inside == declaration.protocol_id()
