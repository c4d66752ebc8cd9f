"""Files for readers: GIF, MP4 or a folder of PNGs, each with a JSON sidecar (read back by
:func:`i2vlib.data.video.read_video`).

Sidecar naming: a file ``clip.gif`` gets ``clip.gif.json`` beside it (so ``clip.gif`` and
``clip.mp4`` never share one); a folder ``clip/`` holds its sidecar inside as
``clip/frames.json``. :func:`sidecar_path` gives the name.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..data.video import FRAME_NAME, as_frames
from ..errors import I2VError
from ..io import to_json, write_image
from ..outputs import atomic_dir, atomic_path, check_output
from ..version import __version__
from .frames import check_fps
from .grid import PAGE_WIDTH

VIDEO_SUFFIXES = (".gif", ".mp4")
FOLDER_SIDECAR = "frames.json"
# Metadata keys every sidecar carries (null when not given), and keys save_video sets itself.
KNOWN_META = ("method", "checkpoint_hash", "intensities", "expression", "seed", "crop_box")
RESERVED_META = ("format", "frames", "fps", "height", "width", "video_height", "video_width",
                 "files", "i2vlib_version", "created")


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


def check_destination(path, fps: float = 8) -> str:
    """Check, before any rendering, that :func:`save_video` can write ``path`` at ``fps``: the
    suffix, the frame rate, a folder it may replace, and a place it can write in. Returns the
    kind of output: ``"gif"``, ``"mp4"`` or ``"png"`` (a folder)."""
    kind = _output_kind(Path(path), path)
    check_fps(fps)
    path = Path(path)
    if kind == "png":
        if path.is_dir() and not _replaceable_folder(path):
            raise I2VError(f"folder {path} holds other files; refusing to replace it")
        check_output(path, "folder")
    else:
        check_output(path, "file")
        check_output(sidecar_path(path), "file")
    return kind


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
    given) and any further JSON-serialisable keys (converted by :func:`i2vlib.io.to_json`:
    arrays become lists, NaN becomes null). The sidecar adds ``format``, ``frames``,
    ``fps``, ``height``, ``width``, ``i2vlib_version`` and ``created`` (UTC, ISO 8601).
    See :func:`sidecar_path` for where it goes.

    Writes are atomic: everything goes to temporary files (a temporary sibling folder)
    that are renamed into place only when complete; an error leaves no partial output
    and any previous output at ``path`` untouched. Returns the output path.
    """
    kind, path = check_destination(path, fps), Path(path)
    frames = as_frames(frames)
    t, h, w = frames.shape[:3]
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
        side_text = json.dumps(to_json(side), indent=1, allow_nan=False)
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


def _replaceable_folder(path: Path) -> bool:
    """An existing folder may be replaced only if it is empty or holds only our output."""
    for p in path.iterdir():
        if not (p.is_file() and (p.name == FOLDER_SIDECAR or FRAME_NAME.match(p.name))):
            return False
    return True


def _save_folder(frames: np.ndarray, path: Path, names: list[str], side_text: str) -> None:
    with atomic_dir(path) as tmp:
        for f, name in zip(frames, names):
            write_image(tmp / name, f)
        (tmp / FOLDER_SIDECAR).write_text(side_text)


def _preview_width(path: Path) -> int | None:
    """The display width (CSS px) of a download's preview: twice its pixels (a strip of 64-px faces shows them at
    128 px), or its own pixels where twice would be wider than the page's column (:data:`.grid.PAGE_WIDTH`); None
    when the file cannot be read as an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w = int(im.width)
    except (OSError, UnidentifiedImageError):
        return None
    return 2 * w if 2 * w <= PAGE_WIDTH else w


def download_link(path, text: str | None = None, preview: bool = True):
    """Kernel-free HTML that shows a saved GIF/PNG and offers the file (and its sidecar) for download.

    The file travels inside the page as a ``data:`` URI, so the published book needs no
    separate download folder. Meant for small files (the book's clips are tens of kB).
    The preview shows the image at twice its pixels, drawn as pixels (its own pixels where twice
    would not fit the page's column), never shrunk: a narrower page scrolls it sideways.
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
        width = _preview_width(path)
        size = f'width="{width}" style="image-rendering:pixelated;width:{width}px;height:auto;max-width:none"' \
            if width else 'style="image-rendering:pixelated;max-width:100%"'
        shown = f"The clip offered for download ({text})" if text else "The clip offered for download"
        parts.append(f'<img src="data:{kind};base64,{data}" alt="{html.escape(shown)}" {size}>')
    links = [f'<a download="{html.escape(path.name)}" href="data:{kind};base64,{data}">'
             f'{html.escape(text or "download " + path.name)}</a>']
    side = sidecar_path(path)
    if side.is_file():
        side_data = base64.b64encode(side.read_bytes()).decode("ascii")
        links.append(f'<a download="{html.escape(side.name)}" href="data:application/json;base64,{side_data}">'
                     f'{html.escape(side.name)}</a>')
    parts.append("<div>" + " &middot; ".join(links) + "</div>")
    return HTML('<div class="i2v-download">' + "".join(parts) + "</div>")
