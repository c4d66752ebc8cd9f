"""What the ablation chapters measure of one trained arm, as one function of the model.

A comparative claim needs the same measurement of every seed of every arm (the claims registry,
:mod:`i2vlib.claims`); :func:`arm_scores` is that measurement. It is recorded once per run and
shipped (:mod:`i2vlib.records.store`), so it must be deterministic for a given model: the test
faces are the benchmark's, fixed by ``seed``, whatever seed the model was trained with.

The paper-specific measures the chapters tie to the papers' words:

* :func:`mouth_sharpness` -- blur in the mouth (Fan et al. Fig. 4, §4.3 I-III);
* :func:`sudden_change` -- a video whose change comes in one step (Fan et al. Fig. 4e, §4.3 III);
* :func:`gradient_maps` and :func:`mouth_gradient_share` -- what AffineGAN's two encoders attend to
  (AffineGAN Fig. 7c).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..instruments import get_instrument
from ..metrics import landmark_trajectory, nanmean, spearman
from .measures import expression_progress, intensity_agreement, landmark_curves, reconstruction_psnr, test_clips
from .protocol import evaluate

# The columns of the strip every record carries (one unseen face at these intensities).
STRIP = (0.0, 0.25, 0.5, 0.75, 1.0)
SCORES = ("acd_i", "acd_g", "landmark_error", "landmark_rho", "intensity_mae", "intensity_rho", "psnr", "ssim")


def mouth_sharpness(model, clips) -> float:
    """Gradient energy inside the true mouth mask of the generated frame over that of the true frame,
    averaged over the frames of ``clips`` with intensity >= 0.5 (1: as sharp as the truth; lower: blurrier)."""
    def energy(img, m):
        return sum((np.diff(img.mean(-1), axis=ax) ** 2)[m[:-1, :] if ax == 0 else m[:, :-1]].mean() for ax in (0, 1))

    ratios = []
    for clip in clips:
        idx = [t for t in range(len(clip)) if clip.intensity[t] >= 0.5]
        made = model.generate(clip.frames[0], clip.intensity[idx], expression=clip.expression).astype(float)
        for frame, t in zip(made, idx):
            m = clip.masks[t].astype(bool)
            ratios.append(energy(frame, m) / energy(clip.frames[t].astype(float), m))
    return float(np.mean(ratios))


def sudden_change(model, clips, n: int = 41) -> float:
    """The largest L1 change between neighbouring frames over the mean change, for ``n`` frames at
    a = 0 ... 1 from each clip's neutral frame (1: a perfectly even video; large: one step carries the motion; NaN
    where a video does not change at all, as a generator that copies its input)."""
    a = np.linspace(0, 1, n)
    out = []
    for clip in clips:
        frames = model.generate(clip.frames[0], a, expression=clip.expression).astype(float)
        steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
        out.append(steps.max() / steps.mean() if steps.any() else np.nan)
    return float(np.mean(out))


def gradient_maps(model, image, expression: str | None = None) -> dict:
    """AffineGAN Fig. 7c: |d output / d input| summed over colour, at a = 1, for the input of E_0 (``e0``)
    and of E_Δ (``e_delta``), each with the other encoder's input held fixed (two H x W arrays)."""
    import torch

    net = model.net
    x = model.tensor(image)
    expression = expression or model.expressions[0]
    code = torch.tensor([net.expressions.index(expression)]) if len(net.expressions) > 1 else None
    maps = {}
    for which in ("e0", "e_delta"):
        xe = x.clone().requires_grad_(True)
        f0 = net.e0(xe if which == "e0" else x)
        fd = net.residual(xe if which == "e_delta" else x, code)
        out = net.decoder(net.mix(f0, [(torch.ones(1), fd)]))
        ((out - x) ** 2).sum().backward()
        maps[which] = xe.grad.abs().sum(1)[0].numpy()
    return maps


def mouth_region(clip) -> np.ndarray:
    """The mouth mask of ``clip``'s last frame, dilated by 3 pixels (where Fig. 7c looks)."""
    from scipy.ndimage import binary_dilation

    return binary_dilation(clip.masks[-1].astype(bool), iterations=3)


def mouth_gradient_share(model, clips) -> dict:
    """The share of each of :func:`gradient_maps` that falls in :func:`mouth_region`, averaged over
    ``clips``; ``area`` is the share of the image the region covers (what a map blind to the mouth gives)."""
    shares = {"e0": [], "e_delta": [], "area": []}
    for clip in clips:
        region = mouth_region(clip)
        for which, g in gradient_maps(model, clip.frames[0], clip.expression).items():
            shares[which].append(float(g[region].sum() / g.sum()))
        shares["area"].append(float(region.mean()))
    return {k: float(np.mean(v)) for k, v in shares.items()}


def strip(model, clip, intensities=STRIP) -> np.ndarray:
    """The frames ``model`` renders from ``clip``'s neutral frame at ``intensities`` (a fixed-grid model:
    the grid values nearest to them)."""
    grid = getattr(model, "supported_intensities", None)
    if grid is None:
        return model.generate(clip.frames[0], list(intensities), expression=clip.expression)
    made = model.generate(clip.frames[0], list(grid), expression=clip.expression)
    return np.stack([made[int(np.argmin(np.abs(np.asarray(grid) - a)))] for a in intensities])


def arm_scores(model, videos: int = 12, seed: int = 0, expression: str = "happy") -> dict:
    """Every measurement the ablation chapters compare, of one trained model, on ``videos`` unseen test
    videos of ``expression`` (linear intensity, 16 frames):

    * the protocol's scores (:data:`SCORES`, :func:`~.protocol.evaluate`) and its ground-truth
      reference row (``reference``);
    * Fan et al.'s Fig. 3: ``landmark_curve`` and ``landmark_curve_truth``, the mean landmark distance to
      the input at a = 0, 0.1, ..., 1 (a fixed-clip model: at 0 and its clip's intensities) of the generated and
      of the true frames (:func:`landmark_curves`),
      and their values at a = 1, ``landmark_final`` and ``landmark_final_truth``; for a model that renders from
      landmarks it predicts (HP), ``landmark_curve_own``, the same curve of those landmarks (no instrument between:
      the instrument reads a blurred frame's landmarks a few pixels off even where nothing moved);
    * for models that render any intensity: ``psnr_at_0`` (:func:`reconstruction_psnr`), ``progress_rho``,
      ``strength_at_1`` and ``true_peak_strength`` (:func:`expression_progress`), ``mouth_sharpness``
      and ``sudden_change``;
    * for models that infer intensities (AffineGAN, Eq. 5): ``inferred`` -- ``rho``, ``rho_per_video``,
      ``in_unit_range``, ``min``, ``max`` and the per-frame ``true`` and ``values`` (3 decimals);
    * for AffineGAN: ``gradient_share`` (:func:`mouth_gradient_share`, on the first 4 faces);
    * ``strip``: the frames rendered from the second face at :data:`STRIP` (uint8 array).
    """
    r = evaluate(model, videos=videos, seed=seed, expressions=[expression], per_video=False, progress=False)
    out = {k: r["scores"][k] for k in SCORES}
    out["reference"] = {k: r["reference"][k] for k in SCORES if k in r["reference"]}
    clips = test_clips(model, "linear", n=videos, frames=16, seed=seed, expressions=[expression])
    curves = landmark_curves({"model": model}, clips, getattr(model, "supported_intensities", None))
    with warnings.catch_warnings():                    # frames where the instrument found no face are NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        out["landmark_curve"] = np.nanmean(curves["model"], axis=0)
        out["landmark_curve_truth"] = np.nanmean(curves["ground truth"], axis=0)
    out["landmark_final"], out["landmark_final_truth"] = out["landmark_curve"][-1], out["landmark_curve_truth"][-1]
    if getattr(model, "method", None) == "hp":        # the structure HP's LSTM predicts, which it renders from
        out["landmark_curve_own"] = np.mean([landmark_trajectory(model.landmarks(c.frames[0])) for c in clips], 0)
    if getattr(model, "supported_intensities", None) is None:
        p = expression_progress(model, clips)
        out.update(psnr_at_0=reconstruction_psnr(model, clips), progress_rho=p["rho"],
                   strength_at_1=p["strength_at_1"], true_peak_strength=p["true_peak_strength"],
                   mouth_sharpness=mouth_sharpness(model, clips), sudden_change=sudden_change(model, clips))
    if hasattr(model, "infer_intensity"):
        g = intensity_agreement(model, clips)
        out["inferred"] = {"rho": g["rho"], "rho_per_video": g["rho_per_video"], "in_unit_range": g["in_unit_range"],
                           "min": float(g["inferred"].min()), "max": float(g["inferred"].max()),
                           "true": np.round(g["true"], 3).tolist(), "values": np.round(g["inferred"], 3).tolist()}
        out["gradient_share"] = mouth_gradient_share(model, clips[:4])
    out["strip"] = strip(model, clips[1 % len(clips)])
    return out


def transfer_strength(model, clips, steps: int = 11) -> dict:
    """Fan et al. Fig. 5c: a joint model moved from anger to happy, ``{happy: s, anger: 1 - s}`` for s from 0 to 1 in
    ``steps``, on the neutral faces of ``clips``. Returns ``s``, the instrument's ``happy`` and ``anger`` strength of
    every frame (faces x steps; NaN where it read no expression) and ``rho``: the smaller of the mean Spearman rho of
    s with the happy strength and minus that with the anger strength (1: both follow the mix; NaN: nothing read)."""
    instrument = get_instrument("synthetic")
    s = np.linspace(0, 1, steps)
    strength = {"happy": [], "anger": []}
    for clip in clips:
        frames = model.generate(clip.frames[0], {"happy": s, "anger": 1 - s})
        read = instrument.measure(frames, neutral=clip.frames[0]).strength
        for e in strength:
            strength[e].append(read[:, instrument.expressions.index(e)])
    with warnings.catch_warnings():                    # faces where the instrument read nothing are NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        rho = {e: nanmean([spearman(s, v) for v in strength[e]]) for e in strength}
    both = min(rho["happy"], -rho["anger"]) if np.isfinite(list(rho.values())).all() else float("nan")
    return {"s": s, **{e: np.array(v) for e, v in strength.items()}, "rho_happy": rho["happy"],
            "rho_anger": rho["anger"], "rho": both}
