"""The evaluation protocol behind ``i2v evaluate``: any generator, scored on test videos.

For every test video: take its neutral (first) frame, ask the generator for one frame per
ground-truth intensity, and measure the generated video and the ground-truth video with
the same instrument (:mod:`i2vlib.instruments`). Scores are computed per video
(:mod:`i2vlib.metrics`) and averaged over videos; the **reference** row is the same
computation with the ground-truth video in place of the generated one, as the papers
report it.

The generator is anything with ``method``, ``expressions``, ``image_size`` and
``generate(image, intensities, expression=...) -> T x H x W x 3 uint8`` (the API of
:func:`i2vlib.load`). A generator that renders only a fixed grid of intensities says so with
``supported_intensities`` (the ConvLSTM baseline: a = 0.1, ..., 1.0): each test video is then
resampled to 1 + len(grid) frames (:func:`~i2vlib.data.clips.resample`), the generator renders its
grid from the neutral frame, and the frames after the neutral are the ground truth (:func:`evaluation_case`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import metrics
from ..clip_record import EXPRESSIONS
from ..config import check_data
from ..data.clips import labels, resample, select
from ..errors import I2VError
from ..instruments import INSTRUMENTS, get_instrument
from ..instruments.benchmark import MIN_STRENGTH, inverse_response, strongest_expression
from ..io import to_json
from ..version import __version__
from .videos import evaluation_videos, is_synthetic_folder

SCORE_KEYS = ("acd_i", "acd_c", "acd_g", "undetected_rate", "landmark_rho", "landmark_error",
              "intensity_rho", "intensity_mae", "expression_accuracy", "strength", "inferred_intensity_rho", "l1",
              "psnr", "ssim", "texture")

DESCRIPTIONS = {
    "acd_i": "mean L2 distance of each frame's identity features to the input face's (lower: identity kept)",
    "acd_c": "mean L2 distance over all pairs of frames of a video (lower: consistent; a still video scores best)",
    "acd_g": "mean L2 distance of each frame's features to the ground-truth frame of the same intensity",
    "undetected_rate": "share of frames in which the instrument found no face (left out of every score)",
    "landmark_rho": "Spearman rho of requested intensity vs landmark distance to the first frame (Fan et al. Fig. 3)",
    "landmark_error": "mean distance (px) of the measured landmarks to those measured on the ground-truth frame",
    "intensity_rho": "Spearman rho of requested vs measured intensity",
    "intensity_mae": "mean |requested - measured intensity|",
    "expression_accuracy": "share of frames with requested intensity >= 0.5 whose strongest measured expression "
                           "is the requested one (and shows a strength of at least 0.1)",
    "strength": "the requested expression's measured strength at the video's highest requested intensity, over "
                "that of the ground-truth frame there (1: as strong as the truth)",
    "inferred_intensity_rho": "Spearman rho of the true intensity vs the one the model infers from the true frames "
                              "(AffineGAN Eq. 5; models that infer intensities, on data with true intensities)",
    "l1": "mean absolute pixel error vs the ground-truth frame (grey levels, 0-255)",
    "psnr": "PSNR (dB) of the video's pooled MSE vs the ground truth; null = identical (infinite)",
    "ssim": "mean SSIM vs the ground-truth frames",
    "texture": "mean absolute Laplacian of the frames over that of the true frames rendered without the "
               "benchmark's sensor noise (a folder: its frames); 1: the truth's fine detail, above 1: speckle or "
               "grid texture, below 1: blur. The reference row shows what the sensor noise alone adds",
}


# Which way each score is better; ``strength`` and ``texture`` are best at 1, so neither has a direction.
BETTER = {"acd_i": "lower", "acd_c": "lower", "acd_g": "lower", "undetected_rate": "lower", "landmark_rho": "higher",
          "landmark_error": "lower", "intensity_rho": "higher", "intensity_mae": "lower",
          "expression_accuracy": "higher", "inferred_intensity_rho": "higher", "l1": "lower", "psnr": "higher",
          "ssim": "higher"}


def best(scores: dict, key: str) -> str | None:
    """The name whose ``scores[name][key]`` is best by :data:`BETTER` (None and NaN left out); None if none is."""
    if key not in BETTER:
        raise I2VError(f"{key!r} has no better direction; scores that do: {', '.join(BETTER)}")
    finite = {n: float(s[key]) for n, s in scores.items() if s.get(key) is not None and math.isfinite(float(s[key]))}
    if not finite:
        return None
    return (min if BETTER[key] == "lower" else max)(finite, key=finite.get)


def score_video(frames, clip, requested, measured, measured_gt, curvature=None, input_feature=None,
                clean=None) -> dict:
    """Every per-video score of ``frames`` (generated, or the ground truth itself for the reference).

    ``measured`` / ``measured_gt``: instrument measurements of ``frames`` and of the
    ground-truth frames; ``curvature``: the identity's response curvature (synthetic data) to turn
    a measured visible strength into a measured intensity; ``input_feature``: the input face's
    identity features (default: those of the first ground-truth frame, the neutral input);
    ``clean``: the true frames without sensor noise, whose fine detail ``texture`` compares with
    (default: the ground-truth frames).
    """
    requested = np.asarray(requested, dtype=np.float64)
    face = measured_gt.embedding[0] if input_feature is None else input_feature
    out = metrics.acd(measured.embedding, face, measured_gt.embedding)
    out["landmark_rho"] = metrics.landmark_monotonicity(requested, measured.landmarks)
    out["landmark_error"] = metrics.landmark_error(measured.landmarks, measured_gt.landmarks)
    measured_a = None
    out["intensity_rho"] = out["intensity_mae"] = out["expression_accuracy"] = out["strength"] = math.nan
    if measured.strength is not None and clip.expression in measured.expressions:
        e = measured.expressions.index(clip.expression)
        r = measured.strength[:, e].astype(np.float64)
        peak = int(np.argmax(requested))
        truth_peak = float(measured_gt.strength[peak, e])
        out["strength"] = float(r[peak]) / truth_peak if truth_peak >= MIN_STRENGTH else math.nan
        measured_a = r if curvature is None else np.where(np.isnan(r), np.nan, inverse_response(r, curvature))
        fid = metrics.intensity_fidelity(requested, measured_a)
        out["intensity_rho"], out["intensity_mae"] = fid["rho"], fid["mae"]
        strong = (requested >= 0.5) & measured.face
        if strong.any():
            out["expression_accuracy"] = float(np.mean(strongest_expression(measured.strength[strong]) == e))
    out.update(metrics.pixel_metrics(frames, clip.frames))
    out["texture"] = metrics.texture(frames, clip.frames if clean is None else clean)
    out["trajectory"] = metrics.landmark_trajectory(measured.landmarks)
    out["measured_intensity"] = measured_a
    out["undetected_frames"] = int((~measured.face).sum())
    return out


def _aggregate(rows: list[dict]) -> dict:
    out = metrics.mean_over_videos(rows, [k for k in SCORE_KEYS if k != "undetected_rate"])
    frames = sum(len(r["trajectory"]) for r in rows)
    out["undetected_rate"] = sum(r["undetected_frames"] for r in rows) / frames if frames else math.nan
    # PSNR: infinite for a video identical to the truth; average the finite ones, or report inf.
    psnrs = [r["psnr"] for r in rows if not math.isnan(r["psnr"])]
    finite = [p for p in psnrs if math.isfinite(p)]
    out["psnr"] = float(np.mean(finite)) if finite else (math.inf if psnrs else math.nan)
    return {k: out[k] for k in SCORE_KEYS}


def choose_instrument(data: str, instrument: str = "auto"):
    """``auto``: the synthetic instrument for the benchmark (or a folder exported from it), dlib otherwise."""
    if not isinstance(instrument, str):
        return instrument  # an instrument object
    if instrument == "auto":
        instrument = "synthetic" if data == "synthetic" or is_synthetic_folder(data) else "dlib"
    if instrument not in INSTRUMENTS:
        raise I2VError(f"unknown instrument {instrument!r}; choose auto or one of {', '.join(INSTRUMENTS)}")
    return get_instrument(instrument)


def evaluation_case(clip, grid=None) -> tuple:
    """What the protocol asks of a generator for one test video: ``(neutral, truth, requested, labels)``.

    Without ``grid``: the neutral frame, the whole video as the truth, and one requested intensity per
    frame: the true ones, else Fan et al.'s position labels t / (T - 1) (``labels`` says which). With a
    fixed ``grid`` (a generator's ``supported_intensities``): the video resampled to 1 + len(grid) frames
    (a short one repeats frames), its neutral first; the truth is the len(grid) frames after it,
    requested at the grid (``labels = "grid"``).
    """
    if grid is None:
        kind = "true" if clip.intensity is not None else "position"
        return clip.frames[0], clip, labels(clip, kind), kind
    full = resample(clip, len(grid) + 1)
    return full.frames[0], select(full, np.arange(1, len(full))), np.asarray(grid, dtype=np.float64), "grid"


def evaluate(generator, data: str = "synthetic", split: str = "test", videos: int | None = None,
             instrument="auto", seed: int = 0, curves=("linear",), frames: tuple[int, int] | None = None,
             expressions=None, per_video: bool = True, progress: bool = True) -> dict:
    """Render every test video from its neutral frame at the ground-truth intensities and score it.

    ``data``: ``"synthetic"`` (the benchmark; ``seed``, the intensity ``curves`` and ``frames`` choose
    its videos) or a folder (the AffineGAN layout, CK+, MUG, videos). ``videos``: how many (default:
    10 per expression on the benchmark, all clips of a folder). ``instrument``: ``auto``,
    ``synthetic``, ``dlib`` or an instrument object. Real data without true intensities uses Fan
    et al.'s position labels t / (T - 1). A generator with ``supported_intensities`` renders its own
    grid on every video, resampled to match (:func:`evaluation_case`). A folder is evaluated on its clips of
    ``split``; a folder with a single split (e.g. one identity prepared by ``i2v prepare``) is evaluated
    whole, and ``split`` in the result names the split the clips came from. Returns a JSON-ready dict
    (NaN and infinity become None): ``scores``, ``reference`` (ground-truth videos), ``per_expression``,
    ``calibration``, ``intensity_labels`` (``true``, ``position`` or ``grid``), ``grid`` (the generator's
    fixed intensities, or None) and, with ``per_video``, every video's scores and landmark trajectory.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    for attr in ("method", "expressions", "image_size", "generate"):
        if not hasattr(generator, attr):
            raise I2VError(f"{type(generator).__name__} is not a generator: it has no {attr!r}")
    size = int(generator.image_size)
    gen_exprs = tuple(generator.expressions)
    exprs = tuple(expressions) if expressions is not None else gen_exprs
    if not exprs or not set(exprs) <= set(gen_exprs):
        raise I2VError(f"cannot evaluate expressions {', '.join(exprs) or '(none)'}: the model renders "
                       f"{', '.join(gen_exprs) or 'nothing'}")
    if videos is not None and videos < 1:
        raise I2VError(f"--videos must be at least 1, got {videos}")
    data = check_data(str(data))
    inst = choose_instrument(data, instrument)
    grid = getattr(generator, "supported_intensities", None)
    source = evaluation_videos(data, split, videos, size, seed, exprs, curves, frames)
    # the same videos without sensor noise (the benchmark: identical but for the noise), for ``texture``
    clean = evaluation_videos(data, split, videos, size, seed, exprs, curves, frames, noise=False) \
        if data == "synthetic" else None

    rows, refs, label_kinds, curvature_known, splits = [], [], set(), [], set()
    for clip, curvature in tqdm(source, total=videos or None, desc=f"evaluate {generator.method}", unit="video",
                            disable=not progress):
        neutral, truth, requested, kind = evaluation_case(clip, grid)
        fine = None if clean is None else evaluation_case(next(clean)[0], grid)[1].frames
        label_kinds.add(kind)
        curvature_known.append(curvature is not None)
        out = generator.generate(neutral, [float(a) for a in requested], expression=clip.expression)
        out = _check_frames(out, len(truth), size, generator)
        m_gt = inst.measure(truth.frames, neutral=neutral)
        m_gen = inst.measure(out, neutral=neutral)          # strengths read against the input face
        face = None if grid is None else inst.measure(neutral[None], neutral=neutral).embedding[0]
        splits.add(clip.split)
        info = {"video_id": clip.video_id, "expression": clip.expression, "identity": clip.identity,
                "frames": len(truth), "intensities": requested}
        rows.append({**info, **score_video(out, truth, requested, m_gen, m_gt, curvature, face, fine),
                     "inferred_intensity_rho": _inferred_rho(generator, neutral, truth, grid)})
        refs.append({**info, **score_video(truth.frames, truth, requested, m_gt, m_gt, curvature, face, fine),
                     "inferred_intensity_rho": math.nan})
    if not rows:
        raise I2VError(f"no videos to evaluate in {data} (split {split!r})")

    result = {
        "method": generator.method, "data": data, "split": ", ".join(sorted(splits)), "videos": len(rows),
        "frames": int(sum(r["frames"] for r in rows)), "instrument": inst.name, "image_size": size,
        "seed": seed if data == "synthetic" else None,
        "expressions": sorted({r["expression"] for r in rows}, key=lambda e: (EXPRESSIONS + (e,)).index(e)),
        "intensity_labels": next(iter(label_kinds)) if len(label_kinds) == 1 else "mixed",
        "grid": None if grid is None else [round(float(a), 6) for a in grid],
        "intensity_measure": None if not any(r["measured_intensity"] is not None for r in rows) else
        "a, from the visible strength and each identity's response curve" if all(curvature_known) else
        "visible strength (the identities' response curves are unknown)",
        "scores": _aggregate(rows), "reference": _aggregate(refs),
        "per_expression": {},
        "calibration": {},
        "descriptions": DESCRIPTIONS,
        "i2vlib": __version__,
    }
    for e in result["expressions"]:
        sel = [i for i, r in enumerate(rows) if r["expression"] == e]
        result["per_expression"][e] = {"videos": len(sel), "scores": _aggregate([rows[i] for i in sel]),
                                       "reference": _aggregate([refs[i] for i in sel])}
    for name, rs in (("scores", rows), ("reference", refs)):
        req = np.concatenate([r["intensities"] for r in rs])
        meas = [r["measured_intensity"] for r in rs]
        if all(m is not None for m in meas):
            result["calibration"][name] = metrics.calibration_curve(req, np.concatenate(meas))
    if per_video:
        result["per_video"] = [
            {**{k: r[k] for k in ("video_id", "expression", "identity", "frames", "intensities")},
             "scores": {k: r[k] for k in SCORE_KEYS}, "reference": {k: g[k] for k in SCORE_KEYS},
             "trajectory": r["trajectory"], "reference_trajectory": g["trajectory"],
             "measured_intensity": r["measured_intensity"], "reference_measured_intensity": g["measured_intensity"]}
            for r, g in zip(rows, refs)]
    result["seconds"] = round(time.perf_counter() - start, 2)
    return to_json(result)


def _inferred_rho(generator, neutral, truth, grid) -> float:
    """Spearman rho of the true intensities of ``truth`` vs the generator's own reading of its frames."""
    if grid is not None or truth.intensity is None or not hasattr(generator, "infer_intensity"):
        return math.nan
    return metrics.spearman(truth.intensity, generator.infer_intensity(neutral, truth.frames, truth.expression))


def _check_frames(out, t: int, size: int, generator) -> np.ndarray:
    try:
        import torch

        if isinstance(out, torch.Tensor):
            raise I2VError(f"{generator.method}: generate() returned a tensor; evaluation needs uint8 frames")
    except ImportError:  # pragma: no cover
        pass
    out = np.asarray(out)
    if out.dtype != np.uint8 or out.shape != (t, size, size, 3):
        raise I2VError(f"{generator.method}: generate() returned {out.dtype} {out.shape}; expected "
                       f"{t} x {size} x {size} x 3 uint8 (one frame per intensity)")
    return out


def table(results: dict, keys=SCORE_KEYS, reference: bool = True, columns: int = 100) -> str:
    """A plain-text table of ``{name: evaluate(...) result}`` (one row per method, plus the reference), no line
    wider than ``columns`` characters: the scores that do not fit beside the names continue in further blocks
    below, each with the names again (a terminal of 100 columns shows it unwrapped)."""
    rows = [(name, r["scores"]) for name, r in results.items()]
    if reference and results:
        rows.append(("reference (ground truth)", next(iter(results.values()))["reference"]))
    width = max(len(n) for n, _ in rows)
    cols = {k: max(8, len(k)) + 2 for k in keys}
    blocks = [[]]
    for k in keys:
        if blocks[-1] and width + sum(cols[j] for j in blocks[-1]) + cols[k] > columns:
            blocks.append([])
        blocks[-1].append(k)

    def fmt(v, c):
        return f"{'-':>{c}s}" if v is None else f"{v:{c}.3f}"

    return "\n\n".join("\n".join([" " * width + "".join(f"{k:>{cols[k]}s}" for k in block)] +
                                  [f"{n:<{width}s}" + "".join(fmt(s.get(k), cols[k]) for k in block) for n, s in rows])
                        for block in blocks)
