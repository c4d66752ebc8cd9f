"""Contact sheets: frames tiled into one labelled image with Pillow (no matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import I2VError
from ..io import as_image, png_bytes, to_numpy


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
    if not (col_labels or row_labels):
        return canvas
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
    return np.asarray(pil).copy()


def show_grid(grid, scale: int = 2, title: str | None = None) -> None:
    """Display a :func:`frame_grid` in a notebook at ``scale`` times its pixels: 64-px faces show at 128 px and 11-px
    labels at 22 px, where a matplotlib figure of fixed inches would shrink a tall grid to thumbnails. The output is
    the grid's own pixels as a PNG with a display width, so the published page links an image file instead of
    inlining it; the book's style sheet draws such images as pixels (no smoothing, so that a period-2 grid or a
    speckle stays visible), and a page narrower than the grid shrinks it to fit. ``title`` goes above it, in bold."""
    import html

    from IPython.display import HTML, Image, display

    scale = int(scale)
    if scale < 1:
        raise I2VError(f"scale must be a whole number >= 1; got {scale}")
    pixels = as_image(grid, "the grid", convert=True)
    if title:
        display(HTML(f"<p><strong>{html.escape(title)}</strong></p>"))
    display(Image(data=png_bytes(pixels, optimize=True), format="png", width=pixels.shape[1] * scale))
