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

PLOT_STYLE = {"figure.dpi": 80, "font.size": 9}


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
    say them in a line below the table; returns the counts."""
    from IPython.display import Markdown, display   # a chapter's packages: imported where they are used
    from myst_nb import glue

    display(Markdown(claims.table(paper, measurements, rungs)))
    counts = claims.counts(claims.rows_of(paper, measurements, rungs))
    for verdict, n in counts.items():
        glue(f"{prefix}_{verdict.replace(' ', '_').replace('-', '_')}", n, display=False)
    glue(f"{prefix}_total", sum(counts.values()), display=False)
    found = ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)
    display(Markdown(f"**The {sum(counts.values())} claims above:** {found or 'none'}."))
    return counts


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
