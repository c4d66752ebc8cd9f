"""Reading and writing what the library exchanges: JSON, images and loss logs -- all with one-line errors.

Every module that writes a record, converts pixel values or reads a loss log uses these, so each rule (how NaN
reaches JSON, what a valid image file is, where a run keeps its losses) lives in one place; what ``generate`` accepts
from its caller is :mod:`i2vlib.inputs`. Files are written atomically (:mod:`i2vlib.outputs`).
"""

from __future__ import annotations

import csv
import gzip
import importlib
import json
import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .errors import I2VError
from .outputs import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MAX_PIXELS = 64_000_000   # the largest image read (8000 x 8000): larger ones are refused before decoding


# --------------------------------------------------------------------------- JSON


# JSON files compressed by their suffix (matched in any case), and suffixes of the compressors and archives it does
# not write: a file is what its name says.
COMPRESSORS = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}
_OTHER_PACKINGS = (".zip", ".zst", ".7z", ".lz4", ".lz", ".lzma", ".z", ".br", ".tar", ".tgz")


def json_compression(path) -> str | None:
    """The module that :func:`write_json` compresses ``path`` with (``gzip``, ``bz2``, ``lzma``), None for plain
    JSON; another compressor's or an archive's suffix is one line (checked before any work)."""
    suffix = Path(path).suffix.lower()
    if suffix in _OTHER_PACKINGS:
        raise I2VError(f"cannot write {Path(path).name}: JSON is written plain or compressed as "
                       f"{', '.join(COMPRESSORS)}, not {suffix}")
    return COMPRESSORS.get(suffix)


def write_json(path, obj) -> None:
    """Write ``obj`` as indented JSON, atomically (converted by :func:`to_json`, so NaN is written as null);
    compressed where the name ends in ``.gz``, ``.bz2`` or ``.xz`` (:func:`json_compression`)."""
    module = json_compression(path)
    text = json.dumps(to_json(obj), indent=1, allow_nan=False)
    with atomic_path(path) as tmp:
        if module is None:
            tmp.write_text(text)
        elif module == "gzip":
            tmp.write_bytes(gzip.compress(text.encode(), mtime=0))    # no time stamp: the same JSON, the same bytes
        else:
            tmp.write_bytes(importlib.import_module(module).compress(text.encode()))


def to_json(obj):
    """``obj`` in JSON types, recursively: arrays and tuples to lists, numpy scalars to Python ones,
    paths to strings, mapping keys to strings, NaN and infinity to None. Other objects are returned
    as they are (``json.dumps`` then rejects what it cannot write)."""
    if isinstance(obj, Mapping):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_json(obj.tolist())
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def json_default(o):
    """A ``json.dumps(default=json_default)`` hook: :func:`to_json` for the objects json cannot write itself."""
    out = to_json(o)
    if out is o:
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")
    return out


# --------------------------------------------------------------------------- images

_FLOAT_TOLERANCE = 1e-3  # floats this far outside [0, 1] are clipped, further is an error


def to_numpy(x, what: str = "the value") -> np.ndarray:
    """``x`` as a numpy array, the one conversion of the library's array inputs (torch is not imported).

    A torch tensor of any dtype on any device is detached and moved to the CPU: a sparse one made dense, a quantized
    one dequantized, a dtype numpy lacks (bfloat16, float8) widened to float32; a tensor on the ``meta`` device holds
    no values and is refused in one line, as is a nested (jagged) tensor. A nested list or tuple must be rectangular:
    a ragged one is one line naming ``what``, not NumPy's ValueError."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return _tensor_numpy(x.detach(), what)
    try:
        return np.asarray(x)
    except ValueError:          # NumPy refuses ragged nested sequences
        raise I2VError(f"{what} is a ragged nested list (its rows differ in length); give rows of one length") \
            from None
    except TypeError as e:      # a list of tensors numpy cannot read (bfloat16 ones)
        raise I2VError(f"{what} is a list numpy cannot read ({e}); give an array or one tensor") from None


def _tensor_numpy(t, what: str) -> np.ndarray:
    if t.device.type == "meta":
        raise I2VError(f"{what} is a tensor on the meta device, which holds a shape and no values; create it on "
                       "a device that holds its values (cpu, cuda)")
    if getattr(t, "is_nested", False):
        raise I2VError(f"{what} is a nested (jagged) tensor; give one of its parts, or a padded tensor")
    if str(t.layout) != "torch.strided":        # sparse COO, CSR, CSC, BSR, BSC
        t = t.to_dense()
    if t.is_quantized:
        t = t.dequantize()
    t = t.cpu().resolve_conj().resolve_neg()
    try:
        return t.numpy()
    except TypeError:                           # a dtype numpy lacks: bfloat16, float8, ...
        return t.float().numpy()


def to_uint8(a: np.ndarray, what: str = "image values") -> np.ndarray:
    """Pixel values of any shape as uint8: bool, float in [0, 1] or integers in [0, 255], range-checked."""
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


def to_rgb(a: np.ndarray, what: str = "image") -> np.ndarray:
    """``... x H x W x C`` with C in (1, 3) -> ``... x H x W x 3``; channels-first input gets a hint."""
    if a.shape[-1] == 1:
        return np.repeat(a, 3, axis=-1)
    if a.shape[-1] == 3:
        return a
    if a.ndim >= 3 and a.shape[-3] in (1, 3):
        raise I2VError(f"{what} look channels-first {tuple(a.shape)}; expected channels last (... x H x W x 3)")
    raise I2VError(f"{what} must have 3 (RGB) channels in the last axis; got shape {tuple(a.shape)}")


def read_image(path, gray_to_rgb: bool = True) -> np.ndarray:
    """Read an image file, or a binary file object (``open(f, "rb")``, ``io.BytesIO``), as H x W x 3 uint8 RGB
    (``gray_to_rgb=False``: H x W gray), as a viewer shows it (:func:`pil_rgb`: turned upright by its EXIF
    orientation, 16-bit and float pixels scaled to their range, transparency over white, every colour mode
    converted). An image of more than :data:`MAX_PIXELS` pixels is refused from its header, before it is decoded; a
    corrupt or missing file is an I2VError.
    """
    from PIL import Image, UnidentifiedImageError

    if hasattr(path, "read"):
        source = path
        path = getattr(path, "name", None) or f"(a {type(path).__name__})"
    else:
        source = path = Path(path)
        if not path.is_file():
            raise I2VError(f"no such image file: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # the limit is ours, in one line
            with Image.open(source) as im:
                _check_pixels(im.size, f"image {path}")
                im.load()
                a = pil_rgb(im, f"image {path}")
    except Image.DecompressionBombError as e:
        found = re.search(r"\((\d+) pixels\)", str(e))
        pixels = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "too many pixels"
        raise I2VError(f"image {path} holds {pixels}; i2v reads images of at most {MAX_PIXELS // 10**6} "
                       "megapixels: scale it down first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError) as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise I2VError(f"cannot read image {path}: {e.__class__.__name__}: {first}") from None
    if 0 in a.shape:
        raise I2VError(f"image {path} is empty ({a.shape[1]} x {a.shape[0]} pixels)")
    return np.ascontiguousarray(a if gray_to_rgb else a.mean(-1).round().astype(np.uint8))


def _check_pixels(size, what: str) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise I2VError(f"{what} is {w} x {h} pixels ({w * h / 1e6:.0f} megapixels); i2v reads images of at most "
                       f"{MAX_PIXELS // 10**6} megapixels: scale it down first")


def pil_rgb(im, what: str = "image") -> np.ndarray:
    """A PIL image as H x W x 3 uint8 RGB, as a viewer shows it: turned upright by its EXIF orientation; 16-bit
    pixels scaled to 8 bits, 32-bit integer and float ones by their range (:func:`_levels`); transparent pixels
    over white; CIELAB through a colour profile; every other mode (palette, CMYK, YCbCr, HSV, bilevel) by PIL's
    own conversion. A mode PIL cannot convert is one line."""
    from PIL import ImageOps

    _check_pixels(im.size, what)
    im = ImageOps.exif_transpose(im) if im.getexif().get(0x0112, 1) != 1 else im
    mode = im.mode
    if mode.startswith("I") or mode == "F":
        gray = _levels(np.asarray(im), mode, what)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "LAB":
        return np.asarray(_lab_to_rgb(im, what))
    if mode in ("La", "RGBa"):                           # premultiplied alpha: PIL undoes it on the way
        im = im.convert("LA" if mode == "La" else "RGBA")
    try:
        if "A" in im.mode or "transparency" in im.info:
            return over_white(np.asarray(im.convert("RGBA")))
        return np.asarray(im.convert("RGB"))
    except ValueError:
        raise I2VError(f"{what} has the colour mode {mode}, which i2v cannot convert to RGB; save it as an RGB "
                       "PNG") from None


def _levels(a: np.ndarray, mode: str, what: str) -> np.ndarray:
    """One-channel pixels as 8-bit levels: 16-bit ones / 257; 32-bit integers by their range (levels up to 255
    as they are, up to 65535 as 16-bit); floats in [0, 1] x 255 (the float convention), in [0, 255] as levels."""
    a = a.astype(np.float64)
    if a.size and not np.isfinite(a).all():
        raise I2VError(f"{what}: its float pixels hold NaN or infinite values")
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if mode.startswith("I;16"):
        scale = 255 / 65535
    elif mode == "F" and lo >= -_FLOAT_TOLERANCE and hi <= 1 + _FLOAT_TOLERANCE:
        scale = 255.0
    elif lo >= 0 and hi <= 255:
        scale = 1.0
    elif mode == "I" and lo >= 0 and hi <= 65535:
        scale = 255 / 65535
    else:
        kind = "float image" if mode == "F" else "32-bit image"
        raise I2VError(f"{what}: a {kind} with values in [{lo:.4g}, {hi:.4g}]; i2v reads floats in [0, 1] and "
                       "levels in [0, 255] (or 16-bit [0, 65535])")
    return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)


def _lab_to_rgb(im, what: str):
    try:
        from PIL import ImageCms
        lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
        return ImageCms.applyTransform(im, ImageCms.buildTransformFromOpenProfiles(lab, srgb, "LAB", "RGB"))
    except (ImportError, OSError, ValueError) as e:      # a PIL built without littleCMS
        raise I2VError(f"{what} is CIELAB, which this PIL cannot convert to RGB ({e}); save it as RGB") from None


def over_white(rgba: np.ndarray) -> np.ndarray:
    """An H x W x 4 uint8 image composited over a white background: H x W x 3 uint8."""
    alpha = rgba[..., 3:].astype(np.float32) / 255.0
    return np.rint(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def write_image(path, image: np.ndarray) -> None:
    """Write an H x W (x 3) uint8 array as an image file (format from the suffix), atomically."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(image)).save(tmp, format=_pil_format(Path(path).suffix))


def _pil_format(suffix: str) -> str:
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".gif": "GIF",
            ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}.get(suffix.lower(), "PNG")


def as_image(image, what: str = "image", convert: bool = False) -> np.ndarray:
    """An image path, array or tensor as a contiguous H x W x 3 uint8 array.

    Arrays may be H x W or H x W x 1 (gray, replicated), H x W x 3, or H x W x 4 (composited
    over white, as reading an RGBA file does). Values must be uint8 (or uint16, scaled to 8
    bits) -- a face detector should not guess a range -- unless ``convert``: then bool, float in
    [0, 1] and integers in [0, 255] are converted too (model outputs, frames to render). A PIL
    image of any mode is converted as a viewer shows it (:func:`pil_rgb`), and a tensor is detached
    first (one that requires grad too). ``what`` names the input in the one-line :class:`I2VError` messages.
    """
    if isinstance(image, (str, Path)):
        return read_image(image)
    if is_pil(image):
        return np.ascontiguousarray(pil_rgb(image, what))
    a = to_numpy(image)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or 0 in a.shape:
        raise I2VError(f"{what} must be H x W x 3; got shape {tuple(a.shape)}")
    if a.dtype == np.uint16:
        a = np.rint(a / 257.0).astype(np.uint8)
    if a.dtype != np.uint8 and not convert:
        raise I2VError(f"expected a uint8 {what}, got dtype {a.dtype}")
    a = to_uint8(a, what + " values")
    if a.shape[-1] == 4:
        a = over_white(a)
    return np.ascontiguousarray(to_rgb(a, what))


def is_pil(x) -> bool:
    """Whether ``x`` is a PIL image (PIL is not imported to ask)."""
    return any(c.__module__.startswith("PIL.") and c.__name__ == "Image" for c in type(x).__mro__)


def png_bytes(image: np.ndarray, optimize: bool = False) -> bytes:
    """An H x W x 3 uint8 image encoded as PNG, in memory (``optimize``: smaller, slower to encode)."""
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", optimize=optimize)
    return buf.getvalue()


def jpeg_bytes(image: np.ndarray, quality: int = 90) -> bytes:
    """An H x W x 3 uint8 image encoded as JPEG of ``quality`` (1-95), in memory."""
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


# --------------------------------------------------------------------------- loss logs


def read_losses(source) -> list[dict]:
    """A training loss log as a list of dicts, one per logged step, numbers as floats.

    ``source``: a run directory (its ``losses.csv``), a CSV file, a list of dicts (one per step) or a
    dict of columns (a zoo model's log: :func:`i2vlib.runs.read_losses`). Empty and non-numeric values
    are left out of their row, so a term not logged at some step is missing there (a plot shows a gap).
    """
    if isinstance(source, (str, Path)):
        rows = read_csv(_loss_csv(source))
    elif isinstance(source, Mapping):
        try:
            lengths = {len(v) for v in source.values()}
        except TypeError:
            raise I2VError("a log given as a dict must map each column to a sequence of values") from None
        if len(lengths) > 1:
            raise I2VError("log columns differ in length")
        rows = [dict(zip(source, values)) for values in zip(*source.values())]
    else:
        try:
            rows = [dict(r) for r in source]
        except (TypeError, ValueError):
            raise I2VError("a log must be a run directory, a CSV path, a list of dicts or a dict of columns") from None
    return [{str(k): x for k, v in row.items() if k is not None and (x := _number(v)) is not None} for row in rows]


def read_csv(path) -> list[dict]:
    """The rows of a CSV file with a header (a loss log) as dicts; a file that is not UTF-8 text, or not CSV
    (damaged by a disk error, overwritten by another program), is one line naming it."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as e:
        why = f"not UTF-8 text at byte {e.start}" if isinstance(e, UnicodeDecodeError) else f"not CSV: {e}"
        raise I2VError(f"{path} is damaged ({why}); restore it, or move it aside and put an empty file in its "
                       "place (a run then resumes with a new log)") from None


def log_tenth(log, key: str, last: bool = True) -> float:
    """The mean of ``key`` over the last (or the first) tenth of a loss log (:func:`read_losses`); NaN if absent."""
    v = np.array([r[key] for r in log if key in r], float)
    if not len(v):
        return float("nan")
    q = max(1, len(v) // 10)
    return float(np.mean(v[-q:] if last else v[:q]))


def _loss_csv(source) -> Path:
    path = Path(source)
    if path.is_file():
        return path
    if (path / "losses.csv").is_file():
        return path / "losses.csv"
    raise I2VError(f"no such log file: {path}" if path.suffix.lower() == ".csv" else f"{source} has no losses.csv")


def _number(v) -> float | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
