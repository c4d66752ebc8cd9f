"""The ``i2v`` command: ``synth``, ``prepare``, ``contact-sheet``, ``zoo``, ``claims``, ``train``, ``generate``,
``evaluate`` and ``export`` (every option: ``i2v COMMAND --help`` and the book's CLI reference, ``book/reference/cli.md``). Each command is
a parser function and a function that runs it; what they run lives in the library.

Bad input ends with one line, ``i2v: error: ...``, and exit status 2; no traceback and
no half-written output.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import distributed, runs, zoo
from .checkpoint import CHECKPOINT, read_checkpoint
from .claims import PAPERS
from .claims.health import zoo_health
from .config import RENAMED, check_data, profile
from .data import pose, synthetic
from .data.curves import CURVES, check_curves
from .data.folders import write_affinegan, write_pose
from .data.prepare import prepare
from .data.types import EXPRESSIONS
from .data.video import read_video
from .errors import ArgumentParser, I2VError, run_command, whole_number
from .evaluate import of_model, table
from .export import WEIGHTS, to_onnx
from .export import check_destination as onnx_destination
from .io import IMAGE_SUFFIXES, check_name, check_output, write_image, write_json
from .models import METHODS, get_method
from .render import check_destination, contact_sheet, save_video
from .version import __version__
from .zoo import verdicts


def main(argv=None) -> int:
    """Run ``i2v ARGV``: its exit status (:func:`i2vlib.errors.run_command`: one line and 2 on bad input, 130 on
    Ctrl-C, 141 quietly when the reader of its output has gone)."""
    return run_command("i2v", _run, argv, interrupted=_close_progress_bars)


def _run(argv) -> int:
    args = _parser().parse_args(argv)
    _once(sys.argv[1:] if argv is None else argv)
    return args.run(args)


def _close_progress_bars() -> None:
    """Close the bars an interrupted loop left open, so that the message starts a line of its own."""
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


def _once(argv) -> None:
    """An option given twice is an error, not a silent choice of one of the two (``--set a=1 b=2`` takes several)."""
    seen = set()
    for token in map(str, argv):
        name = token.split("=", 1)[0]
        if name.startswith("--") and len(name) > 2:
            if name in seen:
                raise I2VError(f"{name} is given twice; give it once (it takes several values where it needs them)")
            seen.add(name)


class _Parser(ArgumentParser):
    """The library's parser (a usage mistake is one line), its line in i2v's words: ``i2v: error: COMMAND: ...``."""

    def error(self, message):
        command = self.prog.removeprefix("i2v").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"i2v: error: {where}{message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="i2v", description="Facial image-to-video translation: the i2v book's tools.")
    p.add_argument("--version", action="version", version=f"i2vlib {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for add in (_synth_parser, _prepare_parser, _zoo_parser, _claims_parser, _contact_sheet_parser, _train_parser,
                _generate_parser, _evaluate_parser, _export_parser):
        add(sub)
    return p


def _synth_parser(sub) -> None:
    s = sub.add_parser("synth", help="write synthetic expression videos in the AffineGAN folder layout "
                                     "(--kind pose: articulated-figure videos with joints)")
    s.add_argument("out", help="output folder (must not exist, or be empty, unless --overwrite)")
    s.add_argument("--kind", choices=["faces", "pose"], default="faces",
                   help="faces (default): expression videos; pose: the pose benchmark (FRGAN's Penn Action stand-in)")
    s.add_argument("--videos", type=_positive("videos"), help="videos per expression (pose: per action) and split "
                                                     "(default: faces 10, pose 2)")
    s.add_argument("--size", type=_positive("size"), default=64, help="frame size in pixels (default 64)")
    s.add_argument("--expressions", nargs="+", metavar="NAME",
                   help=f"expressions to write (faces only; default: all of {', '.join(EXPRESSIONS)})")
    s.add_argument("--curves", nargs="+", metavar="NAME",
                   help=f"intensity curves, cycled over the videos (faces only; {', '.join(CURVES)}; default linear)")
    s.add_argument("--profile", nargs="*", help=argparse.SUPPRESS)  # the old name of --curves: a clear error
    s.add_argument("--splits", nargs="+", metavar="SPLIT",
                   help="person-disjoint splits to write (faces: train, val, test, default train test; "
                        "pose: forecast, refine, test, default all three)")
    s.add_argument("--frames", nargs="+", type=_positive("frames"), metavar="N",
                   help="faces: the video length range MIN MAX (default 8 32); pose: the video length T "
                        "(default 48, at least 42)")
    s.add_argument("--seed", type=_seed, default=0)
    s.add_argument("--overwrite", action="store_true")
    s.set_defaults(run=_synth)


def _prepare_parser(sub) -> None:
    r = sub.add_parser("prepare", help="detect, landmark, align and crop face videos or photos")
    r.add_argument("src", help="CK+, MUG or AffineGAN-layout folder, a folder of videos, frame folders or photos")
    r.add_argument("out", help="output folder (AffineGAN layout)")
    r.add_argument("--size", type=_positive("size"), default=128, help="output frame size (default 128)")
    r.add_argument("--landmarks", choices=["dlib", "face-alignment"], default="dlib",
                   help="landmark backend (dlib works offline; face-alignment downloads weights on first use)")
    r.add_argument("--expression", metavar="NAME",
                   help="label clips whose source names no expression (a folder of videos or photos) with NAME, "
                        f"one of {', '.join(EXPRESSIONS)} (default: unlabelled)")
    r.add_argument("--overwrite", action="store_true")
    r.set_defaults(run=_prepare)


def _zoo_parser(sub) -> None:
    z = sub.add_parser("zoo", help="list the trained models shipped in the zoo (load them as zoo:NAME)")
    z.add_argument("--json", action="store_true", help="print each shipped model's steps, config and scores as JSON")
    z.set_defaults(run=_zoo)


def _claims_parser(sub) -> None:
    c = sub.add_parser("claims", help="every claim of the three papers with its verdict, judged from the recorded runs "
                                      "(trains nothing)")
    c.add_argument("--paper", choices=list(PAPERS), help="one paper's claims (default: all three)")
    c.add_argument("--json", action="store_true", help="print the claims as a JSON list, with each rung's verdict, "
                                                       "measurement and the seeds and healthy seeds of each arm")
    c.set_defaults(run=_claims)


def _contact_sheet_parser(sub) -> None:
    c = sub.add_parser("contact-sheet", help="a PNG of every expression at five intensities for a few identities")
    c.add_argument("out", help="PNG file to write")
    c.add_argument("--size", type=_positive("size"), default=64)
    c.add_argument("--identities", nargs="+", type=int, default=[9, 19, 29], metavar="INDEX",
                   help="benchmark identity indices (default: three test identities)")
    c.add_argument("--seed", type=_seed, default=0)
    c.set_defaults(run=_contact_sheet)


def _train_parser(sub) -> None:
    t = sub.add_parser("train", help="train a method; checkpoints, loss log and run.json go to --out")
    t.add_argument("method", help=f"method to train: {', '.join(METHODS)}")
    t.add_argument("--data", default="synthetic", help="synthetic (default), or a folder in the AffineGAN layout")
    t.add_argument("--profile", default="book", help="smoke, book (default) or paper: steps, sizes, widths")
    t.add_argument("--out", required=True, help="run directory (new or empty, unless --resume)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--steps", type=_positive("steps"), help="training steps (default: the profile's)")
    t.add_argument("--size", type=_positive("size"),
                   help="image size in pixels, a power of two of at least 32 (default: the profile's)")
    t.add_argument("--expressions", nargs="+", metavar="NAME", help="expressions (default: happy)")
    t.add_argument("--seed", type=_seed, help="seed of weights and batches (default 0)")
    t.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", dest="options",
                   help="further options, values as JSON, e.g. mix=\"bottleneck\" batch=8 detach_a=true")
    t.add_argument("--device", default="auto", help="auto (default: cuda, mps, then cpu), cpu, cuda, ...")
    t.add_argument("--compile", action="store_true", help="torch.compile the generator")
    t.add_argument("--amp", choices=["auto", "off", "bf16", "fp16"], default="auto",
                   help="mixed precision: auto (default: bf16 on GPUs that have it, else fp16 with a gradient "
                        "scaler; off on the CPU), off, bf16, fp16")
    t.add_argument("--checkpoint-every", type=_positive("steps"),
                   help="steps between checkpoints (default: the profile's)")
    t.add_argument("--snapshots", nargs="+", type=_positive("steps"), default=[], metavar="STEP",
                   help="also keep the generator at these steps, as RUN_DIR/snapshots/step-N.pt (a learning curve)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=_train)


def _generate_parser(sub) -> None:
    g = sub.add_parser("generate", help="render a video from one face image and a list of intensities")
    g.add_argument("model", help="run directory, checkpoint file, or zoo:NAME (a model shipped in the zoo)")
    g.add_argument("image", help="face image (square crop works best; see i2v prepare), "
                                 "or synthetic:K for the neutral face of test identity K")
    g.add_argument("--intensities", nargs="+", type=float, metavar="A",
                   help="one frame per intensity in [0, 1] "
                        "(default: 16 values from 0 to 1; a fixed-clip baseline, convlstm, hp, vgan, mcnet, mocogan or fgst: its own)")
    g.add_argument("--expression", help="expression to render (needed when the model knows several)")
    g.add_argument("--mix", nargs="+", default=[], metavar="EXPR=A,A,...",
                   help="mix expressions instead, e.g. happy=0,0.5,1 surprise=0,0.2,0.4")
    g.add_argument("--reference", metavar="VIDEO",
                   help="retarget instead: the face performs this video's motion (a video file or a folder "
                        "of numbered PNG frames; frgan models)")
    g.add_argument("--out", required=True, help="output .gif, .mp4, or a folder of PNGs")
    g.add_argument("--fps", type=float, default=8.0)
    g.add_argument("--device", default="cpu")
    g.set_defaults(run=_generate)


def _evaluate_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="score a trained model on test videos (ACD, landmarks, intensity, PSNR/SSIM)")
    e.add_argument("model", help="run directory, checkpoint file, or zoo:NAME (a model shipped in the zoo)")
    e.add_argument("--data", default="synthetic", help="synthetic (default), or a folder (AffineGAN layout, CK+, ...)")
    e.add_argument("--split", default="test", help="split to evaluate (default test)")
    e.add_argument("--videos", type=_positive("videos"),
                   help="number of videos (default: 10 per expression; a folder: all)")
    e.add_argument("--instrument", choices=["auto", "synthetic", "dlib"], default="auto",
                   help="how faces are measured (auto: synthetic for the benchmark, dlib for real faces)")
    e.add_argument("--seed", type=_seed, default=0, help="benchmark seed (synthetic data)")
    e.add_argument("--out", required=True, help="metrics JSON file to write")
    e.add_argument("--device", default="cpu")
    e.set_defaults(run=_evaluate)


def _export_parser(sub) -> None:
    x = sub.add_parser("export", help="write a generator as an ONNX model (face and intensities in, frame out)")
    x.add_argument("model", help="run directory, checkpoint file, or zoo:NAME (a model shipped in the zoo)")
    x.add_argument("--out", required=True, help="the .onnx file to write")
    x.add_argument("--weights", choices=list(WEIGHTS), default="fp16",
                   help="how the weights are stored (default fp16, computed in fp32; the zoo's weights are fp16)")
    x.set_defaults(run=_export)


# The largest counts and sizes the commands take: what a machine of this book's (2 cores, 24 GiB) can hold.
LIMITS = {"size": 1024, "videos": 10_000, "frames": 1000, "steps": 10_000_000}


def _positive(limit: str):
    """An argparse type: a whole number from 1 to ``LIMITS[limit]``."""
    return whole_number(1, LIMITS[limit])


_seed = whole_number(0, 2**32 - 1)   # a seed: what numpy's generators take


def _synth(args) -> None:
    if args.kind == "pose":
        return _synth_pose(args)
    if args.profile is not None:
        raise I2VError("i2v synth takes the intensity curves as --curves (e.g. --curves linear ease); "
                       "--profile is the run profile of i2v train")
    check_output(args.out, "folder")
    expressions = synthetic.check_expressions(args.expressions or EXPRESSIONS)
    curves = check_curves(args.curves or ["linear"])
    splits = args.splits or ["train", "test"]
    for split in splits:
        if split not in synthetic.SPLITS:
            raise I2VError(f"unknown split {split!r}; choose from {', '.join(synthetic.SPLITS)}")
    if args.frames is not None and len(args.frames) != 2:
        raise I2VError("--frames takes two numbers for faces, the video length range MIN MAX")
    lo, hi = args.frames or (8, 32)
    videos = args.videos or 10
    bench = synthetic.SyntheticBenchmark(size=args.size, seed=args.seed, frames=(min(lo, hi), max(lo, hi)))

    def clips():
        for split in splits:
            for expression in expressions:
                for i in range(videos):  # video i of each expression follows the i-th curve, in turn
                    yield bench.video(split, i, expression=expression, curve=curves[i % len(curves)])

    start = time.perf_counter()
    root = write_affinegan(args.out, clips(), overwrite=args.overwrite)
    n = videos * len(expressions) * len(splits)
    print(f"wrote {n} videos ({len(expressions)} expressions x {len(splits)} splits x {videos}) "
          f"at {args.size} px to {root} in {time.perf_counter() - start:.1f} s")


def _synth_pose(args) -> None:
    """``i2v synth --kind pose``: the pose benchmark in its folder layout (:func:`i2vlib.data.folders.write_pose`)."""
    face_only = [f"--{name}" for name in ("expressions", "curves", "profile") if getattr(args, name) is not None]
    if face_only:
        raise I2VError(f"{', '.join(face_only)} only apply to --kind faces; the pose benchmark has actions")
    if args.frames is not None and len(args.frames) != 1:
        raise I2VError("--frames takes one number for --kind pose, the video length T")
    splits = args.splits or list(pose.SPLITS)
    for split in splits:
        if split not in pose.SPLITS:
            raise I2VError(f"unknown split {split!r}; choose from {', '.join(pose.SPLITS)}")
    bench = pose.PoseBenchmark(size=args.size, seed=args.seed, frames=args.frames[0] if args.frames else 48)
    check_output(args.out, "folder")
    videos, start = args.videos or 2, time.perf_counter()
    index = write_pose(args.out, bench, splits, videos, overwrite=args.overwrite)
    print(f"wrote {len(index['videos'])} pose videos ({len(pose.ACTIONS)} actions x {len(splits)} splits x {videos}) "
          f"at {args.size} px to {args.out} in {time.perf_counter() - start:.1f} s")


def _prepare(args) -> None:
    check_output(args.out, "folder")
    summary = prepare(args.src, args.out, size=args.size, landmarks=args.landmarks, overwrite=args.overwrite,
                      expression=args.expression)
    print(", ".join(f"{k}: {v}" for k, v in summary.items()))


def _zoo(args) -> None:
    if args.json:
        out = {}
        for name in zoo.names():
            rec = zoo.record(name)
            health = zoo_health(rec["config"]["method"], rec["scores"])
            out[name] = {**{k: rec[k] for k in ("steps", "config", "scores")}, "health": health["checks"],
                         "healthy": health["healthy"]}
        print(json.dumps(out, indent=1))
        return
    print("\n".join(zoo.listing(_health_word)))


def _health_word(method: str, scores: dict) -> str:
    """An entry's health in a few words (:func:`i2vlib.claims.health.zoo_health`)."""
    health = zoo_health(method, scores)
    return "healthy" if health["healthy"] else f"fails {', '.join(health['failed'])}"


def _claims(args) -> None:
    rows = verdicts.report(args.paper)
    print(json.dumps(rows, indent=1) if args.json else verdicts.text(rows))


def _contact_sheet(args) -> None:
    if Path(args.out).suffix.lower() not in IMAGE_SUFFIXES:
        raise I2VError(f"the contact sheet is an image: give OUT a suffix of {', '.join(IMAGE_SUFFIXES)}")
    check_output(args.out, "file")
    bench = synthetic.SyntheticBenchmark(size=args.size, seed=args.seed)
    for i in args.identities:
        if not 0 <= i < bench.n_identities:
            raise I2VError(f"identity index {i} out of range 0..{bench.n_identities - 1}")
    write_image(args.out, contact_sheet(bench, args.identities))
    print(f"wrote {args.out}")


def _options(items) -> dict:
    """``--set KEY=VALUE ...`` as a dict, values as JSON (a bare word as itself). A key given twice, however it is
    written (under its old name, in a second --set, twice in one JSON object), is an error, not the last."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise I2VError(f"--set expects KEY=VALUE, got {item!r}")
        key = RENAMED.get(key, key)
        if key in out:
            raise I2VError(f"--set gives {key} twice ({json.dumps(out[key])} and {value}); give each option once")
        try:
            out[key] = json.loads(value, object_pairs_hook=functools.partial(_no_repeats, key))
        except json.JSONDecodeError:
            out[key] = value  # a bare word such as mix=bottleneck
    return out


def _no_repeats(key: str, pairs) -> dict:
    names = [k for k, _ in pairs]
    twice = sorted({k for k in names if names.count(k) > 1})
    if twice:
        raise I2VError(f"--set {key}=...: {', '.join(twice)} is given twice in one JSON object; give it once")
    return dict(pairs)


def _train_config(args) -> dict:
    """The full config that ``i2v train`` arguments ask for (the inverse of :func:`i2vlib.zoo.origin.train_command`)."""
    method = get_method(args.method)
    profile(args.profile)  # validates the name
    options = _options(args.options)
    flagged = {"data": "--data", "steps": "--steps", "image_size": "--size", "expressions": "--expressions",
               "seed": "--seed", "profile": "--profile", "method": "the method argument"}
    if args.expressions is not None and args.method in ("frgan-pose", "mathieu"):   # their configs carry the default
        raise I2VError(f"{args.method} has no expressions (its videos show actions); drop --expressions")
    clash = sorted(options.keys() & flagged.keys())
    if clash:
        raise I2VError(f"--set {clash[0]}=...: {clash[0]} is given by {flagged[clash[0]]}, not --set")
    _check_nulls(args.method, options, method.default_config(args.profile))
    options.update({k: v for k, v in {"data": check_data(args.data), "steps": args.steps, "image_size": args.size,
                                      "expressions": args.expressions, "seed": args.seed}.items() if v is not None})
    return method.default_config(args.profile, **options)


def _check_nulls(method: str, options: dict, defaults: dict) -> None:
    """``--set KEY=null`` only where null is the option's value (its default: ``ema``, ``lr_d``, ...); elsewhere
    Python's ``None`` means "not given" and the default would silently stand in for what was typed."""
    for key, value in options.items():
        if value is None and key not in defaults:
            raise I2VError(f"--set {key}=null: {method} has no option {key!r}")
        if value is None and defaults[key] is not None:
            raise I2VError(f"--set {key}=null: {key} has no null value (its default is {json.dumps(defaults[key])}); "
                           "leave it out for the default")


def _train(args) -> None:
    check_name(args.out, "folder")
    if args.resume and not (Path(args.out) / CHECKPOINT).exists():
        raise I2VError(f"nothing to resume: {args.out} holds no {CHECKPOINT}")
    if args.resume and args.steps is None:   # resuming without --steps: the run's own number of steps
        args.steps = int(read_checkpoint(args.out)["config"]["steps"])
    config = _train_config(args)
    info = runs.train(config, args.out, resume=args.resume, device=args.device, compile=args.compile,
                      progress=not args.quiet, checkpoint_every=args.checkpoint_every, snapshots=args.snapshots,
                      amp=args.amp)
    if not distributed.context().main:   # under torchrun, rank 0 alone reports
        return
    print(f"trained {info['method']} to step {info.get('step', config['steps'])} in {info.get('seconds', 0):.1f} s "
          f"({info.get('examples_per_second', 0):.1f} examples/s) -> {args.out}")


def _generate(args) -> None:
    check_name(args.out, "folder")       # before check_destination looks at it (the strictest limit: frames folder)
    kind = check_destination(args.out, args.fps)
    check_output(args.out, "folder" if kind == "png" else "file", inputs=(args.image, args.reference, args.model))
    model = runs.load(args.model, device=args.device)
    if args.reference is not None:
        return _retarget(args, model)
    if args.mix and (args.intensities or args.expression):
        raise I2VError("give either --intensities (with --expression) or --mix, not both")
    if args.mix:
        intensities = {}
        for item in args.mix:
            name, sep, values = item.partition("=")
            if name in intensities:
                raise I2VError(f"--mix names {name!r} twice; give each expression once")
            try:
                intensities[name] = [float(v) for v in values.split(",")] if sep and values else None
            except ValueError:
                intensities[name] = None
            if not intensities[name]:
                raise I2VError(f"--mix expects EXPR=A,A,..., got {item!r}")
    else:
        default = getattr(model, "supported_intensities", np.linspace(0, 1, 16))  # a fixed-length baseline's own
        intensities = args.intensities if args.intensities is not None else [float(a) for a in default]
    image = _image_argument(args.image, model.image_size)
    frames = model.generate(image, intensities, expression=args.expression)
    meta = {"method": model.method, "checkpoint_hash": model.checkpoint_hash, "model": str(args.model),
            "step": model.step, "image": str(args.image)}
    if isinstance(intensities, dict):
        meta["mix"] = {k: [float(x) for x in v] for k, v in intensities.items()}
    else:
        meta["intensities"] = [float(x) for x in intensities]
        meta["expression"] = args.expression or model.expressions[0]
    save_video(frames, args.out, fps=args.fps, **meta)
    print(f"wrote {len(frames)} frames to {args.out}")


def _retarget(args, model) -> None:
    if args.intensities is not None or args.mix or args.expression:
        raise I2VError("give either --reference (the face follows a video) or intensities "
                       "(--intensities, --expression, --mix), not both")
    if not hasattr(model, "retarget"):
        raise I2VError(f"{model.method} models render intensities, not a reference video: "
                       "--reference needs an frgan model")
    image = _image_argument(args.image, model.image_size)
    frames = model.retarget(image, read_video(args.reference))
    save_video(frames, args.out, fps=args.fps, method=model.method, checkpoint_hash=model.checkpoint_hash,
               model=str(args.model), step=model.step, image=str(args.image), reference=str(args.reference))
    print(f"wrote {len(frames)} frames to {args.out}")


def _evaluate(args) -> None:
    check_output(args.out, "file", inputs=(args.model,))
    model = runs.load(args.model, device=args.device)
    result = of_model(model, data=args.data, split=args.split, videos=args.videos, instrument=args.instrument,
                      seed=args.seed)
    health = zoo_health(model.method, result["scores"])
    result = {"model": str(args.model), "checkpoint_hash": getattr(model, "checkpoint_hash", None),
              "step": getattr(model, "step", None), **result, "health": health["checks"], "healthy": health["healthy"]}
    write_json(args.out, result)
    keys = [k for k, v in result["scores"].items() if not isinstance(v, dict)]
    print(table({model.method: result}, keys, reference="reference" in result))
    print(f"health: {'healthy' if health['healthy'] else 'fails ' + ', '.join(health['failed'])} "
          f"(the checks a model must pass before a claim may use it, i2vlib.claims.health)")
    print(f"wrote {args.out}")


def _export(args) -> None:
    onnx_destination(args.out)     # checked before the model loads
    meta = to_onnx(runs.load(args.model, device="cpu"), args.out, weights=args.weights)
    size = Path(args.out).stat().st_size / 1e6
    checked = ("not checked against generate (install onnxruntime to check)" if meta["max_difference"] is None else
               f"frames within {meta['max_difference']} grey levels of generate's")
    print(f"wrote {args.out} ({size:.1f} MB, {meta['weights']} weights; inputs {', '.join(meta['inputs'])}, "
          f"output {meta['output']}; {checked})")


def _image_argument(text: str, size: int):
    """A path, or ``synthetic:K``: the neutral face of test identity K of the benchmark (only that
    spelling: a file called ``synthetic_me.png`` is a file)."""
    if not text.startswith("synthetic:"):
        if not Path(text).is_file():
            raise I2VError(f"no such image: {text}")
        return text
    bench = synthetic.SyntheticBenchmark(size)
    k = text.removeprefix("synthetic:")
    ids = bench.identities("test")
    try:
        index = int(k)
    except ValueError:
        raise I2VError(f"expected synthetic:K with K an integer, got {text!r}") from None
    if not 0 <= index < len(ids):
        raise I2VError(f"synthetic:K needs 0 <= K < {len(ids)}")
    return bench.frame(int(ids[index]), {"happy": 0.0})[0]


if __name__ == "__main__":
    sys.exit(main())
