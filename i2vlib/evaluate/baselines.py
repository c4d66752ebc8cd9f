"""The simple answers every score of the Evaluation protocol is read against.

A good score means little until we know what trivial answers score. Each :class:`Baseline` is a rule
behind the generation API (``method``, ``expressions``, ``image_size``, ``generate``), so that
:func:`~.protocol.evaluate` scores it like a trained model, on the same test videos
(:func:`~.videos.evaluation_videos`). A rule may look at the true test video of the input face,
which no real method can: that is what makes it a bound rather than a competitor.

``ground truth``    the true video: the reference row.
``copy``            the neutral input, repeated: a model that never moves.
``blend``           (1 - a) I + a G_peak, G_peak the true peak frame: a cross-fade that knows the answer.
``shuffled truth``  the true frames after the first, in a fixed random order: every frame right, the time wrong.
``another person``  the true video of another test identity with the same expression, frame by nearest
                    intensity: the right motion on the wrong face.

FRGAN's retargeting protocol has baselines of its own (:func:`i2vlib.evaluate.retarget.baselines`).
"""

from __future__ import annotations

import numpy as np

from ..clip_record import EXPRESSIONS
from ..data.clips import labels
from ..data.synthetic import SyntheticBenchmark
from ..errors import I2VError
from .videos import evaluation_videos


class Baseline:
    """The generation API around ``rule(neutral, intensities, true_clip) -> T x H x W x 3 uint8``; the true
    clip is found among ``clips`` by its neutral frame."""

    expressions = EXPRESSIONS

    def __init__(self, method: str, rule, clips, image_size: int):
        self.method, self.rule, self.image_size, self.clips = method, rule, int(image_size), list(clips)
        self.truth = {c.frames[0].tobytes(): c for c in self.clips}

    def generate(self, image, intensities, expression=None) -> np.ndarray:
        image = np.asarray(image)
        if image.tobytes() not in self.truth:
            raise I2VError(f"the {self.method} baseline answers only for the neutral frames of its test videos")
        return self.rule(image, np.asarray(intensities, dtype=float), self.truth[image.tobytes()])


class Copy:
    """Copying the input: the neutral face in every frame, for any test video (it needs no truth), scored like a
    model (a reference row of every comparison: a method that does not move the face scores as this does)."""

    method = "copy"
    expressions = EXPRESSIONS

    def __init__(self, image_size: int = 64):
        self.image_size = int(image_size)

    def generate(self, image, intensities, expression=None) -> np.ndarray:
        return np.repeat(np.asarray(image)[None], len(np.atleast_1d(intensities)), axis=0)


def _true_labels(clip) -> np.ndarray:
    return labels(clip, "true" if clip.intensity is not None else "position")


def shuffled(image, a, clip) -> np.ndarray:
    """The true frames after the first in the order of ``default_rng(len(a))``'s permutation."""
    order = np.concatenate([[0], np.random.default_rng(len(a)).permutation(np.arange(1, len(a)))])
    return clip.frames[order]


def blend(image, a, clip) -> np.ndarray:
    """``(1 - a) I + a G_peak``, rounded to grey levels."""
    peak = clip.frames[int(np.argmax(_true_labels(clip)))]
    w = a[:, None, None, None]
    return np.clip((1 - w) * image + w * peak + 0.5, 0, 255).astype(np.uint8)


def _another_person(clips, data: str, size: int, seed: int):
    def rule(image, a, clip):
        i = next(j for j, c in enumerate(clips) if c.frames[0].tobytes() == image.tobytes())
        if data == "synthetic":   # the same video index and expression, drawn with another seed: another identity
            other, donor = seed, clip
            while donor.identity == clip.identity:
                other += 1
                donor = SyntheticBenchmark(size=size, seed=other).video("test", i, expression=clip.expression,
                                                                       n_frames=len(a))
        else:                     # a folder: another clip of the same expression
            donor = next(c for c in clips[i + 1:] + clips[:i]
                         if c.expression == clip.expression and c.identity != clip.identity)
        lab = _true_labels(donor)
        return donor.frames[[int(np.argmin(np.abs(lab - x))) for x in a]]
    return rule


def baselines(data: str = "synthetic", videos: int | None = None, size: int = 64, seed: int = 0,
              frames=None, expressions=EXPRESSIONS) -> dict[str, Baseline]:
    """The baselines of this module's docstring on the test videos of
    :func:`~.videos.evaluation_videos` (the same arguments); ``another person`` only where every
    expression shows at least two identities."""
    clips = [c for c, _ in evaluation_videos(data, "test", videos, size, seed, expressions, frames=frames)]
    rules = {"ground truth": lambda image, a, clip: clip.frames,
             "copy": lambda image, a, clip: np.repeat(image[None], len(a), axis=0),
             "blend": blend, "shuffled truth": shuffled}
    if data == "synthetic" or all(len({c.identity for c in clips if c.expression == e}) > 1
                                  for e in {c.expression for c in clips}):
        rules["another person"] = _another_person(clips, data, size, seed)
    return {name: Baseline(name, rule, clips, size) for name, rule in rules.items()}
