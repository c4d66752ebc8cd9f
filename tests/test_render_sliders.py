"""Tests for i2vlib.render.scrub and .widgets: the kernel-free HTML scrubber and the ipywidgets sliders."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image
from sample_frames import disc_frames

from i2vlib import render as R
from i2vlib.errors import I2VError


def _decode_pngs(html):
    blobs = re.findall(r'"(?:data:image/png;base64,)?([A-Za-z0-9+/]{40,}={0,2})"', html)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(b))).convert("RGB")) for b in blobs]


def test_scrubber_embeds_each_frame_once_with_required_structure():
    frames = disc_frames(5, 24, 24)
    s = R.scrubber(frames, intensities=[0, .25, .5, .75, 1])
    html = s.html
    assert s._repr_html_().count('class="i2v-scrubber"') == 1
    assert re.search(r'<div class="i2v-scrubber" id="i2v-scrubber-[0-9a-f]+"', html)
    assert re.search(r'<input type="range" class="i2v-scrubber-range" min="0" max="4"', html)
    assert '<img class="i2v-scrubber-img" src="data:image/png;base64,' in html
    assert '<span class="i2v-scrubber-label"' in html and ">a = 0.00</span>" in html
    assert '"a = 0.25"' in html
    assert html.rstrip().endswith("</script>") and html.count("<script>") == 1
    decoded = _decode_pngs(html)
    assert len(decoded) == 5
    for f, d in zip(frames, decoded):  # static first frame, then the others, each once
        assert np.array_equal(f, d)


def test_scrubber_ids_are_unique_and_plain_frame_labels():
    frames = disc_frames(3, 8, 8)
    a, b = R.scrubber(frames), R.scrubber(frames)
    ids = {a.id, b.id, re.search(r'id="([^"]+)"', a._repr_html_()).group(1)}
    assert len(ids) == 3
    assert "frame 1 / 3" in a.html and "frame 3 / 3" in a.html
    assert "var " in a.html and "window." not in a.html  # all state in a closure, no globals
    with pytest.raises(I2VError, match="2 labels for 3 frames"):
        R.scrubber(frames, labels=["x", "y"])


def test_scrubber_stores_repeated_frames_once():
    f = disc_frames(2, 8, 8)
    s = R.scrubber(np.stack([f[0], f[1], f[1], f[0]]))
    assert len(_decode_pngs(s.html)) == 2 and "[0, 1, 1, 0]" in s.html


def test_scrubber_embeds_jpegs_of_the_quality_asked_and_refuses_a_meaningless_one():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 64, 128, 3), dtype=np.uint8)
    frames[:] = np.clip(frames.astype(int) // 8 + np.linspace(0, 200, 128)[None, None, :, None], 0, 255)
    png, jpeg = R.scrubber(frames), R.scrubber(frames, quality=80)
    blobs = re.findall(r'"data:image/jpeg;base64,([A-Za-z0-9+/]+={0,2})"', jpeg.html)
    assert len(blobs) == 3 and "data:image/png" not in jpeg.html
    for f, b in zip(frames, blobs):
        decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(b))).convert("RGB")).astype(int)
        assert decoded.shape == f.shape and np.abs(decoded - f).mean() < 8     # lossy, close to the frame
    assert len(jpeg.html) < len(png.html) / 2
    for bad in (0, 96, 2.5, "90", True):
        with pytest.raises(I2VError, match="quality"):
            R.scrubber(frames, quality=bad)


def test_live_slider_updates_image_on_value_change():
    pytest.importorskip("ipywidgets")
    calls = []

    def render(a):
        calls.append(a)
        return np.full((8, 8, 3), int(round(a * 255)), np.uint8)

    box = R.live_slider(render, step=0.25)
    first = box.image.value
    assert calls == [0.0] and first[:4] == b"\x89PNG"
    box.slider.value = 0.5
    assert calls == [0.0, 0.5] and box.image.value != first
    assert np.asarray(Image.open(io.BytesIO(box.image.value)))[0, 0, 0] == 128
    box.slider.value = 0.0  # cached: no new render
    assert calls == [0.0, 0.5] and box.image.value == first
    assert box.children[0] is box.slider and box.children[1] is box.image


def test_live_slider_shows_render_errors():
    pytest.importorskip("ipywidgets")

    def render(a):
        if a > 0.1:
            raise I2VError("no model loaded")
        return np.zeros((4, 4, 3), np.uint8)

    box = R.live_slider(render)
    box.slider.value = 0.5
    assert "no model loaded" in box.status.value


def test_live_mixer_passes_a_dict():
    pytest.importorskip("ipywidgets")
    seen = []

    def render(mix):
        seen.append(dict(mix))
        return np.full((4, 4, 3), int(127 * sum(mix.values())), np.uint8)

    box = R.live_mixer(render, ["happy", "surprise"])
    before = box.image.value
    box.sliders["surprise"].value = 1.0
    assert seen[-1] == {"happy": 0.0, "surprise": 1.0} and box.image.value != before


def test_scrubber_shows_64_px_faces_at_least_96_px_wide():
    """A scrubber's default display width enlarges frames by a whole factor: one small frame to about 256 px, a sheet
    of several 64-px faces at least twice (faces >= 96 px); a frame too wide for that keeps its pixels."""
    from i2vlib.render.grid import MIN_FACE_PX, PAGE_WIDTH

    one = R.scrubber(disc_frames(2, 64, 64))
    assert one.display_width == 256
    sheet = R.frame_grid(disc_frames(3, 64, 64), col_labels=["happy", "sad", "anger"])
    s = R.scrubber(np.stack([sheet, sheet[::-1]]))
    assert s.display_width == 2 * sheet.shape[1] and 64 * s.display_width / sheet.shape[1] >= MIN_FACE_PX
    assert f'width="{s.display_width}"' in s.html and f"width:{s.display_width}px" in s.html
    wide = R.scrubber(np.zeros((2, 64, PAGE_WIDTH, 3), np.uint8))
    assert wide.display_width == PAGE_WIDTH
    assert R.scrubber(disc_frames(2, 64, 64), width=100).display_width == 100     # a width asked for is kept
