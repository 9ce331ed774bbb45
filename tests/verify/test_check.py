"""`actlab check` passes for every built-in: the checks a user runs are the ones the catalog meets."""

import json

import pytest
from typer.testing import CliRunner

import actlab
from actlab.cli import app
from actlab.verify.check import check

BUILT_IN = [n for n in actlab.names() if not actlab.spec(n).user_defined]


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_passes_every_check(name):
    report = check(actlab.activation(name))
    assert report.passed, [f"{r.check}: {r.detail}" for r in report.failures()]
    assert len(report.results) == (3 if actlab.spec(name).gated else 6)


def test_the_command_prints_a_table_and_exits_by_the_verdict():
    runner = CliRunner()
    passed = runner.invoke(app, ["check", "hard_swish:n=4"], env={"COLUMNS": "200"})
    assert passed.exit_code == 0 and "hard_swish(n=4) passes every check" in passed.output
    record = json.loads(runner.invoke(app, ["check", "relu", "--json"]).stdout)
    assert record["passed"] and record["measured"]["range_text"] == "[0, ∞)" and record["measured"]["f'(0)"] == 0.0
    assert "unknown activation" in runner.invoke(app, ["check", "relux"]).output


@pytest.fixture()
def registry():
    """The registry as it was before the test: user definitions do not leak into other tests."""
    from actlab.catalog import REGISTRY

    state = REGISTRY.snapshot()
    yield REGISTRY
    REGISTRY.restore(state)


@pytest.mark.parametrize(
    "formula",
    [
        "Piecewise((1, x == 0), (sin(x)/x, True))",  # removable singularity at 0, in the piece not taken there
        "Piecewise((x/(1 - x), x < 0), (x, True))",  # a pole at 1 in the piece not taken there
        "Piecewise((exp(-1/x**2), x != 0), (0, True))",  # 0**-2 in the piece not taken at 0
    ],
)
def test_piecewise_formulas_with_a_singularity_in_a_piece_not_taken_pass(registry, formula):
    act = actlab.define("singular", formula)
    report = check(act)
    assert report.passed, [f"{r.check}: {r.detail}" for r in report.failures()]


def test_the_reference_evaluates_only_the_piece_taken(registry):
    import mpmath
    import numpy as np

    from actlab.verify.check import _reference

    sinc = actlab.define("my_sinc", "Piecewise((1, x == 0), (sin(x)/x, True))")
    assert _reference(sinc)(mpmath.mpf(0)) == 1 and sinc(np.array([0.0]))[0] == 1.0
    assert check(sinc).measured["f(0)"] == 1.0


@pytest.mark.parametrize("formula", ["1/x", "x/(1 - x)", "x**-2 + x"])
def test_a_pole_is_undefined_in_the_reference_not_a_traceback(registry, formula):
    import mpmath

    from actlab.verify.check import _reference

    act = actlab.define("pole", formula)
    at_pole = 1 if "1 - x" in formula else 0
    assert mpmath.isnan(_reference(act)(mpmath.mpf(at_pole)))
    assert check(act).results  # every check ran


def test_the_extremes_check_compares_finite_values_with_the_reference(registry):
    """e^x/(2 + e^x) → 1, but exp(x) overflows (past 11 in float16) and ∞·(1/∞) is taken as ∞·0 = 0: a finite value,
    but the wrong one, which only the comparison with the reference finds."""
    wrong = actlab.define("overflowing_logistic", "exp(x)/(2 + exp(x))")
    (extremes,) = [r for r in check(wrong).results if r.check.startswith("extremes")]
    assert not extremes.passed and "= 0.0 (the true value is 1)" in extremes.detail
    right = actlab.define("logistic_written_out", "exp(x)/(1 + exp(x))")  # which actlab makes σ(x)
    assert check(right).passed


def test_the_extremes_check_skips_f_prime_where_f_has_none(registry):
    """A kink away from the claimed ones (hard_swish's at ±2 when n = 4) or a jump (softplus's switch to x at 20) has
    no derivative: the reference's central difference there is no value for f' to be held to."""
    from actlab.verify.check import _extremes

    for act in (actlab.activation("hard_swish", n=4), actlab.activation("softplus")):
        result = _extremes(act, fused=False)
        assert result.passed, result.detail


@pytest.mark.parametrize("formula, pole", [("1/x", 0.0), ("x/(1 - x)", 1.0), ("x/(x - 0.30001)", 0.30001)])
def test_a_pole_fails_the_defined_check_and_makes_the_range_unbounded(registry, formula, pole):
    """1/x passed every check, its range shown as (-1e+06, ∞)."""
    act = actlab.define("pole_fails", formula)
    defined = next(r for r in check(act).results if r.check == "a real number for every real x")
    assert not defined.passed and f"near x = {pole:g} (a pole)" in defined.detail
    assert act.spec.properties.range == (float("-inf"), float("inf")) and pole in act.spec.properties.poles


def test_an_unbounded_derivative_is_measured_as_a_non_smooth_point(registry):
    """sqrt(abs(x)) passed as smooth with f'(0) = 0 although f' is unbounded there."""
    act = actlab.define("root_abs", "sqrt(abs(x))")
    assert act.spec.properties.smooth is False and 0.0 in act.spec.properties.kinks
    report = check(act)
    assert report.measured["smooth"] is False and 0.0 in report.measured["kinks"]
