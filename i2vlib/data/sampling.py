"""The one sampler layer: every trainer draws its batches here.

A *source* is a sequence of :class:`~i2vlib.clip_record.Clip` (synthetic videos or a folder). A
:class:`Sampler` draws examples from it with a ``numpy.random.Generator`` (the training loop
seeds one per step, so a batch depends only on (seed, step)):

``pairs``   (neutral, target) frame pairs, optionally with the target's intensity label, Fan et
            al.'s label triplet (a - da, a, a + da) of Eq. 5, and its landmarks;
``clips``   fixed-length clips, uniformly resampled (ConvLSTM; a refiner);
``jumps``   (frame t, frame t + k) pairs with random t and k (FRGAN's G_M, §3.2).

With ``augment=True`` every example gets the clip-consistent random crop and flip of
:class:`~.clips.ClipTransform`, drawn once per clip, so that its frames, landmarks and masks
move together. With ``crop=S`` frames larger than S x S are first cut to a random S x S window,
unscaled and again once per clip (Fan et al. §4.1: frames resized to 289 x 289, randomly cropped
to 256 x 256); a config's ``load_size`` is the size :func:`training_source` renders them at.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ..config import check_data
from ..errors import I2VError
from ..faces.masks import eyes_mask, mouth_mask
from .clips import ClipTransform, SyntheticVideos, crop_clip, labels, resample, to_tensor
from .folders import detect_layout, open_dataset
from .synthetic import SyntheticBenchmark


def training_source(cfg: dict):
    """Training clips for a method config: synthetic (train split, ``videos`` per expression) or a folder,
    at ``load_size`` where the config has one (the frames a :class:`Sampler` with ``crop`` then cuts)."""
    data = check_data(cfg["data"])
    size = cfg.get("load_size") or cfg["image_size"]
    if data == "synthetic":
        bench = SyntheticBenchmark(size, seed=cfg["seed"], frames=tuple(cfg["frames"]), jitter=float(cfg["jitter"]))
        return SyntheticVideos(bench, "train", cfg["videos"] * len(cfg["expressions"]),
                               expressions=cfg["expressions"], curves=cfg["train_curves"])

    layout = detect_layout(data)
    if layout != "affinegan":   # the readers of raw layouts neither crop nor resize: i2v prepare does
        raise I2VError(f"{data} is in the {layout} layout; training reads the AffineGAN layout that "
                       f"`i2v prepare {data} OUT` writes (faces found, aligned and cropped)")
    ds = open_dataset(data, size=size)
    have = set(ds.expressions)
    missing = [e for e in cfg["expressions"] if e not in have]
    if missing:
        hint = "; label them with i2v prepare --expression NAME" if have == {"unlabelled"} else ""
        raise I2VError(f"{data} has no videos of {', '.join(missing)} "
                       f"(it has {', '.join(sorted(have)) or 'none'}){hint}")
    if "train" not in ds.splits and set(ds.splits) <= {"val", "test"}:
        raise I2VError(f"{data} holds only {' and '.join(sorted(ds.splits))} videos: training on them would leave "
                       "nothing unseen to evaluate on; put the training videos under a train split")
    ds = ds.filter(split="train" if "train" in ds.splits else None, expressions=cfg["expressions"])
    if len(ds) == 0:
        raise I2VError(f"{data} has no training videos")
    return WithMasks(ds)


class WithMasks:
    """Clips of a folder, with mouth masks from the landmarks where the folder has none."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        clip = self.ds[i]
        if clip.masks is None and clip.landmarks is not None:
            h, w = clip.frames.shape[1:3]
            clip = replace(clip, masks=np.stack([mouth_mask(lm, (h, w)) for lm in clip.landmarks]))
        return clip


class Sampler:
    """Batches of training examples from the clips of ``source``.

    ``expressions`` maps each clip's expression to the index the batch carries (``expression``);
    ``crop``: the side of the random window cut from larger frames (None: frames are used whole).
    """

    def __init__(self, source, expressions, augment: bool = False, crop: int | None = None):
        if len(source) == 0:
            raise I2VError("the data source has no clips")
        self.source, self.expressions, self.crop = source, list(expressions), crop
        self.transform = None
        if augment:
            self.transform = ClipTransform(crop or source[0].size[0])

    def clip(self, rng: np.random.Generator):
        """One random clip (cropped and flipped when augmenting); every example needs two frames at least."""
        clip = self.source[int(rng.integers(len(self.source)))]
        if len(clip) < 2:
            raise I2VError(f"clip {clip.video_id} has {len(clip)} frame(s); training needs at least 2")
        if self.crop and max(clip.size) > self.crop:
            (h, w), s = clip.size, self.crop
            if min(h, w) < s:
                raise I2VError(f"clip {clip.video_id} has {w}x{h} frames, smaller than the {s}x{s} crop")
            y0, x0 = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
            clip = crop_clip(clip, (x0, y0, x0 + s, y0 + s), s)
        return self.transform(clip, rng) if self.transform else clip

    @staticmethod
    def _mask(clip, t: int, region: str) -> np.ndarray:
        """Frame ``t``'s local patch of ``region``: the clip's mouth mask, or the brows and eyes of its landmarks
        (:func:`~i2vlib.faces.masks.eyes_mask`); zeros where the clip has neither."""
        size = clip.frames.shape[1:3]
        if region == "eyes":
            if clip.landmarks is None:
                return np.zeros(size, bool)
            return eyes_mask(np.asarray(clip.landmarks[t], np.float32), size)
        return clip.masks[t] if clip.masks is not None else np.zeros(size, bool)

    def pairs(self, rng: np.random.Generator, n: int, first: int = 1, label: str | None = None,
              delta_a: float | None = None, landmarks: bool = False, per_video: int | None = None,
              region: str = "mouth") -> dict:
        """``n`` (neutral, target) pairs: the clip's frame 0 and a random frame t >= ``first``.

        Keys: ``neutral``, ``target``, ``mask`` (the target's mouth, or with ``region="eyes"`` its brows and eyes
        drawn from its landmarks; zeros if unknown), ``expression``;
        with ``label`` (``"true"`` or ``"position"``) also ``a``, the target's intensity, and with
        ``delta_a`` the triplet ``a_minus``, ``a_plus`` = a -+ delta_a clipped to [0, 1] (Fan et al. Eq. 5);
        with ``landmarks`` also ``landmarks`` (N, 68, 2) and ``has_landmarks``.

        ``per_video=k``: the pairs come k at a time from ``n / k`` random videos, their k targets drawn
        without replacement where the video has k frames to give (AffineGAN §4: "for each video, we use
        the first frame as the neutral face and pair it with five randomly sampled frames"; Fan et al.
        §4.1: one video clip per batch). None: every pair from its own random video.
        """
        rows = {k: [] for k in ("neutral", "target", "mask", "expression", "a", "landmarks", "has_landmarks")}
        for clip, t in self._targets(rng, n, first, per_video):
            rows["neutral"].append(to_tensor(clip.frames[0]))
            rows["target"].append(to_tensor(clip.frames[t]))
            m = self._mask(clip, t, region)
            rows["mask"].append(torch.from_numpy(np.asarray(m)).float()[None])
            rows["expression"].append(self.expressions.index(clip.expression))
            if label:
                rows["a"].append(float(labels(clip, label)[t]))
            if landmarks:
                lm = clip.landmarks[t] if clip.landmarks is not None else np.zeros((68, 2))
                rows["landmarks"].append(torch.as_tensor(np.asarray(lm), dtype=torch.float32))
                rows["has_landmarks"].append(clip.landmarks is not None)
        batch = {k: torch.stack(rows[k]) for k in ("neutral", "target", "mask")}
        batch["expression"] = torch.tensor(rows["expression"])
        if label:
            batch["a"] = torch.tensor(rows["a"])
            if delta_a is not None:
                batch["a_minus"] = (batch["a"] - delta_a).clamp(0, 1)
                batch["a_plus"] = (batch["a"] + delta_a).clamp(0, 1)
        if landmarks:
            batch["landmarks"] = torch.stack(rows["landmarks"])
            batch["has_landmarks"] = torch.tensor(rows["has_landmarks"])
        return batch

    def _targets(self, rng: np.random.Generator, n: int, first: int, per_video: int | None):
        """(clip, target frame index) for ``n`` pairs, one clip per pair or ``per_video`` pairs per clip."""
        if per_video is None:
            for _ in range(n):
                clip = self.clip(rng)
                yield clip, int(rng.integers(first, len(clip)))
            return
        if per_video < 1 or n % per_video:
            raise I2VError(f"a batch of {n} pairs is not whole videos of {per_video} pairs")
        for _ in range(n // per_video):
            clip = self.clip(rng)
            choices = len(clip) - first
            ts = first + rng.choice(choices, per_video, replace=choices < per_video)
            yield from ((clip, int(t)) for t in np.sort(ts))

    def clips(self, rng: np.random.Generator, n: int, length: int) -> dict:
        """``n`` clips resampled to ``length`` frames: ``neutral`` (frame 0) and ``target`` (frames 1 ...)."""
        picked = [resample(self.clip(rng), length) for _ in range(n)]
        return {"neutral": torch.stack([to_tensor(c.frames[0]) for c in picked]),
                "target": torch.stack([to_tensor(c.frames[1:]) for c in picked]),
                "expression": torch.tensor([self.expressions.index(c.expression) for c in picked])}

    def jumps(self, rng: np.random.Generator, n: int, max_k: int | None = None) -> dict:
        """``n`` pairs (frame t, frame t + k) with random t and k >= 1 (``k <= max_k``): ``source``,
        ``target``, their indices ``t`` and ``k``, and the landmarks of both when the clip has them."""
        rows = {k: [] for k in ("source", "target", "t", "k", "source_landmarks", "target_landmarks")}
        for _ in range(n):
            clip = self.clip(rng)
            k = int(rng.integers(1, min(len(clip) - 1, max_k or len(clip)) + 1))
            t = int(rng.integers(0, len(clip) - k))
            rows["source"].append(to_tensor(clip.frames[t]))
            rows["target"].append(to_tensor(clip.frames[t + k]))
            rows["t"].append(t)
            rows["k"].append(k)
            if clip.landmarks is not None:
                rows["source_landmarks"].append(torch.as_tensor(clip.landmarks[t], dtype=torch.float32))
                rows["target_landmarks"].append(torch.as_tensor(clip.landmarks[t + k], dtype=torch.float32))
        batch = {"source": torch.stack(rows["source"]), "target": torch.stack(rows["target"]),
                 "t": torch.tensor(rows["t"]), "k": torch.tensor(rows["k"])}
        if len(rows["source_landmarks"]) == n:
            batch["source_landmarks"] = torch.stack(rows["source_landmarks"])
            batch["target_landmarks"] = torch.stack(rows["target_landmarks"])
        return batch
