"""Training throughput and slider latency of a method, printed as JSON.

    python benchmarks/speed.py --method affinegan|fan|frgan [--device auto] [--threads 2]
                               [--out benchmarks/results/METHOD_speed.json]

``train``: training examples per second of full training steps with the book profile's network
widths, at 64 and 128 px. For AffineGAN an example is a (neutral, target) pair (Eq. 12: three
encoder passes, two decoder passes, three discriminators); for Fan et al. a frame V(a) with its
two neighbours V(a -+ 0.1) of R_t (two encoder passes, three decoder passes, two discriminators).
FRGAN trains in two stages, measured apart (``train.forecast``, ``train.refine``). Forecast: an
example is a pair (I_t, I_{t+k}) with its motion maps (Eq. 2-9: one G_M pass, f_I once and f_M
twice; D_I on the real and the forecast frame and on the WGAN-GP interpolate, then once more in the
generator's half). Refine: an example is a clip, the input frame I_t and the K = ``clip_length``
frames after it (book: 16; Eq. 10-14: the frozen G_M without gradients, f_I and f_M(M_t) once, f_M
and f_D for each of the K frames; one G_R pass on the K-frame clip; D_V on the real and the refined
clip and their interpolate, D_I likewise on one frame per clip, then D_V on the clip and D_I on all
K frames in the generator's half). The refine stage's G_M has random weights, as every other network
here: its trainer is built without ``begin(frozen)``, whose G_M the run store would fetch. Batches
come from the pre-rendered synthetic benchmark; ``data_ms`` is the time to assemble one batch,
reported apart.

``slider``: milliseconds to render frames once the encoder features of the face are cached
(what moving the intensity slider costs): one frame and a 16-frame clip, at 64, 128, 256 px, with
the book profile's widths (ngf 16, the chapters' models; FRGAN's G_R 8) and the paper's (ngf 64).
FRGAN's G_C (the fitted condition generator) draws the target landmarks from the expression table
that a new forecast run fills before its first step (``Trainer.begin``: exact on the benchmark, well
under a second); its cost and the motion maps' are part of every figure. ``slider.forecast`` is G_M
alone; ``slider.refine`` adds G_R on clips of ``clip_length`` frames (book 16; paper 32, so the
16-frame clip is padded to 32) and skips it for one frame, so its ``frame_ms`` is G_M's again.
Weights are random: latency does not depend on training. Target: one 128-px frame < 20 ms on
2 CPU cores. Every figure is the median of ``--repeats`` measurements.

``--variants`` (AffineGAN): training pairs per second of :data:`PUBLIC_CODE`, the public code's
architecture (generator and discriminators at widths 64, pix2pix's ``n_layers=3`` PatchGAN, i.e.
``d_layers=5``; 64 px; one video's five pairs per step), under each of :data:`VARIANTS`: fp32,
CPU bf16 autocast, channels_last, ``torch.compile`` and their combinations (the speed target of
9.5 pairs/s on 2 threads); ``book_widths``: the same at the book profile's widths (ngf/ndf 16). The same batches in every variant; ``loss_gap`` is the largest relative
difference of a variant's first-step losses from fp32's (bf16 rounds; a large gap would mean the
variant changes the training, not just its speed).

``step_speed.py`` (beside this file) times the public code itself beside the book's step (``--public PATH``), and
every zoo recipe's step on one thread, each measurement in a process of its own; ``step_ceiling.py`` how much faster
those steps could get without changing their arithmetic (the convolutions' share of each, and oneDNN beside im2col
GEMM layer by layer).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import emit  # noqa: E402
from i2vlib import __version__  # noqa: E402
from i2vlib.config import resolve_device  # noqa: E402
from i2vlib.data.synthetic import SyntheticBenchmark  # noqa: E402
from i2vlib.models import get_method  # noqa: E402
from i2vlib.train import autocast_for, to_device  # noqa: E402
from i2vlib.errors import ArgumentParser  # noqa: E402


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def widths(cfg: dict) -> dict:
    """The generator's width; for FRGAN's refine stage G_R's, with its G_M's and its clip length."""
    if cfg.get("stage") != "refine":
        return {"ngf": cfg["ngf"]}
    return {"ngf": cfg["ngf"], "ngf_G_M": cfg["forecast"]["ngf"], "clip_length": cfg["clip_length"]}


def per_stage(method, measure) -> dict:
    """``measure(stage)`` for a method of one stage (stage None), else ``{stage: measure(stage)}``."""
    stages = getattr(method, "STAGES", None)
    return measure(None) if stages is None else {s: measure(s) for s in stages}


def untrained_model(method, cfg: dict, device: torch.device):
    """The method's Model on random weights. FRGAN's G_M gets G_C's expression table as a new forecast
    run does (``Trainer.begin``); a refine-stage model adds a random G_R."""
    torch.manual_seed(0)
    refine = cfg.get("stage") == "refine"
    tr = method.Trainer(cfg["forecast"] if refine else cfg)
    if "stage" in cfg:
        tr.begin({})
    refiner = {"refiner": method.RefineNet(cfg)} if refine else {}
    return method.Model(tr.nets["generator"], cfg, device=str(device), **refiner)


def train_throughput(method, size: int, device: torch.device, steps: int, repeats: int, batch: int | None,
                     stage: str | None = None) -> dict:
    cfg = method.default_config("book", image_size=size, videos=16, batch=batch, stage=stage)
    torch.manual_seed(0)
    tr = method.Trainer(cfg)
    tr.nets.to(device)
    rng = np.random.default_rng(0)
    source = tr.sampler().source
    for i in range(len(source)):  # render the clips once, like a long run does
        source[i]
    t = time.perf_counter()
    batches = [tr.sample(rng) for _ in range(steps)]
    data_ms = (time.perf_counter() - t) / steps * 1000
    batches = [{k: v.to(device) for k, v in b.items()} for b in batches]
    autocast = autocast_for("bf16" if device.type == "cuda" else "off", device)
    tr.step(batches[0], autocast=autocast)  # warm-up
    rate = median_rate(tr, batches, device, repeats, cfg["batch"], autocast)
    return {"examples_per_second": round(rate, 1), "batch": cfg["batch"], **widths(cfg),
            "step_ms": round(1000 * cfg["batch"] / rate, 1), "data_ms": round(data_ms, 1)}


def median_rate(tr, batches, device: torch.device, repeats: int, batch: int, autocast) -> float:
    """Examples per second of ``tr`` stepping through ``batches``, the median of ``repeats`` passes."""
    rates = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        for b in batches:
            tr.step(b, autocast=autocast)
        _sync(device)
        rates.append(len(batches) * batch / (time.perf_counter() - t))
    return float(np.median(rates))


# The public code's AffineGAN (issue: the speed target is measured on it), and the ways to run it.
PUBLIC_CODE = {"image_size": 64, "ngf": 64, "ndf": 64, "d_layers": 5, "batch": 5, "pairs_per_video": 5}
VARIANTS = {"fp32": {}, "bf16": {"amp": "bf16"}, "channels_last": {"channels_last": True},
            "compile": {"compile": True}, "bf16+channels_last": {"amp": "bf16", "channels_last": True},
            "bf16+compile": {"amp": "bf16", "compile": True}}


def variant_throughput(device: torch.device, steps: int, repeats: int, config: dict) -> dict:
    """Pairs per second of ``config`` (AffineGAN's book profile with these changes) under every variant of
    :data:`VARIANTS` (see the module doc)."""
    method = get_method("affinegan")
    cfg = method.default_config("book", videos=16, **config)
    out, first = {}, None
    for name, v in VARIANTS.items():
        torch.manual_seed(0)
        tr = method.Trainer(cfg)
        tr.nets.to(device)
        rng = np.random.default_rng(0)
        nhwc = bool(v.get("channels_last"))
        batches = [{k: to_device(t, device, nhwc) for k, t in tr.sample(rng).items()} for _ in range(steps)]
        if nhwc:
            tr.nets.to(memory_format=torch.channels_last)
        if v.get("compile"):
            tr.compile()
        autocast = autocast_for(v.get("amp", "off"), device)
        losses = {k: float(x.detach()) for k, x in tr.step(batches[0], autocast=autocast).items()}   # warm-up (compiles)
        first = first or losses
        gap = max(abs(losses[k] - first[k]) / max(abs(first[k]), 1e-3) for k in first)
        rate = median_rate(tr, batches, device, repeats, cfg["batch"], autocast)
        out[name] = {"pairs_per_second": round(rate, 2), "loss_gap": round(float(gap), 4)}
    return {"config": config, "variants": out, "best": max(out, key=lambda k: out[k]["pairs_per_second"])}


def slider_latency(method, size: int, device: torch.device, repeats: int, profile: str = "book",
                   stage: str | None = None) -> dict:
    cfg = method.default_config(profile, image_size=size, stage=stage)
    gen = untrained_model(method, cfg, device)
    face = SyntheticBenchmark(size).frame(9, {"happy": 0.0})[0]
    gen.generate(face, [0.0])  # encodes once; later calls hit the cache

    def median_ms(intensities):
        times = []
        for r in range(repeats):
            _sync(device)
            t = time.perf_counter()
            gen.generate(face, intensities)
            _sync(device)
            times.append((time.perf_counter() - t) * 1000)
        return round(float(np.median(times)), 2)

    gen.generate(face, list(np.linspace(0, 1, 16)))
    return {"frame_ms": median_ms([0.5]), "clip16_ms": median_ms(list(np.linspace(0, 1, 16))), **widths(cfg)}


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="affinegan", choices=["affinegan", "fan", "frgan"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (the book's machines have 2 cores)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10, help="training steps per measurement")
    ap.add_argument("--batch", type=int, help="examples per step (default: the book profile's, per stage)")
    ap.add_argument("--train-sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--slider-sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--variants", action="store_true",
                    help="AffineGAN: also time the public code's architecture under bf16, channels_last, compile")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(resolve_device(args.device))
    method = get_method(args.method)

    def slider(profile):
        return per_stage(method, lambda stage: {str(s): slider_latency(method, s, device, max(args.repeats, 20),
                                                                        profile, stage) for s in args.slider_sizes})

    result = {
        "benchmark": f"{args.method}_speed", "i2vlib": __version__, "torch": torch.__version__,
        "python": platform.python_version(), "device": str(device),
        "device_name": torch.cuda.get_device_name() if device.type == "cuda" else (platform.processor() or platform.machine()),
        "cores_available": os.cpu_count(), "threads_used": args.threads, "repeats": args.repeats,
        "train": per_stage(method, lambda stage: {str(s): train_throughput(
            method, s, device, args.steps, args.repeats, args.batch, stage) for s in args.train_sizes}),
        "slider": slider("book"),
        "slider_paper_widths": slider("paper"),
    }
    if args.variants:
        if args.method != "affinegan":
            sys.exit("speed.py: error: --variants times AffineGAN's public-code architecture; use --method affinegan")
        result["public_code"] = {**variant_throughput(device, args.steps, args.repeats, PUBLIC_CODE),
                                 "target_pairs_per_second": 9.5}
        book = {k: PUBLIC_CODE[k] for k in ("image_size", "batch", "pairs_per_video")}   # the book's widths
        result["book_widths"] = variant_throughput(device, args.steps, args.repeats, book)
    emit(result, args.out)


if __name__ == "__main__":
    main()
