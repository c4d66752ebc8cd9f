"""Rendering and export: grids, GIF/MP4/PNG files with a JSON sidecar, animations, scrubbers.

Frames everywhere are ``T x H x W x 3`` uint8 arrays. Every function here also accepts a
list of ``H x W x 3`` arrays, float arrays in ``[0, 1]``, integer arrays in ``[0, 255]`` and
one-channel frames (``T x H x W x 1``), and converts them with :func:`as_frames`.
Anything else (an empty sequence, frames of different sizes, NaN, channels-first
tensors) is an :class:`~i2vlib.errors.I2VError` with a one-line message.

Outputs for readers:

* :func:`save_video` -- ``.gif``, ``.mp4`` (H.264) or a folder of PNGs, each with a JSON
  sidecar, written atomically. Sidecar naming: a file ``clip.gif`` gets ``clip.gif.json``
  beside it (so ``clip.gif`` and ``clip.mp4`` never share one); a folder ``clip/`` holds
  its sidecar inside as ``clip/frames.json``. :func:`sidecar_path` gives the name.
* :func:`frame_grid`, :func:`show_frames` -- contact sheets and labelled rows of frames.
* :func:`to_jshtml` -- a matplotlib animation that plays with no kernel.
* :func:`scrubber` -- a static HTML+JS intensity slider that works with no kernel
  (the published book); :func:`live_slider` / :func:`live_mixer` -- ipywidgets sliders
  that call the model (readers with a kernel).
* :func:`plot_losses` -- training curves from a log.

matplotlib, ipywidgets and imageio-ffmpeg are imported only by the functions that need
them, so ``import i2vlib.render`` stays cheap (the CLI saves GIFs without matplotlib).
"""

from __future__ import annotations

import base64
import csv
import html as _html
import io as _bytesio
import json
import math
import numbers
import os
import re
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import __version__
from .errors import I2VError
from .io import atomic_dir, atomic_path, json_default

__all__ = [
    "as_frames",
    "save_video",
    "read_video",
    "sidecar_path",
    "read_sidecar",
    "frame_grid",
    "intensity_labels",
    "show_frames",
    "animation",
    "to_jshtml",
    "Scrubber",
    "scrubber",
    "live_slider",
    "live_mixer",
    "plot_losses",
]

VIDEO_SUFFIXES = (".gif", ".mp4")
FOLDER_SIDECAR = "frames.json"
# Metadata keys every sidecar carries (null when not given), and keys save_video sets itself.
KNOWN_META = ("method", "checkpoint_hash", "intensities", "expression", "seed", "crop_box")
RESERVED_META = ("format", "frames", "fps", "height", "width", "video_height", "video_width",
                 "files", "i2vlib_version", "created")
_FLOAT_TOLERANCE = 1e-3  # floats this far outside [0, 1] are clipped, further is an error
_FRAME_NAME = re.compile(r"^(\d+)\.png$")


# --------------------------------------------------------------------------- frames


def _to_numpy(x):
    """A numpy view of ``x``; torch tensors are detached and moved to the CPU."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _image_to_uint8(a: np.ndarray, what: str) -> np.ndarray:
    """Convert one array of pixel values (any shape) to uint8, checking its range."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        if a.size and not np.isfinite(a).all():
            raise I2VError(f"{what} contain NaN or infinite values")
        if a.size:
            lo, hi = float(a.min()), float(a.max())
            if lo < -_FLOAT_TOLERANCE or hi > 1 + _FLOAT_TOLERANCE:
                hint = " (map [-1, 1] outputs with (x + 1) / 2)" if lo < 0 else ""
                raise I2VError(f"float {what} must lie in [0, 1]; got values in [{lo:.3g}, {hi:.3g}]{hint}")
        return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        if a.size:
            lo, hi = int(a.min()), int(a.max())
            if lo < 0 or hi > 255:
                raise I2VError(f"integer {what} must lie in [0, 255]; got values in [{lo}, {hi}]")
        return a.astype(np.uint8)
    raise I2VError(f"{what} have unsupported dtype {a.dtype}; expected uint8 or float in [0, 1]")


def _to_rgb(a: np.ndarray, what: str) -> np.ndarray:
    """``... x H x W x C`` with C in (1, 3) -> ``... x H x W x 3``."""
    if a.shape[-1] == 1:
        return np.repeat(a, 3, axis=-1)
    if a.shape[-1] == 3:
        return a
    if a.ndim >= 3 and a.shape[-3] in (1, 3):
        raise I2VError(f"{what} look channels-first {tuple(a.shape)}; expected channels last (... x H x W x 3)")
    raise I2VError(f"{what} must have 3 (RGB) channels in the last axis; got shape {tuple(a.shape)}")


def _as_image(x, what: str = "image") -> np.ndarray:
    """One image (H x W, H x W x 1 or H x W x 3; uint8, float or bool) -> H x W x 3 uint8."""
    a = _to_numpy(x)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or 0 in a.shape:
        raise I2VError(f"{what} must be H x W x 3; got shape {tuple(a.shape)}")
    return np.ascontiguousarray(_to_rgb(_image_to_uint8(a, what + " values"), what))


def as_frames(frames, what: str = "frames") -> np.ndarray:
    """Return ``frames`` as a contiguous ``T x H x W x 3`` uint8 array (T >= 1).

    Accepts such an array (uint8, float in [0, 1], int in [0, 255], one or three
    channels) or a non-empty list of ``H x W x 3`` images of one size.
    """
    if isinstance(frames, (str, bytes, Path)) or frames is None:
        raise I2VError(f"{what} must be a T x H x W x 3 array or a list of images; got {type(frames).__name__}")
    if isinstance(frames, np.ndarray) or hasattr(frames, "detach"):
        a = _to_numpy(frames)
        if a.ndim == 3 and a.shape[-1] == 3:
            raise I2VError(f"{what} must be T x H x W x 3; got one image of shape {tuple(a.shape)} (wrap it in a list)")
        if a.ndim != 4:
            raise I2VError(f"{what} must be T x H x W x 3; got shape {tuple(a.shape)}")
        if a.shape[0] == 0:
            raise I2VError(f"{what} are empty (no frames)")
        if 0 in a.shape[1:3]:
            raise I2VError(f"{what} have an empty frame size {tuple(a.shape)}")
        a = _to_rgb(_image_to_uint8(a, what), what)
        return np.ascontiguousarray(a)
    try:
        items = list(frames)
    except TypeError:
        raise I2VError(f"{what} must be a T x H x W x 3 array or a list of images; got {type(frames).__name__}") from None
    if not items:
        raise I2VError(f"{what} are empty (no frames)")
    images = [_as_image(x, f"frame {i}") for i, x in enumerate(items)]
    h, w = images[0].shape[:2]
    for i, im in enumerate(images):
        if im.shape[:2] != (h, w):
            raise I2VError(f"{what} differ in size: frame {i} is {im.shape[0]}x{im.shape[1]}, frame 0 is {h}x{w} (H x W)")
    return np.stack(images)


def _png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = _bytesio.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------- labels


def _fmt_value(v) -> str:
    return f"{float(v):.2f}" if isinstance(v, numbers.Real) else str(v)


def _per_frame_intensities(intensities, n: int | None = None) -> list:
    """A list with one entry per frame: numbers, or dicts for mixing.

    Accepts a sequence of numbers (or dicts), or a dict of sequences
    (``{"happy": [...], "surprise": [...]}``, the mixing form of ``generate``).
    """
    if isinstance(intensities, Mapping):
        names = list(intensities)
        cols = [list(np.ravel(_to_numpy(intensities[k]))) for k in names]
        lengths = {len(c) for c in cols}
        if len(lengths) > 1:
            raise I2VError(f"intensities for {', '.join(names)} differ in length")
        items = [dict(zip(names, vals)) for vals in zip(*cols)]
    else:
        if isinstance(intensities, (str, bytes)):
            raise I2VError("intensities must be a list of numbers")
        if isinstance(intensities, np.ndarray) or hasattr(intensities, "detach"):
            intensities = list(np.ravel(_to_numpy(intensities)))
        try:
            items = list(intensities)
        except TypeError:
            raise I2VError(f"intensities must be a list of numbers; got {type(intensities).__name__}") from None
    if n is not None and len(items) != n:
        raise I2VError(f"got {len(items)} intensities for {n} frames")
    return items


def _intensity_label(v, name: str, sep: str) -> str:
    if isinstance(v, Mapping):
        return ", ".join(f"{k}{sep}{_fmt_value(x)}" for k, x in v.items())
    return f"{name}{sep}{_fmt_value(v)}"


def intensity_labels(intensities, name: str = "a") -> list[str]:
    """Compact labels for grids: ``[0, .25] -> ["a=0.00", "a=0.25"]``.

    A dict of lists (mixing) gives ``"happy=0.50, surprise=0.20"`` per frame.
    """
    return [_intensity_label(v, name, "=") for v in _per_frame_intensities(intensities)]


def _frame_labels(n: int, intensities=None, labels=None, name: str = "a") -> list[str]:
    """Labels for n frames: explicit ``labels``, else ``"a = 0.25"``, else ``"frame 1 / n"``."""
    if labels is not None:
        labels = [str(x) for x in labels]
        if len(labels) != n:
            raise I2VError(f"got {len(labels)} labels for {n} frames")
        return labels
    if intensities is not None:
        return [_intensity_label(v, name, " = ") for v in _per_frame_intensities(intensities, n)]
    return [f"frame {i + 1} / {n}" for i in range(n)]


# --------------------------------------------------------------------------- export


def sidecar_path(path) -> Path:
    """Where :func:`save_video` puts the JSON sidecar of ``path``.

    ``clip.gif -> clip.gif.json``, ``clip.mp4 -> clip.mp4.json``, folder ``clip/`` ->
    ``clip/frames.json``.
    """
    path = Path(path)
    if _output_kind(path) == "png":
        return path / FOLDER_SIDECAR
    return path.with_name(path.name + ".json")


def read_sidecar(path) -> dict:
    """The sidecar metadata of a video file or frame folder written by :func:`save_video`."""
    p = sidecar_path(path)
    if not p.is_file():
        raise I2VError(f"no sidecar {p} for {path}")
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise I2VError(f"cannot read sidecar {p}: {e}") from None


def _output_kind(path, raw=None) -> str:
    """'gif', 'mp4' or 'png' (a folder): from the suffix; no suffix, a trailing slash or
    an existing directory means a folder."""
    path = Path(path)
    raw = str(raw) if raw is not None else str(path)
    if path.is_dir() or raw.endswith(("/", os.sep)) or path.suffix == "":
        return "png"
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return suffix[1:]
    raise I2VError(
        f"unsupported video suffix {path.suffix!r} in {path.name}: use .gif, .mp4, or a folder "
        "(a path without suffix or ending in '/') for PNG frames"
    )


def save_video(frames, path, fps: float = 8, **meta) -> Path:
    """Write ``frames`` as a GIF, an MP4 or a folder of PNGs, with a JSON sidecar.

    The format comes from ``path``: ``.gif`` (loops forever; 256-colour palette shared by
    all frames; Pillow merges identical consecutive frames into one longer frame),
    ``.mp4`` (H.264, yuv420p; odd sizes are padded to even by repeating the last
    row/column, the sidecar records both sizes), or a folder -- a path without suffix,
    ending in ``/``, or an existing directory -- of ``0000.png, 0001.png, ...`` (lossless).

    ``meta`` is optional metadata for the sidecar: ``method``, ``checkpoint_hash``,
    ``intensities``, ``expression``, ``seed``, ``crop_box`` (always present, null when not
    given) and any further JSON-serialisable keys. The sidecar adds ``format``, ``frames``,
    ``fps``, ``height``, ``width``, ``i2vlib_version`` and ``created`` (UTC, ISO 8601).
    See :func:`sidecar_path` for where it goes.

    Writes are atomic: everything goes to temporary files (a temporary sibling folder)
    that are renamed into place only when complete; an error leaves no partial output
    and any previous output at ``path`` untouched. Returns the output path.
    """
    raw = path
    path = Path(path)
    kind = _output_kind(path, raw)
    frames = as_frames(frames)
    t, h, w = frames.shape[:3]
    if not isinstance(fps, numbers.Real) or not math.isfinite(fps) or fps <= 0:
        raise I2VError(f"fps must be a positive number; got {fps!r}")
    bad = sorted(set(meta) & set(RESERVED_META))
    if bad:
        raise I2VError(f"save_video sets {', '.join(bad)} itself; do not pass them as metadata")
    if isinstance(meta.get("intensities"), (list, tuple, np.ndarray)) and len(meta["intensities"]) != t:
        raise I2VError(f"got {len(meta['intensities'])} intensities for {t} frames")

    side = {"format": kind, "frames": int(t), "fps": fps, "height": int(h), "width": int(w)}
    side.update({k: meta.get(k) for k in KNOWN_META})
    side.update({k: v for k, v in meta.items() if k not in KNOWN_META})
    side["i2vlib_version"] = __version__
    side["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if kind == "mp4":
        side["video_height"], side["video_width"] = h + h % 2, w + w % 2
    if kind == "png":
        digits = max(4, len(str(t - 1)))
        side["files"] = [f"{i:0{digits}d}.png" for i in range(t)]
    try:
        side_text = json.dumps(side, indent=1, default=json_default, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise I2VError(f"sidecar metadata is not JSON serialisable: {e}") from None

    if kind == "png":
        _save_folder(frames, path, side["files"], side_text)
        return path
    # Sidecar outermost: the video is renamed into place first, then its sidecar.
    with atomic_path(sidecar_path(path), suffix=".json") as side_tmp:
        with atomic_path(path) as video_tmp:
            try:
                if kind == "gif":
                    _write_gif(frames, video_tmp, fps)
                else:
                    _write_mp4(frames, video_tmp, fps)
            except I2VError as e:
                raise I2VError(f"cannot write {path}: {e}") from None
            side_tmp.write_text(side_text)
    return path


def _write_gif(frames: np.ndarray, path: Path, fps: float) -> None:
    """An endlessly looping GIF with one palette shared by all frames (no flicker)."""
    from PIL import Image

    t, h, w = frames.shape[:3]
    # Palette from (a subsample of) all frames, stacked into one tall image.
    step = max(1, int(math.ceil(t * h * w / 2_000_000)))
    sample = Image.fromarray(np.ascontiguousarray(frames[::step].reshape(-1, w, 3)))
    palette = sample.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    duration = max(10, int(round(1000.0 / fps)))
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=duration, disposal=1, optimize=False)


def _write_mp4(frames: np.ndarray, path: Path, fps: float) -> None:
    """H.264 / yuv420p with the ffmpeg binary of imageio-ffmpeg; odd sizes padded to even by
    repeating the last row/column. ffmpeg's exit status is checked (a failed encode is an
    I2VError, never a silently broken file)."""
    import subprocess
    from fractions import Fraction

    import imageio_ffmpeg

    t, h, w = frames.shape[:3]
    if h % 2 or w % 2:
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    rate = Fraction(fps).limit_denominator(1000)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{frames.shape[2]}x{frames.shape[1]}",
           "-r", f"{rate.numerator}/{rate.denominator}", "-i", "-",
           "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", "-preset", "medium",
           "-movflags", "+faststart", "-f", "mp4", str(path)]
    try:
        proc = subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    except OSError as e:
        raise I2VError(f"cannot run ffmpeg: {e}") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise I2VError(f"ffmpeg failed: {lines[-1] if lines else f'exit status {proc.returncode}'}")


def _write_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(image).save(path, format="PNG")


def _replaceable_folder(path: Path) -> bool:
    """An existing folder may be replaced only if it is empty or holds only our output."""
    for p in path.iterdir():
        if not (p.is_file() and (p.name == FOLDER_SIDECAR or _FRAME_NAME.match(p.name))):
            return False
    return True


def _save_folder(frames: np.ndarray, path: Path, names: list[str], side_text: str) -> None:
    if path.exists() and not path.is_dir():
        raise I2VError(f"{path} exists and is not a folder")
    if path.is_dir() and not _replaceable_folder(path):
        raise I2VError(f"folder {path} holds other files; refusing to replace it")
    with atomic_dir(path) as tmp:
        for f, name in zip(frames, names):
            _write_png(f, tmp / name)
        (tmp / FOLDER_SIDECAR).write_text(side_text)


def read_video(path) -> np.ndarray:
    """Read a ``.gif``, ``.mp4`` or PNG frame folder back as ``T x H x W x 3`` uint8.

    MP4 frames keep the even (padded) size they were encoded at; compare with the
    sidecar's ``height``/``width`` to crop.
    """
    path = Path(path)
    kind = _output_kind(path)
    if not path.exists():
        raise I2VError(f"no such video: {path}")
    try:
        if kind == "png":
            names = sorted((p for p in path.iterdir() if _FRAME_NAME.match(p.name)),
                           key=lambda p: int(_FRAME_NAME.match(p.name).group(1)))
            if not names:
                raise I2VError(f"no numbered PNG frames in {path}")
            from .io import read_image

            return as_frames([read_image(p) for p in names])
        if kind == "gif":
            from PIL import Image, ImageSequence

            with Image.open(path) as im:
                return as_frames([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)])
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(str(path))
        info = next(gen)
        w, h = info["size"]
        out = [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen]
        return as_frames(out)
    except I2VError:
        raise
    except (OSError, RuntimeError, ValueError, StopIteration) as e:
        raise I2VError(f"cannot read video {path}: {type(e).__name__}: {e}".splitlines()[0]) from None


# --------------------------------------------------------------------------- grids


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
        a = _to_numpy(images)
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
            return _to_numpy(x).ndim == 4
        return isinstance(x, Sequence) and not isinstance(x, (str, bytes))

    kinds = {is_row(x) for x in items}
    if kinds == {False}:
        return [items]
    if kinds == {True}:
        return [list(_to_numpy(r)) if (isinstance(r, np.ndarray) or hasattr(r, "detach")) else list(r) for r in items]
    raise I2VError("frame_grid got a mix of images and rows; pass one row of images or a list of rows")


def frame_grid(images, row_labels=None, col_labels=None, pad: int = 2, bg=255, label_size: int | None = None) -> np.ndarray:
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
    rows = [[None if x is None else _as_image(x, f"grid image ({r}, {c})") for c, x in enumerate(row)]
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


# --------------------------------------------------------------------------- matplotlib


def show_frames(frames, intensities=None, title=None, labels=None):
    """A matplotlib figure of one row of frames, each titled with its intensity.

    The figure is closed in pyplot and returned, so a notebook shows it exactly once when
    it is a cell's last value (or via ``display(fig)``), and ``fig.savefig`` works.
    """
    import matplotlib.pyplot as plt

    frames = as_frames(frames)
    t, h, w = frames.shape[:3]
    names = _frame_labels(t, intensities, labels) if (intensities is not None or labels is not None) else None
    cell = min(1.4, 16.0 / t)  # inches per frame; the whole row stays <= 16 in wide
    fig, axes = plt.subplots(1, t, figsize=(cell * t, cell * h / w + (0.5 if title else 0.3)), squeeze=False)
    for i, ax in enumerate(axes[0]):
        ax.imshow(frames[i], interpolation="nearest")
        ax.set_axis_off()
        if names:
            ax.set_title(names[i], fontsize=8)
    if title:
        fig.suptitle(str(title), fontsize=10)
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
    if not isinstance(fps, numbers.Real) or not math.isfinite(fps) or fps <= 0:
        raise I2VError(f"fps must be a positive number; got {fps!r}")
    names = _frame_labels(t, intensities, labels) if (intensities is not None or labels is not None) else None
    k = int(scale) if scale else max(1, int(round(192 / w)))
    dpi = 100
    band = 18 if names else 0  # px for the label
    fig = plt.figure(figsize=(w * k / dpi, (h * k + band) / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, h * k / (h * k + band)))
    ax.set_axis_off()
    im = ax.imshow(frames[0], interpolation="nearest")
    text = fig.text(0.5, 1 - band / 2 / (h * k + band), names[0] if names else "",
                    ha="center", va="center", fontsize=9)

    def update(i):
        im.set_data(frames[i])
        if names:
            text.set_text(names[i])
        return im, text

    anim = FuncAnimation(fig, update, frames=t, interval=1000.0 / fps, blit=False)
    plt.close(fig)
    return anim


def to_jshtml(frames, fps: float = 8, labels=None, intensities=None):
    """An ``IPython.display.HTML`` animation with play controls that needs no kernel."""
    from IPython.display import HTML

    anim = animation(frames, fps=fps, labels=labels, intensities=intensities)
    return HTML(anim.to_jshtml(fps=fps, default_mode="loop"))


# --------------------------------------------------------------------------- scrubber

_SCRUBBER_JS = """(function () {
  var id = %(id)s;
  var s = document.currentScript;
  var root = s && s.previousElementSibling;
  if (!root || root.id !== id) { root = document.getElementById(id); }
  if (!root || root.getAttribute("data-i2v-ready")) { return; }
  root.setAttribute("data-i2v-ready", "1");
  var img = root.querySelector(".i2v-scrubber-img");
  var range = root.querySelector(".i2v-scrubber-range");
  var label = root.querySelector(".i2v-scrubber-label");
  var rest = %(pngs)s;
  var order = %(order)s;
  var labels = %(labels)s;
  var srcs = [img.getAttribute("src")];
  for (var j = 0; j < rest.length; j++) { srcs.push("data:image/png;base64," + rest[j]); }
  function show() {
    var i = Math.max(0, Math.min(order.length - 1, parseInt(range.value, 10) || 0));
    img.src = srcs[order[i]];
    img.alt = labels[i];
    label.textContent = labels[i];
    range.setAttribute("aria-valuetext", labels[i]);
  }
  range.addEventListener("input", show);
  range.addEventListener("change", show);
  show();
})();"""


def _js(obj) -> str:
    """JSON for inline <script>: '</' cannot close the script element."""
    return json.dumps(obj).replace("</", "<\\/")


class Scrubber:
    """A static, kernel-free frame scrubber: ``<input type="range">`` swapping PNG frames.

    Frames are embedded once each (identical frames once in all) as base64 PNGs; the
    first frame is the static ``<img src>``, so something shows even without JavaScript.
    The inline script finds its own root by a unique id, so any number of scrubbers can
    share a page. ``.html`` is the markup; every ``_repr_html_()`` call re-issues it with
    a fresh id so the same object can also be displayed twice.
    """

    def __init__(self, frames, intensities=None, labels=None, width: int | None = None):
        frames = as_frames(frames)
        t, h, w = frames.shape[:3]
        self.n_frames = int(t)
        self.labels = _frame_labels(t, intensities, labels)
        self._kind = "intensity" if intensities is not None and labels is None else "frame"
        if width is None:
            width = w * max(1, 256 // w)
        width = int(width)
        if width <= 0:
            raise I2VError(f"scrubber width must be positive; got {width}")
        self.display_width = width
        self.display_height = int(round(h * width / w))
        uniq: dict[bytes, int] = {}
        self._pngs: list[str] = []
        self._order: list[int] = []
        for f in frames:
            key = f.tobytes()
            if key not in uniq:
                uniq[key] = len(self._pngs)
                self._pngs.append(base64.b64encode(_png_bytes(f)).decode("ascii"))
            self._order.append(uniq[key])
        self.id = _new_scrubber_id()
        self.html = self._render(self.id)

    def _render(self, dom_id: str) -> str:
        w, h = self.display_width, self.display_height
        first = _html.escape(self.labels[0])
        kind = self._kind
        js = _SCRUBBER_JS % {"id": _js(dom_id), "pngs": _js(self._pngs[1:]),
                             "order": _js(self._order), "labels": _js(self.labels)}
        return (
            f'<div class="i2v-scrubber" id="{dom_id}" data-frames="{self.n_frames}" '
            f'style="display:inline-block;margin:4px 8px 4px 0;font:13px sans-serif;text-align:center;">'
            f'<img class="i2v-scrubber-img" src="data:image/png;base64,{self._pngs[0]}" alt="{first}" '
            f'width="{w}" height="{h}" style="display:block;width:{w}px;height:{h}px;'
            f'image-rendering:pixelated;margin:0 auto;">'
            f'<input type="range" class="i2v-scrubber-range" min="0" max="{self.n_frames - 1}" '
            f'step="1" value="0" aria-label="{kind}" style="display:block;width:{w}px;margin:4px auto 0;">'
            f'<span class="i2v-scrubber-label" style="font-variant-numeric:tabular-nums;">{first}</span>'
            f"</div>\n<script>\n{js}\n</script>"
        )

    def _repr_html_(self) -> str:
        return self._render(_new_scrubber_id())

    def __repr__(self) -> str:
        return f"<Scrubber {self.n_frames} frames, {len(self._pngs)} distinct, id={self.id}>"


def _new_scrubber_id() -> str:
    return "i2v-scrubber-" + uuid.uuid4().hex[:16]


def scrubber(frames, intensities=None, labels=None, width: int | None = None) -> Scrubber:
    """A kernel-free HTML slider over ``frames`` for the published book.

    The label reads ``"a = 0.25"`` from ``intensities``, or ``labels`` if given, or
    ``"frame 3 / 8"``. ``width`` is the display width in CSS pixels (default: small frames
    scaled up by an integer factor to about 256 px).
    """
    return Scrubber(frames, intensities=intensities, labels=labels, width=width)


# --------------------------------------------------------------------------- ipywidgets


class _RenderCache:
    """Remember the last few rendered PNGs, so scrubbing back and forth costs nothing."""

    def __init__(self, render_fn, size: int = 64):
        self.render_fn, self.size, self.store = render_fn, size, OrderedDict()

    def __call__(self, key, arg) -> bytes:
        if key in self.store:
            self.store.move_to_end(key)
            return self.store[key]
        png = _png_bytes(_as_image(self.render_fn(arg), "render_fn output"))
        self.store[key] = png
        if len(self.store) > self.size:
            self.store.popitem(last=False)
        return png


def _slider(widgets, a_min, a_max, step, value, description):
    return widgets.FloatSlider(value=value, min=a_min, max=a_max, step=step, description=str(description),
                               continuous_update=True, readout_format=".2f")


def live_slider(render_fn, a_min: float = 0.0, a_max: float = 1.0, step: float = 0.05, value: float = 0.0,
                description: str = "a"):
    """An ipywidgets intensity slider that re-renders on every move (needs a live kernel).

    ``render_fn(a) -> H x W x 3`` image. Returns a ``VBox`` of the ``FloatSlider``, the
    ``Image`` (PNG) and a status line that shows an error from ``render_fn`` instead of
    losing it; also reachable as ``box.slider`` and ``box.image``. Rendered intensities are
    cached, so moving back over them is instant.
    """
    import ipywidgets as widgets

    slider = _slider(widgets, a_min, a_max, step, value, description)
    cache = _RenderCache(render_fn)
    image = widgets.Image(format="png")
    status = widgets.HTML(value="")

    def update(_change=None):
        a = float(slider.value)
        _show(image, status, lambda: cache(round(a, 6), a))

    slider.observe(update, names="value")
    update()
    box = widgets.VBox([slider, image, status])
    box.slider, box.image, box.status = slider, image, status
    return box


def live_mixer(render_fn, names, a_min: float = 0.0, a_max: float = 1.0, step: float = 0.05, value: float = 0.0):
    """One ipywidgets slider per expression; ``render_fn({name: a, ...}) -> image``.

    Returns a ``VBox`` (sliders, image, status line); ``box.sliders`` maps each name to
    its slider and ``box.image`` is the ``Image`` widget.
    """
    import ipywidgets as widgets

    names = [str(n) for n in names]
    if not names:
        raise I2VError("live_mixer needs at least one expression name")
    if len(set(names)) != len(names):
        raise I2VError(f"live_mixer got repeated names: {names}")
    sliders = {n: _slider(widgets, a_min, a_max, step, value, n) for n in names}
    cache = _RenderCache(render_fn)
    image = widgets.Image(format="png")
    status = widgets.HTML(value="")

    def update(_change=None):
        mix = {n: float(s.value) for n, s in sliders.items()}
        _show(image, status, lambda: cache(tuple(round(v, 6) for v in mix.values()), dict(mix)))

    for s in sliders.values():
        s.observe(update, names="value")
    update()
    box = widgets.VBox([*sliders.values(), image, status])
    box.sliders, box.image, box.status = sliders, image, status
    return box


def _show(image, status, render) -> None:
    """Put ``render()``'s PNG into ``image``; an error goes to the status line instead."""
    try:
        image.value = render()
        status.value = ""
    except Exception as e:  # noqa: BLE001 -- a slider callback's traceback would be lost
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        status.value = f'<span style="color:#b00">{_html.escape(type(e).__name__ + (": " + msg if msg else ""))}</span>'


# --------------------------------------------------------------------------- training logs

_NOT_LOSSES = {"step", "epoch", "time", "elapsed", "wall", "wall_s", "seconds", "lr", "iteration", "it"}


def _read_log(log) -> tuple[list[str], list[dict]]:
    if isinstance(log, (str, Path)):
        p = Path(log)
        if not p.is_file():
            raise I2VError(f"no such log file: {p}")
        with open(p, newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            cols = list(reader.fieldnames or [])
        if not cols:
            raise I2VError(f"log {p} has no header row")
        return cols, rows
    if isinstance(log, Mapping):  # dict of columns
        cols = list(log)
        n = {len(v) for v in log.values()}
        if len(n) > 1:
            raise I2VError("log columns differ in length")
        return cols, [dict(zip(cols, vals)) for vals in zip(*log.values())]
    try:
        rows = [dict(r) for r in log]
    except (TypeError, ValueError):
        raise I2VError("log must be a CSV path, a list of dicts or a dict of columns") from None
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return cols, rows


def _num(v) -> float:
    if v is None or v == "":
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def plot_losses(log, keys=None, smooth: float = 0.0, separate: bool = False, logy: bool = False, title=None):
    """Plot training curves; returns the (pyplot-closed) matplotlib figure.

    ``log``: a CSV path, a list of dicts (one per logged step) or a dict of columns, with a
    ``step`` column (the row number is used when there is none). ``keys``: the columns to
    plot (default: every numeric column except step/epoch/time/lr). Missing values are
    gaps. ``smooth`` in [0, 1) draws an exponential moving average over the faint raw
    curve; ``separate=True`` gives each key its own axes (losses of very different
    scales); ``logy`` uses a log y axis.
    """
    import matplotlib.pyplot as plt

    cols, rows = _read_log(log)
    if not rows:
        raise I2VError("the log has no rows")
    if not 0 <= float(smooth) < 1:
        raise I2VError(f"smooth must be in [0, 1); got {smooth}")
    steps = np.array([_num(r.get("step")) for r in rows]) if "step" in cols else np.arange(len(rows), dtype=float)
    table = {c: np.array([_num(r.get(c)) for r in rows]) for c in cols}
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
            ax.set_title(key, fontsize=9)
        ax.grid(alpha=0.3)
    if not separate and n > 1:
        axes_for[0].legend(fontsize=8, frameon=False)
    if title:
        fig.suptitle(str(title), fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


# --------------------------------------------------------------------------- downloads


def download_link(path, text: str | None = None, preview: bool = True):
    """Kernel-free HTML that shows a saved GIF/PNG and offers the file (and its sidecar) for download.

    The file travels inside the page as a ``data:`` URI, so the published book needs no
    separate download folder. Meant for small files (the book's clips are tens of kB).
    """
    from IPython.display import HTML

    path = Path(path)
    if not path.is_file():
        raise I2VError(f"no such file to offer for download: {path}")
    mime = {".gif": "image/gif", ".png": "image/png", ".mp4": "video/mp4", ".json": "application/json"}
    kind = mime.get(path.suffix.lower(), "application/octet-stream")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    parts = []
    if preview and kind.startswith("image/"):
        parts.append(f'<img src="data:{kind};base64,{data}" alt="{_html.escape(path.name)}" '
                     'style="image-rendering:pixelated;width:192px">')
    links = [f'<a download="{_html.escape(path.name)}" href="data:{kind};base64,{data}">'
             f'{_html.escape(text or "download " + path.name)}</a>']
    side = sidecar_path(path)
    if side.is_file():
        side_data = base64.b64encode(side.read_bytes()).decode("ascii")
        links.append(f'<a download="{_html.escape(side.name)}" href="data:application/json;base64,{side_data}">'
                     f'{_html.escape(side.name)}</a>')
    parts.append("<div>" + " &middot; ".join(links) + "</div>")
    return HTML('<div class="i2v-download">' + "".join(parts) + "</div>")
