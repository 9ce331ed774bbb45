"""actlab.recognise: a function known by its values on a grid."""

import math

import numpy as np
import pytest

import actlab
from actlab.recognise import GRID, is_affine, recognise, same_function, squashing


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        (lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))), "gelu_tanh"),
        (lambda x: 0.5 * x * (1 + np.tanh(x * 0.7978845608 * (1 + 0.044715 * x * x))), "gelu_tanh"),  # FastGELU
        (lambda x: x * sigmoid(1.702 * x), "quick_gelu"),
        (lambda x: x * sigmoid(x), "silu"),
        (lambda x: x * sigmoid(1.5 * x), "swish:beta=1.5"),
        (lambda x: x * np.tanh(np.log1p(np.exp(x))), "mish"),
        (lambda x: x * np.clip(x + 3, 0, 6) / 6, "hard_swish"),
        (lambda x: np.clip(x + 3, 0, 6) / 6, "hard_sigmoid"),
        (lambda x: 0.5 * x * np.clip(x + 2, 0, 2), "hard_mish"),
        (lambda x: np.maximum(x, 0) ** 2, "squared_relu"),
        (lambda x: np.where(x > 0, x, 0.2 * x), "leaky_relu:negative_slope=0.2"),
        (lambda x: np.maximum(x, 0), "relu"),
    ],
)
def test_formulas_are_recognised_as_the_catalog_activation_they_compute(formula, expected):
    assert recognise(formula(GRID)) == expected


def test_near_misses_are_not_recognised():
    gelu_erf = np.asarray(actlab.activation("gelu")(GRID))
    assert recognise(gelu_erf) == "gelu"
    assert recognise(gelu_erf + 1e-4) is None  # GELU's erf and tanh forms differ by 4.7e-4: nothing in between
    assert recognise(np.tanh(GRID) * 2 + GRID) is None
    assert recognise(np.cos(GRID)) is None


def test_affine_and_squashing():
    assert is_affine(3 * GRID - 1) and not is_affine(np.maximum(GRID, 0))
    assert squashing("sigmoid") and squashing("tanh") and squashing("hard_sigmoid")
    assert not squashing("relu") and not squashing("gelu") and not squashing("MyOwnClass")


def test_same_function():
    assert same_function("silu") == same_function("swish") == {"silu", "swish"}
    assert same_function("gelu") == {"gelu"} and same_function("rrelu") == {"rrelu"}  # stochastic: not on the grid
