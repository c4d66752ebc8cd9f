"""The Evaluation chapter's measurements, made once and recorded, so that the book reads them as its other chapters
read the zoo's scores and the ablations' records (they took 215 s of ``make book``).

    python -m i2vlib.records.evaluation [--profile book] [--seed 0]

measures what the chapter measures in ``--profile`` on the benchmark and writes it to ``evaluation.json`` beside this
module, under the key of its arguments (:func:`arguments`, the record's :data:`VERSION` and the digest of the
synthetic instrument's weights, so that a changed instrument or a changed measurement is never read from an old
record). What is recorded (:data:`PARTS`):

* ``held_out``: the synthetic instrument's accuracy on the test identities (:func:`~i2vlib.instruments.build.
  assess`), and the identity triplets ordered by the same networks with random weights (what colour alone does);
* ``baselines``: :func:`~i2vlib.evaluate.evaluate` of the ground truth and each baseline
  (:func:`~i2vlib.evaluate.baselines`), the whole result of each;
* ``flaky``: the flaky truth (:class:`~i2vlib.evaluate.pitfalls.Flaky`) scored by i2vlib, and ACD with the public
  code's substitution for its lost faces, uniform and normal, over seeds (:func:`~i2vlib.evaluate.pitfalls.
  public_code_acd`);
* ``agreement``: four baselines scored with dlib's instruments and with ours, on fewer videos.

:func:`recorded` is load-or-measure: the record of these arguments, or (another profile, a folder of real faces,
``I2V_RETRAIN=1``) the measurement made now. A test measures one part again and compares it with the record.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..config import profile
from ..errors import ArgumentParser, I2VError
from ..evaluate import baselines, evaluate
from ..evaluate.pitfalls import Flaky, public_code_acd
from ..evaluate.videos import data_truth
from ..instruments import get_instrument
from ..instruments.benchmark import WEIGHTS, SyntheticInstrument
from ..instruments.build import assess
from ..instruments.nets import build
from ..io import to_json
from ..outputs import atomic_path, check_output
from ..runs import retraining

RECORD = Path(__file__).with_name("evaluation.json")
VERSION = 1          # raise it when a part's measurement changes what it returns
PARTS = ("held_out", "baselines", "flaky", "agreement")
AGREEMENT = ("ground truth", "blend", "copy", "shuffled truth")   # the baselines scored by both instruments


def arguments(cfg: dict, data: str = "synthetic", videos: int | None = None, seed: int = 0) -> dict:
    """What the chapter measures with, in profile budget ``cfg`` (:func:`i2vlib.config.profile`): the test
    videos (``videos``, or 7 per 4 of the profile's ``eval_videos``: 7 in the smoke profile, 42 in the book's) and
    their lengths (the smoke profile's are short), and the sizes of the instrument's held-out check, the public
    code's seeds and dlib's videos."""
    smoke = cfg["profile"] == "smoke"
    return {"data": data, "size": int(cfg["image_size"]), "videos": int(videos or 7 * max(1, cfg["eval_videos"] // 4)),
            "frames": [6, 10] if smoke else None, "seed": int(seed),
            "held_out": {"videos": 7, "triplets": 40, "negatives": 20} if smoke else
            {"videos": 70, "triplets": 500, "negatives": 200},
            "untrained_triplets": 40 if smoke else 200, "public_seeds": 3 if smoke else 5,
            "dlib_videos": 2 if smoke else 7}


def key(args: dict) -> str:
    """The record key of ``args``: the arguments, :data:`VERSION` and the instruments' weights."""
    weights = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()[:12]
    return json.dumps({**args, "version": VERSION, "instrument_weights": weights}, sort_keys=True,
                      separators=(",", ":"))


def _frames(args: dict):
    return tuple(args["frames"]) if args["frames"] else None


def held_out(args: dict) -> dict:
    """The synthetic instrument's accuracy on the test identities, and the triplets of random networks (their face
    score set to say "face" for every frame, so that every triplet is scored)."""
    acc = assess(get_instrument("synthetic"), seed=args["seed"], **args["held_out"])
    torch.manual_seed(args["seed"])
    random_nets = build()
    with torch.no_grad():
        random_nets["landmarks"].head.bias[136] = 10.0
    untrained = assess(SyntheticInstrument(random_nets), videos=1, triplets=args["untrained_triplets"], negatives=2,
                       seed=args["seed"])
    return {"accuracy": acc, "untrained": {k: untrained[k] for k in ("triplet_accuracy", "triplet_accuracy_hard")}}


def scored_baselines(args: dict, names=None) -> dict:
    """:func:`~i2vlib.evaluate.evaluate` of each baseline named in ``names`` (default: all), by name."""
    gens = baselines(args["data"], args["videos"], args["size"], args["seed"], frames=_frames(args))
    return {name: evaluate(gen, data=args["data"], videos=args["videos"], seed=args["seed"], frames=_frames(args),
                           progress=False)
            for name, gen in gens.items() if names is None or name in names}


def flaky(args: dict) -> dict:
    """The flaky truth's scores, and its ACD-I, ACD-C and ACD-G with the public code's substitution per fill and
    seed."""
    clips = baselines(args["data"], args["videos"], args["size"], args["seed"], frames=_frames(args))["copy"].clips
    gen = Flaky("flaky truth", lambda image, a, clip: clip.frames, clips, args["size"])
    scores = evaluate(gen, data=args["data"], videos=args["videos"], frames=_frames(args), seed=args["seed"],
                      progress=False)["scores"]
    instrument = get_instrument(data_truth(args["data"])["instrument"])
    public = {fill: np.array([public_code_acd(clips, gen, instrument, fill, s) for s in range(args["public_seeds"])])
              for fill in ("uniform", "normal")}
    return {"scores": scores, "public_code": public}


def agreement(args: dict) -> dict:
    """The :data:`AGREEMENT` baselines scored on ``dlib_videos`` videos with dlib's instruments and with the data's
    own (ours, on the benchmark): the scores, by instrument and name."""
    gens = baselines(args["data"], args["videos"], args["size"], args["seed"], frames=_frames(args))
    return {inst: {name: evaluate(gens[name], data=args["data"], videos=args["dlib_videos"], seed=args["seed"],
                                  frames=_frames(args), instrument=inst, progress=False)["scores"]
                   for name in AGREEMENT}
            for inst in ("dlib", "auto")}


MEASURE = {"held_out": held_out, "baselines": scored_baselines, "flaky": flaky, "agreement": agreement}


def measure(args: dict, parts=None) -> dict:
    """Each part of ``parts`` (default :data:`PARTS`) measured now, JSON-ready, with the seconds each took
    (``seconds``). The instrument's dlib comparison needs drawn faces: on a folder of real faces ``agreement`` is left
    out."""
    parts = PARTS if parts is None else parts
    if not data_truth(args["data"])["synthetic"]:
        parts = [p for p in parts if p != "agreement"]
    out, seconds = {}, {}
    for part in parts:
        start = time.perf_counter()
        out[part] = to_json(MEASURE[part](args))
        seconds[part] = round(time.perf_counter() - start, 1)
    return {**out, "seconds": seconds}


def read(path=RECORD) -> dict:
    """Every record in ``path``, by key (``{}`` if there is none)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else {}


def recorded(args: dict, path=RECORD) -> dict:
    """The record of ``args`` (with ``"recorded": True``), or, when there is none or ``I2V_RETRAIN=1``, every part
    measured now (``"recorded": False``)."""
    if not retraining() and (rec := read(path).get(key(args))) is not None:
        return {**rec, "recorded": True}
    return {**measure(args), "recorded": False}


def record(args: dict, path=RECORD, parts=None) -> dict:
    """Measure each part of ``parts`` (default :data:`PARTS`) with ``args`` and add it to ``path`` (replacing an
    earlier record of the same key)."""
    rec = measure(args, parts)
    book = {k: v for k, v in read(path).items() if k != key(args)} | {key(args): rec}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(book, separators=(",", ":"), allow_nan=False) + "\n")
    return rec


def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.records.evaluation", description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="book", help="the profile whose chapter budget to record (default book)")
    p.add_argument("--seed", type=int, default=0, help="the chapter's SEED (default 0)")
    p.add_argument("--out", type=Path, default=RECORD, help="the record file (default: the package's)")
    args = p.parse_args(argv)
    try:
        measured_args = arguments(profile(args.profile), seed=args.seed)
        check_output(args.out, "file")
        rec = record(measured_args, args.out)
    except I2VError as e:
        print(f"evaluation: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"key": key(measured_args), "seconds": rec["seconds"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
