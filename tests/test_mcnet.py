"""MCNet, the motion-content baseline of FRGAN §4.2: its encoders, one prediction, the autoregressive clip from one
frame, the config, one step, the fixed clip through the one API, the CLI and the export (the gradient difference
loss, now :func:`i2vlib.losses.gdl`, is tested with Mathieu et al., who introduced it: tests/test_mathieu.py)."""

import numpy as np
import pytest
import torch

from i2vlib import I2VError, losses
from i2vlib.models import mcnet


@pytest.mark.parametrize("size, ngf, length", [(64, 8, 8), (32, 4, 3)])
def test_the_encoders_one_step_and_the_clip_have_their_shapes(size, ngf, length):
    torch.manual_seed(0)
    net = mcnet.MCNetGenerator(mcnet.default_config("smoke", image_size=size, ngf=ngf, length=length,
                                                    frames=[length + 1, length + 2]))
    x = torch.rand(2, 3, size, size) * 2 - 1
    d, res_d, state = net.motion(x - x.flip(0))
    s, res_s = net.content(x)
    assert d.shape == s.shape == (2, 4 * ngf, size // 8, size // 8) and state[1].shape == d.shape
    for level, (a, b) in enumerate(zip(res_d, res_s)):      # the residuals' features before each pooling
        assert a.shape == b.shape == (2, ngf * 2 ** level, size // 2 ** level, size // 2 ** level)
    x1, state = net.step(x, torch.zeros_like(x))
    assert x1.shape == x.shape and x1.abs().max() <= 1
    clip = net(x)
    assert clip.shape == (2, length, 3, size, size) and torch.allclose(clip[:, 0], x1, atol=1e-6)


def test_the_clip_is_predicted_from_its_own_last_frame_and_last_difference():
    torch.manual_seed(0)
    net = mcnet.MCNetGenerator(mcnet.default_config("smoke", length=3, frames=[4, 6])).eval()
    i0 = torch.rand(1, 3, 64, 64) * 2 - 1
    x1, state = net.step(i0, torch.zeros_like(i0))           # the first difference is zero
    x2, state = net.step(x1, x1 - i0, state)
    x3, _ = net.step(x2, x2 - x1, state)
    assert torch.allclose(net(i0), torch.stack([x1, x2, x3], 1), atol=1e-6)


def test_unpooling_puts_each_value_top_left_of_its_cell():
    x = torch.arange(4.0).view(1, 1, 2, 2)
    assert torch.equal(mcnet.unpool(x)[0, 0], torch.tensor([[0, 0, 1, 0], [0, 0, 0, 0], [2, 0, 3, 0], [0, 0, 0, 0.]]))


def test_config_follows_the_papers_and_refuses_the_rest():
    cfg = mcnet.default_config("smoke")
    assert cfg["length"] == 8 and cfg["weights"] == {"p": 1.0, "gdl": 1.0, "gan": 0.02}
    assert cfg["expressions"] == ["happy"]
    paper = mcnet.default_config("paper")
    assert (paper["image_size"], paper["batch"], paper["lr"], paper["betas"]) == (128, 8, 1e-4, [0.5, 0.999])
    assert set(mcnet.STATED) | set(mcnet.UNSTATED) <= set(paper) and not set(mcnet.STATED) & set(mcnet.UNSTATED)
    with pytest.raises(I2VError, match="one model per expression"):
        mcnet.default_config("smoke", expressions=["happy", "surprise"])
    with pytest.raises(I2VError, match="at least 9 frames"):
        mcnet.default_config("smoke", frames=[6, 8])
    with pytest.raises(I2VError, match="length=0 is out of range"):
        mcnet.default_config("smoke", length=0)
    with pytest.raises(I2VError, match="unknown mcnet loss weight"):
        mcnet.default_config("smoke", weights={"l1": 1.0})


@pytest.mark.slow
def test_one_step_moves_every_network_and_the_loss_terms_are_the_papers():
    torch.manual_seed(0)
    tr = mcnet.Trainer(mcnet.default_config("smoke", videos=2))
    b = tr.sample(np.random.default_rng(0))
    assert b["neutral"].shape == (2, 3, 64, 64) and b["target"].shape == (2, 8, 3, 64, 64)
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    out = tr.step(b)
    assert set(out) == {"d", "gan", "p", "gdl"} and all(torch.isfinite(v) for v in out.values())
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    fake = tr.forward(b)["fake"]
    terms = tr.g_terms(b, {"fake": fake})
    assert torch.isclose(terms["p"](), ((fake - b["target"]) ** 2).mean())
    assert torch.isclose(terms["gdl"](), losses.gdl((fake + 1) / 2, (b["target"] + 1) / 2))
    assert tr.nets["d_seq"].net[0].in_channels == 27          # D sees the input and the 8 frames, stacked
