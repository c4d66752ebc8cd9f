"""A claim of a paper, as the registry declares it: what the paper says and where, how it is measured
(:class:`~.measurement.Measurement`, data that names the arms of a protocol table) and the rule that judges it,
written down before the runs that judge it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from .measurement import Measurement
from .rules import Rule

PAPERS = ("affinegan", "fan", "frgan")
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_KEY = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, with the measurement that tests it and the rule that judges it.

    ``measure`` is the key under which a chapter's measurements hold it (its shape: ``rule.expects``), made by
    ``measurement`` (:func:`~.measurement.measure`); ``measured_as`` says in one sentence how it is measured and in
    what units; ``chapter`` is the notebook that judges it (``notebooks/<chapter>.ipynb``). ``where_family`` names its
    Holm family under protocol v1, where the first place of ``where`` does not (:func:`i2vlib.claims.family_v1`).
    """

    id: str
    paper: str
    where: str
    words: str
    measure: str
    measured_as: str
    rule: Rule
    chapter: str
    measurement: Measurement
    where_family: str = ""

    def __post_init__(self):
        for name in ("id", "paper", "where", "words", "measure", "measured_as", "chapter"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"claim {self.id!r}: {name} must be a non-empty string")
        if not _SLUG.fullmatch(self.id) or not _KEY.fullmatch(self.measure):
            raise ValueError(f"claim {self.id!r}: the id must be a slug and the measure a plain name")
        if self.paper not in PAPERS:
            raise ValueError(f"claim {self.id!r}: unknown paper {self.paper!r}")
        if not isinstance(self.rule, Rule):
            raise ValueError(f"claim {self.id!r}: the rule must be a Rule")
        if not isinstance(self.measurement, Measurement):
            raise ValueError(f"claim {self.id!r}: the measurement must be a Measurement")

    def describe(self) -> dict:
        """The claim as JSON: what the protocol's hash covers of it."""
        return {"id": self.id, "paper": self.paper, "where": self.where, "words": self.words,
                "measured_as": self.measured_as, "rule": self.rule.describe(), "chapter": self.chapter,
                "measurement": self.measurement.describe()}


class Choice(NamedTuple):
    """A recipe choice the book made after looking at measurements, which the paper's claims tables disclose:
    ``what`` was chosen over what, by ``study`` (the module or chapter that measured it), looking at ``data``
    (one of :data:`CHOICE_DATA`). A choice made on the test identities may flatter claims measured on them."""

    what: str
    study: str
    data: str


CHOICE_DATA = ("validation identities", "test identities")
