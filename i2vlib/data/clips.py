"""Clips as training material: a source of benchmark videos, labels, sub-clips, transforms, tensors.

A *source* is any sequence of :class:`Clip` (the synthetic benchmark's
:class:`SyntheticVideos`, or a folder reader); :mod:`.sampling` draws training examples from
it. :class:`ClipTransform` draws its random crop and flip once per clip, so that every frame of
one example gets the same crop and the same flip (the landmarks and masks follow).

Intensity labels: ``"true"`` uses the clip's ground truth (synthetic data), ``"position"``
uses Fan et al.'s label a = t / (T - 1) from the frame's place in the video.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..clip_record import EXPRESSIONS, Clip
from ..errors import I2VError
from ..faces.align import box_transform, crop
from ..lru import LRU, nbytes
from .curves import check_curves
from .synthetic import SyntheticBenchmark, check_expressions

# iBUG-68 index of each point's mirror image under a horizontal flip.
FLIP_68 = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46] + [39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65]
)


# The memory a source of synthetic videos may keep its rendered clips in. A 16-frame clip at 64 px weighs 186 kB, so
# the 7000 videos of a seven-expression zoo recipe (1.3 GB) stay rendered; a clip drawn again after it left the cache
# is painted again (47 ms at 64 px). With 4096 clips kept, about 4 draws in 10 missed, and the unified AffineGAN's
# loop ran 1.20 times slower (benchmarks/source_cache.py).
CACHE_BYTES = 2 << 30


class SyntheticVideos:
    """The first ``n`` videos of a split of the benchmark, as a sequence of clips (rendered once, cached).

    The expression of video ``i`` cycles through ``expressions``, its intensity curve through
    ``curves`` (names from :data:`~.curves.CURVES`). ``cache``: how many rendered clips are kept (default: as many
    as :data:`CACHE_BYTES` holds, the least recently used forgotten); the rest are rendered again when drawn.
    """

    def __init__(self, bench: SyntheticBenchmark, split: str, n: int, expressions=EXPRESSIONS,
                 curves=("linear",), cache: int | None = None):
        self.bench, self.split, self.n = bench, split, n
        self.expressions, self.curves = check_expressions(expressions), check_curves(curves)
        bench.identities(split)  # validates the split name
        self._cache = LRU(CACHE_BYTES, nbytes) if cache is None else LRU(cache)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Clip:
        if not -self.n <= i < self.n:
            raise IndexError(i)
        i %= self.n
        return self._cache.remember(
            i, lambda: self.bench.video(self.split, i, expressions=self.expressions, curves=self.curves))


def labels(clip: Clip, kind: str = "true") -> np.ndarray:
    """Per-frame intensity labels: the ground truth, or Fan et al.'s position label t / (T - 1)."""
    if kind == "position":
        return np.linspace(0.0, 1.0, len(clip)).astype(np.float32)
    if kind == "true":
        if clip.intensity is None:
            raise I2VError(f"clip {clip.video_id} has no true intensities; use position labels")
        return np.asarray(clip.intensity, dtype=np.float32)
    raise I2VError(f"unknown label kind {kind!r}; choose 'true' or 'position'")


def resample(clip: Clip, length: int) -> Clip:
    """``length`` frames uniformly (down- or up-)sampled from the clip, neutral first, peak last."""
    if length < 2:
        raise I2VError(f"a clip needs at least 2 frames, got {length}")
    idx = np.round(np.linspace(0, len(clip) - 1, length)).astype(int)
    return select(clip, idx)


def select(clip: Clip, idx) -> Clip:
    """The sub-clip made of frames ``idx`` (ground truth follows)."""
    idx = np.asarray(idx)
    pick = lambda x: None if x is None else np.asarray(x)[idx]  # noqa: E731
    return replace(clip, frames=clip.frames[idx], landmarks=pick(clip.landmarks), intensity=pick(clip.intensity),
                   masks=pick(clip.masks), frame_names=[clip.frame_names[i] for i in idx])


@dataclass
class ClipTransform:
    """A random crop (then resize back to ``size``) and horizontal flip, drawn once per clip."""

    size: int
    crop: tuple[float, float] = (0.9, 1.0)  # side of the square crop as a fraction of the frame
    flip: bool = True

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        h, w = clip.size
        side = int(round(min(h, w) * rng.uniform(*self.crop)))
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        flip = self.flip and rng.random() < 0.5
        return crop_clip(clip, (x0, y0, x0 + side, y0 + side), self.size, flip)


def crop_clip(clip: Clip, box, size: int, flip: bool = False) -> Clip:
    """Crop every frame (and mask) with one box, resize to ``size``, optionally mirror; landmarks follow."""
    frames = np.stack([crop(f, box, size) for f in clip.frames])
    masks = None if clip.masks is None else np.stack([crop(m, box, size) for m in clip.masks])
    lms = None
    if clip.landmarks is not None:
        lms = np.stack([box_transform(lm, box, size) for lm in clip.landmarks]).astype(np.float32)
    if flip:
        frames = frames[:, :, ::-1]
        masks = None if masks is None else masks[:, :, ::-1]
        if lms is not None:
            lms = lms[:, FLIP_68]
            lms[..., 0] = size - 1 - lms[..., 0]
    return replace(clip, frames=np.ascontiguousarray(frames), landmarks=lms,
                   masks=None if masks is None else np.ascontiguousarray(masks),
                   meta={**clip.meta, "crop": [int(v) for v in box], "flip": bool(flip)})


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 (...) x H x W x 3 -> float (...) x 3 x H x W in [-1, 1] (the generators' range)."""
    return normalise(torch.from_numpy(np.asarray(frames, dtype=np.float32).copy()))


def from_tensor(x: torch.Tensor) -> np.ndarray:
    """The inverse of :func:`to_tensor`: float (...) x 3 x H x W in [-1, 1] -> uint8 (...) x H x W x 3."""
    return to_pixels(x.detach()).cpu().numpy()


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """:func:`to_tensor` on a tensor, in torch operations only (an exported graph's input: see i2vlib.onnx_export)."""
    last = pixels.dim() - 1    # positive dims: the ONNX exporter writes negative ones into Transpose as they are
    return pixels.float().div(127.5).sub(1.0).movedim(last, last - 2)


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """:func:`from_tensor` as a uint8 tensor, in torch operations only (an exported graph's output)."""
    last = x.dim() - 1
    return x.movedim(last - 2, last).add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)
