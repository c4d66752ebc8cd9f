"""Evaluation: the protocol behind ``i2v evaluate`` and the chapters' quick measurements.

* :mod:`.videos` -- :func:`evaluation_videos`: the test videos (the benchmark's or a folder's);
  :func:`data_truth`: what ground truth the data carries; :func:`data_note`: what a chapter skipped for it.
* :mod:`.protocol` -- :func:`evaluate` (every score of :data:`SCORE_KEYS`, with the ground-truth
  reference row), :func:`evaluation_case` (a fixed-grid generator's resampled videos), :func:`score_video`,
  :func:`choose_instrument`, :func:`table`.
* :mod:`.baselines` -- :func:`baselines`: the simple answers (copy, blend, shuffled truth, another person)
  every score is read against, as generators.
* :mod:`.measures` -- :func:`test_clips`, :func:`reconstruction_psnr`, :func:`expression_progress`,
  :func:`landmark_curves` (Fan et al. Fig. 3), :func:`intensity_agreement` (AffineGAN Eq. 5) and
  :func:`intensity_nuisances` (what besides the expression moves Eq. 5).
* :mod:`.ablation` and :mod:`.retarget` -- what the ablation chapters measure of one trained model:
  ``arm_scores`` (AffineGAN, Fan et al.) and ``retarget_scores`` (FRGAN's Table 1 protocol against
  the benchmark's exact retargeted truth).

The measurements themselves are plain functions of arrays in :mod:`i2vlib.metrics`. What ``i2v evaluate``
runs for a model is :func:`of_model`: each method on its paper's protocol.
"""

from ..errors import I2VError
from . import retarget

from .baselines import Baseline, Copy, baselines
from .measures import (expression_progress, intensity_agreement, intensity_nuisances, landmark_curves,
                       reconstruction_psnr, test_clips)
from .protocol import (BETTER, DESCRIPTIONS, SCORE_KEYS, best, choose_instrument, evaluate, evaluation_case,
                       score_video, table)
from .videos import data_note, data_truth, evaluation_videos, is_synthetic_folder



def of_model(model, data: str = "synthetic", split: str = "test", videos: int | None = None, instrument="auto",
             seed: int = 0) -> dict:
    """What ``i2v evaluate`` runs: an FRGAN face model on the retargeting protocol of Table 1
    (:func:`.retarget.retargeting`; ``videos``: unseen target identities per expression, default 8; ``split``:
    the test identities or, for recipe choices, the validation ones), a pose model
    (any model with ``forecast``: frgan-pose, vgan and mathieu on poses) on §4.3's (:func:`.pose_protocol.forecasting`;
    ``videos``: test videos per action, default 4; ``split="val"``: the validation videos), every other method on
    the intensity protocol (:func:`evaluate`, with every argument). FRGAN's protocols need the benchmark's exact
    truth: another ``data`` or ``instrument`` is a one-line error before any work."""
    method = getattr(model, "method", None)
    forecaster = callable(getattr(model, "forecast", None))        # a pose model: the contract of .pose_protocol
    if method != "frgan" and not forecaster:
        return evaluate(model, data=data, split=split, videos=videos, instrument=instrument, seed=seed)
    fixed = (("data", data), ("instrument", instrument))
    given = {k: v for k, v in fixed if v not in ("synthetic", "test", "auto")}
    if given:
        raise I2VError(f"{method} is scored on its paper's protocol against the benchmark's exact truth (its "
                       f"identities, its instrument); drop {', '.join(f'--{k} {v}' for k, v in given.items())}")
    if method == "frgan":
        if split not in ("test", "val"):
            raise I2VError(f"frgan's retargeting protocol has the benchmark's test and val identities, not {split!r}")
        return retarget.retargeting(model, targets=videos or 8, seed=seed, split=split)
    from . import pose_protocol  # here, not at the top: `python -m i2vlib.evaluate.pose_protocol` runs it as __main__
    if split not in pose_protocol.SPLITS:
        raise I2VError(f"the pose protocol has the benchmark's test and val videos, not {split!r}")
    if seed:
        raise I2VError("the pose protocol's test videos are fixed (seed 0); drop --seed")
    return pose_protocol.forecasting(model, per_action=videos or 4, split=split)


__all__ = [
    "of_model",
    "SCORE_KEYS",
    "DESCRIPTIONS",
    "BETTER",
    "best",
    "Baseline", "Copy",
    "baselines",
    "evaluation_videos",
    "is_synthetic_folder",
    "data_truth",
    "data_note",
    "evaluation_case",
    "score_video",
    "choose_instrument",
    "evaluate",
    "table",
    "test_clips",
    "reconstruction_psnr",
    "expression_progress",
    "landmark_curves",
    "intensity_agreement",
    "intensity_nuisances",
]
