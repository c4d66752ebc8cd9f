"""FRGAN's retargeting protocol (the paper's Table 1), scored against the benchmark's exact truth.

One reference video of an unseen test person is performed by unseen test identities, each from
its neutral face. The paper could compare only with a reference row of real training videos; the
benchmark paints every identity performing the reference exactly
(:meth:`i2vlib.instruments.condition.Oracle.truth`), so each retargeted frame has a true frame. A model is
driven twice: with G_C **fitted** to the faces (the paper's setting) and with the **oracle**
motion maps (exact; Table 4's "ground-truth conditions"), so that the pixel measures judge G_M
and G_R rather than the landmark fitting.

* :class:`Protocol` -- the reference, the cases (:func:`cases`) and the motion of every frame;
* :func:`video`, :func:`score`, :func:`forecast_parts` -- one model on one case;
* :func:`retarget_scores` -- every measurement of one model the FRGAN chapters compare (recorded
  per run by :mod:`i2vlib.records.store`); :func:`baselines` -- the same of the truth and of copying;
* :func:`retargeting` -- what ``i2v evaluate`` reports of an FRGAN face model: the Table 1 protocol for
  a reference of each of its expressions (§4.2: "one video of each expression").
"""

from __future__ import annotations

import copy
import time
from functools import lru_cache

import numpy as np

from .. import metrics
from ..data.synthetic import SyntheticBenchmark
from ..errors import I2VError
from ..instruments import get_instrument
from ..instruments.benchmark import strongest_expression
from ..instruments.condition import Oracle, motion_maps
from ..io import to_json
from ..metrics import mean_over_videos
from ..version import __version__

# Grey levels: where the truth differs from the input face by more (in some channel), the frame has changed.
CHANGE = 8


def cases(reference, identities, size: int, seed: int = 0, instrument=None) -> list[dict]:
    """``reference`` performed exactly by each identity: its neutral face (the input), the true frames and
    landmarks, the change masks, the motion of each frame (mean landmark displacement from the input, px)
    and the instrument's view of the truth (``seen``) and of the neutral face (``face``, its embedding)."""
    instrument = instrument or get_instrument("synthetic")
    out = []
    for index in identities:
        oracle = Oracle(int(index), size, seed=seed)
        neutral, truth = oracle.neutral(), oracle.truth(reference=reference)
        landmarks = oracle.retarget(None, reference)
        out.append({"identity": int(index), "oracle": oracle, "neutral": neutral, "truth": truth,
                    "landmarks": landmarks,
                    "change": np.abs(truth.astype(int) - neutral.astype(int)).max(-1) > CHANGE,
                    "motion": np.linalg.norm(landmarks - oracle.source(), axis=-1).mean(-1),
                    "seen": instrument.measure(truth, neutral=neutral),
                    "face": instrument.measure(neutral[None], neutral=neutral).embedding[0]})
    return out


class Protocol:
    """The reference (video 0 of ``expression`` in ``split``, linear intensity, ``frames`` frames), performed by
    the next ``targets`` identities of ``split`` (the test identities; ``"val"`` for recipe choices); ``motion``
    pools every frame's true motion, ``edges`` split it in thirds and ``third`` gives each frame's (0 small,
    1 medium, 2 large; frames that do not move: small)."""

    def __init__(self, size: int = 64, targets: int = 8, frames: int = 16, seed: int = 0, expression: str = "happy",
                 split: str = "test"):
        self.size, self.seed = int(size), int(seed)
        self.instrument = get_instrument("synthetic")
        bench = SyntheticBenchmark(self.size, seed=self.seed)
        self.reference = bench.video(split, 0, expression=expression, curve="linear", n_frames=frames)
        ids = [i for i in bench.identities(split) if i != int(self.reference.identity)][:targets]
        self.cases = cases(self.reference, ids, self.size, self.seed, self.instrument)
        self.motion = np.concatenate([c["motion"] for c in self.cases])
        moving = self.motion[self.motion > 0]
        self.edges = np.quantile(moving, [1 / 3, 2 / 3]) if len(moving) else np.zeros(2)
        self.third = np.digitize(self.motion, self.edges)
        self.pick = np.linspace(0, frames - 1, 5).round().astype(int)   # the frames a strip shows


@lru_cache(maxsize=8)
def protocol(size: int = 64, targets: int = 8, frames: int = 16, seed: int = 0, expression: str = "happy",
             split: str = "test") -> Protocol:
    """:class:`Protocol`, built once per setting."""
    return Protocol(size, targets, frames, seed, expression, split)


def video(model, case: dict, reference, condition: str) -> np.ndarray:
    """``model`` retargeting ``reference`` onto the case's face, with the exact motion maps (``"oracle"``), with
    G_C fitted to the faces (``"fitted"``: the input's measured landmarks moved by the expression coefficients
    fitted to the reference, the paper's G_C) or with ``"landmarks"`` (moved by the reference's measured landmark
    motion). A model that does not retarget (a baseline of Table 1) renders the video from the input alone
    (:func:`from_input`), the same under every condition."""
    if not callable(getattr(model, "retarget", None)):
        return from_input(model, case["neutral"], reference)
    if condition == "oracle":
        return model.retarget(case["neutral"], reference, condition=case["oracle"])
    return model.retarget(case["neutral"], reference.frames, condition=condition)


def from_input(model, neutral: np.ndarray, reference) -> np.ndarray:
    """A Table 1 baseline's video of ``reference``'s expression from the target's input frame alone (§4.2: "Each
    method only observes the input frame of the target subject"): a model of any intensity renders the reference's
    true intensities; a fixed-clip model renders its clip (a = 1/length, ..., 1) and each frame of the reference
    takes its frame of the nearest intensity (never the input itself, which would score a distance of 0)."""
    grid = getattr(model, "supported_intensities", None)
    if grid is None:
        return model.generate(neutral, reference.intensity, reference.expression)
    frames = model.generate(neutral, grid, reference.expression)
    return frames[np.abs(np.asarray(grid)[None, :] - np.asarray(reference.intensity)[:, None]).argmin(axis=1)]


def score(frames: np.ndarray, case: dict, instrument=None) -> dict:
    """Instrument and pixel scores of one retargeted video against the case's exact truth: ACD-I/C/G, the
    landmark error, MSE (pixels in [0, 1]), PSNR, SSIM, the mean L1 error (grey levels) inside and outside
    the change region, and each frame's mean L1 error (``frame_l1``)."""
    seen = (instrument or get_instrument("synthetic")).measure(frames, neutral=case["neutral"])
    gen, truth = frames.astype(np.float64), case["truth"].astype(np.float64)
    err = np.abs(gen - truth).mean(-1)                                  # T x H x W, grey levels
    change = case["change"]
    return {"acd_i": metrics.acd_i(seen.embedding, case["face"]), "acd_c": metrics.acd_c(seen.embedding),
            "acd_g": metrics.acd_g(seen.embedding, case["seen"].embedding),
            "landmark_error": metrics.landmark_error(seen.landmarks, case["seen"].landmarks),
            "mse": float((((gen - truth) / 255) ** 2).mean()), "psnr": metrics.psnr(frames, case["truth"]),
            "ssim": metrics.ssim(frames, case["truth"]),
            "change_l1": float(err[change].mean()) if change.any() else np.nan,
            "static_l1": float(err[~change].mean()), "frame_l1": err.mean(axis=(1, 2))}


def forecast_parts(model, case: dict) -> dict:
    """G_M's frame, content c and mask m (None without Eq. 2) for every frame of the case, exact motion
    maps (Eq. 2: frame = m * c + (1 - m) * input)."""
    import torch

    size = case["neutral"].shape[0]
    maps = motion_maps(case["landmarks"], size, model.maps)
    source = motion_maps(case["oracle"].source()[None], size, model.maps).expand(len(maps), -1, -1, -1)
    image = model.tensor(case["neutral"]).expand(len(maps), -1, -1, -1)
    with torch.inference_mode():
        out = model.net(image, source, maps)

    def as_image(x):
        return ((x.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)

    return {"frame": as_image(out["frame"]), "content": as_image(out["content"]),
            "mask": None if out["mask"] is None else out["mask"][:, 0].numpy()}


def _means(rows: list[dict]) -> dict:
    """:func:`score`'s scores averaged over cases (NaN where no case could be measured)."""
    return mean_over_videos(rows, [k for k in rows[0] if k != "frame_l1"])


def masked(model) -> bool:
    """Whether ``model`` is a G_M alone with the mask of Eq. 2 (whose m :func:`forecast_parts` returns)."""
    net = getattr(model, "net", None)
    return getattr(model, "refiner", None) is None and getattr(net, "residual", None) == "mask"


def retarget_scores(model, targets: int = 8, frames: int = 16, seed: int = 0) -> dict:
    """Every measurement the FRGAN chapters compare, of one model, on :func:`protocol` (``targets`` unseen
    identities performing a ``frames``-frame reference; the cases are the benchmark's, fixed by ``seed``):

    * ``fitted`` and ``oracle``: :func:`score` averaged over the cases under each condition, ``fitted`` with G_C
      moving the reference's measured landmarks (the ``"landmarks"`` condition, which the ablations' records were
      measured with before G_C fitted expression coefficients);
    * ``frame_l1``: every frame's mean L1 error (oracle), in the order of ``Protocol.motion``;
    * ``mask_iou``: the intersection over union of {m > 0.5} with the change region, over frames whose
      change covers at least 1% of the image, and ``mask_mean``, the mean of m (G_M with Eq. 2 only; else None);
    * ``strip``: the oracle video of the second case at ``Protocol.pick``; ``mask_strip``: its masks there.
    """
    p = protocol(int(model.image_size), targets, frames, seed)
    out, rows = {}, {}
    for cond, condition in (("fitted", "landmarks"), ("oracle", "oracle")):
        rows[cond] = [score(video(model, c, p.reference, condition), c, p.instrument) for c in p.cases]
        out[cond] = _means(rows[cond])
    out["frame_l1"] = np.concatenate([r["frame_l1"] for r in rows["oracle"]])
    out["mask_iou"] = out["mask_mean"] = out["mask_strip"] = None
    if masked(model):
        ious, means = [], []
        for c in p.cases:
            m = forecast_parts(model, c)["mask"]
            means.append(float(m.mean()))
            for opened, change in zip(m > 0.5, c["change"]):
                if change.mean() >= 0.01:
                    ious.append((opened & change).sum() / (opened | change).sum())
        out["mask_iou"] = float(np.mean(ious)) if ious else None
        out["mask_mean"] = float(np.mean(means))
        m = forecast_parts(model, p.cases[1 % len(p.cases)])["mask"][p.pick]
        out["mask_strip"] = np.repeat((np.clip(m, 0, 1) * 255).astype(np.uint8)[..., None], 3, -1)
    out["strip"] = video(model, p.cases[1 % len(p.cases)], p.reference, "oracle")[p.pick]
    return out


def baselines(size: int = 64, targets: int = 8, frames: int = 16, seed: int = 0) -> dict:
    """:func:`score` of two answers without a model, averaged over the cases (the same under both conditions):
    ``truth`` (the exact retargeted video: the reference row) and ``copy`` (the input face in every frame),
    with ``copy_frame_l1``, copying's error per frame."""
    p = protocol(size, targets, frames, seed)
    copy = [score(np.repeat(c["neutral"][None], len(c["truth"]), 0), c, p.instrument) for c in p.cases]
    truth = [score(c["truth"], c, p.instrument) for c in p.cases]
    return {"truth": _means(truth), "copy": _means(copy),
            "copy_frame_l1": np.concatenate([r["frame_l1"] for r in copy])}


def retargeting(model, targets: int = 8, frames: int = 16, seed: int = 0, expressions=None,
                split: str = "test") -> dict:
    """``i2v evaluate`` of an FRGAN face model: for a reference of each of ``expressions`` (default: the model's),
    retargeted with G_C fitted to the faces onto ``targets`` unseen identities of ``split`` (the Table 1 protocol
    on the test identities; ``"val"`` for recipe choices),
    :func:`score` averaged over the cases, plus ``texture``, ``colour_shift`` and ``expression_accuracy`` (frames at
    intensity >= 0.5 read as the reference's expression). ``scores``: the model's; ``forecast_scores``: its G_M alone
    (the same as ``scores`` for a forecast-stage model); ``reference``: the exact retargeted truth. Averages
    over the expressions, and each one's under ``per_expression``. JSON-ready, like :func:`~.protocol.evaluate`."""
    if getattr(model, "method", None) != "frgan":
        raise I2VError(f"the retargeting protocol scores frgan face models, got {getattr(model, 'method', model)!r}")
    start = time.perf_counter()
    exprs = tuple(expressions or model.expressions)
    unknown = [e for e in exprs if e not in model.expressions]
    if unknown:
        raise I2VError(f"this frgan model cannot retarget {', '.join(unknown)}; "
                       f"it knows {', '.join(model.expressions)}")
    g_m = copy.copy(model)
    g_m.refiner = None
    per = {}
    for e in exprs:
        p = protocol(int(model.image_size), targets, frames, seed, e, split)
        strong = p.reference.intensity >= 0.5
        rows = {}
        for name, m in (("scores", model), ("forecast_scores", g_m), ("reference", None)):
            rows[name] = []
            for c in p.cases:
                made = c["truth"] if m is None else video(m, c, p.reference, "fitted")
                r = {k: v for k, v in score(made, c, p.instrument).items() if k != "frame_l1"}
                r["texture"] = metrics.texture(made, c["truth"])
                r["colour_shift"] = metrics.colour_shift(made, c["truth"])
                seen = p.instrument.measure(made[strong], neutral=c["neutral"]).strength
                hit = strongest_expression(seen) == p.instrument.expressions.index(e)
                r["expression_accuracy"] = float(np.mean(hit)) if len(hit) else np.nan
                rows[name].append(r)
        per[e] = {name: mean_over_videos(r) for name, r in rows.items()}
    keys = list(next(iter(per.values()))["scores"])
    result = {"method": model.method, "protocol": "retargeting (Table 1): a reference of each expression, G_C fitted",
              "expressions": list(exprs), "targets": targets, "frames": frames, "seed": seed, "split": split,
              "stage": model.config["stage"], "i2vlib": __version__, "per_expression": per}
    for name in ("scores", "forecast_scores", "reference"):
        result[name] = mean_over_videos([per[e][name] for e in exprs], keys)
    result["seconds"] = round(time.perf_counter() - start, 2)
    return to_json(result)
