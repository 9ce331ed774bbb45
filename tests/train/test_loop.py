"""The one epoch loop: its engines give equal numbers (a built-in MLP and the same network as a user's model),
built-in models train with mse too, and every engine's start-up falls on a warm-up outside the timed epochs."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from actlab.data.prepared import prepare_for
from actlab.models import user_models
from actlab.models.fingerprint import fingerprint
from actlab.models.spec import init_weights, parse_model, run_streams, weight_shapes
from actlab.train import loop, trainer
from actlab.train.config import ConfigError, RunConfig, make_config
from actlab.train.trainer import train_runs

SETTINGS = dict(model="mlp:16", activation="tanh", dtype="float64", epochs=2, batch_size=50, seed=3, lr=0.1)


@pytest.fixture(scope="module")
def regression_npz(tmp_path_factory):
    """A small regression data set: 5 inputs, one target, a smooth function of them."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(260, 5)).astype(np.float32)
    y = (np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2]).astype(np.float32)
    path = tmp_path_factory.mktemp("npz") / "wave.npz"
    np.savez(path, x_train=x[:200], y_train=y[:200], x_test=x[200:], y_test=y[200:])
    return path


def _same_network_as_a_users_model(config: RunConfig) -> str:
    """``mlp:16`` written as a ``build(act)`` model that starts from the built-in run's initial weights."""
    data = prepare_for(config)
    shapes = weight_shapes(parse_model(config.model), data.input_shape, data.classes, 1)
    weights = init_weights(shapes, config.init_scheme(), run_streams(config.seed).init)
    (_, (hidden, inputs)), (_, (outputs, _)) = shapes.weights

    def build(act):
        first, last = nn.Linear(inputs, hidden, dtype=torch.float64), nn.Linear(hidden, outputs, dtype=torch.float64)
        with torch.no_grad():
            for linear, weight in zip((first, last), weights, strict=True):
                linear.weight.copy_(torch.from_numpy(weight))
                linear.bias.zero_()
        return nn.Sequential(nn.Flatten(), first, act(), last)

    return user_models.register("SameMLP", build, fingerprint(build))


@pytest.mark.parametrize("task", ["classes", "regression"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_built_in_mlp_and_the_same_users_model_give_equal_step_losses(task, optimizer, regression_npz):
    """The stacked engine (hand-written backpropagation for SGD on classes; autograd with Adam or mse) and the users'
    module engine: equal per-step losses and histories in float64 from equal initial weights and data order."""
    extra = {"dataset": f"npz:{regression_npz}", "loss": "mse"} if task == "regression" else {"dataset": "digits"}
    built_in = make_config(**SETTINGS, **extra, optimizer=optimizer)
    users = make_config(
        **{**SETTINGS, **extra, "optimizer": optimizer, "model": _same_network_as_a_users_model(built_in)}
    )
    (a,), (b,) = train_runs([built_in], record_steps=True), train_runs([users], record_steps=True)
    assert len(a.step_losses) == len(b.step_losses) > 4
    np.testing.assert_allclose(a.step_losses, b.step_losses, rtol=1e-10, atol=0)
    for x, y in zip(a.history, b.history, strict=True):
        np.testing.assert_allclose(x.test_loss, y.test_loss, rtol=1e-10)
        assert x.test_accuracy == y.test_accuracy or (np.isnan(x.test_accuracy) and np.isnan(y.test_accuracy))


def test_a_built_in_model_trains_a_regression_with_mse(regression_npz):
    config = make_config(**{**SETTINGS, "epochs": 4}, dataset=f"npz:{regression_npz}", loss="mse")
    (result,) = train_runs([config])
    losses = [h.test_loss for h in result.history]
    assert result.summary.status == "done" and losses[-1] < losses[0]
    assert result.summary.final_test_accuracy is None and result.summary.best_test_loss == min(losses)


def test_the_numpy_engine_refuses_mse_in_one_clear_error(regression_npz):
    with pytest.raises(ConfigError, match="numpy backend trains with cross-entropy only"):
        make_config(**SETTINGS, dataset=f"npz:{regression_npz}", loss="mse", backend="numpy")


def test_a_users_model_s_start_up_falls_on_the_warm_up_not_its_first_epoch(monkeypatch):
    """The first training-mode call of the model in the process costs 100 s on a fake clock (the process's one-off
    start-up): the warm-up pays it, so no timed epoch holds it, and the warm-up changes no number."""
    clock = [0.0]
    monkeypatch.setattr(loop, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    monkeypatch.setattr(loop, "_warmed", {})
    started = {"first": True}

    class Slow(nn.Module):
        def forward(self, x):
            if self.training and started["first"]:
                started["first"] = False
                clock[0] += 100.0
            clock[0] += 1.0
            return x

    def build(act):
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 8), act(), Slow(), nn.Linear(8, 10))

    config = make_config(
        dataset="digits",
        train_subset=200,
        test_subset=50,
        epochs=2,
        batch_size=100,
        seed=1,
        model=user_models.register("Slow", build, fingerprint(build)),
    )
    (warmed,) = train_runs([config])
    assert not started["first"]  # the start-up did happen
    assert [h.seconds for h in warmed.history] == [3.0, 3.0]  # two steps and one evaluation each
    monkeypatch.setattr(trainer, "warm_up", lambda *args: None)  # the same run without a warm-up
    started["first"] = True
    (cold,) = train_runs([config])
    assert cold.history[0].seconds == 103.0
    assert [h.test_loss for h in cold.history] == [h.test_loss for h in warmed.history]
