"""actlab.keras.swap: a new model with actlab's activation at every hidden site, the other weights copied, the
outputs' own activations and softmax kept, and a report of each site."""

import keras
import numpy as np
import pytest
from keras import layers

import actlab.keras as ak
from actlab.keras.swap import Site

X = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)


def _out(model, x=X):
    out = model(x)
    return [o.detach().numpy() for o in out] if isinstance(out, (list, tuple)) else out.detach().numpy()


def _copy_by_name(source: keras.Model, target: keras.Model) -> None:
    for layer in target.layers:
        if layer.weights and not isinstance(layer, ak.Activation):
            for mine, theirs in zip(layer.weights, source.get_layer(layer.name).weights, strict=True):
                mine.assign(theirs.value)


def test_sequential_swap_equals_the_model_built_by_hand():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(8, activation="relu", name="d1"),
            layers.Dropout(0.2),
            layers.Dense(8, name="d2"),
            layers.ReLU(name="r2"),
            layers.Dense(8, name="d3"),
            layers.LeakyReLU(name="r3"),
            layers.Dense(6, activation="tanh", name="d4"),
            layers.Dense(3, activation="softmax", name="out"),
        ],
        name="net",
    )
    before = _out(model)
    swapped, report = ak.swap(model, "mish")
    by_hand = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(8, activation=ak.activation("mish"), name="d1"),
            layers.Dropout(0.2),
            layers.Dense(8, name="d2"),
            ak.Activation("mish"),
            layers.Dense(8, name="d3"),
            ak.Activation("mish"),
            layers.Dense(6, activation=ak.activation("mish"), name="d4"),
            layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    _copy_by_name(model, by_hand)
    np.testing.assert_array_equal(_out(swapped), _out(by_hand))
    np.testing.assert_array_equal(_out(model), before)  # the original is untouched
    assert swapped.name == "net" and swapped.get_layer("out").activation is keras.activations.softmax
    assert [str(site) for site in report.replaced] == [
        "d1: relu → mish",
        "r2: ReLU → mish",
        "r3: LeakyReLU → mish",
        "d4: tanh → mish",
    ]
    assert report.kept == (Site("out", "softmax", None, "not elementwise: never swapped"),)
    assert str(report).splitlines()[0] == "replaced 4 activation(s), kept 1"


def test_functional_swap_keeps_output_activations_and_inserts_learned_layers():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    h = layers.Dense(8, activation="relu", name="h1")(inputs)
    h = layers.Dense(8, activation="elu", name="h2")(h)
    probability = layers.Dense(1, activation="sigmoid", name="probability")(h)
    amount = layers.Activation("relu", name="amount")(layers.Dropout(0.1)(layers.Dense(1, name="linear")(h)))
    model = keras.Model(inputs, [probability, amount])
    swapped, report = ak.swap(model, "prelu")

    inputs = keras.Input((4,))
    h = ak.Activation("prelu")(layers.Dense(8, name="h1")(inputs))
    h = ak.Activation("prelu")(layers.Dense(8, name="h2")(h))
    probability = layers.Dense(1, activation="sigmoid", name="probability")(h)
    amount = layers.Activation("relu")(layers.Dropout(0.1)(layers.Dense(1, name="linear")(h)))
    by_hand = keras.Model(inputs, [probability, amount])
    _copy_by_name(model, by_hand)
    for got, expected in zip(_out(swapped), _out(by_hand), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert [str(site) for site in report.replaced] == [
        "h1: relu → prelu (as layer h1_prelu after it)",
        "h2: elu → prelu (as layer h2_prelu after it)",
    ]
    assert {site.layer for site in report.kept} == {"probability", "amount"}
    assert tuple(swapped.get_layer("h1_prelu").weights[0].shape) == (8,)  # learned per channel


def test_activations_that_are_not_elementwise_are_never_swapped():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(8, name="d"),
            ak.Activation("maxout", name="pieces"),
            layers.Dense(4, activation=ak.activation("elu"), name="e"),
            layers.Softmax(name="weights"),
            layers.Dense(2, name="out"),
        ]
    )
    swapped, report = ak.swap(model, ak.activation("mish"))
    assert [str(site) for site in report.replaced] == ["e: elu → mish"]
    assert [str(site) for site in report.kept] == [
        "pieces: maxout kept (not elementwise: never swapped)",
        "weights: Softmax kept (not elementwise: never swapped)",
    ]
    assert swapped.get_layer("pieces").act.text == "maxout" and tuple(swapped(X).shape) == (8, 2)


def test_nested_models_are_swapped_inside():
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(5, activation="relu", name="inner_dense")], name="block")
    inputs = keras.Input((4,))
    outputs = layers.Dense(2, name="head")(inner(inputs))
    model = keras.Model(inputs, outputs)
    swapped, report = ak.swap(model, "gelu")
    assert [str(site) for site in report.replaced] == ["block/inner_dense: relu → gelu"]
    hidden = swapped.get_layer("block").get_layer("inner_dense")
    assert hidden.activation == ak.activation("gelu")
    kernels = (layer.weights[0].value.detach().numpy() for layer in (hidden, inner.get_layer("inner_dense")))
    np.testing.assert_array_equal(*kernels)


def test_what_swap_refuses():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(4, activation="relu"), layers.Dense(1)])
    with pytest.raises(ak.SwapError, match="glu .* changing every layer's output shape"):
        ak.swap(model, "glu")
    with pytest.raises(ak.SwapError, match="build 'lazy' first"):
        ak.swap(keras.Sequential([layers.Dense(4, activation="relu")], name="lazy"), "mish")

    class Custom(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ak.SwapError, match="subclassed model"):
        ak.swap(Custom(), "mish")
