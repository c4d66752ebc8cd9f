"""Tests for i2vlib.render.grid and .figures: contact sheets, matplotlib figures and animations, loss plots."""

from __future__ import annotations

import numpy as np
import pytest
from sample_frames import disc_frames

from i2vlib import render as R
from i2vlib.errors import I2VError


def test_frame_grid_shapes_and_labels():
    videos = [disc_frames(5, 32, 32) for _ in range(7)]
    plain = R.frame_grid(videos, pad=2)
    assert plain.dtype == np.uint8
    assert plain.shape == (2 + 7 * 34, 2 + 5 * 34, 3)
    assert np.array_equal(plain[2:34, 2:34], videos[0][0])

    labels = R.intensity_labels([0, .25, .5, .75, 1])
    assert labels == ["a=0.00", "a=0.25", "a=0.50", "a=0.75", "a=1.00"]
    grid = R.frame_grid(videos, row_labels=[f"expr{i}" for i in range(7)], col_labels=labels, pad=2)
    assert grid.shape[0] > plain.shape[0] and grid.shape[1] > plain.shape[1]
    top, left = grid.shape[0] - plain.shape[0], grid.shape[1] - plain.shape[1]
    assert np.array_equal(grid[top:, left:], plain)  # the cells sit below/right of the labels
    assert (grid[:top] < 128).any() and (grid[:, :left] < 128).any()  # some ink was drawn

    one_row = R.frame_grid(disc_frames(3, 16, 20), col_labels=["a", "b", "c"])
    assert one_row.shape[1] == 2 + 3 * 22
    five_d = R.frame_grid(np.stack(videos[:2]))
    assert five_d.shape == (2 + 2 * 34, 2 + 5 * 34, 3)
    ragged = R.frame_grid([[videos[0][0], None], [videos[0][1]]], bg=(0, 0, 0))
    assert ragged.shape == (2 + 2 * 34, 2 + 2 * 34, 3)
    assert ragged[40:60, 40:60].max() == 0  # missing cell is background


def test_frame_grid_errors():
    with pytest.raises(I2VError, match="column labels"):
        R.frame_grid(disc_frames(3, 8, 8), col_labels=["x"])
    with pytest.raises(I2VError, match="differ in size"):
        R.frame_grid([np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8)])
    with pytest.raises(I2VError, match="no images"):
        R.frame_grid([])


def test_intensity_labels_for_mixing():
    assert R.intensity_labels({"happy": [0, 1], "anger": [.5, .25]}) == [
        "happy=0.00, anger=0.50", "happy=1.00, anger=0.25"]


def test_to_jshtml_contains_every_frame():
    from IPython.display import HTML

    h = R.to_jshtml(disc_frames(4, 16, 16), fps=4, intensities=[0, .3, .6, 1])
    assert isinstance(h, HTML)
    assert h.data.count("data:image/png;base64,") == 4
    assert len(h.data) < 200_000
    assert "http" not in h.data and 'class="fa' not in h.data          # no CDN stylesheet, no icon font
    assert h.data.count("<button") == 9 and "\u25b6" in h.data and "\u23f8" in h.data   # play and pause drawn


def test_show_frames_and_animation_figures():
    fig = R.show_frames(disc_frames(3, 16, 16), intensities=[0, .5, 1], title="demo")
    assert len(fig.axes) == 3 and fig.axes[1].get_title() == "a = 0.50"
    anim = R.animation(disc_frames(3, 16, 16), labels=["x", "y", "z"])
    assert anim._fig is not None
    assert anim.to_jshtml().count("data:image/png;base64,") == 3  # drawn: an undrawn one warns when collected


def test_plot_losses_from_csv_and_dicts(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("step,loss_g,loss_d,lr\n0,1.0,0.5,0.1\n10,0.5,,0.1\n20,0.25,0.4,0.1\n")
    fig = R.plot_losses(log)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["loss_g", "loss_d"]  # lr is not a loss
    assert list(fig.axes[0].get_lines()[1].get_xdata()) == [0, 20]  # the missing value is a gap
    fig2 = R.plot_losses([{"step": i, "l1": 1 / (i + 1)} for i in range(5)], keys=["l1"], smooth=0.5, separate=True)
    assert len(fig2.axes) == 1
    with pytest.raises(I2VError, match="no column 'nope'"):
        R.plot_losses(log, keys=["nope"])


def test_plot_losses_reads_a_run_directory(tmp_path):
    (tmp_path / "losses.csv").write_text("step,seconds,r1,d_g\n1,0.1,2.0,0.7\n2,0.2,1.5,0.6\n3,0.3,1.2,\n")
    fig = R.plot_losses(tmp_path)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["r1", "d_g"]  # seconds is not a loss
    assert list(fig.axes[0].get_lines()[1].get_xdata()) == [1, 2]
    with pytest.raises(I2VError, match="has no losses.csv"):
        R.plot_losses(tmp_path / "elsewhere")
    with pytest.raises(I2VError, match="no rows"):
        R.plot_losses([])


def test_show_grid_draws_the_grid_at_its_display_size_with_every_pixel_a_square(monkeypatch):
    """The grid is an image/png output (a file of the published page, not base64 in its HTML) drawn at ``scale``
    times its pixels: each frame's pixel repeated into a ``scale`` x ``scale`` square (nearest neighbour, no
    smoothing), its display width its own; the alt text names the rows and columns; the title is escaped HTML."""
    import base64
    import io

    from PIL import Image

    import i2vlib as i2v
    from i2vlib.render import grid as G

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 3, 64, 64, 3), dtype=np.uint8)
    grid = i2v.render.frame_grid(frames, row_labels=["truth", "ours"], col_labels=["a", "b", "c"])
    i2v.render.show_grid(grid, title="three <faces>")
    title, image = shown
    assert "<strong>three &lt;faces&gt;</strong>" in title.data
    data, metadata = image._repr_mimebundle_()
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB"))
    assert list(data) == ["image/png"] and metadata["image/png"]["width"] == pixels.shape[1]
    assert "rows: truth, ours" in metadata["image/png"]["alt"] and "columns: a, b, c" in metadata["image/png"]["alt"]
    drawn = G.cells(G.frame_grid([[G.nearest(f, 2) for f in row] for row in frames], ["truth", "ours"],
                                 ["a", "b", "c"], pad=4))
    layout = grid.layout
    top, left = pixels.shape[0] - 2 * (128 + 4) - 4, pixels.shape[1] - 3 * (128 + 4) - 4
    for r in range(2):                                      # every frame, each of its pixels a 2 x 2 square
        for c in range(3):
            y, x = top + 4 + r * 132, left + 4 + c * 132
            assert np.array_equal(pixels[y:y + 128, x:x + 128], frames[r, c].repeat(2, 0).repeat(2, 1))
            assert np.array_equal(drawn[r][c], frames[r, c].repeat(2, 0).repeat(2, 1))
    assert layout["rows"] == 2 and layout["cols"] == 3
    shown.clear()
    i2v.render.show_grid(grid, scale=1, alt="two rows of faces")
    (image,) = shown
    data, metadata = image._repr_mimebundle_()
    assert metadata == {"image/png": {"width": grid.shape[1], "alt": "two rows of faces"}}
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB")), grid)
    with pytest.raises(i2v.I2VError, match="scale"):
        i2v.render.show_grid(grid, scale=0)


def test_show_grid_keeps_every_row_one_row(monkeypatch):
    """A grid wider than the page's column is not wrapped: its rows stay rows (the page scrolls it sideways), so
    that the last intensity sits beside the truth; an array not from frame_grid is enlarged as it is."""
    import base64
    import io

    from PIL import Image

    from i2vlib.render import grid as G

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    videos = np.random.default_rng(0).integers(0, 256, (3, 15, 64, 64, 3), dtype=np.uint8)
    wide = R.frame_grid(videos, row_labels=["happy", "sad", "anger"], col_labels=[f"a={i}" for i in range(15)])
    R.show_grid(wide)
    derived = np.concatenate([wide, wide])
    R.show_grid(derived, scale=3)
    (one, two) = (np.asarray(Image.open(io.BytesIO(base64.b64decode(s._repr_mimebundle_()[0]["image/png"]))))
                  for s in shown)
    assert one.shape[0] < 3 * 140 + 60 and one.shape[1] > 15 * 128 > G.PAGE_WIDTH      # three rows, fifteen columns
    assert np.array_equal(two[..., :3], derived.repeat(3, 0).repeat(3, 1))
    with pytest.raises(I2VError, match="frame_grid"):
        G.cells(derived)


def test_show_facts_and_show_models_display_tables_not_reprs(monkeypatch):
    import i2vlib as i2v

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    i2v.render.show_facts({"codes": 16, "eps": 1e-8, "arms | seeds": [0.12345, 2]}, ("what", "value"))
    assert shown[-1].splitlines() == ["| what | value |", "| --- | --- |", "| codes | 16 |", "| eps | 1e-08 |",
                                      r"| arms \| seeds | 0.1235, 2 |"]
    model = i2v.load("zoo:affinegan-happy")
    i2v.render.show_models({"happy": model})
    assert "| happy | affinegan, 64 px, expressions happy, " in shown[-1] and "<" not in shown[-1]


def test_a_table_shows_a_number_or_a_dash_never_nan(monkeypatch):
    """What was not measured (None, NaN, inf) reads as a dash in every table a chapter shows, never 'nan'."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    assert [R.number(v) for v in (0.125, 2, None, float("nan"), float("inf"))] == ["0.12", "2.00", "—", "—", "—"]
    assert R.number(np.float32(0.5), 3) == "0.500"
    R.show_table([{"arm": "copy", "psnr": float("nan")}, {"arm": "ours", "psnr": 24.0}, {"arm": "none", "psnr": None}])
    assert shown[-1].splitlines()[2:] == ["| copy | — |", "| ours | 24 |", "| none | — |"]
    R.show_facts({"rho": float("nan")})
    assert "nan" not in shown[-1] and "| rho | — |" in shown[-1]


def test_frame_grid_labels_are_at_least_10_px_as_shown():
    """Labels are drawn at >= 10 px in the grid's pixels (so >= 10 px at any scale show_grid uses)."""
    from i2vlib.render import grid as G

    for h in (32, 64, 128):
        frames = np.zeros((3, h, h, 3), np.uint8)
        g = R.frame_grid(frames, col_labels=["a=0.00", "a=0.50", "a=1.00"], row_labels=None)
        assert g.layout["top"] >= G.MIN_LABEL_PX


@pytest.mark.slow
def test_the_book_plot_style_keeps_text_readable_and_library_figures_fit_the_column():
    """At the book's plot style every text is >= 10 px on the page (pt * dpi / 72) and the library's figures are
    no wider than the page's column at that dpi."""
    import matplotlib
    import matplotlib.font_manager as fm

    from i2vlib.render import chapter, figures

    style = chapter.PLOT_STYLE
    dpi = style["figure.dpi"]
    assert chapter.FIGURE_WIDTH * dpi <= 820
    with matplotlib.rc_context(style):
        for key in ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize", "ytick.labelsize",
                    "legend.fontsize", "figure.titlesize"):
            pt = fm.FontProperties(size=matplotlib.rcParams[key]).get_size_in_points()
            assert pt * dpi / 72 >= 10, (key, pt)
        fig = R.show_frames(disc_frames(15, 64, 64), intensities=np.linspace(0, 1, 15), title="fifteen")
        assert fig.get_figwidth() <= chapter.FIGURE_WIDTH and len(fig.axes) >= 15
        assert min(ax.title.get_fontsize() for ax in fig.axes if ax.get_title()) * dpi / 72 >= 10
        assert fig.axes[0].get_position().width * fig.get_figwidth() * dpi >= 0.9 * 96      # ~100-px frames
        logs = [{"step": i, **{f"l{k}": 1 / (i + k + 1) for k in range(5)}} for i in range(5)]
        for separate in (False, True):
            fig = R.plot_losses(logs, separate=separate, title="t")
            assert fig.get_figwidth() <= chapter.FIGURE_WIDTH
            texts = [t for ax in fig.axes for t in (ax.title, *(ax.get_legend().get_texts() if ax.get_legend() else []))
                     if t.get_text()]
            assert texts and min(t.get_fontsize() for t in texts) * dpi / 72 >= 10
    assert figures.FONT_PT * dpi / 72 >= 10


def test_a_figure_says_what_it_shows_in_its_alt_text():
    """A matplotlib figure's alt text names its panels, what they plot and their lines, or what render.alt set; the
    PNG a notebook shows carries it in the output's metadata."""
    import base64

    import matplotlib.pyplot as plt

    from i2vlib.render import figures

    fig, axes = plt.subplots(1, 2)
    for ax, title in zip(axes, ("full", "mlp")):
        ax.plot([0, 1], [0, 1], label="seed 0")
        ax.set_title(title)
        ax.set_xlabel("true intensity")
        ax.set_ylabel("inferred a")
    axes[0].legend()
    text = figures.describe(fig)
    assert text == "Two panels: 'full' and 'mlp'. They plot inferred a against true intensity; lines: seed 0"
    png, metadata = figures.png_with_alt(fig)
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n" and metadata == {"alt": text}
    assert figures.describe(R.alt(fig, " a rising   line ")) == "a rising line"
    plt.close(fig)
