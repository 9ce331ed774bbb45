"""Hand-written backpropagation equals autograd: every optimizer, weight decay, flooding, schedules, mixed
activations (native kernels and spec formulas) in one stacked network, and which networks it covers."""

import numpy as np
import pytest
import torch

from actlab.activation import activation as parse_activation
from actlab.models.batched import StackedNetwork
from actlab.models.spec import init_weights, parse_model, weight_shapes
from actlab.train.backprop import HandBackprop, supports_hand_backprop
from actlab.train.config import RunConfig
from actlab.train.trainer import train_runs

QUICK = dict(dataset="digits", epochs=2, batch_size=64, train_subset=600, test_subset=200, dtype="float64")


def _curves(results):
    return [r.step_losses for r in results], [
        [(h.train_loss, h.train_accuracy, h.test_loss, h.test_accuracy) for h in r.history] for r in results
    ]


@pytest.mark.parametrize(
    "optimizer,extra",
    [
        ("sgd", {}),
        ("sgd", {"weight_decay": 1e-2, "flooding": 0.5, "schedule": "step:1:0.5"}),
        ("momentum", {"weight_decay": 1e-3}),
        ("nesterov", {"flooding": 0.4}),
        ("adagrad", {"lr": 0.05}),
        ("rmsprop", {"lr": 0.001}),
        ("adam", {"lr": 0.001, "schedule": "cosine"}),
    ],
)
def test_hand_backprop_matches_autograd(optimizer, extra):
    configs = [
        RunConfig(**QUICK, model="mlp:32,16", optimizer=optimizer, activation=a, seed=s, **extra)
        for a, s in [("relu", 0), ("relu", 1), ("tanhexp", 2), ("hard_swish:n=4", 3), ("gelu", 4), ("elu", 5)]
    ]
    hand = train_runs(configs, record_steps=True, group="all")
    reference = train_runs(configs, record_steps=True, group="all", autograd=True)
    for got, want in zip(_curves(hand), _curves(reference), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def test_hand_backprop_float32_stays_close_to_autograd():
    configs = [RunConfig(**dict(QUICK, dtype="float32"), activation=a, seed=1) for a in ("relu", "silu")]
    hand = train_runs(configs, record_steps=True, group="all")
    reference = train_runs(configs, record_steps=True, group="all", autograd=True)
    np.testing.assert_allclose(_curves(hand)[0], _curves(reference)[0], rtol=1e-4)


def _net(model, names):
    spec = parse_model(model)
    shapes = weight_shapes(spec, (1, 8, 8) if model.startswith("cnn") else (64,), 10)
    weights = [init_weights(shapes, "he_normal", np.random.default_rng(m)) for m in range(len(names))]
    return StackedNetwork(spec, shapes, [parse_activation(n) for n in names], weights)


def test_hand_backprop_covers_mlps_with_fixed_activations_only():
    assert supports_hand_backprop(_net("mlp:16", ["relu", "mish", "hard_swish:n=3"]))
    assert supports_hand_backprop(_net("mlp:16", ["swiglu", "glu"]))  # gated: the backward repeats δW per chunk
    for model, names in [("mlp:16", ["relu", "prelu"]), ("mlp:16", ["relu", "rrelu"]), ("cnn:4,p", ["relu"])]:
        assert not supports_hand_backprop(_net(model, names))
    with pytest.raises(ValueError, match="fixed activations"):
        HandBackprop(_net("cnn:4,p", ["relu"]), fused_sgd=True)


def test_step_returns_the_loss_before_the_update_and_changes_the_weights():
    net = _net("mlp:16", ["relu", "relu"]).double()
    before = [w.detach().clone() for w in net.weights]
    x = torch.rand(2, 8, 64, dtype=torch.float64)
    y = torch.randint(0, 10, (2, 8))
    expected = torch.nn.functional.cross_entropy(net(x).transpose(1, 2), y, reduction="none").mean(1)
    losses, logits = HandBackprop(net, fused_sgd=True).step(x, y, None, 0.1)
    torch.testing.assert_close(losses, expected)
    assert logits.shape == (2, 8, 10)
    assert all(not torch.equal(b, w) for b, w in zip(before, net.weights, strict=True))
