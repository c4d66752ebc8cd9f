"""The papers' claims and the one function family that gives them verdicts.

Each paper has one module of claims (:mod:`.affinegan`, :mod:`.fan`) holding the list ``CLAIMS``:
what the paper says and where, which measurement a chapter supplies for it, and the verdict
rule with its threshold, written down before the run. A chapter measures, passes its numbers
to :func:`table` (or :func:`verdicts`) and glues :func:`counts`; no verdict is chosen in a
chapter cell.

A measurement has one of three shapes, fixed by the claim's rule (``rule.expects`` says which):

* one value, or a list of per-seed values (:class:`AtLeast`, :class:`AtMost`, :class:`Between`):
  a list is judged by its mean and shown as mean ± sd (n);
* ``{value: ..., reference: ...}`` (:class:`Ratio`): the value over a reference, e.g. the
  model's landmark distance over the true video's;
* ``{arm: [per-seed values], baseline: [per-seed values]}`` (:class:`Better`), at least 3 seeds
  per arm: comparative claims are judged against the seed spread.

A chapter that cannot measure a claim (a folder of real videos has no true intensities) passes
:class:`NotTested` with the reason. A missing key, a NaN or an infinite value is an
:class:`~i2vlib.errors.I2VError`, never a verdict.
"""

from __future__ import annotations

import importlib
import math
import numbers
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import I2VError, check_names

PAPERS = ("affinegan", "fan", "frgan")
REPRODUCED, PARTLY, NOT_REPRODUCED, CONTRADICTED, NOT_TESTED = (
    "reproduced", "partly", "not reproduced", "contradicted", "not tested")
VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED, CONTRADICTED, NOT_TESTED)


@dataclass(frozen=True)
class NotTested:
    """What a chapter passes for a claim it cannot measure on this data, with the reason."""

    reason: str

    def __post_init__(self):
        if not str(self.reason).strip():
            raise ValueError("NotTested needs a reason")


def _num(x: float) -> str:
    return f"{x:.3g}"


def _values(x, what: str) -> tuple[list[float], bool]:
    """The finite numbers in ``x`` (one value, or a list/array of per-seed values) and whether
    it was a list."""
    raw = x.tolist() if hasattr(x, "tolist") else x          # numpy arrays and scalars
    is_list = isinstance(raw, (list, tuple))
    items = list(raw) if is_list else [raw]
    if not items:
        raise I2VError(f"{what} is an empty list")
    out = []
    for i, v in enumerate(items):
        where = f"{what}[{i}]" if is_list else what
        if v is None or isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise I2VError(f"{where} should be a number, got {v!r}")
        v = float(v)
        if math.isnan(v):
            raise I2VError(f"{where} is NaN: the chapter measured nothing there; "
                           "pass NotTested('why') if it cannot be measured")
        if math.isinf(v):
            raise I2VError(f"{where} is infinite")
        out.append(v)
    return out, is_list


def _spread(values: list[float], is_list: bool) -> str:
    """One value as is; per-seed values as mean ± sd (n)."""
    if not is_list:
        return _num(values[0])
    if len(values) == 1:
        return f"{_num(values[0])} (n = 1)"
    return f"{_num(statistics.mean(values))} ± {_num(statistics.stdev(values))} (n = {len(values)})"


def _keys(x, names: tuple[str, ...]) -> None:
    if not isinstance(x, Mapping) or set(x) != set(names):
        got = sorted(x) if isinstance(x, Mapping) else type(x).__name__
        raise I2VError(f"expected a dict with the keys {', '.join(map(repr, names))}, got {got}")


class Rule:
    """A verdict rule: :meth:`verdict` of a measurement, :meth:`describe` for the table."""

    expects = "one value, or a list of per-seed values"

    def assess(self, measurement) -> tuple[str, str]:
        """(verdict, the measurement as the table shows it)."""
        if isinstance(measurement, NotTested):
            return NOT_TESTED, f"not tested: {measurement.reason}"
        return self._assess(measurement)

    def verdict(self, measurement) -> str:
        return self.assess(measurement)[0]

    def show(self, measurement) -> str:
        return self.assess(measurement)[1]

    def describe(self) -> str:
        raise NotImplementedError

    def _assess(self, measurement) -> tuple[str, str]:
        raise NotImplementedError


class _Level(Rule):
    """A rule on one value or on the mean of per-seed values."""

    def _level(self, x: float) -> str:
        raise NotImplementedError

    def _assess(self, measurement):
        if isinstance(measurement, Mapping):
            raise I2VError(f"expected {self.expects}, got a dict")
        values, is_list = _values(measurement, "the measurement")
        return self._level(statistics.mean(values)), _spread(values, is_list)


@dataclass(frozen=True)
class AtLeast(_Level):
    """Reproduced when the value (or the mean over seeds) is at least ``threshold``; partly when
    it is at least ``partly``; otherwise not reproduced."""

    threshold: float
    partly: float | None = None

    def __post_init__(self):
        if self.partly is not None and not self.partly < self.threshold:
            raise ValueError("AtLeast: partly must lie below the threshold")

    def _level(self, x):
        if x >= self.threshold:
            return REPRODUCED
        return PARTLY if self.partly is not None and x >= self.partly else NOT_REPRODUCED

    def describe(self):
        partly = "" if self.partly is None else f"; ≥ {self.partly:g}: partly"
        return f"≥ {self.threshold:g}: reproduced{partly}; otherwise not reproduced"


@dataclass(frozen=True)
class AtMost(_Level):
    """Reproduced when the value (or the mean over seeds) is at most ``threshold``; partly when it
    is at most ``partly``; otherwise not reproduced."""

    threshold: float
    partly: float | None = None

    def __post_init__(self):
        if self.partly is not None and not self.partly > self.threshold:
            raise ValueError("AtMost: partly must lie above the threshold")

    def _level(self, x):
        if x <= self.threshold:
            return REPRODUCED
        return PARTLY if self.partly is not None and x <= self.partly else NOT_REPRODUCED

    def describe(self):
        partly = "" if self.partly is None else f"; ≤ {self.partly:g}: partly"
        return f"≤ {self.threshold:g}: reproduced{partly}; otherwise not reproduced"


@dataclass(frozen=True)
class Between(_Level):
    """Reproduced when the value (or the mean over seeds) lies in [low, high]; partly when it lies
    in the wider band ``partly = (low, high)``; otherwise not reproduced. For claims of agreement,
    where too much is as wrong as too little."""

    low: float
    high: float
    partly: tuple[float, float] | None = None

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError("Between: low must lie below high")
        if self.partly is not None and not (self.partly[0] <= self.low and self.high <= self.partly[1]):
            raise ValueError("Between: the partly band must contain [low, high]")

    def _level(self, x):
        if self.low <= x <= self.high:
            return REPRODUCED
        if self.partly is not None and self.partly[0] <= x <= self.partly[1]:
            return PARTLY
        return NOT_REPRODUCED

    def describe(self):
        partly = "" if self.partly is None else f"; in [{self.partly[0]:g}, {self.partly[1]:g}]: partly"
        return f"in [{self.low:g}, {self.high:g}]: reproduced{partly}; otherwise not reproduced"


@dataclass(frozen=True)
class Ratio(Rule):
    """``rule`` (an :class:`AtLeast`, :class:`AtMost` or :class:`Between`) on ``value / reference``.

    The measurement is ``{value: v, reference: r}``; each one number or per-seed values (a list
    reference pairs with the values seed by seed, one reference serves them all). The rule
    judges the mean of the per-seed ratios.
    """

    rule: _Level
    value: str = "value"
    reference: str = "reference"

    def __post_init__(self):
        if not isinstance(self.rule, _Level):
            raise ValueError("Ratio takes an AtLeast, AtMost or Between rule")

    @property
    def expects(self):
        return (f"{{'{self.value}': one value or per-seed values, "
                f"'{self.reference}': one value or as many values}}")

    def _assess(self, measurement):
        _keys(measurement, (self.value, self.reference))
        v, v_list = _values(measurement[self.value], repr(self.value))
        r, r_list = _values(measurement[self.reference], repr(self.reference))
        if r_list and len(r) != len(v):
            raise I2VError(f"{len(v)} values of {self.value!r} but {len(r)} of {self.reference!r}")
        if 0.0 in r:
            raise I2VError(f"{self.reference!r} is 0: no ratio")
        ratios = [x / (r[i] if r_list else r[0]) for i, x in enumerate(v)]
        shown = (f"{self.value} / {self.reference} = {_spread(ratios, v_list or r_list)} "
                 f"({self.value} {_spread(v, v_list)}, {self.reference} {_spread(r, r_list)})")
        return self.rule._level(statistics.mean(ratios)), shown

    def describe(self):
        return f"{self.value} / {self.reference} {self.rule.describe()}"


@dataclass(frozen=True)
class Better(Rule):
    """A comparative claim: ``arm`` is higher (``higher=True``) or lower than ``baseline``.

    The measurement is ``{arm: [per-seed values], baseline: [per-seed values]}``, at least 3 seeds
    each. With d the difference of the means in the claimed direction and
    SE = sqrt(s_a²/n_a + s_b²/n_b) (sample standard deviations): reproduced if d > k·SE,
    contradicted if d < -k·SE, otherwise not reproduced (within the seed spread).
    """

    higher: bool = True
    k: float = 2.0
    arm: str = "arm"
    baseline: str = "baseline"

    MIN_SEEDS = 3

    def __post_init__(self):
        if not self.k > 0 or self.arm == self.baseline:
            raise ValueError("Better: k must be positive and the two arms must differ")

    @property
    def expects(self):
        return (f"{{'{self.arm}': [per-seed values], '{self.baseline}': [per-seed values]}}, "
                f"at least {self.MIN_SEEDS} seeds each")

    def _assess(self, measurement):
        _keys(measurement, (self.arm, self.baseline))
        arms = {}
        for name in (self.arm, self.baseline):
            values, is_list = _values(measurement[name], repr(name))
            if not is_list or len(values) < self.MIN_SEEDS:
                raise I2VError(f"{name!r} has {len(values)} seed value(s); a comparative claim needs at "
                               f"least {self.MIN_SEEDS} per arm")
            arms[name] = values
        a, b = arms[self.arm], arms[self.baseline]
        diff = statistics.mean(a) - statistics.mean(b)
        se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
        d = diff if self.higher else -diff
        verdict = REPRODUCED if d > self.k * se else CONTRADICTED if d < -self.k * se else NOT_REPRODUCED
        shown = (f"{self.arm} {_spread(a, True)}; {self.baseline} {_spread(b, True)}; "
                 f"difference {diff:+.3g}, {self.k:g} SE = {_num(self.k * se)}")
        return verdict, shown

    def describe(self):
        way, other = ("higher", "lower") if self.higher else ("lower", "higher")
        return (f"{self.arm} {way} than {self.baseline} by > {self.k:g} SE: reproduced; {other} by > {self.k:g} "
                f"SE: contradicted; otherwise not reproduced (SE = √(s₁²/n₁ + s₂²/n₂), "
                f"≥ {self.MIN_SEEDS} seeds per arm)")


_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_KEY = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, with the measurement that tests it and the rule that judges it.

    ``measure`` is the key of the measurement the chapter supplies (its shape: ``rule.expects``);
    ``measured_as`` says in one sentence how it is measured and in what units; ``chapter`` is the
    notebook that supplies it (``notebooks/<chapter>.ipynb``).
    """

    id: str
    paper: str
    where: str
    words: str
    measure: str
    measured_as: str
    rule: Rule
    chapter: str

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


class Row(NamedTuple):
    """One line of a claims table."""

    claim: Claim
    measured: str
    rule: str
    verdict: str


def registry(paper: str) -> list[Claim]:
    """The claims of ``paper`` (``affinegan``, ``fan``, ``frgan``), from ``i2vlib/claims/<paper>.py``."""
    (paper,) = check_names([paper], PAPERS, "paper")
    name = f"{__name__}.{paper}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        raise I2VError(f"no claims registered for {paper} yet ({name} does not exist)") from None
    claims = list(module.CLAIMS)
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids) or any(c.paper != paper for c in claims):
        raise ValueError(f"{name}: claim ids must be unique and every claim's paper {paper!r}")
    return claims


def _claims(paper) -> list[Claim]:
    return registry(paper) if isinstance(paper, str) else list(paper)


def expected(paper) -> dict[str, str]:
    """``{measure: the shape a chapter supplies}`` for the claims of ``paper`` (or a list of claims)."""
    return {c.measure: c.rule.expects for c in _claims(paper)}


def verdicts(paper, measurements: Mapping) -> list[Row]:
    """One :class:`Row` per claim of ``paper`` (a paper's name, or a list of claims), judged on
    ``measurements`` ({measure: measurement}); keys no claim uses are ignored."""
    claims = _claims(paper)
    if not isinstance(measurements, Mapping):
        raise I2VError(f"measurements should be a dict keyed by measure, got {type(measurements).__name__}")
    missing = [c for c in claims if c.measure not in measurements]
    if missing:
        raise I2VError("no measurement for " + "; ".join(f"{c.measure!r} (claim {c.id!r}, {c.where}: {c.rule.expects})"
                                                           for c in missing)
                       + "; pass NotTested('why') for a claim this run cannot measure")
    rows = []
    for c in claims:
        try:
            verdict, shown = c.rule.assess(measurements[c.measure])
        except I2VError as e:
            raise I2VError(f"claim {c.id!r} ({c.where}), measurement {c.measure!r}: {e}") from None
        rows.append(Row(c, shown, c.rule.describe(), verdict))
    return rows


def counts(rows) -> dict[str, int]:
    """How many rows have each verdict, every verdict word present (for a chapter to glue)."""
    out = dict.fromkeys(VERDICTS, 0)
    for row in rows:
        out[row.verdict] += 1
    return out


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", r"\|")


def table(paper, measurements: Mapping) -> str:
    """The claims table of ``paper`` as Markdown, one row per claim."""
    head = ("| where | the paper says | we measure | rule (set before the run) | our measurement | verdict |\n"
            "| --- | --- | --- | --- | --- | --- |")
    lines = [f"| {_cell(r.claim.where)} | {_cell(r.claim.words)} | {_cell(r.claim.measured_as)} | {_cell(r.rule)} | "
             f"{_cell(r.measured)} | {r.verdict} |" for r in verdicts(paper, measurements)]
    return "\n".join([head, *lines])


__all__ = ["PAPERS", "VERDICTS", "NotTested", "Rule", "AtLeast", "AtMost", "Between", "Ratio", "Better", "Claim",
           "Row", "registry", "expected", "verdicts", "counts", "table"]
