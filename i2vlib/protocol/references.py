"""The model-free references every gate is set from, and must fail (or, the truth, pass).

    python -m i2vlib.protocol.references --out i2vlib/protocol/references.json

Each reference is a rule behind the generation API, so that a table's measure (:data:`MEASURES`: the ablation
protocol's :func:`~i2vlib.evaluate.ablation.arm_scores`, FRGAN's retargeting, the pose protocol) scores it exactly as
it scores a trained arm:

``copy``          the input in every frame: a model that never moves (on poses: the last observed frame held);
``slid 2 px``     the input slid sideways by 2 (``slid 4 px``: 4) pixels, its edge repeated: a copy that the landmark
                  instrument reads as motion, with no expression in it;
``blank``         every frame one flat colour, the input's mean: a model that renders no face;
``mean face``     the training set's mean face (on poses: its mean frame) in every frame, whatever the input: a model
                  collapsed onto one output;
``held last``     the true video's last frame in every frame (on faces of any intensity, the true frame of the last one
                  asked for): a model that jumps to the end of the motion and holds it;
``jump``          the input first (on faces of any intensity: wherever a = 0), then the true video's last frame held: a
                  model whose motion comes in one step;
``truth``         the true video: what a perfect model renders (on faces of any intensity, the true frame whose
                  intensity is nearest each one asked for).

The gates (:mod:`.gates`) take their bounds from these references' scores, which ``references.json`` beside this
module holds (a test recomputes them); ``another person`` (the true video of another test identity, the identity
gate's bound) is scored with them, and FRGAN's protocol's motion thirds (``retarget``'s ``third``: each frame's, which
its large-motion claim reads) are kept with them.
"""

from __future__ import annotations

import json
import math
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..clip_record import EXPRESSIONS
from ..data.clips import labels
from ..data.pose_benchmark import PoseBenchmark
from ..data.synthetic import SyntheticBenchmark
from ..errors import ArgumentParser, I2VError, command_line
from ..evaluate import evaluate, retarget, test_clips
from ..evaluate.baselines import baselines as evaluation_baselines
from ..evaluate.pose_protocol import OBSERVED, PREDICTED, test_videos
from ..evaluate.videos import evaluation_videos
from ..io import write_json
from ..outputs import check_output
from .measures import MEASURES

FILE = Path(__file__).with_name("references.json")
MEAN_FACE_IDENTITIES = 200     # training identities (faces) or videos (poses) averaged into the mean
MUST_FAIL = ("copy", "slid 2 px", "slid 4 px", "blank", "mean face", "held last", "jump")
MUST_PASS = ("truth",)
ENDS = ("held last", "jump")     # the truth's video, ended otherwise (:func:`_ended`)
# Each measure's options, as the tables measure their arms in the book profile (tables.measure_options).
OPTIONS = {"arm": {"videos": 12}, "retarget": {"targets": 8, "frames": 16}, "pose": {"per_action": 4}}


def rise(errors) -> np.ndarray:
    """How much a forecast's error grows over its horizon, per video: the mean of the last third of its frames
    minus the first third's (``errors``: videos x frames)."""
    thirds = np.array_split(np.asarray(errors, dtype=float), 3, axis=-1)
    return thirds[-1].mean(axis=-1) - thirds[0].mean(axis=-1)


def slide(image: np.ndarray, px: int) -> np.ndarray:
    """``image`` (H x W x 3) moved ``px`` pixels to the right, its left column repeated into the gap."""
    out = np.roll(image, px, axis=1)
    out[:, :px] = image[:, :1]
    return out


def flat(image: np.ndarray) -> np.ndarray:
    """``image`` as one flat colour, its mean."""
    return np.full_like(image, np.round(image.reshape(-1, 3).mean(0)))


@lru_cache(maxsize=4)
def mean_face(size: int = 64, seed: int = 0) -> np.ndarray:
    """The mean of the neutral faces of the benchmark's first :data:`MEAN_FACE_IDENTITIES` training identities."""
    bench = SyntheticBenchmark(size=size, seed=seed)
    faces = [bench.frame(int(i), {"happy": 0.0})[0].astype(np.float64)
             for i in bench.identities("train")[:MEAN_FACE_IDENTITIES]]
    return np.clip(np.mean(faces, axis=0) + 0.5, 0, 255).astype(np.uint8)


@lru_cache(maxsize=4)
def mean_pose_frame(size: int = 64) -> np.ndarray:
    """The mean frame of the pose benchmark's first :data:`MEAN_FACE_IDENTITIES` training videos (their last
    observed frame)."""
    bench = PoseBenchmark(size, seed=0)
    frames = [bench.video("forecast", i).frames[OBSERVED - 1].astype(np.float64) for i in range(MEAN_FACE_IDENTITIES)]
    return np.clip(np.mean(frames, axis=0) + 0.5, 0, 255).astype(np.uint8)


def _repeat(image, n):
    return np.repeat(np.asarray(image)[None], n, axis=0)


def _ended(frames: np.ndarray, end: str | None, first: np.ndarray, at_first) -> np.ndarray:
    """``frames`` as they are (``end`` None), their last in every frame (``"held last"``), or ``first`` where
    ``at_first`` and their last elsewhere (``"jump"``)."""
    if end is None:
        return frames
    out = _repeat(frames[-1], len(frames))
    if end == "jump":
        out[np.asarray(at_first, dtype=bool)] = first
    return out


class FaceReference:
    """A face reference behind the generation API: ``frame(image)`` the frame it renders at every intensity, or
    (the truth) the true video's frames, looked up by the input's neutral frame among the videos it was shown
    (:meth:`know`). It retargets (FRGAN's protocol) by rendering the reference's intensities, the truth by
    returning the exact retargeted video. ``end``: the truth's last frame held (``held last``), or reached in one step
    from the input (``jump``)."""

    expressions = EXPRESSIONS

    def __init__(self, method: str, frame=None, image_size: int = 64, end: str | None = None):
        self.method, self.frame, self.image_size, self.end = method, frame, int(image_size), end
        self.clips: dict[bytes, object] = {}
        self.retargeted: dict[bytes, np.ndarray] = {}

    def know(self, clips=(), cases=()) -> FaceReference:
        """Learn the true videos of ``clips`` and the exact retargeted videos of FRGAN's protocol ``cases``."""
        self.clips.update({c.frames[0].tobytes(): c for c in clips})
        self.retargeted.update({c["neutral"].tobytes(): c["truth"] for c in cases})
        return self

    def generate(self, image, intensities, expression=None) -> np.ndarray:
        image = np.asarray(image)
        a = np.atleast_1d(np.asarray(intensities, dtype=float))
        if self.frame is not None:
            return _repeat(self.frame(image), len(a))
        clip = self.clips.get(image.tobytes())
        if clip is None:
            raise I2VError("the truth answers only for the neutral frames of the test videos it was shown")
        lab = labels(clip, "true" if clip.intensity is not None else "position")
        return _ended(clip.frames[[int(np.argmin(np.abs(lab - x))) for x in a]], self.end, image, a == 0)

    def retarget(self, neutral, reference, condition=None) -> np.ndarray:
        frames = reference.frames if hasattr(reference, "frames") else np.asarray(reference)
        if self.frame is not None:
            return _repeat(self.frame(np.asarray(neutral)), len(frames))
        truth = self.retargeted[np.asarray(neutral).tobytes()]
        return _ended(truth, self.end, np.asarray(neutral), np.arange(len(truth)) == 0)

    def __repr__(self) -> str:
        return f"<reference {self.method}>"


class PoseReference:
    """A pose reference behind the forecasting API (:func:`i2vlib.evaluate.pose_protocol.forecast_video`):
    ``frame(last observed frame)`` held over every forecast frame, or (the truth) the true future frames; ``end``:
    the true future's last frame over every forecast frame (``held last``), or after the last observed frame
    (``jump``)."""

    def __init__(self, method: str, frame=None, image_size: int = 64, videos=(), end: str | None = None):
        self.method, self.frame, self.image_size, self.end = method, frame, int(image_size), end
        self.future = {v.frames[OBSERVED - 1].tobytes(): v.frames[OBSERVED:OBSERVED + PREDICTED] for v in videos}

    def forecast(self, image, joints_source, joints, observed=None) -> np.ndarray:
        image = np.asarray(image)
        if self.frame is not None:
            return _repeat(self.frame(image), len(joints))
        future = self.future[image.tobytes()][:len(joints)]
        return _ended(future, self.end, image, np.arange(len(future)) == 0)

    def __repr__(self) -> str:
        return f"<reference {self.method}>"


def face_references(size: int = 64) -> dict[str, FaceReference]:
    """The face references of this module's docstring (the truth learns its videos: :meth:`FaceReference.know`)."""
    mean = mean_face(size)
    frames = {"copy": lambda im: im, "slid 2 px": lambda im: slide(im, 2), "slid 4 px": lambda im: slide(im, 4),
              "blank": flat, "mean face": lambda im: mean, "truth": None, **dict.fromkeys(ENDS)}
    return {name: FaceReference(name, frame, size, end=name if name in ENDS else None)
            for name, frame in frames.items()}


def pose_references(size: int = 64, videos=()) -> dict[str, PoseReference]:
    """The pose references: the last observed frame held (``copy``), slid, blank, the mean frame, the truth, the
    true future's last frame held (``held last``) or reached in one step (``jump``)."""
    mean = mean_pose_frame(size)
    frames = {"copy": lambda im: im, "slid 2 px": lambda im: slide(im, 2), "slid 4 px": lambda im: slide(im, 4),
              "blank": flat, "mean face": lambda im: mean, "truth": None, **dict.fromkeys(ENDS)}
    return {name: PoseReference(name, frame, size, videos, end=name if name in ENDS else None)
            for name, frame in frames.items()}


def _another_person_arm(size: int, videos: int) -> dict:
    """``arm_scores``' ACD-I of the true video of another test person with the same expression (the identity gate's
    bound), on the ablation protocol's videos."""
    other = evaluation_baselines("synthetic", videos, size, 0, expressions=["happy"])["another person"]
    scores = evaluate(other, videos=videos, expressions=["happy"], per_video=False, progress=False)["scores"]
    return {"acd_i": scores["acd_i"]}


def _another_person_retarget(size: int, targets: int, frames: int) -> dict:
    """FRGAN's protocol scored on another target's exact video (its neighbour's in the protocol's order)."""
    p = retarget.protocol(size, targets, frames)
    rows = [retarget.score(p.cases[(i + 1) % len(p.cases)]["truth"], c, p.instrument) for i, c in enumerate(p.cases)]
    return {"fitted": {"acd_i": float(np.nanmean([r["acd_i"] for r in rows]))}}


def reference_model(measure: str, name: str, size: int = 64):
    """Reference ``name`` ready to be scored by ``measure`` (the truth shown the videos that measure scores)."""
    options = OPTIONS[measure]
    if measure == "pose":
        return pose_references(size, test_videos(options["per_action"], size))[name]
    ref = face_references(size)[name]
    if measure == "arm":
        clips = [c for c, _ in evaluation_videos("synthetic", "test", options["videos"], size, 0, ["happy"])]
        return ref.know(clips).know(test_clips(ref, "linear", n=options["videos"], frames=16, seed=0,
                                               expressions=["happy"]))
    return ref.know(cases=retarget.protocol(size, **options).cases)


def measure_reference(measure: str, name: str, size: int = 64) -> dict:
    """``MEASURES[measure]`` of reference ``name`` (with :data:`OPTIONS`), its pictures dropped; on poses, each
    video's mean (a gate reads the videos of a run's actions)."""
    out = MEASURES[measure][1](reference_model(measure, name, size), **OPTIONS[measure])
    if measure == "pose":
        return {"mse_v": {c: v.mean(axis=1) for c, v in out["mse_t"].items()},
                "change_v": {c: np.nanmean(v, axis=1) for c, v in out["change_t"].items()},
                "rise_v": {c: rise(v) for c, v in out["mse_t"].items()}, "actions": out["actions"]}
    out = {k: v for k, v in out.items() if k not in ("strip", "mask_strip")}
    if measure == "arm" and name == "truth":      # the truth against itself: evaluate reports the infinite PSNR as null
        out["psnr"] = math.inf
    return out


def compute(size: int = 64, progress: bool = True) -> dict:
    """Every reference under every measure, and ``another person``'s identity distance (the identity gate's
    bound): ``{measure: {reference: scores}}``."""
    out = {}
    for measure in OPTIONS:
        out[measure] = {}
        for name in (*MUST_FAIL, *MUST_PASS):
            if progress:
                print(f"references: {measure} {name}", file=sys.stderr, flush=True)
            out[measure][name] = measure_reference(measure, name, size)
    out["arm"]["another person"] = _another_person_arm(size, OPTIONS["arm"]["videos"])
    out["retarget"]["another person"] = _another_person_retarget(size, **OPTIONS["retarget"])
    out["retarget"]["third"] = retarget.protocol(size, **OPTIONS["retarget"]).third   # each frame's motion third
    return out


def encode(value):
    """A JSON-ready copy of ``value``: arrays as lists, non-finite floats as the strings "inf", "-inf", "nan" (the
    truth's PSNR is infinite, and a gate must read it so), rounded to 6 significant digits."""
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return encode(value.tolist())
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return str(v) if not math.isfinite(v) else float(f"{v:.6g}")
    if isinstance(value, np.integer):
        return int(value)
    return value


def decode(value):
    """The inverse of :func:`encode`'s non-finite strings."""
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return value


@lru_cache(maxsize=1)
def recorded() -> dict:
    """The references' scores shipped in :data:`FILE` (``{measure: {reference: scores}}``)."""
    return decode(json.loads(FILE.read_text()))


@command_line("references")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.protocol.references", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(FILE), help="where to write the references' scores (JSON)")
    args = p.parse_args(argv)
    try:
        out = check_output(args.out)
    except I2VError as e:
        print(f"references: error: {e}", file=sys.stderr)
        return 2
    write_json(out, encode(compute()))
    print(f"references: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
