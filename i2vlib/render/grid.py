"""Contact sheets: frames tiled into one labelled image with Pillow (no matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import I2VError
from ..io import as_image, png_bytes, to_numpy

# The book's content column is 790 CSS px wide in a 1440-px window: show_grid wraps a grid whose display would be
# wider than PAGE_WIDTH into bands of columns, so that no page has to shrink it (the style sheet never does).
PAGE_WIDTH = 780
# The smallest face a page may show (CSS px), and the smallest label text (CSS px) at the display scale.
MIN_FACE_PX = 96
MIN_LABEL_PX = 10


class FrameGrid(np.ndarray):
    """The ``H' x W' x 3`` uint8 image :func:`frame_grid` returns: a plain array that also knows where its cells are
    (``layout``: the top label band, the left label strip, the pad, one cell's size, the number of rows and columns and
    the background), so that :func:`show_grid` can wrap its columns into bands. An array derived from it (a slice, a
    concatenation, arithmetic) has no ``layout``: its cells may have moved."""

    def __new__(cls, pixels: np.ndarray, layout: dict):
        obj = np.asarray(pixels).view(cls)
        obj.layout = dict(layout)
        return obj

    def __array_finalize__(self, obj):
        self.layout = None


def _load_font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # old Pillow or no FreeType: fixed bitmap font
        return ImageFont.load_default()


def _text_size(draw, text: str, font) -> tuple[int, int]:
    if not text:
        return 0, 0
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    return x1 - x0, y1 - y0


def _grid_rows(images) -> list[list]:
    """Normalise the inputs of :func:`frame_grid` to a list of rows of images (or None)."""
    if isinstance(images, np.ndarray) or hasattr(images, "detach"):
        a = to_numpy(images)
        if a.ndim == 4:
            return [list(a)]
        if a.ndim == 5:
            return [list(r) for r in a]
        raise I2VError(f"frame_grid expects N x H x W x 3 or R x C x H x W x 3 images; got shape {tuple(a.shape)}")
    try:
        items = list(images)
    except TypeError:
        raise I2VError(f"frame_grid expects an array or a list of images; got {type(images).__name__}") from None
    if not items:
        raise I2VError("frame_grid got no images")

    def is_row(x):
        if x is None:
            return False
        if isinstance(x, np.ndarray) or hasattr(x, "detach"):
            return to_numpy(x).ndim == 4
        return isinstance(x, Sequence) and not isinstance(x, (str, bytes))

    kinds = {is_row(x) for x in items}
    if kinds == {False}:
        return [items]
    if kinds == {True}:
        return [list(to_numpy(r)) if (isinstance(r, np.ndarray) or hasattr(r, "detach")) else list(r) for r in items]
    raise I2VError("frame_grid got a mix of images and rows; pass one row of images or a list of rows")


def frame_grid(images, row_labels=None, col_labels=None, pad: int = 2, bg=255,
               label_size: int | None = None) -> np.ndarray:
    """Tile images into one labelled ``H' x W' x 3`` uint8 image (a contact sheet).

    ``images``: one row (``N x H x W x 3`` array or a list of images) or several rows
    (``R x C x H x W x 3``, or a list of lists / of ``C x H x W x 3`` arrays; rows may be
    ragged and ``None`` leaves a cell blank). Column labels go above the columns, row
    labels left of the rows, in PIL's default font at ``label_size`` pixels (default: scaled
    with the frame height; shrunk where a column label would not fit its column).
    ``bg`` is a grey level or an RGB triple.

    Example: ``frame_grid(videos, row_labels=EXPRESSIONS, col_labels=intensity_labels(a))``.
    """
    from PIL import Image, ImageDraw

    rows = _grid_rows(images)
    rows = [[None if x is None else as_image(x, f"grid image ({r}, {c})", convert=True) for c, x in enumerate(row)]
            for r, row in enumerate(rows)]
    sizes = {x.shape[:2] for row in rows for x in row if x is not None}
    if not sizes:
        raise I2VError("frame_grid got no images")
    if len(sizes) > 1:
        raise I2VError(f"frame_grid images differ in size: {sorted(sizes)} (H x W)")
    (h, w), = sizes
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    if n_cols == 0:
        raise I2VError("frame_grid got only empty rows")
    if col_labels is not None:
        col_labels = [str(x) for x in col_labels]
        if len(col_labels) != n_cols:
            raise I2VError(f"got {len(col_labels)} column labels for {n_cols} columns")
    if row_labels is not None:
        row_labels = [str(x) for x in row_labels]
        if len(row_labels) != n_rows:
            raise I2VError(f"got {len(row_labels)} row labels for {n_rows} rows")
    pad = int(pad)
    if pad < 0:
        raise I2VError(f"pad must be >= 0; got {pad}")
    bg_rgb = tuple(int(v) for v in (np.broadcast_to(np.asarray(bg), (3,))))
    if not all(0 <= v <= 255 for v in bg_rgb):
        raise I2VError(f"bg must be a grey level or RGB triple in [0, 255]; got {bg!r}")
    ink = (0, 0, 0) if sum(bg_rgb) >= 384 else (255, 255, 255)
    size = int(label_size) if label_size else int(min(24, max(10, round(h * 0.17))))

    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    col_font = row_font = _load_font(size)
    top = left = 0
    if col_labels:
        col_size = size
        while col_size > 6 and max(_text_size(scratch, s, col_font)[0] for s in col_labels) > w + pad:
            col_size -= 1
            col_font = _load_font(col_size)
        top = max(_text_size(scratch, s, col_font)[1] for s in col_labels) + 2 * max(pad, 2)
    if row_labels:
        left = max(_text_size(scratch, s, row_font)[0] for s in row_labels) + 2 * max(pad, 3)

    out_w = left + pad + n_cols * (w + pad)
    out_h = top + pad + n_rows * (h + pad)
    canvas = np.empty((out_h, out_w, 3), np.uint8)
    canvas[:] = bg_rgb
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            if im is not None:
                y, x = top + pad + r * (h + pad), left + pad + c * (w + pad)
                canvas[y:y + h, x:x + w] = im
    layout = {"top": top, "left": left, "pad": pad, "h": h, "w": w, "rows": n_rows, "cols": n_cols, "bg": bg_rgb}
    if not (col_labels or row_labels):
        return FrameGrid(canvas, layout)
    pil = Image.fromarray(canvas)
    draw = ImageDraw.Draw(pil)
    if col_labels:
        for c, s in enumerate(col_labels):
            cx = left + pad + c * (w + pad) + w / 2
            draw.text((cx, top / 2 + pad / 2), s, fill=ink, font=col_font, anchor="mm")
    if row_labels:
        for r, s in enumerate(row_labels):
            cy = top + pad + r * (h + pad) + h / 2
            draw.text((left - max(pad, 3), cy), s, fill=ink, font=row_font, anchor="rm")
    return FrameGrid(np.asarray(pil).copy(), layout)


def wrap_grid(grid, scale: int = 2, page_width: int = PAGE_WIDTH) -> np.ndarray:
    """``grid`` (a :func:`frame_grid`) with its columns wrapped into bands stacked top to bottom, each band with the
    row labels on its left and its columns' labels above, so that at ``scale`` times its pixels it is at most
    ``page_width`` CSS px wide (at least one column a band; the bands as even as they can be). A grid that fits, or an
    array that is not a :func:`frame_grid` (one derived from it: its cells may have moved), comes back as it is."""
    layout = getattr(grid, "layout", None)
    pixels = np.asarray(grid)
    if not layout or pixels.shape[1] * scale <= page_width:
        return pixels
    top, left, pad, h, w, n_cols = (layout[k] for k in ("top", "left", "pad", "h", "w", "cols"))
    cell, head = w + pad, left + pad
    fit = max(1, (page_width // scale - head) // cell)
    if fit >= n_cols:
        return pixels
    n_bands = -(-n_cols // fit)
    per_band = -(-n_cols // n_bands)
    width = head + per_band * cell
    gap = max(pad, h // 4)
    bands = []
    for j0 in range(0, n_cols, per_band):
        j1 = min(n_cols, j0 + per_band)
        band = np.empty((pixels.shape[0], width, 3), np.uint8)
        band[:] = layout["bg"]
        band[:, :head] = pixels[:, :head]
        band[:, head:head + (j1 - j0) * cell] = pixels[:, head + j0 * cell:head + j1 * cell]
        if bands:
            spacer = np.empty((gap, width, 3), np.uint8)
            spacer[:] = layout["bg"]
            bands.append(spacer)
        bands.append(band)
    return np.concatenate(bands)


def show_grid(grid, scale: int = 2, title: str | None = None) -> None:
    """Display a :func:`frame_grid` in a notebook at ``scale`` times its pixels: 64-px faces show at 128 px and 11-px
    labels at 22 px, where a matplotlib figure of fixed inches would shrink a tall grid to thumbnails. The output is
    the grid's own pixels as a PNG with a display width, so the published page links an image file instead of
    inlining it; the book's style sheet draws such images as pixels (no smoothing, so that a period-2 grid or a
    speckle stays visible) and never shrinks them: a grid wider than the page's column (:data:`PAGE_WIDTH` at this
    scale) is wrapped into bands of columns (:func:`wrap_grid`), and an array that cannot be wrapped scrolls
    sideways. ``title`` goes above it, in bold."""
    import html

    from IPython.display import HTML, Image, display

    scale = int(scale)
    if scale < 1:
        raise I2VError(f"scale must be a whole number >= 1; got {scale}")
    pixels = as_image(wrap_grid(grid, scale) if getattr(grid, "layout", None) else grid, "the grid", convert=True)
    if title:
        display(HTML(f"<p><strong>{html.escape(title)}</strong></p>"))
    display(Image(data=png_bytes(pixels, optimize=True), format="png", width=pixels.shape[1] * scale))
