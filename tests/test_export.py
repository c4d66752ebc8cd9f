"""i2v export: a generator as an ONNX model whose frames, run by onnxruntime, equal generate's."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sample_frames import leftovers

import i2vlib
from i2vlib.checkpoint import save_checkpoint
from i2vlib.cli import main
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.errors import I2VError
from i2vlib.models import affinegan, frgan, frgan_pose
from i2vlib.models.frgan_parts import ForecastNet
from i2vlib.onnx_export import TOLERANCE, max_difference, metadata, to_onnx

ort = pytest.importorskip("onnxruntime")
FACE = SyntheticBenchmark(64).video("test", 5, expression="anger", curve="linear", n_frames=2).frames[0]


def _frame(session, face, a):
    return session.run(None, {"face": face, "intensities": np.asarray(a, np.float32)})[0]


@pytest.mark.slow
def test_i2v_export_writes_a_model_whose_frames_equal_generates(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", "zoo:fan-happy", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out and leftovers(tmp_path, {"m.onnx"}) == []
    meta = metadata(out)
    assert meta["method"] == "fan" and meta["expressions"] == ["happy"] and meta["image_size"] == 64
    assert meta["inputs"] == ["face", "intensities"] and meta["output"] == "frame" and meta["weights"] == "fp16"
    model = i2vlib.load("zoo:fan-happy")
    assert meta["checkpoint_hash"] == model.checkpoint_hash
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    a = [0.0, 0.13, 0.5, 0.77, 1.0]
    want = model.generate(FACE, a)
    got = np.stack([_frame(session, FACE, [v]) for v in a])
    assert got.dtype == np.uint8 and got.shape == want.shape
    assert np.abs(got.astype(int) - want).max() <= TOLERANCE
    assert not np.array_equal(got[0], got[-1])                     # the intensity reaches the frame


@pytest.mark.slow
def test_a_mix_is_the_intensity_vector_and_fp32_weights_are_exact_too(tmp_path):
    model = i2vlib.load("zoo:fan-joint")
    meta = to_onnx(model, tmp_path / "joint.onnx", weights="fp32")
    assert meta["expressions"] == ["happy", "anger", "surprise"] and meta["max_difference"] <= TOLERANCE
    session = ort.InferenceSession(str(tmp_path / "joint.onnx"), providers=["CPUExecutionProvider"])
    want = model.generate(FACE, {"happy": [0.6], "surprise": [0.3]})[0]
    assert np.abs(_frame(session, FACE, [0.6, 0.0, 0.3]).astype(int) - want).max() <= TOLERANCE
    half = to_onnx(model, tmp_path / "half.onnx")
    assert (tmp_path / "half.onnx").stat().st_size < 0.6 * (tmp_path / "joint.onnx").stat().st_size
    assert half["max_difference"] <= TOLERANCE


@pytest.mark.slow
def test_a_fixed_clip_method_exports_its_clip(tmp_path):
    model = i2vlib.load("zoo:convlstm-happy")
    meta = to_onnx(model, tmp_path / "c.onnx")
    assert meta["inputs"] == ["face"] and meta["output"] == "clip" and len(meta["clip_intensities"]) == 10
    session = ort.InferenceSession(str(tmp_path / "c.onnx"), providers=["CPUExecutionProvider"])
    clip = session.run(None, {"face": FACE})[0]
    assert clip.shape == (10, 64, 64, 3)
    assert np.abs(clip.astype(int) - model.generate(FACE, model.supported_intensities)).max() <= TOLERANCE


@pytest.mark.slow
def test_an_untrained_run_of_a_unified_model_exports_every_expression(tmp_path):
    cfg = affinegan.default_config("smoke", expressions=["happy", "close-eyes"], classify=1.0)
    ckpt = save_checkpoint(tmp_path / "ag.pt", "affinegan", cfg, 0,
                           {"generator": affinegan.AffineGenerator(cfg).state_dict()})
    model = i2vlib.load(ckpt)
    to_onnx(model, tmp_path / "ag.onnx", weights="fp32")
    assert max_difference(tmp_path / "ag.onnx", model, face=FACE) <= TOLERANCE


@pytest.mark.parametrize("method, words", [(frgan, "G_C measures"), (frgan_pose, "joints")])
def test_models_that_are_not_one_network_are_refused_in_one_line(tmp_path, capsys, method, words):
    cfg = method.default_config("smoke")
    ckpt = save_checkpoint(tmp_path / "m.pt", cfg["method"], cfg, 0, {"generator": ForecastNet(cfg).state_dict()})
    assert main(["export", str(ckpt), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("i2v: error:") and "cannot be exported" in err[0] and words in err[0]
    assert leftovers(tmp_path, {"m.pt"}) == []


def _exit_status(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:          # argparse's own usage errors
        return e.code


@pytest.mark.parametrize("argv, words", [
    (["--out", "{tmp}/m.gif"], "a .onnx file"),
    (["--out", "{tmp}/m.onnx", "--weights", "int8"], "invalid choice"),
    (["--out", "{tmp}/folder.onnx/"], "is a folder"),
])
def test_bad_export_arguments_are_one_line_errors(tmp_path, capsys, argv, words):
    assert _exit_status(["export", "zoo:fan-happy", *[a.replace("{tmp}", str(tmp_path)) for a in argv]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("i2v: error:") and words in err[0], err
    assert leftovers(tmp_path, set()) == []


def test_without_the_onnx_package_export_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)          # what an import of a missing package meets
    with pytest.raises(I2VError, match=r"i2vlib\[export\]"):
        to_onnx(i2vlib.load("zoo:fan-happy"), tmp_path / "m.onnx")
    assert leftovers(tmp_path, set()) == []


def test_metadata_refuses_files_that_export_did_not_write(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"not a model at all")
    with pytest.raises(I2VError, match="not an ONNX model"):
        metadata(tmp_path / "x.onnx")
    onnx = pytest.importorskip("onnx")
    bare = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []))
    onnx.save(bare, tmp_path / "bare.onnx")
    with pytest.raises(I2VError, match="no i2v metadata"):
        metadata(tmp_path / "bare.onnx")
