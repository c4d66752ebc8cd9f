"""G_C's fitter (i2vlib.instruments.fitter): the reference's expression coefficients, the paper's reading of G_C's
retargeting (§3.1), against the landmark reading it replaces; the face model's beta -> landmarks."""

import json

import numpy as np
import pytest

from i2vlib.data.face_shape import ACTIONS
from i2vlib.data.synthetic import SyntheticBenchmark, actions
from i2vlib.errors import I2VError
from i2vlib.instruments import fitter as F
from i2vlib.instruments.condition import (ExpressionTable, Fitted, beta_displacement, from_canonical, template,
                                          unit_displacement)

BENCH = SyntheticBenchmark(64)


def _units(**on) -> np.ndarray:
    return np.array([[on.get(u, 0.0) for u in ACTIONS]])


def test_beta_moves_the_mean_face_where_its_action_units_act():
    assert np.allclose(unit_displacement(_units()), 0.0) and unit_displacement(_units()).shape == (1, 68, 2)
    closed = unit_displacement(_units(eye_close=1.0))[0]
    moved = np.flatnonzero(np.linalg.norm(closed, axis=-1) > 1e-9)
    assert set(moved) <= set(range(36, 48)) and closed[[37, 38, 43, 44], 1].min() > 0      # upper lids come down
    smirk = unit_displacement(_units(smirk=1.0))[0]
    assert np.linalg.norm(smirk[54]) > 5 * np.linalg.norm(smirk[48])                        # one corner only


def test_beta_displacement_is_the_motion_from_the_first_frame():
    start, peak = _units(smirk=0.3)[0], _units(smirk=0.3, eye_close=1.0)[0]
    d = beta_displacement(np.stack([start, peak]))
    assert d.shape == (2, 68, 2) and np.allclose(d[0], 0.0)                 # a video starts where it is
    assert np.allclose(d[1], unit_displacement(peak) - unit_displacement(start))


class _Stub:
    """A fitter that reads a given beta off each frame."""

    def __init__(self, units):
        self.units = units

    def fit(self, frames, neutral=None):
        assert len(frames) == len(self.units)
        return self.units


def test_the_fitted_g_c_lays_the_reference_s_coefficients_on_the_target():
    table = ExpressionTable(np.zeros((1, 21, 68, 2)), ["happy"])
    units = np.concatenate([_units(smile=0.1), _units(smile=0.6, jaw_drop=0.3), _units(smile=1.0)])
    neutral = template() * 40 + 32                                       # some face's landmarks, in pixels
    out = Fitted(table, fitter=_Stub(units)).retarget(neutral, np.zeros((3, 64, 64, 3), np.uint8))
    expected = neutral + from_canonical(unit_displacement(units) - unit_displacement(units[:1]), neutral)
    assert np.allclose(out, expected) and np.allclose(out[0], neutral)   # frame 0 is the input's own landmarks
    assert out[2, 54, 0] > neutral[54, 0] + 0.5                          # the smile widens the mouth


@pytest.fixture(scope="module")
def fitter():
    return F.get_fitter()


def test_the_shipped_fitter_reads_a_closing_eye_and_a_smirk_the_landmarks_miss(fitter):
    for expression, unit in (("close-eyes", "eye_close"), ("contempt", "smirk")):
        clip = BENCH.video("test", 2, expression=expression, curve="linear", n_frames=6)
        true = actions(BENCH.identity(int(clip.identity)), {expression: 1.0})[unit]
        read = fitter.fit(clip.frames)[:, ACTIONS.index(unit)]
        assert read[0] < 0.15 and abs(read[-1] - true) < 0.25 and np.all(np.diff(read) > -0.1), (expression, read)
    acc = json.loads(F.WEIGHTS.with_suffix(".json").read_text())["accuracy"]      # held out, as shipped
    assert acc["displacement_error_px"] < acc["landmark_displacement_error_px"]
    for e in ("close-eyes", "contempt"):
        per = acc["per_expression"][e]
        assert per["displacement_error_px"] < per["landmark_displacement_error_px"]


def test_bad_fitter_files_and_frames_are_one_line_errors(tmp_path, fitter):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(I2VError, match="not a readable fitter file"):
        F.Fitter.load(bad)
    with pytest.raises(I2VError, match="no fitter weights"):
        F.Fitter.load(tmp_path / "missing.pt")
    with pytest.raises(I2VError, match="uint8 frames"):
        fitter.fit(np.zeros((2, 64, 64, 3), np.float32))
    assert F.main(["--out", str(tmp_path / "no" / "such" / "fitter.pt"), "--quick"]) == 2
    with pytest.raises(SystemExit) as stop:                       # a usage mistake: argparse's one line, status 2
        F.main(["--out", str(tmp_path / "fitter.pt"), "--steps", "0"])
    assert stop.value.code == 2
    assert not (tmp_path / "fitter.pt").exists()


def test_a_benchmark_model_s_fitted_g_c_fits_coefficients_and_landmarks_moves_landmarks():
    import i2vlib

    model = i2vlib.load("zoo:frgan-faces-forecast")
    assert model.g_c("fitted").fitter is not None and model.g_c("landmarks").fitter is None
    assert model.g_c("linear").fitter is None
    with pytest.raises(I2VError, match="fitted, linear, landmarks"):
        model.g_c("coefficients")
