"""What each claim is judged on: its measurement, made from the runs of the tables it reads.

A chapter trains (or reads the records of) its tables' arms at one rung of the budget ladder: ``runs`` maps each table
to {arm: its seeds' measurements}, each a dict that carries the run's ``gates`` (:mod:`i2vlib.protocol.gates`).
:func:`chapter` turns them into the measurements of the chapter's claims, each made as its claim declares it
(:mod:`.measurement`), and notes which arms each rests on. It is the one place a claim's measurement is made: the
chapters call it, and so does ``i2v claims``, on the records (:mod:`i2vlib.records.verdicts`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from . import affinegan, fan, frgan
from .claim import Claim
from .health import arm_health, zoo_health
from .measurement import (NEEDS, arms_health, first_share, from_truth, gated, measure, per_seed, pool, pose_mse,
                          seed_values)
from .rules import NotTested

__all__ = ["Evidence", "chapter", "claims_of", "per_seed", "seed_values", "health_of", "gated", "from_truth",
           "first_share", "pose_mse", "affinegan_unified", "one", "headline"]


def claims_of(name: str) -> list[Claim]:
    """Every claim that chapter ``name`` (e.g. ``"affinegan/ablations"``) judges, of any paper."""
    return [c for module in (affinegan, fan, frgan) for c in module.CLAIMS if c.chapter == name]


def health_of(runs: Mapping, arm: str) -> dict | None:
    """The protocol-v1 health of ``arm`` over its seeds in ``runs`` (:func:`~.health.arm_health`), or None where its
    values carry none."""
    healths = [v.get("health") for v in runs.get(arm, []) if isinstance(v, Mapping)]
    if not healths or any(h is None for h in healths):
        return None
    return arm_health(healths)


class Evidence:
    """The measurements of one chapter's claims at one rung, and what each rests on: ``measurements`` is what
    :func:`i2vlib.claims.verdicts` takes; :meth:`health` the arms of each measurement with their seeds."""

    def __init__(self):
        self.measurements: dict = {}
        self.claims: dict[str, Claim] = {}
        self.runs: dict[str, Mapping] = {}

    def add(self, claim: Claim, value, runs: Mapping) -> None:
        self.measurements[claim.measure] = value
        self.claims[claim.measure] = claim
        self.runs[claim.measure] = runs

    def health(self, measure: str) -> dict[str, dict]:
        """``{arm: {"seeds", "healthy"}}`` for the arms ``measure`` rests on (those recorded at this rung)."""
        claim = self.claims[measure]
        return arms_health(claim.measurement, self.runs[measure])


def chapter(name: str, runs: Mapping[str, Mapping], has=tuple(NEEDS), gating: str = "v2",
            changed: Mapping[str, Claim] | None = None, **context) -> Evidence:
    """The measurements of chapter ``name``'s claims at one rung from ``runs`` ({table: {arm: seeds' measurements}};
    a table it lacks has no arm recorded). ``has``: what the chapter's data offers (:data:`~.measurement.NEEDS`; a
    folder of real videos offers neither); ``context``: what else a claim reads (``retarget``, ``third``, ``zoo``:
    :func:`~.measurement.measure`). For the registry log's replays: ``gating`` (``"v1"``: protocol v1's health checks,
    ``"none"``), and ``changed`` ({"paper/id": the claim as it was}) measures those claims as they were."""
    context = {**context, "has": tuple(has), "gating": gating}
    changed = changed or {}
    e, pooled = Evidence(), {}
    for claim in (changed.get(f"{c.paper}/{c.id}", c) for c in claims_of(name)):
        table = claim.measurement.table
        if table not in pooled:
            pooled[table] = pool(runs.get(table, {}), table)
        e.add(claim, measure(claim.measurement, pooled[table], context), pooled[table])
    return e


def one(value, what: str):
    """A single measurement of a shipped model, or NotTested where the instrument could not read it."""
    return [float(value)] if value is not None and math.isfinite(float(value)) else NotTested(
        f"{what} could not be measured")


def headline(value: Mapping | None, what: str = "the headline model"):
    """NotTested when a shipped model behind single-model claims fails protocol v1's health checks, else None."""
    health = (value or {}).get("health")
    if health is not None and not health["healthy"]:
        return NotTested(f"{what} fails {', '.join(health['failed'])}")
    return None


def affinegan_unified(experts: Mapping[str, Mapping], unified: Mapping | None) -> dict:
    """AffineGAN's unified model against its one-expression models, on the zoo's shipped models (their scores,
    :mod:`i2vlib.evaluate.zoo_scores`): ``{"unified_accuracy", "unified_strength"}``, the ``zoo`` context of
    :func:`chapter` for ``affinegan/training``. ``experts`` {expression: scores}, ``unified`` the unified model's
    scores (None: no unified model)."""
    if unified is None:
        why = NotTested("needs the benchmark's expression instrument and several expressions")
        return {"unified_accuracy": why, "unified_strength": why}
    unread = NotTested("the instrument read no expression in some of the generated frames")
    sick = {name: h for name, h in (("the unified model", zoo_health("affinegan", unified)),
                                    *((f"affinegan-{x}", zoo_health("affinegan", s)) for x, s in experts.items()))
            if not h["healthy"]}
    if "the unified model" in sick:
        why = NotTested(f"the unified model fails {', '.join(sick['the unified model']['failed'])}")
        return {"unified_accuracy": why, "unified_strength": why}
    known = list(experts)
    strength = {"unified": [unified["strength_ratio_per_expression"][x] for x in known],
                "separate": [experts[x]["strength_ratio_per_expression"][x] for x in known]}
    finite = all(v is not None and math.isfinite(v) for vs in strength.values() for v in vs)
    experts_sick = [f"{name} fails {', '.join(h['failed'])}" for name, h in sick.items()]
    return {"unified_accuracy": unread if unified["expression_accuracy"] is None else unified["expression_accuracy"],
            "unified_strength": NotTested("; ".join(experts_sick)) if experts_sick else strength if finite else unread}
