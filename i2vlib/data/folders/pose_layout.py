"""The pose benchmark on disk (``i2v synth --kind pose``): PNG frames, the joints of every frame, an index.

    <root>/<split>/<action>/<video_id>/0000.png ...   the frames
    <root>/<split>/<action>/<video_id>/pose.npz       joints, visibility, depth, part labels
    <root>/pose.json                                  benchmark settings and one entry per video
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...io import write_image
from ...outputs import atomic_dir, check_replaceable
from ..pose_benchmark import ACTIONS, JOINTS, PARTS, SPLITS, PoseBenchmark


def write_pose(root, bench: PoseBenchmark, splits=SPLITS, videos: int = 2, overwrite: bool = False) -> dict:
    """Write ``videos`` videos of each action of each split (video ``i`` performs ``ACTIONS[i % 8]``) to
    ``root``, atomically (an error or Ctrl-C leaves no half-written folder); returns the index."""
    root = check_replaceable(root, overwrite)
    index = {"kind": "pose", "seed": bench.seed, "size": bench.size, "frames": bench.frames, "joints": JOINTS,
             "actions": ACTIONS, "parts": PARTS, "splits": SPLITS, "videos": []}
    with atomic_dir(root) as tmp:
        for split in splits:
            for i in range(videos * len(ACTIONS)):
                v = bench.video(split, i)
                folder = Path(tmp) / split / v.action / v.video_id
                folder.mkdir(parents=True)
                for t, frame in enumerate(v.frames):
                    write_image(folder / f"{t:04d}.png", frame)
                np.savez_compressed(folder / "pose.npz", joints=v.joints, visibility=v.visibility, depth=v.depth,
                                    parts=v.parts)
                index["videos"].append({"video_id": v.video_id, "index": i, "split": split, "action": v.action,
                                        "identity": v.identity, "path": f"{split}/{v.action}/{v.video_id}"})
        (Path(tmp) / "pose.json").write_text(json.dumps(index, indent=1) + "\n")
    return index
