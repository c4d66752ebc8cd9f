"""MoCoGAN, the image-to-video baseline of FRGAN §4.2: the content and motion streams, the config, one step, the
fixed clip through the one API, the CLI and the export."""

import numpy as np
import pytest
import torch

from i2vlib import I2VError
from i2vlib.models import mocogan

from test_cli import assert_one_line_error, i2v


@pytest.mark.parametrize("size, length, d_m", [(64, 8, 10), (32, 3, 4), (128, 2, 16)])
def test_content_comes_from_the_input_and_motion_codes_from_the_gru(size, length, d_m):
    torch.manual_seed(0)
    net = mocogan.MoCoGANGenerator(mocogan.default_config("smoke", image_size=size, length=length, d_m=d_m,
                                                          frames=[length + 1, length + 2]))
    x, eps = torch.rand(2, 3, size, size) * 2 - 1, torch.randn(2, length, d_m)
    z_c, z_m = net.streams(x, eps)
    assert z_c.shape == (2, net.encoder[-3].out_channels, 4, 4) and z_m.shape == (2, length + 1, d_m)
    assert torch.equal(z_c, net.encoder(x))                                       # z_C = E(I0), fixed over the clip
    assert torch.allclose(z_m[:, 0], torch.tanh(net.h0(z_c.flatten(1))))          # h(0) from the same encoder
    for t in range(1, length + 1):                                                # z_M(t) = GRU(eps(t), h(t - 1))
        assert torch.allclose(z_m[:, t], net.r_m(eps[:, t - 1], z_m[:, t - 1]), atol=1e-6)
    video = net(x, eps)
    assert video.shape == (2, length + 1, 3, size, size) and video.abs().max() <= 1
    t = length // 2                                                               # x(t) = G_I([z_C, z_M(t)])
    z = torch.cat([z_c, z_m[:, t, :, None, None].expand(-1, -1, 4, 4)], 1)
    assert torch.allclose(video[:, t], net.g_i(z), atol=1e-6)
    other = net(x, torch.randn(2, length, d_m))                                   # new noise: new motion, same start
    assert torch.allclose(other[:, 0], video[:, 0]) and not torch.allclose(other[:, -1], video[:, -1])
    assert torch.equal(net(x), net(x, torch.zeros(2, length, d_m)))               # generation: eps = 0


def test_config_follows_the_papers_and_refuses_the_rest():
    cfg = mocogan.default_config("smoke")
    assert cfg["length"] == 8 and cfg["d_m"] == 10 and cfg["expressions"] == ["happy"]
    assert cfg["weights"] == {"image": 1.0, "video": 1.0, "r": 10.0}
    paper = mocogan.default_config("paper")
    assert paper["image_size"] == 64 and paper["norm"] == "batch" and paper["lr"] == 2e-4 and paper["ngf"] == 64
    with pytest.raises(I2VError, match="one model per expression"):
        mocogan.default_config("smoke", expressions=["happy", "surprise"])
    with pytest.raises(I2VError, match="at least 9 frames"):
        mocogan.default_config("smoke", frames=[6, 8])
    with pytest.raises(I2VError, match="length=0 is out of range"):
        mocogan.default_config("smoke", length=0)
    for bad in (0, 1.5, True, "10"):
        with pytest.raises(I2VError, match=r"d_m \(the motion code's size\) must be an integer in \[1, 512\]"):
            mocogan.default_config("smoke", d_m=bad)


def test_one_step_moves_every_network_and_ties_only_the_first_frame_to_the_input():
    torch.manual_seed(0)
    tr = mocogan.Trainer(mocogan.default_config("smoke", videos=2))
    b = tr.sample(np.random.default_rng(0))
    assert b["video"].shape == (2, 9, 3, 64, 64) and torch.equal(b["video"][:, 0], b["neutral"])
    assert b["eps"].shape == (2, 8, 10) and b["t"].shape == (2,) and 0 <= b["t"].min() and b["t"].max() <= 8
    assert torch.equal(tr._frames(b["video"], b["t"])[1], b["video"][1, b["t"][1]])   # S_1: one frame per clip
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    out = tr.step(b)
    assert set(out) == {"d_i", "d_v", "g_i", "g_v", "r"} and all(torch.isfinite(v) for v in out.values())
    assert set(tr.nets) == {"generator", "d_image", "d_video"}
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    fake = tr.forward(b)["fake"]
    assert torch.equal(fake, tr.nets["generator"](b["neutral"], b["eps"]))     # the batch's noise drives R_M
    r = tr.g_terms(b, {"fake": fake})["r"]()
    assert torch.isclose(r, (fake[:, 0] - b["neutral"]).abs().mean())


def test_cli_refuses_two_expressions_in_one_line(tmp_path):
    r = i2v("train", "mocogan", "--profile", "smoke", "--expressions", "happy", "anger", "--out", tmp_path / "two")
    assert_one_line_error(r, "one model per expression")
    assert not (tmp_path / "two").exists()
