"""Training steps per second: the book's AffineGAN beside the public AffineGAN code, and every zoo recipe, as JSON.

    python benchmarks/step_speed.py [--public PATH] [--threads 2] [--recipes [NAME ...]] [--variants V ...]
                                    [--rounds 3] [--steps 4] [--out benchmarks/results/step_speed.json]

``--public PATH`` (a clone of github.com/sunlightsgy/AffineGAN; nothing is downloaded): the public code's own
training step (``set_input`` and ``optimize_parameters`` of its ``AffineGANModel``, batches from its own data
loader, run under the stand-ins of :func:`public_affinegan._shims`) and the book's AffineGAN step at the public
code's architecture (:data:`speed.PUBLIC_CODE`: U-Net 64, 70x70 PatchGANs, one video's five pairs a step, 64 px,
fp32 as the zoo trains), on ``--threads`` threads, the two alternating round by round; ``ratio`` is the book's pairs
per second over the public code's. Both read the same videos of the synthetic benchmark, written once to a
temporary folder in the AffineGAN layout.

``--recipes`` (no names: every zoo entry, see :func:`default_recipes`): each entry's training step at its zoo config on one thread, under each of
``--variants``, alternating round by round:

``before``         the step as the training loop ran it before its speed work (glibc's default heap, PyTorch's
                   default Adam, fp32, NCHW);
``loop``           as :func:`i2vlib.train.train` runs it now by default: :func:`i2vlib.train.resident_heap`, which
                   changes no number of a run;
``fused``          ``loop`` with fused Adam (``train(fused_adam=True)``: the same update, rounded differently);
``channels_last``  ``loop`` with NHWC images and weights;
``bf16``           ``loop`` under CPU bf16 autocast (``--amp bf16``);
``compile``        ``loop`` with ``torch.compile`` of the generator's parts (``--compile``).

Every measurement runs in a fresh process (so that one arm's heap, compiled code or caches never serve another),
times ``--steps`` steps after two of warm-up on batches drawn beforehand, and reports steps per second of wall time
and CPU seconds per step (the machine is shared: CPU time is the steadier figure); the medians over ``--rounds``
rounds are reported with every round's value. The refine stages' frozen G_M has random weights, as in
``speed.py``. Pin the whole run to one core (``taskset -c 1``) for one-thread figures on a busy machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from report import emit  # noqa: E402
from i2vlib import __version__, zoo  # noqa: E402
from i2vlib.models import get_method  # noqa: E402
from i2vlib.train import autocast_for, resident_heap, to_device  # noqa: E402
from i2vlib.errors import ArgumentParser  # noqa: E402

PUBLIC_RECIPE = "public-code"            # the book's AffineGAN at the public code's architecture
VARIANTS = {"before": {"heap": False}, "loop": {}, "fused": {"fused_adam": True},
            "channels_last": {"channels_last": True}, "bf16": {"amp": "bf16"}, "compile": {"compile": True}}
WARMUP = 2
VIDEOS = 16                              # enough clips to draw batches from; a step's cost does not depend on it


def recipe_config(name: str) -> dict:
    """The config a recipe trains (a zoo entry's, or the public code's architecture), with :data:`VIDEOS` videos."""
    if name == PUBLIC_RECIPE:
        from speed import PUBLIC_CODE
        return get_method("affinegan").default_config("book", videos=VIDEOS, **PUBLIC_CODE)
    cfg = {k: v for k, v in zoo.entry_config(name).items() if k not in ("method", "profile")}
    cfg["videos"] = VIDEOS
    if cfg.get("forecast"):
        cfg["forecast"] = {**cfg["forecast"], "videos": VIDEOS}
    return get_method(zoo.ENTRIES[name]["method"]).default_config("book", **cfg)


def default_recipes() -> list[str]:
    """Every zoo entry, AffineGAN's one-expression experts by the first of them (the seven train the same networks
    on the same batches, so their steps cost the same)."""
    experts = [n for n in zoo.ENTRIES if n.startswith("affinegan-") and zoo.ENTRIES[n]["config"].get("expressions")
               and len(zoo.ENTRIES[n]["config"]["expressions"]) == 1]
    return [n for n in zoo.ENTRIES if n not in experts[1:]]


def trainer_and_batches(recipe: str, n: int, nhwc: bool = False):
    """A recipe's config, its trainer (seeded) and ``n`` batches drawn beforehand (NHWC images if ``nhwc``)."""
    cfg = recipe_config(recipe)
    torch.manual_seed(0)
    tr = get_method(cfg["method"]).Trainer(cfg)
    if tr.stages:                         # a later stage: its frozen nets keep their random weights
        tr.begin({k: tr.nets[k].state_dict() for k in tr.stages})
    rng = np.random.default_rng(0)
    return cfg, tr, [{k: to_device(x, "cpu", nhwc) for k, x in tr.sample(rng).items()} for _ in range(n)]


def book_arm(recipe: str, variant: str, steps: int, threads: int) -> dict:
    """One measurement of the book's step (in a process of its own, see :func:`measure`)."""
    v = VARIANTS[variant]
    torch.set_num_threads(threads)
    nhwc = bool(v.get("channels_last"))
    cfg, tr, batches = trainer_and_batches(recipe, WARMUP + steps, nhwc)
    if nhwc:
        tr.nets.to(memory_format=torch.channels_last)
    if v.get("compile"):
        tr.compile()
    tr.fuse_adam(bool(v.get("fused_adam")))
    autocast = autocast_for(v.get("amp", "off"), torch.device("cpu"))
    with resident_heap() if v.get("heap", True) else contextlib.nullcontext():
        return _time(lambda b: tr.step(b, autocast), batches, steps, cfg["batch"])


def public_arm(public: str, data: str, steps: int, threads: int) -> dict:
    """One measurement of the public code's step at its own architecture (U-Net 64 at 64 px, its default
    discriminator, five pairs of one video a step), on the CPU, in a process of its own."""
    from public_affinegan import _shims

    _shims()
    torch.set_num_threads(threads)
    public = str(Path(public).resolve())
    sys.path.insert(0, public)
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(sys.stderr):
        sys.argv = ["train.py", "--dataroot", str(Path(data).resolve() / "happy"), "--name", "speed",
                    "--checkpoints_dir", out, "--gpu_ids", "-1", "--netG", "unet_64", "--loadSize", "64",
                    "--fineSize", "64", "--no_html", "--display_id", "-1", "--num_threads", "0"]
        cwd = os.getcwd()
        os.chdir(public)
        try:
            from data import CreateDataLoader
            from models import create_model
            from options.train_options import TrainOptions

            opt = TrainOptions().parse()
            loader = CreateDataLoader(opt).load_data()
            batches = []
            while len(batches) < WARMUP + steps:
                batches += list(loader)
            model = create_model(opt)
            model.setup(opt)
        finally:
            os.chdir(cwd)

        def step(batch):
            model.set_input(batch)
            model.optimize_parameters()

        return _time(step, batches[:WARMUP + steps], steps, opt.train_imagenum)


def _time(step, batches, steps: int, examples: int) -> dict:
    for b in batches[:WARMUP]:
        step(b)
    cpu, wall = time.process_time(), time.perf_counter()
    for b in batches[WARMUP:WARMUP + steps]:
        step(b)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"steps_per_second": steps / wall, "cpu_seconds_per_step": cpu / steps, "examples_per_step": examples}


def measure(arm: dict) -> dict:
    """``arm`` measured in a fresh Python process (this script with ``--arm``)."""
    r = subprocess.run([sys.executable, __file__, "--arm", json.dumps(arm)], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"step_speed.py: the arm {arm} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def alternate(arms: dict[str, dict], rounds: int) -> dict:
    """Every arm once per round, in turn (the order reversed every other round); per arm the medians of its
    steps per second and CPU seconds per step, examples per second, and every round's steps per second."""
    runs = {name: [] for name in arms}
    for r in range(rounds):
        for name in (list(arms) if r % 2 == 0 else list(arms)[::-1]):
            runs[name].append(measure(arms[name]))
    out = {}
    for name, rs in runs.items():
        rate = float(np.median([x["steps_per_second"] for x in rs]))
        out[name] = {"steps_per_second": round(rate, 3),
                     "examples_per_second": round(rate * rs[0]["examples_per_step"], 2),
                     "cpu_seconds_per_step": round(float(np.median([x["cpu_seconds_per_step"] for x in rs])), 4),
                     "rounds": [round(x["steps_per_second"], 3) for x in rs]}
    return out


def ratios(result: dict, base: str) -> dict:
    """Each arm's speed over ``base``'s: by wall time, and by CPU time a step."""
    b = result[base]
    return {name: {"wall": round(r["steps_per_second"] / b["steps_per_second"], 3),
                   "cpu": round(b["cpu_seconds_per_step"] / r["cpu_seconds_per_step"], 3)}
            for name, r in result.items() if name != base}


def side_by_side(public: str, threads: int, rounds: int, steps: int, variants) -> dict:
    """The public code's step and the book's at the public code's architecture, alternating (see the module doc)."""
    from i2vlib.data.folders.affinegan import write_affinegan
    from i2vlib.data.sampling import training_source

    with tempfile.TemporaryDirectory() as tmp:
        source = training_source(recipe_config(PUBLIC_RECIPE))
        write_affinegan(Path(tmp) / "data", (source[i] for i in range(len(source))))
        arms = {"public": {"kind": "public", "public": public, "data": str(Path(tmp) / "data"), "steps": steps,
                           "threads": threads}}
        arms.update({f"book_{v}": {"kind": "book", "recipe": PUBLIC_RECIPE, "variant": v, "steps": steps,
                                   "threads": threads} for v in variants})
        result = alternate(arms, rounds)
    pairs = {k: r["examples_per_second"] for k, r in result.items()}
    return {"threads": threads, "arms": result, "pairs_per_second": pairs,
            "ratio": {k: round(v / pairs["public"], 2) for k, v in pairs.items() if k != "public"}}


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--public", help="the public AffineGAN code's folder: time it beside the book's step")
    ap.add_argument("--threads", type=int, default=2, help="threads of the side-by-side run (the recipes run on one)")
    ap.add_argument("--recipes", nargs="*", help="zoo entries to time on one thread (no names: every entry)")
    ap.add_argument("--variants", nargs="+", default=["before", "loop"], choices=list(VARIANTS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=4, help="timed steps per measurement, after two of warm-up")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    ap.add_argument("--arm", help=argparse.SUPPRESS)     # one measurement, in a process of its own
    args = ap.parse_args()
    if args.arm:
        arm = json.loads(args.arm)
        r = (public_arm(arm["public"], arm["data"], arm["steps"], arm["threads"]) if arm["kind"] == "public"
             else book_arm(arm["recipe"], arm["variant"], arm["steps"], arm["threads"]))
        print(json.dumps(r))
        return
    if args.public and not (Path(args.public) / "models" / "affineGAN_model.py").is_file():
        ap.error(f"--public {args.public} is not a clone of the public AffineGAN code (no models/affineGAN_model.py)")
    result = {"benchmark": "step_speed", "i2vlib": __version__, "torch": torch.__version__,
              "python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
              "cores_available": os.cpu_count(),
              "cores_allowed": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
              "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
              "rounds": args.rounds, "steps": args.steps, "variants": args.variants}
    if args.public:
        result["public_code"] = side_by_side(args.public, args.threads, args.rounds, args.steps, args.variants)
    if args.recipes is not None or not args.public:
        names = args.recipes or default_recipes()
        unknown = sorted(set(names) - set(zoo.ENTRIES) - {PUBLIC_RECIPE})
        if unknown:
            ap.error(f"unknown recipe(s) {', '.join(unknown)}; the zoo holds {', '.join(zoo.ENTRIES)}")
        recipes = {}
        for name in names:
            arms = {v: {"kind": "book", "recipe": name, "variant": v, "steps": args.steps, "threads": 1}
                    for v in args.variants}
            timed = alternate(arms, args.rounds)
            recipes[name] = {"batch": recipe_config(name)["batch"], "arms": timed,
                             "speed_up": ratios(timed, args.variants[0])}
            print(f"{name}: {json.dumps(recipes[name]['speed_up'])}", file=sys.stderr, flush=True)
        result["recipes"] = {"threads": 1, **recipes}
    emit(result, args.out)


if __name__ == "__main__":
    main()
