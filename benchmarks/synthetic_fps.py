"""Frames per second of the synthetic benchmark on one CPU core, printed as JSON.

    python benchmarks/synthetic_fps.py [--seconds 3] [--out benchmarks/results/synthetic_fps.json]

``frame``: one rendered frame (a random identity, expression and intensity, with jitter
and noise). ``video``: whole videos with landmarks and mouth masks, per frame.
The renderer is single-threaded; a DataLoader with W workers scales it about W times.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import emit, machine, median, per_second, renderer_options  # noqa: E402
from i2vlib import EXPRESSIONS, __version__  # noqa: E402
from i2vlib.data.synthetic import SyntheticBenchmark, jitter_track  # noqa: E402


def frames_per_second(size: int, seconds: float) -> float:
    bench = SyntheticBenchmark(size=size, seed=0)
    rng = np.random.default_rng(0)
    ids = bench.identities("train")
    for i in ids[:50]:  # identities are built once and cached; time the rendering
        bench.identity(i)

    def frame(n):
        pose = jitter_track(1, rng)[0]
        bench.frame(int(ids[n % 50]), {EXPRESSIONS[n % 7]: float(rng.random())}, pose=pose, rng=rng)

    return per_second(frame, seconds)


def video_frames_per_second(size: int, seconds: float) -> float:
    bench = SyntheticBenchmark(size=size, seed=0, frames=(16, 16))
    return per_second(lambda n: len(bench.video("train", n)), seconds)


def main() -> None:
    args = renderer_options(__doc__.splitlines()[0], [64, 128, 256])
    result = {
        **machine("synthetic_fps", __version__, args.repeats),
        "frames_per_second": {str(s): median(frames_per_second, s, args) for s in args.sizes},
        "video_frames_per_second": {str(s): median(video_frames_per_second, s, args) for s in args.sizes},
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
