"""Pieces every method's ``Trainer`` shares: the training clips, the learning-rate schedule,
and switching discriminators on and off between the two halves of a GAN step."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ..errors import I2VError


def apply_overrides(method: str, cfg: dict, overrides: dict) -> dict:
    """``cfg`` updated with ``overrides``: ``None`` values are skipped, an unknown option is an error,
    and ``weights`` (a dict of loss weights) is merged into the defaults."""
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in cfg:
            raise I2VError(f"unknown {method} option {key!r}; known: {', '.join(sorted(cfg))}")
        if key == "weights":
            if not isinstance(value, dict):
                raise I2VError(f"{method} option weights must be a dict of loss weights, got {value!r}")
            unknown = set(value) - set(cfg["weights"])
            if unknown:
                raise I2VError(f"unknown {method} loss weight(s) {sorted(unknown)}; known: {', '.join(cfg['weights'])}")
            value = {**cfg["weights"], **value}
        cfg[key] = value
    return cfg


class ClipSource:
    """For a ``Trainer``: ``source()``, the training clips of ``self.cfg``, opened on first use."""

    _data = None

    def source(self):
        if self._data is None:
            self._data = training_source(self.cfg)
        return self._data


def training_source(cfg: dict):
    """Training clips for ``cfg``: synthetic (train split, ``videos`` per expression) or a folder.

    ``cfg["jitter"]`` (default 1, the benchmark's small head motion) scales the head motion of
    synthetic training videos; 0 gives registered faces, as face-aligned datasets provide.
    """
    from ..config import check_data

    data = check_data(cfg["data"])
    if data == "synthetic":
        from ..data.clips import SyntheticVideos
        from ..data.synthetic import SyntheticBenchmark

        bench = SyntheticBenchmark(cfg["image_size"], seed=cfg["seed"], frames=tuple(cfg["frames"]),
                                   jitter=float(cfg.get("jitter", 1.0)))
        return SyntheticVideos(bench, "train", cfg["videos"] * len(cfg["expressions"]),
                               expressions=cfg["expressions"], profiles=cfg["train_profiles"])
    from ..data.folders import open_dataset

    ds = open_dataset(data, size=cfg["image_size"])
    have = set(ds.expressions)
    missing = [e for e in cfg["expressions"] if e not in have]
    if missing:
        raise I2VError(f"{data} has no videos of {', '.join(missing)} (it has {', '.join(sorted(have)) or 'none'})")
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
        from ..faces.masks import mouth_mask

        clip = self.ds[i]
        if clip.masks is None and clip.landmarks is not None:
            h, w = clip.frames.shape[1:3]
            clip = replace(clip, masks=np.stack([mouth_mask(lm, (h, w)) for lm in clip.landmarks]))
        return clip


def linear_decay(optimizers: dict, steps: int, decay_from: float) -> dict:
    """Constant learning rate, then linear decay to 0 over the last ``1 - decay_from`` of the steps (pix2pix)."""
    start = int(decay_from * steps)

    def factor(s: int) -> float:
        return 1.0 if s < start else max(0.0, (steps - s) / max(1, steps - start))

    return {k: torch.optim.lr_scheduler.LambdaLR(o, factor) for k, o in optimizers.items()}


def requires_grad(nets, flag: bool) -> None:
    """Freeze (``False``) or unfreeze the parameters of ``nets`` (the discriminators during the generator's half)."""
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)
