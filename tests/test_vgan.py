"""VGAN, the conditional VideoGAN baseline of AffineGAN §4.1.1 and FRGAN §4.3: the two streams, the config, one step,
the fixed clip through the one API, the CLI and the export; on poses (``benchmark="poses"``) one model per action,
its batches, its forecast on the pose protocol, the CLI."""

import json

import numpy as np
import pytest
import torch

import i2vlib
from i2vlib import I2VError
from i2vlib.config import config_hash
from i2vlib.data.clips import to_tensor
from i2vlib.data.pose_benchmark import OBSERVED, PREDICTED, PoseBenchmark
from i2vlib.evaluate import pose_protocol
from i2vlib.models import frgan_pose, vgan
from i2vlib.models.frgan_parts import VideoCritic
from i2vlib.train import train

from test_cli import assert_one_line_error, i2v, i2v_here


@pytest.mark.parametrize("size, length", [(64, 8), (32, 31), (128, 3)])
def test_the_video_is_the_mask_blend_of_a_moving_foreground_and_one_static_background(size, length):
    torch.manual_seed(0)
    net = vgan.VideoGANGenerator(vgan.default_config("smoke", image_size=size, length=length,
                                                     frames=[length + 1, length + 2]))
    x = torch.rand(2, 3, size, size) * 2 - 1
    f, m, b = net.streams(x)
    assert f.shape == (2, 3, length + 1, size, size) and m.shape == (2, 1, length + 1, size, size)
    assert b.shape == (2, 3, 1, size, size) and 0 <= m.min() and m.max() <= 1
    video = net(x)
    assert video.shape == (2, length + 1, 3, size, size) and video.abs().max() <= 1
    assert torch.allclose(video, (m * f + (1 - m) * b).transpose(1, 2))   # Vondrick et al.'s composition


def test_the_video_stream_doubles_time_as_the_official_code_where_the_clip_is_long_enough():
    assert vgan.time_layout(33, 4) == [2, 4, 8, 16, 33]            # the pose clips: 2 -> ... -> 16 -> 2 * 16 + 1
    assert vgan.time_layout(32, 4) == [2, 4, 8, 16, 32]            # the official 32 frames at 64 px
    assert vgan.time_layout(9, 4) is None                          # the faces' 9: every step from the first layer
    net = vgan.VideoGANGenerator(vgan.default_config("smoke", **POSES))
    convs = [m for m in net.video.modules() if isinstance(m, torch.nn.ConvTranspose3d)]
    assert convs[0].kernel_size == (2, 1, 1)                       # 1 -> 2 steps, then 4 x 4 x 4 of stride 2
    assert all(c.kernel_size == (4, 4, 4) and c.stride == (2, 2, 2) for c in convs[1:])
    assert [c.output_padding[0] for c in convs[1:]] == [0, 0, 0, 1]
    assert net(torch.zeros(2, 3, 64, 64)).shape == (2, 33, 3, 64, 64)
    faces = vgan.VideoGANGenerator(vgan.default_config("book"))     # the faces' book layout, as recorded
    convs = [m for m in faces.video.modules() if isinstance(m, torch.nn.ConvTranspose3d)]
    assert convs[0].kernel_size == (9, 1, 1) and all(c.kernel_size == (3, 4, 4) for c in convs[1:])


def test_frame_0_depends_on_the_input_and_its_regression_reaches_every_stream():
    torch.manual_seed(0)
    tr = vgan.Trainer(vgan.default_config("smoke", **POSES))
    net = tr.nets["generator"]
    b = tr.sample(np.random.default_rng(0))
    x = b["neutral"].clone().requires_grad_(True)
    net(x)[:, 0].sum().backward()
    assert x.grad.abs().sum(dim=(1, 2, 3)).min() > 0               # every clip's frame 0 reads its own input
    net.zero_grad()
    tr.g_terms(b, tr.forward(b))["r"]().backward()
    for part in (net.encoder, net.static, net.video):              # E, the background and the video stream learn
        assert sum(float(p.grad.abs().sum()) for p in part.parameters()) > 0
    with torch.no_grad():
        first = net(torch.stack([b["neutral"][0], b["neutral"][0].flip(-1)]))[:, 0]
    assert (first[0] - first[1]).abs().mean() > 1e-3


def test_config_follows_the_papers_and_refuses_the_rest():
    cfg = vgan.default_config("smoke")
    assert cfg["length"] == 8 and cfg["weights"] == {"g": 1.0, "r": 10.0} and cfg["expressions"] == ["happy"]
    assert vgan.default_config("paper")["norm"] == "batch"
    with pytest.raises(I2VError, match="one model per expression"):
        vgan.default_config("smoke", expressions=["happy", "surprise"])
    with pytest.raises(I2VError, match="at least 9 frames"):
        vgan.default_config("smoke", frames=[6, 8])
    with pytest.raises(I2VError, match="length=0 is out of range"):
        vgan.default_config("smoke", length=0)


def test_one_step_moves_every_network_and_ties_only_the_first_frame_to_the_input():
    torch.manual_seed(0)
    tr = vgan.Trainer(vgan.default_config("smoke", videos=2))
    b = tr.sample(np.random.default_rng(0))
    assert b["video"].shape == (2, 9, 3, 64, 64) and torch.equal(b["video"][:, 0], b["neutral"])
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    out = tr.step(b)
    assert set(out) == {"d_v", "g_v", "r"} and all(torch.isfinite(v) for v in out.values())
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    fake = tr.forward(b)["fake"]
    r = tr.g_terms(b, {"fake": fake})["r"]()
    assert torch.isclose(r, (fake[:, 0] - b["neutral"]).abs().mean())


POSES = {"benchmark": "poses", "action": "golf_swing"}


def test_on_poses_the_config_is_one_model_per_action_of_the_protocols_32_frames():
    cfg = vgan.default_config("smoke", **POSES)
    assert (cfg["length"], cfg["frames"], cfg["action"]) == (PREDICTED, [42, 42], "golf_swing")
    assert vgan.default_config("paper", **POSES)["image_size"] == 64
    book, g_m = vgan.default_config("book", **POSES), frgan_pose.default_config("book")
    assert (book["ngf"], book["ndf"]) == (g_m["ngf"], g_m["ndf"])   # FRGAN's pose G_M's widths
    assert all(vgan.default_config(p, **POSES)["norm"] == "batch" for p in ("smoke", "book", "paper"))
    faces = vgan.default_config("smoke")
    assert (faces["benchmark"], faces["action"]) == ("faces", None)
    # the new options at their face values leave the hashes of earlier runs as they were
    assert config_hash(faces) == config_hash({k: v for k, v in faces.items() if k not in ("benchmark", "action")})
    for bad, words in [({"benchmark": "poses"}, "one model per action"), ({**POSES, "action": "dance"}, "set action"),
                       ({**POSES, "length": 8}, "length=32"), ({"action": "golf_swing"}, "has no action"),
                       ({**POSES, "expressions": ["anger"]}, "no expressions"),
                       ({**POSES, "data": "."}, "pose benchmark"),
                       ({**POSES, "frames": [40, 48]}, "at least 42"), ({"benchmark": "hands"}, "faces, poses")]:
        with pytest.raises(I2VError, match=words) as e:
            vgan.default_config("smoke", **bad)
        assert "\n" not in str(e.value)


def test_the_discriminator_is_the_official_ones_where_the_norm_is_and_the_books_critic_elsewhere():
    d = vgan.Trainer(vgan.default_config("smoke", **POSES)).nets["d_video"]
    assert isinstance(d, vgan.Discriminator)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv3d)]
    assert len(convs) == 5 and [c.stride for c in convs[:4]] == [(2, 2, 2)] * 4    # the official five layers
    assert convs[-1].kernel_size == (2, 4, 4)                                       # 33 -> 16 -> 8 -> 4 -> 2 steps
    norms = [type(m) for m in d.net]
    assert norms.count(torch.nn.BatchNorm3d) == 3 and norms[1] is not torch.nn.BatchNorm3d   # not after the first
    assert d(torch.zeros(2, 3, 33, 64, 64)).shape == (2,)
    assert type(vgan.Trainer(vgan.default_config("smoke")).nets["d_video"]) is VideoCritic   # faces: as recorded


def test_on_poses_a_batch_is_runs_of_33_frames_of_the_actions_training_videos():
    torch.manual_seed(0)
    tr = vgan.Trainer(vgan.default_config("smoke", **POSES))
    b = tr.sample(np.random.default_rng(0))
    assert b["video"].shape == (2, 33, 3, 64, 64) and torch.equal(b["video"][:, 0], b["neutral"])
    videos = [tr.sampler()[i] for i in range(len(tr.sampler()))]
    assert {v.action for v in videos} == {"golf_swing"} and {v.split for v in videos} == {"forecast", "refine"}
    runs = [to_tensor(v.frames) for v in videos]
    for clip in b["video"]:                                   # a run of consecutive frames of one of them
        assert any(torch.equal(clip, f[t:t + 33]) for f in runs for t in range(len(f) - 32))
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    out = tr.step(b)
    assert set(out) == {"d_v", "g_v", "r"} and all(torch.isfinite(v) for v in out.values())
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k


@pytest.fixture(scope="module")
def pose_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vgan-poses") / "run"
    info = train(vgan.default_config("smoke", steps=2, **POSES), out, progress=False)
    assert info["finished"] and info["step"] == 2
    return out


def test_on_poses_the_model_forecasts_from_the_input_frame_alone(pose_run):
    model = i2vlib.load(pose_run)
    assert isinstance(model, vgan.PoseModel) and model.actions == ("golf_swing",) and model.observes == 1
    v = PoseBenchmark(64).video("test", 3)
    frames = model.forecast(v.frames[OBSERVED - 1], v.joints[OBSERVED - 1], v.joints[OBSERVED:OBSERVED + PREDICTED])
    assert frames.shape == (PREDICTED, 64, 64, 3) and frames.dtype == np.uint8
    with torch.inference_mode():
        clip = model.net(to_tensor(v.frames[OBSERVED - 1])[None])[0, 1:6]
    made = model.forecast(v.frames[OBSERVED - 1], None, np.zeros((5, 13, 2)), as_tensor=True)
    assert torch.allclose(made, clip.clamp(-1, 1), atol=1e-5)          # the joints only count the frames
    with pytest.raises(I2VError, match="fixed clip of 32 frames"):
        model.forecast(v.frames[OBSERVED - 1], None, np.zeros((33, 13, 2)))
    with pytest.raises(I2VError, match="uint8"):
        model.forecast(v.frames[OBSERVED - 1].astype(float), None, np.zeros((3, 13, 2)))
    with pytest.raises(I2VError, match="not from intensities"):
        model.generate(v.frames[0], [0.5])


@pytest.mark.slow
def test_on_poses_the_protocol_scores_its_actions_videos_the_same_under_both_conditions(pose_run):
    model = i2vlib.load(pose_run)
    s = pose_protocol.pose_scores(model, per_action=2)
    assert s["actions"] == ["golf_swing"] * 2 and s["mse_t"]["gt"].shape == (2, PREDICTED)
    assert np.array_equal(s["mse_t"]["lstm"], s["mse_t"]["gt"])        # VGAN observes no joints
    r = pose_protocol.forecasting(model, per_action=1)
    assert r["videos"] == 1 and r["action"] == "golf_swing" and set(r["scores"]["psnr_gt"]) == {"golf_swing"}


@pytest.mark.slow
def test_on_poses_the_cli_trains_evaluates_and_refuses_to_export(tmp_path, capsys):
    r = i2v("train", "vgan", "--profile", "smoke", "--steps", 2, "--set", "benchmark=poses", "action=golf_swing",
            "--out", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    r = i2v_here(capsys, "evaluate", tmp_path / "run", "--videos", 1, "--out", tmp_path / "e.json")
    assert r.returncode == 0, r.stderr
    e = json.loads((tmp_path / "e.json").read_text())
    assert e["method"] == "vgan" and e["protocol"].startswith("pose forecasting") and e["videos"] == 1
    r = i2v_here(capsys, "export", tmp_path / "run", "--out", tmp_path / "m.onnx")
    assert_one_line_error(r, "vgan models cannot be exported", "pose model")
    r = i2v_here(capsys, "train", "vgan", "--profile", "smoke", "--set", "benchmark=poses", "--out", tmp_path / "bad")
    assert_one_line_error(r, "one model per action")
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "bad").exists()
