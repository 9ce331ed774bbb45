"""The torch engine: determinism, many-at-once == one-at-a-time, NumPy engine == torch engine,
divergence, flooding, CNNs, and MNIST from the verified files."""

import math

import numpy as np
import pytest

from actlab.data.prepared import prepare_for
from actlab.train.config import RunConfig
from actlab.train.trainer import group_runs, train_group, train_runs

QUICK = dict(dataset="digits", epochs=3, batch_size=64, train_subset=600, test_subset=200)


# Activations (one with a learned parameter, one from a native kernel, spec paths), seeds and inits that share one
# stacked network: (activation, seed, init).
MIXED_RUNS = [
    ("relu", 0, "auto"),
    ("relu", 1, "auto"),
    ("prelu", 0, "auto"),
    ("hard_swish:n=4", 2, "glorot_uniform"),
    ("gelu", 3, "he_uniform"),
    ("tanhexp", 0, "lecun_normal"),
]


def _histories(results):
    return [[(h.train_loss, h.train_accuracy, h.test_loss, h.test_accuracy) for h in r.history] for r in results]


def test_same_config_same_numbers():
    config = RunConfig(**QUICK, activation="mish", seed=5)
    a, b = train_runs([config]), train_runs([config])
    assert _histories(a) == _histories(b)
    assert a[0].summary.status == "done" and a[0].summary.epochs == 3


def test_many_at_once_equals_one_at_a_time():
    """Different activations (one with a learned parameter, one from a native kernel), seeds and inits,
    trained as one stacked network, give each run the history it gets alone."""
    configs = [RunConfig(**QUICK, dtype="float64", activation=a, seed=s, init=i) for a, s, i in MIXED_RUNS]
    assert len(group_runs(configs, "all")) == 1 and len(group_runs(configs, "activation")) == 5
    assert len(group_runs(configs, "none")) == 6
    together = train_runs(configs, record_steps=True, group="all")
    alone = train_runs(configs, group="none", record_steps=True)
    for t, a in zip(together, alone, strict=True):
        np.testing.assert_allclose(t.step_losses, a.step_losses, rtol=1e-10)
        np.testing.assert_allclose(_histories([t]), _histories([a]), rtol=1e-10)


@pytest.mark.parametrize(
    "optimizer,extra",
    [
        ("sgd", {}),
        ("momentum", {"weight_decay": 1e-3}),
        ("nesterov", {"flooding": 0.4}),
        ("adagrad", {"lr": 0.05}),
        ("rmsprop", {"lr": 0.001, "schedule": "step:1:0.5"}),
        ("adam", {"lr": 0.001, "schedule": "cosine"}),
    ],
)
def test_numpy_engine_matches_torch_engine(optimizer, extra):
    """Same initial weights and batch order: float64 loss curves agree to ~1e-9 over the first epoch."""
    setup = dict(QUICK, epochs=2, dtype="float64", optimizer=optimizer, activation="tanhexp", seed=4, **extra)
    torch_run = train_runs([RunConfig(**setup)], record_steps=True)[0]
    numpy_run = train_runs([RunConfig(**setup, backend="numpy")], record_steps=True)[0]
    assert len(torch_run.step_losses) == len(numpy_run.step_losses) == 2 * math.ceil(600 / 64)
    np.testing.assert_allclose(numpy_run.step_losses, torch_run.step_losses, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(_histories([numpy_run]), _histories([torch_run]), rtol=1e-9)


@pytest.mark.parametrize("activation", ["prelu", "apl:a=[0.2,-0.1]:b=[0,1]", "snake", "soft_root_sign"])
def test_numpy_engine_learns_activation_parameters_like_torch(activation):
    setup = dict(QUICK, epochs=1, dtype="float64", activation=activation, seed=1)
    torch_run = train_runs([RunConfig(**setup)], record_steps=True)[0]
    numpy_run = train_runs([RunConfig(**setup, backend="numpy")], record_steps=True)[0]
    np.testing.assert_allclose(numpy_run.step_losses, torch_run.step_losses, rtol=1e-9)


def test_divergence_is_recorded_and_the_group_goes_on():
    configs = [
        RunConfig(**QUICK, activation="exponential", lr=50.0, seed=0),
        RunConfig(**QUICK, activation="relu", lr=50.0, seed=0),
    ]
    tame = RunConfig(**QUICK, activation="relu", seed=0)
    diverging, relu_high, ok = train_runs(configs + [tame], group="all")
    assert diverging.summary.status == "diverged" and diverging.summary.diverged_epoch == len(diverging.history)
    assert not math.isfinite(diverging.history[-1].train_loss)
    assert ok.summary.status == "done" and ok.summary.final_test_accuracy > 0.6  # chance is 0.1
    assert relu_high.summary.status in ("done", "diverged")


def test_flooding_keeps_the_training_loss_near_the_flood_level():
    plain = train_runs([RunConfig(**dict(QUICK, epochs=30), activation="relu")])[0]
    flooded = train_runs([RunConfig(**dict(QUICK, epochs=30), activation="relu", flooding=0.3)])[0]
    assert plain.history[-1].train_loss < 0.1
    assert 0.2 < flooded.history[-1].train_loss < 0.45


def test_cnn_many_at_once_equals_one_at_a_time():
    configs = [
        RunConfig(**QUICK, model="cnn:8,p,d16", dtype="float64", activation=a, seed=s)
        for a, s in [("relu", 0), ("elu", 1), ("prelu", 2)]
    ]
    assert len(group_runs(configs, "all")) == 3  # CNNs train one at a time on the CPU: it is faster there
    together = train_group(configs, prepare_for(configs[0]), record_steps=True)  # the stacked path GPUs use
    alone = train_runs(configs, group="none", record_steps=True)
    for t, a in zip(together, alone, strict=True):
        np.testing.assert_allclose(t.step_losses, a.step_losses, rtol=1e-10)
    assert together[0].summary.final_test_accuracy > 0.25  # learning (chance is 0.1) after 3 epochs on 600 images


def test_fused_activations_train_to_the_same_numbers():
    """Compiled kernels (hand backprop for the MLP, autograd for the CNN) against the spec evaluation."""
    mlp = RunConfig(**QUICK, dtype="float64", activation="tanhexp", seed=1)
    cnn = RunConfig(**dict(QUICK, epochs=1), model="cnn:4,p,d8", dtype="float64", activation="tanhexp", seed=2)
    for config in (mlp, cnn):
        (fused,) = train_runs([config], fused=True, record_steps=True)
        (plain,) = train_runs([config], record_steps=True)
        np.testing.assert_allclose(fused.step_losses, plain.step_losses, rtol=1e-9)
    mixed = [RunConfig(**QUICK, dtype="float64", activation=a, seed=3) for a in ("relu", "tanhexp", "mish")]
    fused, plain = (train_runs(mixed, group="all", fused=f, record_steps=True) for f in (True, False))
    for f, p in zip(fused, plain, strict=True):  # one compiled graph for each layer's three activations
        np.testing.assert_allclose(f.step_losses, p.step_losses, rtol=1e-9)


def test_thresholds_and_summary():
    result = train_runs([RunConfig(**dict(QUICK, epochs=6), thresholds=(0.5, 0.999))])[0]
    s = result.summary
    assert s.epochs_to["0.999"] is None
    first = next(h.epoch for h in result.history if h.test_accuracy >= 0.5)
    assert s.epochs_to["0.5"] == first
    assert s.best_test_accuracy == max(h.test_accuracy for h in result.history)
    assert s.final_test_accuracy == result.history[-1].test_accuracy
    assert s.total_seconds == pytest.approx(sum(h.seconds for h in result.history))


def test_mnist_from_the_verified_files(real_datasets):
    data_dir = real_datasets
    config = RunConfig(dataset="mnist", model="mlp:64", epochs=2, batch_size=100, train_subset=3000, test_subset=1000)
    result = train_runs([config], data_dir=data_dir)[0]
    assert result.summary.final_test_accuracy > 0.8


def test_cifar10_cnn_end_to_end(tmp_path, monkeypatch):
    """A small CIFAR-10 archive in the official binary format → loader → Conv32-Pool-Conv64-Pool-Dense10."""
    from actlab.data import datasets
    from actlab.data.download import md5sum
    from actlab.data.prepared import prepare
    from tests.data.test_datasets import _cifar_batches, write_binary_archive

    path = write_binary_archive(tmp_path, _cifar_batches(per_batch=40))
    remote = datasets.CIFAR_BINARY
    monkeypatch.setattr(
        datasets, "CIFAR_BINARY", type(remote)(remote.name, md5sum(path), path.stat().st_size, remote.urls)
    )
    prepare.cache_clear()
    try:
        configs = [
            RunConfig(
                dataset="cifar10",
                model="cnn:32,p,64,p",
                optimizer="adam",
                lr=1e-3,
                batch_size=50,
                epochs=2,
                activation=a,
                seed=0,
            )
            for a in ("relu", "rrelu")
        ]
        results = train_runs(configs, data_dir=tmp_path)
        assert prepare("cifar10", "minmax", None, None, str(tmp_path)).x_train.shape == (200, 3, 32, 32)
    finally:
        prepare.cache_clear()
    for result in results:  # random images: nothing to learn, but every step ran and stayed finite
        assert result.summary.status == "done" and len(result.history) == 2
        assert all(math.isfinite(h.train_loss) and 0 <= h.test_accuracy <= 1 for h in result.history)


def test_bfloat16_mixed_precision_trains_close_to_float32():
    """dtype=bfloat16: float32 weights, bfloat16 products and activations (autocast); MLP and CNN."""
    for model in ("mlp:100,50", "cnn:4,p,d8"):
        full, mixed = (
            train_runs([RunConfig(**QUICK, model=model, activation="tanhexp", seed=3, dtype=d)])[0]
            for d in ("float32", "bfloat16")
        )
        assert mixed.summary.status == "done"
        assert _histories([mixed]) != _histories([full])  # rounded products: not the float32 numbers
        assert abs(mixed.summary.final_test_accuracy - full.summary.final_test_accuracy) < 0.08
        assert mixed.history[-1].train_loss < mixed.history[0].train_loss


def test_the_numpy_engine_has_no_bfloat16():
    with pytest.raises(ValueError, match="numpy backend has no bfloat16"):
        RunConfig(backend="numpy", dtype="bfloat16")


def test_start_up_falls_on_no_run_s_epochs(monkeypatch):
    """The process's one-off start-up (simulated: the first evaluation of an activation in the process costs START_UP
    seconds on a fake clock that nothing else advances) is paid by the warm-up, so the activation trained first is
    not charged for it in s/epoch, and the warm-up changes no number."""
    from types import SimpleNamespace

    from actlab.models.batched import ModelActivations
    from actlab.train import loop

    START_UP = 3.0
    expected = [_histories(train_runs([RunConfig(**QUICK, activation=a, seed=0)])) for a in ("relu", "mish")]
    clock = [0.0]
    monkeypatch.setattr(loop, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    monkeypatch.setattr(loop, "_warmed", {})  # a fresh process: nothing warmed up yet
    state = {"first": True}
    for method in ("forward", "value_and_derivative"):
        original = getattr(ModelActivations, method)

        def slow_once(self, *args, _original=original, **kwargs):
            if state["first"]:
                state["first"] = False
                clock[0] += START_UP
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(ModelActivations, method, slow_once)
    results = train_runs([RunConfig(**QUICK, activation=a, seed=0) for a in ("relu", "mish")])
    assert not state["first"]  # the start-up did happen
    assert [_histories([r]) for r in results] == expected
    assert all(h.seconds == 0.0 for r in results for h in r.history)
