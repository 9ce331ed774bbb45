"""The Keras path's gradients are the spec's hand-derived derivatives, as on actlab's torch path: finite in the far
tails, where autodiff of a formula's where() would differentiate the branch not taken (elu's e^x at x = 100 overflows
float32, and inf·0 = NaN); and learned parameters' gradients are the torch module's."""

import keras
import numpy as np
import pytest
import torch

import actlab
import actlab.keras as ak
from actlab.keras import evaluate

BUILTINS = [name for name in actlab.names() if not actlab.spec(name).user_defined]
USER = ("atan_softplus", "x * atan(softplus(x))")
# Moderate inputs, exactly 0 (kinks included: both paths take the spec's convention there), tiny ones, the far
# tails and the infinities; an even count, for the gated activations. NaN is left out: derivative() returns NaN at a
# NaN input on purpose, where a gradient (on actlab's torch autograd path too) is whatever the formula gives (relu: 0).
GRID = np.concatenate(
    [
        np.linspace(-30, 30, 120) + 0.0123,
        [-1e4, -700.0, -100.0, -1e-3, 0.0, 1e-3, 1.5, 100.0, 700.0, 1e4, -np.inf, np.inf],
    ]
)
# Both compute the same formula in the same dtype; the narrow types in float32, rounded once.
TOLERANCE = {torch.float32: 1e-6, torch.float64: 1e-12, torch.float16: 0.0, torch.bfloat16: 0.0}


def _grad(fn, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad


def _check_gradient(name: str, dtype: torch.dtype) -> None:
    x = torch.tensor(GRID, dtype=dtype)
    got = _grad(ak.activation(name), x)
    expected = actlab.activation(name).derivative(x)
    assert got.dtype == dtype
    got, expected = got.double().numpy(), expected.double().numpy()
    finite = np.isfinite(expected)
    assert np.isfinite(got[finite]).all(), f"{name} in {dtype}: not finite at {GRID[finite & ~np.isfinite(got)]}"
    np.testing.assert_allclose(
        got, expected, rtol=TOLERANCE[dtype], atol=1e-300, equal_nan=True, err_msg=f"{name} in {dtype}"
    )


@pytest.mark.parametrize("dtype", list(TOLERANCE), ids=str)
@pytest.mark.parametrize("name", BUILTINS)
def test_the_gradient_is_the_torch_path_s_derivative_and_finite_where_it_is(name, dtype):
    _check_gradient(name, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_a_user_s_formula_has_its_derived_gradient_too(registry, dtype):
    actlab.define(*USER)
    _check_gradient(USER[0], dtype)


@pytest.mark.parametrize("name", ["elu", "selu", "tanhexp", "squareplus"])
def test_autodiff_of_the_formula_would_be_nan_in_the_tails(name):
    """Why the spec's derivative: the backend's autodiff of the same formula (spec_gradient=False)."""
    act = actlab.activation(name)
    x = torch.tensor([-1e4, 100.0, 1e4])
    autodiff = _grad(lambda t: evaluate.forward(act.spec, act.params, t, spec_gradient=False), x)
    assert torch.isnan(autodiff).any()
    assert torch.isfinite(_grad(ak.activation(name), x)).all()


LEARNABLE = [name for name in actlab.names() if actlab.activation(name).learned_params]
CHANNELS = 3
X = np.concatenate([np.linspace(-4, 4, 24), [-1e4, -100.0, -1e-3, 0.0, 1e-3, 100.0, 1e4, 0.5, -0.5]])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name", LEARNABLE)
def test_learned_parameters_gradients_are_the_torch_module_s(name, dtype):
    """Every learnable parameter (learnable=True), one weight per channel where the module has one per channel:
    the spec's parameter derivatives summed over the batch, on moderate inputs and the far tails."""
    layer = ak.Activation(name, learnable=True, dtype=str(dtype).removeprefix("torch."))
    x = torch.tensor(X.reshape(-1, CHANNELS), dtype=dtype, requires_grad=True)
    y = layer(x)
    vector = [n for n in layer.learned if isinstance(layer.act.params[n], tuple)]
    module = actlab.activation(name).module(learnable=True, num_parameters=1 if vector else CHANNELS, dtype=dtype)
    assert list(module.learned) == list(layer.learned) == [w.name for w in layer.weights]
    grads = torch.autograd.grad(y.sum(), [x, *(w.value for w in layer.weights)])
    x2 = x.detach().clone().requires_grad_(True)
    expected = torch.autograd.grad(module(x2).sum(), [x2, *(getattr(module, n) for n in module.learned)])
    for n, got, want in zip(["x", *layer.learned], grads, expected, strict=True):
        assert got.shape == want.shape and got.dtype == want.dtype == dtype, n
        assert torch.isfinite(got[torch.isfinite(want)]).all(), n
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-300, err_msg=f"{name}: {n}")


def test_mixed_precision_parameter_gradients_reach_the_float32_weights():
    layer = ak.Activation("snake", dtype="mixed_float16")
    x = torch.tensor(np.linspace(-3, 3, 12).reshape(4, 3), dtype=torch.float16, requires_grad=True)
    grads = torch.autograd.grad(layer(x).sum(), [x, layer.weights[0].value])
    assert grads[0].dtype == torch.float16 and grads[1].dtype == torch.float32 and grads[1].shape == (3,)
    module = actlab.activation("snake").module(num_parameters=3)
    x32 = x.detach().float().requires_grad_(True)
    expected = torch.autograd.grad(module(x32).sum(), [x32, module.a])
    np.testing.assert_allclose(grads[0].float().numpy(), expected[0].numpy(), rtol=1e-3)
    np.testing.assert_allclose(grads[1].numpy(), expected[1].numpy(), rtol=1e-3)


def test_rrelu_in_training_differentiates_its_sampled_slopes():
    """The noise is a constant of the call: the gradient of a negative input is its own sampled slope."""
    layer = ak.Activation("rrelu", seed=3)
    x = torch.full((50, 4), -2.0, requires_grad=True)
    y = layer(x, training=True)
    (grad,) = torch.autograd.grad(y.sum(), x)
    np.testing.assert_allclose(grad.numpy(), (y / x).detach().numpy(), rtol=1e-6)
    assert np.unique(grad.numpy()).size > 50


def test_second_derivatives_follow_the_spec_s_derivative():
    """torch calls the gradient with its saved inputs, so the derivative's own formula is differentiable."""
    x = torch.linspace(-3, 3, 13, dtype=torch.float64, requires_grad=True)
    for name in ("mish", "snake", "gelu"):
        (grad,) = torch.autograd.grad(ak.activation(name)(x).sum(), x, create_graph=True)
        (second,) = torch.autograd.grad(grad.sum(), x)
        (theirs,) = torch.autograd.grad(actlab.activation(name)(x).sum(), x, create_graph=True)
        (expected,) = torch.autograd.grad(theirs.sum(), x)
        np.testing.assert_allclose(second.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_the_gradient_function_takes_every_backend_s_calling_convention():
    """keras.ops.custom_gradient: torch calls ``gradient(*inputs, upstream=g)``, jax and tensorflow
    ``gradient(g)``; one gradient for x alone, a tuple with parameters."""
    act = actlab.activation("prelu")
    x = keras.ops.convert_to_tensor(np.linspace(-2, 2, 8).reshape(4, 2).astype("float32"))
    slopes = keras.ops.convert_to_tensor(np.array([0.1, 0.3], dtype="float32"))
    upstream = keras.ops.convert_to_tensor(np.arange(8).reshape(4, 2).astype("float32"))
    for params, inputs in (({"a": 0.25}, [x]), ({"a": slopes}, [x, slopes])):
        evaluation = evaluate._Evaluation(act.spec, params, "float32", "float32")
        y, gradient = evaluation.value_and_gradient(*inputs)
        torch_style, jax_style = gradient(*inputs, upstream=upstream), gradient(upstream)
        if len(inputs) == 1:
            torch_style, jax_style = (torch_style,), (jax_style,)
        assert len(torch_style) == len(jax_style) == len(inputs)
        for a, b, t in zip(torch_style, jax_style, inputs, strict=True):
            assert tuple(a.shape) == tuple(t.shape)
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    grad_x, grad_a = torch_style
    slope = np.where(x.numpy() > 0, 1.0, slopes.numpy())
    np.testing.assert_allclose(grad_x.numpy(), upstream.numpy() * slope)
    np.testing.assert_allclose(grad_a.numpy(), (upstream.numpy() * np.minimum(x.numpy(), 0)).sum(axis=0), rtol=1e-6)


def test_tensor_parameters_without_a_derivative_are_left_to_autodiff():
    """elu has no derivative for alpha: a tensor alpha is differentiated by autodiff (x's gradient with it)."""
    act = actlab.activation("elu")
    x = torch.tensor([-2.0, -0.5, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    grad_x, grad_alpha = torch.autograd.grad(evaluate.forward(act.spec, {"alpha": alpha}, x).sum(), [x, alpha])
    np.testing.assert_allclose(grad_alpha.item(), torch.expm1(x[:2]).sum().item(), rtol=1e-12)
    expected = actlab.activation("elu", alpha=1.5).derivative(x.detach())
    np.testing.assert_allclose(grad_x.numpy(), expected.numpy(), rtol=1e-12)
