"""Contact sheets: frames tiled into one labelled image with Pillow (no matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import I2VError
from ..io import as_image, png_bytes, to_numpy

# The book's content column is 790 CSS px wide in a 1440-px window: a picture at most PAGE_WIDTH wide fits it (the
# style sheet never shrinks a grid; one wider than the column scrolls sideways).
PAGE_WIDTH = 780
# The smallest face a page may show (CSS px), and the smallest label text (CSS px) at the display scale.
MIN_FACE_PX = 96
MIN_LABEL_PX = 10


class FrameGrid(np.ndarray):
    """The ``H' x W' x 3`` uint8 image :func:`frame_grid` returns: a plain array that also knows where its cells are
    (``layout``: the top label band, the left label strip, the pad, one cell's size, the number of rows and columns,
    the background and the labels), so that :func:`show_grid` can draw it again at its display size. An array derived
    from it (a slice, a concatenation, arithmetic) has no ``layout``: its cells may have moved."""

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
    layout = {"top": top, "left": left, "pad": pad, "h": h, "w": w, "rows": n_rows, "cols": n_cols, "bg": bg_rgb,
              "row_labels": row_labels, "col_labels": col_labels}
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


def cells(grid) -> list[list[np.ndarray]]:
    """The frames of a :func:`frame_grid`, row by row (a blank cell comes back as the background)."""
    layout = getattr(grid, "layout", None)
    if not layout:
        raise I2VError("cells() needs a grid made by frame_grid (an array derived from one has lost its layout)")
    pixels = np.asarray(grid)
    top, left, pad, h, w = (layout[k] for k in ("top", "left", "pad", "h", "w"))
    return [[pixels[top + pad + r * (h + pad):top + pad + r * (h + pad) + h,
                    left + pad + c * (w + pad):left + pad + c * (w + pad) + w] for c in range(layout["cols"])]
            for r in range(layout["rows"])]


def nearest(image: np.ndarray, scale: int) -> np.ndarray:
    """``image`` enlarged ``scale`` times by repeating each pixel (nearest neighbour): every pixel of a frame stays a
    sharp square, so a period-2 checkerboard or a speckle shows as it is."""
    image = np.asarray(image)
    return image.repeat(scale, axis=0).repeat(scale, axis=1)


def describe(grid, title: str | None = None) -> str:
    """Alt text for a :func:`frame_grid`: its title, then what its rows and columns are."""
    layout = getattr(grid, "layout", None) or {}
    parts = [title] if title else []
    rows, cols = layout.get("row_labels"), layout.get("col_labels")
    shape = f"{layout['rows']} rows of {layout['cols']} frames" if layout else "frames"
    parts.append(f"A grid of {shape}" + (f"; rows: {', '.join(rows)}" if rows else "")
                 + (f"; columns: {', '.join(cols)}" if cols else ""))
    return ". ".join(parts)


def show_grid(grid, scale: int = 2, title: str | None = None, alt: str | None = None) -> None:
    """Display a :func:`frame_grid` in a notebook at ``scale`` times its pixels, drawn at that size: every frame
    enlarged by repeating its pixels (:func:`nearest`, no smoothing, so that a period-2 grid or a speckle stays
    visible; 64-px faces show at 128 px) and its labels drawn again at the display size, sharp. Every row stays one
    row: a grid wider than the page's column scrolls sideways (the book's style sheet never shrinks it). The output
    is a PNG with its display width, so the published page links an image file instead of inlining it; ``alt`` says
    what it shows (default: :func:`describe`), and the book's build writes it into the page. ``title`` goes above it,
    in bold."""
    import html

    from IPython.display import HTML, Image, display

    scale = int(scale)
    if scale < 1:
        raise I2VError(f"scale must be a whole number >= 1; got {scale}")
    layout = getattr(grid, "layout", None)
    if layout:
        pixels = frame_grid([[nearest(c, scale) for c in row] for row in cells(grid)], layout["row_labels"],
                            layout["col_labels"], pad=layout["pad"] * scale, bg=layout["bg"])
    else:
        pixels = nearest(as_image(grid, "the grid", convert=True), scale)
    pixels = np.asarray(pixels)
    if title:
        display(HTML(f"<p><strong>{html.escape(title)}</strong></p>"))
    display(Image(data=png_bytes(pixels, optimize=True), format="png", width=pixels.shape[1],
                  metadata={"alt": alt or describe(grid, title)}))
