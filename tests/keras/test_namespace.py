"""Every catalog activation's own formula, run on Keras tensors through KerasNamespace, gives actlab's torch path's
values in every dtype; and the backend's autodiff of it gives the spec's derivatives, where the gradient is left to
autodiff (test_gradient: the spec's derivative is the gradient everywhere else)."""

import math

import numpy as np
import pytest
import torch

import actlab
import actlab.keras as ak
from actlab.keras import evaluate, special

BUILTINS = [name for name in actlab.names() if not actlab.spec(name).user_defined]
# Moderate inputs off every kink, the far tails, the infinities and NaN; an even count, for the gated activations.
GRID = np.concatenate(
    [np.linspace(-30, 30, 600) + 0.0123, [-1e4, -700.0, -100.0, 0.0, 100.0, 700.0, 1e4, -np.inf, np.inf, np.nan]]
)
# How far each dtype may be from the torch path: float32 and float64 to a few ulps (PyTorch's own kernels for
# softplus, selu and log-sigmoid round differently), the narrow types exactly (both compute in float32 and round).
TOLERANCE = {torch.float32: 1e-6, torch.float64: 1e-15, torch.float16: 0.0, torch.bfloat16: 0.0}


@pytest.mark.parametrize("dtype", list(TOLERANCE), ids=str)
@pytest.mark.parametrize("name", BUILTINS)
def test_every_activation_equals_the_torch_path(name, dtype):
    """None needs skipping: keras.ops expresses every formula. rrelu is deterministic here (its mean slope), as a
    function is in Keras; the layer samples in training (test_layer)."""
    x = torch.tensor(GRID, dtype=dtype)
    expected = actlab.activation(name)(x)
    got = ak.activation(name)(x)
    assert got.dtype == dtype
    np.testing.assert_allclose(
        got.detach().double().numpy(),
        expected.detach().double().numpy(),
        rtol=TOLERANCE[dtype],
        atol=1e-300,
        equal_nan=True,
        err_msg=f"{name} in {dtype}",
    )


def _autodiff(name: str, x: torch.Tensor) -> torch.Tensor:
    """f(x) with the backend's autodiff of the formula as its gradient, not the spec's derivative."""
    act = actlab.activation(name)
    return evaluate.forward(act.spec, act.params, x, spec_gradient=False)


@pytest.mark.parametrize("name", BUILTINS)
def test_autodiff_of_the_formula_gives_the_spec_s_derivative(name):
    """The namespace is fit for autodiff too (rrelu's sampled formula, a user's tensor parameters without a
    derivative): off the kinks, where conventions differ (the catalog takes PyTorch's choice, autodiff its own)."""
    x = torch.tensor(GRID[:600], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(_autodiff(name, x).sum(), x)
    expected = actlab.activation(name).derivative(x.detach())
    np.testing.assert_allclose(grad.numpy(), expected.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)


SMOOTH_AT_ZERO = [
    name for name in BUILTINS if actlab.spec(name).properties.smooth and 0.0 not in actlab.spec(name).properties.kinks
]


@pytest.mark.parametrize("name", SMOOTH_AT_ZERO)
def test_autodiff_is_right_at_exactly_zero(name):
    """Where a factor of x·g(x) (or a gate) is exactly 0, the product's other factor still has its derivative."""
    values = [0.0, 1.3, 1.1, 0.0] if actlab.spec(name).gated else [0.0]  # gated: (value, gate) = (0, 1.1), (1.3, 0)
    x = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(_autodiff(name, x).sum(), x)
    expected = actlab.activation(name).derivative(x.detach())
    np.testing.assert_allclose(grad.numpy(), expected.numpy(), rtol=1e-12, atol=1e-300, err_msg=name)


def test_ties_split_the_gradient_and_relu_follows_pytorch_at_zero():
    """maximum/minimum pass half the gradient to each argument at ties (softplus' slope 1/2 at 0 depends on it) and
    keep float64 (ops.maximum computes it in float32); relu's slope at 0 is PyTorch's 0."""
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(_autodiff("softplus", x).sum(), x)
    assert grad.item() == 0.5
    (grad,) = torch.autograd.grad(ak.KERAS.relu(x).sum(), x)
    assert grad.item() == 0.0
    a = torch.tensor([1.0, math.nan, 2.0, -math.inf], dtype=torch.float64)
    b = torch.tensor([1.0 + 2**-40, 0.0, math.nan, -math.inf], dtype=torch.float64)
    top, bottom = ak.KERAS.maximum(a, b), ak.KERAS.minimum(a, b)
    assert top.dtype == bottom.dtype == torch.float64
    np.testing.assert_array_equal(top.numpy(), [1.0 + 2**-40, math.nan, math.nan, -math.inf])
    np.testing.assert_array_equal(bottom.numpy(), [1.0, math.nan, math.nan, -math.inf])


def test_erfc_fallback_keeps_float32_precision_in_the_tails():
    """Keras without ops.erfc gets special.erfc: 1 - erf would be 0 beyond x ≈ 4 in float32."""
    x = torch.tensor(np.concatenate([np.linspace(-6, 9.0, 1501), [-np.inf, np.inf]]), dtype=torch.float32)
    got = special.erfc(x).double().numpy()
    expected = torch.special.erfc(x.double()).numpy()
    np.testing.assert_allclose(got, expected, rtol=5e-7, atol=0)  # 4 ulps
