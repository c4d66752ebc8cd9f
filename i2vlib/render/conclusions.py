"""Each paper's conclusion in sentences, as the intro, the overviews and the verdicts page state it: which of its
central ideas (:data:`IDEAS`) held, held in part, did not hold or were not tested, why (the claims' reasons, in
words), and how its model compares with copying the input.

    report = i2vlib.records.verdicts.claims_json()
    glue_conclusions(report, against_copy())            # conclusion_<paper>: a paragraph; _list: the verdicts page's

A conclusion reads one round (:func:`round_for`): the confirmatory round once every claim of the paper has its
records there at every rung, the exploratory round until then, and says which. Its counts are :mod:`.findings`'.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping

import numpy as np

from .. import claims
from ..claims import reasons
from ..protocol import references
from ..records import verdicts as book
from .findings import ROUND_WORDS, ROUNDS, Glued, book_counts, count_key, in_round, marked
from .names import ARM_WORDS

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



POSITIVE, PARTIAL = (claims.REPRODUCED,), (claims.PARTLY, claims.BORDERLINE)
NEGATIVE = (claims.NOT_REPRODUCED, claims.CONTRADICTED)


def round_for(report: Mapping, paper: str) -> str:
    """The round a paper's conclusion reads: the confirmatory round once none of its claims waits for a record there
    at any rung (:func:`~i2vlib.claims.reasons.waits`), the exploratory round until then."""
    rows = [r for r in report["claims"] if r["paper"] == paper]
    return "exploratory" if any(reasons.waits(in_round(r, "confirmatory")) for r in rows) else "confirmatory"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _with_declared(row: Mapping, judged: dict) -> dict:
    """``judged`` (:func:`in_round`), its missing reason taken from the round of record: a reason is declared
    (:mod:`i2vlib.records.why`) for the verdict of record, with a check that reads the claim in both rounds, so an
    exploratory verdict that fails as the verdict of record does gives the same reason instead of "none declared"."""
    record = in_round(row, "confirmatory")
    if judged["reason"] is None and judged["verdict"] in NEGATIVE and record["verdict"] in NEGATIVE + PARTIAL \
            and record["reason"] is not None:
        return {**judged, "reason": record["reason"], "reason_words": record["reason_words"],
                "evidence": record["evidence"]}
    return judged


# What failing each gate of i2vlib.protocol.gates (and the zoo's texture check) shows, for a reason in words.
GATE_WORDS = {"face": "it renders no face", "direction": "the intensity read does not rise with the one asked for",
              "moves": "the landmarks barely move", "toward": "the frames do not move toward the truth",
              "follows": "its error falls as the motion grows (it holds the end)",
              "graded": "its change comes in one step",
              "identity": "it loses the input's identity", "near_hold": "it forecasts worse than holding the last frame",
              "finite": "its scores are not finite", "distinct": "its output ignores the input",
              "figure": "it renders no figure", "texture": "its texture is far from the truth's"}
_GATED = re.compile(r"^(?P<arm>.+?) fails (?P<gates>.+)$")
_GATE = re.compile(r"^(?P<gate>\w+)(?: \((?P<k>\d+) of (?P<n>\d+) seeds\))?$")


def _gate_words(row: Mapping, evidence: str) -> str:
    """A gate's evidence ("affinegan fails direction (2 of 5 seeds)") in words: the arm by its name and each gate by
    what passing it shows; the evidence as it is where it does not read so."""
    m = _GATED.match(evidence)
    gates = [_GATE.match(g) for g in m.group("gates").split(", ")] if m else []
    if not m or not all(g and g.group("gate") in GATE_WORDS for g in gates):
        return evidence
    table = getattr(next((c.measurement for c in claims.registry(row["paper"]) if c.id == row["id"]), None),
                    "table", None)
    arm = ARM_WORDS.get(table, {}).get(m.group("arm"), m.group("arm")) + (" on poses" if "pose" in str(table) else "")
    failing = [GATE_WORDS[g.group("gate")] + (f" in {g.group('k')} of {g.group('n')} seeds" if g.group("k") else "")
               for g in gates]
    return f"{arm} fails its gates ({_listed(failing)})"


def _why_words(row: Mapping, judged: Mapping) -> str:
    """A claim's reason in words (a declared sentence as a clause); for a gate, which model fails which gate, in how
    many seeds."""
    if judged["reason"] == "gate" and judged["evidence"]:
        return _gate_words(row, judged["evidence"])
    return _clause(judged["reason_words"])


def idea_states(report: Mapping, paper: str, round: str) -> list[tuple[str, str, list[str]]]:
    """``[(idea, state, why)]`` of ``paper``'s :data:`IDEAS` in ``round``: *held* (every tested claim reproduced),
    *held in part* (some reproduced, partly or borderline), *did not hold* (none, some not reproduced or
    contradicted), *changes with the budget* (every tested claim's verdict does) or *not tested*; ``why``: the reasons
    (:mod:`i2vlib.claims.reasons`, in words; a reason declared for the verdict of record stands for an exploratory
    verdict that fails too) of the claims that did not hold, or of those not tested."""
    by_id = {r["id"]: r for r in report["claims"] if r["paper"] == paper}
    out = []
    for idea, ids in IDEAS[paper]:
        judged = [_with_declared(by_id[i], in_round(by_id[i], round)) for i in ids]
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
        why = list(dict.fromkeys(_why_words(by_id[i], j) for i, j in zip(ids, judged)
                                 if j["verdict"] in failed and j["reason_words"]))
        out.append((idea, state, why))
    return out


STATES = {"held": "Held", "held in part": "Held in part", "did not hold": "Did not hold",
          "changes with the budget": "Its verdict changes with the budget", "not tested": "Not tested"}
UNDECLARED = "no reason declared yet"


def _mean(values) -> float:
    v = np.asarray([float(x) for x in values if x is not None and math.isfinite(float(x))])
    return float(v.mean()) if len(v) else float("nan")


def against_copy() -> dict[str, dict[str, dict]]:
    """Each paper's model in its baselines table against copying the input, at the first rung of each round's
    records: ``{round: {paper: {"round", "seeds", "acd_g", "psnr", "copy_acd_g", "copy_psnr"}}}`` (means over the
    seeds; the copy's from the protocol's references), ``{}`` for a paper not recorded in that round."""
    refs = references.recorded()
    out = {}
    for round in ROUNDS:
        out[round] = {}
        for paper, (table, arm, measure) in HEADLINE_ARMS.items():
            rungs = book.table_runs(table, round)
            runs = next(iter(rungs.values()), (None, {}))[1].get(arm) if rungs else None
            if not runs:
                out[round][paper] = {}
                continue
            score = (lambda r: r["fitted"]) if measure == "retarget" else (lambda r: r)
            copy = score(refs[measure]["copy"])
            out[round][paper] = {"round": round, "seeds": len(runs), "acd_g": _mean(score(r)["acd_g"] for r in runs),
                                 "psnr": _mean(score(r)["psnr"] for r in runs), "copy_acd_g": float(copy["acd_g"]),
                                 "copy_psnr": float(copy["psnr"])}
    return out


def _against_copy_words(paper: str, c: Mapping) -> str:
    if not c:
        return "Against copying the input: not recorded yet."
    closer = "closer to" if c["acd_g"] < c["copy_acd_g"] else "further from"
    psnr = "above" if c["psnr"] > c["copy_psnr"] else "below"
    where = f"the first budget of the {c['round']} round" if c.get("round") else "the first budget"
    return (f"Against copying the input, its model's frames are {closer} the true frames than the input itself "
            f"(ACD-G {c['acd_g']:.2f} against the copy's {c['copy_acd_g']:.2f}, mean of {c['seeds']} seeds at "
            f"{where}), and its PSNR is {psnr} the copy's ({c['psnr']:.1f} against {c['copy_psnr']:.1f} dB).")


def _clause(sentence: str) -> str:
    """A declared reason (a sentence) as a clause of a list: its first letter lower-case unless a name starts it."""
    first = sentence.split(" ", 1)[0]
    return sentence[0].lower() + sentence[1:] if first[:1].isupper() and first[1:].islower() else sentence


def conclusion_parts(report: Mapping, paper: str, copy: Mapping | None = None) -> list[tuple[str, str]]:
    """``paper``'s conclusion as ``[(head, sentence)]`` (HTML-escaped, counts marked): first the round it reads
    (:func:`round_for`) with its counts (no head), then which central ideas (:data:`IDEAS`) held, held in part, did
    not hold or were not tested, the ideas that share their reasons together with a "Why:" (the claims' reasons), and
    last (``copy``: :func:`against_copy`) how its model compares with copying the input in the same round (head
    "Against copying the input")."""
    round = round_for(report, paper)
    counts = book_counts(report)
    c = counts[round]["papers"][paper]
    found = ", ".join(f"{marked(count_key(round, paper, v), n)} {v}" for v, n in c.items() if n)
    waiting = round == "exploratory" and counts["confirmatory"]["provisional"]
    source = f"in the {ROUND_WORDS[round]}" + (", while the confirmatory round's records come in" if waiting else "")
    parts = [("", f"Of its {marked(count_key(paper, 'total'), counts['papers'][paper])} claims, {source}: {found}.")]
    states = idea_states(report, paper, round)
    explored = dict((idea, s) for idea, s, _ in idea_states(report, paper, "exploratory")) \
        if round != "exploratory" else {}
    for state, words in STATES.items():
        groups: dict[tuple, list[str]] = {}         # the ideas of this state that share their reasons, in order
        for idea, s, why in states:
            if s != state:
                continue
            note = ""
            if state == "not tested" and explored.get(idea, "not tested") != "not tested":
                it = "its verdict" if explored[idea] == "changes with the budget" else "it"
                note = f" (in the exploratory round {it} {explored[idea]})"
            key = tuple(why) if state in ("did not hold", "not tested") else ()
            groups.setdefault(key, []).append(idea + note)
        head = f"{words} in the {ROUND_WORDS[round]}" if state == "not tested" and explored else words
        for why, ideas in groups.items():
            declared = [w for w in why if w != UNDECLARED]
            undeclared = ("for some of its claims, no reason is declared yet" if declared
                          else "no reason is declared yet") if UNDECLARED in why else ""
            reasons_ = "; ".join(filter(None, [*declared, undeclared]))
            parts.append((html.escape(head, quote=False),
                          html.escape(f"{'; '.join(ideas)}." + (f" Why: {reasons_}." if reasons_ else ""),
                                      quote=False)))
    if copy is not None and paper in copy.get(round, {}):
        said = _against_copy_words(paper, copy[round][paper])
        head, _, rest = said.partition(", ") if copy[round][paper] else said.partition(": ")
        parts.append((html.escape(head, quote=False), html.escape(rest, quote=False)))
    return parts


COPY_HEAD = "Against copying the input"


def conclusion(report: Mapping, paper: str, copy: Mapping | None = None) -> str:
    """``paper``'s conclusion in a paragraph (:func:`conclusion_parts`), to paste inline (the intro, the overviews)."""
    return " ".join(f"{head}{', ' if head == COPY_HEAD and text.startswith('its') else ': '}{text}" if head else text
                    for head, text in conclusion_parts(report, paper, copy))


def conclusion_list(report: Mapping, paper: str, copy: Mapping | None = None) -> str:
    """``paper``'s conclusion as HTML to read at a glance (the verdicts page): its counts, then one item per
    :func:`conclusion_parts` sentence, its head in bold."""
    (_, counts), *rest = conclusion_parts(report, paper, copy)
    items = "".join(f"<li><strong>{head}:</strong> {text[:1].upper() + text[1:] if head == COPY_HEAD else text}</li>"
                    for head, text in rest)
    return f'<div class="i2v-conclusion"><p>{counts}</p><ul>{items}</ul></div>'


def glue_conclusions(report: Mapping, copy: Mapping | None = None) -> dict[str, str]:
    """Glue each paper's :func:`conclusion` as ``conclusion_<paper>`` (a paragraph, for another page to paste
    inline), its :func:`conclusion_list` as ``conclusion_<paper>_list`` (for the verdicts page's glue directive) and
    the round it reads as ``conclusion_<paper>_round``; returns the paragraphs."""
    from myst_nb import glue

    out = {}
    for paper in dict.fromkeys(r["paper"] for r in report["claims"]):
        out[paper] = conclusion(report, paper, copy)
        glue(f"conclusion_{paper}", Glued(re.sub(r"<[^>]+>", "", out[paper]), out[paper]), display=False)
        listed = conclusion_list(report, paper, copy)
        glue(f"conclusion_{paper}_list", Glued(re.sub(r"<[^>]+>", " ", listed), listed), display=False)
        glue(f"conclusion_{paper}_round", round_for(report, paper), display=False)
    return out
