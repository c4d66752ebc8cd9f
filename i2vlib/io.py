"""Small shared helpers: atomic writes, JSON conversion, images, loss logs -- all with one-line errors.

Every module that writes a file, converts pixel values or reads a loss log uses these, so
each rule (what a valid image is, how NaN reaches JSON, where a run keeps its losses)
lives in one place.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import os
import re
import shutil
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .errors import I2VError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MAX_PIXELS = 64_000_000   # the largest image read (8000 x 8000): larger ones are refused before decoding

# What a run folder holds (i2vlib.train and i2vlib.checkpoint name them; io sits below both): no writer may
# replace them.
RUN_OWN = ("checkpoint.pt", "losses.csv", "run.json")
SNAPSHOTS = "snapshots"
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)   # a disk or quota that is full: the write fails, not the input
# The longest addition to a name while it is written: atomic_path's ``.NAME.XXXXXXXX`` + suffix, atomic_dir's
# ``.NAME.writing-XXXXXXXX``.
_TEMPORARY = {"file": 10, "folder": 18}


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A crash or an exception inside the block leaves no half-written ``path`` behind.
    """
    path = Path(path)
    if _kind_of(path) not in (None, "file"):
        raise I2VError(f"cannot write {path}: it is {_kind_of(path)}, not a plain file")
    created = make_folders(path.parent, path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    except OSError as e:
        remove_created(created)
        raise I2VError(f"cannot write {_short(path)}: {e.strerror or e}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        remove_created(created)
        _raise_if_full(e, path)
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
        raise I2VError(f"cannot write {_short(path)}: {e.strerror or e}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
        if not path.exists():
            os.rename(tmp, path)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
        try:
            os.rename(path, old / "x")
        except BaseException:
            old.rmdir()              # nothing moved: leave no empty ``.old-`` folder behind
            raise
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old / "x", path)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_created(created)
        _raise_if_full(e, path)
        raise


def _raise_if_full(e: BaseException, path) -> None:
    """A write that failed because the disk (or the quota) is full is one line naming the file, not a traceback."""
    if isinstance(e, OSError) and e.errno in _FULL:
        raise I2VError(f"cannot write {_short(path)}: {e.strerror}") from None


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
    """A folder a writer may fill: absent, empty, or replaced because ``overwrite`` says so (and one that
    :func:`check_output` accepts as a folder)."""
    root = check_output(root, "folder")
    if root.exists() and not root.is_dir():
        raise I2VError(f"{root} exists and is not a folder")
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise I2VError(f"{root} exists and is not empty; replace it with --overwrite (overwrite=True in Python)")
    return root


def check_output(path, kind: str = "file", inputs=()) -> Path:
    """Check before any work that ``path`` can be written without harm, so that a command fails at once, in
    one line, instead of after its work or after destroying something: ``kind`` is ``"file"`` (replaced
    atomically) or ``"folder"`` (filled, or replaced whole). Every command and every writer of the API checks
    its output here. Refused:

    * a name the file system cannot hold: a part longer than its limit, with room for the temporary name
      an atomic write gives it (:data:`_TEMPORARY`), or a path longer than the system's;
    * a folder (or a name ending in ``/``, or ``''``) where a file is meant, a file where a folder is;
    * what the user did not ask to replace: a file that is not a plain file (a device, a pipe), the own files
      of a run (:data:`RUN_OWN` beside a ``checkpoint.pt``, its snapshots) whether they exist yet or not, any
      checkpoint, the command's ``inputs``; as a folder, the current folder or one that holds it (a writer
      replaces its folder whole), and a folder that holds a run;
    * a place where nothing can be created: the nearest existing folder above ``path`` (and an existing output
      folder itself) is probed by creating and removing a temporary file there.
    """
    text = str(path)
    shown = _short(text) if text else "''"
    path = check_name(path, kind)
    if kind == "file" and (os.path.isdir(path) or text.endswith(("/", os.sep)) or not text):
        raise I2VError(f"{shown} is {'the current folder' if not text else 'a folder'}; give a file name")
    found = _kind_of(path)
    if found not in (None, kind):
        found = {"file": "a file", "folder": "a folder"}.get(found, found)
        raise I2VError(f"{shown} is {found}; give {'a folder' if kind == 'folder' else 'a file name'}")
    _check_not_owned(path, shown, kind, inputs)
    parent, _ = _nearest_folder(path.parent, path)
    for folder in (parent, path) if kind == "folder" and path.is_dir() else (parent,):
        try:
            fd, probe = tempfile.mkstemp(prefix=".i2v-probe-", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise I2VError(f"cannot write {shown}: {folder} is not writable ({e.strerror or e})") from None
    return path


def _kind_of(path: Path) -> str | None:
    """``"file"``, ``"folder"``, what else ``path`` is ("a device", ...), or None where nothing is."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a pipe" if stat.S_ISFIFO(mode)
            else "a socket") + ", not a regular file"


def check_name(path, kind: str = "file") -> Path:
    """``path`` when every part of it fits the file system's limit on a name, the last with room for the temporary
    name an atomic write of ``kind`` gives it; else one line. Part of :func:`check_output`, and called alone where
    another check must look at the path first (looking at a name too long for the system is an OSError)."""
    path = Path(path)
    try:
        parts = [os.fsencode(p) for p in path.parts]
        whole = os.fsencode(os.path.abspath(path))
    except (UnicodeEncodeError, ValueError):
        raise I2VError(f"cannot write {_short(path)}: the name cannot be written in this system's encoding") from None
    if b"\0" in whole:
        raise I2VError(f"cannot write {_short(path)}: the name holds a NUL character")
    name_max, path_max = _limits(path)
    for i, part in enumerate(parts):
        room = _TEMPORARY[kind] + len(os.fsencode(path.suffix)) * (kind == "file") if i == len(parts) - 1 else 0
        if len(part) + room > name_max:
            raise I2VError(f"cannot write {_short(path)}: the name {_short(os.fsdecode(part))} is {len(part)} bytes, "
                           f"too long for the file system (at most {name_max - room} here)")
    if len(whole) + _TEMPORARY[kind] > path_max:
        raise I2VError(f"cannot write {_short(path)}: the path is {len(whole)} bytes, too long for the system "
                       f"(at most {path_max - _TEMPORARY[kind]})")
    return path


def _limits(path: Path) -> tuple[int, int]:
    """The longest name and path of the file system that holds the nearest existing folder above ``path``."""
    folder = Path(os.path.abspath(path)).parent
    while not os.path.isdir(folder) and folder != folder.parent:
        folder = folder.parent
    try:
        return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return 255, 4096


def _check_not_owned(path: Path, shown: str, kind: str, inputs) -> None:
    """Refuse what a writer must not replace (:func:`check_output`)."""
    run = _run_of(path)
    if run is not None:
        raise I2VError(f"{shown} is the run's own {path.name if path.parent == run else SNAPSHOTS + '/' + path.name} "
                       f"(the run in {_short(run)}); writing there would destroy the run: choose another name")
    for source in inputs:
        if source is not None and _same_file(path, source):
            raise I2VError(f"{shown} is an input of this command; write the output elsewhere")
    if kind == "file" and _is_checkpoint(path):
        raise I2VError(f"{shown} is a checkpoint; writing there would destroy it: choose another name")
    if kind == "folder" and os.path.isdir(path):
        try:
            here, target = Path.cwd().resolve(), path.resolve()
        except OSError:
            here, target = None, path
        if target == here or target in getattr(here, "parents", ()):
            where = "the current folder" if target == here else "a folder that holds the current folder"
            raise I2VError(f"{shown} is {where}; an output folder is written whole and replaced as one: give a new "
                           "folder name")
        if os.path.isfile(path / RUN_OWN[0]):
            raise I2VError(f"{shown} holds a run (its {RUN_OWN[0]}); choose another folder")


def _run_of(path: Path) -> Path | None:
    """The run folder whose own file ``path`` is (its checkpoint, loss log, record, or a snapshot), else None."""
    folder = path.parent
    if folder.name == SNAPSHOTS and os.path.isfile(folder.parent / RUN_OWN[0]):
        return folder.parent
    if path.name in RUN_OWN and os.path.isfile(folder / RUN_OWN[0]):
        return folder
    return None


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, TypeError, ValueError):
        return False


def _is_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a file ``torch.save`` wrote (a zip archive holding a ``data.pkl``)."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/data.pkl") or n == "data.pkl" for n in z.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _short(path) -> str:
    """A name as a one-line message shows it: a very long one by its two ends."""
    text = str(path)
    return text if len(text) <= 64 else f"{text[:30]}...{text[-30:]}"


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
    """Read an image file as H x W x 3 uint8 RGB (``gray_to_rgb=False``: H x W gray), as a viewer shows it
    (:func:`pil_rgb`: turned upright by its EXIF orientation, 16-bit and float pixels scaled to their range,
    transparency over white, every colour mode converted). An image of more than :data:`MAX_PIXELS` pixels is
    refused from its header, before it is decoded; a corrupt or missing file is an I2VError.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise I2VError(f"no such image file: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # the limit is ours, in one line
            with Image.open(path) as im:
                _check_pixels(im.size, f"image {path}")
                im.load()
                a = pil_rgb(im, f"image {path}")
    except Image.DecompressionBombError as e:
        found = re.search(r"\((\d+) pixels\)", str(e))
        pixels = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "too many pixels"
        raise I2VError(f"image {path} holds {pixels}; i2v reads images of at most {MAX_PIXELS // 10**6} "
                       "megapixels: scale it down first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise I2VError(f"cannot read image {path}: {e.__class__.__name__}: {e}") from None
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
    if _is_pil(image):
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


def _is_pil(x) -> bool:
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
        raise I2VError(f"{path} is damaged ({why}); move it aside or restore it (a run resumes without its "
                       "log, starting a new one)") from None


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
