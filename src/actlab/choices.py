"""The named choices of a run's settings, one vocabulary each: :class:`~actlab.train.config.RunConfig` validates
against them and the command line's help lists them. Nothing heavy is imported here (``actlab --help`` reads it)."""

from __future__ import annotations

from typing import Literal, get_args

Dataset = Literal["digits", "mnist", "fashion-mnist", "cifar10"]
Preprocessing = Literal["minmax", "standardize", "none"]
Init = Literal["he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "lecun_normal", "lecun_uniform"]
Optimizer = Literal["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
Backend = Literal["torch", "numpy"]
Dtype = Literal["float32", "float64", "bfloat16"]
Loss = Literal["cross_entropy", "mse"]

DATASETS: tuple[str, ...] = get_args(Dataset)
PREPROCESSINGS: tuple[str, ...] = get_args(Preprocessing)
INITS: tuple[str, ...] = get_args(Init)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
MOMENTUM_OPTIMIZERS: tuple[str, ...] = ("momentum", "nesterov")
BACKENDS: tuple[str, ...] = get_args(Backend)
DTYPES: tuple[str, ...] = get_args(Dtype)
LOSSES: tuple[str, ...] = get_args(Loss)


def listing(choices: tuple[str, ...]) -> str:
    """'a, b or c'."""
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else "".join(choices)
