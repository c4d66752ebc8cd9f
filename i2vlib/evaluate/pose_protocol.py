"""FRGAN's pose experiments (§4.3) on the pose benchmark: Table 3, Fig. 7, Table 4's MSE column, G_C's PCK.

    python -m i2vlib.evaluate.pose_protocol        # retrain the shipped G_C (the pose LSTM) and report its error

Protocol (§4.3): on test videos of people no network trained on (the benchmark's third third),
``per_action`` of each action, every method starts from the last observed frame I_9 and generates the
32 frames 10..41, "evaluated starting from the first frame": per-pixel mean squared error (pixels
in [0, 1]) and PSNR of every generated frame against the true one. The condition is the joints
G_C predicts from the 10 observed poses ("MSE"), or the true joints ("MSE (GT)").

G_C is one LSTM for every method, as in the paper ("the pre-trained LSTM provided by [39]"): trained
once on the joint sequences of the two training thirds and shipped (``models/weights/pose_lstm64.pt``,
with its command, time and error in the JSON beside it).

Any pose forecaster runs the protocol (FRGAN's pose model, the VGAN and Mathieu et al. baselines): a model with
``image_size``, ``config`` and ``forecast(image, joints_source, joints)``, which renders one frame per pose of
``joints`` after ``image`` = I_9, whose own joints are ``joints_source`` (:func:`forecast_video`). A model that
observes no joints renders from the frames alone, so its two conditions give the same frames; one that observes
more than I_9 says how many frames in ``observes``; one trained on some actions (VGAN: one model per action, as
FRGAN trains it) names them in ``actions`` and is scored on their test videos only.
"""

from __future__ import annotations

import json
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..data.pose_benchmark import ACTIONS, PoseBenchmark
from ..errors import ArgumentParser, I2VError, command_line
from ..io import to_json, write_json
from ..metrics import pck, pose_error
from ..models.pose_lstm import OBSERVED, PREDICTED, load_lstm, predict, save_lstm, train_lstm, zero_velocity
from ..outputs import check_output

G_C_WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights" / "pose_lstm64.pt"
G_C_SETTINGS = {"size": 64, "sequences": 800, "hidden": 256, "steps": 3000, "batch": 32, "seed": 0}
CONDITIONS = ("lstm", "gt")          # Table 3's two columns: G_C's predicted joints, the true joints
STRIP = np.arange(0, 32, 4)          # the generated frames a strip shows (every 4th, as Fig. 8's every 5th)
# Validation videos for recipe choices: the G_R third's videos from this index on. No network trains on them (G_R
# reads that third's first ``videos`` x 8, the LSTM its first 400); their people are the G_R third's.
VALIDATION = ("refine", 4000)
SPLITS = ("test", "val")


@lru_cache(maxsize=4)
def test_videos(per_action: int = 4, size: int = 64, split: str = "test") -> tuple:
    """``per_action`` videos of each action (benchmark seed 0, 48 frames), in action order: of the test third, or
    with ``split="val"`` the validation videos (:data:`VALIDATION`)."""
    if split not in SPLITS:
        raise I2VError(f"unknown pose split {split!r}; choose one of {', '.join(SPLITS)}")
    bench = PoseBenchmark(size, seed=0)
    third, start = ("test", 0) if split == "test" else VALIDATION
    return tuple(bench.video(third, start + i) for i in range(per_action * len(ACTIONS)))


@lru_cache(maxsize=1)
def g_c(path=G_C_WEIGHTS):
    """The shipped pose LSTM (G_C) and its report."""
    model, meta = load_lstm(path)
    return model, meta


def predicted_joints(videos, model=None) -> np.ndarray:
    """G_C's 32 poses after each video's 10 observed ones: (V, 32, 13, 2) pixels."""
    model = g_c()[0] if model is None else model
    size = videos[0].frames.shape[1]
    return predict(model, np.stack([v.joints[:OBSERVED] for v in videos]),
                   np.stack([v.visibility[:OBSERVED] for v in videos]), size)


def lstm_scores(videos, model=None) -> dict:
    """G_C against the true future poses: PCK@0.2 and pixel error per future step (32,), for G_C and
    for the zero-velocity baseline (the last observed pose held)."""
    true = np.stack([v.joints[OBSERVED:OBSERVED + PREDICTED] for v in videos])
    vis = np.stack([v.visibility[OBSERVED:OBSERVED + PREDICTED] for v in videos])
    out = {}
    for name, pred in (("lstm", predicted_joints(videos, model)),
                       ("zero_velocity", zero_velocity(np.stack([v.joints[:OBSERVED] for v in videos])))):
        out[name] = {"pck_t": [pck(pred[:, t], true[:, t], vis[:, t]) for t in range(PREDICTED)],
                     "error_t": [pose_error(pred[:, t], true[:, t], vis[:, t]) for t in range(PREDICTED)],
                     "pck": pck(pred, true, vis), "error_px": pose_error(pred, true, vis)}
    return out


def frame_mse(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-frame mean squared error of uint8 frames, pixels in [0, 1]: (T,)."""
    d = generated.astype(np.float64) / 255 - truth.astype(np.float64) / 255
    return (d ** 2).reshape(len(d), -1).mean(1)


def mse_to_psnr(mse) -> np.ndarray:
    """PSNR in dB of per-frame MSEs (pixels in [0, 1]); a perfect frame is capped at 100 dB."""
    return 10 * np.log10(1.0 / np.maximum(np.asarray(mse, np.float64), 1e-10))


def change_region(video) -> np.ndarray:
    """Where the 32 true future frames differ from the input frame I_9 by what the figure did: pixels whose
    part label changed (T, S, S) bool; the background is static, so nothing else changes."""
    return video.parts[OBSERVED:OBSERVED + PREDICTED] != video.parts[OBSERVED - 1]


def change_mse(generated: np.ndarray, truth: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Per-frame MSE (pixels in [0, 1]) inside each frame's change region, NaN where it is empty: (T,)."""
    d = ((generated.astype(np.float64) - truth.astype(np.float64)) / 255) ** 2
    n = region.reshape(len(d), -1).sum(1)
    total = (d.mean(-1) * region).reshape(len(d), -1).sum(1)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def copy_last(videos) -> dict:
    """The trivial forecast, the last observed frame held: per-frame MSE over the frame (``mse_t``) and in
    the change region (``change_t``), (V, 32) each."""
    held = [np.repeat(v.frames[OBSERVED - 1:OBSERVED], PREDICTED, 0) for v in videos]
    truth = [v.frames[OBSERVED:OBSERVED + PREDICTED] for v in videos]
    return {"mse_t": np.stack([frame_mse(h, t) for h, t in zip(held, truth)]),
            "change_t": np.stack([change_mse(h, t, change_region(v)) for h, t, v in zip(held, truth, videos)])}


def forecast_video(model, video, joints) -> np.ndarray:
    """The protocol's call of a pose forecaster: the frames after I_9 of ``video`` for the poses ``joints``
    (T x 13 x 2 pixels), T x S x S x 3 uint8. ``model.forecast(I_9, joints of I_9, joints)``, and a model with
    ``observes = k`` (k > 1) also gets the last k observed frames I_{10-k} ... I_9 as ``observed=``."""
    k = getattr(model, "observes", 1)
    if not isinstance(k, int) or not 1 <= k <= OBSERVED:
        raise I2VError(f"a pose forecaster observes 1 to {OBSERVED} frames, got observes={k!r}")
    extra = {"observed": video.frames[OBSERVED - k:OBSERVED]} if k > 1 else {}
    return model.forecast(video.frames[OBSERVED - 1], video.joints[OBSERVED - 1], joints, **extra)


def scored_videos(model, per_action: int = 4, split: str = "test") -> list:
    """The videos a pose forecaster is scored on: ``per_action`` of each action it knows (``actions``)."""
    actions = getattr(model, "actions", ACTIONS)
    return [v for v in test_videos(per_action, model.image_size, split) if v.action in actions]


def pose_scores(model, per_action: int = 4, strips=(), split: str = "test") -> dict:
    """A pose model's forecasts of the test videos under both conditions.

    ``mse_t``: {condition: (V, 32) per-frame MSE}; ``change_t``: the same inside the true change region
    (:func:`change_region`); ``actions``: each video's action; ``strips``, for each action named, its first
    test video's truth and both forecasts, stacked, at the frames of :data:`STRIP` ({action: (8, 3S, S, 3)});
    ``split="val"``: on the validation videos (:func:`test_videos`).
    """
    if not callable(getattr(model, "forecast", None)):
        raise I2VError(f"pose_scores measures a pose forecaster (frgan-pose, or vgan and mathieu on poses), got "
                       f"{getattr(model, 'method', type(model).__name__)}")
    videos = scored_videos(model, per_action, split)
    conditions = {"lstm": predicted_joints(videos), "gt": np.stack([v.joints[OBSERVED:OBSERVED + PREDICTED]
                                                                    for v in videos])}
    mse, change = {c: [] for c in CONDITIONS}, {c: [] for c in CONDITIONS}
    pictures = {}
    for i, v in enumerate(videos):
        truth, region = v.frames[OBSERVED:OBSERVED + PREDICTED], change_region(v)
        made = {c: forecast_video(model, v, conditions[c][i]) for c in CONDITIONS}
        for c in CONDITIONS:
            mse[c].append(frame_mse(made[c], truth))
            change[c].append(change_mse(made[c], truth, region))
        if v.action in strips and v.action not in pictures:
            pictures[v.action] = np.concatenate([r[STRIP] for r in (truth, made["lstm"], made["gt"])], axis=1)
    out = {"mse_t": {c: np.stack(m) for c, m in mse.items()}, "change_t": {c: np.stack(m) for c, m in change.items()},
           "actions": [v.action for v in videos]}
    return {**out, "strips": pictures} if pictures else out


def forecasting(model, per_action: int = 4, split: str = "test") -> dict:
    """``i2v evaluate`` of a pose model: §4.3's protocol on ``per_action`` test videos of each action (frames
    10-41 forecast from I_9). ``scores``: ``mse_lstm`` and ``mse_gt`` (Table 3's two columns: G_C's joints,
    the true ones; pixels in [0, 1]), ``mse_hold`` (the last observed frame held), ``change_ratio_lstm`` and
    ``change_ratio_gt`` (the error inside the true change region over holding the frame's) and, per action,
    the mean PSNR of the forecast frames (``psnr_lstm``, ``psnr_gt``, ``psnr_hold``). A model of some actions
    (``actions``) is scored on theirs; ``split="val"`` scores the validation videos instead. JSON-ready."""
    start = time.perf_counter()
    r = pose_scores(model, per_action, split=split)
    held = copy_last(scored_videos(model, per_action, split))
    actions = np.array(r["actions"])
    scores = {f"mse_{c}": float(r["mse_t"][c].mean()) for c in CONDITIONS}
    scores["mse_hold"] = float(held["mse_t"].mean())
    for c in CONDITIONS:
        scores[f"change_ratio_{c}"] = float(np.nanmean(r["change_t"][c]) / np.nanmean(held["change_t"]))
    for name, mse in (*((c, r["mse_t"][c]) for c in CONDITIONS), ("hold", held["mse_t"])):
        scores[f"psnr_{name}"] = {a: float(mse_to_psnr(mse[actions == a]).mean()) for a in ACTIONS if a in actions}
    return to_json({"method": model.method, "protocol": "pose forecasting (§4.3): frames 10-41 from I_9",
                    "per_action": per_action, "split": split, "videos": len(actions), "scores": scores,
                    **{k: model.config[k] for k in ("stage", "action") if model.config.get(k) is not None},
                    "seconds": round(time.perf_counter() - start, 2)})


@command_line("pose")
def main(argv=None) -> int:
    import torch

    p = ArgumentParser(prog="python -m i2vlib.evaluate.pose_protocol", description="retrain the shipped pose G_C")
    p.add_argument("--out", default=str(G_C_WEIGHTS))
    args = p.parse_args(argv)
    check_output(args.out, "file")
    check_output(Path(args.out).with_suffix(".json"), "file")
    s = G_C_SETTINGS
    bench = PoseBenchmark(s["size"], seed=s["seed"])
    start = time.perf_counter()
    seqs = [bench.sequence(split, i) for split in ("forecast", "refine") for i in range(s["sequences"] // 2)]
    joints, vis = np.stack([q[0] for q in seqs]), np.stack([q[1] for q in seqs])
    model, history = train_lstm(joints, vis, s["size"], steps=s["steps"], batch=s["batch"], seed=s["seed"],
                                hidden=s["hidden"])
    seconds = time.perf_counter() - start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_lstm(model, out, {"settings": s}, half=True)
    scores = lstm_scores(test_videos(4, s["size"]), load_lstm(out)[0])     # the weights as shipped
    command = "python -m i2vlib.evaluate.pose_protocol" + ("" if args.out == str(G_C_WEIGHTS) else f" --out {args.out}")
    report = {"command": command, "settings": s,
              "seconds": round(seconds, 1), "threads": torch.get_num_threads(),
              "test": {k: {"pck": v["pck"], "error_px": v["error_px"]} for k, v in scores.items()},
              "history": history}
    write_json(out.with_suffix(".json"), report)
    print(json.dumps(report["test"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
