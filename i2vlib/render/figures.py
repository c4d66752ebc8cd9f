"""matplotlib figures: a row of frames, an animation that plays with no kernel, training curves.

matplotlib is imported inside each function, so importing :mod:`i2vlib.render` stays cheap.
"""

from __future__ import annotations

import re

import numpy as np

from ..data.video import as_frames
from ..errors import I2VError
from ..io import read_losses
from .chapter import FIGURE_WIDTH, MIN_FONT_PT
from .frames import check_fps, frame_labels

# Text sizes (pt) of the figures drawn here: at the book's 80 dpi, 10 pt is 11 px on the page, never under 10 px.
FONT_PT = 10
TITLE_PT = 12
FRAME_INCHES = 1.25


def alt(fig, text: str):
    """Say what ``fig`` shows, for readers who cannot see it: the alt text of its picture on the page (default: its
    titles and axis labels, :func:`describe`). Returns ``fig``."""
    fig.i2v_alt = " ".join(str(text).split())
    return fig


def describe(fig) -> str:
    """Alt text for a matplotlib figure: what :func:`alt` set, or what its titles, axis labels and legends say, e.g.
    "Two panels: 'full' and 'mlp'. They plot inferred a against true intensity; lines: seed 0, seed 1"."""
    said = getattr(fig, "i2v_alt", None)
    if said:
        return said
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    shown = [ax for ax in fig.axes if ax.get_visible() and (ax.has_data() or ax.images or ax.get_title())]
    titles = [f"'{ax.get_title()}'" for ax in shown if ax.get_title()]
    ys = list(dict.fromkeys(ax.get_ylabel() for ax in shown if ax.get_ylabel()))
    xs = list(dict.fromkeys(ax.get_xlabel() for ax in shown if ax.get_xlabel()))
    legends = [t.get_text() for ax in shown for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]
    legends += [t.get_text() for leg in getattr(fig, "legends", []) for t in leg.get_texts()]
    names = list(dict.fromkeys(n for n in legends if n))
    count = {1: "One panel", 2: "Two panels", 3: "Three panels"}.get(len(shown), f"{len(shown)} panels")
    parts = [f"{count}" + (f": {', '.join(titles[:-1]) + ' and ' + titles[-1] if len(titles) > 1 else titles[0]}"
                           if titles else "")]
    if ys or xs:
        parts.append(f"{'It plots' if len(shown) == 1 else 'They plot'} {' / '.join(ys) or 'a value'}"
                     + (f" against {' / '.join(xs)}" if xs else ""))
    elif any(ax.images for ax in shown):
        parts.append("images")
    if names:
        parts.append("lines: " + ", ".join(names[:8]) + (" and more" if len(names) > 8 else ""))
    text = ". ".join([parts[0], "; ".join(parts[1:])]) if len(parts) > 1 else parts[0]
    return f"{suptitle}. {text}" if suptitle else text


def png_with_alt(fig):
    """The PNG a notebook shows of ``fig`` (as the inline backend draws it) and its alt text, as IPython's PNG
    formatter returns them: ``(base64 PNG, {"alt": ...})``."""
    from IPython.core.pylabtools import print_figure

    return print_figure(fig, "png", bbox_inches="tight", base64=True), {"alt": describe(fig)}


def show_frames(frames, intensities=None, title=None, labels=None):
    """A matplotlib figure of frames in a row, each titled with its intensity: 1.25 in (100 px at the book's 80 dpi)
    a frame, a row no wider than :data:`i2vlib.render.chapter.FIGURE_WIDTH` (the page's column; more frames wrap to
    further rows), titles in 10 pt.

    The figure is closed in pyplot and returned, so a notebook shows it exactly once when
    it is a cell's last value (or via ``display(fig)``), and ``fig.savefig`` works.
    """
    import matplotlib.pyplot as plt

    frames = as_frames(frames)
    t, h, w = frames.shape[:3]
    names = frame_labels(t, intensities, labels) if (intensities is not None or labels is not None) else None
    # 1.25 in a frame (100 px at the book's 80 dpi), as many a row as the page's column holds, the rest wrapped
    cell = FRAME_INCHES
    ncols = max(1, min(t, int(FIGURE_WIDTH // cell)))
    nrows = -(-t // ncols)
    label = 0.3 if names else 0.05
    height = nrows * (cell * h / w + label) + (0.4 if title else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, height), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= t:
            continue
        ax.imshow(frames[i], interpolation="nearest")
        if names:
            ax.set_title(names[i], fontsize=FONT_PT)
    if title:
        fig.suptitle(str(title), fontsize=TITLE_PT)
    fig.tight_layout(pad=0.3)
    plt.close(fig)
    return fig


def animation(frames, fps: float = 8, labels=None, intensities=None, scale: int | None = None):
    """A matplotlib ``FuncAnimation`` of the frames (closed, so no static copy shows).

    ``labels`` (or ``intensities``, shown as ``"a = 0.25"``) are drawn above the frame.
    Frames are drawn at ``scale`` x their size (default: about 192 px wide), small enough
    that :func:`to_jshtml` output stays light.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    frames = as_frames(frames)
    t, h, w = frames.shape[:3]
    check_fps(fps)
    names = frame_labels(t, intensities, labels) if (intensities is not None or labels is not None) else None
    k = int(scale) if scale else max(1, int(round(192 / w)))
    dpi = 100
    band = 18 if names else 0  # px for the label
    fig = plt.figure(figsize=(w * k / dpi, (h * k + band) / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, h * k / (h * k + band)))
    ax.set_axis_off()
    im = ax.imshow(frames[0], interpolation="nearest")
    text = fig.text(0.5, 1 - band / 2 / (h * k + band), names[0] if names else "",
                    ha="center", va="center", fontsize=FONT_PT)

    def update(i):
        im.set_data(frames[i])
        if names:
            text.set_text(names[i])
        return im, text

    anim = FuncAnimation(fig, update, frames=t, interval=1000.0 / fps, blit=False)
    plt.close(fig)
    return anim


# matplotlib's player draws its buttons with Font Awesome icons from a CDN; these characters need nothing.
_BUTTONS = {"fa-minus": "\u2212", "fa-fast-backward": "\u23ee", "fa-step-backward": "\u25c2",
            "fa-play fa-flip-horizontal": "\u25c0", "fa-pause": "\u23f8", "fa-play": "\u25b6",
            "fa-step-forward": "\u25b8", "fa-fast-forward": "\u23ed", "fa-plus": "+"}


def to_jshtml(frames, fps: float = 8, labels=None, intensities=None):
    """An ``IPython.display.HTML`` animation with play controls that needs no kernel, and no network: the
    Font Awesome stylesheet matplotlib links from a CDN is dropped and its icons become plain characters."""
    from IPython.display import HTML

    anim = animation(frames, fps=fps, labels=labels, intensities=intensities)
    page = re.sub(r'<link[^>]*font-awesome[^>]*>\s*', "", anim.to_jshtml(fps=fps, default_mode="loop"))
    page = re.sub(r'<i class="fa (fa-[a-z-]+(?: fa-flip-horizontal)?)"></i>',
                  lambda m: _BUTTONS.get(m.group(1), m.group(0)), page)
    return HTML(page)


_NOT_LOSSES = {"step", "epoch", "time", "elapsed", "wall", "wall_s", "seconds", "lr", "iteration", "it"}


def plot_losses(log, keys=None, smooth: float | str = 0.0, separate: bool = False, logy: bool = False, title=None):
    """Plot training curves; returns the (pyplot-closed) matplotlib figure.

    ``log``: anything :func:`i2vlib.io.read_losses` reads -- a run directory, a CSV path, a
    list of dicts (one per logged step) or a dict of columns -- with a ``step`` column (the
    row number is used when there is none). ``keys``: the columns to plot (default: every
    numeric column except step/epoch/time/lr). Missing values are gaps. ``smooth`` in
    [0, 1) draws an exponential moving average over the faint raw curve (``"auto"``: one that
    spans about a 25th of the log);
    ``separate=True`` gives each key its own axes (losses of very different scales);
    ``logy`` uses a log y axis.
    """
    import matplotlib.pyplot as plt

    rows = read_losses(log)
    if not rows:
        raise I2VError("the log has no rows")
    cols = list(dict.fromkeys(k for r in rows for k in r))
    if smooth == "auto":        # an average spanning about a 25th of the log (a run's steps or a zoo file's windows)
        smooth = float(np.clip(1 - 25 / len(rows), 0, 0.95))
    if not 0 <= float(smooth) < 1:
        raise I2VError(f"smooth must be in [0, 1); got {smooth}")
    table = {c: np.array([r.get(c, np.nan) for r in rows], float) for c in cols}
    steps = table["step"] if "step" in table else np.arange(len(rows), dtype=float)
    if keys is None:
        keys = [c for c in cols if c.lower() not in _NOT_LOSSES and np.isfinite(table[c]).any()]
        if not keys:
            raise I2VError(f"the log has no numeric loss columns (columns: {', '.join(cols)})")
    else:
        keys = [keys] if isinstance(keys, str) else list(keys)
        missing = [k for k in keys if k not in table]
        if missing:
            raise I2VError(f"the log has no column {missing[0]!r} (columns: {', '.join(cols)})")

    n = len(keys)
    if separate:
        ncols = min(3, n)
        nrows = -(-n // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False)
        axes_for = [axes.flat[i] for i in range(n)]
        for ax in list(axes.flat)[n:]:
            ax.set_axis_off()
    else:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        axes_for = [ax] * n
    for key, ax in zip(keys, axes_for):
        y = table[key]
        ok = np.isfinite(y) & np.isfinite(steps)
        x, y = steps[ok], y[ok]
        if smooth > 0 and len(y):
            ema, acc = np.empty_like(y), 0.0
            for i, v in enumerate(y):  # bias-corrected, so the start does not lag
                acc = smooth * acc + (1 - smooth) * v
                ema[i] = acc / (1 - smooth ** (i + 1))
            (line,) = ax.plot(x, ema, label=key, lw=1.5)
            ax.plot(x, y, color=line.get_color(), alpha=0.25, lw=0.8)
        else:
            ax.plot(x, y, label=key, lw=1.2)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        if separate:
            ax.set_title(key, fontsize=FONT_PT + 1)
        ax.grid(alpha=0.3)
    if not separate and n > 1:
        axes_for[0].legend(fontsize=max(FONT_PT, MIN_FONT_PT), frameon=False)
    if title:
        fig.suptitle(str(title), fontsize=TITLE_PT)
    fig.tight_layout()
    plt.close(fig)
    return fig
