"""Architecture strings, shapes and initialisation."""

import numpy as np
import pytest
import torch

import actlab
from actlab.models.batched import StackedNetwork
from actlab.models.spec import ModelError, init_weights, parse_model, run_streams, weight_shapes


def test_parse_and_shapes():
    mlp = parse_model("mlp:100,50")
    assert str(mlp) == "mlp:100,50"
    assert [s for _, s in weight_shapes(mlp, (1, 28, 28), 10).weights] == [(100, 784), (50, 100), (10, 50)]
    cifar = parse_model("cnn:32,p,64,p")  # Conv32-Pool-Conv64-Pool-Dense10 on 32×32×3
    assert [s for _, s in weight_shapes(cifar, (3, 32, 32), 10).weights] == [
        (32, 3, 3, 3),
        (64, 32, 3, 3),
        (10, 64 * 6 * 6),
    ]
    mnist = parse_model("cnn:32,p,64,p,64")  # Conv32-Pool-Conv64-Pool-Conv64 on 28×28×1
    assert [s for _, s in weight_shapes(mnist, (1, 28, 28), 10).weights][-1] == (10, 64 * 3 * 3)
    assert str(parse_model("cnn:8,p,d16")) == "cnn:8,p,d16"
    with pytest.raises(ModelError, match="too small"):
        weight_shapes(parse_model("cnn:8,p,8,p,8"), (1, 8, 8), 10)
    with pytest.raises(ModelError, match="unknown model"):
        parse_model("resnet:18")


@pytest.mark.parametrize(
    "scheme,std",
    [
        ("he_normal", np.sqrt(2 / 400)),
        ("glorot_normal", np.sqrt(2 / 600)),
        ("lecun_normal", np.sqrt(1 / 400)),
        ("he_uniform", np.sqrt(2 / 400)),
    ],
)
def test_initialisation_scales(scheme, std):
    shapes = weight_shapes(parse_model("mlp:200"), (400,), 10)
    w = init_weights(shapes, scheme, np.random.default_rng(0))[0]
    assert w.shape == (200, 400) and abs(w.std() / std - 1) < 0.02


def test_streams_are_independent_of_each_other_and_reproducible():
    a = [g.integers(0, 2**31, 4).tolist() for g in run_streams(7)]
    b = [g.integers(0, 2**31, 4).tolist() for g in run_streams(7)]
    assert a == b and len({tuple(stream) for stream in a}) == 3  # init, order and noise streams all differ


def test_stacked_network_output_shapes():
    spec = parse_model("cnn:4,p,6")
    shapes = weight_shapes(spec, (3, 12, 12), 5)
    acts = [actlab.activation("relu"), actlab.activation("prelu"), actlab.activation("gelu")]
    weights = [init_weights(shapes, "he_normal", np.random.default_rng(i)) for i in range(3)]
    net = StackedNetwork(spec, shapes, acts, weights)
    assert net(torch.randn(3, 7, 3, 12, 12)).shape == (3, 7, 5)  # each model its own batch
    assert net(torch.randn(7, 3, 12, 12)).shape == (3, 7, 5)  # one batch shared by all
