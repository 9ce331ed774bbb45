"""The catalog against the libraries people use: PyTorch's kernels, Keras 3 (run here on its torch
backend), and the formulas of Keras 2, TF Addons, timm and Hugging Face; plus SELU's constants derived
from their defining equations."""

import math

import keras
import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import actlab
from actlab.catalog.rectifiers import SELU_ALPHA, SELU_SCALE

# Moderate inputs avoiding every kink (library conventions at kinks are checked in test_kinks below).
X = np.array(
    [-37.7, -9.87, -4.61, -2.73, -1.41, -0.77, -0.31, -0.07, 0.11, 0.43, 0.89, 1.37, 2.29, 3.33, 5.55, 8.91, 19.7, 42.4]
)


def _torch_value_and_grad(fn, x: np.ndarray):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = fn(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


def _assert_matches(name: str, params: dict, fn, x: np.ndarray = X, rtol: float = 1e-13, atol: float = 1e-15):
    act = actlab.activation(name, **params)
    y, g = _torch_value_and_grad(fn, x)
    np.testing.assert_allclose(act(x), y, rtol=rtol, atol=atol, err_msg=f"{name}{params} forward")
    np.testing.assert_allclose(act.derivative(x), g, rtol=rtol, atol=atol, err_msg=f"{name}{params} derivative")


NATIVE_CASES = [(n, {}) for n in actlab.names() if actlab.spec(n).native is not None and not actlab.spec(n).gated] + [
    ("relu", {"max_value": 4.0}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.5}),
    ("softplus", {"beta": 2.0, "threshold": 10.0}),
    ("hardtanh", {"min_val": -2.0, "max_val": 3.0}),
    ("hardshrink", {"lambd": 1.0}),
    ("softshrink", {"lambd": 0.25}),
    ("threshold", {"threshold": 1.0, "value": -3.0}),
]


@pytest.mark.parametrize("name,params", NATIVE_CASES, ids=lambda v: str(v))
def test_native_kernel_equals_definition(name, params):
    """Every native fast path computes the catalog's function (and derivative)."""
    spec = actlab.spec(name)
    act = actlab.activation(name, **params)
    if not spec.native.applies(act.params):
        pytest.skip("the native kernel does not apply to these parameters")
    module = act.module(learnable=False).double().eval()
    native_params = {
        k: (torch.tensor(v, dtype=torch.float64) if k in spec.learnable_params else v) for k, v in act.params.items()
    }
    # Inexact natives differ in the far tails or, for hardsigmoid, by its float32 1/6 in float64 backward.
    atol = 1e-12 if spec.native.exact else 1e-7
    _assert_matches(name, params, lambda t: spec.native.fn(F, t, native_params), atol=atol)
    _assert_matches(name, params, module, atol=atol)


@pytest.mark.parametrize("name", [n for n in actlab.names() if actlab.spec(n).native is not None])
def test_exact_flag_is_honest(name):
    """Natives flagged exact match on ±inf and deep tails too; the others must really be inexact
    somewhere (else they should be flagged exact and used by the functional path)."""
    spec = actlab.spec(name)
    act = actlab.activation(name)
    extremes = np.array(
        [-np.inf, -1e4, -700.0, -300.0, -50.0, -20.0, -1e-3, 1e-3, 20.0, 50.0, 300.0, 700.0, 1e4, np.inf]
    )
    if spec.gated:
        extremes = np.concatenate([np.resize([1.5, -2.0], extremes.size), extremes])
    native_params = {
        k: (torch.tensor(v, dtype=torch.float64) if k in spec.learnable_params else v) for k, v in act.params.items()
    }
    t = torch.tensor(extremes, dtype=torch.float64, requires_grad=True)
    y = spec.native.fn(F, t, native_params)
    (g,) = torch.autograd.grad(y.sum(), t)
    y_ok = np.allclose(y.detach().numpy(), act(extremes), rtol=1e-12, atol=0, equal_nan=False)
    finite = np.isfinite(extremes)
    g_ok = np.allclose(g.numpy()[finite], act.derivative(extremes)[finite], rtol=1e-12, atol=0)
    assert (y_ok and g_ok) == spec.native.exact


# Keras 3 activations (keras.activations.*), each with the catalog entry and parameters it equals.
KERAS_CASES = [
    ("relu", {}, lambda t: keras.activations.relu(t)),
    (
        "relu",
        {"negative_slope": 0.1, "max_value": 3.0, "threshold": 1.0},
        lambda t: keras.activations.relu(t, negative_slope=0.1, max_value=3.0, threshold=1.0),
    ),
    ("relu", {"max_value": 6.0}, lambda t: keras.activations.relu(t, max_value=6.0)),
    ("relu6", {}, keras.activations.relu6),
    ("leaky_relu", {"negative_slope": 0.2}, lambda t: keras.activations.leaky_relu(t, negative_slope=0.2)),
    ("elu", {"alpha": 0.7}, lambda t: keras.activations.elu(t, alpha=0.7)),
    ("selu", {}, keras.activations.selu),
    ("celu", {"alpha": 1.5}, lambda t: keras.activations.celu(t, alpha=1.5)),
    ("gelu", {}, lambda t: keras.activations.gelu(t, approximate=False)),
    ("gelu_tanh", {}, lambda t: keras.activations.gelu(t, approximate=True)),
    ("silu", {}, keras.activations.silu),
    ("swish", {}, keras.activations.swish),
    ("mish", {}, keras.activations.mish),
    ("hard_swish", {}, keras.activations.hard_silu),
    ("hard_sigmoid", {}, keras.activations.hard_sigmoid),  # via F.hardsigmoid: float32 1/6 in its backward
    ("sigmoid", {}, keras.activations.sigmoid),
    ("tanh", {}, keras.activations.tanh),
    ("softsign", {}, keras.activations.softsign),
    ("softplus", {"threshold": None}, keras.activations.softplus),
    ("log_sigmoid", {}, keras.activations.log_sigmoid),
    ("exponential", {}, keras.activations.exponential),
    ("linear", {}, keras.activations.linear),
    ("hardtanh", {}, keras.activations.hard_tanh),
    ("hardshrink", {"lambd": 0.5}, lambda t: keras.activations.hard_shrink(t, threshold=0.5)),
    ("softshrink", {"lambd": 0.5}, lambda t: keras.activations.soft_shrink(t, threshold=0.5)),
    ("tanhshrink", {}, keras.activations.tanh_shrink),
    ("threshold", {"threshold": 0.3, "value": -1.0}, lambda t: keras.activations.threshold(t, 0.3, -1.0)),
    ("squareplus", {"b": 4.0}, lambda t: keras.activations.squareplus(t, b=4)),
    ("sparse_plus", {}, keras.activations.sparse_plus),
    ("sparse_sigmoid", {}, keras.activations.sparse_sigmoid),
]


@pytest.mark.parametrize("name,params,fn", KERAS_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_equals_keras3(name, params, fn):
    # Keras' own float64 kernels are naive compositions; 1e-10 absolute covers their tail cancellation.
    _assert_matches(name, params, fn, rtol=1e-12, atol=1e-7 if name == "hard_sigmoid" else 1e-10)


def test_glu_equals_keras3_and_pytorch():
    x = np.concatenate([X, X[::-1] * 0.37])
    act = actlab.activation("glu")
    for fn in (lambda t: keras.activations.glu(t, axis=-1), lambda t: F.glu(t, dim=-1)):
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        y = fn(t)
        (g,) = torch.autograd.grad(y.sum(), t)
        np.testing.assert_allclose(act(x), y.detach().numpy(), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(act.derivative(x), g.numpy(), rtol=1e-12, atol=1e-12)


# Formulas of libraries without a kernel we can run here, transcribed from their sources.
TRANSCRIBED = [
    ("hard_sigmoid_classic", {}, lambda t: torch.clamp(0.2 * t + 0.5, 0.0, 1.0)),  # Keras 2 backend
    ("hard_sigmoid", {"slope": 0.2}, lambda t: torch.clamp(0.2 * t + 0.5, 0.0, 1.0)),
    ("lisht", {}, lambda t: t * torch.tanh(t)),  # TF Addons
    ("snake", {"a": 2.0}, lambda t: t + (1 - torch.cos(2 * 2.0 * t)) / (2 * 2.0)),  # TF Addons snake(frequency)
    ("rrelu", {}, lambda t: torch.where(t >= 0, t, t * (0.125 + 1 / 3) / 2)),  # TF Addons rrelu, evaluation
    ("quick_gelu", {}, lambda t: t * torch.sigmoid(1.702 * t)),  # Hugging Face QuickGELUActivation
    ("squared_relu", {}, lambda t: torch.square(F.relu(t))),  # Hugging Face ReLUSquaredActivation
    (
        "laplace",
        {"mu": 0.707107, "sigma": 0.282095},  # Hugging Face LaplaceActivation
        lambda t: 0.5 * (1.0 + torch.erf((t - 0.707107) / (0.282095 * math.sqrt(2.0)))),
    ),
    ("hard_mish", {}, lambda t: 0.5 * t * (t + 2).clamp(min=0, max=2)),  # timm
    ("star_relu", {"scale": 1.0, "bias": 0.0}, lambda t: 1.0 * F.relu(t) ** 2 + 0.0),  # timm defaults
    (
        "xielu",
        {},
        lambda t: torch.where(  # Hugging Face XIELUActivation with its default initialisation
            t > 0, 0.8 * t * t + 0.5 * t, (torch.expm1(torch.clamp(t, max=-1e-6)) - t) * 0.8 + 0.5 * t
        ),
    ),
    ("sinc", {}, lambda t: torch.sinc(t / math.pi)),  # torch.sinc is the normalised sinc
]


@pytest.mark.parametrize("name,params,fn", TRANSCRIBED, ids=lambda v: v if isinstance(v, str) else "")
def test_equals_transcribed_library_formulas(name, params, fn):
    _assert_matches(name, params, fn, rtol=1e-12, atol=1e-12)


def test_selu_constants_make_the_fixed_point():
    """α and λ are the values for which N(0, 1) inputs give zero-mean, unit-variance outputs (Klambauer et
    al., eq. 14), and match the published 1.6732632423543772848170429916717 / 1.0507009873554804934…"""
    with mpmath.workdps(40):
        a, lam = mpmath.mpf("1.6732632423543772848170429916717"), mpmath.mpf("1.0507009873554804934193349852946")

        def selu(x):
            return lam * (x if x > 0 else a * (mpmath.exp(x) - 1))

        pdf = lambda x: mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        mean = mpmath.quad(lambda x: selu(x) * pdf(x), [-mpmath.inf, 0, mpmath.inf])
        second = mpmath.quad(lambda x: selu(x) ** 2 * pdf(x), [-mpmath.inf, 0, mpmath.inf])
        assert abs(mean) < 1e-30 and abs(second - 1) < 1e-30
        assert float(a) == SELU_ALPHA and float(lam) == SELU_SCALE
    assert torch.nn.functional.selu(torch.tensor([-1.0], dtype=torch.float64)).item() == pytest.approx(
        float(lam * a * (mpmath.exp(-1) - 1)), rel=1e-15
    )


def test_kinks_follow_pytorch_conventions():
    """Where a function has a kink, the derivative takes PyTorch's choice."""
    cases = [
        ("relu", 0.0),
        ("relu6", 0.0),
        ("relu6", 6.0),
        ("leaky_relu", 0.0),
        ("elu", 0.0),
        ("selu", 0.0),
        ("hard_sigmoid", -3.0),
        ("hard_sigmoid", 3.0),
        ("hard_swish", -3.0),
        ("hard_swish", 3.0),
        ("hardtanh", -1.0),
        ("hardtanh", 1.0),
        ("hardshrink", 0.5),
        ("hardshrink", -0.5),
        ("softshrink", 0.5),
        ("threshold", 0.0),
        ("prelu", 0.0),
        ("rrelu", 0.0),
        ("softplus", 20.0),
    ]
    for name, x in cases:
        spec = actlab.spec(name)
        act = actlab.activation(name)
        native_params = {
            k: (torch.tensor(v, dtype=torch.float64) if k in spec.learnable_params else v)
            for k, v in act.params.items()
        }
        _, g = _torch_value_and_grad(lambda t, spec=spec, p=native_params: spec.native.fn(F, t, p), np.array([x]))
        assert act.derivative(np.array([x]))[0] == pytest.approx(g[0], rel=1e-7), (name, x)
