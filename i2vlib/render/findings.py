"""What the book found, as a reader reads it: every count from one place, and each claim in a few words with both
rounds' verdicts and its reason.

    report = i2vlib.records.verdicts.claims_json()     # both rounds' verdicts of every claim
    counts = book_counts(report)                        # the one source of every count a page states
    glue_counts(counts)                                 # found_*: the verdicts page glues them, other pages paste them
    show_counts(counts); show_claim_list(report)        # the verdicts page's tables and its list of claims

A count is glued as markup that marks what it counts (``<span class="i2v-count" data-count="KEY">N</span>``), so that
a test of the built book can check that a count shown on two pages is the same number (``tests/test_book.py``). Every
glued value is a :class:`Glued`: a page pastes it with ``{glue}`KEY``` in the verdicts notebook and with
``{glue}`/notebooks/verdicts/verdicts.ipynb::KEY``` on another page (myst-nb pastes only HTML across pages).
The words of each claim (:data:`SHORT`) are how the book names it; the claims themselves, their rules and reasons are
:mod:`i2vlib.claims`', and each paper's conclusion in sentences is :mod:`.conclusions`'.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from .. import claims
from ..claims import reasons
from ..claims.declaration import PYTHON_312_IDS
from ..records import verdicts as book
from ..records.ablations import progress_total

ROUNDS = ("confirmatory", "exploratory")           # the round of record first
ROUND_WORDS = {"confirmatory": "confirmatory round (of record)", "exploratory": "exploratory round"}
# A verdict changes with the budget when the rungs that tested a claim disagree: the v2 rung rule then reads
# budget-dependent (the effect differs between the budgets) or inconclusive (it does not).
CHANGES = (claims.BUDGET_DEPENDENT, claims.INCONCLUSIVE)
UNTESTED = ("unrecorded", "gate", "unmeasurable", "zoo")   # reasons.REASONS' kinds of a "not tested" verdict
# ... and of a tested verdict other than "reproduced" (a claim of record without one: "undeclared").
WHY_KINDS = tuple(k for k in reasons.REASONS if k not in UNTESTED) + ("undeclared",)

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
    ``{"protocol", "records_under", "total", "papers": {paper: n}, "robust", "why": {kind: n}, ROUND: {"verdicts":
    {v: n}, "papers": {paper: {v: n}}, "tested", "changes", "provisional", "untested": {kind: n}, "papers_tested":
    {paper: n}}}``. *Tested*: a verdict other than "not tested"; *changes*: the verdict changes with the budget
    (budget-dependent or inconclusive, :data:`CHANGES`); *provisional*: a rung of the claim waits for its records
    (:func:`~i2vlib.claims.reasons.waits`): its verdict may still change; *robust*: the claims whose verdict of
    record every rule variant and the exploratory round give (:func:`~i2vlib.records.verdicts.robustness`; 0 for a
    report without them); *why*: the reasons (:data:`WHY_KINDS`) of the verdicts of record that are tested and not
    reproduced."""
    rows = report["claims"]
    papers = list(dict.fromkeys(r["paper"] for r in rows))
    out = {"protocol": report["protocol"], "records_under": ", ".join(
               f"{i} ({PYTHON_312_IDS[i]} as Python 3.12 hashed it)" if i in PYTHON_312_IDS else i
               for i in report.get("records_under", [report["protocol"]])),
           "total": len(rows),
           "papers": {p: sum(r["paper"] == p for r in rows) for p in papers},
           "robust": sum(r["robust"] for r in report.get("robustness", ())),
           "why": dict.fromkeys(WHY_KINDS, 0)}
    for r in rows:
        if r["verdict"] not in (claims.REPRODUCED, claims.NOT_TESTED):
            out["why"][r.get("reason") or "undeclared"] += 1
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
        provisional = sum(bool(reasons.waits(j)) for _, j in judged)
        out[round] = {"verdicts": verdicts, "papers": per_paper, "untested": untested, "provisional": provisional,
                      "tested": len(rows) - verdicts[claims.NOT_TESTED],
                      "papers_tested": {p: out["papers"][p] - c[claims.NOT_TESTED] for p, c in per_paper.items()},
                      "changes": sum(verdicts[v] for v in CHANGES)}
    return out


def count_key(*words) -> str:
    """The glue key of a count (:func:`count_keys`): ``found_`` and its words."""
    return "_".join(["found", *map(str, words)]).replace(" ", "_").replace("-", "_")


def count_keys(counts: Mapping) -> dict[str, int | str]:
    """``{glue key: value}`` of :func:`book_counts`: ``found_total``, ``found_robust``, ``found_<paper>_total``, per round
    ``found_<round>_<verdict>``, ``found_<round>_<paper>_<verdict>``, ``found_<round>_tested``,
    ``found_<round>_<paper>_tested``, ``found_<round>_changes``, ``found_<round>_provisional``,
    ``found_<round>_untested_<kind>``, ``found_why_<kind>``."""
    out = {count_key(k): counts[k] for k in ("total", "protocol", "records_under", "robust")}
    out.update({count_key("why", k): n for k, n in counts["why"].items()})
    out.update({count_key(p, "total"): n for p, n in counts["papers"].items()})
    for round in ROUNDS:
        c = counts[round]
        out.update({count_key(round, v): n for v, n in c["verdicts"].items()})
        out.update({count_key(round, p, v): n for p, by in c["papers"].items() for v, n in by.items()})
        out.update({count_key(round, p, "tested"): n for p, n in c["papers_tested"].items()})
        out.update({count_key(round, "untested", k): n for k, n in c["untested"].items()})
        out.update({count_key(round, p, "changes"): sum(by[v] for v in CHANGES) for p, by in c["papers"].items()})
        out[count_key(round, "tested")] = c["tested"]
        out[count_key(round, "changes")] = c["changes"]
        out[count_key(round, "provisional")] = c["provisional"]
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
    return glue_marked(count_keys(counts))


def glue_marked(keys: Mapping[str, int | str]) -> Mapping[str, int | str]:
    """Glue each value of ``keys`` under its key, marked with what it counts (:func:`marked`); returns ``keys``."""
    from myst_nb import glue

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
        cell = lambda n, *key: marked(count_key(round, *key), n)     # noqa: E731
        lines = _head(["verdict", *(book.SHORT[p] for p in papers), "all three"])
        lines += [f"| {v} | " + " | ".join(cell(c["papers"][p][v], p, v) for p in papers)
                  + f" | {cell(c['verdicts'][v], v)} |" for v in shown]
        lines.append("| *tested* | " + " | ".join(cell(c["papers_tested"][p], p, "tested") for p in papers)
                     + f" | {cell(c['tested'], 'tested')} |")
        changes = {p: sum(c["papers"][p][v] for v in CHANGES) for p in papers}
        lines.append("| *changes with the budget* | " + " | ".join(cell(changes[p], p, "changes") for p in papers)
                     + f" | {cell(c['changes'], 'changes')} |")
        lines.append("| **claims** | " + " | ".join(f"**{marked(count_key(p, 'total'), counts['papers'][p])}**"
                                                    for p in papers)
                     + f" | **{marked(count_key('total'), counts['total'])}** |")
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
    """One claim as an HTML ``<details>``: its words, its verdict of record (provisional where a rung of it waits for
    its records) and the exploratory one; opened, the paper's place and words, each round's verdict at each budget
    with what was measured, why it is not reproduced, whether the verdict is robust (``robust``: its row of
    :func:`~i2vlib.records.verdicts.robustness`), and a link to the chapter that judges it."""
    e = html.escape
    record, explored = in_round(row, "confirmatory"), in_round(row, "exploratory")
    waits = reasons.waits(record)
    pending = (f"<span class=\"i2v-claim-explored\">provisional: "
               f"{e(', '.join(map(_rung_words, waits)))} not recorded yet</span> ") if waits else ""
    lines = [f"<details class=\"i2v-claim\"><summary><span class=\"i2v-claim-words\">{e(short(row))}</span> "
             f"<span class=\"i2v-claim-verdicts\">{_verdict_span(record['verdict'])} {pending}"
             f"<span class=\"i2v-claim-explored\">exploratory: {_verdict_span(explored['verdict'])}</span></span>"
             "</summary>",
             f"<p><strong>{e(row['where'])}.</strong> {e(row['words'])}</p>", "<ul>"]
    for round, j in (("confirmatory", record), ("exploratory", explored)):
        at = "; ".join(f"{_rung_words(label)}: {e(rung['verdict'])} ({e(rung['measured'])})"
                       for label, rung in j["rungs"].items())
        # Reasons are declared for the round of record; the exploratory round shows only those its verdict gives.
        shown = j["reason_words"] and (round == "confirmatory" or j["reason"] is not None)
        why = f" <em>Why: {e(j['reason_words'])}" + (f": {e(j['evidence'])}" if j["evidence"] else "") + ".</em>" \
            if shown else ""
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


def glue_progress(rows: list[dict]) -> dict[str, int | str]:
    """Glue the round's progress (:func:`i2vlib.records.ablations.progress`) as ``found_round_declared``,
    ``found_round_recorded`` (runs, each counted once), ``found_round_hours`` (of training on one core),
    ``found_round_accelerated`` (the runs trained on a GPU instead, not in those hours) and
    ``found_round_left_hours`` (the training expected for the runs left), marked (:func:`marked`); returns them."""
    total = progress_total(rows)
    keys = {count_key("round", k): total[k] for k in ("declared", "recorded", "accelerated")}
    keys |= {count_key("round", k): f"{total[k]:.1f}" for k in ("hours", "left_hours")}
    return glue_marked(keys)


def show_progress(rows: list[dict]) -> None:
    """The round's records so far (:func:`i2vlib.records.ablations.progress`): per table (and the chapter that shows
    it), at each budget, the runs recorded of those the protocol declares, their hours of training on one core (and
    how many trained on a GPU instead) and the hours the runs left are expected to take."""
    from IPython.display import Markdown, display

    chapter = {t: c for c, tables in book.CHAPTER_TABLES.items() for t in tables}
    multiples = list(dict.fromkeys(r["multiple"] for r in rows))
    lines = _head(["table (chapter)", *(f"{m}x the budget" for m in multiples)])
    for table in dict.fromkeys(r["table"] for r in rows):
        cells = {r["multiple"]: f"{r['recorded']} of {r['declared']} ({r['hours']:.1f} h"
                 + (f", and {len(r['accelerated'])} on a GPU" if r.get("accelerated") else "")
                 + (f"; about {sum(r['expected'].values()) / 3600:.1f} h left)" if r["expected"] else ")")
                 for r in rows if r["table"] == table}
        lines.append(f"| `{table}` ({book.CHAPTER_TITLES[chapter[table]]}) | "
                     + " | ".join(cells[m] for m in multiples) + " |")
    display(Markdown("\n".join(lines)))


AS_BEFORE = "today's records as before it"


def show_log(rows: list[dict]) -> None:
    """The registry log (:func:`i2vlib.records.verdicts.log_rows`) as a list, one change an item: its date, commit and
    whether records existed then, what changed, why, and what judging today's records as before it changes. A list
    reads on a phone, where a table of six long columns did not."""
    from IPython.display import Markdown, display

    def said(text) -> str:                      # a sentence, ended (the log's texts may not end in a stop)
        text = claims.markdown_cell(text).strip()
        return text if text.endswith((".", "!", "?")) else text + "."

    items = [f"- **{r['date']}** (`{r['commit']}`; records then: {r['records then']}). {said(r['change'])} "
             f"*Why:* {said(r['why'])} *Today's records as before it:* {said(r[AS_BEFORE])}" for r in rows]
    display(Markdown("\n".join(items)))
