"""Input scaling. Raw 0-255 pixels saturate tanh and sigmoid units; `none` keeps them so it can be seen."""

from __future__ import annotations

import numpy as np

from actlab.choices import PREPROCESSINGS
from actlab.data.datasets import Dataset

METHODS = PREPROCESSINGS


def preprocess(dataset: Dataset, method: str = "minmax") -> tuple[np.ndarray, np.ndarray]:
    """Scaled float32 (x_train, x_test).

    ``minmax`` maps the dataset's value range (0..255 for images, 0..16 for digits) onto [0, 1];
    ``standardize`` subtracts the training set's per-feature mean and divides by its standard deviation
    (features that never vary are only centred); ``none`` converts to float32 unchanged.
    """
    if method == "minmax":
        lo, hi = dataset.value_range
        return _minmax(dataset.x_train, lo, hi), _minmax(dataset.x_test, lo, hi)
    x_train = dataset.x_train.astype(np.float32)
    x_test = dataset.x_test.astype(np.float32)
    if method == "standardize":
        mean = x_train.mean(axis=0, dtype=np.float64).astype(np.float32)
        std = x_train.std(axis=0, dtype=np.float64).astype(np.float32)
        std[std < 1e-6] = 1.0
        return (x_train - mean) / std, (x_test - mean) / std
    if method == "none":
        return x_train, x_test
    raise ValueError(f"unknown preprocessing {method!r}; choose one of {', '.join(METHODS)}")


def _minmax(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(x - lo) / (hi - lo) in float32. Bytes (images) look their value up in a 256-entry table computed the same
    way — the same float32 numbers in one pass, ~4× faster than converting, subtracting and dividing 47M pixels."""
    if x.dtype == np.uint8:
        table = (np.arange(256, dtype=np.float32) - lo) / (hi - lo)
        return table[x]
    return (x.astype(np.float32) - lo) / (hi - lo)
