"""FRGAN's pose half: joint heat maps, the pose instrument (Eq. 15), the frgan-pose method, its measure."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from i2vlib import I2VError
from i2vlib.runs import load, train
from i2vlib.data.pose_benchmark import ACTIONS, OBSERVED, PREDICTED, PoseBenchmark
from i2vlib.evaluate import pose_protocol
from i2vlib.instruments import pose_net as instrument
from i2vlib.instruments.condition import joint_maps, map_channels
from i2vlib.models import frgan_pose

SMOKE = {"weights": {"rec": 3.0, "mask": 0.05}}


def test_joint_maps_peak_at_the_joints():
    joints = np.array([[[10.0 + 3 * k, 20.0 + 2 * k] for k in range(13)]], np.float32)
    maps = joint_maps(joints, 64)
    assert maps.shape == (1, 13, 64, 64) and map_channels("joints") == 13
    for k in range(13):
        y, x = np.unravel_index(int(maps[0, k].argmax()), (64, 64))
        assert (x, y) == (10 + 3 * k, 20 + 2 * k) and float(maps[0, k].max()) == pytest.approx(1.0)
    with pytest.raises(I2VError, match="13 x 2"):
        joint_maps(np.zeros((1, 68, 2)), 64)


def test_the_instrument_reads_joints_back_from_its_own_targets():
    joints = np.random.default_rng(0).uniform(8, 56, (4, 13, 2)).astype(np.float32)
    assert np.abs(instrument.peaks(instrument.heatmaps(joints)) - joints).max() < 1.0    # a quarter of a 4-px cell


def test_the_shipped_instrument_finds_the_joints_of_unseen_people():
    net = instrument.load()
    v = PoseBenchmark(64).video("test", 3)
    from i2vlib.data.clips import to_tensor
    from i2vlib.metrics import pck

    with torch.inference_mode():
        found = instrument.peaks(net(to_tensor(v.frames[::6]))[1])
    assert pck(found, v.joints[::6], v.visibility[::6]) > 0.7
    x = to_tensor(v.frames[:2])
    assert float(instrument.feature_loss(net, x, x)) == 0.0 and float(instrument.feature_loss(net, x, -x)) > 0


def test_a_damaged_instrument_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "pose64.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(I2VError, match="not a pose instrument"):
        instrument.load(bad)
    with pytest.raises(I2VError, match="missing"):
        instrument.load(tmp_path / "absent.pt")


def test_the_pose_config_reads_joint_maps_from_the_benchmark():
    cfg = frgan_pose.default_config("book")
    assert cfg["method"] == "frgan-pose" and cfg["motion_maps"] == "joints" and cfg["weights"]["feat"] == 1.0
    assert cfg["frames"] == [48, 48] and cfg["videos"] == 40
    refine = frgan_pose.default_config("book", stage="refine")
    assert refine["forecast"]["method"] == "frgan-pose" and refine["clip_length"] == 16
    with pytest.raises(I2VError, match="pose benchmark"):
        frgan_pose.default_config("smoke", data=".")
    with pytest.raises(I2VError, match="at least 42"):
        frgan_pose.default_config("smoke", frames=[30, 30])
    with pytest.raises(I2VError, match="motion_maps"):
        frgan_pose.default_config("smoke", motion_maps="dense")


def test_a_batch_pairs_frames_of_one_video_with_their_joint_maps():
    trainer = frgan_pose.Trainer(frgan_pose.default_config("smoke", **SMOKE))
    b = trainer.sample(np.random.default_rng(0))
    assert b["source"].shape == (4, 3, 64, 64) and b["maps_source"].shape == (4, 13, 64, 64)
    assert b["maps_target"].shape == (4, 13, 64, 64)
    assert "feat" in trainer.g_losses and trainer.instrument is not None
    no_feat = frgan_pose.Trainer(frgan_pose.default_config("smoke", weights={"feat": 0.0}))
    assert no_feat.instrument is None


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Smoke runs of every pose arm: G_M (dense, plain, no residual, no Eq. 15) and G_R on the dense G_M."""
    root = tmp_path_factory.mktemp("pose-runs")
    out = {}
    for name, change in {"forecast": {}, "plain": {"decoder": "plain"}, "no_residual": {"residual": "none"},
                         "no_feat": {"weights": {"rec": 3.0, "mask": 0.05, "feat": 0.0}}}.items():
        cfg = frgan_pose.default_config("smoke", **{**SMOKE, **change})
        train(cfg, root / name, progress=False)
        out[name] = root / name
    refine = frgan_pose.default_config("smoke", stage="refine", forecast=frgan_pose.default_config("smoke", **SMOKE),
                                       **SMOKE)
    train(refine, root / "refine", progress=False)
    out["refine"] = root / "refine"
    return out


@pytest.mark.slow
def test_every_pose_arm_trains_and_forecasts(runs):
    v = PoseBenchmark(64).video("test", 0)
    for name, run in runs.items():
        model = load(run)
        assert model.method == "frgan-pose" and (model.refiner is not None) == (name == "refine")
        frames = model.forecast(v.frames[OBSERVED - 1], v.joints[OBSERVED - 1], v.joints[OBSERVED:OBSERVED + 5])
        assert frames.shape == (5, 64, 64, 3) and frames.dtype == np.uint8
    with pytest.raises(I2VError, match="13 x 2"):
        model.forecast(v.frames[0], v.joints[0], np.zeros((3, 68, 2)))
    with pytest.raises(I2VError, match="uint8"):
        model.forecast(v.frames[0].astype(float), v.joints[0], v.joints[:2])


@pytest.mark.slow
def test_the_pose_measure_scores_both_conditions(runs):
    model = load(runs["refine"])
    s = pose_protocol.pose_scores(model, per_action=1, strips=["golf_swing", "jump_rope"])
    assert set(s["mse_t"]) == {"lstm", "gt"} and s["mse_t"]["gt"].shape == (8, PREDICTED)
    assert s["change_t"]["gt"].shape == (8, PREDICTED)
    assert np.isfinite(s["mse_t"]["lstm"]).all() and (s["mse_t"]["lstm"] >= 0).all()
    assert set(s["strips"]) == {"golf_swing", "jump_rope"}
    assert s["strips"]["golf_swing"].shape == (len(pose_protocol.STRIP), 3 * 64, 64, 3)
    # the truth row of a strip is the test video itself
    truth = pose_protocol.test_videos(1)[3].frames[OBSERVED + pose_protocol.STRIP]
    assert np.array_equal(s["strips"]["golf_swing"][:, :64], truth)
    assert "strips" not in pose_protocol.pose_scores(model, per_action=1)
    with pytest.raises(I2VError, match="frgan-pose"):
        pose_protocol.pose_scores(object())


def test_the_trivial_forecasts_frame_the_scores():
    videos = pose_protocol.test_videos(1)
    copy = pose_protocol.copy_last(videos)
    assert copy["mse_t"].shape == (8, PREDICTED) and (copy["mse_t"] > 0).all()
    # the error of holding the frame lies where the figure moved: larger there than over the whole frame
    assert (np.nanmean(copy["change_t"], 1) > copy["mse_t"].mean(1)).all()
    region = pose_protocol.change_region(videos[0])
    assert region.shape == (PREDICTED, 64, 64) and region.any()
    assert pose_protocol.frame_mse(videos[0].frames[:3], videos[0].frames[:3]).max() == 0
    assert pose_protocol.mse_to_psnr([1e-2])[0] == pytest.approx(20.0)
    s = pose_protocol.lstm_scores(videos)
    assert 0 <= s["lstm"]["pck"] <= 1 and len(s["lstm"]["pck_t"]) == PREDICTED
    # G_C has learnt the actions: its joints beat holding the last pose
    assert s["lstm"]["error_px"] < s["zero_velocity"]["error_px"]


@pytest.mark.slow
def test_the_cli_says_a_pose_model_does_not_render_intensities(runs, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "clip.gif"
    r = subprocess.run([sys.executable, "-m", "i2vlib.cli", "generate", str(runs["forecast"]), "synthetic:3", "--out",
                        str(out)], capture_output=True, text=True)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "frgan-pose" in lines[0] and "joints" in lines[0]
    assert not out.exists()


@pytest.mark.slow
def test_i2v_evaluate_scores_a_pose_model_on_its_papers_protocol(runs, tmp_path, capsys):
    from i2vlib.cli import main

    out = tmp_path / "m.json"
    assert main(["evaluate", str(runs["refine"]), "--videos", "1", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    s = r["scores"]
    assert r["method"] == "frgan-pose" and r["videos"] == len(ACTIONS) and r["stage"] == "refine"
    assert {"mse_lstm", "mse_gt", "mse_hold", "change_ratio_lstm", "change_ratio_gt"} <= set(s)
    assert set(s["psnr_gt"]) == set(ACTIONS) and all(np.isfinite(v) for v in s["psnr_hold"].values())
    assert "mse_hold" in capsys.readouterr().out
    assert main(["evaluate", str(runs["refine"]), "--data", str(tmp_path), "--out", str(tmp_path / "x.json")]) == 2
    assert main(["evaluate", str(runs["refine"]), "--split", "train", "--out", str(tmp_path / "x.json")]) == 2
    assert not (tmp_path / "x.json").exists()
    assert main(["evaluate", str(runs["refine"]), "--videos", "1", "--split", "val", "--out", str(out)]) == 0
    v = json.loads(out.read_text())
    assert v["split"] == "val" and v["scores"]["mse_hold"] != s["mse_hold"]        # other videos


def test_validation_videos_are_unseen_videos_of_the_g_r_third_in_action_order():
    val, test = pose_protocol.test_videos(1, 64, "val"), pose_protocol.test_videos(1)
    assert [v.action for v in val] == [v.action for v in test] == list(ACTIONS)
    third, start = pose_protocol.VALIDATION
    assert third == "refine" and start >= 8 * 500                     # past any training videos (500 per action)
    assert np.array_equal(val[0].frames, PoseBenchmark(64).video("refine", start).frames)
    with pytest.raises(I2VError, match="unknown pose split 'train'"):
        pose_protocol.test_videos(1, 64, "train")


def test_the_longer_run_is_the_full_arm_at_eight_times_its_steps():
    from i2vlib.records import ablations

    full = ablations.arm_configs("frgan-pose", "book", ["forecast"], seeds=[0])["forecast"][0]
    long = ablations.longer_config("frgan-pose", "book")
    assert long["steps"] == 8 * full["steps"] and {**long, "steps": full["steps"]} == full
