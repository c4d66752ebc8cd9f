"""What :meth:`~i2vlib.api.Model.generate` takes from its caller -- a face image, intensities, an expression --
each checked by one function that names what it accepts, so that a wrong input is one line, never a traceback.
:mod:`i2vlib.api` and the photo pipeline (:mod:`i2vlib.faces.paste`) call them where an image and intensities enter.
"""

from __future__ import annotations

import io
import numbers
import os

import numpy as np

from .errors import I2VError
from .io import is_pil, over_white, pil_rgb, read_image, to_numpy


MAX_FRAMES = 1000   # frames per generate call
IMAGE_KINDS = ("a path, a binary file object (open(f, 'rb'), io.BytesIO), a PIL image, or an H x W x 3 array, "
               "tensor or nested list")


def check_image(image, what: str = "image") -> np.ndarray:
    """A face image as a contiguous H x W x 3 uint8 RGB array. Accepted:

    * a path to an image file (``str`` or ``os.PathLike``), or a binary file object holding one
      (``open(f, "rb")``, ``io.BytesIO``): read as a viewer shows it (:func:`i2vlib.io.read_image`);
    * a PIL image of any mode (:func:`i2vlib.io.pil_rgb`); a closed one is refused;
    * an array: a NumPy array, a torch tensor of any dtype (bfloat16 included) on any device (moved to the CPU; a
      sparse one made dense; one on the ``meta`` device holds no values and is refused) or a nested list (a ragged
      one is refused), of shape H x W (gray), H x W x 1, H x W x 3 or H x W x 4 (RGBA, composited over white), with
      a leading axis of one allowed (1 x H x W x 3); a torch tensor may also be channels-first, 3 x H x W or
      1 x 3 x H x W, the layout ``generate(..., as_tensor=True)`` returns. Its values:

      - uint8: [0, 255] as they are; uint16: [0, 65535], scaled to 8 bits; bool: False black, True white;
      - other integers: in [0, 255];
      - floats, finite: in [0, 1] (x 255), or in [-1, 1] (the networks' range, which ``generate(...,
        as_tensor=True)`` returns: (x + 1) / 2 x 255) -- an array with a value below 0 is read as [-1, 1],
        one with all values in [0, 1] as [0, 1].

    Anything else (a number, a string that names no file or a folder, bytes, a file opened as text, a 4-D batch of
    several images, a complex or object array, an object of its own) is one line naming ``what`` and what is
    accepted.
    """
    if isinstance(image, (str, os.PathLike)):
        if os.path.isdir(image):
            raise I2VError(f"{what} {os.fspath(image)!r} is a folder; give {IMAGE_KINDS}")
        return read_image(image)
    if hasattr(image, "read"):
        if isinstance(image, io.TextIOBase):
            raise I2VError(f"{what} is a file opened as text ({getattr(image, 'name', '?')!r}); open it with "
                           "open(path, 'rb'), or give the path")
        return read_image(image)
    if is_pil(image):
        try:
            return np.ascontiguousarray(pil_rgb(image, what))
        except (ValueError, AttributeError) as e:    # a closed image: PIL's "Operation on closed image"
            raise I2VError(f"{what}: the PIL image cannot be read ({e}); was it closed? open it again") from None
    if isinstance(image, (bytes, bytearray)):
        raise I2VError(f"{what} is bytes; give {IMAGE_KINDS} (encoded bytes: io.BytesIO(data))")
    if image is None or isinstance(image, (numbers.Number, dict, set)):
        raise I2VError(f"{what} is of type {type(image).__name__}; give {IMAGE_KINDS}")
    a = to_numpy(image, what)
    if a.dtype == object and a.ndim == 0:          # not an array at all (a generator, an object of its own)
        raise I2VError(f"{what} is of type {type(image).__name__}; give {IMAGE_KINDS}")
    channels_first = hasattr(image, "detach")
    return np.ascontiguousarray(_pixels(_layout(a, what, channels_first), what))


def _layout(a: np.ndarray, what: str, channels_first: bool) -> np.ndarray:
    """``a`` as H x W x C with C in (1, 3, 4)."""
    shape = tuple(a.shape)
    if a.ndim == 4 and shape[0] == 1:
        a = a[0]
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim == 3 and channels_first and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)
    if a.ndim == 4 and shape[0] > 1:
        raise I2VError(f"{what} is a batch of {shape[0]} images {shape}; give one image, H x W x 3")
    if a.ndim != 3 or 0 in a.shape:
        raise I2VError(f"{what} must be H x W x 3; got shape {shape}")
    if a.shape[-1] not in (1, 3, 4):
        if a.shape[0] in (1, 3):
            raise I2VError(f"{what} looks channels-first {shape}; expected channels last (H x W x 3)")
        raise I2VError(f"{what} must have 1, 3 or 4 channels in its last axis; got shape {shape}")
    return a


def _pixels(a: np.ndarray, what: str) -> np.ndarray:
    """H x W x C values as H x W x 3 uint8, by the ranges :func:`check_image` names."""
    kind = a.dtype.kind
    if kind == "b":
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = np.rint(a / 257.0).astype(np.uint8)
    elif kind in "iu":
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise I2VError(f"integer {what} values must lie in [0, 255]; got values in [{lo}, {hi}]")
        a = a.astype(np.uint8)
    elif kind == "f":
        if not np.isfinite(a).all():
            raise I2VError(f"{what} values hold NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0 and hi <= 1:
            a = a * 255.0
        elif lo >= -1 and hi <= 1:
            a = (a + 1.0) * 127.5
        else:
            raise I2VError(f"float {what} values must lie in [0, 1] or [-1, 1]; got values in [{lo:.4g}, {hi:.4g}] "
                           "(levels 0-255 are uint8)")
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    else:
        raise I2VError(f"{what} values have the dtype {a.dtype}; give uint8, integers in [0, 255] or floats in "
                       "[0, 1] or [-1, 1]")
    if a.shape[-1] == 4:
        return over_white(a)
    return np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a


def check_expression(expression, expressions) -> str | None:
    """``expression`` when it is None or one name of the model's ``expressions``; a list, a number or an unknown
    name is one line."""
    if expression is None:
        return None
    if not isinstance(expression, str):
        got = f"{expression!r:.60} (a {type(expression).__name__})"
        raise I2VError(f"expression is one name, such as {expressions[0]!r} (a string), got {got}; "
                       "to mix expressions give intensities as a dict {expression: [values]}")
    if expression not in expressions:
        raise I2VError(f"this model cannot render {expression!r}; it knows {', '.join(expressions)}")
    return expression


def check_intensities(intensities, expressions, expression=None) -> dict[str, np.ndarray]:
    """Validate the ``intensities`` argument of :meth:`~i2vlib.api.Model.generate` as ``{expression: (T,) array}``.

    A list is one expression (``expression``, or the model's only one); a dict mixes several. Each list is flat (a
    list, tuple, 1-D array, or tensor of any dtype on any device; a lone number is one frame) of real numbers -- not
    booleans, strings or nested lists, which NumPy would quietly turn into numbers -- finite and in [0, 1], each
    value quoted as given when it is not; every list must be non-empty and of the same length, at most
    :data:`MAX_FRAMES`.
    """
    expression = check_expression(expression, expressions)
    if isinstance(intensities, dict):
        if expression is not None:
            raise I2VError("give either one expression with a list of intensities, or a mix of expressions, not both")
        if not intensities:
            raise I2VError("the intensities dict is empty")
        mix = dict(intensities)
    else:
        if expression is None:
            if len(expressions) != 1:
                raise I2VError(f"this model knows several expressions ({', '.join(expressions)}); "
                               "name the one to render (i2v generate --expression) or give a mix (--mix)")
            expression = expressions[0]
        mix = {expression: intensities}
    out = {}
    for name, values in mix.items():
        if name not in expressions:
            raise I2VError(f"this model cannot render {name!r}; it knows {', '.join(expressions)}")
        a = _flat_numbers(values, f"intensities of {name!r}")
        if a.size == 0:
            raise I2VError(f"no intensities given for {name!r}: pass at least one value in [0, 1]")
        bad = a[~(np.isfinite(a) & (a >= 0) & (a <= 1))]
        if bad.size:
            odd = "" if np.isfinite(bad[0]) else ", not NaN or infinite"
            raise I2VError(f"intensities must be numbers in [0, 1]{odd}; got {float(bad[0])!r} for {name!r}")
        out[name] = a
    if len({len(a) for a in out.values()}) > 1:
        raise I2VError("every expression of a mix needs the same number of intensities")
    n = len(next(iter(out.values())))
    if n > MAX_FRAMES:
        raise I2VError(f"{n} intensities: at most {MAX_FRAMES} frames are rendered in one call "
                       "(a video of that length takes gigabytes); render it in parts")
    return out


def _flat_numbers(values, what: str) -> np.ndarray:
    """``values`` as a 1-D float64 array when it is a flat sequence (or one number) of real numbers; else one line."""
    if isinstance(values, (str, bytes)):
        raise I2VError(f"{what} must be numbers, got a string")
    if isinstance(values, numbers.Real) and not isinstance(values, (bool, np.bool_)):
        return np.array([float(values)])
    if isinstance(values, (list, tuple, range)):
        odd = [v for v in values if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_))]
        if odd:
            kind = "a nested list" if isinstance(odd[0], (list, tuple, np.ndarray)) else type(odd[0]).__name__
            raise I2VError(f"{what} must be a flat list of numbers in [0, 1], got {kind} ({odd[0]!r:.40})")
        return np.asarray(values, dtype=np.float64)
    a = to_numpy(values, what) if hasattr(values, "shape") or hasattr(values, "detach") else None
    if a is None or a.ndim > 1 or a.dtype.kind not in "iuf":
        got = (f"a {a.ndim}-D array of {a.dtype}" if a is not None else type(values).__name__)
        raise I2VError(f"{what} must be a flat list of numbers in [0, 1], got {got}")
    return a.astype(np.float64).reshape(-1)
