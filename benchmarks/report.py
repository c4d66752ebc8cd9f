"""What every benchmark does with its result: print it as JSON and, if asked, write it to a file; and
what the renderer benchmarks share: their options, the machine they ran on, a rate and its median."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from i2vlib.errors import ArgumentParser


def emit(result: dict, out: Path | None) -> None:
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


def renderer_options(description: str, sizes: list[int]) -> argparse.Namespace:
    """The command line of a renderer benchmark (one core, ``--seconds`` per measurement, the median of
    ``--repeats``)."""
    ap = ArgumentParser(description=description)
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--repeats", type=int, default=3, help="measurements per figure; the median is reported")
    ap.add_argument("--sizes", type=int, nargs="+", default=sizes)
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    return ap.parse_args()


def machine(name: str, version: str, repeats: int) -> dict:
    """The head of a one-core benchmark's result."""
    return {"benchmark": name, "i2vlib": version, "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "cores_available": os.cpu_count(),
            "threads_used": 1, "repeats": repeats}


def per_second(step, seconds: float) -> float:
    """How many calls of ``step(n)`` (n = 0, 1, ...; it returns how many items it made, or None for one)
    finish per second, over ``seconds``."""
    n = items = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        made = step(n)
        items += 1 if made is None else made
        n += 1
    return items / (time.perf_counter() - start)


def median(measure, size: int, args) -> float:
    """The median of ``args.repeats`` measurements ``measure(size, args.seconds)``."""
    return round(float(np.median([measure(size, args.seconds) for _ in range(args.repeats)])), 1)
