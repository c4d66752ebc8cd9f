"""A static, kernel-free intensity scrubber for the published book: plain HTML and a little JS."""

from __future__ import annotations

import base64
import html
import json
import uuid

from ..data.video import as_frames
from ..errors import I2VError
from ..io import jpeg_bytes, png_bytes
from .frames import frame_labels
from .grid import PAGE_WIDTH

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
  var rest = %(images)s;
  var order = %(order)s;
  var labels = %(labels)s;
  var srcs = [img.getAttribute("src")];
  for (var j = 0; j < rest.length; j++) { srcs.push(rest[j]); }
  function show() {
    var i = Math.max(0, Math.min(order.length - 1, parseInt(range.value, 10) || 0));
    img.src = srcs[order[i]];
    img.alt = root.getAttribute("data-alt") + labels[i];
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

    Frames are embedded once each (identical frames once in all) as base64 data URIs, lossless
    PNGs unless a JPEG ``quality`` is given; the first frame is the static ``<img src>``, so
    something shows even without JavaScript.
    The inline script finds its own root by a unique id, so any number of scrubbers can
    share a page. ``.html`` is the markup; every ``_repr_html_()`` call re-issues it with
    a fresh id so the same object can also be displayed twice.
    """

    def __init__(self, frames, intensities=None, labels=None, width: int | None = None, quality: int | None = None,
                 alt: str = "the frame at "):
        frames = as_frames(frames)
        self.alt = str(alt)          # each frame's alt text: this, then its label
        t, h, w = frames.shape[:3]
        self.n_frames = int(t)
        self.labels = frame_labels(t, intensities, labels)
        self._kind = "intensity" if intensities is not None and labels is None else "frame"
        if width is None:
            width = w * default_scale(w)
        width = int(width)
        if width <= 0:
            raise I2VError(f"scrubber width must be positive; got {width}")
        self.display_width = width
        self.display_height = int(round(h * width / w))
        jpeg_quality = isinstance(quality, int) and not isinstance(quality, bool) and 1 <= quality <= 95
        if quality is not None and not jpeg_quality:
            raise I2VError(f"scrubber quality must be a JPEG quality from 1 to 95 (or None for PNG); got {quality!r}")
        kind, encode = ("png", png_bytes) if quality is None else ("jpeg", lambda f: jpeg_bytes(f, quality))
        uniq: dict[bytes, int] = {}
        self._images: list[str] = []
        self._order: list[int] = []
        for f in frames:
            key = f.tobytes()
            if key not in uniq:
                uniq[key] = len(self._images)
                self._images.append(f"data:image/{kind};base64," + base64.b64encode(encode(f)).decode("ascii"))
            self._order.append(uniq[key])
        self.id = _new_scrubber_id()
        self.html = self._render(self.id)

    def _render(self, dom_id: str) -> str:
        w, h = self.display_width, self.display_height
        first = html.escape(self.labels[0])
        kind = self._kind
        js = _SCRUBBER_JS % {"id": _js(dom_id), "images": _js(self._images[1:]),
                             "order": _js(self._order), "labels": _js(self.labels)}
        return (
            f'<div class="i2v-scrubber" id="{dom_id}" data-frames="{self.n_frames}" data-alt="{html.escape(self.alt)}" '
            f'style="display:inline-block;max-width:100%;margin:4px 8px 4px 0;font:13px sans-serif;text-align:center;">'
            f'<img class="i2v-scrubber-img" src="{self._images[0]}" alt="{html.escape(self.alt)}{first}" '
            f'width="{w}" height="{h}" style="display:block;width:{w}px;max-width:100%;height:auto;'
            f'image-rendering:pixelated;margin:0 auto;">'
            f'<input type="range" class="i2v-scrubber-range" min="0" max="{self.n_frames - 1}" '
            f'step="1" value="0" aria-label="{kind}" style="display:block;width:{w}px;max-width:100%;margin:4px auto 0;">'
            f'<span class="i2v-scrubber-label" style="font-variant-numeric:tabular-nums;">{first}</span>'
            f"</div>\n<script>\n{js}\n</script>"
        )

    def _repr_html_(self) -> str:
        return self._render(_new_scrubber_id())

    def __repr__(self) -> str:
        return f"<Scrubber {self.n_frames} frames, {len(self._images)} distinct, id={self.id}>"


def default_scale(width: int) -> int:
    """The whole factor a scrubber enlarges frames ``width`` px wide by when no display width is given: about 256 px
    for one small frame (4x for 64 px), and at least twice the pixels, so that the 64-px faces of a sheet of several
    show at 128 px; a frame so wide that twice would shrink below three quarters on the page's column
    (:data:`.grid.PAGE_WIDTH`, faces under 96 px) keeps its own pixels."""
    width = int(width)
    k = max(2, 256 // max(1, width))
    limit = PAGE_WIDTH * 4 // 3
    while k > 1 and width * k > limit:
        k -= 1
    return k


def _new_scrubber_id() -> str:
    return "i2v-scrubber-" + uuid.uuid4().hex[:16]


def scrubber(frames, intensities=None, labels=None, width: int | None = None, quality: int | None = None,
             alt: str = "the frame at ") -> Scrubber:
    """A kernel-free HTML slider over ``frames`` for the published book.

    The label reads ``"a = 0.25"`` from ``intensities``, or ``labels`` if given, or
    ``"frame 3 / 8"``. ``width`` is the display width in CSS pixels (default: frames scaled up by a whole factor,
    :func:`default_scale`: a small frame to about 256 px, a sheet of 64-px faces to twice its pixels). ``quality``:
    embed the frames as JPEGs of this quality (1-95), for photographic frames whose PNGs would weigh down the page;
    default lossless PNG. ``alt``: what the frames show, for readers who cannot see them; each frame's alt text is
    ``alt`` then its label (e.g. "the happy model's frame at a = 0.25").
    """
    return Scrubber(frames, intensities=intensities, labels=labels, width=width, quality=quality, alt=alt)
