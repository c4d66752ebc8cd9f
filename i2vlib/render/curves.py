"""Learning curves of the zoo's models and of the recipe studies: scores against training steps (the model zoo's
pages draw them with these, so that the zoo and its studies share one look).

    fig = plot_curves({"zoo:affinegan-happy": record["curve"]}, CURVE_SCORES, targets=True)

matplotlib is imported inside each function, so importing :mod:`i2vlib.render` stays cheap.
"""

from __future__ import annotations

import numpy as np

from ..evaluate.zoo_scores import TARGETS, score
from ..zoo import CURVE_STEPS

# The scores a learning curve shows: (key of the scores, its name on the panel).
CURVE_SCORES = [("strength_ratio", "strength at a = 1 / true peak's"), ("acd_i_ratio", "ACD-I / reference row"),
                ("inferred_intensity_rho.linear", "Eq. 5 rho, linear videos"), ("psnr", "PSNR vs truth (dB)"),
                ("expression_accuracy", "expression accuracy")]


def steps_axis(ax) -> None:
    """A log axis of training steps, ticked at the zoo's snapshots (:data:`i2vlib.zoo.CURVE_STEPS`); 30k, which would
    touch 20k and 40k on a log axis, keeps its tick unlabelled."""
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xlabel("training steps")
    ax.set_xticks(CURVE_STEPS, [f"{s // 1000}k" if s != 30000 else "" for s in CURVE_STEPS])


def _colours() -> list:
    import matplotlib.pyplot as plt

    return list(plt.cm.tab10.colors) + list(plt.cm.Dark2.colors)


def curve_style(k: int, label: str) -> dict:
    """The ``k``-th curve's style: each its own colour (tab10, then Dark2), a zoo model's solid with dots, a study's
    (a label starting "study:") dashed with squares."""
    colours = _colours()
    study = label.startswith("study:")
    return {"color": colours[k % len(colours)], "ls": "--" if study else "-", "marker": "s" if study else "o"}


def panels(n: int, height: float = 2.9, title: bool = False):
    """A figure as wide as the page's column (10 in) with ``n`` panels, at most three to a row (two when four), and
    the spare slots of the last row blank: returns the figure, the ``n`` axes and the spare axes."""
    import matplotlib.pyplot as plt

    ncols = 2 if n == 4 else min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(10, height * nrows + (0.3 if title else 0)), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    return fig, list(axes.flat[:n]), list(axes.flat[n:])


def legend_below(fig, ax, ncol: int = 3) -> None:
    """One legend for all panels (``ax``'s lines), under the figure, never over a curve (after tight_layout)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(ncol, len(labels)),
               frameon=False)


def plot_curves(curves: dict, scores=CURVE_SCORES, title: str | None = None, targets: bool = False) -> None:
    """Show one panel per (score key, name) of ``scores``, three to a row, one line per learning curve of ``curves``
    ({label: {step: scores}}); ``targets`` draws the zoo's target for the score as a dotted line. One legend for all
    panels: in a spare slot when it is short, below them otherwise."""
    import matplotlib.pyplot as plt

    fig, axes, spare = panels(len(scores), title=bool(title))
    for ax, (key, name) in zip(axes, scores):
        for k, (label, curve) in enumerate(curves.items()):
            steps = sorted(int(s) for s in curve)
            ax.plot(steps, [score(curve[str(s)], key, np.nan) for s in steps], ms=4, lw=1.3, label=label,
                    **curve_style(k, label))
        target = next((t for k, _, t, _, m in TARGETS if k == key and m is None), None) if targets else None
        if target is not None:
            ax.axhline(target, color="k", ls=":", lw=1)
        steps_axis(ax)
        ax.set_title(name)
    if title:
        fig.suptitle(title)
    plt.tight_layout()
    handles, labels = axes[0].get_legend_handles_labels()
    if spare and len(labels) <= 8:
        spare[-1].legend(handles, labels, loc="center", frameon=False)
    else:
        legend_below(fig, axes[0], ncol=2 if max(map(len, labels)) > 30 else 3)
    plt.show()
