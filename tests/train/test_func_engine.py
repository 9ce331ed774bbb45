"""Users' models many at once (torch.func): the seeds of one configuration trained stacked give each run the numbers
it gets alone, and a model vmap cannot map trains one run at a time, saying why."""

import numpy as np
import pytest
from torch import nn

from actlab.models import user_models
from actlab.models.fingerprint import fingerprint
from actlab.train.config import make_config
from actlab.train.trainer import train_runs

QUICK = dict(dataset="digits", train_subset=300, test_subset=100, epochs=2, batch_size=50, dtype="float64")


def _register(name, build):
    return user_models.register(name, build, fingerprint(build))


def mlp(act):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), act(), nn.Linear(32, 16), act(), nn.Linear(16, 10))


def with_batch_norm(act):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16), act(), nn.Linear(16, 10))


class Branching(nn.Module):
    """Data-dependent control flow: which branch runs depends on the values."""

    def forward(self, x):
        return x if x.sum() > 0 else -x


def branching(act):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), act(), Branching(), nn.Linear(16, 10))


def with_dropout(act):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), act(), nn.Dropout(0.2), nn.Linear(16, 10))


@pytest.mark.parametrize(
    "build,setup",
    [
        (mlp, dict(optimizer="sgd", lr=0.1, activation="tanhexp")),  # the spec's autograd Function under vmap
        (mlp, dict(optimizer="adam", lr=1e-2, weight_decay=1e-3, flooding=0.3, activation="prelu")),  # learned
        (with_batch_norm, dict(optimizer="momentum", lr=0.05, activation="silu")),  # running statistics per run
    ],
)
def test_stacked_seeds_equal_one_run_at_a_time(build, setup):
    model = _register(build.__name__, build)
    configs = [make_config(**QUICK, **setup, model=model, seed=s) for s in (0, 1, 2)]
    stacked = train_runs(configs, record_steps=True)
    alone = train_runs(configs, group="none", record_steps=True)
    assert {r.summary.engine for r in stacked} == {"stacked with torch.func (3 runs)"}
    assert {r.summary.engine for r in alone} == {"one at a time"}
    for s, a in zip(stacked, alone, strict=True):
        np.testing.assert_allclose(s.step_losses, a.step_losses, rtol=1e-10, atol=0)
        np.testing.assert_allclose([h.test_loss for h in s.history], [h.test_loss for h in a.history], rtol=1e-10)
        assert [h.test_accuracy for h in s.history] == [h.test_accuracy for h in a.history]
    assert stacked[0].step_losses != stacked[1].step_losses  # each seed its own weights and data order


@pytest.mark.parametrize("build,why", [(branching, "data-dependent control flow"), (with_dropout, "randomness")])
def test_a_model_vmap_refuses_trains_one_run_at_a_time_and_says_why(build, why):
    configs = [make_config(**QUICK, model=_register(build.__name__, build), seed=s) for s in (0, 1)]
    results = train_runs(configs, record_steps=True)
    for result in results:
        assert result.summary.engine.startswith("one at a time: ") and why in result.summary.engine
    alone = train_runs(configs, group="none", record_steps=True)
    assert [r.step_losses for r in results] == [r.step_losses for r in alone]


def test_diverging_runs_stop_on_their_own():
    """A learning rate that makes every run diverge: each records the epoch it diverged at, stacked as alone."""
    model = _register("StackedMLP", mlp)
    configs = [make_config(**QUICK, model=model, activation="exponential", lr=1e3, seed=s) for s in (0, 1)]
    stacked, alone = train_runs(configs), train_runs(configs, group="none")
    assert [r.summary.diverged_epoch for r in stacked] == [r.summary.diverged_epoch for r in alone] == [1, 1]
    assert all(r.summary.status == "diverged" for r in stacked), [r.summary for r in stacked]
    assert all(r.summary.engine.startswith("stacked") for r in stacked), [r.summary.engine for r in stacked]
