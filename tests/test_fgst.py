"""FGST, the flow-grounded baseline of AffineGAN §4.1.1: OpenCV's flows, warping, the 3D-cVAE and the flow-to-frame
synthesis, the config, one step, the fixed clip through the one API, the CLI and the export."""

import re
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from i2vlib import I2VError
from i2vlib.data.clips import from_tensor, to_tensor
from i2vlib.models import fgst

from test_cli import assert_one_line_error, i2v


def texture(size=64, seed=0):
    """A smooth random RGB texture (size x size x 3 uint8): every interior pixel has a gradient to follow."""
    noise = torch.from_numpy(np.random.default_rng(seed).random((1, 3, size // 4, size // 4), dtype=np.float32))
    img = F.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    return (img[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.mark.parametrize("k", [2, 3])
def test_the_farneback_flow_of_a_shifted_image_points_back_by_the_shift(k):
    ref = texture()
    moved = np.roll(ref, k, axis=1)                          # moved(p) = ref(p - k): content k pixels to the right
    flow = fgst.optical_flow(moved[None], ref)
    assert flow.shape == (1, 2, 64, 64) and flow.dtype == np.float32
    inner = flow[0, :, 12:-12, 12:-12]                       # away from the border that np.roll wraps around
    assert abs(np.median(inner[0]) + k) < 0.2 and abs(np.median(inner[1])) < 0.2
    assert np.mean(np.abs(inner[0] + k) < 0.5) > 0.9


def test_warping_by_no_flow_is_the_identity_and_by_a_shift_moves_the_image():
    img = to_tensor(texture())[None]
    zero = torch.zeros(1, 2, 64, 64)
    assert torch.allclose(fgst.warp(img, zero), img, atol=1e-5)
    shift = zero.clone()
    shift[:, 0] = -3                                         # out(p) = img(p - 3): the image 3 pixels to the right
    assert torch.allclose(fgst.warp(img, shift)[..., 3:], img[..., :-3], atol=1e-5)
    assert torch.allclose(fgst.warp(img, shift)[..., :3], img[..., :1].expand(-1, -1, -1, 3), atol=1e-5)   # the border
    ref, moved = texture(seed=1), np.roll(texture(seed=1), 2, axis=0)   # OpenCV's flow moves the input onto the frame
    back = fgst.warp(to_tensor(ref)[None], torch.from_numpy(fgst.optical_flow(moved[None], ref)))
    assert np.abs(from_tensor(back[0]).astype(int) - moved)[12:-12, 12:-12].mean() < 3


def test_the_flows_need_opencv_and_say_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(I2VError, match=re.escape("pip install 'i2vlib[flow]'")) as e:
        fgst.optical_flow(texture()[None], texture())
    assert "\n" not in str(e.value)


def test_kl_divergence_on_hand_cases():
    zero = torch.zeros(3, 4)
    assert fgst.kl_divergence(zero, zero) == 0                         # q is the prior
    mu = zero.clone()
    mu[:, 0] = 1
    assert torch.isclose(fgst.kl_divergence(mu, zero), torch.tensor(0.5))
    var2 = torch.full((3, 4), float(np.log(2)))                        # s^2 = 2: 4 x (2 - 1 - log 2) / 2 per clip
    assert torch.isclose(fgst.kl_divergence(zero, var2), torch.tensor(2 * (1 - float(np.log(2)))))


@pytest.mark.parametrize("size, ngf, length", [(64, 8, 8), (32, 4, 3)])
def test_the_3d_cvae_and_the_synthesis_have_their_shapes(size, ngf, length):
    torch.manual_seed(0)
    net = fgst.FGSTGenerator(fgst.default_config("smoke", image_size=size, ngf=ngf, length=length, z_dim=5,
                                                 frames=[length + 1, length + 2]))
    x = torch.rand(2, 3, size, size) * 2 - 1
    flows = torch.randn(2, length, 2, size, size)
    mu, logvar = net.predictor.posterior(x, flows)
    assert mu.shape == logvar.shape == (2, 5)
    predicted = net.predictor(x, mu)
    assert predicted.shape == (2, length, 2, size, size)
    frames, mask, warped = net.renderer(x, flows)
    assert frames.shape == warped.shape == (2, length, 3, size, size) and mask.shape == (2, length, 1, size, size)
    assert 0 <= mask.min() and mask.max() <= 1 and frames.abs().max() <= 1
    assert torch.allclose(warped[:, 1], fgst.warp(x, flows[:, 1]))
    r = net.renderer.decoder(net.renderer.encoder(torch.cat([x, warped[:, 1], flows[:, 1]], 1)))[:, :3]
    assert torch.allclose(frames[:, 1], mask[:, 1] * warped[:, 1] + (1 - mask[:, 1]) * r, atol=1e-6)
    clip = net(x)                                            # generation: z = 0, the prior's mean
    assert torch.allclose(clip, net.renderer(x, net.predictor(x, torch.zeros(2, 5)))[0], atol=1e-6)


def test_config_follows_the_papers_and_refuses_the_rest():
    cfg = fgst.default_config("smoke")
    assert cfg["length"] == 8 and cfg["z_dim"] == 16 and cfg["expressions"] == ["happy"]
    assert cfg["weights"] == {"flow": 1.0, "kl": 0.01, "rec": 10.0, "gan": 1.0}
    paper = fgst.default_config("paper")
    assert set(fgst.STATED) | set(fgst.UNSTATED) <= set(paper) and not set(fgst.STATED) & set(fgst.UNSTATED)
    with pytest.raises(I2VError, match="one model per expression"):
        fgst.default_config("smoke", expressions=["happy", "surprise"])
    with pytest.raises(I2VError, match="at least 9 frames"):
        fgst.default_config("smoke", frames=[6, 8])
    with pytest.raises(I2VError, match="length=0 is out of range"):
        fgst.default_config("smoke", length=0)
    for z in (0, 1.5, "8", True):
        with pytest.raises(I2VError, match=re.escape("z_dim (the 3D-cVAE's code size) must be an integer")):
            fgst.default_config("smoke", z_dim=z)
    with pytest.raises(I2VError, match="unknown fgst loss weight"):
        fgst.default_config("smoke", weights={"l1": 1.0})


def test_one_step_moves_every_network_and_each_phase_learns_from_its_own_terms():
    torch.manual_seed(0)
    tr = fgst.Trainer(fgst.default_config("smoke", videos=2))
    b = tr.sample(np.random.default_rng(0))
    assert b["flow"].shape == (2, 8, 2, 64, 64) and b["eps"].shape == (2, 16)
    flow = fgst.optical_flow(from_tensor(b["target"][1]), from_tensor(b["neutral"][1]))
    assert np.allclose(b["flow"][1].numpy(), flow)            # each frame's Farneback flow back to the input
    g = tr.nets["generator"]
    parts = {"predictor": g.predictor, "renderer": g.renderer, "d_video": tr.nets["d_video"]}
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in parts.items()}
    out = tr.step(b)
    assert set(out) == {"d_v", "g_v", "rec", "flow", "kl"} and all(torch.isfinite(v) for v in out.values())
    for k, net in parts.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    res = tr.forward(b)
    terms = tr.g_terms(b, res)
    assert torch.isclose(terms["flow"](), (res["flow"] - b["flow"]).abs().mean())
    assert torch.isclose(terms["rec"](), (res["fake"] - b["target"]).abs().mean())
    for term, learner, other in (("flow", g.predictor, g.renderer), ("kl", g.predictor, g.renderer),
                                 ("rec", g.renderer, g.predictor)):
        g.zero_grad(set_to_none=True)
        tr.g_terms(b, tr.forward(b))[term]().backward()
        assert any(p.grad is not None for p in learner.parameters()), term
        assert all(p.grad is None for p in other.parameters()), term


def test_cli_refuses_a_motion_code_of_no_size_in_one_line(tmp_path):
    r = i2v("train", "fgst", "--profile", "smoke", "--set", "z_dim=0", "--out", tmp_path / "bad", "--quiet")
    assert_one_line_error(r, "z_dim")
    assert not (tmp_path / "bad").exists()
