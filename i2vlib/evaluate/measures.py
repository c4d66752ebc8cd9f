"""Quick measurements the chapters make on a trained model, besides the full protocol.

:func:`test_clips` draws unseen test videos (the benchmark's, or a folder's); :func:`reconstruction_psnr`
checks Eq. 3 at a = 0 (AffineGAN, Fan et al.); :func:`expression_progress` and :func:`landmark_curves`
read how the generated face moves with a (Fan et al. Fig. 3); :func:`intensity_agreement` compares
AffineGAN's inferred intensities (Eq. 5) with the true ones, and :func:`intensity_nuisances` what in the videos
besides the expression moves them.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .. import metrics
from ..data.clips import resample
from ..data.synthetic import SyntheticBenchmark
from ..instruments import get_instrument
from ..instruments.condition import RIGID, similarity
from .videos import evaluation_videos


def test_clips(model, curve: str = "linear", n: int = 12, frames: int = 12, seed: int = 0,
               expressions=None, data: str = "synthetic", split: str = "test") -> list:
    """``n`` videos of unseen identities (the benchmark's ``split``, test by default) following the
    intensity ``curve``, cycling over the model's expressions.

    ``data`` a folder: up to ``n`` of its clips of ``split`` (as :func:`~.videos.evaluation_videos` picks
    them, at the model's size); real videos have no intensity curve and keep their own length.
    """
    expressions = tuple(expressions or model.expressions)
    if data != "synthetic":
        return [clip for clip, _ in evaluation_videos(data, split, n, model.image_size, seed, expressions)]
    bench = SyntheticBenchmark(model.image_size, seed=seed)
    return [bench.video(split, i, expression=expressions[i % len(expressions)], curve=curve, n_frames=frames)
            for i in range(n)]


def reconstruction_psnr(model, clips) -> float:
    """PSNR (dB) of f(I0, 0) against I0 over the neutral frames of ``clips`` (Eq. 3 at a = 0)."""
    neutral = np.stack([c.frames[0] for c in clips])
    rebuilt = np.stack([model.generate(c.frames[0], [0.0], expression=c.expression)[0] for c in clips])
    return metrics.psnr(rebuilt, neutral)


def expression_progress(model, clips, a=None) -> dict:
    """How the generated face moves with ``a``, read by the benchmark's expression instrument.

    For each clip, frames are generated from its neutral frame at ``a`` (default 0, 0.125, ..., 1)
    and the synthetic instrument reads the strength of the clip's expression in each, against
    the neutral face. Returns the mean Spearman rho between ``a`` and the measured strength
    (monotone progress toward the expression, Fig. 3's claim), the mean measured strength at
    a = 1, and that of the true peak frames (what a = 1 should reach).
    """
    a = np.linspace(0, 1, 9) if a is None else np.asarray(a, float)
    inst = get_instrument("synthetic")
    rhos, at_one, true_peak = [], [], []
    for clip in clips:
        k = inst.expressions.index(clip.expression)
        frames = model.generate(clip.frames[0], a, expression=clip.expression)
        strength = inst.measure(frames, neutral=clip.frames[0]).strength[:, k]
        rhos.append(metrics.spearman(a, strength))
        at_one.append(strength[-1])
        peak = int(np.argmax(clip.intensity))
        true_peak.append(inst.measure(clip.frames[peak:peak + 1], neutral=clip.frames[0]).strength[0, k])
    return {"rho": metrics.nanmean(rhos), "strength_at_1": metrics.nanmean(at_one),
            "true_peak_strength": metrics.nanmean(true_peak)}


def landmark_curves(models: dict, clips, intensities=None, instrument="synthetic") -> dict:
    """Fan et al.'s Fig. 3: the landmark distance of every frame to the input frame, per video.

    Each clip is resampled to ``len(intensities) + 1`` frames (the neutral input first); every
    model of ``models`` ({name: generator}) renders ``intensities`` (default a = 0.1, ..., 1.0, the
    paper's ten frames) from that input, and one instrument measures the input followed by the
    frames. Returns ``{"ground truth": (N, T + 1) array, name: (N, T + 1) array, ...}``.
    """
    a = np.round(np.linspace(0.1, 1.0, 10), 6) if intensities is None else np.asarray(intensities, float)
    inst = get_instrument(instrument) if isinstance(instrument, str) else instrument
    out = {"ground truth": [], **{name: [] for name in models}}
    for clip in clips:
        truth = resample(clip, len(a) + 1).frames
        made = {"ground truth": truth[1:], **{name: m.generate(truth[0], a, expression=clip.expression)
                                              for name, m in models.items()}}
        for name, frames in made.items():
            lm = inst.measure(np.concatenate([truth[:1], frames]), neutral=truth[0]).landmarks
            out[name].append(metrics.landmark_trajectory(lm))
    return {name: np.array(v) for name, v in out.items()}


def intensity_agreement(model, clips) -> dict:
    """Eq. 5 on every frame of real test videos against the true intensities (AffineGAN).

    ``model``: anything with ``infer_intensity(neutral, frames, expression=...)`` (the AffineGAN
    :class:`~i2vlib.models.affinegan.Model`). Returns the pooled arrays ``true`` and ``inferred``,
    Spearman's rho pooled over all frames, the mean per-video rho, the fraction of inferred values
    inside [0, 1] and the mean absolute error.
    """
    true, inferred, per_video = [], [], []
    for clip in clips:
        a = model.infer_intensity(clip.frames[0], clip.frames, expression=clip.expression)
        true.append(np.asarray(clip.intensity, float))
        inferred.append(a)
        per_video.append(metrics.spearman(clip.intensity, a))
    t, i = np.concatenate(true), np.concatenate(inferred)
    return {"true": t, "inferred": i, "rho": metrics.spearman(t, i), "rho_per_video": metrics.nanmean(per_video),
            "in_unit_range": float(np.mean((i >= 0) & (i <= 1))), "mae": float(np.abs(t - i).mean())}


def align_to_first(frames, landmarks) -> np.ndarray:
    """Each frame of ``frames`` (T, H, W, 3) warped (bilinear, edges repeated) by the similarity that puts its rigid
    landmarks (the points no action unit moves) on frame 0's, so that the head's motion leaves the video and its
    expression stays."""
    frames = np.asarray(frames)
    out = [frames[0]]
    swap = np.array([[0, 1], [1, 0]])                            # landmarks are (x, y); arrays are (row, column)
    for frame, lm in zip(frames[1:], landmarks[1:]):
        s, r, t = similarity(lm[RIGID], landmarks[0][RIGID])     # frame t -> frame 0: s R x + t
        inv = np.linalg.inv(s * r)                               # where each output pixel comes from
        matrix, offset = swap @ inv @ swap, swap @ (-inv @ t)
        out.append(np.stack([ndimage.affine_transform(frame[..., c].astype(np.float64), matrix, offset, order=1,
                                                      mode="nearest") for c in range(frame.shape[-1])], -1))
    return np.clip(np.rint(np.stack(out)), 0, 255).astype(frames.dtype)


# The videos :func:`intensity_nuisances` reads Eq. 5 on: the benchmark's own, then each without one of its nuisances,
# as (the benchmark's options, whether its frames are aligned to the first)
NUISANCES = {"as drawn": ({}, False), "without head motion": ({"jitter": 0}, False),
             "without sensor noise": ({"noise": False}, False), "aligned to frame 0": ({}, True)}


def intensity_nuisances(model, n: int = 12, frames: int = 16, split: str = "test", seed: int = 0) -> dict:
    """What moves Eq. 5's inferred intensity besides the expression: the mean per-video Spearman rho of the inferred
    against the true intensity on ``n`` linear videos of each of the model's expressions, as the benchmark draws them
    and redrawn from the same seeds without its head motion, without its sensor noise, or with every frame aligned
    to the first by its rigid landmarks (:func:`align_to_first`; what the papers' face crops do).
    Returns ``{expression: {nuisance: rho}}`` (keys of :data:`NUISANCES`)."""
    out = {}
    for e in model.expressions:
        out[e] = {}
        for name, (options, align) in NUISANCES.items():
            bench = SyntheticBenchmark(model.image_size, seed=seed, **options)
            rhos = []
            for i in range(n):
                clip = bench.video(split, i, expression=e, curve="linear", n_frames=frames)
                video = align_to_first(clip.frames, clip.landmarks) if align else clip.frames
                rhos.append(metrics.spearman(clip.intensity, model.infer_intensity(video[0], video, expression=e)))
            out[e][name] = metrics.nanmean(rhos)
    return out


def texture_at(model, clips, at=(0.0, 0.5, 1.0)) -> dict[str, float]:
    """Speckle at given intensities: for each a of ``at``, the fine detail of the grey frames the model renders at a
    from the clips' neutral faces over that of the clips' true frames at the nearest intensity
    (:func:`i2vlib.metrics.detail` of the channels' mean). 1: the truth's; a period-2 grid or coloured speckle scores
    above, blur below. At a = 0 the true frame is the input itself, so a model that returns its input scores 1."""
    made, truth = {a: [] for a in at}, {a: [] for a in at}
    for clip in clips:
        frames = model.generate(clip.frames[0], list(at), expression=clip.expression)
        for a, frame in zip(at, frames):
            made[a].append(frame)
            truth[a].append(clip.frames[int(np.argmin(np.abs(clip.intensity - a)))])
    grey = lambda x: np.asarray(x, np.float64).mean(-1, keepdims=True)   # noqa: E731
    return {f"{a:g}": metrics.detail(grey(made[a])) / metrics.detail(grey(truth[a])) for a in at}
