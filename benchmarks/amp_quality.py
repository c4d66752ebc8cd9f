"""Does CPU bf16 autocast change what AffineGAN learns? A short run each way, printed as JSON.

    python benchmarks/amp_quality.py [--steps 600] [--threads 2] [--out benchmarks/results/amp_quality.json]

The public code's architecture (``speed.PUBLIC_CODE``: widths 64, the 70x70 PatchGAN, one
video's five pairs a step) on the book profile's data and learning rate, trained from the same
seed with ``amp="off"`` and with ``amp="bf16"``; for each: the seconds and pairs per second of the
whole run, the mean of every loss over the last tenth of training, and the zoo's scores
(:func:`i2vlib.evaluate.zoo_scores.measure`) of the final generator on ``--videos`` unseen test videos. bf16 is
worth using on the CPU only if it is faster and these numbers stay within their run-to-run noise.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import emit  # noqa: E402
from speed import PUBLIC_CODE  # noqa: E402
from i2vlib import __version__  # noqa: E402
from i2vlib.models import get_method  # noqa: E402
from i2vlib.io import read_losses  # noqa: E402
from i2vlib.io import log_tenth  # noqa: E402
from i2vlib.runs import load  # noqa: E402
from i2vlib.train import train  # noqa: E402
from i2vlib.evaluate.zoo_scores import measure  # noqa: E402
from i2vlib.errors import ArgumentParser  # noqa: E402

KEYS = ("strength_ratio", "acd_i_ratio", "psnr", "expression_accuracy", "inferred_intensity_rho")


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--videos", type=int, default=6, help="unseen test videos the scores are measured on")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = get_method("affinegan").default_config("book", **PUBLIC_CODE, steps=args.steps,
                                                 checkpoint_every=args.steps)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for amp in ("off", "bf16"):
            out = Path(tmp) / amp
            start = time.perf_counter()
            train(cfg, out, device="cpu", amp=amp, progress=False)
            seconds = time.perf_counter() - start
            losses = read_losses(out)
            scores = measure(load(out), videos=args.videos)
            runs[amp] = {"seconds": round(seconds, 1),
                         "pairs_per_second": round(args.steps * cfg["batch"] / seconds, 2),
                         "losses_last_tenth": {k: round(log_tenth(losses, k), 4)
                                               for k in losses[-1] if k not in ("step", "seconds")},
                         "scores": {k: scores.get(k) for k in KEYS}}
    emit({"benchmark": "amp_quality", "i2vlib": __version__, "torch": torch.__version__,
          "python": platform.python_version(), "threads_used": args.threads, "steps": args.steps,
          "config": PUBLIC_CODE, "runs": runs}, args.out)


if __name__ == "__main__":
    main()
