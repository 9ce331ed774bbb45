"""Users' activations: formulas → exact derivative → verified → everywhere (both engines, the store, plugins)."""

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import actlab
from actlab.catalog import REGISTRY, plugins
from actlab.catalog.expressions import FormulaError
from actlab.cli import app
from actlab.train.config import RunConfig
from actlab.train.trainer import train_runs

runner = CliRunner()

# built-ins written as formulas, at their default parameters
FORMULAS = {
    "relu": "Max(0, x)",
    "elu": "Piecewise((x, x > 0), (alpha*(exp(x) - 1), True))",
    "selu": "1.0507009873554804934193349852946*Piecewise((x, x > 0), "
    "(1.6732632423543772848170429916717*(exp(x) - 1), True))",
    "gelu": "x/2*(1 + erf(x/sqrt(2)))",
    "silu": "x*sigmoid(x)",
    "mish": "x*tanh(log(1 + exp(x)))",
    "tanhexp": "x*tanh(exp(x))",
    "softplus": "log(1 + exp(x))",
    "hard_swish": "x*Min(Max(x + 3, 0), 6)/6",
    "squareplus": "(x + sqrt(x**2 + b))/2",
    "sigmoid": "1/(1 + exp(-x))",
    "lisht": "x*tanh(x)",
}
PARAMS = {"elu": {"alpha": 1.0}, "squareplus": {"b": {"default": 4.0, "min": 0}}}


@pytest.fixture()
def registry():
    """The registry as it was before the test: user definitions do not leak into other tests."""
    state = REGISTRY.snapshot()
    yield REGISTRY
    REGISTRY.restore(state)


@pytest.mark.parametrize("builtin", FORMULAS)
def test_built_ins_as_formulas_give_the_catalog_s_values(registry, builtin):
    mine = actlab.define(f"my_{builtin}", FORMULAS[builtin], **PARAMS.get(builtin, {}))
    theirs = actlab.activation("softplus:threshold=none" if builtin == "softplus" else builtin)  # PyTorch's cut at 20
    x = np.concatenate([np.linspace(-30, 30, 601) + 0.0123, [-1e4, -700.0, 700.0, 1e4]])
    np.testing.assert_allclose(mine(x), theirs(x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(mine.derivative(x), theirs.derivative(x), rtol=1e-12, atol=1e-300)
    t = torch.tensor(x)
    torch.testing.assert_close(mine(t), theirs(t).to(torch.float64), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("builtin", ["mish", "elu", "gelu"])
@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_both_engines_train_a_formula_as_its_built_in(registry, builtin, backend):
    actlab.define(f"my_{builtin}", FORMULAS[builtin], **PARAMS.get(builtin, {}))
    setup = dict(
        dataset="digits",
        epochs=2,
        batch_size=64,
        train_subset=300,
        test_subset=100,
        dtype="float64",
        backend=backend,
        init="he_normal",
        seed=3,
    )
    (mine,) = train_runs([RunConfig(activation=f"my_{builtin}", **setup)], record_steps=True)
    (theirs,) = train_runs([RunConfig(activation=builtin, **setup)], record_steps=True)
    np.testing.assert_allclose(mine.step_losses, theirs.step_losses, rtol=1e-10)


def test_the_derivative_is_exact_learnable_parameters_too(registry):
    act = actlab.define(
        "serf_alpha", "x * erf(alpha * softplus(x))", alpha={"default": 1.5, "min": 0, "learnable": True}
    )
    assert act.spec.learnable_params == ("alpha",)
    module = act.module(dtype=torch.float64)
    x = torch.linspace(-4, 4, 17, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,))
    assert "\\operatorname{erf}" in act.spec.formula and act.spec.derivative_formula.startswith("f'(x)=")
    with pytest.raises(actlab.ActivationError, match="must be >= 0"):
        actlab.activation("serf_alpha", alpha=-1)


def test_a_hand_written_derivative_is_checked_against_the_exact_one(registry):
    actlab.define("cube", "x**3 / 3", derivative="x**2")
    with pytest.raises(actlab.ActivationError, match="differs from the exact one"):
        actlab.define("cube_wrong", "x**3 / 3", derivative="2*x")


def test_a_hand_written_derivative_of_a_formula_calling_the_catalog(registry):
    """SymPy cannot evaluate relu(x) or gelu(x): the derivatives are compared on the catalog's reference formulas."""
    actlab.define("my_relu_squared", "relu(x)**2", derivative="2*relu(x)")
    actlab.define("x_relu", "x*relu(x)", derivative="2*relu(x)")
    actlab.define("elu_plus_x", "elu(x) + x", derivative="Piecewise((2, x > 0), (exp(x) + 1, True))")
    with pytest.raises(actlab.ActivationError, match=re.escape("'gelu(x)', differs from the exact one")):
        actlab.define("x_gelu", "x*gelu(x)", derivative="gelu(x)")
    with pytest.raises(actlab.ActivationError, match="differs from the exact one"):
        actlab.define("my_relu_squared_wrong", "relu(x)**2", derivative="relu(x)")


def test_learnable_as_a_string_in_a_plugin_file_is_refused(registry, tmp_path):
    toml = tmp_path / "acts.toml"
    toml.write_text(
        '[[activation]]\nname = "beta_swish"\nformula = "x*sigmoid(beta*x)"\n'
        'params = { beta = { default = 1.0, learnable = "false" } }\n'
    )
    with pytest.raises(actlab.ActivationError, match="learnable must be true or false, got 'false'"):
        plugins.load(toml)


@pytest.mark.parametrize("learnable", ["false", "true", 0, 1])
def test_learnable_is_true_or_false_not_a_string_or_number(registry, learnable):
    """bool("false") is True: "false" made the parameter learnable."""
    message = re.escape(f"params.beta.learnable must be true or false, got {learnable!r}")
    with pytest.raises(actlab.ActivationError, match=message):
        actlab.define("beta_swish", "x*sigmoid(beta*x)", beta={"default": 1.0, "learnable": learnable})
    fixed = actlab.define("beta_swish", "x*sigmoid(beta*x)", beta={"default": 1.0, "learnable": False})
    assert fixed.spec.learnable_params == ()


@pytest.mark.parametrize("formula,far", [("exp(x)/(1 + exp(x))", 1.0), ("x*exp(x)/(1 + exp(x))", 1e4)])
def test_the_logistic_written_out_is_stable_in_every_dtype(registry, formula, far):
    """e^x/(1 + e^x) is σ(x): exp(x) overflows past 709 in float64 (11 in float16), which used to make it 0 there."""
    from actlab.catalog import expressions

    act = actlab.define("logistic_out", formula)
    stable = str(expressions.stabilise(expressions.parse(formula)))
    assert "Sigmoid(x)" in stable and "exp" not in stable
    x, slope = np.array([-1e4, 1e4]), [0.0, 0.0 if far == 1 else 1.0]  # σ'(±1e4) = 0, (xσ)'(1e4) = 1
    for dtype in (np.float32, np.float64):
        np.testing.assert_allclose(act(x.astype(dtype)), [0.0, far], rtol=1e-6)
        np.testing.assert_allclose(act.derivative(x.astype(dtype)), slope, rtol=1e-6)
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        t = torch.tensor(x, dtype=dtype)
        ones = torch.tensor([0.0, 1.0], dtype=dtype)
        torch.testing.assert_close(act(t), ones * t if far > 1 else ones, rtol=1e-2, atol=0)  # bfloat16's 1e4: 9984
        torch.testing.assert_close(act.derivative(t), torch.tensor(slope, dtype=dtype), rtol=1e-2, atol=0)


def test_formulas_are_stable_at_the_extremes(registry):
    act = actlab.define("atan_softplus", "x * atan(softplus(x))")
    x = np.array([-np.inf, -1e4, 1e4, np.inf, np.nan])
    y, d = act(x), act.derivative(x)
    assert y[0] == 0 and y[1] == 0 and np.isinf(y[3]) and np.isnan(y[4])
    assert d[0] == 0 and d[3] == pytest.approx(np.pi / 2) and np.isnan(d[4])
    assert "log(1 + exp" not in str(actlab.define("sp", "log(1 + exp(x))").spec.formula_expression.func)


@pytest.mark.parametrize(
    "formula,message",
    [
        ("x * (", "syntax error at column"),
        ("x * tanhh(x)", "unknown function 'tanhh' at column 5 of 'x * tanhh(x)'; did you mean tanh"),
        ("alpah * x", "unknown symbol 'alpah' at column 1 of 'alpah * x'; did you mean alpha"),
        ("__import__('os').system('true')", "not a call of a function by name"),
        ("x.real", "is not allowed"),
        ("3.0", "does not depend on x"),
        # what gave a traceback instead
        ("x/0", "'x / 0' is undefined or infinite (a division by zero?) at column 1"),
        ("x*1e999", "is undefined or infinite"),
        ("log(-2)*x", "'log(-2)' is not a real number"),
        ("x*(-8)**(1/3)", "is not a real number"),
        ("x*True", "'True' is not a number (True, False and conditions go in Piecewise) at column 3 of 'x*True'"),
        ("(x > 0)*x", "'x > 0' is not a number"),
        ("x + (x, 1)", "'(x, 1)' is not a number"),
        ("-" * 100_000 + "x", "the formula is too long or too deeply nested (100,001 characters, at most 64 levels"),
        ("-" * 600 + "x", "the formula is too long or too deeply nested"),
        ("sin(" * 150 + "x" + ")" * 150, "too long or too deeply nested (751 characters, at most 64 levels"),
        ("x*10**-100000", "is a constant too large to compute"),
        ("x*10**999*10**999", "holds a constant of more than 1000 digits"),
        ("x*10**400*10**400", "is not a finite real number in floating point"),
    ],
)
def test_bad_formulas_are_one_clear_error(registry, formula, message):
    with pytest.raises(FormulaError, match=re.escape(message)):
        actlab.define("bad", formula, alpha=1.0)


@pytest.mark.parametrize("limit", [1000, 20_000])
def test_nesting_is_judged_the_same_whatever_the_recursion_limit(registry, limit):
    """How deep a formula may nest is a fixed number of levels: torch.compile raises Python's recursion limit, and
    a formula refused in one test run was accepted in another."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        with pytest.raises(FormulaError, match="at most 64 levels of nesting"):
            actlab.define("deep", "-" * 64 + "x")
        np.testing.assert_allclose(actlab.define("deep_enough", "-" * 63 + "x")(np.array([2.0])), [-2.0])
        # a sum of many terms nests in the syntax tree, but is one level: SymPy flattens it
        np.testing.assert_allclose(actlab.define("long_sum", "+".join(["x"] * 90))(np.array([2.0])), [180.0])
    finally:
        sys.setrecursionlimit(before)


def test_true_stays_a_condition_and_large_constants_that_fit_are_fine(registry):
    """What the refusals above leave alone: Piecewise's True, big constants and powers of x."""
    act = actlab.define("fine", "Piecewise((x, x > 0), (x*10**300*E**-690, True)) + x**3 * 2**-10")
    np.testing.assert_allclose(
        act(np.array([0.5, -1.0])), [0.5 + 0.5**3 / 1024, 1e300 * np.exp(-690) * -1.0 - 1 / 1024]
    )


def test_constant_powers_too_large_are_refused_before_they_are_computed():
    """9**9**9**9 and 10**100000000 would keep SymPy computing digits for hours: a subprocess, so that a hang fails
    the test rather than the test run."""
    script = textwrap.dedent(
        """
        from actlab.catalog import expressions
        for text in ("x*9**9**9**9", "x*10**100000000", "x**2*2**2**2**2**2**2"):
            try:
                expressions.parse(text)
            except expressions.FormulaError as error:
                print(error)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    refused = done.stdout.splitlines()
    assert len(refused) == 3 and all("is a constant too large to compute" in line for line in refused), done.stdout
    assert "'9 ** 9 ** 9' is a constant too large" in refused[0] and "'10 ** 100000000'" in refused[1]


def test_bad_definitions(registry):
    with pytest.raises(actlab.ActivationError, match="already taken by relu"):
        actlab.define("relu", "x")
    with pytest.raises(actlab.ActivationError, match="already taken by leaky_relu"):
        actlab.define("leakyrelu", "x")
    with pytest.raises(actlab.ActivationError, match="needs a default"):
        actlab.define("nodefault", "alpha * x", alpha={"min": 0})
    actlab.define("mine", "x * sigmoid(x)")
    actlab.define("mine", "x * sigmoid(x)")  # the same definition again: nothing changes
    with pytest.raises(actlab.ActivationError, match="already taken by mine"):
        actlab.define("mine", "x * sigmoid(2*x)")


def test_plugins_from_toml_python_and_an_entry_point(registry, tmp_path, monkeypatch):
    toml = tmp_path / "acts.toml"
    toml.write_text('[[activation]]\nname = "from_toml"\nformula = "x * atan(softplus(x))"\n')
    python = tmp_path / "acts.py"
    python.write_text(
        textwrap.dedent("""
        import actlab
        from actlab import ActivationSpec, Properties, Reference

        actlab.register(ActivationSpec(
            name="from_python", family="mine", summary="x·σ(2x), written against xp",
            forward=lambda x, xp: x * xp.sigmoid(2 * x),
            derivative=lambda x, xp: xp.sigmoid(2 * x) + 2 * x * xp.sigmoid_derivative(2 * x),
            formula="x\\\\sigma(2x)", derivative_formula="...",
            properties=Properties(range=(-0.14, float("inf")), monotonic=False, smooth=True, zero_centred=True),
            reference=Reference("mine", "me", 2026)))
    """)
    )
    assert actlab.load_plugins(toml, python) == ["from_toml", "from_python"]
    assert actlab.spec("from_python").source == str(python.resolve())
    # an installed package's entry point, found through its dist-info on the path
    package = tmp_path / "site"
    (package / "myacts-1.0.dist-info").mkdir(parents=True)
    (package / "myacts-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: myacts\nVersion: 1.0\n")
    (package / "myacts-1.0.dist-info" / "entry_points.txt").write_text("[actlab.activations]\nmine = myacts:install\n")
    (package / "myacts.py").write_text(
        "import actlab\n\ndef install():\n    actlab.define('from_entry', 'x * tanh(x)')\n"
    )
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.setattr(plugins, "_installed_loaded", False)
    monkeypatch.setattr(REGISTRY, "discover", plugins.load_installed)
    assert "from_entry" in actlab.names()
    result = runner.invoke(app, ["list", "--family", "user-defined", "--plugins", str(toml)], env={"COLUMNS": "200"})
    assert "from_toml" in result.output and "user-defined" in result.output


def test_plugin_files_that_fail(registry, tmp_path):
    missing = runner.invoke(app, ["check", "x", "--plugins", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    raising = tmp_path / "raises.py"
    raising.write_text("import numpy\nraise ImportError('no module named wishful')\n")
    result = runner.invoke(app, ["show", "relu", "--plugins", str(raising)])
    assert result.exit_code == 2 and "raises.py raised ImportError: no module named wishful" in result.output


def test_the_environment_variable_names_plugin_files(registry, tmp_path, monkeypatch):
    toml = tmp_path / "env.toml"
    toml.write_text('[[activation]]\nname = "from_env"\nformula = "x * sigmoid(x)"\n')
    monkeypatch.setenv("ACTLAB_PLUGINS", str(toml))
    monkeypatch.setattr(plugins, "_installed_loaded", False)
    monkeypatch.setattr(REGISTRY, "discover", plugins.load_installed)
    assert actlab.spec("from_env").user_defined


def test_a_run_keeps_the_definition_and_a_changed_formula_is_a_new_run(registry):
    actlab.define("changing", "x * sigmoid(x)")
    first = RunConfig(activation="changing")
    assert json.loads(first.definition)["formula"] == "x * sigmoid(x)"
    REGISTRY.unregister("changing")
    actlab.define("changing", "x * sigmoid(2*x)")
    second = RunConfig(activation="changing")
    assert first.key() != second.key()
    # a process that lacks the activation defines it again from the run's definition
    REGISTRY.unregister("changing")
    again = RunConfig(**json.loads(first.model_dump_json()))
    assert again.key() == first.key() and actlab.spec("changing").definition == first.definition
    with pytest.raises(ValueError, match="defined differently"):
        REGISTRY.unregister("changing")
        actlab.define("changing", "x * tanh(x)")
        RunConfig(**json.loads(first.model_dump_json()))


def test_an_experiment_with_its_own_activation_runs_and_resumes(registry, tmp_path):
    toml = tmp_path / "e.toml"
    toml.write_text(
        'name = "e"\n[base]\nepochs = 1\ntrain_subset = 200\ntest_subset = 100\n'
        '[grid]\nactivation = ["relu", "own"]\nseed = [0, 1]\n'
        '[[activation]]\nname = "own"\nformula = "x * atan(softplus(x))"\n'
    )
    store = tmp_path / "s.db"
    # spawned workers know nothing of this process's registry: they define "own" again from the stored runs
    first = json.loads(runner.invoke(app, ["run", str(toml), "--store", str(store), "--json", "--workers", "2"]).stdout)
    assert first["counts"]["done"] == 4
    REGISTRY.unregister("own")  # as in a new process
    again = json.loads(runner.invoke(app, ["run", str(toml), "--store", str(store), "--json"]).stdout)
    assert again["counts"]["done"] == 4 and again["new_runs"] == 0
    REGISTRY.unregister("own")
    reported = runner.invoke(app, ["report", str(store), "-o", str(tmp_path / "r"), "--baseline", "relu", "--json"])
    assert reported.exit_code == 0, reported.output
    rows = json.loads(reported.stdout)["e"]["rows"]
    assert sorted(row["configuration"] for row in rows) == ["own", "relu"]


def test_training_refuses_an_activation_that_fails_its_check(registry, tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text('[[activation]]\nname = "bad_log"\nformula = "log(x)"\n')
    quick = ["--epochs", "1", "--train-subset", "200", "--test-subset", "100", "--plugins", str(toml)]
    refused = runner.invoke(app, ["train", "--activation", "bad_log", *quick])
    assert refused.exit_code == 2 and "bad_log fails `actlab check`" in refused.output
    assert "not defined there on the real line" in refused.output and "--allow-unchecked" in refused.output
    allowed = runner.invoke(app, ["train", "--activation", "bad_log", *quick, "--allow-unchecked", "--json"])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["config"]["unchecked"] is True


def test_every_check_can_fail(registry, tmp_path):
    """A formula or a Python spec made to break each check in turn."""
    from actlab import ActivationSpec, Properties, Reference
    from actlab.verify.check import check

    def failing(act):
        return {r.check.split(" ")[0] for r in check(act).failures()}

    assert "a" in failing(actlab.define("undefined_left", "sqrt(x)"))  # "a real number for every real x"
    assert "extremes" in failing(actlab.define("inf_minus_inf", "exp(x) - exp(x)*tanh(x)"))  # ∞ - ∞ at +∞, limit 0
    wrong = ActivationSpec(
        name="wrong_slope",
        family="mine",
        summary="x², with 3x as its derivative",
        forward=lambda x, xp: x * x,
        derivative=lambda x, xp: 3 * x,
        formula="x^2",
        derivative_formula="3x",
        properties=Properties(range=(0.0, float("inf")), monotonic=True, smooth=True, zero_centred=False),
        reference=Reference("mine", "me", 2026),
    )
    actlab.register(wrong)
    assert {"forward", "derivative", "gradcheck"} <= failing(actlab.activation("wrong_slope"))
    (gradcheck,) = [r for r in check(actlab.activation("wrong_slope")).failures() if r.check.startswith("gradcheck")]
    # where autograd (3x) and finite differences (2x) part, said in full
    assert gradcheck.detail.endswith("differs from finite differences at x = -3.9877: -11.9631 against -7.9754")
    # a built-in whose claimed properties are wrong
    claimed = REGISTRY.get("tanh")
    import dataclasses

    REGISTRY._specs["tanh"] = dataclasses.replace(
        claimed, properties=dataclasses.replace(claimed.properties, monotonic=False)
    )
    assert failing(actlab.activation("tanh")) == {"properties"}
    REGISTRY._specs["tanh"] = claimed
    result = runner.invoke(app, ["check", "tanh", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["passed"]


def test_gated_and_learnable_built_ins_pass_their_checks():
    from actlab.verify.check import check

    for name in ("glu", "prelu", "rrelu", "snake"):
        report = check(actlab.activation(name))
        assert report.passed, [r.detail for r in report.failures()]


def test_user_activations_work_everywhere(registry, tmp_path):
    """show, plot, the stacked engine with others, fused kernels."""
    act = actlab.define("everywhere", "x * atan(softplus(x))")
    out = tmp_path / "p.png"
    assert runner.invoke(app, ["plot", "everywhere", "relu", "-o", str(out)]).exit_code == 0 and out.exists()
    shown = runner.invoke(app, ["show", "everywhere"]).output
    assert "user-defined" in shown and "atan" in shown
    fused = act.module(fused=True)
    x = torch.linspace(-5, 5, 64)
    torch.testing.assert_close(fused(x), act.module()(x))
    setup = dict(dataset="digits", epochs=1, batch_size=64, train_subset=200, test_subset=100, dtype="float64")
    configs = [RunConfig(activation=a, seed=s, **setup) for a, s in (("everywhere", 0), ("relu", 1))]
    together = train_runs(configs, group="all", record_steps=True)
    alone = train_runs(configs, group="none", record_steps=True)
    for t, a in zip(together, alone, strict=True):
        np.testing.assert_allclose(t.step_losses, a.step_losses, rtol=1e-10)
    assert sys.modules.get("actlab.catalog.formula") is not None


def test_the_readme_s_example_plugin_file_passes_its_checks(registry):
    from pathlib import Path

    from actlab.verify.check import check

    example = Path(__file__).parents[2] / "examples" / "my_acts.toml"
    result = runner.invoke(app, ["list", "--plugins", str(example)])
    assert result.exit_code == 0 and "atan_softplus" in result.output and "serf_alpha" in result.output
    for name in ("atan_softplus", "serf_alpha"):
        report = check(actlab.activation(name))
        assert report.passed, [r.detail for r in report.failures()]
    shown = runner.invoke(app, ["show", "atan_softplus"]).output
    assert "reference: none given" in shown and "defined in:" in shown


def test_the_readme_s_example_experiment_defines_its_activation_and_runs(registry, tmp_path, idx_data_dir):
    from pathlib import Path

    example = Path(__file__).parents[2] / "examples" / "my_activation_mnist.toml"
    store = str(tmp_path / "runs.db")
    quick = ["run", str(example), "--quick", "--store", store, "--data-dir", str(idx_data_dir), "--json"]
    result = runner.invoke(app, quick)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["done"] == 12
    assert REGISTRY.get("atan_softplus").user_defined


def test_slow_growth_is_unbounded_and_a_settling_tail_is_not(registry):
    """log grows past any bound, though only to ~691 at 1e300; 1 - 1/log(e + x) settles on 1 just as slowly."""
    from actlab.verify.check import check

    slow = actlab.define("log_abs", "log1p(abs(x))")
    assert slow.spec.properties.range == (0.0, float("inf"))
    assert check(slow).passed  # f(±inf) = inf is right: the true value is not finite
    settling = actlab.define("settling", "x / (1 + abs(x)) - 1 / log(E + abs(x))")
    assert settling.spec.properties.range[1] < 1
