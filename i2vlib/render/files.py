"""Files for readers: GIF, MP4 or a folder of PNGs, each with a JSON sidecar (read back by
:func:`i2vlib.data.video.read_video`).

Sidecar naming: a file ``clip.gif`` gets ``clip.gif.json`` beside it (so ``clip.gif`` and
``clip.mp4`` never share one); a folder ``clip/`` holds its sidecar inside as
``clip/frames.json``. :func:`sidecar_path` gives the name.
"""

from __future__ import annotations

import base64
import errno
import html
import json
import math
import os
import signal
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..data.video import FOLDER_SIDECAR, FRAME_NAME, SIDECAR_DIGEST, as_frames, file_digest
from ..errors import I2VError
from ..io import IMAGE_SUFFIXES, to_json, write_image
from ..outputs import atomic_dir, atomic_paths, check_output, followed
from ..version import __version__
from .frames import check_fps
from .grid import PAGE_WIDTH

VIDEO_SUFFIXES = (".gif", ".mp4")
# Metadata keys every sidecar carries (null when not given), and keys save_video sets itself.
KNOWN_META = ("method", "checkpoint_hash", "intensities", "expression", "seed", "crop_box")
RESERVED_META = ("format", "frames", "fps", "height", "width", "video_height", "video_width",
                 "files", "i2vlib_version", "created", SIDECAR_DIGEST)
TWIN = 255   # the GIF palette's last entry: a copy of a colour, so that a frame equal to the one before stays a frame


def sidecar_path(path) -> Path:
    """Where :func:`save_video` puts the JSON sidecar of ``path`` (a symbolic link: of its target).

    ``clip.gif -> clip.gif.json``, ``clip.mp4 -> clip.mp4.json``, folder ``clip/`` ->
    ``clip/frames.json``.
    """
    path = followed(path)
    if _output_kind(path) == "png":
        return path / FOLDER_SIDECAR
    return path.with_name(path.name + ".json")


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
    """'gif', 'mp4' or 'png' (a folder): a known suffix, matched in any case, names a video; a path ending in
    '/', an existing folder or a name without a suffix names a folder. A name that only looks like one of
    these is refused: one that ends in a dot (``o.gif.``), a suffix alone (``.gif``), ``-`` (standard output)."""
    path = Path(path)
    raw = str(raw) if raw is not None else str(path)
    if path.is_dir() or raw.endswith(("/", os.sep)):
        return "png"
    name, suffix = path.name, path.suffix.lower()
    if name.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
        raise I2VError(f"{raw!r} is a suffix without a name: give the video a name, e.g. clip{name}")
    if name.endswith(".") and name.strip("."):
        raise I2VError(f"{raw!r} ends in a dot: give a video suffix (.gif, .mp4), or no suffix for a folder of "
                       "PNG frames")
    if suffix == "":
        return "png"
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
    that are renamed into place only when complete; an error or a signal leaves no partial output
    and any previous output at ``path`` untouched. A video and its sidecar are one unit: the sidecar
    holds the video's SHA-256 and is renamed into place first, the video last, while no other writer of
    that name renames (:func:`i2vlib.outputs.atomic_paths`); :func:`read_video` and :func:`read_sidecar`
    refuse a pair that does not agree. A symbolic link is written at its target. Returns the output path.
    """
    kind = check_destination(path, fps)
    path = followed(path)
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
    side_text = _sidecar_text(side)

    if kind == "png":
        _save_folder(frames, path, side["files"], side_text)
        return path
    # The sidecar is renamed into place first, the video last (atomic_paths renames in order).
    with atomic_paths([sidecar_path(path), path], [".json", None]) as (side_tmp, video_tmp):
        try:
            if kind == "gif":
                _write_gif(frames, video_tmp, fps)
            else:
                _write_mp4(frames, video_tmp, fps)
        except I2VError as e:
            raise I2VError(f"cannot write {path}: {e}") from None
        side[SIDECAR_DIGEST] = file_digest(video_tmp)
        side_tmp.write_text(_sidecar_text(side))
    return path


def _sidecar_text(side: dict) -> str:
    try:
        return json.dumps(to_json(side), indent=1, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise I2VError(f"sidecar metadata is not JSON serialisable: {e}") from None


def _write_gif(frames: np.ndarray, path: Path, fps: float) -> None:
    """An endlessly looping GIF with one palette shared by all frames (no flicker), one GIF frame per frame.

    Pillow merges a frame equal to the one before into it (a longer frame), so a clip of repeated frames would
    be fewer frames than its sidecar says: one pixel of such a frame is drawn with :data:`TWIN`, a palette entry
    that holds the same colour as the pixel's own, and the frame stays a frame, looking the same."""
    from PIL import Image

    t, h, w = frames.shape[:3]
    # Palette from (a subsample of) all frames, stacked into one tall image; its last entry is kept for TWIN.
    step = max(1, int(math.ceil(t * h * w / 2_000_000)))
    sample = Image.fromarray(np.ascontiguousarray(frames[::step].reshape(-1, w, 3)))
    palette = sample.quantize(colors=TWIN, method=Image.Quantize.MEDIANCUT)
    index = [np.asarray(Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE)) for f in frames]
    colours = np.zeros((256, 3), np.uint8)
    used = np.asarray(palette.getpalette()[:3 * TWIN], np.uint8).reshape(-1, 3)
    colours[:len(used)] = used
    repeats = [k for k in range(1, t) if np.array_equal(index[k], index[k - 1])]
    if repeats:
        twin = int(np.bincount(np.concatenate([np.unique(index[k]) for k in repeats]), minlength=256).argmax())
        colours[TWIN] = colours[twin]
        for k in repeats:
            if np.array_equal(index[k], index[k - 1]):       # still equal to the frame before as drawn
                where = np.flatnonzero(index[k] == twin)
                if not where.size:
                    raise I2VError(f"frame {k} equals frame {k - 1}, and a GIF would merge the two into one frame "
                                   "(no colour of it can be drawn twice): write an .mp4 or a folder of PNG frames")
                index[k] = index[k].copy()
                index[k].flat[int(where[0])] = TWIN
    images = []
    for a in index:
        im = Image.fromarray(a, "P")
        im.putpalette(colours.reshape(-1).tolist())
        images.append(im)
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
        raise I2VError(_ffmpeg_failure(proc.stderr.decode("utf-8", "replace"), proc.returncode))


def _ffmpeg_failure(log: str, status: int) -> str:
    """ffmpeg's failure in one line: the cause when the system named one (its last line, "Nothing was written into
    output file", only says that nothing was), else its last line."""
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    if status == -getattr(signal, "SIGXFSZ", 0):       # ended by the limit on file size (ulimit -f)
        return os.strerror(errno.EFBIG) + " (a limit on the size of files: ulimit -f)"
    for err in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO):
        if any(os.strerror(err) in line for line in lines):
            return os.strerror(err)
    said = [line for line in lines if not line.startswith("Nothing was written")]
    return f"ffmpeg failed: {(said or lines or [f'exit status {status}'])[-1]}"


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
