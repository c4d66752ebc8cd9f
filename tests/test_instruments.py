"""The measuring instruments: the shipped synthetic networks meet their accuracy targets on held-out
identities, a small one can be retrained in seconds, and dlib measures real faces."""

import json

import numpy as np
import pytest
import torch

from i2vlib import EXPRESSIONS
from i2vlib.data.synthetic import SyntheticBenchmark, response
from i2vlib.errors import I2VError
from i2vlib.instruments import Measurement, get_instrument
from i2vlib.instruments.benchmark import WEIGHTS, SyntheticInstrument, inverse_response
from i2vlib.instruments.build import assess, train_instrument

# The targets of the issue, on 64-px faces of test identities.
LANDMARK_PX, TRIPLETS, INTENSITY_MAE = 1.5, 0.95, 0.07


@pytest.fixture(scope="module")
def shipped():
    return get_instrument("synthetic")


def test_shipped_weights_are_small_and_documented():
    assert WEIGHTS.is_file() and WEIGHTS.stat().st_size < 1_200_000          # all three networks, half precision
    report = json.loads(WEIGHTS.with_suffix(".json").read_text())
    assert report["command"].startswith("python -m i2vlib.instruments.build")
    assert report["file_bytes"] == WEIGHTS.stat().st_size
    assert set(report["parameters"]) == {"landmarks", "identity", "expression"}
    assert all(n < 200_000 for n in report["parameters"].values())           # each under 400 KB in half precision
    acc = report["accuracy"]
    assert acc["held_out"]["split"] == "test" and acc["held_out"]["videos"] >= 70
    assert acc["landmark_error_px"] <= LANDMARK_PX
    assert acc["triplet_accuracy"] >= TRIPLETS
    assert acc["intensity_mae"] <= INTENSITY_MAE


@pytest.mark.slow
def test_shipped_instrument_meets_its_targets_on_held_out_identities(shipped, one_thread):
    # Re-measured on other test videos (benchmark seed 1: other draws of the test identities) and triplets.
    acc = assess(shipped, videos=21, triplets=100, negatives=30, seed=1, bench_seed=1)
    assert acc["landmark_error_px"] <= LANDMARK_PX, acc
    assert acc["triplet_accuracy"] >= TRIPLETS, acc
    assert acc["intensity_mae"] <= INTENSITY_MAE, acc
    assert acc["detection_rate"] >= 0.99 and acc["false_face_rate"] <= 0.05, acc
    assert acc["expression_accuracy"] >= 0.8, acc


def test_measurement_shapes_sizes_and_no_face(shipped):
    bench = SyntheticBenchmark(size=128)
    clip = bench.video("test", 3, n_frames=4)
    big = shipped.measure(clip.frames)                       # 128-px frames are measured at 64 px ...
    assert isinstance(big, Measurement) and len(big) == 4
    assert big.embedding.shape == (4, 128) and big.strength.shape == (4, len(EXPRESSIONS))
    np.testing.assert_allclose(np.linalg.norm(big.embedding, axis=1), 1, atol=1e-3)
    err = np.linalg.norm(big.landmarks - clip.landmarks, axis=-1).mean()
    assert err < 2 * LANDMARK_PX * 2                          # ... and the landmarks come back in 128-px pixels
    grey = np.full((2, 64, 64, 3), 128, np.uint8)
    m = shipped.measure(grey)
    assert not m.face.any() and np.isnan(m.embedding).all() and np.isnan(m.landmarks).all()
    with pytest.raises(I2VError, match="uint8"):
        shipped.measure(np.zeros((2, 64, 64, 3), np.float32))


def test_inverse_response_undoes_the_benchmark_response():
    a = np.linspace(0, 1, 21)
    for k in (-1.5, -0.3, 1e-8, 0.7, 2.0):
        np.testing.assert_allclose(inverse_response(response(a, k), k), a, atol=1e-9)
    assert inverse_response(1.7, 1.0) == pytest.approx(1.0)  # clipped to [0, 1]


@pytest.mark.slow
def test_a_small_instrument_retrains_and_reloads(tmp_path, one_thread):
    out = tmp_path / "tiny.pt"
    instrument, report = train_instrument(out, identities=150, views=4, steps=80, other_steps=80, batch=32,
                                          id_batch=24, progress=False, command="test",
                                          assess_with={"videos": 4, "triplets": 40, "negatives": 10})
    assert report["seconds"]["total"] > 0        # its time is reported (speed is a benchmark's, not a test's)
    assert out.is_file() and json.loads(out.with_suffix(".json").read_text())["command"] == "test"
    loaded = SyntheticInstrument.load(out)
    acc = report["accuracy"]
    # Honest, looser bounds for 80 steps: the landmark and identity networks learn fast ...
    assert acc["landmark_error_px"] < 3.0, acc
    assert acc["triplet_accuracy"] >= 0.9 and acc["triplet_accuracy_hard"] >= 0.6, acc
    # ... the expression network needs thousands of steps (the shipped one: 6000); here it must only
    # give valid readings.
    frames = SyntheticBenchmark().video("test", 0, n_frames=3).frames
    m = loaded.measure(frames)
    assert np.isfinite(m.strength).all() and (m.strength >= 0).all() and (m.strength <= 1).all()
    np.testing.assert_allclose(m.landmarks, instrument.measure(frames).landmarks, atol=1e-6)


def test_instrument_errors(tmp_path):
    with pytest.raises(I2VError, match="unknown instrument"):
        get_instrument("openface")
    with pytest.raises(I2VError, match="no instrument weights"):
        SyntheticInstrument.load(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(I2VError, match="not a readable instrument"):
        SyntheticInstrument.load(bad)
    torch.save({"format": "something else"}, bad)
    with pytest.raises(I2VError, match="not an i2v instrument"):
        SyntheticInstrument.load(bad)


def test_dlib_instrument_on_real_photos():
    import matplotlib.cbook as cbook
    from PIL import Image
    from skimage import data

    dlib = get_instrument("dlib")
    astronaut = data.astronaut()
    hopper = np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB"))
    hopper = np.asarray(Image.fromarray(hopper).resize((512, 512)))   # one frame size for a stack
    m = dlib.measure(np.stack([astronaut, astronaut[:, ::-1].copy(), hopper, np.full_like(hopper, 90)]))
    assert m.face.tolist() == [True, True, True, False]              # the blank frame is counted, not scored
    assert m.strength is None and np.isnan(m.embedding[3]).all()
    d = np.linalg.norm(m.embedding[:, None] - m.embedding[None], axis=-1)
    assert d[0, 1] < 0.6 < d[0, 2]                                   # same person (mirrored) vs another
