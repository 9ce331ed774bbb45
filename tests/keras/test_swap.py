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


def _formulas(hand: bool) -> keras.Model:
    """MobileNetV3's ways of writing activations with operators on KerasTensors: hard-swish as
    ``Multiply()([x, ReLU(6.)(x + 3.) * (1. / 6.)])`` (one site), a hard-sigmoid gate (kept), a scaling (no site), an
    unrecognised formula (kept); ``hand``: the model swap should give, mish in the hard-swish's place."""
    inputs = keras.Input((4,))
    h = layers.Dense(6, name="d1")(inputs)
    h = ak.Activation("mish")(h) if hand else layers.Multiply(name="hswish")([h, layers.ReLU(6.0)(h + 3.0) * (1 / 6)])
    h = layers.Dense(6, name="d2", activation=ak.activation("mish") if hand else "relu")(h)
    gate = layers.ReLU(6.0, name="r6")(layers.Dense(6, name="dg")(h) + 3.0) * (1.0 / 6.0)
    h = layers.Multiply(name="se")([h, gate]) * 2.0
    h = layers.Dense(6, name="d3")(h)
    h = layers.ReLU(name="odd")(h) * 2.0 + h
    h = layers.Dense(6, name="d4")(h)
    h = ak.Activation("mish")(h) if hand else layers.ReLU(name="scaled")(h * 1.0)  # a formula ending in a layer
    return keras.Model(inputs, layers.Dense(2, name="out")(h))


def test_activations_written_with_operators_are_one_site_and_gates_are_kept():
    keras.backend.clear_session()  # the layers' automatic names (add_1, …) do not depend on the tests run before
    keras.utils.set_random_seed(2)
    model = _formulas(hand=False)
    swapped, report = ak.swap(model, "mish")
    assert [str(site) for site in report.replaced] == [
        "add+re_lu+multiply+hswish: x * (ReLU(6)(x + 3) * 0.166667) (≈ hard_swish) → mish (as layer hswish_mish)",
        "d2: relu → mish",  # in the order of the model's layers
        "multiply_4+scaled: ReLU(x * 1) (≈ relu) → mish (as layer scaled_mish)",
    ]
    assert [str(site) for site in report.kept] == [
        "add_1+r6+multiply_1: ReLU(6)(x + 3) * 0.166667 (≈ hard_sigmoid) kept (a gate: its output multiplies another "
        "tensor)",
        "odd+multiply_3+add_2: (ReLU(x) * 2) + x kept (not recognised as a catalog activation)",
    ]
    by_hand = _formulas(hand=True)
    _copy_by_name(model, by_hand)
    np.testing.assert_allclose(_out(swapped), _out(by_hand), rtol=1e-6, atol=1e-6)


def test_mobilenet_v3_swaps_and_keeps_its_squeeze_and_excitation_gates():
    keras.backend.clear_session()
    keras.utils.set_random_seed(3)
    model = keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3), classes=10)
    swapped, report = ak.swap(model, "mish")
    olds = [site.old for site in report.replaced]
    assert set(olds) == {"ReLU", "hard_silu"} and len(olds) == 33
    gates = [site for site in report.kept if site.note.startswith("a gate")]
    assert len(gates) == 9 and all(site.old.endswith("(≈ hard_sigmoid)") for site in gates)
    assert all("re_lu_1" not in site.layer for site in report.replaced)  # the ReLU(6.) inside a gate is no site
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype(np.float32)
    assert tuple(swapped(x).shape) == (2, 10)
    for layer in (layer for layer in model.layers if layer.weights):  # every weight copied
        for mine, theirs in zip(swapped.get_layer(layer.name).weights, layer.weights, strict=True):
            np.testing.assert_array_equal(*(w.value.detach().numpy() for w in (mine, theirs)))
