"""Experiment files: expansion, quick overrides, and every validation problem reported at once."""

import pytest

from actlab.experiments import recipes
from actlab.experiments.config import ExperimentError, load_experiment, parse_experiment

FIFTEEN_LINES = """
name = "mine"
description = "relu vs mish vs h-swish sizes"
[base]
dataset = "digits"
epochs = 3
[grid]
activation = ["relu", "mish"]
seed = [0, 1]
[[activations]]
name = "hard_swish"
n = [4, 6]
[quick]
epochs = 1
"""


def test_expansion(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(FIFTEEN_LINES)
    experiment = load_experiment(path)
    assert experiment.name == "mine" and len(experiment.runs) == 8
    assert [r.activation_label() for r in experiment.runs[::2]] == ["relu", "mish", "hard_swish(n=4)", "hard_swish"]
    assert {r.epochs for r in experiment.runs} == {3}
    quick = load_experiment(path, quick=True)
    assert {r.epochs for r in quick.runs} == {1}
    assert quick.description.endswith("Quick variant: epochs = 1 (overriding the setup described).")
    assert "Quick variant" not in experiment.description  # a report of the quick runs says what they were
    assert experiment.swept == ("activation", "seed")


def test_duplicates_collapse():
    experiment = parse_experiment({"name": "x", "grid": {"activation": ["LeakyReLU", "leaky_relu"], "lr": [0.1]}})
    assert len(experiment.runs) == 1


def test_every_problem_is_reported_with_its_location():
    data = {
        "nam": "typo",
        "base": {"lr": -1, "colour": "red", "epochs": "many"},
        "grid": {"activation": ["relu", "relux"], "lr": [0.1, "fast"], "seed": 3},
        "activations": [
            {"name": "hard_swish", "n": [1, 0, 3]},
            {"n": 2},
            {"name": "rrelu", "lower": 0.5, "upper": 0.1},
        ],
    }
    with pytest.raises(ExperimentError) as caught:
        parse_experiment(data, "bad.toml")
    problems = caught.value.problems
    expected = [
        "nam: unknown key",
        "name: required",
        "base.colour: unknown setting",
        "base.lr: Input should be greater than 0",
        "base.epochs: Input should be a valid integer",
        "grid.activation[1]: unknown activation 'relux'",
        "grid.lr[1]: Input should be a valid number",
        "grid.seed: must be a non-empty list",
        "activations[0].n[1]: hard_swish: parameter 'n' must be > 0",
        "activations[1]: needs name",
        "activations[2] with {'lower': 0.5, 'upper': 0.1}: rrelu: lower (0.5) must not exceed upper (0.1)",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert str(caught.value).startswith("bad.toml: 11 problems")


def test_combination_problems_and_file_errors(tmp_path):
    with pytest.raises(ExperimentError, match="run with model=cnn:8,p: .*numpy backend trains MLPs only"):
        parse_experiment({"name": "x", "base": {"backend": "numpy"}, "grid": {"model": ["mlp:10", "cnn:8,p"]}})
    with pytest.raises(ExperimentError, match="give the activation in base or sweep it"):
        parse_experiment({"name": "x", "base": {"activation": "relu"}, "grid": {"activation": ["mish"]}})
    (tmp_path / "broken.toml").write_text("name = ")
    with pytest.raises(ExperimentError, match="not valid TOML"):
        load_experiment(tmp_path / "broken.toml")
    with pytest.raises(ExperimentError, match="file not found"):
        load_experiment(tmp_path / "missing.toml")


def test_recipes_load():
    assert recipes.names() == [
        "cifar10-cnn-rrelu",
        "deep-mlp-gradients",
        "flooding",
        "hard-swish-n",
        "lr-and-width",
        "mnist-cnn-leaky",
        "mnist-mlp-classic",
        "mnist-mlp-modern",
        "momentum-nesterov",
        "saturation",
    ]
    for name in recipes.names():
        full, quick = load_experiment(recipes.path(name)), load_experiment(recipes.path(name), quick=True)
        assert full.name == name and len(full.runs) == len(quick.runs) > 0
        assert max(r.epochs for r in quick.runs) <= 2
    hswish = load_experiment(recipes.path("recipe:hard-swish-n"))
    assert sorted({r.activation_object().params["n"] for r in hswish.runs}) == [float(n) for n in range(1, 11)]
    with pytest.raises(KeyError, match="unknown recipe"):
        recipes.path("nope")
