"""FGST's building blocks (Li et al., ECCV 2018, as its authors released them): the training flows, the warp, the
3D-cVAE, flow2rgb, the perceptual features, and the book design's networks. The method (its config, losses, Trainer
and Model, and the list of where it departs from the released code) is :mod:`.fgst`.

* flows: :func:`optical_flow` (Farneback's, :data:`FARNEBACK`) and :func:`consecutive_flows`, the released pairs
  ``F_t = flow(I_t -> I_{t-1})``; :func:`warp`, SpyNet's sampler: ``out(p) = image(p + F(p))``, clamped to the border;
  :func:`kl_divergence`, ``KL(N(mu, s^2) || N(0, I))``;
* the released design: :class:`MultiFlowCVAE`, phase 1, ``mu, s = q([I0, F_1:T])``, ``z = mu + s * eps``,
  ``F^_1:T = B tanh(D(e + e * z))`` with ``e = E(I0)``; :class:`FlowToFrame`, phase 2, ``G(W, F) = Dec([C(W), P(F)])``
  on VGG-19's layers up to conv4_1 (:func:`vgg_encoder`, :func:`vgg_decoder`), chained as
  ``I^_t = G(warp(I^_{t-1}, F^_t), F^_t)``; :class:`FGSTGenerator`, the two in turn; :class:`Perceptual`, the
  features of ``sum_l |phi_l(I^) - phi_l(I)|^2`` (FGST's own network, :mod:`.perceptual`, or the identity
  instrument's, :data:`PERCEPTUAL_NETS`);
* the book design: :class:`BookCVAE` (``F_t`` back to the input), :class:`BookSynthesis`
  (``I^_t = m_t * W_t + (1 - m_t) * R_t``, ``W_t = warp(I0, F_t)``) and :class:`BookGenerator`.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import I2VError
from ..instruments import get_instrument
from ..nn import UNetDecoder, UNetEncoder, init_weights, norm_3d, unet_levels
from . import perceptual
from .frgan_parts import levels

RELEASED_SIZE = 128  # the released code's --imageSize
# Where the perceptual loss's features come from: FGST's own network, or the identity instrument (the first version).
PERCEPTUAL_NETS = ("own", "instrument")
MAX_FLOW = 5.0      # the released VolDecoder's bound on a flow, in pixels at 128 px

# cv2.calcOpticalFlowFarneback's parameters: the values of OpenCV's optical-flow tutorial.
FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2,
             "flags": 0}


# ------------------------------------------------------------------------------------------------- flows
def optical_flow(frames: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The dense optical flow from each of ``frames`` (T x H x W x 3 uint8) back to ``reference`` (H x W x 3 uint8),
    by OpenCV's Farneback algorithm (:data:`FARNEBACK`) on grey frames: (T, 2, H, W) float32 in pixels, (x, y), with
    ``frames[t](p) ~ reference(p + flow[t](p))``, what :func:`warp` takes to move ``reference`` onto frame t."""
    try:
        import cv2
    except ImportError:
        raise I2VError("FGST's training flows need OpenCV: pip install 'i2vlib[flow]'") from None
    ref = cv2.cvtColor(np.ascontiguousarray(reference), cv2.COLOR_RGB2GRAY)
    flows = [cv2.calcOpticalFlowFarneback(cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY), ref, None,
                                          **FARNEBACK) for f in frames]
    return np.stack(flows).transpose(0, 3, 1, 2)


def consecutive_flows(clip: np.ndarray) -> np.ndarray:
    """The released code's training flows: for a clip (1 + T) x H x W x 3 uint8, the flow of each frame back to the
    one before it, (T, 2, H, W) in pixels, ``clip[t](p) ~ clip[t - 1](p + flow[t - 1](p))`` (SpyNet's pairs
    ``[x_{i+1}, x_i]`` in ``train_3DcVAE.lua``; Farneback's algorithm here)."""
    return np.concatenate([optical_flow(clip[t][None], clip[t - 1]) for t in range(1, len(clip))])


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warping: ``out(p) = image(p + flow(p))`` by bilinear sampling (``grid_sample``), image (N, C, H, W),
    flow (N, 2, H, W) in pixels (x, y); beyond the border the nearest border pixel."""
    h, w = image.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, device=image.device, dtype=flow.dtype),
                            torch.arange(w, device=image.device, dtype=flow.dtype), indexing="ij")
    grid = torch.stack([(xs + flow[:, 0]) * (2 / (w - 1)) - 1, (ys + flow[:, 1]) * (2 / (h - 1)) - 1], -1)
    return F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=True)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) = 1/2 sum_j (mu_j^2 + s_j^2 - 1 - log s_j^2), averaged over the batch."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1).mean()


# ------------------------------------------------------------------------------------ the released design
def stage_widths(size: int) -> list[int]:
    """Multiples of ``ngf`` of the stride-2 stages that take a ``size``-px image to 4 x 4: the released 128-px
    networks' (1, 1, 2, 4, 8); a smaller image drops stages from the top (64 px: 1, 2, 4, 8), a larger one adds
    stages of 1."""
    n = unet_levels(size) - 2
    return ([1] * max(0, n - 4) + [1, 2, 4, 8])[-n:]


def time_halvings(length: int, stages: int) -> tuple[int, int]:
    """``(k, t)``: the 3D-cVAE halves time in its last ``k`` stages, from ``length`` steps to ``t`` at 4 x 4 (the
    released 16 flows: three halvings to 2, as its ``VolumetricMaxPooling(2, 2, 2)``; 8 flows: two)."""
    k, t = 0, int(length)
    while t % 2 == 0 and t > 2 and k < stages:
        k, t = k + 1, t // 2
    return k, t


def flow_bound(size: int) -> float:
    """B, the largest flow the 3D-cVAE predicts, in pixels: the released 5 at 128 px, scaled with the image."""
    return MAX_FLOW * int(size) / RELEASED_SIZE


class MultiFlowCVAE(nn.Module):
    """Phase 1, the 3D-cVAE (``src/VAE.lua``): I0 (N, 3, S, S) and z (N, z_dim) -> the consecutive flows F^_1:T
    (N, T, 2, S, S) in pixels; :meth:`posterior` is its recognition network q(z | I0, F) (VolEncoder), used in
    training only."""

    def __init__(self, cfg: dict):
        super().__init__()
        size, ngf, norm = int(cfg["image_size"]), int(cfg["ngf"]), cfg["norm"]
        self.length, self.z_dim, self.bound = int(cfg["length"]), int(cfg["z_dim"]), flow_bound(size)
        ch = [ngf * m for m in stage_widths(size)]
        n = len(ch)
        k, t = time_halvings(self.length, n)
        q, prev = [], 3 + 2                                           # [I0, F_t / B] at every step
        for i, c in enumerate(ch):                                    # VolEncoder: conv, norm, ReLU, max-pool
            q += [nn.Conv3d(prev, c, 3, 1, 1), norm_3d(norm, c), nn.ReLU(inplace=True),
                  nn.MaxPool3d((2 if i >= n - k else 1, 2, 2))]
            prev = c
        self.q = nn.Sequential(*q, nn.Conv3d(prev, 2 * self.z_dim, (t, 4, 4)))   # -> (mu, log s^2) at 1 x 1 x 1
        e, prev = [], 3
        for c in ch:                                                  # ImEncoder: strided convolutions and ReLU
            e += [nn.Conv2d(prev, c, 4, 2, 1), nn.ReLU(inplace=True)]
            prev = c
        self.image = nn.Sequential(*e, nn.Conv2d(prev, self.z_dim, 4))
        up = [nn.ConvTranspose3d(self.z_dim, ch[-1], (t, 4, 4)), norm_3d(norm, ch[-1]), nn.ReLU(inplace=True)]
        outs = [*ch[-2::-1], 2]
        for j, (a, b) in enumerate(zip(ch[::-1], outs)):              # VolDecoder: time doubles in the first k
            kernel, stride = ((4, 4, 4), 2) if j < k else ((3, 4, 4), (1, 2, 2))
            up.append(nn.ConvTranspose3d(a, b, kernel, stride, 1))
            if j < n - 1:
                up += [norm_3d(norm, b), nn.ReLU(inplace=True)]
        self.decoder = nn.Sequential(*up, nn.Tanh())

    def posterior(self, i0: torch.Tensor, flows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | I0, F): (mu, log s^2), each (N, z_dim), from the flows (N, T, 2, S, S) and the input."""
        x = torch.cat([i0[:, :, None].expand(-1, -1, flows.shape[1], -1, -1),
                       flows.transpose(1, 2).to(i0.dtype) / self.bound], 1)
        return self.q(x).flatten(1).chunk(2, 1)

    def forward(self, i0: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """p(F | I0, z): the flows (N, T, 2, S, S) in pixels, from the code e = E(I0) modulated by z: e + e z."""
        e = self.image(i0).flatten(1)
        h = (e + e * z.to(e.dtype))[:, :, None, None, None]
        return (self.bound * self.decoder(h)).transpose(1, 2)


def _conv(a: int, b: int, relu: bool = True) -> list[nn.Module]:
    """A 3 x 3 convolution with reflection padding (the released flow2rgb's), and a ReLU."""
    return [nn.ReflectionPad2d(1), nn.Conv2d(a, b, 3), *([nn.ReLU(inplace=True)] if relu else [])]


def vgg_encoder(channels: int, ngf: int) -> nn.Sequential:
    """VGG-19's layers up to conv4_1 at widths ngf ... 8 ngf, trained from scratch (``models/content_conv4_1.lua``
    on the warped frame, ``flow_conv4_1.lua`` on the flow): (N, channels, S, S) -> (N, 8 ngf, S/8, S/8)."""
    pool = nn.MaxPool2d(2)
    return nn.Sequential(*_conv(channels, ngf), *_conv(ngf, ngf), pool, *_conv(ngf, 2 * ngf), *_conv(2 * ngf, 2 * ngf),
                         pool, *_conv(2 * ngf, 4 * ngf), *[m for _ in range(3) for m in _conv(4 * ngf, 4 * ngf)],
                         pool, *_conv(4 * ngf, 8 * ngf))


def vgg_decoder(ngf: int) -> nn.Sequential:
    """The mirror of two :func:`vgg_encoder` outputs joined (``models/invert_conv4_1_concat.lua``, AdaIN's decoder):
    (N, 16 ngf, S/8, S/8) -> (N, 3, S, S), nearest upsampling, a linear output."""
    up = nn.Upsample(scale_factor=2, mode="nearest")
    return nn.Sequential(*_conv(16 * ngf, 8 * ngf), *_conv(8 * ngf, 4 * ngf), up,
                         *[m for _ in range(3) for m in _conv(4 * ngf, 4 * ngf)], *_conv(4 * ngf, 2 * ngf), up,
                         *_conv(2 * ngf, 2 * ngf), *_conv(2 * ngf, ngf), up, *_conv(ngf, ngf), *_conv(ngf, 3, False))


class FlowToFrame(nn.Module):
    """Phase 2, flow2rgb: ``G(W, F) = Dec([C(warp(I, F)), P(F)])`` for a frame I (N, 3, S, S) and a flow F
    (N, 2, S, S) in pixels; :meth:`roll` chains it from the input over the predicted flows (``test.lua``)."""

    def __init__(self, cfg: dict):
        super().__init__()
        ngf = int(cfg["ngf"])
        self.content, self.motion, self.decoder = vgg_encoder(3, ngf), vgg_encoder(2, ngf), vgg_decoder(ngf)

    def forward(self, frame: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        flow = flow.to(frame.dtype)
        return self.decoder(torch.cat([self.content(warp(frame, flow)), self.motion(flow)], 1))

    def roll(self, i0: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
        """I^_t = G(warp(I^_{t-1}, F_t), F_t) from I^_0 = I0, for flows (N, T, 2, S, S): (N, T, 3, S, S)."""
        frames, prev = [], i0
        for t in range(flows.shape[1]):
            prev = self(prev, flows[:, t])
            frames.append(prev)
        return torch.stack(frames, 1)


class FGSTGenerator(nn.Module):
    """I0 (N, 3, S, S) -> the ``length`` frames after it (N, length, 3, S, S): the 3D-cVAE's flows at z, rendered
    recursively by flow2rgb. ``z`` omitted: the model's one draw from the prior, ``self.z``, seeded by the
    config's ``seed`` (so that a face has one clip)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.length = int(cfg["length"])
        self.predictor, self.renderer = MultiFlowCVAE(cfg), FlowToFrame(cfg)
        draw = torch.Generator().manual_seed(int(cfg["seed"]))
        self.register_buffer("z", torch.randn(1, int(cfg["z_dim"]), generator=draw), persistent=False)

    def forward(self, i0: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        z = self.z.expand(len(i0), -1) if z is None else z
        return self.renderer.roll(i0, self.predictor(i0, z))


class Perceptual(nn.Module):
    """The perceptual loss's features, standing for VGG-19's relu1_1 ... relu4_1: the outputs of the four stages of
    an identity network's trunk (:class:`i2vlib.instruments.nets.IdentityNet`, 64-px frames, at 32 ... 4 px), frozen:
    FGST's own (:mod:`.perceptual`, trained apart from the instruments) or the identity instrument's."""

    size = 64

    def __init__(self, trunk: nn.Sequential):
        super().__init__()
        layers = list(trunk)
        per = len(layers) // 4
        self.stages = nn.ModuleList(nn.Sequential(*layers[i:i + per]) for i in range(0, len(layers), per))
        self.requires_grad_(False).eval()

    @classmethod
    def load(cls, net: str = "own") -> Perceptual:
        """``net`` (one of :data:`PERCEPTUAL_NETS`): ``"own"``, the shipped features of :mod:`.perceptual`;
        ``"instrument"``, a frozen copy of the synthetic instrument's identity trunk (its batch norms in eval mode)."""
        if net not in PERCEPTUAL_NETS:
            raise I2VError(f"perceptual features {net!r}; choose one of {', '.join(PERCEPTUAL_NETS)}")
        if net == "own":
            return cls(perceptual.load())
        return cls(copy.deepcopy(get_instrument("synthetic").nets["identity"].features))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """sum_l mean |phi_l(fake) - phi_l(real)|^2 over the four stages."""
        with torch.no_grad():
            target = self.features(real)
        return sum(F.mse_loss(f, r) for f, r in zip(self.features(fake), target))


# ----------------------------------------------------------------------------------------- the book design
class BookCVAE(nn.Module):
    """The book design's phase 1: I0 (N, 3, S, S) and z (N, z_dim) -> the flows F^_1:T (N, T, 2, S, S) in pixels,
    each back to the input; :meth:`posterior` is its recognition network q(z | I0, F), used in training only."""

    def __init__(self, cfg: dict):
        super().__init__()
        size, ngf, norm = int(cfg["image_size"]), int(cfg["ngf"]), cfg["norm"]
        self.length, self.z_dim = int(cfg["length"]), int(cfg["z_dim"])
        n = levels(size)                                              # stride-2 levels from S to 4 x 4
        ch = [ngf * min(2 ** i, 8) for i in range(n)]
        down = lambda a, b: nn.Conv3d(a, b, (3, 4, 4), (1, 2, 2), 1)  # noqa: E731  halves space, keeps time
        up = lambda a, b: nn.ConvTranspose3d(a, b, (3, 4, 4), (1, 2, 2), 1)  # noqa: E731
        q, prev = [], 2 + 3                                           # q sees [F_t, I0] at every step
        for i, c in enumerate(ch):
            q += [down(prev, c), *([norm_3d(norm, c)] if i else []), nn.LeakyReLU(0.2, inplace=True)]
            prev = c
        self.q = nn.Sequential(*q, nn.Conv3d(prev, 2 * self.z_dim, (self.length, 4, 4)))   # -> (mu, log s^2)
        self.image = UNetEncoder(3, ngf, n, norm)                     # E(I0): features at S/2 ... 4 x 4
        self.layout = nn.Sequential(nn.ConvTranspose3d(ch[-1] + self.z_dim, ch[-1], (self.length, 1, 1)),
                                    norm_3d(norm, ch[-1]), nn.ReLU(inplace=True))   # time laid out at 4 x 4
        self.ups = nn.ModuleList(nn.Sequential(up(ch[k + 1] * (1 if k == n - 2 else 2), ch[k]), norm_3d(norm, ch[k]),
                                               nn.ReLU(inplace=True)) for k in range(n - 2, -1, -1))
        self.out = up(2 * ch[0], 2)                                   # linear: flows in pixels

    def posterior(self, i0: torch.Tensor, flows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | I0, F): (mu, log s^2), each (N, z_dim), from the flows (N, T, 2, S, S) and the input."""
        x = torch.cat([flows.transpose(1, 2), i0[:, :, None].expand(-1, -1, flows.shape[1], -1, -1)], 1)
        return self.q(x).flatten(1).chunk(2, 1)

    def forward(self, i0: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """p(F | I0, z): the flows (N, T, 2, S, S); z omitted: 0, the prior's mean."""
        feats = self.image(i0)
        if z is None:
            z = i0.new_zeros(len(i0), self.z_dim)
        h = feats[-1]
        x = self.layout(torch.cat([h, z[:, :, None, None].expand(-1, -1, *h.shape[2:])], 1)[:, :, None])
        for up, skip in zip(self.ups, feats[-2::-1]):                 # the input's features joined at every scale
            x = up(x)
            x = torch.cat([x, skip[:, :, None].expand(-1, -1, x.shape[2], -1, -1)], 1)
        return self.out(x).transpose(1, 2)


class BookSynthesis(nn.Module):
    """The book design's phase 2: I0 (N, 3, S, S) and flows (N, T, 2, S, S) -> (frames I^, masks m, warped W), each
    (N, T, ., S, S): ``I^_t = m_t W_t + (1 - m_t) R_t``, with (R_t, m_t) from a U-Net of [I0, W_t, F_t], one frame at
    a time."""

    def __init__(self, cfg: dict):
        super().__init__()
        size, ngf, norm = int(cfg["image_size"]), int(cfg["ngf"]), cfg["norm"]
        n = unet_levels(size)
        self.encoder, self.decoder = UNetEncoder(3 + 3 + 2, ngf, n, norm), UNetDecoder(3 + 1, ngf, n, norm)

    def forward(self, i0: torch.Tensor, flows: torch.Tensor):
        n, t = flows.shape[:2]
        x = i0[:, None].expand(-1, t, -1, -1, -1).flatten(0, 1)
        f = flows.flatten(0, 1)
        w = warp(x, f)                                                # W_t = warp(I0, F_t)
        y = self.decoder(self.encoder(torch.cat([x, w, f.to(x.dtype)], 1)))
        r, m = y[:, :3], (y[:, 3:] + 1) / 2                           # R_t in [-1, 1], m_t in [0, 1]
        frames = m * w + (1 - m) * r
        return tuple(v.unflatten(0, (n, t)) for v in (frames, m, w))


class BookGenerator(nn.Module):
    """The book design: I0 (N, 3, S, S) -> the ``length`` frames after it (N, length, 3, S, S) in [-1, 1], the
    flows its 3D-cVAE predicts at z (0 if omitted), rendered by its synthesis."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.length = int(cfg["length"])
        self.predictor, self.renderer = BookCVAE(cfg), BookSynthesis(cfg)
        init_weights(self)

    def forward(self, i0: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        return self.renderer(i0, self.predictor(i0, z))[0]
