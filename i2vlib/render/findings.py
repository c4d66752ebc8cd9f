"""What the book found, as a reader reads it: every count from one place, each claim in a few words, each paper's
conclusion in sentences.

    report = i2vlib.records.verdicts.claims_json()     # both rounds' verdicts of every claim
    counts = book_counts(report)                        # the one source of every count a page states
    glue_counts(counts)                                 # found_*: the verdicts page glues them, other pages paste them
    show_counts(counts); show_claim_list(report)        # the verdicts page's tables and its list of claims
    conclusions(report, against_copy())                 # {paper: a paragraph}: what held, what did not, and why

A count is glued as markup that marks what it counts (``<span class="i2v-count" data-count="KEY">N</span>``), so that
a test of the built book can check that a count shown on two pages is the same number (``tests/test_book.py``). Every
glued value is a :class:`Glued`: a page pastes it with ``{glue}`KEY``` in the verdicts notebook and with
``{glue}`/notebooks/verdicts/verdicts.ipynb::KEY``` on another page (myst-nb pastes only HTML across pages).
The words of each claim and the papers' central ideas (:data:`SHORT`, :data:`IDEAS`) are how the book names them;
the claims themselves, their rules and reasons are :mod:`i2vlib.claims`'.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping

import numpy as np

from .. import claims
from ..claims import reasons
from ..records import verdicts as book

ROUNDS = ("confirmatory", "exploratory")           # the round of record first
ROUND_WORDS = {"confirmatory": "confirmatory round (of record)", "exploratory": "exploratory round"}
# A verdict changes with the budget when the rungs that tested a claim disagree: the v2 rung rule then reads
# budget-dependent (the effect differs between the budgets) or inconclusive (it does not).
CHANGES = (claims.BUDGET_DEPENDENT, claims.INCONCLUSIVE)
UNTESTED = ("unrecorded", "gate", "unmeasurable")   # reasons.REASONS' kinds of a "not tested" verdict

# Each claim in a few words (the verdicts page's list, the conclusions); its full words stand in its chapter.
SHORT = {
    "affinegan/self-reconstruction": "a = 0 gives the input back",
    "affinegan/monotone-progress": "the expression grows steadily with a",
    "affinegan/peak-at-one": "a = 1 reaches the peak expression",
    "affinegan/eq5-infers-intensity": "Eq. 5 infers each frame's intensity",
    "affinegan/a-within-range": "the inferred a stays within [0, 1]",
    "affinegan/mlp-estimator-fails": "an MLP in place of Eq. 5 gives non-monotone videos",
    "affinegan/no-loss-on-a-leaves-range": "without the loss on a, a leaves [0, 1]",
    "affinegan/no-loss-on-a-smaller-changes": "without the loss on a, the face changes less",
    "affinegan/encoders-attend": "the residual encoder attends to the mouth",
    "affinegan/disordered-videos": "on disordered training videos it beats Fan et al.",
    "affinegan/position-labels-fail": "position labels fail on disordered videos",
    "affinegan/acd-below-convlstm": "lower ACD-G than ConvLSTM",
    "affinegan/turing-test": "over half its videos pass for real",
    "affinegan/unified-model-renders-each-expression": "one unified model renders each expression",
    "affinegan/unified-model-as-strong-as-separate": "the unified model is as strong as separate ones",
    "affinegan/acd-i-below-convlstm": "lower ACD-I than ConvLSTM",
    "affinegan/acd-i-below-vgan": "lower ACD-I than VideoGAN",
    "affinegan/acd-g-below-vgan": "lower ACD-G than VideoGAN",
    "affinegan/acd-i-below-fgst": "lower ACD-I than FGST",
    "affinegan/acd-g-below-fgst": "lower ACD-G than FGST",
    "affinegan/acd-i-below-ganimation": "lower ACD-I than GANimation",
    "affinegan/acd-g-below-ganimation": "lower ACD-G than GANimation",
    "affinegan/ganimation-changes-less": "GANimation changes the face less",
    "fan/f-of-i-0-is-i": "a = 0 gives the input back",
    "fan/expression-progress": "the change grows with a",
    "fan/peak-at-one": "a = 1 is the peak expression",
    "fan/landmarks-move-steadily": "the landmarks move steadily with a",
    "fan/landmarks-align-with-truth": "the landmarks move as far as the truth's",
    "fan/convlstm-barely-moves": "ConvLSTM's face barely moves",
    "fan/beats-convlstm": "better frames than ConvLSTM",
    "fan/local-d-against-blur": "the local discriminator prevents blur",
    "fan/landmarks-place-parts": "landmark prediction places the facial parts",
    "fan/landmarks-against-blur": "landmark prediction prevents blur",
    "fan/rt-against-sudden-change": "the temporal regulariser prevents sudden changes",
    "fan/rt-against-blur": "the temporal regulariser prevents blur",
    "fan/joint-beats-separate": "a joint model beats one model per expression",
    "fan/expression-transfer": "the joint model turns one expression into another",
    "fan/turing-test": "nearly half its videos pass for real",
    "fan/hp-jumps-at-the-start": "HP jumps at the first frame",
    "fan/hp-goes-back": "HP's smile comes, goes back and comes again",
    "frgan/table1-acd-i": "identity kept near the real videos' (ACD-I)",
    "frgan/table1-acd-c": "consistency near the real videos' (ACD-C)",
    "frgan/retargeting-moves-the-face": "retargeting moves the face",
    "frgan/eq4-as-printed": "G_M trains with Eq. 4's unweighted sum",
    "frgan/eq2-beats-eq1-large-motion": "residual motion (Eq. 2) beats Eq. 1 on large motion",
    "frgan/dense-decoder-identity": "the dense decoder keeps identity better",
    "frgan/dense-decoder-pixels": "the dense decoder lowers the error",
    "frgan/dense-connections-not-cost": "dense connections beat a plain decoder of equal cost",
    "frgan/refinement-consistency": "refinement by G_R makes clips more consistent",
    "frgan/refinement-pixels": "refinement by G_R lowers the error",
    "frgan/residual-beats-villegas": "without residual motion it decays to Villegas et al.",
    "frgan/random-jumps": "random jumps in time help training",
    "frgan/d-i-helps-refinement": "the image critic D_I helps refinement",
    "frgan/user-preference": "people prefer its videos",
    "frgan/pose-psnr-per-action": "on poses, higher PSNR than without residual motion, per action",
    "frgan/pose-dense-mse": "on poses, the dense decoder lowers the error",
    "frgan/pose-refine-mse": "on poses, refinement lowers the error",
    "frgan/table1-acd-i-below-mcnet": "lower ACD-I than MCNet",
    "frgan/table1-acd-c-below-mcnet": "lower ACD-C than MCNet",
    "frgan/table1-acd-i-below-mocogan": "lower ACD-I than MoCoGAN",
    "frgan/table1-acd-c-below-mocogan": "lower ACD-C than MoCoGAN",
    "frgan/table1-acd-i-below-villegas": "lower ACD-I than Villegas et al.",
    "frgan/table1-acd-c-below-villegas": "lower ACD-C than Villegas et al.",
    "frgan/table3-mse-below-villegas": "lower pose error than Villegas et al.",
    "frgan/table3-mse-gt-below-villegas": "lower pose error than Villegas et al., true joints",
    "frgan/table3-mse-below-mathieu": "lower pose error than Mathieu et al.",
    "frgan/table3-mse-below-vgan": "lower pose error than VGAN",
}

# Each paper's central ideas, each the claims that test it (every claim in exactly one: tests/test_findings.py).
IDEAS = {
    "affinegan": [
        ("the affine path renders a controllable expression (the input at a = 0, the peak at a = 1, steady between)",
         ["self-reconstruction", "monotone-progress", "peak-at-one"]),
        ("Eq. 5 infers each frame's intensity, within [0, 1], where an MLP fails",
         ["eq5-infers-intensity", "a-within-range", "mlp-estimator-fails"]),
        ("the adversarial loss on a keeps a in range and the changes large",
         ["no-loss-on-a-leaves-range", "no-loss-on-a-smaller-changes"]),
        ("the residual encoder attends to the moving parts", ["encoders-attend"]),
        ("inferred intensities survive disordered training videos, where position labels fail",
         ["disordered-videos", "position-labels-fail"]),
        ("one unified model serves every expression",
         ["unified-model-renders-each-expression", "unified-model-as-strong-as-separate"]),
        ("lower ACD than its baselines (Table 2)",
         ["acd-below-convlstm", "acd-i-below-convlstm", "acd-i-below-vgan", "acd-g-below-vgan", "acd-i-below-fgst",
          "acd-g-below-fgst", "acd-i-below-ganimation", "acd-g-below-ganimation", "ganimation-changes-less"]),
        ("people take its videos for real", ["turing-test"]),
    ],
    "fan": [
        ("the action variable a controls the expression (the input at a = 0, the peak at a = 1, growing between)",
         ["f-of-i-0-is-i", "expression-progress", "peak-at-one"]),
        ("the landmarks move steadily, as far as the truth's",
         ["landmarks-move-steadily", "landmarks-align-with-truth"]),
        ("it beats ConvLSTM, whose face barely moves", ["convlstm-barely-moves", "beats-convlstm"]),
        ("each added loss earns its place (local discriminator, landmark prediction, temporal regulariser)",
         ["local-d-against-blur", "landmarks-place-parts", "landmarks-against-blur", "rt-against-sudden-change",
          "rt-against-blur"]),
        ("one joint model of several expressions beats separate ones and mixes them",
         ["joint-beats-separate", "expression-transfer"]),
        ("HP, its baseline, jumps at the start and goes back", ["hp-jumps-at-the-start", "hp-goes-back"]),
        ("people take its videos for real", ["turing-test"]),
    ],
    "frgan": [
        ("retargeting moves the face and keeps identity and consistency near the real videos'",
         ["table1-acd-i", "table1-acd-c", "retargeting-moves-the-face"]),
        ("Eq. 4 trains as printed", ["eq4-as-printed"]),
        ("residual motion (Eq. 2) beats the difference image and no residual",
         ["eq2-beats-eq1-large-motion", "residual-beats-villegas"]),
        ("the dense decoder helps",
         ["dense-decoder-identity", "dense-decoder-pixels", "dense-connections-not-cost", "pose-dense-mse"]),
        ("refinement by G_R helps, with its image critic",
         ["refinement-consistency", "refinement-pixels", "d-i-helps-refinement", "pose-refine-mse"]),
        ("random jumps in time help training", ["random-jumps"]),
        ("it beats its baselines on faces (Table 1) and poses (Table 3, Fig. 7)",
         ["table1-acd-i-below-mcnet", "table1-acd-c-below-mcnet", "table1-acd-i-below-mocogan",
          "table1-acd-c-below-mocogan", "table1-acd-i-below-villegas", "table1-acd-c-below-villegas",
          "table3-mse-below-villegas", "table3-mse-gt-below-villegas", "table3-mse-below-mathieu",
          "table3-mse-below-vgan", "pose-psnr-per-action"]),
        ("people prefer its videos", ["user-preference"]),
    ],
}

# Each paper's model in its baselines table, and what it is scored on there (the retargeting protocol: G_C fitted).
HEADLINE_ARMS = {"fan": ("fan-baselines", "fan", "arm"), "affinegan": ("affinegan-baselines", "affinegan", "arm"),
                 "frgan": ("frgan-baselines", "frgan", "retarget")}


def short(row: Mapping) -> str:
    """A claim of a report in a few words (:data:`SHORT`)."""
    return SHORT[f"{row['paper']}/{row['id']}"]


def in_round(row: Mapping, round: str) -> dict:
    """A row of :func:`i2vlib.records.verdicts.claims_json` as judged in ``round``: its verdict, its rungs and its
    reason (:func:`i2vlib.claims.reasons.reason`)."""
    if round == "confirmatory":
        return {"verdict": row["verdict"], "rungs": row["rungs"], "reason": row.get("reason"),
                "reason_words": row.get("reason_words", ""), "evidence": row.get("evidence", "")}
    judged = {**row, "verdict": row["exploratory_verdict"], "rungs": row["exploratory_rungs"], "interaction_p": None}
    return {"verdict": judged["verdict"], "rungs": judged["rungs"], **reasons.reason(judged)}


def book_counts(report: Mapping) -> dict:
    """Every count the book states about its verdicts, from one report (:func:`~i2vlib.records.verdicts.claims_json`):
    ``{"protocol", "total", "papers": {paper: n}, "robust", ROUND: {"verdicts": {v: n}, "papers": {paper: {v: n}},
    "tested", "changes", "untested": {kind: n}, "papers_tested": {paper: n}}}``. *Tested*: a verdict other than "not tested";
    *changes*: the verdict changes with the budget (budget-dependent or inconclusive, :data:`CHANGES`); *robust*: the
    claims whose verdict of record every rule variant and the exploratory round give
    (:func:`~i2vlib.records.verdicts.robustness`; 0 for a report without them)."""
    rows = report["claims"]
    papers = list(dict.fromkeys(r["paper"] for r in rows))
    out = {"protocol": report["protocol"], "total": len(rows),
           "papers": {p: sum(r["paper"] == p for r in rows) for p in papers},
           "robust": sum(r["robust"] for r in report.get("robustness", ()))}
    for round in ROUNDS:
        judged = [(r["paper"], in_round(r, round)) for r in rows]
        verdicts = dict.fromkeys(claims.VERDICTS, 0)
        per_paper = {p: dict.fromkeys(claims.VERDICTS, 0) for p in papers}
        untested = dict.fromkeys(UNTESTED, 0)
        for paper, j in judged:
            verdicts[j["verdict"]] += 1
            per_paper[paper][j["verdict"]] += 1
            if j["verdict"] == claims.NOT_TESTED:
                untested[j["reason"]] += 1
        out[round] = {"verdicts": verdicts, "papers": per_paper, "untested": untested,
                      "tested": len(rows) - verdicts[claims.NOT_TESTED],
                      "papers_tested": {p: out["papers"][p] - c[claims.NOT_TESTED] for p, c in per_paper.items()},
                      "changes": sum(verdicts[v] for v in CHANGES)}
    return out


def _key(*words) -> str:
    return "_".join(["found", *map(str, words)]).replace(" ", "_").replace("-", "_")


def count_keys(counts: Mapping) -> dict[str, int | str]:
    """``{glue key: value}`` of :func:`book_counts`: ``found_total``, ``found_robust``, ``found_<paper>_total``, per round
    ``found_<round>_<verdict>``, ``found_<round>_<paper>_<verdict>``, ``found_<round>_tested``,
    ``found_<round>_<paper>_tested``, ``found_<round>_changes``, ``found_<round>_untested_<kind>``."""
    out = {_key("total"): counts["total"], _key("protocol"): counts["protocol"], _key("robust"): counts["robust"]}
    out.update({_key(p, "total"): n for p, n in counts["papers"].items()})
    for round in ROUNDS:
        c = counts[round]
        out.update({_key(round, v): n for v, n in c["verdicts"].items()})
        out.update({_key(round, p, v): n for p, by in c["papers"].items() for v, n in by.items()})
        out.update({_key(round, p, "tested"): n for p, n in c["papers_tested"].items()})
        out.update({_key(round, "untested", k): n for k, n in c["untested"].items()})
        out.update({_key(round, p, "changes"): sum(by[v] for v in CHANGES) for p, by in c["papers"].items()})
        out[_key(round, "tested")] = c["tested"]
        out[_key(round, "changes")] = c["changes"]
    return out


class Glued:
    """A glued value with its plain text (``text/plain``: ``{glue:text}``) and its markup, the same for Markdown and
    HTML (``{glue}`` pastes the HTML, in the notebook and on another page)."""

    def __init__(self, text: str, markup: str):
        self.text, self.markup = text, markup

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.markup

    def _repr_html_(self) -> str:
        return self.markup


def marked(key: str, value) -> str:
    """A count as glued Markdown that says what it counts (the built book's pages are checked against each other)."""
    return f'<span class="i2v-count" data-count="{key}">{html.escape(str(value))}</span>'


def glue_counts(counts: Mapping) -> dict[str, int | str]:
    """Glue every count of :func:`book_counts` (:func:`count_keys`), marked (:func:`marked`); a page pastes one with
    ``{glue}`/notebooks/verdicts/verdicts.ipynb::found_total```. Returns the keys and values."""
    from myst_nb import glue

    keys = count_keys(counts)
    for key, value in keys.items():
        glue(key, Glued(str(value), marked(key, value)), display=False)
    return keys


def _head(columns) -> list[str]:
    return [f"| {' | '.join(columns)} |", "|" + " --- |" * len(columns)]


def show_counts(counts: Mapping) -> None:
    """Two narrow tables, one per round: each verdict's count per paper and for all three, then the claims tested,
    those whose verdict changes with the budget, and every claim; each count marked with what it counts
    (:func:`marked`)."""
    from IPython.display import Markdown, display

    papers = list(counts["papers"])
    shown = [v for v in claims.VERDICTS if any(counts[r]["verdicts"][v] for r in ROUNDS)]
    for round in ROUNDS:
        c = counts[round]
        cell = lambda n, *key: marked(_key(round, *key), n)     # noqa: E731
        lines = _head(["verdict", *(book.SHORT[p] for p in papers), "all three"])
        lines += [f"| {v} | " + " | ".join(cell(c["papers"][p][v], p, v) for p in papers)
                  + f" | {cell(c['verdicts'][v], v)} |" for v in shown]
        lines.append("| *tested* | " + " | ".join(cell(c["papers_tested"][p], p, "tested") for p in papers)
                     + f" | {cell(c['tested'], 'tested')} |")
        changes = {p: sum(c["papers"][p][v] for v in CHANGES) for p in papers}
        lines.append("| *changes with the budget* | " + " | ".join(cell(changes[p], p, "changes") for p in papers)
                     + f" | {cell(c['changes'], 'changes')} |")
        lines.append("| **claims** | " + " | ".join(f"**{marked(_key(p, 'total'), counts['papers'][p])}**"
                                                    for p in papers)
                     + f" | **{marked(_key('total'), counts['total'])}** |")
        display(Markdown(f"**The {ROUND_WORDS[round]}**\n\n" + "\n".join(lines)))


def _rung_words(label: str) -> str:
    return "shipped model" if label == "zoo" else f"{label}x"


def _chapter_url(chapter: str) -> str:
    """From a page of ``notebooks/<part>/``, the place where ``chapter`` judges its claims."""
    target = book.CLAIMS_TARGET.get(chapter)
    return f"../{chapter}.html" + (f"#{target}" if target else "")


def _verdict_span(verdict: str) -> str:
    return f'<span class="i2v-verdict i2v-{verdict.replace(" ", "-")}">{html.escape(verdict)}</span>'


def _robust_words(robust: Mapping) -> str:
    if robust["verdict"] == claims.NOT_TESTED:
        return "Robust across the forks: no (not tested in the round of record)."
    apart = [f"{name}: {v}" for name, v in robust["variants"].items() if v != robust["verdict"]]
    return "Robust across the forks: yes (every rule variant of the registry log and the exploratory round agree)." \
        if robust["robust"] else f"Robust across the forks: no ({'; '.join(apart)})."


def claim_item(row: Mapping, robust: Mapping | None = None) -> str:
    """One claim as an HTML ``<details>``: its words, its verdict of record and the exploratory one; opened, the
    paper's place and words, each round's verdict at each budget with what was measured, why it is not reproduced,
    whether the verdict is robust (``robust``: its row of :func:`~i2vlib.records.verdicts.robustness`), and a link to
    the chapter that judges it."""
    e = html.escape
    record, explored = in_round(row, "confirmatory"), in_round(row, "exploratory")
    lines = [f"<details class=\"i2v-claim\"><summary><span class=\"i2v-claim-words\">{e(short(row))}</span> "
             f"<span class=\"i2v-claim-verdicts\">{_verdict_span(record['verdict'])} "
             f"<span class=\"i2v-claim-explored\">exploratory: {_verdict_span(explored['verdict'])}</span></span>"
             "</summary>",
             f"<p><strong>{e(row['where'])}.</strong> {e(row['words'])}</p>", "<ul>"]
    for round, j in (("confirmatory", record), ("exploratory", explored)):
        at = "; ".join(f"{_rung_words(label)}: {e(rung['verdict'])} ({e(rung['measured'])})"
                       for label, rung in j["rungs"].items())
        why = f" <em>Why: {e(j['reason_words'])}" + (f": {e(j['evidence'])}" if j["evidence"] else "") + ".</em>" \
            if j["reason_words"] else ""
        lines.append(f"<li>{e(ROUND_WORDS[round].capitalize())}: <strong>{e(j['verdict'])}</strong>. {at}.{why}</li>")
    if robust is not None:
        lines.append(f"<li>{e(_robust_words(robust))}</li>")
    title = book.CHAPTER_TITLES[row["chapter"]]
    lines += ["</ul>", f"<p>Judged in <a href=\"{_chapter_url(row['chapter'])}\">{e(title)}</a>, with the measurement "
                       "and its rule.</p></details>"]
    return "\n".join(lines)


def show_claim_list(report: Mapping) -> None:
    """Per paper, every claim as a line that opens (:func:`claim_item`): a list, which fits a phone as well as a
    wide screen."""
    from IPython.display import HTML, display

    rows = report["claims"]
    robust = {(r["paper"], r["id"]): r for r in report.get("robustness", ())}
    for paper in dict.fromkeys(r["paper"] for r in rows):
        items = "\n".join(claim_item(r, robust.get((paper, r["id"]))) for r in rows if r["paper"] == paper)
        display(HTML(f"<h3>{html.escape(book.TITLES[paper])}</h3>\n<div class=\"i2v-claims\">\n{items}\n</div>"))


# ------------------------------------------------------------------------------------------------- conclusions
POSITIVE, PARTIAL = (claims.REPRODUCED,), (claims.PARTLY, claims.BORDERLINE)
NEGATIVE = (claims.NOT_REPRODUCED, claims.CONTRADICTED)


def round_for(report: Mapping, paper: str) -> str:
    """The round a paper's conclusion reads: the confirmatory round once none of its claims waits for a record there,
    the exploratory round until then."""
    rows = [r for r in report["claims"] if r["paper"] == paper]
    waiting = [r for r in rows if in_round(r, "confirmatory")["reason"] == "unrecorded"]
    return "exploratory" if waiting else "confirmatory"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def idea_states(report: Mapping, paper: str, round: str) -> list[tuple[str, str, list[str]]]:
    """``[(idea, state, why)]`` of ``paper``'s :data:`IDEAS` in ``round``: *held* (every tested claim reproduced),
    *held in part* (some reproduced, partly or borderline), *did not hold* (none, some not reproduced or
    contradicted), *changes with the budget* (every tested claim's verdict does) or *not tested*; ``why``: the reasons
    (:mod:`i2vlib.claims.reasons`, in words) of the claims that did not hold, or of those not tested."""
    by_id = {r["id"]: r for r in report["claims"] if r["paper"] == paper}
    out = []
    for idea, ids in IDEAS[paper]:
        judged = [in_round(by_id[i], round) for i in ids]
        verdicts = [j["verdict"] for j in judged if j["verdict"] != claims.NOT_TESTED]
        if not verdicts:
            state = "not tested"
        elif all(v in POSITIVE for v in verdicts):
            state = "held"
        elif any(v in POSITIVE + PARTIAL for v in verdicts):
            state = "held in part"
        elif any(v in NEGATIVE for v in verdicts):
            state = "did not hold"
        else:
            state = "changes with the budget"
        failed = NEGATIVE if state != "not tested" else (claims.NOT_TESTED,)
        why = list(dict.fromkeys(j["reason_words"] for j in judged if j["verdict"] in failed and j["reason_words"]))
        out.append((idea, state, why))
    return out


STATES = {"held": "Held", "held in part": "Held in part", "did not hold": "Did not hold",
          "changes with the budget": "Its verdict changes with the budget", "not tested": "Not tested"}
UNDECLARED = "no reason declared yet"


def _mean(values) -> float:
    v = np.asarray([float(x) for x in values if x is not None and math.isfinite(float(x))])
    return float(v.mean()) if len(v) else float("nan")


def against_copy(round: str = "exploratory") -> dict[str, dict]:
    """Each paper's model in its baselines table against copying the input, at the first rung of ``round``'s records:
    ``{paper: {"seeds", "acd_g", "psnr", "copy_acd_g", "copy_psnr"}}`` (means over the seeds; the copy's from the
    protocol's references), or ``{}`` for a paper not recorded there."""
    from ..protocol import references

    refs = references.recorded()
    out = {}
    for paper, (table, arm, measure) in HEADLINE_ARMS.items():
        rungs = book.table_runs(table, round)
        runs = next(iter(rungs.values()), (None, {}))[1].get(arm) if rungs else None
        if not runs:
            out[paper] = {}
            continue
        score = (lambda r: r["fitted"]) if measure == "retarget" else (lambda r: r)
        copy = score(refs[measure]["copy"])
        out[paper] = {"seeds": len(runs), "acd_g": _mean(score(r)["acd_g"] for r in runs),
                      "psnr": _mean(score(r)["psnr"] for r in runs), "copy_acd_g": float(copy["acd_g"]),
                      "copy_psnr": float(copy["psnr"])}
    return out


def _against_copy_words(paper: str, c: Mapping) -> str:
    if not c:
        return "Against copying the input: not recorded yet."
    closer = "closer to" if c["acd_g"] < c["copy_acd_g"] else "further from"
    psnr = "above" if c["psnr"] > c["copy_psnr"] else "below"
    return (f"Against copying the input, its model's frames are {closer} the true frames than the input itself "
            f"(ACD-G {c['acd_g']:.2f} against the copy's {c['copy_acd_g']:.2f}, mean of {c['seeds']} seeds at the "
            f"budget), and its PSNR is {psnr} the copy's ({c['psnr']:.1f} against {c['copy_psnr']:.1f} dB).")


def conclusion(report: Mapping, paper: str, copy: Mapping | None = None) -> str:
    """``paper``'s conclusion in a paragraph of Markdown: the round it reads (:func:`round_for`) with its counts,
    which central ideas (:data:`IDEAS`) held, which did not and why (the claims' reasons), and (``copy``:
    :func:`against_copy`) how its model compares with copying the input."""
    round = round_for(report, paper)
    counts = book_counts(report)
    c = counts[round]["papers"][paper]
    found = ", ".join(f"{marked(_key(round, paper, v), n)} {v}" for v, n in c.items() if n)
    waiting = round == "exploratory" and counts["confirmatory"]["untested"]["unrecorded"]
    source = f"in the {ROUND_WORDS[round]}" + (", while the confirmatory round's records come in" if waiting else "")
    parts = [f"Of its {marked(_key(paper, 'total'), counts['papers'][paper])} claims, {source}: {found}."]
    states = idea_states(report, paper, round)
    for state, words in STATES.items():
        ideas = [idea for idea, s, _ in states if s == state]
        if not ideas:
            continue
        why = list(dict.fromkeys(w for _, s, ws in states if s == state for w in ws))
        declared = [w for w in why if w != UNDECLARED]
        because = ""
        if state in ("did not hold", "not tested") and why:
            undeclared = ("for some, no reason is declared yet" if declared else "no reason is declared yet") \
                if UNDECLARED in why else ""
            because = f" (why: {'; '.join(filter(None, [*declared, undeclared]))})"
        parts.append(html.escape(f"{words}: {'; '.join(ideas)}{because}.", quote=False))
    if copy is not None and paper in copy:
        parts.append(html.escape(_against_copy_words(paper, copy[paper]), quote=False))
    return " ".join(parts)


def glue_conclusions(report: Mapping, copy: Mapping | None = None) -> dict[str, str]:
    """Glue each paper's :func:`conclusion` as ``conclusion_<paper>`` and the round it reads as
    ``conclusion_<paper>_round``; returns the paragraphs."""
    from myst_nb import glue

    out = {}
    for paper in dict.fromkeys(r["paper"] for r in report["claims"]):
        out[paper] = conclusion(report, paper, copy)
        glue(f"conclusion_{paper}", Glued(re.sub(r"<[^>]+>", "", out[paper]), out[paper]), display=False)
        glue(f"conclusion_{paper}_round", round_for(report, paper), display=False)
    return out


AS_BEFORE = "today's records as before it"


def show_log(rows: list[dict]) -> None:
    """The registry log (:func:`i2vlib.records.verdicts.log_rows`) as a list, one change an item: its date, commit and
    whether records existed then, what changed, why, and what judging today's records as before it changes. A list
    reads on a phone, where a table of six long columns did not."""
    from IPython.display import Markdown, display

    from ..claims import markdown_cell as one_line

    items = [f"- **{r['date']}** (`{r['commit']}`; records then: {r['records then']}). {one_line(r['change'])} "
             f"*Why:* {one_line(r['why'])} *Today's records as before it:* {one_line(r[AS_BEFORE])}" for r in rows]
    display(Markdown("\n".join(items)))
