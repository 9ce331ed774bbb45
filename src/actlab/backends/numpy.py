"""Evaluating catalog specs on NumPy arrays.

float16 is computed in float32 and rounded back (as PyTorch's CPU kernels do); integer and boolean inputs
are promoted to float64. Floating-point warnings are silenced because ``where`` evaluates both branches,
and the discarded branch may divide by zero or overflow on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from actlab.catalog.spec import ActivationError, ActivationSpec
from actlab.catalog.xp import NUMPY


def as_float_array(x: Any) -> tuple[np.ndarray, np.dtype]:
    """Return the array to compute on and the dtype to give the result."""
    array = np.asarray(x)
    if array.dtype.kind == "f":
        compute = np.float32 if array.dtype == np.float16 else array.dtype
        return array.astype(compute, copy=False), array.dtype
    if array.dtype.kind in "biu":
        return array.astype(np.float64), np.dtype(np.float64)
    raise ActivationError(f"activations take real floating-point input, got dtype {array.dtype}")


def split(spec: ActivationSpec, x: np.ndarray, params: Mapping[str, Any]) -> list[np.ndarray]:
    """The chunks a gated activation combines (``[x]`` for elementwise ones)."""
    if not spec.gated:
        return [x]
    pieces = spec.n_pieces(params)
    dim = params["dim"]
    if x.ndim == 0 or x.shape[dim] % pieces:
        size = "a scalar" if x.ndim == 0 else f"size {x.shape[dim]}"
        raise ActivationError(f"{spec.name} splits dimension {dim} into {pieces} equal chunks, but it has {size}")
    return np.split(x, pieces, axis=dim)


def forward(spec: ActivationSpec, x: Any, params: Mapping[str, Any]) -> np.ndarray:
    array, out_dtype = as_float_array(x)
    with np.errstate(all="ignore"):
        if spec.gated:
            y = spec.forward(split(spec, array, params), NUMPY, **params)
        else:
            y = spec.forward(array, NUMPY, **params)
        return np.asarray(y).astype(out_dtype, copy=False)  # float16 overflows to ±inf, as it should


def derivative(spec: ActivationSpec, x: Any, params: Mapping[str, Any]) -> np.ndarray:
    """df/dx elementwise; for gated activations the partials with respect to each chunk, concatenated."""
    array, out_dtype = as_float_array(x)
    with np.errstate(all="ignore"):
        if spec.gated:
            chunks = split(spec, array, params)
            parts = spec.derivative(chunks, NUMPY, **params)
            d = np.concatenate(
                [np.broadcast_to(p, c.shape) for p, c in zip(parts, chunks, strict=True)], axis=params["dim"]
            )
        else:
            d = np.broadcast_to(spec.derivative(array, NUMPY, **params), array.shape)
        d = np.where(np.isnan(array), array, d)
        return np.asarray(d).astype(out_dtype, copy=False)


def train_forward(
    spec: ActivationSpec, x: Any, params: Mapping[str, Any], rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """Training-mode output and derivative, drawn with one noise sample for stochastic activations."""
    if spec.stochastic is None or spec.gated:
        return forward(spec, x, params), derivative(spec, x, params)
    array, out_dtype = as_float_array(x)
    with np.errstate(all="ignore"):
        noise = spec.stochastic.sample(array, NUMPY, rng, **params)
        y = spec.stochastic.forward(array, noise, NUMPY, **params)
        d = spec.stochastic.derivative(array, noise, NUMPY, **params)
        return y.astype(out_dtype, copy=False), d.astype(out_dtype, copy=False)
