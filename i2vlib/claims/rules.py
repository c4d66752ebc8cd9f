"""The verdict rules of the claims registry, and how their measurements are shown.

A rule judges one measurement, whose shape it fixes (``rule.expects``):

* one value, or a list of per-seed (or per-video) values (:class:`AtLeast`, :class:`AtMost`, :class:`Between`):
  a list is judged by its mean and shown as mean ± sd (n) with the mean's 95 % interval, :func:`spread`; an
  interval that straddles the threshold reads "borderline";
* ``{value: ..., reference: ...}`` (:class:`Ratio`): the value over a reference, e.g. the
  model's landmark distance over the true video's;
* ``{arm: [per-seed values], baseline: [per-seed values]}`` (:class:`Better`), at least 3 seeds
  per arm: comparative claims are judged by Welch's t-test, Holm-adjusted over one table's comparisons (the
  statistics: :mod:`.stats`).

A chapter that cannot measure a claim passes :class:`NotTested` with the reason, as the measurement or as one of
its parts (:func:`untested`). A missing key, a NaN or an infinite value is an :class:`~i2vlib.errors.I2VError`,
never a verdict.
"""

from __future__ import annotations

import math
import numbers
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import I2VError
from .stats import Effect, Welch, _part, mean_interval, welch

REPRODUCED, BORDERLINE, PARTLY, NOT_REPRODUCED, CONTRADICTED, NOT_TESTED = (
    "reproduced", "borderline", "partly", "not reproduced", "contradicted", "not tested")
# A claim measured at several training budgets (a ladder) whose verdict changes from one budget to another, with an
# effect that changes too: a verdict on the budget, not on the paper; with an effect that does not: inconclusive.
BUDGET_DEPENDENT, INCONCLUSIVE = "budget-dependent", "inconclusive"
VERDICTS = (REPRODUCED, BORDERLINE, PARTLY, NOT_REPRODUCED, CONTRADICTED, BUDGET_DEPENDENT, INCONCLUSIVE, NOT_TESTED)


@dataclass(frozen=True)
class NotTested:
    """What a chapter passes for a claim it cannot measure on this data, with the reason."""

    reason: str

    def __post_init__(self):
        if not str(self.reason).strip():
            raise ValueError("NotTested needs a reason")


def untested(measurement) -> NotTested | None:
    """The :class:`NotTested` a measurement is, or holds as one of its parts (an arm of a comparison, the value or
    reference of a ratio, e.g. an arm not yet recorded at a budget); None if it is all measured."""
    if isinstance(measurement, NotTested):
        return measurement
    if isinstance(measurement, Mapping):
        return next((v for v in measurement.values() if isinstance(v, NotTested)), None)
    return None


def _num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}"


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


def spread(values, scale: float = 1.0, digits: int = 3) -> str:
    """Per-seed values as ``mean ± sd (n = k)`` (each times ``scale``, ``digits`` significant digits); the
    entries of every table of seeded results. None and NaN entries (nothing measured) are left out;
    with none left: ``n/a``."""
    raw = values.tolist() if hasattr(values, "tolist") else list(values)
    v = [float(x) * scale for x in raw if x is not None and math.isfinite(float(x))]
    return _spread(v, True, digits) if v else "n/a"


def _spread(values: list[float], is_list: bool, digits: int = 3) -> str:
    """One value as is; per-seed values as mean ± sd (n)."""
    if not is_list:
        return _num(values[0], digits)
    if len(values) == 1:
        return f"{_num(values[0], digits)} (n = 1)"
    return (f"{_num(statistics.mean(values), digits)} ± {_num(statistics.stdev(values), digits)} "
            f"(n = {len(values)})")


def _keys(x, names: tuple[str, ...]) -> None:
    if not isinstance(x, Mapping) or set(x) != set(names):
        got = sorted(x) if isinstance(x, Mapping) else type(x).__name__
        raise I2VError(f"expected a dict with the keys {', '.join(map(repr, names))}, got {got}")


class Rule:
    """A verdict rule: :meth:`verdict` of a measurement, :meth:`describe` for the table."""

    expects = "one value, or a list of per-seed values"

    def assess(self, measurement, **family) -> tuple[str, str]:
        """(verdict, the measurement as the table shows it); ``family``: what a comparative rule learns from the
        other comparisons of its table (``p_adjusted``)."""
        untested_ = untested(measurement)
        if untested_ is not None:
            return NOT_TESTED, f"not tested: {untested_.reason}"
        return self._assess(measurement, **family)

    def p_value(self, measurement) -> float | None:
        """The p-value of a comparative rule's test (None for the others)."""
        return None

    def effect(self, measurement) -> Effect | None:
        """What the rule judges, as a number with its sampling variance (:class:`Effect`), for comparing two
        budgets (:func:`interaction`); None where the measurement is not tested."""
        if untested(measurement) is not None:
            return None
        return self._effect(measurement)

    def _effect(self, measurement) -> Effect:
        raise NotImplementedError

    def verdict(self, measurement) -> str:
        return self.assess(measurement)[0]

    def show(self, measurement) -> str:
        return self.assess(measurement)[1]

    def describe(self) -> str:
        raise NotImplementedError

    def parts(self) -> tuple[str, str]:
        """:meth:`describe` as (what is particular to this rule, what it shares with every rule of its kind), so
        that a table states the shared part once for all its rules."""
        return self.describe(), ""

    def _assess(self, measurement) -> tuple[str, str]:
        raise NotImplementedError


class _Level(Rule):
    """A rule on one value, or on the mean of a list of values (per seed, or per test video): a mean whose 95 %
    t-interval straddles the edge of the reproduced band reads "borderline" whichever side the mean falls on."""

    def _level(self, x: float) -> str:
        raise NotImplementedError

    def _edges(self) -> tuple[float, ...]:
        """The thresholds of the reproduced band."""
        raise NotImplementedError

    def _judge(self, values: list[float], is_list: bool) -> tuple[str, str]:
        """(verdict, the values as the table shows them): borderline where the interval straddles an edge."""
        shown = _spread(values, is_list)
        if not is_list or len(values) < 2:
            return self._level(statistics.mean(values)), shown
        low, high = mean_interval(values)
        shown += f", 95 % CI {_num(low)} to {_num(high)}"
        if any(low < edge < high for edge in self._edges()):
            return BORDERLINE, shown
        return self._level(statistics.mean(values)), shown

    def _assess(self, measurement):
        if isinstance(measurement, Mapping):
            raise I2VError(f"expected {self.expects}, got a dict")
        return self._judge(*_values(measurement, "the measurement"))

    def _effect(self, measurement):
        if isinstance(measurement, Mapping):
            raise I2VError(f"expected {self.expects}, got a dict")
        return Effect.of_mean(_values(measurement, "the measurement")[0])

    def parts(self):
        return self.describe().removesuffix(_BORDER), _BORDER_SHARED


_BORDER = "; a mean whose 95 % interval straddles the threshold: borderline"
_BORDER_SHARED = "a mean over seeds (or videos) whose 95 % interval straddles a threshold of the rule reads borderline"


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

    def _edges(self):
        return (self.threshold,)

    def describe(self):
        partly = "" if self.partly is None else f"; ≥ {self.partly:g}: partly"
        return f"≥ {self.threshold:g}: reproduced{partly}; otherwise not reproduced{_BORDER}"


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

    def _edges(self):
        return (self.threshold,)

    def describe(self):
        partly = "" if self.partly is None else f"; ≤ {self.partly:g}: partly"
        return f"≤ {self.threshold:g}: reproduced{partly}; otherwise not reproduced{_BORDER}"


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

    def _edges(self):
        return (self.low, self.high)

    def describe(self):
        partly = "" if self.partly is None else f"; in [{self.partly[0]:g}, {self.partly[1]:g}]: partly"
        return f"in [{self.low:g}, {self.high:g}]: reproduced{partly}; otherwise not reproduced{_BORDER}"


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

    def _ratios(self, measurement) -> tuple[list[float], bool, list[float], bool, list[float]]:
        """(values, a list?, references, a list?, the per-seed ratios)."""
        _keys(measurement, (self.value, self.reference))
        v, v_list = _values(measurement[self.value], repr(self.value))
        r, r_list = _values(measurement[self.reference], repr(self.reference))
        if r_list and len(r) != len(v):
            raise I2VError(f"{len(v)} values of {self.value!r} but {len(r)} of {self.reference!r}")
        if 0.0 in r:
            raise I2VError(f"{self.reference!r} is 0: no ratio")
        return v, v_list, r, r_list, [x / (r[i] if r_list else r[0]) for i, x in enumerate(v)]

    def _assess(self, measurement):
        v, v_list, r, r_list, ratios = self._ratios(measurement)
        verdict, of_ratios = self.rule._judge(ratios, v_list or r_list)
        return verdict, (f"{self.value} / {self.reference} = {of_ratios} "
                         f"({self.value} {_spread(v, v_list)}, {self.reference} {_spread(r, r_list)})")

    def _effect(self, measurement):
        return Effect.of_mean(self._ratios(measurement)[-1])

    def describe(self):
        return f"{self.value} / {self.reference} {self.rule.describe()}"

    def parts(self):
        head, shared = self.rule.parts()
        return f"{self.value} / {self.reference} {head}", shared


@dataclass(frozen=True)
class Better(Rule):
    """A comparative claim: ``arm`` is higher (``higher=True``) or lower than ``baseline``.

    The measurement is ``{arm: [per-seed values], baseline: [per-seed values]}``, at least 3 seeds each. The
    difference of the means is tested by Welch's t-test (two-sided, unequal variances:
    ``scipy.stats.ttest_ind``), and the p-values of every comparison judged together (one chapter's table:
    :func:`i2vlib.claims.verdicts`) are adjusted by Holm's step-down method, so that the chance of any false
    "reproduced" or "contradicted" among them is at most :data:`ALPHA`. Reproduced: adjusted p < ALPHA with the
    difference in the claimed direction; contradicted: the same the other way; otherwise not reproduced (no
    difference shown at these seeds). The table shows the difference with its 95 % Welch confidence interval.
    """

    higher: bool = True
    arm: str = "arm"
    baseline: str = "baseline"

    MIN_SEEDS = 3

    def __post_init__(self):
        if self.arm == self.baseline:
            raise ValueError("Better: the two arms must differ")

    @property
    def expects(self):
        return (f"{{'{self.arm}': [per-seed values], '{self.baseline}': [per-seed values]}}, "
                f"at least {self.MIN_SEEDS} seeds each")

    def test(self, measurement) -> Welch:
        """Welch's t-test of ``arm`` against ``baseline``."""
        _keys(measurement, (self.arm, self.baseline))
        arms = {}
        for name in (self.arm, self.baseline):
            values, is_list = _values(measurement[name], repr(name))
            if not is_list or len(values) < self.MIN_SEEDS:
                raise I2VError(f"{name!r} has {len(values)} seed value(s); a comparative claim needs at "
                               f"least {self.MIN_SEEDS} per arm")
            arms[name] = values
        return welch(arms[self.arm], arms[self.baseline])

    def p_value(self, measurement) -> float | None:
        return None if untested(measurement) is not None else self.test(measurement).p

    def _effect(self, measurement):
        t = self.test(measurement)
        return Effect(t.difference, (_part(t.a), _part(t.b)), min(len(t.a), len(t.b)))

    def _assess(self, measurement, p_adjusted: float | None = None):
        t = self.test(measurement)
        p = t.p if p_adjusted is None else p_adjusted
        d = t.difference if self.higher else -t.difference
        verdict = REPRODUCED if p < ALPHA and d > 0 else CONTRADICTED if p < ALPHA and d < 0 else NOT_REPRODUCED
        shown = (f"{self.arm} {_spread(t.a, True)}; {self.baseline} {_spread(t.b, True)}; "
                 f"{self.arm} − {self.baseline} {t.difference:+.3g} (95 % CI {_num(t.low)} to {_num(t.high)}); "
                 f"Welch p = {t.p:.2g}"
                 + ("" if p_adjusted is None else f", Holm-adjusted {p_adjusted:.2g}"))
        return verdict, shown

    def describe(self):
        way, other = ("higher", "lower") if self.higher else ("lower", "higher")
        return (f"{self.arm} {way} than {self.baseline}, Welch's t-test, Holm-adjusted p < {ALPHA:g} over the table's "
                f"comparisons: reproduced; {other} so: contradicted; otherwise not reproduced "
                f"(≥ {self.MIN_SEEDS} seeds per arm)")

    def parts(self):
        return (f"{self.arm} {'higher' if self.higher else 'lower'} than {self.baseline}",
                f"Welch's t-test of the two arms' seeds, Holm-adjusted p < {ALPHA:g} over the comparisons of the "
                "table or figure (its Holm family): reproduced in the claimed direction, contradicted in the other, "
                f"otherwise not reproduced (at least {self.MIN_SEEDS} seeds per arm)")


ALPHA = 0.05   # the family-wise error rate of one table's comparisons
