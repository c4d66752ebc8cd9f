"""The training videos of FRGAN's two stages: different people for G_M and G_R (Zhao et al. §4.1).

"We split the subjects into three parts: one for training G_M, one for G_R, and one for testing."
On the face benchmark the training identities with index % 10 in 0-3 train G_M (``forecast``) and
4-7 train G_R (``refine``); its test split (% 10 = 9) is the third part. A folder's people are halved
by sorted name. The pose benchmark has its three person-disjoint thirds built in. ``split="all"``
lets both stages use every training identity; a one-stage pose baseline (VGAN, Mathieu et al.) trains on
both training thirds (:class:`PoseVideos` with ``splits=STAGES``), never on the test third.
"""

from __future__ import annotations

import numpy as np
import torch

from ..config import check_data
from ..errors import I2VError
from .clips import to_tensor
from .folders.dataset import FolderDataset
from .pose_benchmark import ACTIONS as POSE_ACTIONS
from .pose_benchmark import PoseBenchmark
from .sampling import WithMasks, training_source
from .synthetic import SyntheticBenchmark

STAGES = ("forecast", "refine")
THIRDS = {"forecast": range(0, 4), "refine": range(4, 8)}   # identity index % 10 -> the stage it trains


class StageVideos:
    """The first ``n`` benchmark videos of the people in ``identities`` (rendered once, cached).

    Video ``i``'s expression cycles through ``expressions`` and its intensity curve through ``curves``;
    its person and length are drawn from (seed, stage, i), the rest as
    :meth:`~i2vlib.data.synthetic.SyntheticBenchmark.draw_video` draws a benchmark video.
    """

    def __init__(self, bench: SyntheticBenchmark, identities, n: int, expressions, curves, stage: str):
        self.bench, self.identities, self.n = bench, np.asarray(identities), int(n)
        self.expressions, self.curves, self.stage = tuple(expressions), tuple(curves), stage
        self._cache: dict = {}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        if i not in self._cache:
            self._cache[i] = self._render(int(i))
        return self._cache[i]

    def _render(self, i: int):
        b = self.bench
        rng = np.random.default_rng([b.seed, 0xF6, STAGES.index(self.stage), i])
        person = b.identity(self.identities[rng.integers(len(self.identities))])
        expression = self.expressions[i % len(self.expressions)]
        curve = self.curves[(i // len(self.expressions)) % len(self.curves)]
        n = int(rng.integers(b.frames[0], b.frames[1] + 1))
        return b.draw_video(person, expression, curve, n, rng, "train", f"id{person.index:05d}_{self.stage[0]}{i:04d}",
                            masks=False)


def stage_identities(cfg: dict, stage: str) -> np.ndarray:
    """The benchmark identities that train ``stage`` (§4.1's thirds, or every training identity)."""
    ids = SyntheticBenchmark(cfg["image_size"], seed=cfg["seed"]).identities("train")
    return ids[np.isin(ids % 10, THIRDS[stage])] if cfg["split"] == "thirds" else ids


def stage_source(cfg: dict):
    """The training clips of a face config's stage: its identities' benchmark videos, or its half of a folder."""
    if check_data(cfg["data"]) == "synthetic":
        bench = SyntheticBenchmark(cfg["image_size"], seed=cfg["seed"], frames=tuple(cfg["frames"]),
                                   jitter=float(cfg["jitter"]))
        return StageVideos(bench, stage_identities(cfg, cfg["stage"]), cfg["videos"] * len(cfg["expressions"]),
                           cfg["expressions"], cfg["train_curves"], cfg["stage"])
    source = training_source(cfg)
    if cfg["split"] == "all":
        return source
    ds, people = source.ds, sorted({r.identity for r in source.ds.refs})
    if len(people) < 2:
        raise I2VError(f"{cfg['data']} has {len(people)} person; frgan's stages train on different people "
                       "(split='thirds', §4.1): give more people or set split=\"all\"")
    half = set(people[:len(people) // 2] if cfg["stage"] == "forecast" else people[len(people) // 2:])
    return WithMasks(FolderDataset([r for r in ds.refs if r.identity in half], ds.root, ds.layout, ds.size, ds.info))


class PoseVideos:
    """``videos`` videos of each action of one pose-benchmark third (both training thirds with
    ``split="all"``; or of ``splits``), of every action or of ``actions`` only, rendered on first use and kept;
    :meth:`clip` draws one at random, :meth:`windows` runs of consecutive frames."""

    def __init__(self, cfg: dict, splits=None, actions=POSE_ACTIONS):
        self.bench = PoseBenchmark(int(cfg["image_size"]), seed=int(cfg["seed"]), frames=int(cfg["frames"][1]))
        if splits is None:                                   # a stage of FRGAN trains on its third
            splits = (cfg["stage"],) if cfg["split"] == "thirds" else STAGES
        self.splits, self.actions = tuple(splits), tuple(actions)
        self.n = int(cfg["videos"]) * len(self.actions) * len(self.splits)
        self._cache: dict = {}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        if i not in self._cache:
            # the j-th video of the actions; benchmark video i performs ACTIONS[i % 8]
            j, k = i // len(self.splits), len(self.actions)
            index = POSE_ACTIONS.index(self.actions[j % k]) + len(POSE_ACTIONS) * (j // k)
            self._cache[i] = self.bench.video(self.splits[i % len(self.splits)], index)
        return self._cache[i]

    def clip(self, rng: np.random.Generator):
        return self[int(rng.integers(self.n))]

    def windows(self, rng: np.random.Generator, n: int, length: int):
        """``n`` runs of ``length`` consecutive frames, each of a random video from a random start (VGAN's
        "randomly picked video clips"): (n, length, 3, S, S) in [-1, 1]."""
        out = []
        for _ in range(int(n)):
            video = self.clip(rng)
            start = int(rng.integers(0, len(video) - length + 1))
            out.append(to_tensor(video.frames[start:start + length]))
        return torch.stack(out)


def check_pose_config(cfg: dict) -> dict:
    """What a config of the pose benchmark must say (FRGAN §4.3's protocol): the built-in benchmark, no
    expressions, and videos of one length of at least 42 frames (10 observed + 32 predicted)."""
    name = cfg["method"]
    if cfg["data"] != "synthetic":
        raise I2VError(f"{name} trains on the built-in pose benchmark (data=\"synthetic\"), got {cfg['data']!r}")
    if cfg["expressions"] != ["happy"]:   # the shared default, which a pose config carries unused
        raise I2VError(f"{name} has no expressions on the pose benchmark (its videos show actions); drop "
                       f"expressions={cfg['expressions']}")
    lo, hi = (int(x) for x in cfg["frames"])
    if lo != hi or hi < 42:
        raise I2VError(f"{name} pose videos have one length of at least 42 frames (10 observed + 32 predicted): "
                       f"frames=[{hi}, {hi}] with {hi} >= 42, got {cfg['frames']}")
    return cfg
