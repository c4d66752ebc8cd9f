"""What every chapter does the same way: its setup, its claims table, and the words that compare two numbers.

    cfg = i2v.render.setup(PROFILE, data=DATA, image_size=IMAGE_SIZE)   # checks, plot style, environment
    i2v.render.show_claims("fan", measurements)                          # the table, and its counts glued
    glue("vs_copy", i2v.render.compare(ours, copy, "higher than", "lower than"))

A chapter's prose never picks a comparison word with an ``if`` of its own: a verdict comes from the claims
registry (:mod:`i2vlib.claims`), and a plain comparison of two measured numbers from :func:`compare`.
IPython, myst-nb and matplotlib are imported by the functions that use them (they are the chapters' own
packages, not the library's).
"""

from __future__ import annotations

import math

from .. import claims
from ..config import check_data, environment, profile
from ..errors import I2VError
from ..records import verdicts as book

# The book's plot style. A figure shows at one page pixel per figure pixel up to the content column (about 820 CSS px
# on a 1440-px screen) and is shrunk beyond it, so a chapter keeps its figures at most FIGURE_WIDTH inches wide
# (FIGURE_WIDTH * figure.dpi px); every text is then at least 10 px on the page (10 pt at 80 dpi: 11 px; the smallest,
# tick and legend labels at 9.5 pt: 10.6 px).
PLOT_DPI = 80
FIGURE_WIDTH = 10.0
MIN_FONT_PT = 9.5
PLOT_STYLE = {"figure.dpi": PLOT_DPI, "font.size": 10.5, "axes.titlesize": 11, "axes.labelsize": 10.5,
              "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT, "legend.fontsize": MIN_FONT_PT,
              "legend.title_fontsize": 10, "figure.titlesize": 12}


def setup(profile_name: str, data: str | None = None, benchmark: str | None = None, **overrides) -> dict:
    """A chapter's first step: its budget in ``profile_name`` (:func:`i2vlib.config.profile`, with
    ``overrides`` such as ``image_size``), ``data`` checked (when the chapter reads data), the book's plot
    style, and the environment printed once. Returns the budget. A chapter that needs the benchmark's ground
    truth says why in ``benchmark`` (e.g. "the FRGAN chapters measure retargeting against the benchmark's
    exact ground truth"): any other ``data`` is then a one-line error."""
    import matplotlib.pyplot as plt   # the chapters' plotting package, not a dependency of the library

    cfg = profile(profile_name, **overrides)
    if data is not None:
        cfg["data"] = check_data(data)
        if benchmark and cfg["data"] != "synthetic":
            raise I2VError(f"{benchmark}; DATA={data!r} has none")
    plt.rcParams.update(PLOT_STYLE)
    print(environment())
    return cfg


def show_claims(paper, measurements=None, prefix: str = "claims", rungs=None) -> dict[str, int]:
    """Display the claims table of ``paper`` (a paper's name, or a list of its claims) for ``measurements``, or for
    the ``rungs`` of a budget ladder ({label: measurements}, :func:`i2vlib.claims.ladder`); glue how many claims have
    each verdict as ``{prefix}_<verdict>`` (spaces and hyphens as ``_``) and the total as ``{prefix}_total``, and
    say them in a line below the table with the Holm families of its comparisons (:func:`i2vlib.claims.families_of`),
    and glue the rule of a ladder's verdicts as ``{prefix}_ladder_rule``
    (:data:`i2vlib.claims.LADDER_RULE`); returns the counts."""
    from IPython.display import Markdown, display   # a chapter's packages: imported where they are used
    from myst_nb import glue

    display(Markdown(claims.table(paper, measurements, rungs)))
    counts = claims.counts(claims.rows_of(paper, measurements, rungs))
    for verdict, n in counts.items():
        glue(_glue_key(prefix, verdict), n, display=False)
    glue(f"{prefix}_total", sum(counts.values()), display=False)
    glue(f"{prefix}_ladder_rule", Markdown(claims.LADDER_RULE), display=False)
    found = ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)
    families = "; ".join(f"{name} ({len(ids)})" for name, ids in claims.families_of(paper).items())
    display(Markdown(f"**The {sum(counts.values())} claims above:** {found or 'none'}."
                     + (f" Holm families, one per table of the experiment (its comparisons): {families}."
                        if families else "")))
    return counts


def show_table(rows: list[dict], columns=None) -> None:
    """Display rows of ``{column: value}`` as one Markdown table (``columns``: which, in order; default the first
    row's keys); floats to 4 significant digits, a missing value as a dash."""
    from IPython.display import Markdown, display

    columns = list(columns or (rows[0] if rows else []))
    lines = _head(columns) + ["| " + " | ".join(claims.markdown_cell(_shown(r.get(c, "—"))) for c in columns) + " |"
                              for r in rows]
    display(Markdown("\n".join(lines)))


def show_facts(facts: dict, head: tuple[str, str] = ("", "")) -> None:
    """Display ``{what: value}`` as a two-column table: a chapter's settings or counts, never a printed dict."""
    from IPython.display import Markdown, display

    rows = [f"| {claims.markdown_cell(k)} | {claims.markdown_cell(_shown(v))} |" for k, v in facts.items()]
    display(Markdown("\n".join([*_head(list(head)), *rows])))


def show_models(models: dict) -> None:
    """Display ``{name: model}`` (:class:`i2vlib.api.Model`) as one table row each: its method, image size,
    expressions and training steps; what a reader needs of a loaded model, in place of its repr."""
    show_facts({name: f"{m.method}, {m.image_size} px, "
                      + (f"expressions {', '.join(m.expressions)}, " if getattr(m, "expressions", None) else "")
                      + (f"{m.step} steps" if getattr(m, "step", None) is not None else "steps unknown")
                for name, m in models.items()}, ("model", "what it is"))


def number(v, digits: int = 2) -> str:
    """A number as the chapters' tables show it: ``digits`` decimals, or a dash where nothing was measured (None,
    NaN or an infinite value)."""
    return f"{v:.{digits}f}" if v is not None and math.isfinite(v) else "—"


def _shown(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else "—"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(_shown, v))
    return str(v)


def show_verdicts(rows: list[dict], prefix: str = "found") -> dict:
    """The book's verdicts at a glance, from a :func:`i2vlib.records.verdicts.report`: one table of each paper's claims
    per verdict and one per rung (:func:`show_verdict_claims` lists the claims). Glues ``{prefix}_<paper>_<verdict>``,
    ``{prefix}_<verdict>`` (all papers), ``{prefix}_total`` and ``{prefix}_untested_<why>`` (``why`` a key of
    :data:`i2vlib.records.verdicts.UNTESTED`); returns the counts ``{paper: {verdict: n}}``."""
    from IPython.display import Markdown, display
    from myst_nb import glue

    key = lambda *words: _glue_key(prefix, *words)   # noqa: E731
    counts = book.counts(rows)
    shown = [v for v in claims.VERDICTS if any(c[v] for c in counts.values())]
    total = {v: sum(c[v] for c in counts.values()) for v in claims.VERDICTS}
    for paper, c in counts.items():
        for v, n in c.items():
            glue(key(paper, v), n, display=False)
        glue(key(paper, "total"), sum(c.values()), display=False)
    for v, n in total.items():
        glue(key(v), n, display=False)
    glue(key("total"), len(rows), display=False)
    for why, n in book.why_not_tested(rows).items():
        glue(key("untested", why), n, display=False)

    lines = _head(["paper", *shown, "claims"])
    lines += [f"| {book.SHORT[p]} | " + " | ".join(str(c[v]) for v in shown) + f" | {sum(c.values())} |"
              for p, c in counts.items()]
    lines.append("| **all three** | " + " | ".join(f"**{total[v]}**" for v in shown) + f" | **{len(rows)}** |")
    display(Markdown("\n".join(lines)))

    by_rung = book.rung_counts(rows)
    lines = _head(["paper", "judged at", *shown])
    lines += [f"| {book.SHORT[p]} | {_rung_name(label, short=True)} | " + " | ".join(str(c[v]) for v in shown) + " |"
              for p, at in by_rung.items() for label, c in at.items()]
    display(Markdown("**Each rung on its own** (1x and 4x the budget; zoo: the claims on shipped models):\n\n"
                     + "\n".join(lines)))

    return counts


def show_verdict_claims(rows: list[dict]) -> None:
    """Per paper of a :func:`i2vlib.records.verdicts.report`, one row per claim: its place in the paper, its verdict,
    the verdict at each rung, and a link to the chapter that judges it (and shows the paper's words and our numbers)."""
    from IPython.display import Markdown, display

    for paper in dict.fromkeys(r["paper"] for r in rows):
        lines = _head(["claim", "the paper's place", "verdict", "at each rung", "judged in"])
        for r in (r for r in rows if r["paper"] == paper):
            at = "; ".join(f"{_rung_name(label)}: {rung['verdict']}" for label, rung in r["rungs"].items())
            chapter = book.claims_link(r["chapter"], book.CHAPTER_TITLES[r["chapter"]])
            lines.append(f"| `{r['id']}` | {claims.markdown_cell(r['where'])} | **{r['verdict']}** | {at} | {chapter} |")
        display(Markdown(f"### {book.TITLES[paper]}\n\n" + "\n".join(lines)))


def _head(columns) -> list[str]:
    return [f"| {' | '.join(columns)} |", "|" + " --- |" * len(columns)]


def _rung_name(label: str, short: bool = False) -> str:
    if label == "zoo":
        return "zoo" if short else "shipped models"
    return f"{label}x" if short else f"{label}x the budget"


def _glue_key(prefix: str, *words: str) -> str:
    """A glue key of words: ``found``, ``fan``, ``not tested`` -> ``found_fan_not_tested``."""
    return "_".join([prefix, *words]).replace(" ", "_").replace("-", "_")


def compare(x, y, more: str = "higher than", less: str = "lower than", same: str = "the same as") -> str:
    """The words a sentence uses for ``x`` against ``y``: ``more`` if x > y, ``less`` if x < y, else
    ``same``; ``n/a`` when either was not measured (None or NaN)."""
    values = []
    for v in (x, y):
        if v is None:
            return "n/a"
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise I2VError(f"compare takes two numbers, got {v!r}") from None
        if math.isnan(v):
            return "n/a"
        values.append(v)
    a, b = values
    return more if a > b else less if a < b else same
