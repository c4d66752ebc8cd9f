"""The measures a table's runs are scored with, by name: the function of a loaded model and its version (raised when
what it returns changes, so that an old record is never read as a new one)."""

from __future__ import annotations

from ..evaluate.ablation import arm_scores
from ..evaluate.pose_protocol import pose_scores
from ..evaluate.retarget import retarget_scores

# name -> (version, function of a loaded model)
MEASURES = {"arm": (1, arm_scores), "retarget": (1, retarget_scores), "pose": (4, pose_scores)}
