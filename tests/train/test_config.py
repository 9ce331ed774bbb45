"""Run configurations: validation, canonical activation, keys and grouping."""

import pytest
from pydantic import ValidationError

from actlab.train.config import RunConfig


def test_activation_is_canonical_and_keys_follow():
    a = RunConfig(activation="LeakyReLU")
    b = RunConfig(activation="leaky_relu:negative_slope=0.01")
    assert a.activation == b.activation == "leaky_relu:negative_slope=0.01"
    assert a.key() == b.key() and len(a.key()) == 16
    assert RunConfig(activation="leaky_relu:negative_slope=0.02").key() != a.key()
    assert RunConfig(activation="relu").activation == "relu:negative_slope=0.0:max_value=none:threshold=0.0"
    assert RunConfig(activation="apl:a=[0.2,-0.1]:b=[0,1]").activation_label() == "apl(a=(0.2, -0.1))"


def test_group_key_ignores_only_seed_activation_and_init():
    base = RunConfig()
    assert base.group_key() == RunConfig(seed=3, activation="mish", init="glorot_normal").group_key()
    assert base.group_key() != RunConfig(lr=0.2).group_key()
    assert base.group_key() != RunConfig(model="mlp:10").group_key()


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("activation", "hard_swish:n=0", "'n' must be > 0"),
        ("activation", "relux", "unknown activation"),
        ("model", "mlp:100,x", "mlp:UNITS"),
        ("model", "cnn:p,32", "must follow a convolution"),
        ("dataset", "imagenet", "unknown dataset"),
        ("lr", -0.1, "greater than 0"),
        ("optimizer", "lbfgs", "Input should be"),
        ("schedule", "step:0:0.5", "step:EVERY:GAMMA"),
        ("thresholds", (0.5, 95.0), r"accuracies in \(0, 1\]"),
        ("device", "tpu", "use cpu, cuda"),
        ("flooding", -1.0, "greater than or equal to 0"),
        ("flooding", float("inf"), "finite number"),  # not silently "no flooding" (inf is stored as null)
        ("lr", float("inf"), "finite number"),
        ("weight_decay", float("nan"), "finite number"),
        ("epochs", 0, "greater than or equal to 1"),
        ("colour", "red", "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_are_reported(field, value, message):
    with pytest.raises(ValidationError, match=message):
        RunConfig(**{field: value})


def test_backend_limits():
    with pytest.raises(ValidationError, match="numpy backend trains MLPs only"):
        RunConfig(backend="numpy", model="cnn:8,p")
    with pytest.raises(ValidationError, match="CPU only"):
        RunConfig(backend="numpy", device="cuda")


def test_default_init_per_activation():
    assert RunConfig(activation="selu").init_scheme() == "lecun_normal"
    assert RunConfig(activation="tanh").init_scheme() == "glorot_uniform"
    assert RunConfig(activation="relu").init_scheme() == "he_normal"
    assert RunConfig(activation="relu", init="he_uniform").init_scheme() == "he_uniform"
