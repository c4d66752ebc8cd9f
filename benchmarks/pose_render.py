"""Frames per second of the pose benchmark on one CPU core, printed as JSON.

    python benchmarks/pose_render.py [--seconds 2] [--out benchmarks/results/pose_render.json]

``frames_per_second``: rendered frames (image and part labels, joints, visibility) of whole videos'
motions, with the video's background precomputed. ``video_frames_per_second``: ``PoseBenchmark.video``
end to end (motion, placement, background, rendering), per frame. ``sequences_per_second``:
``PoseBenchmark.sequence``, the joints and visibility of a video without pixels (what the LSTM trains on).
The renderer is pure numpy and single-threaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import emit, machine, median, per_second, renderer_options  # noqa: E402
from i2vlib import __version__  # noqa: E402
from i2vlib.data.pose_benchmark import PoseBenchmark  # noqa: E402


def frames_per_second(size: int, seconds: float) -> float:
    bench = PoseBenchmark(size=size, seed=0)
    jobs = [(bench.identity_of("forecast", i), bench.motion("forecast", i), bench.background("forecast", i))
            for i in range(8)]   # one video of each action

    def frame(n):
        person, motion, bg = jobs[(n // 48) % 8]
        bench.render(person, motion[n % 48], bg)

    return per_second(frame, seconds)


def video_frames_per_second(size: int, seconds: float) -> float:
    bench = PoseBenchmark(size=size, seed=0)
    return per_second(lambda n: len(bench.video("forecast", n)), seconds)


def sequences_per_second(size: int, seconds: float) -> float:
    bench = PoseBenchmark(size=size, seed=0)
    return per_second(lambda n: bench.sequence("forecast", n) and 1, seconds)


def main() -> None:
    args = renderer_options(__doc__.splitlines()[0], [64, 128])
    result = {
        **machine("pose_render", __version__, args.repeats),
        "frames_per_second": {str(s): median(frames_per_second, s, args) for s in args.sizes},
        "video_frames_per_second": {str(s): median(video_frames_per_second, s, args) for s in args.sizes},
        "sequences_per_second": {"48 frames": median(sequences_per_second, 64, args)},
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
