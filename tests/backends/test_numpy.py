"""The NumPy backend: dtypes in and out, agreement with the torch backend, stochastic training mode."""

import numpy as np
import pytest
import torch

import actlab
from actlab.catalog.spec import ActivationError
from tests.catalog.helpers import ALL


@pytest.mark.parametrize("name", ALL)
def test_numpy_and_torch_agree(name):
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 4.0, size=(6, 8))
    act = actlab.activation(name)
    t = torch.tensor(x)
    # Same formulas; only the libm behind tanh, erfc, … differs (by ~1e-16, amplified where terms cancel).
    np.testing.assert_allclose(act(x), act(t).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(act.derivative(x), act.derivative(t).numpy(), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtype_is_preserved(name, dtype):
    x = np.linspace(-3, 3, 12).astype(dtype)
    act = actlab.activation(name)
    assert act(x).dtype == dtype and act.derivative(x).dtype == dtype


def test_other_inputs():
    relu = actlab.activation("relu")
    assert relu([-1, 2]).dtype == np.float64 and relu([-1, 2]).tolist() == [0.0, 2.0]
    assert relu(np.arange(3)).dtype == np.float64
    assert float(relu(2.5)) == 2.5 and relu(2.5).shape == ()
    with pytest.raises(ActivationError, match="floating-point"):
        relu(np.array([1 + 2j]))
    with pytest.raises(ActivationError, match="equal chunks"):
        actlab.activation("swiglu")(np.ones(5))


def test_stochastic_training_mode():
    act = actlab.activation("rrelu", lower=0.1, upper=0.4)
    x = np.concatenate([-np.linspace(0.5, 3.0, 1000), np.linspace(0.5, 3.0, 1000)])
    y, d = act.train_forward(x, np.random.default_rng(7))
    y2, _ = act.train_forward(x, np.random.default_rng(7))
    np.testing.assert_array_equal(y, y2)
    negative = x < 0
    np.testing.assert_allclose(y[negative], x[negative] * d[negative])
    assert d[negative].min() >= 0.1 and d[negative].max() <= 0.4 and d[negative].std() > 0.05
    np.testing.assert_array_equal(y[~negative], x[~negative])
    np.testing.assert_array_equal(act(x), np.where(negative, x * 0.25, x))  # evaluation mode
    assert act(x, training=True, rng=np.random.default_rng(7)).tolist() == y.tolist()


@pytest.mark.parametrize("name", ["relu", "glu"])
def test_deterministic_activations_train_as_they_evaluate(name):
    deterministic = actlab.activation(name)
    z = np.linspace(-2, 2, 8)
    out, slope = deterministic.train_forward(z)
    np.testing.assert_array_equal(out, deterministic(z))
    np.testing.assert_array_equal(slope, deterministic.derivative(z))
