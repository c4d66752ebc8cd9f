"""The statistics behind the verdict rules (:mod:`.rules`): the 95 % t-interval of a mean, Welch's t-test of two
arms' per-seed values with its interval of the difference, Holm's step-down adjustment over one table's comparisons,
and, for a budget ladder, what a rule judges at one budget (:class:`Effect`) with the test of whether it differs
between two budgets (:func:`interaction`). scipy is imported only when a test runs.
"""

from __future__ import annotations

import math
import statistics
import warnings
from typing import NamedTuple


def mean_interval(values: list[float]) -> tuple[float, float]:
    """The 95 % t-interval of the mean of ``values`` (at least 2; ``scipy.stats.t``); a point if they agree."""
    from scipy import stats   # heavy: imported when a list of values is judged

    mean, sem = statistics.mean(values), statistics.stdev(values) / math.sqrt(len(values))
    if sem == 0:
        return mean, mean
    half = float(stats.t.ppf(0.975, len(values) - 1)) * sem
    return mean - half, mean + half


class Effect(NamedTuple):
    """What a rule judges at one budget: ``value`` (a mean over seeds, or a difference of two arms' means), the
    parts of its sampling variance as ``(s^2 / n, n - 1)`` per arm (none for a single value), and the seeds behind
    it (the fewer of two arms')."""

    value: float
    parts: tuple[tuple[float, int], ...]
    seeds: int

    @classmethod
    def of_mean(cls, values: list[float]) -> Effect:
        return cls(statistics.mean(values), (_part(values),) if len(values) > 1 else (), len(values))


def _part(values: list[float]) -> tuple[float, int]:
    return statistics.variance(values) / len(values), len(values) - 1


def interaction(first: Effect, second: Effect) -> float | None:
    """The p-value of "the effect differs between two budgets": Welch's test of ``second.value - first.value``,
    its variance the sum of both effects' parts and its degrees of freedom Welch-Satterthwaite's over all the
    parts (two-sided). None when either effect is a single value: no spread, no test."""
    from scipy import stats   # heavy: imported when two budgets are compared

    if not first.parts or not second.parts:
        return None
    parts = first.parts + second.parts
    variance = sum(v for v, _ in parts)
    difference = second.value - first.value
    if variance == 0:
        return 1.0 if difference == 0 else 0.0
    df = variance ** 2 / sum(v ** 2 / dof for v, dof in parts if v > 0)
    return float(2 * stats.t.sf(abs(difference) / math.sqrt(variance), df))


class Welch(NamedTuple):
    """Welch's t-test of the means of ``a`` and ``b``: their difference, its 95 % confidence interval, p."""

    a: list[float]
    b: list[float]
    difference: float
    low: float
    high: float
    p: float


def welch(a: list[float], b: list[float]) -> Welch:
    """Welch's two-sided t-test (``scipy.stats.ttest_ind(equal_var=False)``) with its 95 % interval of the
    difference of the means. Two arms without spread differ with certainty (p = 0) unless their means agree."""
    from scipy import stats   # heavy: imported when a comparison is judged

    diff = statistics.mean(a) - statistics.mean(b)
    if statistics.variance(a) == 0 and statistics.variance(b) == 0:
        return Welch(a, b, diff, diff, diff, 1.0 if diff == 0 else 0.0)
    with warnings.catch_warnings():
        # Seeds that agree to many digits make scipy warn of precision loss in their variance; the test still
        # stands (a spread far below the difference of the means), and a page would print the warning's path.
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
        ci = result.confidence_interval(0.95)
    return Welch(a, b, diff, float(ci.low), float(ci.high), float(result.pvalue))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (Holm 1979): the i-th smallest p times (m - i), made
    non-decreasing in that order and capped at 1; rejecting where the adjusted p < alpha keeps the chance of
    any false rejection among the m at most alpha."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
