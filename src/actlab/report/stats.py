"""Statistics over seeds: mean, standard deviation, 95 % confidence interval, Welch's t-test against a
baseline with Holm's correction for the number of comparisons, and a ranking.

Differences between modern activations are often a few tenths of a point, so every comparison says how
sure it is: the interval uses Student's t with n-1 degrees of freedom; Welch's test does not assume equal
variances (scipy.stats.ttest_ind with equal_var=False); Holm's step-down method controls the family-wise
error rate over all activations compared with the baseline.

SciPy is imported where a statistic needs it: the interval's t quantile from ``scipy.special.stdtrit`` (what
``scipy.stats.t.ppf`` evaluates, without loading ``scipy.stats``), Welch's test from ``scipy.stats``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FEW_RUNS = 3  # an interval from fewer runs is flagged: with n - 1 < 2 degrees of freedom it is very wide


@dataclass(frozen=True)
class Estimate:
    """Mean, sample standard deviation and the 95 % confidence interval of the mean over ``n`` runs; the interval
    is clipped to the metric's range (an accuracy's to [0, 1])."""

    n: int
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def few(self) -> bool:
        """Whether the interval comes from fewer than :data:`FEW_RUNS` runs."""
        return self.n < FEW_RUNS

    @classmethod
    def of(
        cls,
        values: Sequence[float | None],
        confidence: float = 0.95,
        bounds: tuple[float, float] = (-math.inf, math.inf),
    ) -> Estimate:
        x = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
        if len(x) == 0:
            return cls(0, None, None, None, None)
        mean = float(x.mean())
        if len(x) == 1:
            return cls(1, mean, 0.0, None, None)
        std = float(x.std(ddof=1))
        from scipy.special import stdtrit

        half = float(stdtrit(len(x) - 1, 0.5 + confidence / 2)) * std / math.sqrt(len(x))
        return cls(len(x), mean, std, max(mean - half, bounds[0]), min(mean + half, bounds[1]))


@dataclass(frozen=True)
class Test:
    """Welch's t-test of a sample against the baseline's: statistic, p-value, Holm-adjusted p-value."""

    statistic: float | None
    p_value: float | None
    p_holm: float | None = None


def welch(sample: Sequence[float], baseline: Sequence[float]) -> Test:
    a = np.asarray([v for v in sample if v is not None and math.isfinite(v)], dtype=float)
    b = np.asarray([v for v in baseline if v is not None and math.isfinite(v)], dtype=float)
    tiny = 1e-12 * max(1.0, float(np.abs(a).max(initial=0)), float(np.abs(b).max(initial=0)))
    if len(a) < 2 or len(b) < 2 or (a.std() <= tiny and b.std() <= tiny):
        return Test(None, None)  # no spread (up to rounding) in either: nothing to test
    from scipy import stats

    result = stats.ttest_ind(a, b, equal_var=False)
    return Test(float(result.statistic), float(result.pvalue))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None): sort ascending, multiply the i-th smallest by
    (m - i), make the sequence non-decreasing, cap at 1."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def compare_to_baseline(samples: dict[str, Sequence[float]], baseline: str) -> dict[str, Test]:
    """Welch's test of every other sample against ``baseline``, Holm-corrected across them."""
    if baseline not in samples:
        raise KeyError(baseline)
    others = [name for name in samples if name != baseline]
    tests = {name: welch(samples[name], samples[baseline]) for name in others}
    adjusted = holm([tests[name].p_value for name in others])
    return {name: Test(tests[name].statistic, tests[name].p_value, p) for name, p in zip(others, adjusted, strict=True)}
