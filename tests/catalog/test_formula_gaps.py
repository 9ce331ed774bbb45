"""Formulas that broke the machinery: constant derivatives, factors of the parameters alone, tanh′'s tail, the
functions FORMAT.md promises (tan, asinh, Heaviside); a check that cannot run is a failure, never a traceback."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import actlab
from actlab.catalog import REGISTRY
from actlab.cli import app

X = np.linspace(-3, 3, 7)


@pytest.fixture()
def registry():
    before = set(REGISTRY.names())
    yield
    for name in set(REGISTRY.names()) - before:
        REGISTRY.unregister(name)


@pytest.mark.parametrize(
    "formula, params, slope",
    [
        ("alpha*x", {"alpha": {"default": 1.5, "learnable": True}}, 1.5),
        ("x*pi", {}, np.pi),
        ("exp(b)*x", {"b": {"default": 0.5, "learnable": True}}, np.exp(0.5)),
        ("sqrt(b)*x", {"b": {"default": 2.0, "min": 0, "learnable": True}}, np.sqrt(2.0)),
    ],
)
def test_constant_derivatives_and_parameter_only_factors(registry, formula, params, slope):
    act = actlab.activation(actlab.define("gap_" + str(abs(hash(formula))), formula, **params).spec.name)
    np.testing.assert_allclose(act(X), slope * X, rtol=1e-14)
    np.testing.assert_allclose(act.derivative(X), np.full_like(X, slope), rtol=1e-14)
    t = torch.tensor(X, requires_grad=True)
    np.testing.assert_allclose(act.derivative(t).detach().numpy(), np.full_like(X, slope), rtol=1e-14)
    module = act.module(learnable=True)
    module(t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), np.full_like(X, slope), rtol=1e-6)


def test_the_derivative_of_tanh_keeps_its_tail(registry):
    act = actlab.activation(actlab.define("gap_tanh_half", "2*tanh(x/2)").spec.name)
    x = np.array([-512.5, -66.6, 66.6])
    want = 1 / np.cosh(x / 2) ** 2
    np.testing.assert_allclose(act.derivative(x), want, rtol=1e-12)
    assert act.derivative(np.array([-512.5]))[0] > 0


@pytest.mark.parametrize(
    "formula, expected",
    [("tan(x/4)", np.tan(X / 4)), ("asinh(x)", np.arcsinh(X)), ("x*Heaviside(x)", np.maximum(X, 0))],
)
def test_functions_the_data_format_allows(registry, formula, expected):
    act = actlab.activation(actlab.define("gap_fn_" + str(abs(hash(formula))), formula).spec.name)
    np.testing.assert_allclose(act(X), expected, rtol=1e-14, atol=1e-300)


def test_check_json_reports_every_formula(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    plugin = tmp_path / "p.toml"
    plugin.write_text('[[activation]]\nname = "gap_scaled"\nformula = "alpha*x"\nparams = { alpha = 1.5 }\n')
    done = CliRunner().invoke(app, ["check", "gap_scaled", "--plugins", str(plugin), "--json"])
    record = json.loads(done.stdout)
    assert record["activation"] == "gap_scaled" and len(record["checks"]) == 6 and record["cached"] is False
    again = CliRunner().invoke(app, ["check", "gap_scaled", "--plugins", str(plugin), "--json"])
    assert json.loads(again.stdout)["cached"] is True and again.exit_code == done.exit_code


def test_a_cancelling_formula_fails_with_its_stable_form_suggested(registry):
    from actlab.verify.check import check

    act = actlab.activation(actlab.define("gap_cancel", "sqrt(x**2 + 1) - 1").spec.name)
    failed = [r for r in check(act).failures() if "reference" in r.check]
    assert failed and "stable form: x**2/(sqrt(x**2 + 1) + 1)" in failed[0].detail
    fixed = actlab.activation(actlab.define("gap_cancel_fixed", "x**2/(sqrt(x**2 + 1) + 1)").spec.name)
    assert not [r for r in check(fixed).failures() if "reference" in r.check]


@pytest.mark.parametrize(
    "formula",
    [
        "Max(" + ", ".join(f"sin({k}*x)" for k in range(1, 130)) + ")",
        "*".join(f"tanh(x + {k})" for k in range(119)),
        "*".join(f"(1 + sigmoid(x))**{k}" for k in range(1, 41)),
    ],
)
def test_a_formula_too_large_is_one_clear_error_before_any_derivation(registry, formula):
    with pytest.raises(actlab.ActivationError, match="too long or too deeply nested to derive"):
        actlab.define("gap_large", formula)


def test_a_formula_sympy_cannot_derive_in_time_is_one_clear_error(registry, monkeypatch, tmp_path):
    """Nested abs: SymPy's simplification of each level takes longer than the one before (60 levels: minutes)."""
    from actlab.catalog import formula

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(formula, "DERIVE_SECONDS", 0.001)  # far less than any derivation of this formula takes
    nested = "x"
    for _ in range(25):
        nested = f"abs({nested} - 1)"
    with pytest.raises(actlab.ActivationError, match=r"^gap_nested: formula: SymPy could not derive it within 0.001 s"):
        actlab.define("gap_nested", nested)
    monkeypatch.setattr(formula, "DERIVE_SECONDS", 60.0)
    assert actlab.define("gap_after", "x*tanh(x) + 0.5*x").spec.name == "gap_after"  # no timer left running


def test_exp_of_exp_is_checked_in_seconds_not_minutes(registry):
    import mpmath

    from actlab.verify.mp import MPMATH

    with mpmath.workdps(400):
        assert MPMATH.exp(mpmath.exp(mpmath.mpf(9999.5))) == mpmath.inf
        assert MPMATH.exp(-mpmath.exp(mpmath.mpf(9999.5))) == 0
        assert MPMATH.exp(mpmath.mpf(700)) == mpmath.exp(700)


@pytest.mark.parametrize(
    "formula",
    [
        "Piecewise((1, x >= 0), (0, True))",  # f′ = 0: the forward does not depend on x in torch (G1.1)
        "sign(x)",  # NaN in, NaN out in float16 too (G1.2)
        "erfc(-x/sqrt(2))/2",  # not 2 - erfc(x/√2), which cancels to 0 in its lower tail (G1.3)
        "Piecewise((0, x < 0), (x, x <= 1), (1 - x, x <= 2), (0, True))",  # NaN through a constant last piece (G4.6)
    ],
)
def test_formulas_the_transcribers_found_failing_pass_every_check(registry, formula):
    from actlab.verify.check import check

    act = actlab.activation(actlab.define("gap_ok_" + str(abs(hash(formula))), formula).spec.name)
    report = check(act)
    assert report.passed, [f"{r.check}: {r.detail}" for r in report.failures()]
