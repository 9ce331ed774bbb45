"""Datasets ready for training: loaded once per process, preprocessed, optionally subsetted."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace

import numpy as np

from actlab.data import sources
from actlab.data.datasets import Dataset, load
from actlab.data.download import DatasetError
from actlab.data.preprocess import preprocess

SUBSET_SEED = 20240229  # fixed, independent of run seeds: every run of a comparison sees the same subset


@dataclass(frozen=True)
class PreparedData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def _subset(x: np.ndarray, y: np.ndarray, size: int | None, stream: int) -> tuple[np.ndarray, np.ndarray]:
    if size is None or size >= len(x):
        return x, y
    keep = np.sort(np.random.default_rng([SUBSET_SEED, stream]).permutation(len(x))[:size])
    return x[keep], y[keep]


def _load(dataset: str, data_dir: str | None, target: str | None, test_fraction: float | None, loss: str) -> Dataset:
    """A built-in dataset, or a user's (see :mod:`actlab.data.sources`)."""
    which = sources.kind(dataset)
    if which == "builtin":
        return load(dataset, data_dir=data_dir)
    from actlab.data import user_data

    body = dataset.partition(":")[2]
    if which == "npz":
        return user_data.load_npz(body, loss)
    if which == "csv":
        return user_data.load_csv(body, target, 0.2 if test_fraction is None else test_fraction, loss)
    return user_data.load_arrays(dataset)


@functools.lru_cache(maxsize=8)
def prepare(
    dataset: str,
    preprocessing: str,
    train_subset: int | None = None,
    test_subset: int | None = None,
    data_dir: str | None = None,
    target: str | None = None,
    test_fraction: float | None = None,
    loss: str = "cross_entropy",
    digest: str | None = None,  # a user's data hash: an edited file is prepared again
) -> PreparedData:
    ds = _load(dataset, data_dir, target, test_fraction, loss)
    if digest is not None and sources.digest(dataset) != digest:
        raise DatasetError(f"{dataset} has changed since this run was defined: run it as a new experiment")
    x_test, y_test = _subset(ds.x_test, ds.y_test, test_subset, 1)  # before scaling: element-wise, only less work
    if preprocessing == "standardize":  # its statistics come from the whole training set
        x_train, x_test = preprocess(replace(ds, x_test=x_test), preprocessing)
        x_train, y_train = _subset(x_train, ds.y_train, train_subset, 0)
    else:
        x_train, y_train = _subset(ds.x_train, ds.y_train, train_subset, 0)
        x_train, x_test = preprocess(replace(ds, x_train=x_train, x_test=x_test), preprocessing)
    for array in (x_train, y_train, x_test, y_test):
        array.setflags(write=False)
    return PreparedData(x_train, y_train, x_test, y_test, ds.classes)


def prepare_for(config, data_dir: str | os.PathLike | None = None) -> PreparedData:
    """The data a :class:`~actlab.train.config.RunConfig` trains on."""
    return prepare(
        config.dataset,
        config.preprocessing,
        config.train_subset,
        config.test_subset,
        None if data_dir is None else str(data_dir),
        config.target,
        config.test_fraction,
        config.loss,
        config.data_sha256,
    )
