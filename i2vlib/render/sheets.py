"""Contact sheets of the two benchmarks: what the README, the Data chapter and ``i2v contact-sheet`` show."""

from __future__ import annotations

import numpy as np

from ..clip_record import EXPRESSIONS
from ..data.pose_benchmark import ACTIONS, PoseBenchmark
from ..data.synthetic import SyntheticBenchmark
from .frames import intensity_labels
from .grid import frame_grid


def contact_sheet(bench: SyntheticBenchmark, identities=(9, 19, 29), expressions=EXPRESSIONS,
                  intensities=(0.0, 0.25, 0.5, 0.75, 1.0)) -> np.ndarray:
    """A labelled grid: one row per expression, one block of intensities per identity (no jitter, no noise)."""
    blocks = []
    for k, ident in enumerate(identities):
        rows = [[bench.frame(ident, {e: a})[0] for a in intensities] for e in expressions]
        blocks.append(frame_grid(rows, row_labels=list(expressions) if k == 0 else None,
                                 col_labels=[f"#{ident} {s}" if j == 0 else s
                                             for j, s in enumerate(intensity_labels(intensities))]))
    h = max(b.shape[0] for b in blocks)  # label fonts may shrink differently per block
    blocks = [np.pad(b, ((h - b.shape[0], 0), (0, 8), (0, 0)), constant_values=255) for b in blocks]
    return np.concatenate(blocks, axis=1)[:, :-8]


def pose_contact_sheet(bench: PoseBenchmark, identities=None, frames_per_action: int = 8) -> np.ndarray:
    """A labelled grid: one row per action (test video ``k`` performs ``ACTIONS[k]``), frames sampled evenly
    over the video; ``identities`` (test identity indices, cycled over the rows) replace the videos' performers."""
    rows = []
    ts = np.linspace(0, bench.frames - 1, frames_per_action).round().astype(int)
    for k, action in enumerate(ACTIONS):
        motion, bg = bench.motion("test", k), bench.background("test", k)
        who = bench.identity_of("test", k) if identities is None else bench.identity(identities[k % len(identities)])
        rows.append([bench.render(who, motion[t], bg)[0] for t in ts])
    return frame_grid(rows, row_labels=[a.replace("_", " ") for a in ACTIONS], col_labels=[f"t={t}" for t in ts])
