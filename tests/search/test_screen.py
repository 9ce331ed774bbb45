"""Screening before training: duplicates (symbolic, by values, against the catalog), each filter with a positive and
a negative case, and derivation's bounded cost (refusals counted)."""

import numpy as np
import pytest

from actlab.catalog import expressions
from actlab.search import screen
from actlab.search.space import parse_space
from actlab.search.tree import Formula, Node, X

SPACE = parse_space(
    {
        "space": {"schemas": ["binary(unary(x), unary(x))"]},
        "unary": {"identity": "u", "sigmoid": "sigmoid(u)", "silu": "silu(u)", "cube": "u**3", "log": "log(u)"},
        "binary": {"mul": "u * v", "max": "max(u, v)", "sub": "u - v"},
    }
)


def _tree(text: str) -> Node:
    """``mul(identity(x), sigmoid(x))`` → its tree."""
    import ast

    def build(node):
        if isinstance(node, ast.Name):
            return X
        return Node(node.func.id, tuple(build(a) for a in node.args))

    return build(ast.parse(text, mode="eval").body)


def _filter(text: str, params=None) -> str | None:
    form = Formula(text, params or {})
    expr, _ = screen.derive(form)
    compiled, reason = screen._compiled(expr, form, screen.fingerprint_samples(), None)
    return reason


def test_swish_written_out_is_silu_from_the_catalog():
    result = screen.screen([_tree("silu(x)"), _tree("mul(identity(x), sigmoid(x))")], SPACE)
    assert result.duplicates == {"values": 1}
    (survivor,) = result.survivors
    assert survivor.catalog == "silu" and survivor.duplicates == 1
    assert result.examples["values"] == "x * sigmoid(x) ≡ silu"


def test_a_candidate_equal_to_a_catalog_entry_is_reported_as_it():
    result = screen.screen([_tree("max(identity(x), sub(identity(x), identity(x)))")], SPACE)
    assert result.filtered == {} and [c.label for c in result.survivors] == ["relu"]
    assert result.survivors[0].formula.text == "max(x, x - x)"


def test_symbolic_duplicates():
    trees = [_tree("mul(identity(x), sigmoid(x))"), _tree("mul(sigmoid(x), identity(x))")]
    result = screen.screen(trees, SPACE)
    assert result.duplicates == {"symbolic": 1} and len(result.survivors) == 1


def test_parametric_candidates_are_not_merged_with_their_default():
    form = Formula("x * sigmoid(beta * x)", {"beta": screen.ParamDefinition(1.0, learnable=True)})
    samples = screen.fingerprint_samples()
    expr, _ = screen.derive(form)
    plain = Formula("x * sigmoid(x)", {})
    plain_expr, _ = screen.derive(plain)
    parametric = screen.fingerprint(screen.compile_candidate(expr, form), form, samples)
    assert parametric != screen.fingerprint(screen.compile_candidate(plain_expr, plain), plain, samples)


@pytest.mark.parametrize(
    "text,reason",
    [
        ("sin(x)**2 + cos(x)**2", "constant"),
        ("tanh(x)", None),
        ("log(x)", "not_finite"),
        ("1 / x", "not_finite"),
        ("x / (1 + abs(x))", None),
        ("3 * x - 1", "linear"),
        ("x + 0.01 * tanh(x)", None),
        ("exp(x)", "explodes"),
        ("x**4", "explodes"),
        ("exp(exp(x))", "explodes"),
        ("x**3", None),
        ("log(1 + exp(x))", None),  # overflows to ∞ as written, finite in its stable form (softplus)
    ],
)
def test_value_filters(text, reason):
    assert _filter(text) == reason


def test_deep_network_filter_and_counts():
    texts = [
        "mul(cube(x), identity(x))",
        "mul(identity(x), sigmoid(x))",
        "sub(cube(x), cube(x))",
        "mul(log(x), identity(x))",
        "max(cube(x), sigmoid(x))",
        "max(silu(x), identity(x))",
    ]
    result = screen.screen([_tree(t) for t in texts], SPACE)
    assert result.filtered == {"explodes": 1, "constant": 1, "not_finite": 1, "unstable": 1}
    assert result.examples["unstable"] == "max(x ** 3, sigmoid(x))"  # within the grid's bound, not 20 layers deep
    assert result.examined == 6 and len(result.survivors) == 2
    assert result.survivors[0].proxies.rank_key() <= result.survivors[1].proxies.rank_key()
    assert "silu" in [c.label for c in result.survivors]


def test_derivation_is_bounded(monkeypatch):
    with pytest.raises(screen.Refused) as refused:
        screen.derive(Formula("x" + " + tanh(x)" * 60, {}))
    assert refused.value.reason == "too_large"
    many = " + ".join(f"tanh({k} * x)" for k in range(2, 40))
    with pytest.raises(screen.Refused) as refused:
        screen.derive(Formula(many, {}))
    assert refused.value.reason == "too_large"
    with pytest.raises(screen.Refused) as refused:
        screen.derive(Formula("x +", {}))
    assert refused.value.reason == "formula_error"

    def slow(*args, **kwargs):
        raise screen.SympyTimeout

    monkeypatch.setattr(screen.expressions, "parse", slow)
    result = screen.screen([_tree("mul(identity(x), sigmoid(x))")], SPACE)
    assert result.refused == {"timed_out": 1} and result.survivors == []


def test_time_limit_interrupts():
    with pytest.raises(screen.SympyTimeout), screen.sympy_limit(0.01):
        while True:
            pass


def test_abs_of_a_catalog_call_is_differentiated():
    expr, _ = screen.derive(Formula("abs(gelu(x)) ** 2", {}))
    compiled = screen.compile_candidate(expr, Formula("abs(gelu(x)) ** 2", {}))
    x = np.array([-1.0, 0.5, 2.0])
    assert np.all(np.isfinite(compiled.df(x)))
    assert expressions.X in expr.free_symbols


def test_fingerprint_of_a_parameter_moved_out_of_the_domain(recwarn):
    form = Formula("x + sqrt(1.5 - a)", {"a": screen.ParamDefinition(1.0, learnable=True)})
    expr, _ = screen.derive(form)
    mark = screen.fingerprint(screen.compile_candidate(expr, form), form, screen.fingerprint_samples())
    assert isinstance(mark, bytes) and not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_derivative_past_the_time_limit_is_refused(monkeypatch):
    def slow(*args, **kwargs):
        raise screen.SympyTimeout

    monkeypatch.setattr(screen.sympy, "diff", slow)
    result = screen.screen([_tree("mul(identity(x), sigmoid(x))")], SPACE)
    assert result.refused == {"timed_out": 1} and result.examples["timed_out"] == "x * sigmoid(x)"
