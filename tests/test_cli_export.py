"""`actlab export`: the exported module, imported on its own, computes what the catalog does."""

import importlib.util
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import actlab
from actlab.cli import app

X = np.concatenate([np.linspace(-12, 12, 97) + 0.0123, [-100.0, -40.5, 40.5]])
CASES = ["golu", "aptx:alpha=0.5:gamma=1", "sqnl", "shifted_softplus", "expb_export"]


def exported(tmp_path, activation: str, target: str):
    path = tmp_path / f"{target}_{abs(hash(activation))}.py"
    done = CliRunner().invoke(app, ["export", activation, "--to", target, "-o", str(path), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["check_passed"] is True
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path.read_text()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """A cache of its own, and a user formula with a factor of its parameter alone (torch.exp(0.5) is an error)."""
    from actlab.catalog import REGISTRY

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    state = REGISTRY.snapshot()
    actlab.define("expb_export", "exp(b)*x*tanh(x)", b=0.5)
    yield
    REGISTRY.restore(state)


@pytest.mark.parametrize("activation", CASES)
def test_exported_numpy_module_matches_the_catalog(tmp_path, activation):
    module, text = exported(tmp_path, activation, "numpy")
    act = actlab.activation(activation)
    np.testing.assert_allclose(module.forward(X), act(X), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(module.derivative(X), act.derivative(X), rtol=1e-12, atol=1e-300)
    assert "import torch" not in text and "actlab" not in text.split('"""')[-1]
    assert "passed all 6 checks" in text and act.spec.reference.cite() in text


@pytest.mark.parametrize("activation", CASES)
def test_exported_torch_module_matches_the_catalog_forward_and_backward(tmp_path, activation):
    module, _ = exported(tmp_path, activation, "torch")
    act = actlab.activation(activation)
    x = torch.tensor(X, requires_grad=True)
    name = act.spec.name
    y = getattr(module, name)(x)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), act(X), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(x.grad.numpy(), act.derivative(X), rtol=1e-12, atol=1e-300)
    x32 = torch.tensor([-100.0, 0.5], dtype=torch.float32, requires_grad=True)
    getattr(module, name.title().replace("_", ""))()(x32).sum().backward()
    assert torch.isfinite(x32.grad).all()  # GoLU's naive derivative is NaN at -100 in float32


def test_exported_jax_module_matches_the_catalog(tmp_path):
    jax = pytest.importorskip("jax", reason="jax is not installed: the JAX export is tested where it is")
    module, _ = exported(tmp_path, "golu", "jax")
    x = jax.numpy.asarray(X)
    np.testing.assert_allclose(np.asarray(module.golu(x)), actlab.activation("golu")(X), rtol=1e-6)
    grad = jax.grad(lambda t: module.golu(t).sum())(x)
    np.testing.assert_allclose(np.asarray(grad), actlab.activation("golu").derivative(X), rtol=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [(["gelu"], "hand-written"), (["golu", "--to", "tensorflow"], "use one of"), (["nope"], "unknown activation")],
)
def test_export_errors(tmp_path, args, message):
    done = CliRunner().invoke(app, ["export", *args, "-o", str(tmp_path / "a.py")])
    assert done.exit_code == 2 and message in done.output
