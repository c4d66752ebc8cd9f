"""The fixed-clip baselines through the one API (the clip their network renders after the input) and the command
line, one round trip each: train, generate their clip (other intensities refused in one line, no file left),
evaluate on their own grid, export (or refuse to, in one line)."""

import re

import numpy as np
import pytest
import torch

import i2vlib
from i2vlib import I2VError
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.models import get_method
from i2vlib.train import train
from test_cli import assert_one_line_error, i2v, i2v_here

CLIPS = {"convlstm": 10, "hp": 10, "vgan": 8, "mcnet": 8, "mocogan": 8, "fgst": 8}   # frames of each fixed clip
UNEXPORTABLE = {"hp": "hp models cannot be exported"}                                 # its landmarks: an instrument's


@pytest.mark.parametrize("method", CLIPS)
@pytest.mark.slow
def test_a_fixed_clip_baseline_from_the_command_line(method, tmp_path, capsys):
    run = tmp_path / "run"
    r = i2v("train", method, "--profile", "smoke", "--steps", 2, "--out", run, "--quiet")
    assert r.returncode == 0, r.stderr
    r = i2v_here(capsys, "generate", run, "synthetic:0", "--out", tmp_path / "v.gif")
    assert r.returncode == 0 and (tmp_path / "v.gif").exists(), r.stderr
    r = i2v_here(capsys, "generate", run, "synthetic:0", "--intensities", 0.5, "--out", tmp_path / "x.gif")
    assert_one_line_error(r, f"fixed clip of {CLIPS[method]} frames", "got 1 intensities")
    assert not (tmp_path / "x.gif").exists()
    r = i2v_here(capsys, "evaluate", run, "--videos", 1, "--out", tmp_path / "e.json")
    assert r.returncode == 0 and (tmp_path / "e.json").exists(), r.stderr
    r = i2v_here(capsys, "export", run, "--out", tmp_path / "m.onnx")
    if method in UNEXPORTABLE:
        assert_one_line_error(r, UNEXPORTABLE[method])
        assert not (tmp_path / "m.onnx").exists()
    else:
        assert r.returncode == 0 and "output clip" in r.stdout, r.stderr


# The baselines whose network renders the video from the face alone: the frames before the clip it shows (VGAN and
# MoCoGAN also render the input's reconstruction first).
FROM_FACE = {"vgan": 1, "mocogan": 1, "mcnet": 0, "fgst": 0}


@pytest.mark.parametrize("method", FROM_FACE)
@pytest.mark.slow
def test_a_fixed_clip_baseline_renders_the_frames_after_the_input_at_their_positions(method, tmp_path):
    info = train(get_method(method).default_config("smoke", steps=2), tmp_path / "run", progress=False)
    assert info["finished"] and info["step"] == 2
    model = i2vlib.load(tmp_path / "run")
    assert model.method == method and np.allclose(model.supported_intensities, np.arange(1, 9) / 8)
    face = SyntheticBenchmark(64).frame(9, {"happy": 0.0})[0]
    frames = model.generate(face, list(model.supported_intensities))
    assert frames.shape == (8, 64, 64, 3) and frames.dtype == np.uint8
    video = model.net(model.tensor(face))[0]
    assert torch.allclose(model.generate(face, model.supported_intensities, as_tensor=True), video[FROM_FACE[method]:])
    with pytest.raises(I2VError, match=re.escape("fixed clip of 8 frames at a = 0.125, 0.25, ..., 1.0")):
        model.generate(face, [0, 0.5, 1])
    with pytest.raises(I2VError, match="one model per expression: it cannot mix"):
        model.generate(face, {"happy": [1.0], "anger": [1.0]})
