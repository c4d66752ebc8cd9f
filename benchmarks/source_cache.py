"""The training loop's steps per second with the synthetic source's clip cache as it was (4096 clips) and as it is
(:data:`i2vlib.data.clips.CACHE_BYTES`), side by side, as JSON.

    python benchmarks/source_cache.py [--recipes affinegan-all frgan-faces-forecast] [--steps 6000]
                                      [--out benchmarks/results/source_cache.json]

Each recipe (a zoo entry's config, ``--steps`` steps, no snapshots) trains twice at once, one process per arm on
one thread each: ``before`` with the cache held to 4096 clips, ``now`` with the default budget. A seven-expression
recipe draws from 7000 videos, more than 4096, so ``before`` repaints a clip on about four draws in ten once its
cache is full. Reported per arm: steps per second over the last half of the run (the cache warm by then), over the
whole run, and the wall time; and whether the two arms' loss logs are equal (the cache changes no number). The
two arms share the machine at the same time, so a load that slows one slows the other.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from report import emit  # noqa: E402
from i2vlib import __version__, zoo  # noqa: E402
from i2vlib.io import read_losses  # noqa: E402
from i2vlib.errors import ArgumentParser  # noqa: E402

ARMS = ("before", "now")
OLD_CLIPS = 4096


def run_arm(recipe: str, arm: str, steps: int, out: str) -> None:
    """Train ``recipe`` for ``steps`` steps into ``out`` with ``arm``'s cache (in a process of its own)."""
    import torch

    from i2vlib.data import clips
    from i2vlib.data.sampling import training_source
    from i2vlib.train import train

    torch.set_num_threads(1)
    cfg = {**zoo.entry_config(recipe), "steps": steps, "checkpoint_every": steps}
    if arm == "before":                 # the training source's first clip, as the run will render it
        clips.CACHE_BYTES = OLD_CLIPS * training_source(cfg)[0].nbytes
    train(cfg, out, device="cpu", progress=False)


def rates(rows: list[dict]) -> dict:
    """Steps per second over the whole log and over its last half."""
    half = rows[len(rows) // 2]
    last = rows[-1]
    return {"steps_per_second": round(last["step"] / last["seconds"], 3),
            "last_half_steps_per_second": round((last["step"] - half["step"]) / (last["seconds"] - half["seconds"]),
                                                3),
            "seconds": round(last["seconds"], 1)}


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", default=["affinegan-all", "frgan-faces-forecast"])
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    result = {"benchmark": "source_cache", "i2vlib": __version__, "steps": args.steps, "threads_per_arm": 1,
              "old_cache_clips": OLD_CLIPS, "recipes": {}}
    ctx = mp.get_context("spawn")
    for recipe in args.recipes:
        with tempfile.TemporaryDirectory() as tmp:
            procs = {arm: ctx.Process(target=run_arm, args=(recipe, arm, args.steps, f"{tmp}/{arm}")) for arm in ARMS}
            start = time.perf_counter()
            for p in procs.values():
                p.start()
            for p in procs.values():
                p.join()
            if any(p.exitcode for p in procs.values()):
                sys.exit(f"source_cache: a run of {recipe} failed")
            logs = {arm: read_losses(Path(tmp) / arm) for arm in ARMS}
            strip = [{k: v for k, v in r.items() if k != "seconds"} for r in logs["before"]]
            same = strip == [{k: v for k, v in r.items() if k != "seconds"} for r in logs["now"]]
            arms = {arm: rates(rows) for arm, rows in logs.items()}
            result["recipes"][recipe] = {
                "arms": arms, "losses_equal": same, "wall_seconds": round(time.perf_counter() - start, 1),
                "speed_up": round(arms["now"]["last_half_steps_per_second"]
                                  / arms["before"]["last_half_steps_per_second"], 3)}
    emit(result, args.out)


if __name__ == "__main__":
    main()
