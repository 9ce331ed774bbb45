"""The public contract: names(), spec(), activation(), errors, and what every spec must document."""

import numpy as np
import pytest
import torch

import actlab
from actlab import ActivationError

REQUIRED = [
    "linear",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softsign",
    "relu",
    "relu6",
    "leaky_relu",
    "prelu",
    "rrelu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "gelu_tanh",
    "quick_gelu",
    "softplus",
    "silu",
    "swish",
    "hard_swish",
    "mish",
    "hard_mish",
    "tanhexp",
    "serf",
    "smish",
    "logish",
    "lisht",
    "elish",
    "hard_elish",
    "isru",
    "isrlu",
    "bent_identity",
    "squareplus",
    "sparse_plus",
    "sparse_sigmoid",
    "log_sigmoid",
    "hardtanh",
    "hardshrink",
    "softshrink",
    "tanhshrink",
    "threshold",
    "exponential",
    "snake",
    "sinc",
    "sine",
    "gaussian",
    "gcu",
    "laplace",
    "squared_relu",
    "star_relu",
    "sqrt_softplus",
    "xielu",
    "elliott",
    "arctan",
    "soft_root_sign",
    "pdelu",
    "srelu",
    "apl",
    "pau",
    "tlu",
    "maxout",
    "glu",
    "swiglu",
    "geglu",
    "reglu",
]


def test_names_cover_the_catalog():
    names = actlab.names()
    assert names == sorted(names)
    assert set(REQUIRED) <= set(names)
    assert len(names) >= 66
    assert "hard_sigmoid_classic" in names  # the Keras 2 hard sigmoid, by name


@pytest.mark.parametrize(
    "alias,canonical",
    [
        ("LeakyReLU", "leaky_relu"),
        ("leaky-relu", "leaky_relu"),
        ("HARDSWISH", "hard_swish"),
        ("hard_silu", "hard_swish"),
        ("SiLU", "silu"),
        ("Identity", "linear"),
        ("gelu_new", "gelu_tanh"),
        ("gelu_pytorch_tanh", "gelu_tanh"),
        ("relu2", "squared_relu"),
        ("Hardsigmoid", "hard_sigmoid"),
        ("keras2_hard_sigmoid", "hard_sigmoid_classic"),
        ("soft_shrink", "softshrink"),
        ("hard_tanh", "hardtanh"),
        ("LogSigmoid", "log_sigmoid"),
        ("StarReLU", "star_relu"),
        ("QuickGELU", "quick_gelu"),
        ("swish", "swish"),
        ("PReLU", "prelu"),
        ("Mish", "mish"),
        ("xIELU", "xielu"),
    ],
)
def test_aliases_resolve_case_insensitively(alias, canonical):
    assert actlab.spec(alias).name == canonical
    assert actlab.activation(alias).name == canonical


def test_unknown_names_suggest_the_closest():
    with pytest.raises(ActivationError, match="did you mean.*hard_swish"):
        actlab.spec("hardswich")
    with pytest.raises(ActivationError, match="unknown activation 'relux'.*relu"):
        actlab.activation("relux")
    with pytest.raises(ActivationError, match="see `actlab list`"):
        actlab.spec("zzzzzzzz")


@pytest.mark.parametrize(
    "name,params,message",
    [
        ("hard_swish", {"n": 0}, "'n' must be > 0"),
        ("hard_swish", {"n": -2.0}, "'n' must be > 0"),
        ("rrelu", {"lower": 0.5, "upper": 0.2}, "lower .* must not exceed upper"),
        ("elu", {"alpha": -1.0}, "'alpha' must be >= 0"),
        ("celu", {"alpha": 0.0}, "'alpha' must be > 0"),
        ("relu", {"max_value": 1.0, "threshold": 2.0}, "max_value .* greater than threshold"),
        ("relu", {"slope": 0.1}, "no parameter 'slope'; its parameters are: negative_slope, max_value, threshold"),
        ("leaky_relu", {"negative_slope": "steep"}, "must be a number"),
        ("leaky_relu", {"negative_slope": float("nan")}, "must be finite"),
        ("hardtanh", {"min_val": 1.0, "max_val": 1.0}, "min_val .* less than max_val"),
        ("soft_root_sign", {"alpha": 1.0, "beta": 3.0}, "must be below e"),
        ("apl", {"a": (0.1, 0.2, 0.3)}, "one entry per hinge"),
        ("maxout", {"k": 0}, "'k' must be >= 1"),
        ("maxout", {"k": 1.5}, "must be an integer"),
        ("pdelu", {"t": 1.0}, "'t' must be < 1"),
        ("xielu", {"alpha_n": 0.4}, "must exceed beta"),
        ("linear", {"alpha": 1.0}, "has no parameter 'alpha'; its parameters are: none"),
    ],
)
def test_invalid_parameters_fail_at_creation(name, params, message):
    with pytest.raises(ActivationError, match=message):
        actlab.activation(name, **params)


def test_activation_object():
    act = actlab.activation("hard_swish", n=4)
    assert repr(act) == "activation('hard_swish', n=4.0)"
    assert act.params == {"n": 4.0}
    x = np.array([-3.0, -1.0, 1.0, 3.0], dtype=np.float32)
    np.testing.assert_allclose(act(x), [0.0, -0.25, 0.75, 3.0])
    np.testing.assert_allclose(act.derivative(x), [0.0, 0.0, 1.0, 1.0])
    t = torch.tensor([1.0], requires_grad=True)
    act(t).backward()
    assert t.grad.item() == 1.0
    assert isinstance(act.module(), torch.nn.Module)
    assert actlab.activation("hard_sigmoid", slope=0.2)(np.array([2.5]))[0] == 1.0


@pytest.mark.parametrize("name", actlab.names())
def test_every_spec_is_documented(name):
    spec = actlab.spec(name)
    assert spec.summary and spec.formula and spec.derivative_formula
    assert spec.reference.title and spec.reference.year and spec.reference.cite()
    assert spec.family
    assert all(p.doc for p in spec.params)
    assert spec.defaults() == spec.resolve({})  # defaults satisfy their own constraints
