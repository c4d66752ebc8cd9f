"""Frames per second of the synthetic benchmark on one CPU core, printed as JSON.

    python benchmarks/synthetic_fps.py [--seconds 3] [--out benchmarks/results/synthetic_fps.json]

``frame``: one rendered frame (a random identity, expression and intensity, with jitter
and noise). ``video``: whole videos with landmarks and mouth masks, per frame.
The renderer is single-threaded; a DataLoader with W workers scales it about W times.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import emit  # noqa: E402
from i2vlib import EXPRESSIONS, __version__  # noqa: E402
from i2vlib.data.synthetic import SyntheticBenchmark, jitter_track  # noqa: E402


def frames_per_second(size: int, seconds: float) -> float:
    bench = SyntheticBenchmark(size=size, seed=0)
    rng = np.random.default_rng(0)
    ids = bench.identities("train")
    for i in ids[:50]:  # identities are built once and cached; time the rendering
        bench.identity(i)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        pose = jitter_track(1, rng)[0]
        bench.frame(int(ids[n % 50]), {EXPRESSIONS[n % 7]: float(rng.random())}, pose=pose, rng=rng)
        n += 1
    return n / (time.perf_counter() - start)


def video_frames_per_second(size: int, seconds: float) -> float:
    bench = SyntheticBenchmark(size=size, seed=0, frames=(16, 16))
    n = frames = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        frames += len(bench.video("train", n))
        n += 1
    return frames / (time.perf_counter() - start)


def median(measure, size: int, args) -> float:
    return round(float(np.median([measure(size, args.seconds) for _ in range(args.repeats)])), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--repeats", type=int, default=3, help="measurements per figure; the median is reported")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    result = {
        "benchmark": "synthetic_fps",
        "i2vlib": __version__,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores_available": os.cpu_count(),
        "threads_used": 1,
        "repeats": args.repeats,
        "frames_per_second": {str(s): median(frames_per_second, s, args) for s in args.sizes},
        "video_frames_per_second": {str(s): median(video_frames_per_second, s, args) for s in args.sizes},
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
