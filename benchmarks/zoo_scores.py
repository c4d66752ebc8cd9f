"""CPU seconds of measuring shipped zoo entries' scores one after another in one process, printed as JSON.

    python benchmarks/zoo_scores.py [--entries affinegan-seven affinegan-all ...] [--out FILE]

This is what ``tests/test_zoo.py::test_a_shipped_entry_reproduces_its_recorded_scores`` does for every shipped
entry on a test worker: entries with the same expressions are scored on the same test videos, so the order in one
process shows what a later entry reuses (the instrument's remembered frames, the benchmark's drawn videos).
Each entry's ``reproduced`` says whether its scores equal its record within the test's tolerance.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from report import emit, machine  # noqa: E402
import i2vlib  # noqa: E402
from i2vlib import __version__, zoo  # noqa: E402
from i2vlib.errors import ArgumentParser  # noqa: E402
from i2vlib.evaluate.zoo_scores import measure  # noqa: E402
from test_zoo import TOLERANCE, _flat  # noqa: E402  (the test's tolerance and its flattening of nested scores)

ENTRIES = ("affinegan-seven", "affinegan-all", "affinegan-happy", "fan-happy", "convlstm-happy")


def reproduced(again: dict, recorded: dict, tolerance: dict) -> bool:
    a, r = _flat(again), _flat(recorded)
    if set(a) != set(r):
        return False
    return all((a[k] is None) == (r[k] is None) and
               (r[k] is None or a[k] == pytest.approx(r[k], abs=tolerance["abs"], rel=tolerance["rel"])) for k in r)


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", nargs="+", default=list(ENTRIES), choices=zoo.names(), metavar="ENTRY",
                    help="shipped zoo entries, in this order")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)

    rows = {}
    for name in args.entries:
        model = i2vlib.load(f"zoo:{name}")
        cpu, wall = time.process_time(), time.perf_counter()
        scores = measure(model)
        rows[name] = {"cpu_seconds": round(time.process_time() - cpu, 1),
                      "wall_seconds": round(time.perf_counter() - wall, 1),
                      "reproduced": reproduced(scores, zoo.record(name)["scores"], TOLERANCE)}
    result = {**machine("zoo_scores", __version__, 1), "entries": rows,
              "cpu_seconds_total": round(sum(r["cpu_seconds"] for r in rows.values()), 1)}
    emit(result, args.out)


if __name__ == "__main__":
    main()
