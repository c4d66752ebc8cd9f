"""CPU seconds of a chapter kernel's first cell (the imports every chapter makes), in fresh processes, as JSON.

    python benchmarks/chapter_imports.py [--repeats 5] [--out FILE]

Every chapter starts a kernel and imports numpy, torch, matplotlib, myst-nb's ``glue`` and i2vlib; the smoke book
runs 18 such kernels, the tests more. The first ``glue`` imports nbformat, which imports jsonschema's format checkers; from
jsonschema 4.25 on, those import ``rfc3987_syntax``, which builds its IRI grammars when imported (about 2 s of one
core: python-jsonschema/jsonschema#1428). ``rfc3987_syntax`` says whether this environment imports it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import emit, machine  # noqa: E402
from i2vlib import __version__  # noqa: E402
from i2vlib.errors import ArgumentParser  # noqa: E402

CHAPTER_IMPORTS = """
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from myst_nb import glue

import i2vlib as i2v
cfg = i2v.render.setup("smoke")
glue("steps", 40, display=False)
"""
GLUE_ONLY = "from myst_nb import glue\nglue('steps', 40, display=False)"
SAYS = "import sys, json; print(json.dumps('rfc3987_syntax' in sys.modules))"


def child_seconds(code: str) -> tuple[float, float]:
    """(CPU, wall) seconds of a fresh one-thread Python running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def figures(code: str, repeats: int) -> dict:
    runs = [child_seconds(code) for _ in range(repeats)]
    return {"cpu_seconds_median": round(float(np.median([c for c, _ in runs])), 2),
            "wall_seconds_median": round(float(np.median([w for _, w in runs])), 2)}


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="fresh processes per figure; the median is reported")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    says = subprocess.run([sys.executable, "-c", f"{GLUE_ONLY}\n{SAYS}"], check=True, capture_output=True, text=True)
    result = {**machine("chapter_imports", __version__, args.repeats),
              "jsonschema": metadata.version("jsonschema"), "rfc3987_syntax": json.loads(says.stdout),
              "chapter_imports": figures(CHAPTER_IMPORTS, args.repeats),
              "glue_only": figures(GLUE_ONLY, args.repeats)}
    emit(result, args.out)


if __name__ == "__main__":
    main()
