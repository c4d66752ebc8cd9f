"""What each ``i2v`` command runs, once :mod:`i2vlib.cli` has parsed its arguments: a function per command (and
the few helpers they share), each checking its input and output before any work and calling the library for the rest.

Bad input ends with one line, ``i2v: error: ...``, and exit status 2 (an :class:`~i2vlib.errors.I2VError` raised here,
which :func:`i2vlib.cli.main` reports); no traceback and no half-written output.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import distributed, runs, zoo
from .checkpoint import CHECKPOINT, read_checkpoint
from .claims.health import zoo_health
from .clip_record import EXPRESSIONS
from .config import RENAMED, check_data, profile, resolve_device
from .data import pose_benchmark, synthetic
from .data.curves import check_curves
from .data.folders import write_affinegan, write_pose
from .data.prepare import prepare
from .data.video import read_video
from .errors import I2VError
from .evaluate import of_model, table
from .faces.paste import animate, takes_photo
from .io import IMAGE_SUFFIXES, json_compression, read_image, to_json, write_image, write_json
from .models import get_method
from .onnx_export import check_destination as onnx_destination
from .onnx_export import to_onnx
from .outputs import check_name, check_output
from .protocol import gates, references, tables
from .records import verdicts
from .render import check_destination, contact_sheet, save_video
from .train import step_seconds


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
    splits = args.splits or list(pose_benchmark.SPLITS)
    for split in splits:
        if split not in pose_benchmark.SPLITS:
            raise I2VError(f"unknown split {split!r}; choose from {', '.join(pose_benchmark.SPLITS)}")
    bench = pose_benchmark.PoseBenchmark(size=args.size, seed=args.seed, frames=args.frames[0] if args.frames else 48)
    check_output(args.out, "folder")
    videos, start = args.videos or 2, time.perf_counter()
    index = write_pose(args.out, bench, splits, videos, overwrite=args.overwrite)
    print(f"wrote {len(index['videos'])} pose videos ({len(pose_benchmark.ACTIONS)} actions x {len(splits)} splits "
          f"x {videos}) at {args.size} px to {args.out} in {time.perf_counter() - start:.1f} s")


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
                         "healthy": health["healthy"], "trained_on": zoo.ENTRIES[name]["trained_on"]}
        print(json.dumps(out, indent=1))
        return
    print("\n".join(zoo.listing(_health_word)))


def _health_word(method: str, scores: dict) -> str:
    """An entry's health in a few words (:func:`i2vlib.claims.health.zoo_health`)."""
    health = zoo_health(method, scores)
    return "healthy" if health["healthy"] else f"fails {', '.join(health['failed'])}"


def _claims(args) -> None:
    snapshot = verdicts.current(say=lambda text: print(f"i2v claims: {text}", file=sys.stderr, flush=True))
    out = {k: snapshot[k] for k in ("protocol", "records_under", "round")}
    out["claims"] = [r for r in snapshot["claims"] if args.paper in (None, r["paper"])]
    print(json.dumps(out, indent=1) if args.json else verdicts.text(out))


def _gate(args) -> int:
    if args.model.startswith("reference:"):
        name = args.model.removeprefix("reference:").replace("-", " ")
        if name not in (*references.MUST_FAIL, *references.MUST_PASS):
            raise I2VError(f"unknown reference {args.model!r}; choose one of "
                           + ", ".join(f"reference:{n.replace(' ', '-')}" for n in (*references.MUST_FAIL,
                                                                                      *references.MUST_PASS)))
        model = references.reference_model(tables.MEASURE[args.table], name)
    else:
        model = runs.load(args.model, device=args.device)
    result = {"model": args.model, **gates.gate(model, args.table, args.role)}
    if args.json:
        print(json.dumps(to_json(result), indent=1))
    else:
        for name, c in result["checks"].items():
            value = "not measured" if c["value"] is None else f"{c['value']:.4g}"
            print(f"{name:10s} {'pass' if c['passed'] else 'FAIL'}  {value} (bound {c['bound']:.4g})")
        print(f"{args.model}: {'passes' if result['passed'] else 'fails ' + ', '.join(result['failed'])} the "
              f"{args.role} gates of {args.table}")
    return 0 if result["passed"] else 1


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
    """The full config that ``i2v train`` arguments ask for (the inverse of
    :func:`i2vlib.records.origin.train_command`)."""
    method = get_method(args.method)
    args.profile = "book" if args.profile is None else args.profile  # the default, said by _plan; '' is refused
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
    chosen = args.profile is not None
    config = _train_config(args)
    if distributed.context().main:
        print(_plan(args, config, chosen), flush=True)
    info = runs.train(config, args.out, resume=args.resume, device=args.device, compile=args.compile,
                      progress=not args.quiet, checkpoint_every=args.checkpoint_every, snapshots=args.snapshots,
                      amp=args.amp)
    if not distributed.context().main:   # under torchrun, rank 0 alone reports
        return
    print(f"trained {info['method']} to step {info.get('step', config['steps'])} in {info.get('seconds', 0):.1f} s "
          f"({info.get('examples_per_second', 0):.1f} examples/s) -> {args.out}")


# Runs this short are not timed beforehand: they take seconds, about as long as timing them would.
TIMED_FROM = 50


def _plan(args, config: dict, chosen: bool) -> str:
    """What ``i2v train`` is about to do, in one line: the profile (``chosen``: given, not the default), the steps,
    and how long they should take here (:func:`i2vlib.train.step_seconds`, measured now), with the options that
    change it."""
    done = int(read_checkpoint(args.out)["step"]) if args.resume else 0
    todo = max(0, config["steps"] - done)
    steps = f"{todo} steps" + (f" (from step {done} to {config['steps']})" if done else "")
    if todo >= TIMED_FROM:
        per_step = step_seconds(config, args.device, args.amp)
        when = f"about {_duration(todo * per_step)} here ({per_step:.2f} s a step, timed just now)"
    else:
        when = "seconds"
    default = "" if chosen else " (the default)"
    faster = "; --profile smoke trains in seconds" if args.profile != "smoke" else ""
    return (f"training {config['method']} with the {args.profile} profile{default}: {steps} of batch "
            f"{config.get('batch', '?')} at {config['image_size']} px on {resolve_device(args.device)}, {when}"
            f"{faster}, --steps N sets the length")


def _duration(seconds: float) -> str:
    """``seconds`` as a reader says it: 40 s, 12 min, 3 h 20 min."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


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
    image, face = _image_argument(args.image, model.image_size), _face_argument(args)
    meta = {"method": model.method, "checkpoint_hash": model.checkpoint_hash, "model": str(args.model),
            "step": model.step, "image": str(args.image)}
    if takes_photo(face, image.shape, model.image_size, not args.no_paste):
        clip = model.animate(image, intensities, args.expression, face=None if face == "auto" else face,
                             paste=not args.no_paste)
        frames = _said(clip, meta)
    else:
        frames = model.generate(image, intensities, expression=args.expression, face=face)
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
    image, face = _image_argument(args.image, model.image_size), _face_argument(args)
    reference = read_video(args.reference)
    meta = {"method": model.method, "checkpoint_hash": model.checkpoint_hash, "model": str(args.model),
            "step": model.step, "image": str(args.image), "reference": str(args.reference)}
    if takes_photo(face, image.shape, model.image_size, not args.no_paste):
        clip = animate(image, lambda crop, landmarks: model.retarget(crop, reference, **model.face_options(landmarks)),
                       model.image_size, face=None if face == "auto" else face, paste=not args.no_paste)
        frames = _said(clip, meta)
        model.note_domain()
    else:
        frames = model.retarget(image, reference)
        if image.shape[:2] != (model.image_size, model.image_size):      # a photo, squashed whole
            model.note_domain()
    save_video(frames, args.out, fps=args.fps, **meta)
    print(f"wrote {len(frames)} frames to {args.out}")


def _face_argument(args):
    """The ``face`` argument of ``generate`` that ``--face``, ``--whole-image`` and ``--no-paste`` ask for."""
    if args.image.startswith("synthetic:") and (args.face or args.whole_image or args.no_paste):
        raise I2VError(f"{args.image} is a benchmark face at the model's size; --face, --whole-image and --no-paste "
                       "are for photos")
    if args.whole_image and (args.face or args.no_paste):
        raise I2VError("--whole-image finds no face; --face and --no-paste choose and keep the face it would find")
    return "whole" if args.whole_image else args.face or "auto"


def _said(clip, meta: dict):
    """A photo's animated face: say which face (and how many were found), record where, return the frames."""
    print(clip.says())
    meta.update(clip.sidecar())
    return clip.frames


def _evaluate(args) -> None:
    json_compression(args.out)
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


def _image_argument(text: str, size: int) -> np.ndarray:
    """The image of a path, or of ``synthetic:K``: the neutral face of test identity K of the benchmark (only that
    spelling: a file called ``synthetic_me.png`` is a file)."""
    if not text.startswith("synthetic:"):
        if not Path(text).is_file():
            raise I2VError(f"no such image: {text}")
        return read_image(text)
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
