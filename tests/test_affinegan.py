"""AffineGAN: shapes, the paper's invariants (Eq. 2-5), loss terms, the generation API."""

import numpy as np
import pytest
import torch

from i2vlib import I2VError, losses
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.models import affinegan as ag
from i2vlib.nn import unet_levels, up_conv


def _net(size=64, **kw):
    torch.manual_seed(0)
    cfg = ag.default_config("smoke", image_size=size, **kw)
    return ag.AffineGenerator(cfg), cfg


@pytest.mark.parametrize("size,levels", [(64, 6), (128, 7), (256, 8)])
def test_shapes_at_every_supported_size(size, levels):
    assert unet_levels(size) == levels
    net, _ = _net(size, ngf=4)
    x = torch.rand(2, 3, size, size) * 2 - 1
    f = net.e0(x)
    assert len(f) == levels and f[-1].shape[-1] == 1 and f[0].shape[-1] == size // 2
    y = net(x, torch.tensor([0.3, 1.0]))
    assert y.shape == x.shape and y.abs().max() <= 1


@pytest.mark.parametrize("size, words", [(48, "power of two"), (100, "power of two"), (8, r"out of range: \[32, ")])
def test_unsupported_sizes_are_clear_errors(size, words):
    with pytest.raises(I2VError, match=words):
        ag.default_config("smoke", image_size=size)


def test_eq5_recovers_a_planted_intensity_exactly():
    g = torch.Generator().manual_seed(1)
    f0, fd = torch.randn(5, 300, generator=g), torch.randn(5, 300, generator=g)
    a = torch.tensor([0.0, 0.2, 0.5, 0.9, 1.7])
    ft = f0 + a[:, None] * fd                                            # Eq. 2
    assert torch.allclose(ag.intensity(f0, ft, fd, eps=0.0), a, atol=1e-5)   # Proposition 1
    # Proposition 2: it is the least-squares solution of min_a ||f_t - (f0 + a f_delta)||
    noisy = ft + 0.3 * torch.randn(ft.shape, generator=g)
    lstsq = torch.stack([torch.linalg.lstsq(fd[i][:, None], (noisy - f0)[i][:, None]).solution[0, 0]
                         for i in range(5)])
    assert torch.allclose(ag.intensity(f0, noisy, fd, eps=0.0), lstsq.abs(), atol=1e-4)
    # The public code's variant divides by the norm: the same direction, scaled by ||f_delta||
    norm = ag.intensity(f0, ft, fd, eps=0.0, denominator="norm")
    assert torch.allclose(norm, a * fd.norm(dim=1), atol=1e-3)


def test_eq5_on_network_codes_recovers_the_mixing_intensity():
    net, _ = _net()
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    f0, fd = net.e0(x), net.residual(x)
    a = torch.tensor([0.1, 0.5, 0.8])
    ft = net.mix(f0, [(a, fd)])                                          # f_t := f0 + a f_delta at every level
    assert torch.allclose(net.infer(f0, ft, fd), a, atol=1e-4)


def test_bottleneck_mixing_leaves_the_skips_alone():
    net, _ = _net(mix="bottleneck")
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    f0, fd = net.e0(x), net.residual(x)
    m = net.mix(f0, [(torch.tensor([1.0]), fd)])
    assert all(torch.equal(a, b) for a, b in zip(m[:-1], f0[:-1])) and not torch.equal(m[-1], f0[-1])


def test_loss_terms_match_hand_computation():
    real, fake = torch.tensor([[2.0], [-1.0]]), torch.tensor([[0.5], [-3.0]])
    sig = torch.sigmoid
    hand_d = (-torch.log(sig(real)) - torch.log(1 - sig(fake))).mean()
    assert torch.allclose(losses.gan_d(real, fake), hand_d)
    assert torch.allclose(losses.gan_g(fake), -torch.log(sig(fake)).mean())
    w = torch.tensor([1.0, 0.0])  # a masked-out sample (no mouth loss for close-eyes) does not count
    assert torch.allclose(losses.gan_d(real, fake, w), -torch.log(sig(real[0])) - torch.log(1 - sig(fake[0])))
    x, y = torch.zeros(2, 3), torch.ones(2, 3) * 0.5
    assert losses.l1(x, y).item() == pytest.approx(0.5)


@pytest.mark.slow
def test_one_training_step_moves_every_network_and_reports_finite_losses():
    cfg = ag.default_config("smoke", videos=2)
    torch.manual_seed(0)
    tr = ag.Trainer(cfg)
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in tr.nets.items()}
    out = tr.step(tr.sample(np.random.default_rng(0)))
    assert set(out) == set(tr.loss_names) and all(torch.isfinite(v) for v in out.values())
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k


@pytest.mark.slow
def test_detached_a_gets_no_gradient_from_the_reconstruction():
    for detach, expect in ((False, True), (True, False)):
        cfg = ag.default_config("smoke", detach_a=detach, weights={"g": 0, "l": 0, "r2": 0, "a": 0})
        torch.manual_seed(0)
        tr = ag.Trainer(cfg)
        b = tr.sample(np.random.default_rng(0))
        G = tr.nets["generator"]
        f0, fd, ft = G.e0(b["neutral"]), G.residual(b["neutral"]), G.e0(b["target"])
        a = G.infer(f0, ft, fd)
        fake = G.decoder(G.mix(f0, [(a.detach() if detach else a, fd)]))
        gt = torch.autograd.grad(losses.l1(fake, b["target"]), ft[0], allow_unused=True)[0]
        assert (gt is not None and gt.abs().sum() > 0) == expect


def _generator(**kw):
    net, cfg = _net(**kw)
    return ag.Model(net, cfg)


def test_generate_at_zero_is_the_reconstruction_path_and_shapes():
    gen = _generator()
    face = SyntheticBenchmark(64).frame(9, {"happy": 0.0})[0]
    frames = gen.generate(face, [0.0, 0.5, 1.0])
    assert frames.shape == (3, 64, 64, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames[0], gen.reconstruct(face))       # f(I, 0) = De(E0(I)), Eq. 3
    t = gen.generate(face, [0.25], as_tensor=True)
    assert t.shape == (1, 3, 64, 64) and t.dtype == torch.float32
    # a dict with the model's one expression is the same call
    assert np.array_equal(gen.generate(face, {"happy": [0.0, 0.5, 1.0]}), frames)
    # with face="whole", non-square images are centre-cropped, other sizes resized (a photo's face is found otherwise)
    big = np.zeros((100, 140, 3), np.uint8)
    assert gen.generate(big, [0.5], face="whole").shape == (1, 64, 64, 3)


@pytest.mark.slow
def test_generate_caches_the_encoder_features():
    gen = _generator()
    face = SyntheticBenchmark(64).frame(19, {"happy": 0.0})[0]
    calls = []
    encode = gen._encode
    gen._encode = lambda *a: calls.append(1) or encode(*a)
    for a in (0.1, 0.2, 0.3):
        gen.generate(face, [a])
    assert len(calls) == 1


@pytest.mark.parametrize("intensities,words", [
    ([], "no intensities"), ([0.5, float("nan")], "NaN"), ([-0.1, 0.5], r"\[0, 1\]"), ([1.5], r"\[0, 1\]"),
    ("abc", "numbers"), ({"anger": [0.5]}, "cannot render"), ({}, "empty"),
])
def test_bad_intensities_are_clear_errors(intensities, words):
    gen = _generator()
    with pytest.raises(I2VError, match=words):
        gen.generate(np.zeros((64, 64, 3), np.uint8), intensities)


@pytest.mark.slow
def test_multi_expression_model_needs_and_mixes_expressions():
    gen = _generator(expressions=["happy", "surprise"])
    face = SyntheticBenchmark(64).frame(29, {"happy": 0.0})[0]
    with pytest.raises(I2VError, match="several expressions"):
        gen.generate(face, [0.5])
    h = gen.generate(face, [0.7], expression="happy", as_tensor=True)
    mix = gen.generate(face, {"happy": [0.7], "surprise": [0.0]}, as_tensor=True)
    assert torch.allclose(h, mix, atol=1e-6)                      # a zero weight adds nothing
    both = gen.generate(face, {"happy": [0.7], "surprise": [0.7]}, as_tensor=True)
    assert not torch.allclose(h, both)
    assert gen.generate(face, [0.0], expression="surprise").shape == (1, 64, 64, 3)


def test_unknown_options_are_clear_errors():
    with pytest.raises(I2VError, match="unknown affinegan option"):
        ag.default_config("smoke", colour="red")
    with pytest.raises(I2VError, match="mix="):
        ag.default_config("smoke", mix="sometimes")
    with pytest.raises(I2VError, match="unknown expression"):
        ag.default_config("smoke", expressions=["smirk"])


@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
def test_resize_then_convolve_has_no_period_two_pattern(upsample):
    """A transposed 4x4 stride-2 convolution gives the four output phases different kernel taps, so a constant
    input comes out as a checkerboard; resizing first and convolving after gives every pixel the same taps."""
    torch.manual_seed(0)
    x = torch.ones(1, 4, 8, 8)
    with torch.no_grad():
        smooth = up_conv(4, 2, upsample)(x)[..., 2:-2, 2:-2]
        grid = up_conv(4, 2, "transposed")(x)[..., 2:-2, 2:-2]
    assert smooth.std(dim=(-2, -1)).max() < 1e-6
    assert grid.std(dim=(-2, -1)).min() > 1e-3


def test_the_upsampling_option_builds_the_decoder_it_names():
    cfg = ag.default_config("smoke", upsample="bilinear")
    g = ag.AffineGenerator(cfg)
    assert any(isinstance(m, torch.nn.Upsample) and m.mode == "bilinear" for m in g.decoder.modules())
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in g.decoder.modules())
    with pytest.raises(I2VError, match="upsample"):
        ag.default_config("smoke", upsample="pixelshuffle")


def test_a_wider_e_delta_maps_back_to_e0s_channels_and_leaves_neutral_configs_alone():
    from i2vlib.config import config_hash
    net, cfg = _net(delta_width=2)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    f0, fd = net.e0(x), net.residual(x)
    assert [f.shape for f in fd] == [f.shape for f in f0]
    assert net.e_delta.channels == [2 * c for c in net.e0.channels]
    assert net(x, torch.tensor([0.0, 0.0])).shape == x.shape
    assert config_hash(ag.default_config("smoke", delta_width=1)) == config_hash(ag.default_config("smoke"))
    with pytest.raises(I2VError, match="delta_width"):
        ag.default_config("smoke", delta_width=3)


def test_the_eyes_region_gives_eye_expressions_a_local_loss_on_the_eyes():
    cfg = ag.default_config("smoke", videos=2, expressions=["close-eyes"], local_region="eyes")
    tr = ag.Trainer(cfg)
    b = tr.sample(np.random.default_rng(0))
    out = tr.forward(b)
    assert out["local"].min() == 1.0       # the mouth region would give close-eyes none (§4)
    assert b["mask"].sum() > 0                 # and the mask lies in the upper half of the face
    rows = b["mask"][:, 0].sum(2).nonzero()[:, 1].float()
    assert rows.mean() < cfg["image_size"] / 2
    mouth = ag.Trainer(ag.default_config("smoke", videos=2, expressions=["close-eyes"]))
    assert mouth.forward(mouth.sample(np.random.default_rng(0)))["local"].max() == 0.0
