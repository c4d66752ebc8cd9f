"""Tests for i2vlib.io: the one image converter, JSON conversion and loss-log reader."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from i2vlib.errors import I2VError
from i2vlib.io import as_image, json_default, read_losses, to_json, write_image, write_json


def test_as_image_shapes_paths_and_tensors(tmp_path):
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    assert as_image(rgb).flags["C_CONTIGUOUS"] and np.array_equal(as_image(rgb[:, ::-1]), rgb[:, ::-1])
    assert np.array_equal(as_image(rgb[..., 0]), np.repeat(rgb[..., :1], 3, axis=-1))
    assert np.array_equal(as_image(rgb[..., :1]), np.repeat(rgb[..., :1], 3, axis=-1))
    rgba = np.concatenate([rgb, np.full((4, 5, 1), 255, np.uint8)], axis=-1)
    rgba[0, :, 3] = 0
    want = rgb.copy()
    want[0] = 255                                   # transparent pixels show the white background
    assert np.array_equal(as_image(rgba), want)
    write_image(tmp_path / "x.png", rgb)
    assert np.array_equal(as_image(tmp_path / "x.png"), rgb) and np.array_equal(as_image(str(tmp_path / "x.png")), rgb)
    assert np.array_equal(as_image(torch.from_numpy(rgb)), rgb)


def test_16_bit_and_transparent_files_read_as_a_viewer_shows_them(tmp_path):
    from PIL import Image

    gray = np.linspace(0, 255, 64).astype(np.uint8).reshape(8, 8)
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "deep.png")       # a 16-bit PNG
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    assert np.array_equal(as_image(tmp_path / "deep.png"), np.repeat(gray[..., None], 3, -1))
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0], rgba[:4, :, 3] = 200, 255                                          # top half opaque red-ish
    Image.fromarray(rgba).save(tmp_path / "cut.png")
    img = as_image(tmp_path / "cut.png")
    assert (img[:4] == [200, 0, 0]).all() and (img[4:] == 255).all()                # not black where transparent
    assert np.array_equal(as_image(gray.astype(np.uint16) * 257), np.repeat(gray[..., None], 3, -1))
    with pytest.raises(I2VError, match="H x W x 3"):
        as_image(np.zeros((0, 0, 3), np.uint8))


def test_as_image_values_must_be_uint8_unless_converted():
    floats = np.full((4, 4, 3), 0.5, np.float32)
    with pytest.raises(I2VError, match="expected a uint8 image, got dtype float32"):
        as_image(floats)
    assert (as_image(floats, convert=True) == 128).all()
    assert (as_image(np.ones((2, 2), bool), convert=True) == 255).all()
    assert (as_image(torch.full((2, 2, 3), 0.5, requires_grad=True), convert=True) == 128).all()


@pytest.mark.parametrize("bad,match", [
    (np.zeros((3, 8, 8), np.uint8), "channels-first"),
    (np.zeros((8, 8, 2), np.uint8), "3 \\(RGB\\) channels"),
    (np.zeros((0, 8, 3), np.uint8), "H x W x 3"),
    (np.zeros((2, 8, 8, 3), np.uint8), "H x W x 3"),
    (np.full((8, 8, 3), np.nan, np.float32), "NaN"),
    (np.full((8, 8, 3), -1.0, np.float32), "\\(x \\+ 1\\) / 2"),
    (np.full((8, 8, 3), 256, np.int32), "\\[0, 255\\]"),
])
def test_as_image_errors_are_one_line(bad, match):
    with pytest.raises(I2VError, match=match) as e:
        as_image(bad, "face", convert=True)
    assert "\n" not in str(e.value) and "face" in str(e.value)


def test_to_json_and_the_json_default_hook(tmp_path):
    obj = {1: (np.float32(0.5), np.int64(3), np.bool_(True)), "a": np.array([[1.0, np.nan]]),
           "p": Path("x/y"), "inf": math.inf, "s": np.str_("z")}
    assert to_json(obj) == {"1": [0.5, 3, True], "a": [[1.0, None]], "p": "x/y", "inf": None, "s": "z"}
    text = json.dumps({"a": np.arange(2), "b": np.float32(1)}, default=json_default)
    assert json.loads(text) == {"a": [0, 1], "b": 1}
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        json.dumps({"x": object()}, default=json_default)
    write_json(tmp_path / "r.json", {"score": math.nan, "v": np.arange(2)})
    assert json.loads((tmp_path / "r.json").read_text()) == {"score": None, "v": [0, 1]}


def test_read_losses_from_every_kind_of_log(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "losses.csv").write_text("step,seconds,r1,d_g\n1,0.5,2.0,\n2,1.0,1.5,0.25\n3,1.5,1e\n")
    rows = read_losses(run)
    assert rows == [{"step": 1.0, "seconds": 0.5, "r1": 2.0}, {"step": 2.0, "seconds": 1.0, "r1": 1.5, "d_g": 0.25},
                    {"step": 3.0, "seconds": 1.5}]  # empty, missing and cut-short values are left out
    assert read_losses(run / "losses.csv") == rows == read_losses(str(run))
    assert read_losses([{"step": 1, "l1": np.float32(0.5), "note": "warm-up"}]) == [{"step": 1.0, "l1": 0.5}]
    assert read_losses({"step": [1, 2], "l1": np.array([0.5, np.nan])})[1]["step"] == 2.0
    assert math.isnan(read_losses({"step": [1, 2], "l1": np.array([0.5, np.nan])})[1]["l1"])


@pytest.mark.parametrize("log,match", [
    ("missing_run", "missing_run has no losses.csv"),
    ("missing.csv", "no such log file"),
    ({"step": [1, 2], "l1": [0.5]}, "differ in length"),
    ({"step": 1}, "sequence of values"),
    (42, "a log must be"),
])
def test_read_losses_errors(tmp_path, monkeypatch, log, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(I2VError, match=match):
        read_losses(log)
