"""MoCoGAN, the image-to-video baseline of FRGAN §4.2: the content and motion streams, the official code's critics,
optimiser and batches, the config, one step, the first frame's tie to the input (its gradient, and a short training
on that term alone), the fixed clip through the one API, the CLI and the export."""

import numpy as np
import pytest
import torch
from torch import nn

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
    content = z_c[:, None].expand(-1, length + 1, -1, -1, -1)                   # x(t) = G_I([z_C, z_M(t)]), all
    motion = z_m[..., None, None].expand(-1, -1, -1, 4, 4)                       # frames in one batch (batch norm)
    by_hand = net.g_i(torch.cat([content, motion], 2).flatten(0, 1)).unflatten(0, (2, length + 1))
    assert torch.allclose(video, by_hand, atol=1e-6)
    other = net(x, torch.randn(2, length, d_m))                                   # new noise: new motion, same start
    assert not torch.allclose(other[:, -1], video[:, -1])
    assert torch.equal(net(x), net(x, torch.zeros(2, length, d_m)))               # generation: eps = 0
    net.eval()
    video, other = net(x, eps), net(x, torch.randn(2, length, d_m))
    assert torch.equal(other[:, 0], video[:, 0])                                  # frame 0 is h(0)'s, whatever eps


def test_frame_0_depends_on_the_input_and_its_regression_reaches_the_encoder():
    torch.manual_seed(0)
    tr = mocogan.Trainer(mocogan.default_config("smoke", videos=2))
    net = tr.nets["generator"]
    b = tr.sample(np.random.default_rng(0))
    x = b["neutral"].clone().requires_grad_(True)
    net(x, b["eps"])[:, 0].sum().backward()
    assert x.grad.abs().sum(dim=(1, 2, 3)).min() > 0                  # every clip's frame 0 reads its own input
    net.zero_grad()
    r = tr.g_terms(b, tr.forward(b))["r"]()
    r.backward()
    for part in (net.encoder, net.h0, net.g_i):                       # E, h(0) and G_I all learn from the regression
        assert sum(float(p.grad.abs().sum()) for p in part.parameters()) > 0
    with torch.no_grad():                                             # two inputs, two first frames
        first = net(torch.stack([b["neutral"][0], b["neutral"][0].flip(-1)]), b["eps"])[:, 0]
    assert (first[0] - first[1]).abs().mean() > 1e-3


def _first_frame_l1(norm: str, steps: int = 100) -> tuple[float, float]:
    """The first frame's L1 over the first and the last 10 of ``steps`` steps trained on it alone (32 px, 3 frames)."""
    torch.manual_seed(0)
    cfg = mocogan.default_config("smoke", image_size=32, ngf=8, ndf=4, videos=8, batch=4, length=2, norm=norm,
                                 steps=steps, weights={"image": 0.0, "video": 0.0})
    tr = mocogan.Trainer(cfg)
    r = [float(tr.step(tr.sample(np.random.default_rng([0, s])))["r"].detach()) for s in range(steps)]
    return float(np.mean(r[:10])), float(np.mean(r[-10:]))


@pytest.mark.slow
def test_the_first_frame_learns_its_input_when_it_is_the_only_term(one_thread):
    # the sanity check: with the adversarial terms off the first frame's L1 falls (0.374 -> 0.262 when written);
    # in instance norm, which takes each frame's own means out after every layer, it falls much less (-> 0.328)
    first, last = _first_frame_l1("batch")
    assert last < 0.75 * first, (first, last)
    first_in, last_in = _first_frame_l1("instance")
    assert last_in / first_in > last / first + 0.1, (first_in, last_in)


def test_the_critics_are_the_official_codes_without_batch_norm():
    size, ndf = 64, 8
    d_i, d_v = mocogan.ImageDiscriminator(ndf, size), mocogan.VideoDiscriminator(ndf, size, 9)
    convs = [m for m in d_i.modules() if isinstance(m, nn.Conv2d)]     # PatchImageDiscriminator: four convolutions
    assert [c.out_channels for c in convs] == [8, 16, 32, 1] and all(c.stride == (2, 2) for c in convs)
    assert all(c.bias is None for c in convs)
    assert d_i(torch.zeros(3, 3, size, size)).shape == (3, 1, 4, 4)      # a 4 x 4 map of logits per frame
    convs = [m for m in d_v.modules() if isinstance(m, nn.Conv3d)]     # VideoDiscriminator: five convolutions
    assert [c.out_channels for c in convs] == [8, 16, 32, 64, 1] and all(c.bias is None for c in convs)
    assert all(c.stride == (1, 2, 2) and c.padding == (0, 1, 1) for c in convs[:-1])   # stride 1 in time, no padding
    assert [c.kernel_size[0] for c in convs] == [4, 4, 3, 1, 1]          # 9 -> 6 -> 3 -> 1 -> 1 -> 1
    assert d_v(torch.zeros(2, 3, 9, size, size)).shape == (2, 1)
    official = [c.kernel_size[0] for c in mocogan.VideoDiscriminator(ndf, size, 16).modules()
                if isinstance(c, nn.Conv3d)]
    assert official == [4, 4, 4, 4, 4]                                   # the official 16 frames: 16 -> 13 ... -> 1
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm2d, nn.InstanceNorm3d))
                   for d in (d_i, d_v) for m in d.modules())


def test_the_critics_see_the_official_instance_noise_in_training_only():
    """--use_noise --noise_sigma 0.1: noise before every convolution of D_I and every strided one of D_V, drawn anew
    at each call in training, absent in evaluation and at sigma 0."""
    size = 32
    d_i, d_v = mocogan.ImageDiscriminator(8, size, 0.1), mocogan.VideoDiscriminator(8, size, 9, 0.1)
    for d, conv in ((d_i, nn.Conv2d), (d_v, nn.Conv3d)):
        layers = list(d.net)
        noised = [i for i, m in enumerate(layers) if isinstance(m, conv) and i and isinstance(layers[i - 1],
                                                                                            mocogan.InstanceNoise)]
        n_convs = sum(isinstance(m, conv) for m in layers)
        assert len(noised) == (n_convs if d is d_i else n_convs - 1)
    x = torch.rand(2, 3, size, size)
    torch.manual_seed(0)
    assert not torch.equal(d_i(x), d_i(x))                              # training: fresh noise at each call
    d_i.eval()
    assert torch.equal(d_i(x), d_i(x))
    quiet = mocogan.ImageDiscriminator(8, size, 0.0)
    assert torch.equal(quiet(x), quiet(x))
    for d in (quiet, mocogan.VideoDiscriminator(8, size, 9, 0.0)):      # sigma 0: the critic recorded before noise
        assert not any(isinstance(m, mocogan.InstanceNoise) for m in d.modules())
        convs = sum(isinstance(m, (nn.Conv2d, nn.Conv3d)) for m in d.modules())
        assert list(d.state_dict()) == [f"net.{2 * i}.weight" for i in range(convs)]   # conv, LeakyReLU, conv, ...
    assert mocogan.default_config("book")["noise"] == 0.1
    with pytest.raises(I2VError, match="noise"):
        mocogan.default_config("smoke", noise=-0.1)


def test_config_follows_the_official_code_and_refuses_the_rest():
    cfg = mocogan.default_config("smoke")
    assert cfg["length"] == 8 and cfg["d_m"] == 10 and cfg["expressions"] == ["happy"]
    assert cfg["weights"] == {"image": 1.0, "video": 1.0, "r": 10.0}
    for profile in ("book", "paper"):
        c = mocogan.default_config(profile)
        assert (c["lr"], c["betas"], c["norm"], c["batch"], c["image_batch"]) == (2e-4, [0.5, 0.999], "batch", 3, 10)
    paper = mocogan.default_config("paper")
    assert paper["image_size"] == 64 and paper["ngf"] == 64
    tr = mocogan.Trainer(mocogan.default_config("smoke"))
    assert set(tr.optimizers) == {"g", "d"}
    for opt in tr.optimizers.values():                                  # Adam at 2e-4 with weight decay 1e-5
        assert all(g["lr"] == 2e-4 and g["weight_decay"] == 1e-5 for g in opt.param_groups)
    assert any(isinstance(m, nn.BatchNorm2d) for m in tr.nets["generator"].modules())
    with pytest.raises(I2VError, match="one model per expression"):
        mocogan.default_config("smoke", expressions=["happy", "surprise"])
    with pytest.raises(I2VError, match="at least 9 frames"):
        mocogan.default_config("smoke", frames=[6, 8])
    with pytest.raises(I2VError, match="length=0 is out of range"):
        mocogan.default_config("smoke", length=0)
    for bad in (0, 1.5, True, "10"):
        with pytest.raises(I2VError, match=r"d_m \(the motion code's size\) must be an integer in \[1, 512\]"):
            mocogan.default_config("smoke", d_m=bad)
    with pytest.raises(I2VError, match=r"image_batch \(D_I's frames per step\) must be an integer"):
        mocogan.default_config("smoke", image_batch=0)


def test_one_step_moves_every_network_and_ties_only_the_first_frame_to_the_input():
    torch.manual_seed(0)
    tr = mocogan.Trainer(mocogan.default_config("smoke", videos=2))
    b = tr.sample(np.random.default_rng(0))
    assert b["video"].shape == (2, 9, 3, 64, 64) and torch.equal(b["video"][:, 0], b["neutral"])
    assert b["eps"].shape == (2, 8, 10)
    for key in ("s1_real", "s1_fake"):                                  # S_1: image_batch frames of the step's clips
        places = b[key]
        assert places.shape == (4, 2) and places[:, 0].max() < 2 and places[:, 1].max() <= 8 and places.min() >= 0
    i, t = b["s1_real"][1]
    assert torch.equal(tr._frames(b["video"], b["s1_real"])[1], b["video"][i, t])
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    out = tr.step(b)
    assert set(out) == {"d_i", "d_v", "g_i", "g_v", "r"} and all(torch.isfinite(v) for v in out.values())
    assert set(tr.nets) == {"generator", "d_image", "d_video"}
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    fake = tr.forward(b)["fake"]
    assert fake.shape == b["video"].shape
    r = tr.g_terms(b, {"fake": fake})["r"]()
    assert torch.isclose(r, (fake[:, 0] - b["neutral"]).abs().mean())


@pytest.mark.slow
def test_cli_refuses_two_expressions_in_one_line(tmp_path):
    r = i2v("train", "mocogan", "--profile", "smoke", "--expressions", "happy", "anger", "--out", tmp_path / "two")
    assert_one_line_error(r, "one model per expression")
    assert not (tmp_path / "two").exists()
