"""Tests for i2vlib.render.files: GIF/MP4/PNG files with a JSON sidecar (atomic), reading them back."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image
from sample_frames import disc_frames, leftovers

from i2vlib import __version__
from i2vlib import render as R
from i2vlib.errors import I2VError
from i2vlib.render import files


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

    monkeypatch.setattr(files, writer, broken)
    with pytest.raises(RuntimeError, match="exploded"):
        R.save_video(disc_frames(3, 16, 16), tmp_path / name, seed=1)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_output(tmp_path, monkeypatch):
    first = R.save_video(disc_frames(3, 16, 16), tmp_path / "clip.gif", seed=1)
    before = first.read_bytes(), R.sidecar_path(first).read_text()

    def broken(frames, path, fps):
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(files, "_write_gif", broken)
    with pytest.raises(RuntimeError):
        R.save_video(disc_frames(4, 16, 16), tmp_path / "clip.gif", seed=2)
    assert (first.read_bytes(), R.sidecar_path(first).read_text()) == before
    assert leftovers(tmp_path, {"clip.gif", "clip.gif.json"}) == []


def test_failed_folder_write_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real = files.write_image

    def flaky(path, image):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        real(path, image)

    monkeypatch.setattr(files, "write_image", flaky)
    with pytest.raises(I2VError, match="cannot write .*clip: disk full"):    # one line naming the output
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


def test_ffmpeg_failure_is_an_error_and_leaves_nothing(tmp_path, monkeypatch):
    import shutil

    import imageio_ffmpeg

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: shutil.which("false") or "/bin/false")
    with pytest.raises(I2VError, match="cannot write .*clip.mp4: ffmpeg failed"):
        R.save_video(disc_frames(2, 16, 16), tmp_path / "clip.mp4")
    assert list(tmp_path.iterdir()) == []


def test_sidecar_metadata_goes_through_to_json(tmp_path):
    out = R.save_video(disc_frames(2, 8, 8), tmp_path / "clip.gif", intensities=np.array([0.0, np.nan], np.float32),
                       seed=np.int64(3), crop_box=(1, 2, 3, 4), source=tmp_path / "face.png")
    side = R.read_sidecar(out)
    assert side["intensities"] == [0.0, None] and side["seed"] == 3 and side["crop_box"] == [1, 2, 3, 4]
    assert side["source"] == str(tmp_path / "face.png")


@pytest.mark.parametrize("name", ["clip.gif", "clip.mp4", "clip"])
def test_read_video_stops_after_max_frames(tmp_path, name):
    frames = disc_frames(5, 16, 16)
    out = R.save_video(frames, tmp_path / name)
    assert R.read_video(out).shape == (5, 16, 16, 3)
    assert R.read_video(out, max_frames=2).shape == (2, 16, 16, 3)


def test_read_video_reads_what_ffmpeg_decodes(tmp_path):
    import imageio.v3 as iio

    frames = np.stack([np.full((16, 32, 3), 40 * t, np.uint8) for t in range(4)])
    iio.imwrite(tmp_path / "talk.avi", frames, fps=5)
    back = R.read_video(tmp_path / "talk.avi")
    assert back.shape == (4, 16, 32, 3) and abs(int(back[3].mean()) - 120) < 8


@pytest.mark.parametrize("make,match", [
    (lambda d: d / "missing.gif", "no such video"),
    (lambda d: (d / "notes.txt").write_text("x") and d / "notes.txt", "unsupported video suffix '.txt'"),
    (lambda d: (d / "broken.mp4").write_bytes(b"garbage") and d / "broken.mp4", r"cannot read video .*broken\.mp4"),
    (lambda d: (d / "broken.gif").write_bytes(b"garbage") and d / "broken.gif", r"cannot read video .*broken\.gif"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no numbered PNG frames"),
])
def test_read_video_errors_are_one_line(tmp_path, make, match):
    with pytest.raises(I2VError, match=match) as e:
        R.read_video(make(tmp_path))
    assert "\n" not in str(e.value)


def test_download_link_embeds_file_and_sidecar(tmp_path):
    out = R.save_video(disc_frames(2, 8, 8), tmp_path / "clip.gif", seed=1)
    page = R.download_link(out).data
    assert page.count('download="clip.gif"') == 1 and 'download="clip.gif.json"' in page
    assert '<img src="data:image/gif;base64,' in page
    with pytest.raises(I2VError, match="no such file"):
        R.download_link(tmp_path / "nope.gif")


def test_download_link_previews_a_strip_at_twice_its_pixels(tmp_path):
    """A 320 x 64 strip of five faces previews 640 px wide (128 px a face), drawn as pixels, never shrunk."""
    out = R.save_video(np.zeros((2, 64, 320, 3), np.uint8), tmp_path / "strip.gif")
    page = R.download_link(out).data
    assert 'width="640"' in page and "width:640px" in page and "pixelated" in page and "192px" not in page
    big = R.save_video(np.zeros((2, 64, 600, 3), np.uint8), tmp_path / "big.gif")
    assert 'width="600"' in R.download_link(big).data        # twice would overflow the page's column: its pixels
