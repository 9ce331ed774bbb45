"""Trees to formulas: the users' formula syntax, parentheses where needed, parameters renamed apart, and a candidate
as an ActivationSpec like any other."""

import numpy as np

from actlab.catalog.spec import ActivationSpec
from actlab.search.space import load_space
from actlab.search.tree import Node, X, formula


def test_formula_keeps_precedence():
    space = load_space()
    tree = Node("square", (Node("sub", (X, Node("add", (X, Node("negative", (X,)))))),))
    assert formula(tree, space).text == "(x - (x + -x)) ** 2"
    assert Node("mul", (X, Node("sigmoid", (X,)))).text() == "mul(x, sigmoid(x))"


def test_parameters_are_renamed_apart():
    space = load_space()
    tree = Node("add", (Node("scaled", (X,)), Node("scaled", (Node("tanh", (X,)),))))
    form = formula(tree, space)
    assert form.text == "alpha * x + alpha2 * tanh(x)"
    assert list(form.params) == ["alpha", "alpha2"] and all(p.learnable for p in form.params.values())


def test_candidate_is_an_activation_spec():
    space = load_space()
    form = formula(Node("mul", (Node("scaled", (X,)), Node("sigmoid", (X,)))), space)
    spec = form.spec("candidate_swish")
    assert isinstance(spec, ActivationSpec) and spec.params[0].learnable
    x = np.linspace(-3, 3, 7)
    expected = 1.0 / (1 + np.exp(-x)) * (1 + x * (1 - 1.0 / (1 + np.exp(-x))))
    np.testing.assert_allclose(spec.derivative(x, _numpy(), alpha=1.0), expected, rtol=1e-12)
    assert '"formula":"alpha * x * sigmoid(x)"' in spec.definition


def _numpy():
    from actlab.catalog.xp import NUMPY

    return NUMPY
