"""Degenerate models the comparator gates should fail, built from the truth, scored by each measure and judged.

    python benchmarks/gate_probes.py [--out i2vlib/protocol/gate_probes.json]

A probe of the protocol's gates (:mod:`i2vlib.protocol.gates`) beyond the references they must fail
(:data:`i2vlib.protocol.references.MUST_FAIL`): each probe reorders or replaces the true video's frames, and is
scored by the ablation protocol (``arm``), FRGAN's retargeting (``retarget``) and its pose forecasting (``pose``: the
true future's frames, the last observed frame as the input) exactly as a table scores its arms.
A probe a comparator gate passes is a model that could enter a claim, which is what the registry log's gate changes
answered ('follows', 'graded'). Prints JSON: per measure and probe, each gate's value and bound, and the gates failed.
The book's gates section (the baselines chapter) shows the shipped copy, ``i2vlib/protocol/gate_probes.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from i2vlib.errors import ArgumentParser
from i2vlib.protocol import gates, references
from i2vlib.protocol.measures import MEASURES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import emit  # noqa: E402

# What each probe renders from the true frames (ordered by intensity, or in time) and the input.
PROBES = {
    "held last": lambda frames, first: np.repeat(frames[-1:], len(frames), 0),
    "jump": lambda frames, first: np.stack([first] + [frames[-1]] * (len(frames) - 1)),
    "late jump": lambda frames, first: np.stack([first] * (len(frames) - 1) + [frames[-1]]),
    "reversed": lambda frames, first: frames[::-1].copy(),
    "shuffled": lambda frames, first: frames[np.random.default_rng(0).permutation(len(frames))],
    "crossfade": lambda frames, first: np.stack([np.rint(first * (1 - w) + frames[-1] * w).astype(np.uint8)
                                                 for w in np.linspace(0, 1, len(frames))]),
}


class Probe:
    """The truth reference (:func:`i2vlib.protocol.references.reference_model`) with its frames remade by a probe."""

    def __init__(self, truth, name: str):
        self.truth, self.method, self.render = truth, name, PROBES[name]
        self.expressions, self.image_size = getattr(truth, "expressions", ()), truth.image_size

    def generate(self, image, intensities, expression=None) -> np.ndarray:
        a = np.atleast_1d(np.asarray(intensities, dtype=float))
        order = np.argsort(a, kind="stable")
        made = self.render(self.truth.generate(image, a, expression)[order], np.asarray(image))
        out = np.empty_like(made)
        out[order] = made
        return out

    def retarget(self, neutral, reference, condition=None) -> np.ndarray:
        return self.render(self.truth.retarget(neutral, reference, condition), np.asarray(neutral))

    def forecast(self, image, joints_source, joints, observed=None) -> np.ndarray:
        return self.render(self.truth.forecast(image, joints_source, joints, observed), np.asarray(image))


def probe(measure: str, name: str) -> dict:
    """A probe scored by ``measure`` and judged by its comparator gates."""
    model = Probe(references.reference_model(measure, "truth"), name)
    judged = gates.judge(MEASURES[measure][1](model, **references.OPTIONS[measure]), measure, gates.COMPARATOR)
    return {"failed": judged["failed"],
            "checks": {k: {"value": None if c["value"] is None else round(c["value"], 4), "bound": round(c["bound"], 4)}
                       for k, c in judged["checks"].items()}}


def main() -> None:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, help="also write the JSON here")
    args = p.parse_args()
    out = {measure: {name: probe(measure, name) for name in PROBES} for measure in ("arm", "retarget", "pose")}
    emit(out, args.out)


if __name__ == "__main__":
    main()
