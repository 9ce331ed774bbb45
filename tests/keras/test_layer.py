"""actlab.keras.Activation: learned parameters as layer weights (per channel, channels-last), stochastic activations
sampling in training only, gated ones splitting the last axis; and training through it."""

import keras
import numpy as np
import pytest
import torch
from keras import layers

import actlab
import actlab.keras as ak
from actlab import ActivationError
from actlab.keras.layer import Activation as Layer

LEARNABLE = [name for name in actlab.names() if actlab.activation(name).learned_params]


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().numpy()


@pytest.mark.parametrize("name", LEARNABLE)
def test_weights_and_their_gradients_match_the_torch_module(name):
    """One weight per channel (the last axis) where the torch module learns one per channel (its dimension 1, the
    last axis of (N, C)), the same forward and the same gradients (test_gradient: every parameter, the far tails)."""
    channels = 3
    keras_layer = ak.Activation(name)
    x = torch.tensor(np.linspace(-4, 4, 8 * channels).reshape(8, channels), dtype=torch.float32)
    y = keras_layer(x)
    vector = [n for n in keras_layer.learned if isinstance(actlab.activation(name).params[n], tuple)]
    module = actlab.activation(name).module(num_parameters=1 if vector else channels)
    np.testing.assert_allclose(_numpy(y), _numpy(module(x)), rtol=1e-6, atol=1e-6)
    weights = {w.name: w for w in keras_layer.weights}
    assert list(weights) == list(module.learned) == list(keras_layer.learned)
    grads = torch.autograd.grad(y.sum(), [w.value for w in weights.values()])
    expected = torch.autograd.grad(module(x).sum(), [getattr(module, n) for n in module.learned])
    for n, got, want in zip(weights, grads, expected, strict=True):
        assert tuple(got.shape) == tuple(want.shape) == ((channels,) if n not in vector else want.shape)
        np.testing.assert_allclose(_numpy(got), _numpy(want), rtol=1e-5, atol=1e-5, err_msg=n)


def test_channel_wise_is_the_last_axis_and_can_be_off():
    per_channel = ak.Activation("prelu")
    per_channel.build((None, 4, 4, 3))
    (slopes,) = per_channel.weights
    slopes.assign(np.array([0.1, 0.2, 0.3], dtype=np.float32))
    y = per_channel(-np.ones((2, 4, 4, 3), dtype=np.float32))
    np.testing.assert_allclose(_numpy(y)[0, 1, 2], [-0.1, -0.2, -0.3], rtol=1e-7)
    shared = ak.Activation("prelu", a=0.1, channel_wise=False)
    shared.build((None, 3))
    assert [tuple(w.shape) for w in shared.weights] == [()]
    assert not ak.Activation("prelu", learnable=False).weights
    both = ak.Activation("xielu", learnable=True)
    both.build((None, 5))
    assert [(w.name, tuple(w.shape)) for w in both.weights] == [("alpha_p", (5,)), ("alpha_n", (5,))]


def test_keywords_are_the_activation_s_parameters_or_the_layer_s():
    layer = ak.Activation("snake", a=2.0, name="wave", trainable=False)
    assert (layer.name, layer.trainable, layer.act.params) == ("wave", False, {"a": 2.0})
    with pytest.raises(ActivationError, match="snake has no parameter 'b'"):
        ak.Activation("snake", b=2.0)
    with pytest.raises(ActivationError, match="relu cannot learn a; learnable parameters: none"):
        ak.Activation("relu", learnable=["a"])


def test_rrelu_samples_in_training_and_takes_the_mean_slope_otherwise():
    x = -np.ones((200, 4), dtype=np.float32)
    layer = ak.Activation("rrelu", seed=7)
    slopes = -_numpy(layer(x, training=True))
    assert 1 / 8 <= slopes.min() < slopes.max() <= 1 / 3 and np.unique(slopes).size > 100
    np.testing.assert_allclose(_numpy(layer(x)), -(1 / 8 + 1 / 3) / 2 * np.ones_like(x), rtol=1e-7)
    np.testing.assert_array_equal(_numpy(layer(x, training=False)), _numpy(ak.activation("rrelu")(x)))
    again = ak.Activation("rrelu", seed=7)
    np.testing.assert_array_equal(-_numpy(again(x, training=True)), slopes)


def test_gated_layers_split_the_last_axis():
    inputs = keras.Input((3, 8))
    outputs = ak.Activation("maxout:k=4")(inputs)
    assert tuple(outputs.shape) == (None, 3, 2)
    x = np.random.default_rng(0).normal(size=(2, 3, 8)).astype(np.float32)
    np.testing.assert_array_equal(_numpy(keras.Model(inputs, outputs)(x)), x.reshape(2, 3, 4, 2).max(axis=2))
    with pytest.raises(ActivationError, match="glu splits dimension -1 into 2 equal chunks, but it has size 5"):
        ak.Activation("glu")(np.ones((2, 5), dtype=np.float32))


def test_mixed_precision_computes_in_float32_with_float32_weights():
    layer = ak.Activation("snake", dtype="mixed_float16")
    x = np.linspace(-3, 3, 12, dtype=np.float16).reshape(4, 3)
    y = layer(x)
    assert y.dtype == torch.float16 and layer.weights[0].dtype == "float32"
    np.testing.assert_array_equal(_numpy(y), _numpy(actlab.activation("snake")(torch.tensor(x))))


def test_training_lowers_the_loss_and_learns_the_parameters():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype(np.float32)
    y = np.sin(x @ rng.normal(size=(4, 1))).astype(np.float32)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(16, activation=ak.activation("mish")),
            layers.Dense(16),
            Layer("soft_root_sign"),
            layers.Dense(8),
            Layer("rrelu", seed=1),
            layers.Dense(1),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), "mse")
    before = [_numpy(w.value).copy() for w in model.layers[2].weights]
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]
    for old, new in zip(before, model.layers[2].weights, strict=True):
        assert np.abs(_numpy(new.value) - old).max() > 1e-3
