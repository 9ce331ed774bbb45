"""Softplus, sigmoid and catalog calls are real at real arguments, so a formula with abs() of one differentiates to
sign(f)·f′ (SymPy otherwise writes re/im parts, which no array namespace evaluates, and the definition failed)."""

import numpy as np

from actlab.catalog import expressions
from actlab.catalog.formula import Definition, build_spec
from actlab.catalog.xp import NUMPY


def test_abs_of_catalog_call_and_sigmoid_differentiates():
    spec = build_spec(Definition("abs_mix", "abs(gelu(x)) + abs(x * sigmoid(x))"))
    x = np.array([-2.0, -0.5, 0.7, 3.0])
    h = 1e-6
    numeric = (spec.forward(x + h, NUMPY) - spec.forward(x - h, NUMPY)) / (2 * h)
    np.testing.assert_allclose(spec.derivative(x, NUMPY), numeric, rtol=1e-6)


def test_real_at_real_arguments_only():
    u = expressions.parse("sigmoid(x) + softplus(x) + relu(x)")
    assert all(f.is_extended_real for f in u.args)
    z = expressions.sympy.Symbol("z")
    assert expressions.Sigmoid(z).is_extended_real is None
