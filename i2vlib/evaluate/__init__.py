"""Evaluation: the protocol behind ``i2v evaluate`` and the chapters' quick measurements.

* :mod:`.videos` -- :func:`evaluation_videos`: the test videos (the benchmark's or a folder's);
  :func:`data_truth`: what ground truth the data carries; :func:`data_note`: what a chapter skipped for it.
* :mod:`.protocol` -- :func:`evaluate` (every score of :data:`SCORE_KEYS`, with the ground-truth
  reference row), :func:`evaluation_case` (a fixed-grid generator's resampled videos), :func:`score_video`,
  :func:`choose_instrument`, :func:`table`.
* :mod:`.baselines` -- :func:`baselines`: the simple answers (copy, blend, shuffled truth, another person)
  every score is read against, as generators.
* :mod:`.measures` -- :func:`test_clips`, :func:`reconstruction_psnr`, :func:`expression_progress`,
  :func:`landmark_curves` (Fan et al. Fig. 3), :func:`intensity_agreement` (AffineGAN Eq. 5).
* :mod:`.ablation` and :mod:`.retarget` -- what the ablation chapters measure of one trained model:
  ``arm_scores`` (AffineGAN, Fan et al.) and ``retarget_scores`` (FRGAN's Table 1 protocol against
  the benchmark's exact retargeted truth).

The measurements themselves are plain functions of arrays in :mod:`i2vlib.metrics`.
"""

from .baselines import Baseline, baselines
from .measures import expression_progress, intensity_agreement, landmark_curves, reconstruction_psnr, test_clips
from .protocol import (BETTER, DESCRIPTIONS, SCORE_KEYS, best, choose_instrument, evaluate, evaluation_case,
                       score_video, table)
from .videos import data_note, data_truth, evaluation_videos, is_synthetic_folder

__all__ = [
    "SCORE_KEYS",
    "DESCRIPTIONS",
    "BETTER",
    "best",
    "Baseline",
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
]
