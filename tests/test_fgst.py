"""FGST, the flow-grounded baseline of AffineGAN §4.1.1, as its authors released it and as the book first designed
it: OpenCV's flows (consecutive and cumulative), warping, the two 3D-cVAEs and syntheses, the recursive rendering,
the sampled code, the perceptual loss and its features, the configs and their hashes (and the records'), one step of
each design, the CLI."""

import hashlib
import json
import re
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from i2vlib import I2VError
from i2vlib.config import config_hash
from i2vlib.data.clips import from_tensor, to_tensor
from i2vlib.instruments import get_instrument
from i2vlib.models import fgst, fgst_parts, full_config, perceptual
from i2vlib.records import store

from test_cli import assert_one_line_error, i2v, i2v_here

# The hashes of the book design's configs before ``design`` existed (its records' keys: fgst-8f5f1478e27c is the
# Baselines chapter's seed 0), and its generator's state-dict layout then (names and shapes, smoke profile).
OLD_HASHES = {"book": "8f5f1478e27c", "smoke": "04fa30706f07", "paper": "a61e70332253"}
OLD_LAYOUT = "bee8a19802d8"
BOOK_KEYS = {"method", "profile", "image_size", "data", "seed", "expressions", "train_curves", "jitter", "augment",
             "norm", "betas", "decay_from", "critic_steps", "d_layers", "ema", "lr_d", "spectral_norm", "steps",
             "batch", "ngf", "ndf", "videos", "frames", "checkpoint_every", "lr", "length", "z_dim", "weights"}


def texture(size=64, seed=0):
    """A smooth random RGB texture (size x size x 3 uint8): every interior pixel has a gradient to follow."""
    noise = torch.from_numpy(np.random.default_rng(seed).random((1, 3, size // 4, size // 4), dtype=np.float32))
    img = F.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    return (img[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def layout(net: torch.nn.Module) -> str:
    return hashlib.sha1(repr([(k, tuple(v.shape)) for k, v in net.state_dict().items()]).encode()).hexdigest()[:12]


# ------------------------------------------------------------------------------------------------- flows
@pytest.mark.parametrize("k", [2, 3])
def test_the_farneback_flow_of_a_shifted_image_points_back_by_the_shift(k):
    ref = texture()
    moved = np.roll(ref, k, axis=1)                          # moved(p) = ref(p - k): content k pixels to the right
    flow = fgst_parts.optical_flow(moved[None], ref)
    assert flow.shape == (1, 2, 64, 64) and flow.dtype == np.float32
    inner = flow[0, :, 12:-12, 12:-12]                       # away from the border that np.roll wraps around
    assert abs(np.median(inner[0]) + k) < 0.2 and abs(np.median(inner[1])) < 0.2
    assert np.mean(np.abs(inner[0] + k) < 0.5) > 0.9


def test_warping_by_no_flow_is_the_identity_and_by_a_shift_moves_the_image():
    img = to_tensor(texture())[None]
    zero = torch.zeros(1, 2, 64, 64)
    assert torch.allclose(fgst_parts.warp(img, zero), img, atol=1e-5)
    shift = zero.clone()
    shift[:, 0] = -3                                         # out(p) = img(p - 3): the image 3 pixels to the right
    assert torch.allclose(fgst_parts.warp(img, shift)[..., 3:], img[..., :-3], atol=1e-5)
    assert torch.allclose(fgst_parts.warp(img, shift)[..., :3], img[..., :1].expand(-1, -1, -1, 3),
                          atol=1e-5)                         # the border
    ref, moved = texture(seed=1), np.roll(texture(seed=1), 2, axis=0)   # OpenCV's flow moves the input onto the frame
    back = fgst_parts.warp(to_tensor(ref)[None], torch.from_numpy(fgst_parts.optical_flow(moved[None], ref)))
    assert np.abs(from_tensor(back[0]).astype(int) - moved)[12:-12, 12:-12].mean() < 3


def test_consecutive_flows_go_frame_to_frame_and_compose_to_the_clip():
    ref = texture(seed=2)
    clip = np.stack([np.roll(ref, (t, 2 * t), axis=(0, 1)) for t in range(4)])   # down 1 and right 2 px a frame
    flows = fgst_parts.consecutive_flows(clip)
    assert flows.shape == (3, 2, 64, 64) and flows.dtype == np.float32
    inner = flows[:, :, 12:-12, 12:-12]
    assert np.allclose(np.median(inner[:, 0], axis=(1, 2)), -2, atol=0.2)       # each step's, not the cumulative
    assert np.allclose(np.median(inner[:, 1], axis=(1, 2)), -1, atol=0.2)
    assert np.allclose(flows[1], fgst_parts.optical_flow(clip[2][None], clip[1])[0])
    x, err = to_tensor(clip[0])[None], []
    for t, f in enumerate(flows, 1):                          # warping frame by frame reaches each frame
        x = fgst_parts.warp(x, torch.from_numpy(f)[None])
        err.append(np.abs(from_tensor(x[0]).astype(int) - clip[t])[16:-16, 16:-16].mean())
    held = np.abs(clip[0].astype(int) - clip[3])[16:-16, 16:-16].mean()
    assert max(err) < 4 < held


def test_the_flows_need_opencv_and_say_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(I2VError, match=re.escape("pip install 'i2vlib[flow]'")) as e:
        fgst_parts.optical_flow(texture()[None], texture())
    assert "\n" not in str(e.value)


def test_kl_divergence_on_hand_cases():
    zero = torch.zeros(3, 4)
    assert fgst_parts.kl_divergence(zero, zero) == 0                   # q is the prior
    mu = zero.clone()
    mu[:, 0] = 1
    assert torch.isclose(fgst_parts.kl_divergence(mu, zero), torch.tensor(0.5))
    var2 = torch.full((3, 4), float(np.log(2)))                        # s^2 = 2: 4 x (2 - 1 - log 2) / 2 per clip
    assert torch.isclose(fgst_parts.kl_divergence(zero, var2), torch.tensor(2 * (1 - float(np.log(2)))))


# ------------------------------------------------------------------------------------ the released design
def test_the_released_stages_follow_the_128_px_networks():
    assert fgst_parts.stage_widths(128) == [1, 1, 2, 4, 8] and fgst_parts.stage_widths(64) == [1, 2, 4, 8]
    assert fgst_parts.stage_widths(256) == [1, 1, 1, 2, 4, 8] and fgst_parts.stage_widths(32) == [2, 4, 8]
    assert fgst_parts.time_halvings(16, 5) == (3, 2)                   # 16 flows: three pools
    assert fgst_parts.time_halvings(8, 4) == (2, 2)
    assert fgst_parts.time_halvings(3, 4) == (0, 3) and fgst_parts.time_halvings(8, 1) == (1, 4)
    assert fgst_parts.flow_bound(128) == 5 and fgst_parts.flow_bound(64) == 2.5
    net = fgst_parts.MultiFlowCVAE(fgst.default_config("paper", ngf=4, z_dim=7, length=16, frames=[17, 32]))
    pools = [m.kernel_size for m in net.q if isinstance(m, torch.nn.MaxPool3d)]
    assert pools == [(1, 2, 2), (1, 2, 2), (2, 2, 2), (2, 2, 2), (2, 2, 2)]       # VolEncoder's, at 128 px
    assert [m.out_channels for m in net.q if isinstance(m, torch.nn.Conv3d)] == [4, 4, 8, 16, 32, 14]
    ups = [(m.kernel_size, m.out_channels) for m in net.decoder if isinstance(m, torch.nn.ConvTranspose3d)]
    assert ups == [((2, 4, 4), 32), ((4, 4, 4), 16), ((4, 4, 4), 8), ((4, 4, 4), 4), ((3, 4, 4), 4),
                   ((3, 4, 4), 2)]                                                 # VolDecoder's


@pytest.mark.parametrize("size, ngf, length", [(64, 4, 8), (32, 2, 3)])
@pytest.mark.slow
def test_the_released_3d_cvae_has_its_shapes_and_bounds_its_flows(size, ngf, length):
    torch.manual_seed(0)
    cfg = fgst.default_config("smoke", image_size=size, ngf=ngf, length=length, z_dim=5, frames=[length + 1, 12])
    net = fgst_parts.MultiFlowCVAE(cfg)
    x = torch.rand(2, 3, size, size) * 2 - 1
    mu, logvar = net.posterior(x, torch.randn(2, length, 2, size, size))
    assert mu.shape == logvar.shape == (2, 5)
    flows = net(x, 3 * torch.randn(2, 5))
    assert flows.shape == (2, length, 2, size, size) and flows.abs().max() < fgst_parts.flow_bound(size)
    e = net.image(x).flatten(1)                               # the code modulated by z: e + e z
    z = torch.randn(2, 5)
    assert torch.allclose(net(x, z), net.bound * net.decoder((e + e * z)[:, :, None, None, None]).transpose(1, 2))
    assert torch.allclose(net(x, torch.zeros(2, 5)), net(x, torch.zeros(2, 5)))


@pytest.mark.slow
def test_flow2rgb_warps_its_own_previous_frame_recursively():
    torch.manual_seed(0)
    g = fgst_parts.FGSTGenerator(fgst.default_config("smoke", image_size=32, ngf=2, z_dim=3, length=3, frames=[4, 6]))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    flows = torch.randn(2, 3, 2, 32, 32)
    r = g.renderer
    clip = r.roll(x, flows)
    assert clip.shape == (2, 3, 3, 32, 32)
    assert torch.allclose(clip[:, 0], r(x, flows[:, 0]), atol=1e-6)
    for t in (1, 2):                                          # frame t from frame t - 1
        assert torch.allclose(clip[:, t], r(clip[:, t - 1], flows[:, t]), atol=1e-6)
    warped = fgst_parts.warp(clip[:, 0], flows[:, 1])         # G(W, F) = Dec([C(warp(I^_0, F_1)), P(F_1)])
    assert torch.allclose(clip[:, 1], r.decoder(torch.cat([r.content(warped), r.motion(flows[:, 1])], 1)), atol=1e-6)
    r.forward = lambda frame, flow: fgst_parts.warp(frame, flow) + 0.1  # a step whose output shows its input
    chained = r.roll(x, flows)
    by_hand = x
    for t in range(3):
        by_hand = fgst_parts.warp(by_hand, flows[:, t]) + 0.1
        assert torch.allclose(chained[:, t], by_hand, atol=1e-6)
    assert not torch.allclose(chained[:, 2], fgst_parts.warp(x, flows[:, 2]) + 0.1, atol=1e-2)  # not the input warped
    other = flows.clone()
    other[:, 0] = torch.randn(2, 2, 32, 32)                   # the first flow reaches every later frame
    assert not torch.allclose(r.roll(x, other)[:, 2], chained[:, 2], atol=1e-2)


@pytest.mark.slow
def test_generation_samples_z_from_the_prior_with_the_configs_seed():
    cfg = fgst.default_config("smoke", image_size=32, ngf=2, z_dim=6, length=3, frames=[4, 6])
    torch.manual_seed(0)
    g = fgst_parts.FGSTGenerator(cfg).eval()
    drawn = torch.randn(1, 6, generator=torch.Generator().manual_seed(cfg["seed"]))
    assert torch.equal(g.z, drawn) and "z" not in g.state_dict()        # rebuilt from the config, not stored
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(g(x), g.renderer.roll(x, g.predictor(x, drawn)))
        assert torch.equal(g(x), g(x))                                   # one clip per face
    torch.manual_seed(1)
    assert torch.equal(fgst_parts.FGSTGenerator(cfg).z, g.z)             # whatever the global generator's state
    assert not torch.equal(fgst_parts.FGSTGenerator({**cfg, "seed": 1}).z, g.z)


@pytest.mark.slow
@pytest.mark.parametrize("net", fgst_parts.PERCEPTUAL_NETS)
def test_the_perceptual_loss_reads_its_trunk_and_leaves_it_alone(net):
    p = fgst_parts.Perceptual.load(net)
    trunk = perceptual.load() if net == "own" else get_instrument("synthetic").nets["identity"].features
    real = to_tensor(texture(seed=3))[None]
    fake = (real + 0.2 * torch.randn_like(real)).clamp(-1, 1).requires_grad_(True)
    assert p(real, real) == 0
    loss = p(fake, real)
    by_hand, a, b = 0.0, fake, real
    for stage in range(4):                                    # the outputs of its four stages, 6 layers each
        a, b = trunk[6 * stage:6 * stage + 6](a), trunk[6 * stage:6 * stage + 6](b)
        by_hand = by_hand + F.mse_loss(a, b)
    assert torch.isclose(loss, by_hand) and loss > 0
    loss.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(q.grad is None for q in trunk.parameters()) and not any(q.requires_grad for q in p.parameters())
    big = F.interpolate(fake.detach(), size=(128, 128), mode="bilinear", align_corners=False)
    assert p(big, F.interpolate(real, size=(128, 128), mode="bilinear", align_corners=False)) > 0   # 64 px first


def test_fgsts_own_features_are_not_the_identity_instruments():
    own, instrument = fgst_parts.Perceptual.load("own"), fgst_parts.Perceptual.load("instrument")
    assert [tuple(v.shape) for v in own.state_dict().values()] == [tuple(v.shape) for v in
                                                                   instrument.state_dict().values()]
    assert not any(torch.equal(a, b) for a, b in zip(own.parameters(), instrument.parameters()))
    x = to_tensor(texture(seed=4))[None]
    assert not torch.allclose(own.features(x)[-1], instrument.features(x)[-1], atol=1e-2)
    with pytest.raises(I2VError, match=re.escape("perceptual features 'vgg'; choose one of own, instrument")):
        fgst_parts.Perceptual.load("vgg")


# ----------------------------------------------------------------------------------------------- configs
def test_config_follows_the_released_code_and_refuses_the_rest():
    cfg = fgst.default_config("smoke")
    assert cfg["design"] == "released" and cfg["length"] == 8 and cfg["expressions"] == ["happy"]
    assert cfg["weights"] == {"flow": 1.0, "kl": 0.1, "mse": 1.0, "perceptual": 1.0}
    book = fgst.default_config("book")
    assert (book["z_dim"], book["lr"], book["lr_flow"], book["batch"]) == (500, 5e-4, 1e-4, 4)
    assert (book["betas"], book["decay_from"], book["norm"]) == ([0.9, 0.999], 1.0, "batch")
    paper = fgst.default_config("paper")
    assert (paper["image_size"], paper["ngf"], paper["z_dim"], paper["lr"], paper["lr_flow"]) == (128, 64, 2000, 1e-4,
                                                                                                   2e-5)
    assert set(fgst.STATED) | set(fgst.UNSTATED) <= set(paper) and not set(fgst.STATED) & set(fgst.UNSTATED)
    with pytest.raises(I2VError, match="one model per expression"):
        fgst.default_config("smoke", expressions=["happy", "surprise"])
    with pytest.raises(I2VError, match="at least 9 frames"):
        fgst.default_config("smoke", frames=[6, 8])
    with pytest.raises(I2VError, match="length=0 is out of range"):
        fgst.default_config("smoke", length=0)
    for z in (0, 1.5, "8", True, 5000):
        with pytest.raises(I2VError, match=re.escape("z_dim (the 3D-cVAE's code size) must be an integer")):
            fgst.default_config("smoke", z_dim=z)
    for lr in (0, 2, "fast"):
        with pytest.raises(I2VError, match=re.escape("lr_flow (the 3D-cVAE's learning rate) must be a number")):
            fgst.default_config("smoke", lr_flow=lr)
    with pytest.raises(I2VError, match="unknown fgst loss weight"):
        fgst.default_config("smoke", weights={"l1": 1.0})
    with pytest.raises(I2VError, match=re.escape("design='vae'; choose one of released, book")):
        fgst.default_config("smoke", design="vae")
    with pytest.raises(I2VError, match="unknown fgst option 'lr_flow'"):
        fgst.default_config("smoke", design="book", lr_flow=1e-4)
    with pytest.raises(I2VError, match=re.escape("perceptual_net='vgg'; choose one of own, instrument")):
        fgst.default_config("smoke", perceptual_net="vgg")
    with pytest.raises(I2VError, match="unknown fgst option 'perceptual_net'"):
        fgst.default_config("smoke", design="book", perceptual_net="own")


@pytest.mark.parametrize("profile", ["smoke", "book", "paper"])
def test_fgst_trains_on_its_own_features_and_the_instruments_are_the_old_hash(profile):
    cfg = fgst.default_config(profile, seed=3, steps=7)
    assert cfg["perceptual_net"] == "own"
    old = fgst.default_config(profile, seed=3, steps=7, perceptual_net="instrument")
    assert config_hash(old) == config_hash({k: v for k, v in old.items() if k != "perceptual_net"}) != config_hash(cfg)
    saved = {k: v for k, v in old.items() if k != "perceptual_net"}       # a config saved before the option
    assert full_config(saved) == old
    assert full_config(cfg) == cfg and full_config(old) == old
    partial = {k: v for k, v in saved.items() if k != "lr_flow"}           # not a saved config: FGST's own features
    assert full_config(partial)["perceptual_net"] == "own"


def test_every_fgst_record_still_hashes_to_its_key():
    """FGST's records made before ``perceptual_net`` existed (with the identity instrument's features) store no
    ``perceptual_net``: each stored config hashes to its key, as stored and as read back (read as the instrument's
    features); with FGST's own features it would hash differently. Records made after it (the confirmatory round's,
    on FGST's own features) store it, and hash to their key as stored."""
    records = {k: r["config"] for k, r in store.read().items() if k.startswith("fgst-")}
    own = {k: c for k, c in records.items() if "perceptual_net" in c}
    released = [k for k, c in records.items() if c.get("design") == "released" and k not in own]
    assert records and released
    for key, cfg in records.items():
        head, _, args = key.partition("?")
        wanted, measure = head.split("/")[0].removeprefix("fgst-"), head.split("/")[1].split("@")[0]
        full = full_config(cfg)
        assert config_hash(cfg) == config_hash(full) == wanted, key
        assert store.key(cfg, measure, **(json.loads(args) if args else {})) == key
        if key in own:
            assert cfg["perceptual_net"] == "own", key
        elif key in released:
            assert full["perceptual_net"] == "instrument", key
            assert config_hash({**full, "perceptual_net": "own"}) != wanted, key
        else:
            assert "perceptual_net" not in full, key


@pytest.mark.parametrize("profile", OLD_HASHES)
def test_the_book_variant_is_the_old_config_with_its_old_hash(profile):
    cfg = fgst.default_config(profile, design="book")
    assert set(cfg) == BOOK_KEYS | {"design"} and cfg["design"] == "book"
    assert cfg["weights"] == {"flow": 1.0, "kl": 0.01, "rec": 10.0, "gan": 1.0} and cfg["z_dim"] == 16
    assert config_hash(cfg) == OLD_HASHES[profile] != config_hash(fgst.default_config(profile))
    old = {k: v for k, v in cfg.items() if k != "design"}     # as the old records store it: read as the book's
    assert full_config(old) == cfg and config_hash(full_config(old)) == OLD_HASHES[profile]
    assert config_hash(fgst.default_config(profile, design="book", seed=1)) != OLD_HASHES[profile]


@pytest.mark.slow
def test_the_book_variant_builds_the_old_networks():
    torch.manual_seed(0)
    tr = fgst.Trainer(fgst.default_config("smoke", design="book"))
    assert layout(tr.nets["generator"]) == OLD_LAYOUT and set(tr.nets) == {"generator", "d_video"}
    g = tr.nets["generator"]
    assert isinstance(g, fgst_parts.BookGenerator) and isinstance(fgst.generator(tr.cfg), fgst_parts.BookGenerator)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    flows = torch.randn(2, 8, 2, 64, 64)
    frames, mask, warped = g.renderer(x, flows)
    for t in (0, 5):                                          # the input warped directly, whatever came before
        assert torch.allclose(warped[:, t], fgst_parts.warp(x, flows[:, t]))
    r = g.renderer.decoder(g.renderer.encoder(torch.cat([x, warped[:, 1], flows[:, 1]], 1)))[:, :3]
    assert torch.allclose(frames[:, 1], mask[:, 1] * warped[:, 1] + (1 - mask[:, 1]) * r, atol=1e-6)
    with torch.no_grad():                                     # generation at z = 0, the prior's mean
        assert torch.allclose(g(x), g.renderer(x, g.predictor(x, torch.zeros(2, 16)))[0], atol=1e-6)


# ------------------------------------------------------------------------------------------ training steps
@pytest.mark.slow
def test_one_released_step_trains_each_phase_on_its_own_terms_at_its_own_rate():
    torch.manual_seed(0)
    tr = fgst.Trainer(fgst.default_config("smoke", videos=2))
    assert set(tr.nets) == {"generator"} and not tr.critics and set(tr.optimizers) == {"g"}
    g = tr.nets["generator"]
    groups = tr.optimizers["g"].param_groups
    assert [pg["lr"] for pg in groups] == [tr.cfg["lr_flow"], tr.cfg["lr"]] and groups[0]["betas"] == (0.9, 0.999)
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in g.predictor.parameters()}
    b = tr.sample(np.random.default_rng(0))
    assert b["flow"].shape == (2, 8, 2, 64, 64) and b["eps"].shape == (2, 250) and b["video"].shape[1] == 9
    clip = from_tensor(b["video"][1])
    assert np.allclose(b["flow"][1].numpy(), fgst_parts.consecutive_flows(clip))  # frame to frame, not to the input
    for i, t in enumerate(b["t"].tolist()):                   # flow2rgb's pair: a frame and the frame two steps on
        assert 0 <= t <= 6 and torch.equal(b["source"][i], b["video"][i, t])
        assert torch.equal(b["frame"][i], b["video"][i, t + 2])
        assert np.allclose(b["pair_flow"][i].numpy(), fgst_parts.optical_flow(from_tensor(b["frame"][i])[None],
                                                                               from_tensor(b["source"][i]))[0])
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in (("p", g.predictor), ("r", g.renderer))}
    out = tr.step(b)
    assert set(out) == {"flow", "kl", "mse", "perceptual"} and all(torch.isfinite(v) for v in out.values())
    for k, net in (("p", g.predictor), ("r", g.renderer)):
        assert any(not torch.equal(a, p) for a, p in zip(before[k], net.parameters())), k
    res = tr.forward(b)
    terms = tr.g_terms(b, res)
    assert torch.allclose(res["fake"], g.renderer(b["source"], b["pair_flow"]), atol=1e-5)
    assert torch.isclose(terms["flow"](), (res["flow"] - b["flow"]).abs().mean())
    assert torch.isclose(terms["kl"](), 2 * fgst_parts.kl_divergence(res["mu"], res["logvar"]))  # summed over clips
    assert torch.isclose(terms["mse"](), (127.5 * (res["fake"] - b["frame"])).pow(2).mean(), rtol=1e-4)
    for term, learner, other in (("flow", g.predictor, g.renderer), ("kl", g.predictor, g.renderer),
                                 ("mse", g.renderer, g.predictor), ("perceptual", g.renderer, g.predictor)):
        g.zero_grad(set_to_none=True)
        tr.g_terms(b, tr.forward(b))[term]().backward()
        assert any(p.grad is not None for p in learner.parameters()), term
        assert all(p.grad is None for p in other.parameters()), term


@pytest.mark.slow
def test_one_book_step_moves_every_network_and_each_phase_learns_from_its_own_terms():
    torch.manual_seed(0)
    tr = fgst.Trainer(fgst.default_config("smoke", design="book", videos=2))
    b = tr.sample(np.random.default_rng(0))
    assert b["flow"].shape == (2, 8, 2, 64, 64) and b["eps"].shape == (2, 16)
    flow = fgst_parts.optical_flow(from_tensor(b["target"][1]), from_tensor(b["neutral"][1]))
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


@pytest.mark.slow
def test_cli_refuses_a_motion_code_of_no_size_and_an_unknown_design_in_one_line(tmp_path, capsys):
    r = i2v("train", "fgst", "--profile", "smoke", "--set", "z_dim=0", "--out", tmp_path / "bad", "--quiet")
    assert_one_line_error(r, "z_dim")
    r = i2v_here(capsys, "train", "fgst", "--profile", "smoke", "--set", "design=vae", "--out", tmp_path / "bad",
                 "--quiet")
    assert_one_line_error(r, "design='vae'")
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_choosing_fgsts_multiple_from_no_runs_is_a_one_line_error_and_writes_nothing(tmp_path):
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "fgst_budget.py"
    out = tmp_path / "multiple.json"
    done = subprocess.run([sys.executable, str(script), "choose", "--runs", str(tmp_path / "none"), "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode != 0 and not out.exists() and list(tmp_path.iterdir()) == []
    assert done.stderr.strip().startswith("fgst_budget.py: ") and "no run.json" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_resumed_fgst_budget_run_keeps_the_generators_it_still_can(tmp_path):
    """A run begun when ``KEPT`` was shorter resumes to more steps without asking for the steps it has passed."""
    from scripts import load_script

    from i2vlib.checkpoint import save_checkpoint
    from i2vlib.run_files import SNAPSHOTS

    budget = load_script("benchmarks/fgst_budget.py")
    assert budget.still_kept(tmp_path / "new", 16000) == [s for s in budget.KEPT if s <= 16000]
    run = tmp_path / "old"
    (run / SNAPSHOTS).mkdir(parents=True)
    for s in (8000, 12000):
        (run / SNAPSHOTS / f"step-{s}.pt").touch()
    save_checkpoint(run / "checkpoint.pt", "fgst", {}, 12000, {"generator": {"w": torch.zeros(1)}})
    kept = budget.still_kept(run, 24000)
    assert kept == [8000, 12000, 16000, 20000, 24000]
    assert 1000 in budget.KEPT and 1000 not in kept
