"""actlab.keras.activation: the catalog's activations (and users') as Keras activation functions."""

import keras
import numpy as np
import pytest
import torch

import actlab
import actlab.keras as ak
from actlab import ActivationError

X = torch.tensor(np.linspace(-6, 6, 50), dtype=torch.float32)


def _values(fn, x=X) -> np.ndarray:
    return fn(x).detach().numpy()


def test_notation_aliases_and_keywords_name_the_same_activation():
    expected = _values(actlab.activation("hard_swish", n=4))
    for fn in (
        ak.activation("hard_swish:n=4"),
        ak.activation("hard_swish", n=4),
        ak.activation("Hard-Swish:n=4"),
        ak.activation(actlab.activation("hard_swish", n=4)),
    ):
        assert fn == ak.activation("hard_swish", n=4)
        np.testing.assert_array_equal(_values(fn), expected)
    np.testing.assert_array_equal(_values(ak.activation("LeakyReLU")), _values(actlab.activation("leaky_relu")))


def test_unknown_names_and_bad_values_raise_actlab_s_error():
    with pytest.raises(ActivationError) as theirs:
        actlab.activation("mihs")
    with pytest.raises(ActivationError) as ours:
        ak.activation("mihs")
    assert str(ours.value) == str(theirs.value)
    assert str(ours.value).startswith("unknown activation 'mihs'; did you mean mish")
    with pytest.raises(ActivationError, match="hard_swish has no parameter 'm'"):
        ak.activation("hard_swish:m=4")
    with pytest.raises(ActivationError, match="must be > 0"):
        ak.activation("snake", a=0)


def test_inputs_must_be_floating_point():
    with pytest.raises(ActivationError, match="real floating-point tensors, got int32"):
        ak.activation("relu")(np.arange(4, dtype=np.int32))


def test_numpy_inputs_become_tensors():
    np.testing.assert_allclose(_values(ak.activation("mish"), X.numpy()), _values(actlab.activation("mish")))


@pytest.mark.parametrize("name", actlab.names())
def test_symbolic_inputs_build_a_functional_model(name):
    inputs = keras.Input((6,))
    outputs = ak.activation(name)(inputs)
    assert tuple(outputs.shape) == (None, 3 if actlab.spec(name).gated else 6)
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(2, 6)
    model = keras.Model(inputs, outputs)
    np.testing.assert_allclose(_values(model, x), _values(ak.activation(name), x), rtol=1e-6, atol=1e-7)


def test_the_config_builds_the_same_function_again():
    fn = ak.activation("apl", a=[0.2, -0.1], b=[0.0, 1.5])
    config = fn.get_config()
    assert config == {"activation": "apl:a=[0.2,-0.1]:b=[0.0,1.5]", "definition": None}
    assert ak.ActivationFunction.from_config(config) == fn
    assert fn.__name__ == "apl:a=[0.2,-0.1]:b=[0.0,1.5]"


def test_a_user_s_formula_runs_through_keras_too(registry):
    mine = actlab.define("atan_softplus", "x * atan(softplus(x))")
    fn = ak.activation("atan_softplus")
    x = torch.tensor(np.concatenate([np.linspace(-30, 30, 601), [-1e4, 1e4]]), dtype=torch.float32)
    np.testing.assert_allclose(_values(fn, x), _values(mine, x), rtol=1e-6, atol=1e-37)
    config = fn.get_config()
    assert config["activation"] == "atan_softplus" and config["definition"] == mine.spec.definition
    x = torch.linspace(-5, 5, 21, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    np.testing.assert_allclose(grad.numpy(), mine.derivative(x.detach()).numpy(), rtol=1e-12)
