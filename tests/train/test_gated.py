"""Gated activations (the GLU family, maxout) train: the layer before one produces k × the units it consumes, in the
stacked network (hand-written backpropagation and autograd), the NumPy engine and the CNN."""

import numpy as np
import pytest
from typer.testing import CliRunner

from actlab.cli import app
from actlab.data.prepared import prepare_for
from actlab.models.spec import parse_model, weight_shapes
from actlab.train.config import RunConfig
from actlab.train.trainer import train_group, train_runs

QUICK = dict(dataset="digits", epochs=2, batch_size=64, train_subset=300, test_subset=100, dtype="float64")
GATED = ["glu", "swiglu", "geglu", "reglu", "maxout", "maxout:k=3"]


def _losses(results):
    return [r.step_losses for r in results]


def test_layers_before_a_gated_activation_are_k_times_wider():
    shapes = weight_shapes(parse_model("mlp:16,8"), (64,), 10, expansion=2)
    assert [s for _, s in shapes.weights] == [(32, 64), (16, 16), (10, 8)]
    cnn = weight_shapes(parse_model("cnn:8,p,d12"), (1, 8, 8), 10, expansion=3)
    assert [s for _, s in cnn.weights] == [(24, 1, 3, 3), (36, 8 * 3 * 3), (10, 12)]
    assert RunConfig(activation="maxout:k=3").expansion() == 3 and RunConfig(activation="relu").expansion() == 1
    assert RunConfig(activation="glu").group_key() != RunConfig(activation="relu").group_key()


@pytest.mark.parametrize("activation", GATED)
def test_hand_backprop_autograd_and_numpy_agree(activation):
    config = RunConfig(**QUICK, model="mlp:16,8", activation=activation, seed=1)
    (hand,) = train_runs([config], record_steps=True)
    (auto,) = train_runs([config], record_steps=True, autograd=True)
    (reference,) = train_runs([config.model_copy(update={"backend": "numpy"})], record_steps=True)
    np.testing.assert_allclose(hand.step_losses, auto.step_losses, rtol=1e-10)
    np.testing.assert_allclose(hand.step_losses, reference.step_losses, rtol=1e-9)
    assert hand.summary.status == "done" and hand.history[-1].train_loss < hand.history[0].train_loss


def test_gated_cnn_stacked_equals_alone():
    configs = [RunConfig(**QUICK, model="cnn:4,p,d8", activation=a, seed=s) for a, s in (("glu", 0), ("swiglu", 1))]
    data = prepare_for(configs[0])
    together = train_group(configs, data, record_steps=True)
    alone = [train_group([c], data, record_steps=True)[0] for c in configs]
    for t, a in zip(together, alone, strict=True):
        np.testing.assert_allclose(t.step_losses, a.step_losses, rtol=1e-10)


def test_gated_and_plain_runs_group_apart_and_train_together():
    configs = [RunConfig(**QUICK, model="mlp:16", activation=a, seed=0) for a in ("relu", "glu", "maxout")]
    results = train_runs(configs, group="all")
    assert all(r.summary.status == "done" for r in results)


@pytest.mark.parametrize("activation", ["glu", "swiglu", "maxout"])
@pytest.mark.parametrize("model", ["mlp:16", "mlp:100,50", "cnn:8,p"])
def test_the_cli_trains_them(activation, model):
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--activation",
            activation,
            "--model",
            model,
            "--epochs",
            "1",
            "--train-subset",
            "200",
            "--test-subset",
            "100",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
