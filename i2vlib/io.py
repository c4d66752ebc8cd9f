"""Small shared helpers: atomic writes, JSON conversion, images, loss logs -- all with one-line errors.

Every module that writes a file, converts pixel values or reads a loss log uses these, so
each rule (what a valid image is, how NaN reaches JSON, where a run keeps its losses)
lives in one place.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .errors import I2VError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A crash or an exception inside the block leaves no half-written ``path`` behind.
    """
    path = Path(path)
    created = make_folders(path.parent, path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    except OSError as e:
        remove_created(created)
        raise I2VError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        remove_created(created)
        raise


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary folder beside ``path``; swap it onto ``path`` only on success.

    An existing ``path`` is replaced whole, and restored if the swap fails; an exception
    inside the block leaves ``path`` as it was and removes the temporary folder.
    """
    path = Path(path)
    created = make_folders(path.parent, path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.writing-", dir=path.parent))
    except OSError as e:
        remove_created(created)
        raise I2VError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
        if not path.exists():
            os.rename(tmp, path)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
        os.rename(path, old / "x")
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old / "x", path)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_created(created)
        raise


def make_folders(folder, target=None) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, outermost first, so that a
    failed write can remove them again (:func:`remove_created`) and leave nothing behind. ``target``
    is what the folders are for, named in the one-line error."""
    folder = Path(folder)
    _, missing = _nearest_folder(folder, target or folder)
    created = []
    try:
        for f in missing:
            try:
                f.mkdir()
            except FileExistsError:
                if f.is_dir():   # made meanwhile by another process (runs trained side by side): not ours
                    continue
                raise
            created.append(f)
    except OSError as e:
        remove_created(created)
        raise I2VError(f"cannot write {target or folder}: {e.strerror or e}") from None
    return created


def _nearest_folder(path: Path, target) -> tuple[Path, list[Path]]:
    """The nearest existing folder at or above ``path``, and the missing ones below it down to ``path``
    (outermost first); an existing file on the way is one line naming ``target``."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    if not path.is_dir():
        raise I2VError(f"cannot write {target}: {path} is a file, not a folder")
    return path, missing[::-1]


def remove_created(folders) -> None:
    """Remove the folders :func:`make_folders` created, innermost first, where they are still empty."""
    for folder in reversed(list(folders)):
        with contextlib.suppress(OSError):
            folder.rmdir()


def check_replaceable(root, overwrite: bool) -> Path:
    """A folder a writer may fill: absent, empty, or replaced because ``overwrite`` says so."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise I2VError(f"{root} exists and is not a folder")
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise I2VError(f"{root} exists and is not empty; replace it with --overwrite (overwrite=True in Python)")
    return root


def check_output(path, kind: str = "file") -> Path:
    """Check before any work that ``path`` can be written, so that a command fails at once, in one
    line, instead of after its work: ``kind`` is ``"file"`` (replaced atomically) or ``"folder"``.

    A file must not be an existing folder and a folder not an existing file; the nearest existing
    folder above ``path`` (and an existing output folder itself) must be one we can create files in,
    which is probed by creating and removing a temporary file there.
    """
    if kind == "file" and (Path(path).is_dir() or str(path).endswith(("/", os.sep))):
        raise I2VError(f"{path} is a folder; give a file name")
    path = Path(path)
    if kind == "folder" and path.exists() and not path.is_dir():
        raise I2VError(f"{path} is a file; give a folder")
    parent, _ = _nearest_folder(path.parent, path)
    for folder in (parent, path) if kind == "folder" and path.is_dir() else (parent,):
        try:
            fd, probe = tempfile.mkstemp(prefix=".i2v-probe-", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise I2VError(f"cannot write {path}: {folder} is not writable ({e.strerror or e})") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path, obj) -> None:
    """Write ``obj`` as indented JSON, atomically (converted by :func:`to_json`, so NaN is written as null)."""
    text = json.dumps(to_json(obj), indent=1, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


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


def to_numpy(x) -> np.ndarray:
    """A numpy view of ``x``; torch tensors are detached and moved to the CPU (torch is not imported)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


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
    """Read an image file as H x W x 3 uint8 RGB (``gray_to_rgb=False``: H x W gray).

    16-bit files are scaled to 8 bits (not clipped), and transparent pixels are composited over
    white, as a viewer shows them. A corrupt or missing file is an I2VError.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise I2VError(f"no such image file: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode.startswith("I"):                       # 16-bit gray (Pillow reads no 16-bit RGB)
                a = np.clip(np.rint(np.asarray(im, np.float64) / 257.0), 0, 255).astype(np.uint8)
                a = np.repeat(a[..., None], 3, axis=-1)
            elif "A" in im.mode or "transparency" in im.info:
                a = over_white(np.asarray(im.convert("RGBA")))
            else:
                a = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise I2VError(f"cannot read image {path}: {e.__class__.__name__}: {e}") from None
    if 0 in a.shape:
        raise I2VError(f"image {path} is empty ({a.shape[1]} x {a.shape[0]} pixels)")
    return np.ascontiguousarray(a if gray_to_rgb else a.mean(-1).round().astype(np.uint8))


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
    [0, 1] and integers in [0, 255] are converted too (model outputs, frames to render). ``what``
    names the input in the one-line :class:`I2VError` messages.
    """
    if isinstance(image, (str, Path)):
        return read_image(image)
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


def png_bytes(image: np.ndarray) -> bytes:
    """An H x W x 3 uint8 image encoded as PNG, in memory."""
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------- loss logs


def read_losses(source) -> list[dict]:
    """A training loss log as a list of dicts, one per logged step, numbers as floats.

    ``source``: a run directory (its ``losses.csv``), a CSV file, a list of dicts (one per step) or a
    dict of columns (a zoo model's log: :func:`i2vlib.runs.read_losses`). Empty and non-numeric values
    are left out of their row, so a term not logged at some step is missing there (a plot shows a gap).
    """
    if isinstance(source, (str, Path)):
        with open(_loss_csv(source), newline="") as fh:
            rows = list(csv.DictReader(fh))
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
