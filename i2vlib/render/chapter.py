"""What every chapter does the same way: its setup, its claims table, and the words that compare two numbers.

    cfg = i2v.render.setup(PROFILE, data=DATA, image_size=IMAGE_SIZE)   # checks, plot style, environment glued
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
    style, and the environment (:func:`i2vlib.config.environment`) glued as ``environment``, for a page to paste: a
    published page prints no banner. Returns the budget. A chapter that needs the benchmark's ground
    truth says why in ``benchmark`` (e.g. "the FRGAN chapters measure retargeting against the benchmark's
    exact ground truth"): any other ``data`` is then a one-line error."""
    import matplotlib.pyplot as plt   # the chapters' plotting package, not a dependency of the library

    cfg = profile(profile_name, **overrides)
    if data is not None:
        cfg["data"] = check_data(data)
        if benchmark and cfg["data"] != "synthetic":
            raise I2VError(f"{benchmark}; DATA={data!r} has none")
    from myst_nb import glue

    plt.rcParams.update(PLOT_STYLE)
    _describe_figures()
    glue("environment", environment(), display=False)
    return cfg


def _describe_figures() -> None:
    """From now on every matplotlib figure a cell shows carries alt text (:func:`i2vlib.render.figures.describe`) in
    its output's metadata, which the book's build writes into the page (``book/_ext/i2v_html.py``). The inline
    backend registers its own PNG printer when it draws its first figure, so one is drawn first, and ours is
    registered again before every cell."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or "image/png" not in getattr(shell, "display_formatter", None).formatters:
        return
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from .figures import png_with_alt

    plt.close(plt.figure())                       # the inline backend's set-up, done before ours
    formatter = shell.display_formatter.formatters["image/png"]

    def register(*_):
        formatter.for_type(Figure, png_with_alt)

    register()
    if register.__qualname__ not in {getattr(f, "__qualname__", "") for f in shell.events.callbacks["pre_execute"]}:
        shell.events.register("pre_execute", register)


def show_claims(paper, measurements=None, prefix: str = "claims", rungs=None) -> dict[str, int]:
    """Display the claims of ``paper`` (a paper's name, or a list of its claims) judged on ``measurements``, or on
    the ``rungs`` of a budget ladder ({label: measurements}, :func:`i2vlib.claims.ladder`): one line per claim that
    opens (:func:`claim_lines`), then its rules and the recipe choices behind the measurements; glue how many claims
    have each verdict as ``{prefix}_<verdict>`` (spaces and hyphens as ``_``) and the total as ``{prefix}_total``, and
    say them in a line below with the Holm families of its comparisons (:func:`i2vlib.claims.families_of`), and glue
    the rule of a ladder's verdicts as ``{prefix}_ladder_rule`` (:data:`i2vlib.claims.LADDER_RULE`); returns the
    counts."""
    from IPython.display import HTML, Markdown, display   # a chapter's packages: imported where they are used
    from myst_nb import glue

    rows = claims.rows_of(paper, measurements, rungs)
    at = {label: claims.verdicts(paper, m) for label, m in rungs.items()} if rungs and len(rungs) > 1 else {}
    rules = list(dict.fromkeys(r.rule for r in rows))
    display(HTML(claim_lines(rows, at, rules)))
    text = claims.table(paper, measurements, rungs)
    if "\n\nThe rules" in text:                    # the rules and the recipe choices, as the registry words them
        display(Markdown(text[text.index("\n\nThe rules"):].strip()))
    counts = claims.counts(rows)
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


def claim_lines(rows, at: dict, rules: list[str]) -> str:
    """HTML of a claims table as a list: one ``<details>`` per claim (:class:`i2vlib.claims.Row`), its words in short
    (:data:`i2vlib.render.findings.SHORT`), its verdict and each budget's (``at``: {rung label: rows}); opened, where
    the paper says it and its words, how we measure it, our measurement and the rule (``rules``: their numbers)."""
    import html

    from .findings import SHORT

    e = html.escape
    items = []
    for i, r in enumerate(rows):
        c = r.claim
        words = SHORT.get(f"{c.paper}/{c.id}", c.id)
        each = " · ".join(f"{e(label.split(',')[0])}: {e(rung[i].verdict)}" for label, rung in at.items())
        items.append(
            f'<details class="i2v-claim"><summary><span class="i2v-claim-words">{e(words)}</span> '
            f'<span class="i2v-claim-verdicts"><span class="i2v-verdict i2v-{r.verdict.replace(" ", "-")}">'
            f'{e(r.verdict)}</span>' + (f' <span class="i2v-claim-explored">{each}</span>' if each else "")
            + "</span></summary>"
            f"<p><strong>{e(c.where)}.</strong> {e(c.words)}</p>"
            f"<p><strong>We measure</strong> {e(c.measured_as)}</p>"
            f"<p><strong>Our measurement:</strong> {e(r.measured)}</p>"
            f"<p><strong>Verdict:</strong> {e(r.verdict)}, by rule {rules.index(r.rule) + 1}: {e(r.rule)}</p>"
            "</details>")
    return '<div class="i2v-claims">\n' + "\n".join(items) + "\n</div>"


def show_table(rows: list[dict], columns=None) -> None:
    """Display rows of ``{column: value}`` as one Markdown table (``columns``: which, in order; default the first
    row's keys); floats to 4 significant digits, a missing value (or None) as a dash."""
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
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else "—"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(_shown, v))
    return str(v)


def _head(columns) -> list[str]:
    return [f"| {' | '.join(columns)} |", "|" + " --- |" * len(columns)]


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
