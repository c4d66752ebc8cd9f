"""Shared network blocks: U-Net encoder and decoder, PatchGAN discriminator, MLP critic.

The U-Net follows the pix2pix generator (Isola et al., CVPR 2017) that AffineGAN and Fan et al.
build on: 4x4 convolutions with stride 2 halve the size at every level until 1x1, so a
256-px image takes 8 levels (the papers' "8-layer" encoders), 128 px takes 7 and 64 px 6.
The encoder returns the features of *every* level; the decoder consumes such a list, so a
method can mix two encoders' features level by level (``f0 + a * f_delta``) before decoding.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .errors import I2VError


def unet_levels(size: int) -> int:
    """Levels of a U-Net that halves ``size`` down to 1x1 (8 at 256 px, 7 at 128, 6 at 64)."""
    if size < 32 or size & (size - 1):
        raise I2VError(f"image size must be a power of two of at least 32 px, got {size}")
    return int(math.log2(size))


def _channels(ngf: int, levels: int) -> list[int]:
    """Channels per level: ngf, 2 ngf, 4 ngf, then 8 ngf (pix2pix)."""
    return [ngf * min(2 ** i, 8) for i in range(levels)]


def norm_2d(kind: str, ch: int) -> nn.Module:
    """The config's ``norm`` (instance, batch or none) for images."""
    if kind == "instance":
        return nn.InstanceNorm2d(ch, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "none":
        return nn.Identity()
    raise I2VError(f"unknown norm {kind!r}; choose instance, batch or none")


def norm_3d(kind: str, ch: int) -> nn.Module:
    """The config's ``norm`` (instance, batch or none) for clips (N, C, T, H, W)."""
    if kind == "instance":
        return nn.InstanceNorm3d(ch, affine=True)
    if kind == "batch":
        return nn.BatchNorm3d(ch)
    if kind == "none":
        return nn.Identity()
    raise I2VError(f"unknown norm {kind!r}; choose instance, batch or none")


class UNetEncoder(nn.Module):
    """Image (N, C, S, S) -> list of features, level 1 (S/2) ... level L (1x1).

    Conv-Norm-LeakyReLU(0.2) blocks; no norm on the first level (pix2pix) nor on the 1x1
    bottleneck, where instance statistics over one pixel would erase the code.
    """

    def __init__(self, in_ch: int = 3, ngf: int = 64, levels: int = 8, norm: str = "instance"):
        super().__init__()
        ch = _channels(ngf, levels)
        self.channels = ch
        blocks = []
        prev = in_ch
        for i, c in enumerate(ch):
            layers = [nn.Conv2d(prev, c, 4, 2, 1, bias=True)]
            if 0 < i < levels - 1:
                layers.append(norm_2d(norm, c))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            blocks.append(nn.Sequential(*layers))
            prev = c
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


UPSAMPLING = ("transposed", "nearest", "bilinear", "blur")


class Blur(nn.Module):
    """A fixed depthwise [1, 2, 1]^T [1, 2, 1] / 16 low-pass filter: after a stride-2 transposed convolution it
    averages each output pixel with its neighbours, which fill the kernel's period-2 pattern differently."""

    def __init__(self, ch: int):
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k[:, None] * k[None, :] / 16).expand(ch, 1, 3, 3).clone(), persistent=False)
        self.ch = ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"),
                                    self.kernel.to(x.dtype), groups=self.ch)


def up_conv(c_in: int, c_out: int, upsample: str = "transposed", bias: bool = True) -> nn.Module:
    """One decoder step that doubles the size: ``transposed``, a 4x4 stride-2 transposed convolution (pix2pix,
    the papers'); ``nearest`` or ``bilinear``, a resize then a 3x3 convolution (Odena et al. 2016: every output
    pixel gets the same number of kernel taps, so no period-2 checkerboard); ``blur``, the transposed
    convolution followed by a fixed :class:`Blur`."""
    if upsample == "transposed":
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)
    if upsample in ("nearest", "bilinear"):
        resize = nn.Upsample(scale_factor=2, mode=upsample, **({"align_corners": False} if upsample == "bilinear"
                                                               else {}))
        return nn.Sequential(resize, nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias))
    if upsample == "blur":
        return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias), Blur(c_out))
    raise I2VError(f"unknown upsampling {upsample!r}; choose {', '.join(UPSAMPLING)}")


class UNetDecoder(nn.Module):
    """List of level features (as :class:`UNetEncoder` returns) -> image in [-1, 1].

    Up-convolutions (ReLU, :func:`up_conv`, Norm) from the bottleneck; each level's output is
    concatenated with the skip features of the level above, as in U-Net. ``upsample`` chooses how
    each step doubles the size (:func:`up_conv`; the papers' transposed convolution by default).
    """

    def __init__(self, out_ch: int = 3, ngf: int = 64, levels: int = 8, norm: str = "instance",
                 upsample: str = "transposed"):
        super().__init__()
        ch = _channels(ngf, levels)
        self.channels = ch
        ups = []
        for i in range(levels - 1, 0, -1):
            c_in = ch[i] if i == levels - 1 else 2 * ch[i]
            ups.append(nn.Sequential(nn.ReLU(inplace=False), up_conv(c_in, ch[i - 1], upsample),
                                     norm_2d(norm, ch[i - 1])))
        self.ups = nn.ModuleList(ups)
        self.out = nn.Sequential(nn.ReLU(inplace=False), up_conv(2 * ch[0], out_ch, upsample), nn.Tanh())

    def forward(self, feats: list[torch.Tensor], return_hidden: bool = False):
        x = feats[-1]
        hidden = []
        for up, skip in zip(self.ups, reversed(feats[:-1])):
            x = torch.cat([up(x), skip], dim=1)
            hidden.append(x)
        y = self.out(x)
        return (y, hidden) if return_hidden else y


class PatchDiscriminator(nn.Module):
    """A convolutional discriminator that returns a map of real/fake logits, one per image patch.

    ``layers=3``: the papers' "three-layer convolutional" discriminator read literally (two
    stride-2 convolutions and the output convolution: 22x22-pixel patches). ``layers=5``: the
    reading of AffineGAN's public code, pix2pix's ``n_layers=3`` PatchGAN (three stride-2 and two
    stride-1 convolutions up to 8 ndf channels: 70x70-pixel patches).
    """

    STRIDES = {3: (2, 2), 5: (2, 2, 2, 1)}

    def __init__(self, in_ch: int, ndf: int = 64, norm: str = "instance", layers: int = 3, classes: int = 0):
        super().__init__()
        if layers not in self.STRIDES:
            raise I2VError(f"a PatchDiscriminator has 3 or 5 layers, not {layers!r}")
        body, prev = [], in_ch
        for i, stride in enumerate(self.STRIDES[layers]):
            c = ndf * min(2 ** i, 8)
            body += [nn.Conv2d(prev, c, 4, stride, 1), *([norm_2d(norm, c)] if i else []),
                     nn.LeakyReLU(0.2, inplace=True)]
            prev = c
        self.net = nn.Sequential(*body, nn.Conv2d(prev, 1, 4, 1, 1))
        if classes:   # StarGAN's second output: which of ``classes`` domains the input shows
            self.cls = nn.Conv2d(prev, classes, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The patch logits and the domain logits (N, classes), averaged over the image, from one pass through
        the shared layers (StarGAN's D_src and D_cls)."""
        h = self.net[:-1](x)
        return self.net[-1](h), self.cls(h).mean((2, 3))


def patch_critic(in_ch: int, cfg: dict, classes: int = 0) -> PatchDiscriminator:
    """A method's patch discriminator from its config (``ndf``, ``norm``, ``d_layers``; ``classes``: a domain
    classifier beside it), with pix2pix's initialisation, and with every convolution spectrally normalised
    when ``spectral_norm`` is set: W / sigma(W), sigma estimated by one power iteration per step (Miyato et al.
    2018)."""
    net = init_weights(PatchDiscriminator(in_ch, cfg["ndf"], cfg["norm"], cfg["d_layers"], classes))
    if cfg.get("spectral_norm"):
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.utils.parametrizations.spectral_norm(m)
    return net


def receptive_field(net: nn.Module) -> int:
    """Side in pixels of the input patch that one output of a stack of convolutions sees."""
    field, jump = 1, 1
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            field += (m.kernel_size[0] - 1) * jump
            jump *= m.stride[0]
    return field


class MLP(nn.Module):
    """Three-layer perceptron with LeakyReLU (AffineGAN's discriminator on the intensity a)."""

    def __init__(self, in_dim: int, hidden: int = 64, out_dim: int = 1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(hidden, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def mix(f0: list[torch.Tensor], terms, levels=None) -> list[torch.Tensor]:
    """``f0 + sum_k a_k f_k`` level by level (AffineGAN Eq. 2, Fan et al. Eq. 7).

    ``terms`` = [(a (N,), f_k), ...] with ``f_k`` a list of level features like ``f0``;
    ``levels`` (default: every level) are the levels mixed, the others keep ``f0``.
    """
    mixed = range(len(f0)) if levels is None else set(levels)
    out = []
    for level, f in enumerate(f0):
        if level in mixed:
            for a, fk in terms:
                f = f + a.to(f.dtype).view(-1, 1, 1, 1) * fk[level]
        out.append(f)
    return out


def init_weights(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """N(0, 0.02) weights and zero biases for convolutions and linear layers (pix2pix/DCGAN)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return module


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class ConvLSTMCell(nn.Module):
    """Convolutional LSTM cell (Shi et al., NeurIPS 2015, Eq. 3): the gates of an LSTM computed by one
    convolution over ``[x, h]``, so the state keeps its spatial layout::

        i, f, o, g = split(conv([x, h]))
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g),   h' = sigmoid(o) * tanh(c')

    (without the paper's peephole terms, as common implementations). ``forward(x, state=None)``
    returns ``(h', (h', c'))``; a missing state is zeros.
    """

    def __init__(self, in_ch: int, hidden_ch: int, kernel: int = 3):
        super().__init__()
        self.hidden_ch = hidden_ch
        self.gates = nn.Conv2d(in_ch + hidden_ch, 4 * hidden_ch, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor, state=None):
        if state is None:
            z = x.new_zeros(x.shape[0], self.hidden_ch, *x.shape[2:])
            state = (z, z)
        h, c = state
        i, f, o, g = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)
