"""FRGAN's networks (Zhao et al., ECCV 2018): G_M (Fig. 4), G_R (Fig. 5), the critics D_I and D_V.

The paper leaves layer sizes to a project website that has none; the public code's G_M is far
too large for a CPU (70M parameters, 28 GMAC per 64-px image). Ours keeps the paper's
structure at small widths:

* encoders ``f_I`` (image) and one shared ``f_M`` (motion maps): 4x4 stride-2 convolutions from
  S down to a bottleneck of 4-7 px (64 px: 32, 16, 8, 4), ``ngf * (1, 2, 4, 8, 8, ...)`` channels;
* Eq. 3's analogy ``f_M(M_{t+k}) - f_M(M_t) + f_I(I_t)`` at the bottleneck, with U-Net skips from
  ``f_I`` (``analogy="every-level"`` forms it at every skip too);
* the decoder ``f_D``: one block per level, two 3x3 convolutions each, the second after a 2x
  nearest upsampling; ``dense``: each block's output, upsampled, also feeds the first
  convolution of *every* later block (§3.2, "dense connections"); ``plain``: only the next;
  ``plain-wide``: a plain decoder widened to the dense one's multiply-adds;
* heads: mask m (1 channel, sigmoid) and content c (3 channels, tanh).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import I2VError
from ..instruments.condition import GRID, MAP_KINDS, map_channels
from ..nn import UNetEncoder, init_weights, norm_2d, norm_3d

DECODERS = ("dense", "plain", "plain-wide")
RESIDUALS = ("mask", "difference", "none")


def levels(size: int) -> int:
    """Stride-2 levels from ``size`` to the bottleneck of 4-7 px (64 px: 4; 96 px: 4, at 6 px; 256 px: 6)."""
    size = int(size)
    if size < 32 or size % 16:
        raise I2VError(f"frgan image size must be a multiple of 16 of at least 32 px, got {size}")
    n = 0
    while size % 2 == 0 and size // 2 >= 4:
        size, n = size // 2, n + 1
    return n


def compose(mask: torch.Tensor, content: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """Eq. 2 (and Eq. 10 on clips): m * c + (1 - m) * base; the mask broadcasts over the colour channels."""
    return mask * content + (1 - mask) * base


# ----------------------------------------------------------------------------------------------
# G_M: f_I, f_M, f_D (Eq. 1-3)
# ----------------------------------------------------------------------------------------------
def decoder_plan(enc: list[int], ngf: int, dense: bool, scale: float = 1.0) -> tuple[list[int], list[int]]:
    """Widths of the blocks and the input channels of their first convolution.

    Block j starts at the resolution of encoder level L-1-j (the bottleneck first) and ends one
    level up; its input is the bottleneck code (j = 0), or the previous block's output, the
    outputs of all earlier blocks when dense, and the skip from f_I at that level.
    """
    n = len(enc)
    widths = [max(1, round(scale * (enc[n - 2 - j] if j < n - 1 else ngf))) for j in range(n)]
    ins = [enc[-1]] + [(sum(widths[:j]) if dense else widths[j - 1]) + enc[n - 1 - j] for j in range(1, n)]
    return widths, ins


def decoder_macs(enc: list[int], ngf: int, size: int, dense: bool, scale: float = 1.0) -> int:
    """Multiply-adds of the decoder's convolutions for one image (heads excluded)."""
    widths, ins = decoder_plan(enc, ngf, dense, scale)
    n, macs = len(enc), 0
    for j, (w, c) in enumerate(zip(widths, ins)):
        r = size // 2 ** (n - j)                            # the block's input resolution
        macs += 9 * r * r * (c * w + 4 * w * w)             # conv at r, conv at 2r
    return macs


class Decoder(nn.Module):
    """f_D: the bottleneck code and f_I's skips -> features at full resolution (``widths[-1]`` channels)."""

    def __init__(self, enc: list[int], ngf: int, size: int, kind: str = "dense", norm: str = "instance"):
        super().__init__()
        if kind not in DECODERS:
            raise I2VError(f"unknown frgan decoder {kind!r}; choose one of {', '.join(DECODERS)}")
        self.dense = kind == "dense"
        scale = 1.0
        if kind == "plain-wide":   # widen until the plain decoder costs what the dense one does
            target = decoder_macs(enc, ngf, size, dense=True)
            scale = min((s / 20 for s in range(20, 81)),
                        key=lambda s: abs(decoder_macs(enc, ngf, size, False, s) - target))
        self.scale = scale
        self.widths, ins = decoder_plan(enc, ngf, self.dense, scale)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, w, 3, 1, 1), norm_2d(norm, w), nn.ReLU(inplace=True),
                          nn.Upsample(scale_factor=2, mode="nearest"),
                          nn.Conv2d(w, w, 3, 1, 1), norm_2d(norm, w), nn.ReLU(inplace=True))
            for w, c in zip(self.widths, ins))

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        outs = []
        for j, block in enumerate(self.blocks):
            if j == 0:
                x = feats[-1]
            else:
                skip = feats[len(feats) - 1 - j]
                earlier = outs if self.dense else outs[-1:]
                x = torch.cat([nn.functional.interpolate(o, size=skip.shape[-2:]) if o.shape[-1] != skip.shape[-1]
                               else o for o in earlier] + [skip], 1)
            outs.append(block(x))
        return outs[-1]


class ForecastNet(nn.Module):
    """G_M: Ĩ_{t+k} from I_t and the motion maps M_t, M_{t+k} (Eq. 1-3).

    On faces it also holds the condition generator's :class:`~i2vlib.instruments.condition.ExpressionTable` (buffer
    ``displacements``: E x 21 x 68 x 2), so that it travels in the checkpoint with the weights (a pose
    model's G_C, the pose LSTM, is a network of its own).
    """

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        size, ngf, norm = int(cfg["image_size"]), int(cfg["ngf"]), cfg["norm"]
        n = levels(size)
        self.residual = cfg["residual"]
        if self.residual not in RESIDUALS:
            raise I2VError(f"unknown frgan residual {self.residual!r}; choose one of {', '.join(RESIDUALS)}")
        self.f_I = UNetEncoder(3, ngf, n, norm)
        self.f_M = UNetEncoder(map_channels(cfg["motion_maps"]), ngf, n, norm)
        self.f_D = Decoder(self.f_I.channels, ngf, size, cfg["decoder"], norm)
        w = self.f_D.widths[-1]
        self.content = nn.Conv2d(w, 3, 3, 1, 1)
        self.mask = nn.Conv2d(w, 1, 3, 1, 1) if self.residual == "mask" else None
        if cfg["motion_maps"] in MAP_KINDS:
            self.register_buffer("displacements", torch.zeros(len(cfg["expressions"]), len(GRID), 68, 2))
        init_weights(self)

    def motion(self, maps: torch.Tensor) -> list[torch.Tensor]:
        """f_M(M): the shared motion encoder."""
        return self.f_M(maps)

    def analogy(self, f_i: list[torch.Tensor], f_src: list[torch.Tensor], f_tgt: list[torch.Tensor]):
        """Eq. 3's argument f_M(M_{t+k}) - f_M(M_t) + f_I(I_t): at the bottleneck (the skips carry f_I), or at
        every level with ``analogy="every-level"``. Lists of per-level features, broadcast over the batch."""
        every = self.cfg["analogy"] == "every-level"
        return [f + (f_tgt[i] - f_src[i]) if every or i == len(f_i) - 1 else f for i, f in enumerate(f_i)]

    def decode(self, feats: list[torch.Tensor], image: torch.Tensor) -> dict:
        """f_D and the heads: ``frame`` by Eq. 2 (``residual="mask"``), Eq. 1 (``"difference"``: I_t + d,
        d = 2 tanh, any difference in [-2, 2]) or the content alone (``"none"``, as [39]); also ``mask``
        (None unless Eq. 2) and ``content``."""
        h = self.f_D(feats)
        if self.residual == "difference":
            d = 2 * torch.tanh(self.content(h))
            return {"frame": image + d, "mask": None, "content": d}
        c = torch.tanh(self.content(h))
        if self.residual == "none":
            return {"frame": c, "mask": None, "content": c}
        m = torch.sigmoid(self.mask(h))
        return {"frame": compose(m, c, image), "mask": m, "content": c}

    def forward(self, image: torch.Tensor, maps_source: torch.Tensor, maps_target: torch.Tensor) -> dict:
        """Ĩ_{t+k} = G_M(I_t | M_t, M_{t+k}); f_M runs once on both maps."""
        f = self.motion(torch.cat([maps_source, maps_target]))
        n = len(maps_source)
        return self.decode(self.analogy(self.f_I(image), [x[:n] for x in f], [x[n:] for x in f]), image)


# ----------------------------------------------------------------------------------------------
# G_R (Eq. 10), after VGAN: strided 3-D convolutions down, fractionally strided up, skips
# ----------------------------------------------------------------------------------------------
def _time_strides(length: int, n: int) -> list[int]:
    """Temporal stride of each of ``n`` levels: 2 while the clip is longer than one step, then 1."""
    out = []
    for _ in range(n):
        out.append(2 if length > 1 else 1)
        length //= out[-1]
    return out


def check_clip_length(k) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 2 or k & (k - 1):
        raise I2VError(f"frgan clip_length must be a power of two of at least 2 (G_R halves time), got {k!r}")
    return k


class RefineNet(nn.Module):
    """G_R: a clip Ṽ (N, 3, K, S, S) and its maps (N, C, K, S, S) -> V = m * c + (1 - m) * Ṽ (Eq. 10).

    A 3-D U-Net: 4x4x4 convolutions of stride 2 in space and in time (while time lasts; then 3x4x4
    of temporal stride 1) down to the 4-7 px bottleneck, transposed ones up with skips, and 1x1x1
    heads for the spatio-temporal mask and content on the last features and the input.
    """

    def __init__(self, cfg: dict):
        super().__init__()
        size, ngf, norm = int(cfg["image_size"]), int(cfg["ngf"]), cfg["norm"]
        n, k = levels(size), check_clip_length(cfg["clip_length"])
        c_in = 3 + map_channels(cfg["motion_maps"])
        ch = [ngf * min(2 ** i, 8) for i in range(n)]
        strides = _time_strides(k, n)
        shape = [((4 if s == 2 else 3), 4, 4) for s in strides]
        self.down = nn.ModuleList()
        for i in range(n):
            prev = c_in if i == 0 else ch[i - 1]
            self.down.append(nn.Sequential(nn.Conv3d(prev, ch[i], shape[i], (strides[i], 2, 2), 1),
                                           norm_3d(norm, ch[i]) if 0 < i < n - 1 else nn.Identity(),
                                           nn.LeakyReLU(0.2, inplace=True)))
        self.up = nn.ModuleList()
        for i in range(n - 1, -1, -1):
            c = ch[i] if i == n - 1 else 2 * ch[i]
            out = ch[i - 1] if i else ngf
            self.up.append(nn.Sequential(nn.ConvTranspose3d(c, out, shape[i], (strides[i], 2, 2), 1),
                                         norm_3d(norm, out) if i else nn.Identity(), nn.ReLU(inplace=True)))
        self.mask = nn.Conv3d(ngf + c_in, 1, 1)
        self.content = nn.Conv3d(ngf + c_in, 3, 1)
        init_weights(self)

    def forward(self, video: torch.Tensor, maps: torch.Tensor) -> dict:
        x = torch.cat([video, maps], 1)
        skips, h = [], x
        for block in self.down:
            h = block(h)
            skips.append(h)
        for j, block in enumerate(self.up):
            h = block(h if j == 0 else torch.cat([h, skips[len(skips) - 1 - j]], 1))
        h = torch.cat([h, x], 1)
        m, c = torch.sigmoid(self.mask(h)), torch.tanh(self.content(h))
        return {"video": compose(m, c, video), "mask": m, "content": c}


# ----------------------------------------------------------------------------------------------
# Critics (WGAN-GP: no normalisation, one score per sample)
# ----------------------------------------------------------------------------------------------
class ImageCritic(nn.Module):
    """D_I([I, M]) (Eq. 7-9): stride-2 4x4 convolutions with LeakyReLU to the bottleneck, then one
    convolution over it: a score per sample (N,)."""

    def __init__(self, in_ch: int, ndf: int, size: int):
        super().__init__()
        n, layers, prev = levels(size), [], in_ch
        for i in range(n):
            c = ndf * min(2 ** i, 8)
            layers += [nn.Conv2d(prev, c, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            prev = c
        self.net = nn.Sequential(*layers, nn.Conv2d(prev, 1, size // 2 ** n))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class VideoCritic(nn.Module):
    """D_V([V, 𝓜]) (Eq. 12-14): the 3-D version, strided in time while time lasts; a score per clip (N,). Any
    clip length (VGAN's discriminator too, :mod:`.vgan`); G_R's clips are powers of two (:func:`check_clip_length`)."""

    def __init__(self, in_ch: int, ndf: int, size: int, length: int):
        super().__init__()
        n, layers, prev = levels(size), [], in_ch
        strides = _time_strides(int(length), n)
        for i, s in enumerate(strides):
            c = ndf * min(2 ** i, 8)
            layers += [nn.Conv3d(prev, c, ((4 if s == 2 else 3), 4, 4), (s, 2, 2), 1), nn.LeakyReLU(0.2, inplace=True)]
            prev = c
        t = length
        for s in strides:
            t //= s
        b = size // 2 ** n
        self.net = nn.Sequential(*layers, nn.Conv3d(prev, 1, (t, b, b)))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


# ----------------------------------------------------------------------------------------------
# The passes at generation time: G_M from an input's cached features, G_R on clips of K frames
# ----------------------------------------------------------------------------------------------
def forecast_frames(net: ForecastNet, x, f_i, f_src, maps: torch.Tensor, batch: int) -> torch.Tensor:
    """G_M(I | M_0, M_t) for every map of ``maps`` (T, C, S, S), ``batch`` frames at a time, from the
    input's cached f_I(I) and f_M(M_0): Ĩ_t (T, 3, S, S)."""
    out = []
    for s in range(0, len(maps), batch):
        m = maps[s:s + batch]
        n = len(m)
        grow = lambda fs: [f.expand(n, *f.shape[1:]) for f in fs]  # noqa: E731
        feats_t = net.analogy(grow(f_i), grow(f_src), net.motion(m))
        out.append(net.decode(feats_t, x.expand(n, -1, -1, -1))["frame"])
    return torch.cat(out)


def refine_frames(refiner: RefineNet, frames: torch.Tensor, maps: torch.Tensor, k: int) -> torch.Tensor:
    """G_R on consecutive clips of K frames (Eq. 10); the last one is padded by repeating its final frame."""
    t = len(frames)
    pad = (-t) % k
    clips = [torch.cat([x, x[-1:].expand(pad, *x.shape[1:])]) for x in (frames, maps)]
    video, mv = (x.view(-1, k, *x.shape[1:]).transpose(1, 2) for x in clips)
    out = torch.cat([refiner(video[s:s + 4], mv[s:s + 4])["video"] for s in range(0, len(video), 4)])
    return out.transpose(1, 2).flatten(0, 1)[:t]
