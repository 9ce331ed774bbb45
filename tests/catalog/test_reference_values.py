"""Every forward and derivative against naive formulas evaluated with mpmath at 400 digits.

The float64 results must be correct to ~1e-13 relative on a grid reaching ±9999.5, which is where
unstable formulas (overflowing exponentials, cancelling differences) go wrong.
"""

import math

import mpmath
import numpy as np
import pytest

import actlab
from actlab.verify.check import GRID
from actlab.verify.references import ELEMENTWISE as REF
from actlab.verify.references import GATED as REF_GATED
from tests.catalog.helpers import ELEMENTWISE, GATED

FLOAT64_MAX = np.finfo(np.float64).max


def _close(got: float, want, rtol: float) -> bool:
    if abs(want) > FLOAT64_MAX:
        return math.isinf(got) and (got > 0) == (want > 0)
    return abs(got - float(want)) <= rtol * abs(float(want)) + 1e-300


def test_every_activation_has_a_reference_formula():
    assert set(REF) | set(REF_GATED) | {"maxout"} == set(actlab.names())


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_forward_and_derivative_match_high_precision_reference(name):
    spec = actlab.spec(name)
    params = spec.defaults()
    act = actlab.activation(name)
    x = np.array(GRID)
    y, d = act(x), act.derivative(x)
    bad = []
    # The naive formulas need hundreds of digits where f is c + tiny (e.g. celu at -512.5, 1 + erf(-19)).
    with mpmath.workdps(400):
        for i, v in enumerate(GRID):
            f = lambda t: REF[name](t, mpmath, **params)  # noqa: E731
            want = f(mpmath.mpf(v))
            dwant = mpmath.diff(f, mpmath.mpf(v))
            if not _close(y[i], want, 2e-13):
                bad.append(f"f({v}) = {y[i]!r}, want {mpmath.nstr(want, 17)}")
            if not _close(d[i], dwant, 1e-11):
                bad.append(f"f'({v}) = {d[i]!r}, want {mpmath.nstr(dwant, 17)}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", GATED)
def test_gated_partials_match_high_precision_reference(name):
    values = [-27.18, -2.618, -0.3183, 0.7391, 4.9348, 66.6]
    pairs = [(a, b) for a in values for b in values]
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    act = actlab.activation(name)
    x = np.concatenate([a, b])
    y, d = act(x), act.derivative(x)
    n = len(pairs)
    with mpmath.workdps(400):
        for i, (va, vb) in enumerate(pairs):
            if name == "maxout":
                want, da, db = max(va, vb), float(va >= vb), float(vb > va)
            else:
                f = lambda s, t: REF_GATED[name](s, t, mpmath)  # noqa: E731
                ma, mb = mpmath.mpf(va), mpmath.mpf(vb)
                want = f(ma, mb)
                da = mpmath.diff(lambda s, f=f, mb=mb: f(s, mb), ma)
                db = mpmath.diff(lambda t, f=f, ma=ma: f(ma, t), mb)
            assert _close(y[i], want, 2e-13), (va, vb, y[i], want)
            assert _close(d[i], da, 1e-11), (va, vb, d[i], da)
            assert _close(d[n + i], db, 1e-11), (va, vb, d[n + i], db)
