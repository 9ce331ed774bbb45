"""Statistics against scipy and a worked example."""

import numpy as np
import pytest
from scipy import stats as sp

from actlab.report.stats import Estimate, compare_to_baseline, holm, welch


def test_estimate_matches_scipy():
    x = [0.9781, 0.9790, 0.9772, 0.9801, 0.9785]
    e = Estimate.of(x)
    low, high = sp.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sp.sem(x))
    assert e.n == 5 and e.mean == pytest.approx(np.mean(x)) and e.std == pytest.approx(np.std(x, ddof=1))
    assert (e.ci_low, e.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert Estimate.of([0.5]).ci_low is None and Estimate.of([None, float("nan")]).n == 0


def test_welch_matches_scipy():
    a, b = [0.981, 0.979, 0.983, 0.980], [0.975, 0.977, 0.976, 0.979, 0.974]
    result = welch(a, b)
    expected = sp.ttest_ind(a, b, equal_var=False)
    assert result.statistic == pytest.approx(expected.statistic) and result.p_value == pytest.approx(expected.pvalue)
    assert welch([0.9], b).p_value is None


def test_holm_worked_example():
    # p = 0.01, 0.04, 0.03, 0.005 → sorted 0.005·4, 0.01·3, 0.03·2, 0.04·1 → 0.02, 0.03, 0.06, 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([None, 0.5, 0.9]) == [None, pytest.approx(1.0), pytest.approx(1.0)]


def test_compare_to_baseline():
    rng = np.random.default_rng(0)
    samples = {
        "relu": rng.normal(0.978, 0.001, 5),
        "mish": rng.normal(0.985, 0.001, 5),
        "tanh": rng.normal(0.978, 0.001, 5),
    }
    tests = compare_to_baseline(samples, "relu")
    assert set(tests) == {"mish", "tanh"}
    assert tests["mish"].p_holm < 0.01 < tests["tanh"].p_holm
    raw = [tests["mish"].p_value, tests["tanh"].p_value]
    assert [tests["mish"].p_holm, tests["tanh"].p_holm] == pytest.approx(holm(raw))
    assert tests["mish"].p_holm == pytest.approx(2 * tests["mish"].p_value)  # the smaller of two p-values doubles


def test_samples_without_spread_up_to_rounding_are_not_tested(recwarn):
    """Equal accuracies that differ only in the last bit (0.1 + 0.2 and 0.3): no test, and no scipy warning."""
    assert welch([0.1 + 0.2, 0.3, 0.3], [0.3, 0.30000000000000004, 0.3]).p_value is None
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
