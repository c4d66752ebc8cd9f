"""Tests for i2vlib.render: export (GIF/MP4/PNG + sidecar, atomic), grids, HTML, widgets, plots."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from i2vlib import __version__
from i2vlib import render as R
from i2vlib.errors import I2VError


def disc_frames(t=6, h=64, w=64):
    """A coloured disc moving left to right over a vertical gradient: every frame distinct."""
    yy, xx = np.mgrid[:h, :w]
    out = np.empty((t, h, w, 3), np.uint8)
    for i in range(t):
        a = i / max(1, t - 1)
        img = np.empty((h, w, 3), np.float64)
        img[:] = (0.9, 0.85, 0.7)
        img *= (0.6 + 0.4 * yy / h)[..., None]
        cx = (0.2 + 0.6 * a) * w
        img[(xx - cx) ** 2 + (yy - h / 2) ** 2 < (0.2 * min(h, w)) ** 2] = (a, 0.3, 1 - a)
        out[i] = np.rint(img * 255)
    return out


def leftovers(folder, keep):
    """Files or folders in ``folder`` other than ``keep`` (temporary files included)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# --------------------------------------------------------------------------- export


def test_gif_frames_size_loop_and_sidecar(tmp_path):
    frames = disc_frames(6)
    out = R.save_video(frames, tmp_path / "clip.gif", fps=10, method="fan", seed=3,
                       intensities=[0, .2, .4, .6, .8, 1.0], expression="happy", note="extra")
    assert out == tmp_path / "clip.gif"
    with Image.open(out) as im:
        assert im.n_frames == 6 and im.size == (64, 64)
        assert im.info.get("loop") == 0
        assert im.info.get("duration") == 100
    back = R.read_video(out)
    assert back.shape == (6, 64, 64, 3)
    assert np.abs(back.astype(int) - frames).max() <= 16  # palette quantisation only

    side = json.loads((tmp_path / "clip.gif.json").read_text())
    assert R.sidecar_path(out) == tmp_path / "clip.gif.json"
    assert R.read_sidecar(out) == side
    assert side["format"] == "gif"
    assert (side["frames"], side["fps"], side["height"], side["width"]) == (6, 10, 64, 64)
    assert side["method"] == "fan" and side["seed"] == 3 and side["expression"] == "happy"
    assert side["intensities"] == [0, .2, .4, .6, .8, 1.0]
    assert side["checkpoint_hash"] is None and side["crop_box"] is None  # known keys always present
    assert side["note"] == "extra"
    assert side["i2vlib_version"] == __version__
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", side["created"])
    assert leftovers(tmp_path, {"clip.gif", "clip.gif.json"}) == []


@pytest.mark.parametrize("hw", [(64, 64), (49, 65)])
def test_mp4_readable_with_all_frames(tmp_path, hw):
    import imageio.v3 as iio

    h, w = hw
    frames = disc_frames(5, h, w)
    out = R.save_video(frames, tmp_path / "clip.mp4", fps=8)
    video = iio.imread(out, plugin="FFMPEG", index=None)
    eh, ew = h + h % 2, w + w % 2
    assert video.shape == (5, eh, ew, 3)
    assert np.abs(video[:, :h, :w].astype(int) - frames).mean() < 6  # H.264 at crf 18
    side = R.read_sidecar(out)
    assert (side["height"], side["width"]) == (h, w)
    assert (side["video_height"], side["video_width"]) == (eh, ew)
    assert side["format"] == "mp4" and side["frames"] == 5
    assert leftovers(tmp_path, {"clip.mp4", "clip.mp4.json"}) == []


def test_png_folder_round_trip_exact(tmp_path):
    frames = disc_frames(4, 33, 47)
    out = R.save_video(frames, tmp_path / "clip", fps=4, method="affinegan")
    assert out.is_dir()
    assert sorted(p.name for p in out.iterdir()) == ["0000.png", "0001.png", "0002.png", "0003.png", "frames.json"]
    back = np.stack([np.asarray(Image.open(out / f"{i:04d}.png")) for i in range(4)])
    assert np.array_equal(back, frames)
    assert np.array_equal(R.read_video(out), frames)
    side = json.loads((out / "frames.json").read_text())
    assert R.sidecar_path(out) == out / "frames.json"
    assert side["format"] == "png" and side["frames"] == 4 and side["method"] == "affinegan"
    assert side["files"] == ["0000.png", "0001.png", "0002.png", "0003.png"]
    # writing again replaces the folder's content (fewer frames: no stale frames remain)
    R.save_video(frames[:2], out)
    assert sorted(p.name for p in out.iterdir()) == ["0000.png", "0001.png", "frames.json"]
    assert leftovers(tmp_path, {"clip"}) == []


def test_folder_with_dotted_name_via_trailing_slash(tmp_path):
    out = R.save_video(disc_frames(2, 16, 16), str(tmp_path / "a0.5") + "/")
    assert (out / "0001.png").is_file() and (out / "frames.json").is_file()


def test_foreign_folder_is_not_replaced(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(I2VError, match="other files"):
        R.save_video(disc_frames(2, 16, 16), folder)
    assert (folder / "notes.txt").read_text() == "keep me"


def test_list_and_float_inputs_are_converted(tmp_path):
    frames = disc_frames(3, 16, 16)
    as_list = [f for f in frames]
    as_float = frames.astype(np.float32) / 255.0
    assert np.array_equal(R.as_frames(as_list), frames)
    assert np.array_equal(R.as_frames(as_float), frames)
    assert np.array_equal(R.as_frames(frames[..., :1]), np.repeat(frames[..., :1], 3, axis=-1))
    out = R.save_video(as_float, tmp_path / "f")
    assert np.array_equal(R.read_video(out), frames)


@pytest.mark.parametrize("name,writer", [("clip.gif", "_write_gif"), ("clip.mp4", "_write_mp4")])
def test_failed_write_leaves_nothing(tmp_path, monkeypatch, name, writer):
    def broken(frames, path, fps):
        path.write_bytes(b"half a video")
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(R, writer, broken)
    with pytest.raises(RuntimeError, match="exploded"):
        R.save_video(disc_frames(3, 16, 16), tmp_path / name, seed=1)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_output(tmp_path, monkeypatch):
    first = R.save_video(disc_frames(3, 16, 16), tmp_path / "clip.gif", seed=1)
    before = first.read_bytes(), R.sidecar_path(first).read_text()

    def broken(frames, path, fps):
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(R, "_write_gif", broken)
    with pytest.raises(RuntimeError):
        R.save_video(disc_frames(4, 16, 16), tmp_path / "clip.gif", seed=2)
    assert (first.read_bytes(), R.sidecar_path(first).read_text()) == before
    assert leftovers(tmp_path, {"clip.gif", "clip.gif.json"}) == []


def test_failed_folder_write_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real = R._write_png

    def flaky(image, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        real(image, path)

    monkeypatch.setattr(R, "_write_png", flaky)
    with pytest.raises(OSError, match="disk full"):
        R.save_video(disc_frames(5, 16, 16), tmp_path / "clip")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad,match", [
    ([], "empty"),
    (np.zeros((0, 8, 8, 3), np.uint8), "empty"),
    (np.zeros((8, 8, 3), np.uint8), "one image"),
    (np.zeros((2, 8, 8), np.uint8), "T x H x W x 3"),
    (np.zeros((2, 8, 8, 4), np.uint8), "3 \\(RGB\\) channels"),
    (np.zeros((2, 3, 8, 8), np.float32), "channels-first"),
    ([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)], "differ in size"),
    (np.full((2, 8, 8, 3), np.nan, np.float32), "NaN"),
    (np.full((2, 8, 8, 3), -0.5, np.float32), "\\[0, 1\\]"),
    (np.full((2, 8, 8, 3), 300, np.int64), "\\[0, 255\\]"),
    ("frames.png", "T x H x W x 3"),
])
def test_bad_frames_are_one_line_errors(tmp_path, bad, match):
    with pytest.raises(I2VError, match=match) as e:
        R.save_video(bad, tmp_path / "clip.gif")
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_bad_suffix_fps_and_metadata(tmp_path):
    frames = disc_frames(2, 8, 8)
    for name in ("clip.avi", "clip.png", "clip.webm"):
        with pytest.raises(I2VError, match="unsupported video suffix"):
            R.save_video(frames, tmp_path / name)
    with pytest.raises(I2VError, match="fps"):
        R.save_video(frames, tmp_path / "clip.gif", fps=0)
    with pytest.raises(I2VError, match="sets height"):
        R.save_video(frames, tmp_path / "clip.gif", height=3)
    with pytest.raises(I2VError, match="3 intensities for 2 frames"):
        R.save_video(frames, tmp_path / "clip.gif", intensities=[0, .5, 1])
    with pytest.raises(I2VError, match="JSON"):
        R.save_video(frames, tmp_path / "clip.gif", model=object())
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- grids


def test_frame_grid_shapes_and_labels():
    videos = [disc_frames(5, 32, 32) for _ in range(7)]
    plain = R.frame_grid(videos, pad=2)
    assert plain.dtype == np.uint8
    assert plain.shape == (2 + 7 * 34, 2 + 5 * 34, 3)
    assert np.array_equal(plain[2:34, 2:34], videos[0][0])

    labels = R.intensity_labels([0, .25, .5, .75, 1])
    assert labels == ["a=0.00", "a=0.25", "a=0.50", "a=0.75", "a=1.00"]
    grid = R.frame_grid(videos, row_labels=[f"expr{i}" for i in range(7)], col_labels=labels, pad=2)
    assert grid.shape[0] > plain.shape[0] and grid.shape[1] > plain.shape[1]
    top, left = grid.shape[0] - plain.shape[0], grid.shape[1] - plain.shape[1]
    assert np.array_equal(grid[top:, left:], plain)  # the cells sit below/right of the labels
    assert (grid[:top] < 128).any() and (grid[:, :left] < 128).any()  # some ink was drawn

    one_row = R.frame_grid(disc_frames(3, 16, 20), col_labels=["a", "b", "c"])
    assert one_row.shape[1] == 2 + 3 * 22
    five_d = R.frame_grid(np.stack(videos[:2]))
    assert five_d.shape == (2 + 2 * 34, 2 + 5 * 34, 3)
    ragged = R.frame_grid([[videos[0][0], None], [videos[0][1]]], bg=(0, 0, 0))
    assert ragged.shape == (2 + 2 * 34, 2 + 2 * 34, 3)
    assert ragged[40:60, 40:60].max() == 0  # missing cell is background


def test_frame_grid_errors():
    with pytest.raises(I2VError, match="column labels"):
        R.frame_grid(disc_frames(3, 8, 8), col_labels=["x"])
    with pytest.raises(I2VError, match="differ in size"):
        R.frame_grid([np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8)])
    with pytest.raises(I2VError, match="no images"):
        R.frame_grid([])


def test_intensity_labels_for_mixing():
    assert R.intensity_labels({"happy": [0, 1], "anger": [.5, .25]}) == [
        "happy=0.00, anger=0.50", "happy=1.00, anger=0.25"]


# --------------------------------------------------------------------------- HTML


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


def test_to_jshtml_contains_every_frame():
    from IPython.display import HTML

    h = R.to_jshtml(disc_frames(4, 16, 16), fps=4, intensities=[0, .3, .6, 1])
    assert isinstance(h, HTML)
    assert h.data.count("data:image/png;base64,") == 4
    assert len(h.data) < 200_000


def test_show_frames_and_animation_figures():
    fig = R.show_frames(disc_frames(3, 16, 16), intensities=[0, .5, 1], title="demo")
    assert len(fig.axes) == 3 and fig.axes[1].get_title() == "a = 0.50"
    anim = R.animation(disc_frames(3, 16, 16), labels=["x", "y", "z"])
    assert anim._fig is not None


# --------------------------------------------------------------------------- widgets


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


# --------------------------------------------------------------------------- plots


def test_plot_losses_from_csv_and_dicts(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("step,loss_g,loss_d,lr\n0,1.0,0.5,0.1\n10,0.5,,0.1\n20,0.25,0.4,0.1\n")
    fig = R.plot_losses(log)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["loss_g", "loss_d"]  # lr is not a loss
    assert list(fig.axes[0].get_lines()[1].get_xdata()) == [0, 20]  # the missing value is a gap
    fig2 = R.plot_losses([{"step": i, "l1": 1 / (i + 1)} for i in range(5)], keys=["l1"], smooth=0.5, separate=True)
    assert len(fig2.axes) == 1
    with pytest.raises(I2VError, match="no column 'nope'"):
        R.plot_losses(log, keys=["nope"])


def test_ffmpeg_failure_is_an_error_and_leaves_nothing(tmp_path, monkeypatch):
    import shutil

    import imageio_ffmpeg

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: shutil.which("false") or "/bin/false")
    with pytest.raises(I2VError, match="cannot write .*clip.mp4: ffmpeg failed"):
        R.save_video(disc_frames(2, 16, 16), tmp_path / "clip.mp4")
    assert list(tmp_path.iterdir()) == []
