"""How long ``i2v claims`` takes to answer, as a user runs it: a new process each time, its wall time.

    python benchmarks/claims_speed.py [--runs 3] [--out benchmarks/results/claims_speed.json]

Times ``i2v claims --json`` (the shipped verdicts, i2vlib/records/verdicts.json, read while the records are what it was
computed from), ``i2v claims`` (the text) and, once, the judging anew that a change of the records makes it do
(``python -m i2vlib.records.verdicts``, into a temporary folder's copy). Prints JSON: each command's runs in seconds,
their median, the machine's load average beside them, and whether the shipped verdicts were current.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from i2vlib.errors import ArgumentParser

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import emit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - start


def main() -> None:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", type=Path, help="also write the JSON here")
    args = p.parse_args()
    from i2vlib.records import verdicts

    current = json.loads(verdicts.SNAPSHOT.read_text()).get("state") == verdicts.state()
    i2v = [sys.executable, "-m", "i2vlib"]
    out = {"shipped verdicts current": current, "load average before": os.getloadavg()}
    for name, argv in (("i2v claims --json", [*i2v, "claims", "--json"]), ("i2v claims", [*i2v, "claims"])):
        runs = [round(timed(argv), 2) for _ in range(args.runs)]
        out[name] = {"seconds": runs, "median": statistics.median(runs)}
    out["judged anew (python -m i2vlib.records.verdicts)"] = {"seconds": round(timed(
        [sys.executable, "-c", "from i2vlib.records import verdicts; verdicts.snapshot()"]), 1)}
    out["load average after"] = os.getloadavg()
    emit(out, args.out)


if __name__ == "__main__":
    main()
