"""The fixed-clip baselines through the command line, one round trip each: train, generate their clip (other
intensities refused in one line, no file left), evaluate on their own grid, export (or refuse to, in one line)."""

import pytest

from test_cli import assert_one_line_error, i2v

CLIPS = {"convlstm": 10, "hp": 10, "vgan": 8, "mcnet": 8, "mocogan": 8, "fgst": 8}   # frames of each fixed clip
UNEXPORTABLE = {"hp": "hp models cannot be exported"}                                 # its landmarks: an instrument's


@pytest.mark.parametrize("method", CLIPS)
def test_a_fixed_clip_baseline_from_the_command_line(method, tmp_path):
    run = tmp_path / "run"
    r = i2v("train", method, "--profile", "smoke", "--steps", 2, "--out", run, "--quiet")
    assert r.returncode == 0, r.stderr
    r = i2v("generate", run, "synthetic:0", "--out", tmp_path / "v.gif")
    assert r.returncode == 0 and (tmp_path / "v.gif").exists(), r.stderr
    r = i2v("generate", run, "synthetic:0", "--intensities", 0.5, "--out", tmp_path / "x.gif")
    assert_one_line_error(r, f"fixed clip of {CLIPS[method]} frames", "got 1 intensities")
    assert not (tmp_path / "x.gif").exists()
    r = i2v("evaluate", run, "--videos", 1, "--out", tmp_path / "e.json")
    assert r.returncode == 0 and (tmp_path / "e.json").exists(), r.stderr
    r = i2v("export", run, "--out", tmp_path / "m.onnx")
    if method in UNEXPORTABLE:
        assert_one_line_error(r, UNEXPORTABLE[method])
        assert not (tmp_path / "m.onnx").exists()
    else:
        assert r.returncode == 0 and "output clip" in r.stdout, r.stderr
