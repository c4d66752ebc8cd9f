"""The one record every data source yields, a :class:`Clip` of aligned face frames, and the names of the
benchmark's expressions."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import numpy as np

# The seven expressions of the embedded benchmark, as in AffineGAN (CK-Mixed + Cheeks&Eyes).
EXPRESSIONS = ("happy", "anger", "surprise", "contempt", "close-eyes", "raise-eyes", "drum-cheeks")

@dataclass
class Clip:
    """One video of one person showing one expression, neutral frame first.

    ``frames``      T x H x W x 3 uint8 RGB (grayscale sources are replicated to 3 channels).
    ``landmarks``   T x 68 x 2 float32 pixel coordinates (x, y) in iBUG-68 order, or None.
    ``intensity``   T float32 true expression intensity in [0, 1], or None (unknown for real data).
    ``masks``       T x H x W bool mouth masks (convex hull of landmarks 48-67), or None.
    ``frame_names`` file stems of the frames on disk (or ``"%04d" % t``).
    ``meta``        anything else: intensity-curve name, crop box, source path, mixed intensities...
    """

    frames: np.ndarray
    expression: str
    identity: str
    video_id: str
    split: str = "train"
    landmarks: np.ndarray | None = None
    intensity: np.ndarray | None = None
    masks: np.ndarray | None = None
    frame_names: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.frame_names:
            self.frame_names = [f"{t:04d}" for t in range(len(self.frames))]

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def nbytes(self) -> int:
        """The bytes of its arrays (frames, landmarks, intensities, masks)."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))

    def copy(self) -> Clip:
        """A copy that shares nothing that can change with this clip."""
        return replace(self, **{k: v.copy() for k, v in vars(self).items() if isinstance(v, np.ndarray)},
                       frame_names=list(self.frame_names), meta=copy.deepcopy(self.meta))

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the frames."""
        return self.frames.shape[1], self.frames.shape[2]

    @property
    def neutral(self) -> np.ndarray:
        """The first frame, the neutral face every method starts from."""
        return self.frames[0]
