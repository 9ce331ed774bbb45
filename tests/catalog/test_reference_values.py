"""Every forward and derivative against its stored 400-digit reference values (actlab/catalog/data/references.json,
written by `python -m actlab.verify.stored` from mpmath at 400 digits: the independent transcriptions of
actlab.verify.references for the hand-written built-ins, the formula as written for data entries).

The float64 results must be correct to ~1e-13 relative on a grid reaching ±9999.5, which is where unstable formulas
(overflowing exponentials, cancelling differences) go wrong.
"""

import math

import mpmath
import numpy as np
import pytest

import actlab
from actlab.verify import stored
from actlab.verify.check import GRID
from actlab.verify.references import ELEMENTWISE as REF
from actlab.verify.references import GATED as REF_GATED
from tests.catalog.helpers import ALL, ELEMENTWISE, GATED

FLOAT64_MAX = np.finfo(np.float64).max


def _close(got: float, want: str, rtol: float) -> bool:
    value = mpmath.mpf(want)
    if mpmath.isnan(value):
        return math.isnan(got)
    if abs(value) > FLOAT64_MAX:
        return math.isinf(got) and (got > 0) == (value > 0)
    return abs(got - float(value)) <= rtol * abs(float(value)) + 1e-300


def test_every_hand_written_activation_has_a_reference_formula():
    hand_written = {n for n in ALL if actlab.spec(n).formula_expression is None}
    assert set(REF) | set(REF_GATED) | {"maxout"} == hand_written


@pytest.mark.parametrize("name", ALL)
def test_stored_values_are_current(name):
    assert stored.record(actlab.spec(name)) is not None, f"{name}: no current stored values; run {stored.COMMAND}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_forward_and_derivative_match_stored_400_digit_values(name):
    values = stored.record(actlab.spec(name))
    if values is None:
        pytest.fail(f"{name}: no current stored values; run {stored.COMMAND}")
    assert values["x"] == GRID
    act = actlab.activation(name)
    kinks = act.spec.properties.kinks
    x = np.array(GRID)
    y, d = act(x), act.derivative(x)
    bad = []
    for i, v in enumerate(GRID):
        if not _close(y[i], values["f"][i], 2e-13):
            bad.append(f"f({v}) = {y[i]!r}, want {values['f'][i]}")
        if not any(abs(v - k) < 1e-3 for k in kinks) and not _close(d[i], values["d"][i], 1e-11):
            bad.append(f"f'({v}) = {d[i]!r}, want {values['d'][i]}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", GATED)
def test_gated_partials_match_stored_400_digit_values(name):
    values = stored.record(actlab.spec(name))
    assert values is not None, f"{name}: no current stored values; run {stored.COMMAND}"
    pairs = values["pairs"]
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    act = actlab.activation(name)
    y, d = act(np.concatenate([a, b])), act.derivative(np.concatenate([a, b]))
    n = len(pairs)
    for i, (va, vb, want, da, db) in enumerate(pairs):
        assert _close(y[i], want, 2e-13), (va, vb, y[i], want)
        assert _close(d[i], da, 1e-11), (va, vb, d[i], da)
        assert _close(d[n + i], db, 1e-11), (va, vb, d[n + i], db)


def test_a_changed_definition_makes_the_stored_values_stale(monkeypatch):
    spec = actlab.spec("golu")
    assert stored.record(spec) is not None
    monkeypatch.setitem(stored.stored(), "golu", {**stored.stored()["golu"], "fingerprint": "0" * 16})
    assert stored.record(spec) is None


def test_stored_values_are_the_reference_at_400_digits():
    """Spot-check the stored file against the references computed now, for a few entries of each kind."""
    for name in ("elu", "gelu", "golu", "sqnl"):
        spec = actlab.spec(name)
        f = stored.reference_function(spec)
        values = stored.record(spec)
        with mpmath.workdps(60):
            for i in (3, 14, 20):
                assert mpmath.almosteq(f(mpmath.mpf(GRID[i])), mpmath.mpf(values["f"][i]), rel_eps=1e-24), name
