"""Every claimed property is checked, in both directions where a claim can be false.

Properties describe the default parameters. Hypothesis draws inputs over [-1e4, 1e4]; dense grids find
counterexamples for claims of *non*-monotonicity and for the exact extent of ranges.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import actlab
from tests.catalog.helpers import ALL, ELEMENTWISE, GATED

DENSE = np.concatenate([-np.logspace(8, -6, 400), np.linspace(-50.0, 50.0, 200_001), np.logspace(-6, 8, 400)])
finite_inputs = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


def _tolerance(value: float) -> float:
    return 1e-12 * (1.0 + abs(value))


@pytest.mark.parametrize("name", ELEMENTWISE)
@given(x=finite_inputs)
def test_outputs_lie_in_the_claimed_range(name, x):
    lo, hi = actlab.spec(name).properties.range
    y = float(actlab.activation(name)(np.array([x]))[0])
    assert lo - _tolerance(lo) <= y <= hi + _tolerance(hi), (x, y)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_claimed_range_is_tight(name):
    """Finite bounds are attained or approached; infinite ones are really unbounded."""
    props = actlab.spec(name).properties
    y = actlab.activation(name)(DENSE)
    lo, hi = props.range
    assert (y.min() - lo <= 1e-6) if math.isfinite(lo) else y.min() < -1e3
    assert (hi - y.max() <= 1e-6) if math.isfinite(hi) else y.max() > 1e3
    assert props.bounded_below == math.isfinite(lo) and props.bounded_above == math.isfinite(hi)


ENDS = [(n, side) for n in ELEMENTWISE for side in (0, 1) if math.isfinite(actlab.spec(n).properties.range[side])]


@pytest.mark.parametrize("name,side", ENDS)
def test_range_ends_are_attained_or_approached_as_claimed(name, side):
    """Evaluated at 120 digits (where nothing rounds to the bound): an attained end is reached (to the bound's
    rounding) at a finite x in [-12, 12], at least as closely inside as at the interval's edges; an end only
    approached is never reached on [-4, 4], and the values are closest to it at the edges, where the function
    tends to it."""
    import mpmath

    from actlab.verify.stored import reference_function

    props = actlab.spec(name).properties
    bound, reference = props.range[side], reference_function(actlab.spec(name))
    reach = 12.0 if props.attains[side] else 4.0
    xs = [mpmath.mpf(v) for v in np.linspace(-reach, reach, 1601)]
    with mpmath.workdps(120):
        distance = [abs(reference(x) - mpmath.mpf(bound)) for x in xs]
    inner = min(d for x, d in zip(xs, distance, strict=True) if abs(x) < 0.95 * reach)
    edges = min(distance[0], distance[-1])
    if props.attains[side]:
        assert inner <= 1e-3 * (1 + abs(bound)) and inner <= edges, (float(inner), float(edges))
    else:
        assert min(distance) > 0 and edges < inner


def test_the_measured_ends_say_attained_or_approached_as_the_catalog_does():
    """What `actlab check` and a user's activation's properties measure in float64 agrees with every built-in's
    claim: sigmoid's 0, elu's -1 approached (within rounding far out, but never reached); relu's 0, pdelu's -1
    attained on a plateau; swish's minimum at a turn; the gaussian's 0 approached though its slope underflows."""
    from actlab.catalog.measure import measure_spec

    differ = []
    for name in actlab.names():
        spec = actlab.spec(name)
        if not spec.gated and measure_spec(spec, spec.defaults()).properties.attains != spec.properties.attains:
            differ.append(name)
    assert differ == []


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if actlab.spec(n).properties.monotonic])
@given(a=finite_inputs, b=finite_inputs)
def test_monotonic_claims_hold(name, a, b):
    lo, hi = sorted((a, b))
    y = actlab.activation(name)(np.array([lo, hi]))
    assert y[0] <= y[1] + _tolerance(y[1])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_monotonic_claim_matches_the_derivative_sign(name):
    act = actlab.activation(name)
    d = act.derivative(DENSE)
    if act.spec.properties.monotonic:
        assert d.min() >= -1e-12
    else:
        decreasing = np.diff(act(DENSE)) < -1e-12
        assert decreasing.any(), "claimed non-monotonic, but it never decreases"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_smoothness_claim_and_kinks(name):
    """A smooth function's derivative has no jump on a fine grid; each listed kink has one."""
    act = actlab.activation(name)
    props = act.spec.properties
    assert props.smooth == (not props.kinks)
    h = 1e-9
    grid = np.linspace(-20.0, 20.0, 40_001)
    grid = grid[np.all(np.abs(grid[:, None] - np.array(props.kinks or (np.inf,))[None, :]) > 1e-6, axis=1)]
    left, right = act.derivative(grid - h), act.derivative(grid + h)
    jumps = np.abs(right - left) / (1.0 + np.abs(left))
    assert jumps.max() < 1e-5, f"derivative jumps by {jumps.max()} at {grid[jumps.argmax()]}"
    for kink in props.kinks:
        k = np.array([kink - 1e-10, kink + 1e-10])
        value_jump = abs(np.diff(act(k))[0])
        slope_jump = abs(np.diff(act.derivative(k))[0])
        assert value_jump > 1e-12 or slope_jump > 1e-8, f"no kink at {kink}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_zero_centred_claim(name):
    act = actlab.activation(name)
    y = act(DENSE)
    at_zero = float(act(np.array([0.0]))[0])
    actual = abs(at_zero) <= 1e-15 and y.min() < 0 < y.max()
    assert act.spec.properties.zero_centred == actual


@pytest.mark.parametrize("name", ALL)
def test_stochastic_claim(name):
    spec = actlab.spec(name)
    assert spec.properties.stochastic == (spec.stochastic is not None)


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if actlab.spec(n).properties.oscillating])
def test_oscillating_claim(name):
    """f or f' keeps swinging far out, so it has no limit at infinity."""
    act = actlab.activation(name)
    far = np.linspace(1e4, 1e4 + 10.0, 1001)
    assert np.ptp(act(far)) > 0.5 or np.ptp(act.derivative(far)) > 0.5


@pytest.mark.parametrize("name", GATED)
@given(a=finite_inputs, b=finite_inputs)
def test_gated_monotonic_claims(name, a, b):
    """Gated activations: maxout is non-decreasing in every input; GLU variants are not in the gate."""
    act = actlab.activation(name)
    if act.spec.properties.monotonic:
        lo, hi = sorted((a, b))
        low, high = act(np.array([lo, 0.5])), act(np.array([hi, 0.5]))  # raise the first piece only
        assert low[0] <= high[0] + _tolerance(high[0])
    else:
        # value -1: the output -g(b) decreases wherever the gate g increases
        gates = np.linspace(-5.0, 5.0, 101)
        y = act(np.concatenate([-np.ones_like(gates), gates]))
        assert (np.diff(y) < 0).any()
