"""How much faster a zoo recipe's training step could get on this CPU without changing its arithmetic, as JSON.

    python benchmarks/step_ceiling.py [--recipes NAME ...] [--steps 6] [--out benchmarks/results/step_ceiling.json]

For each recipe (no names: :func:`step_speed.default_recipes`, then ``public-code``: the book's AffineGAN at the
public code's architecture, :data:`speed.PUBLIC_CODE`), on one thread, with the training loop's heap
(:func:`i2vlib.train.resident_heap`), fp32 and PyTorch's default Adam:

``step_ms``                  the step's wall time, the median of ``--steps`` timed steps after two of warm-up;
``conv_share``               the share of the step's CPU time (PyTorch's profiler, self times) spent in convolutions,
                             forward and backward, every dimension;
``ceiling``                  ``1 / conv_share``: the speed-up of a step whose every other operation (Adam, norms,
                             activations, losses, copies) took no time at all, its convolutions unchanged;
``layers``                   every 2-D convolution and transposed convolution of the step (found with forward
                             hooks), by shape, with its calls a step and the time of one forward and backward
                             in oneDNN (PyTorch's CPU default) and as an explicit im2col GEMM (``unfold`` or
                             ``fold`` around one matrix product per pass: the textbook alternative);
``algorithm_ceiling``        the step's speed-up if every such call ran in the faster of the two;
``combined_ceiling``         both at once: every non-convolution operation free and every such call in the faster
                             form, ``1 / (conv_share - saved / step_ms)``;
``adam_share``               the share of the optimisers' steps (PyTorch's default Adam, with everything they call);
``ceiling_with_adam``        ``combined_ceiling`` with Adam's share kept: what is left to gain if the convolutions
                             take the faster form and everything but them and Adam takes no time.

The profiler's self times count its own overhead into small operations, so ``conv_share`` errs low and
``ceiling`` high. Gradient-penalty passes (double backward) are not among ``layers``; they run in oneDNN.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from report import emit, machine  # noqa: E402
from step_speed import PUBLIC_RECIPE, default_recipes, trainer_and_batches  # noqa: E402
from i2vlib import __version__, zoo  # noqa: E402
from i2vlib.train import resident_heap  # noqa: E402
from i2vlib.errors import ArgumentParser  # noqa: E402

WARMUP = 2
REPEATS = 7                              # timings of a layer; the best is kept
CONV_OPS = ("convolution", "conv2d", "conv3d", "conv_transpose", "conv_depthwise")


def gemm_conv(x, w, b, stride: int, pad: int):
    """conv2d(x, w, b) as unfold -> one matrix product (autograd takes the products' and unfold's backward)."""
    n, _, h, wd = x.shape
    o, k = w.shape[0], w.shape[2]
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    cols = F.unfold(x, k, padding=pad, stride=stride)                          # n, c*k*k, ho*wo
    y = w.reshape(o, -1) @ cols
    if b is not None:
        y = y + b[:, None]
    return y.view(n, o, ho, wo)


def gemm_conv_transpose(x, w, b, stride: int, pad: int):
    """conv_transpose2d(x, w, b) as one matrix product -> fold."""
    n, c, h, wd = x.shape
    k = w.shape[2]
    ho, wo = (h - 1) * stride - 2 * pad + k, (wd - 1) * stride - 2 * pad + k
    cols = w.reshape(c, -1).t() @ x.reshape(n, c, h * wd)                      # n, o*k*k, h*w
    y = F.fold(cols, (ho, wo), k, padding=pad, stride=stride)
    return y if b is None else y + b.view(1, -1, 1, 1)


def plain(m: nn.Module) -> bool:
    """Whether the GEMM forms above compute ``m`` (square kernel, equal strides and padding, no groups)."""
    square = m.kernel_size[0] == m.kernel_size[1] and m.stride[0] == m.stride[1]
    pads = isinstance(m.padding, tuple) and m.padding[0] == m.padding[1]
    extra = isinstance(m, nn.ConvTranspose2d) and any(m.output_padding)
    return square and pads and m.groups == 1 and m.dilation == (1, 1) and m.padding_mode == "zeros" and not extra


def layer_calls(tr, batch) -> dict:
    """Every plain 2-D (transposed) convolution one step calls: {(kind, input shape, weight shape, stride, padding,
    input needs grad, weight needs grad): [module, calls]}."""
    seen = {}

    def hook(m, args):
        x = args[0]
        key = (type(m).__name__, tuple(x.shape), tuple(m.weight.shape), m.stride[0], m.padding[0],
               x.requires_grad, m.weight.requires_grad)
        seen.setdefault(key, [m, 0])[1] += 1

    hooks = [m.register_forward_pre_hook(hook) for m in tr.nets.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and plain(m)]
    try:
        tr.step(batch)
    finally:
        for h in hooks:
            h.remove()
    return seen


def time_layer(m: nn.Module, shape, x_grad: bool, w_grad: bool, repeats: int = REPEATS) -> dict:
    """Milliseconds of one forward and backward of ``m`` at ``shape``: oneDNN, and the GEMM form (best of
    ``repeats`` after one warm-up), with the gradients the step asks for."""
    transpose = isinstance(m, nn.ConvTranspose2d)
    stride, pad = m.stride[0], m.padding[0]
    w = m.weight.detach().clone().requires_grad_(w_grad)
    b = None if m.bias is None else m.bias.detach().clone().requires_grad_(w_grad)
    x = torch.randn(shape).requires_grad_(x_grad)
    forms = {"onednn": (lambda: F.conv_transpose2d(x, w, b, stride, pad)) if transpose
             else (lambda: F.conv2d(x, w, b, stride, pad)),
             "gemm": (lambda: gemm_conv_transpose(x, w, b, stride, pad)) if transpose
             else (lambda: gemm_conv(x, w, b, stride, pad))}
    out = {}
    for name, f in forms.items():
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            y = f()
            if y.requires_grad:
                y.backward(torch.ones_like(y))
            times.append(time.perf_counter() - start)
            x.grad = w.grad = None
            if b is not None:
                b.grad = None
        out[name] = 1000 * min(times[1:])
    return out


def recipe(name: str, steps: int) -> dict:
    """The figures of the module's doc for one recipe."""
    cfg, tr, batches = trainer_and_batches(name, WARMUP + 2 * steps)
    with resident_heap():
        for b in batches[:WARMUP]:
            tr.step(b)
        wall = []
        for b in batches[WARMUP:WARMUP + steps]:
            start = time.perf_counter()
            tr.step(b)
            wall.append(time.perf_counter() - start)
        step_ms = 1000 * float(np.median(wall))
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for b in batches[WARMUP + steps:]:
                tr.step(b)
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        conv = sum(e.self_cpu_time_total for e in events if any(op in e.key for op in CONV_OPS))
        adam = sum(e.cpu_time_total for e in events if e.key.startswith("Optimizer.step#"))
        layers, saved = [], 0.0
        for (kind, shape, wshape, stride, pad, x_grad, w_grad), (m, calls) in layer_calls(tr, batches[0]).items():
            t = time_layer(m, shape, x_grad, w_grad)
            saved += calls * max(0.0, t["onednn"] - t["gemm"])
            layers.append({"kind": kind, "input": list(shape), "weight": list(wshape), "stride": stride,
                           "calls_per_step": calls, "ms_onednn": round(t["onednn"], 3), "ms_gemm": round(t["gemm"], 3)})
    share, adam_share = conv / total, adam / total
    return {"batch": cfg["batch"], "step_ms": round(step_ms, 2), "conv_share": round(share, 3),
            "ceiling": round(1 / share, 2), "layers": layers,
            "gemm_faster": sum(x["ms_gemm"] < x["ms_onednn"] for x in layers),
            "algorithm_ceiling": round(step_ms / max(step_ms - saved, 1e-9), 3),
            "combined_ceiling": round(1 / max(share - saved / step_ms, 1e-9), 2), "adam_share": round(adam_share, 3),
            "ceiling_with_adam": round(1 / max(share - saved / step_ms + adam_share, 1e-9), 2)}


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", help=f"zoo entries, or {PUBLIC_RECIPE} (the book's AffineGAN at the public "
                    "code's architecture); default: every recipe step_speed.py times, then "
                    f"{PUBLIC_RECIPE}")
    ap.add_argument("--steps", type=int, default=6, help="timed steps, and as many profiled")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    names = args.recipes or [*default_recipes(), PUBLIC_RECIPE]
    unknown = sorted(set(names) - set(zoo.ENTRIES) - {PUBLIC_RECIPE})
    if unknown:
        ap.error(f"unknown recipe(s) {', '.join(unknown)}; the zoo holds {', '.join(zoo.ENTRIES)}")
    if args.steps < 1:
        ap.error("--steps must be at least 1")
    torch.set_num_threads(1)
    result = {**machine("step_ceiling", __version__, REPEATS), "torch": torch.__version__, "steps": args.steps,
              "recipes": {}}
    for name in names:
        result["recipes"][name] = r = recipe(name, args.steps)
        print(f"{name}: step {r['step_ms']} ms, convolutions {r['conv_share']:.0%} (ceiling {r['ceiling']}x), "
              f"GEMM faster on {r['gemm_faster']} of {len(r['layers'])} layers "
              f"(ceiling {r['algorithm_ceiling']}x); both {r['combined_ceiling']}x, "
              f"Adam {r['adam_share']:.0%} kept {r['ceiling_with_adam']}x", file=sys.stderr, flush=True)
    emit(result, args.out)


if __name__ == "__main__":
    main()
