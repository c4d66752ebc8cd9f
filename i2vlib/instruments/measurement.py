"""What an instrument returns: a :class:`Measurement` of T frames; and the instruments' names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INSTRUMENTS = ("synthetic", "dlib")


@dataclass
class Measurement:
    """What an instrument saw in T frames.

    ``face``        (T,) bool: a face was found.
    ``embedding``   T x D identity features (NaN rows where no face).
    ``landmarks``   T x 68 x 2 landmarks in the frames' pixel coordinates (NaN where no face).
    ``strength``    T x E visible strength in [0, 1] of each expression in ``expressions``, read
                    against the person's neutral face
                    (NaN where no face), or None if the instrument cannot read expressions.
    """

    face: np.ndarray
    embedding: np.ndarray
    landmarks: np.ndarray
    strength: np.ndarray | None = None
    expressions: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.face)
