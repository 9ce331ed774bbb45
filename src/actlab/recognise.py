"""What an elementwise function computes, found by its values: an activation written as a formula of primitives
(``0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))``, ``x * torch.sigmoid(1.702 * x)``, ``F.relu6(x + 3) / 6``) is compared
with every catalog activation on a grid, at the catalog's default parameters and, for the parameters that are
commonly written out (swish's β, leaky ReLU's slope), at the value the formula uses.

A function matches when ``max |f − g| ≤ tolerance · max(1, max |g|)`` on the grid, ``−8 … 8`` in steps of 0.01 and
``±12, ±20``; the tolerance is 1e-7 for values computed in float64 (PyTorch), 1e-6 for float32 ones (Keras layers):
tight enough to tell GELU's erf form from its tanh form (4.7e-4 apart), loose enough for constants written with ten
digits (FastGELU's 0.7978845608). Used by :func:`actlab.swap` and :func:`actlab.keras.swap`; NumPy only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from actlab.activation import activation, names
from actlab.catalog import REGISTRY

GRID = np.concatenate([np.linspace(-8.0, 8.0, 1601), [-20.0, -12.0, 12.0, 20.0]])
TOLERANCE = 1e-7
FLOAT32_TOLERANCE = 1e-6
# Where two catalog functions are equal (silu and swish at β = 1), the first listed here is the name reported
PREFERRED = ("relu", "gelu", "gelu_tanh", "silu", "quick_gelu", "mish", "hard_swish", "hard_sigmoid", "hard_mish")


@functools.cache
def _catalog() -> tuple[tuple[str, np.ndarray], ...]:
    """Every elementwise, deterministic catalog activation (but ``linear``) at its defaults, on :data:`GRID`."""
    found = []
    order = [*PREFERRED, *sorted(set(names()) - set(PREFERRED))]
    for name in order:
        spec = REGISTRY.get(name)
        if spec.gated or spec.stochastic is not None or name == "linear":
            continue
        with np.errstate(all="ignore"):
            try:
                values = np.asarray(activation(name)(GRID), dtype=np.float64)
            except Exception:  # an activation without a NumPy form cannot be recognised, only named
                continue
        if values.shape == GRID.shape:
            found.append((name, values))
    return tuple(found)


def same_function(name: str) -> frozenset[str]:
    """The catalog names computing the same function as ``name`` at their defaults (``silu`` and ``swish``): a
    ``match`` naming one selects sites recognised as another."""
    values = dict(_catalog())
    if name not in values:
        return frozenset({name})
    return frozenset(other for other, reference in values.items() if _close(reference, values[name]))


def _close(values: np.ndarray, reference: np.ndarray, tolerance: float = TOLERANCE) -> bool:
    if not np.array_equal(np.isfinite(values), np.isfinite(reference)):
        return False
    finite = np.isfinite(reference)
    scale = max(1.0, float(np.max(np.abs(reference[finite]), initial=0.0)))
    return bool(np.max(np.abs(values[finite] - reference[finite]), initial=0.0) <= tolerance * scale)


def _at(values: np.ndarray, x: float) -> float:
    return float(values[int(np.argmin(np.abs(GRID - x)))])


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p)) if 0.0 < p < 1.0 else math.nan


# parameters written out in formulas: name → (parameter, its value read from the function's values)
FITS: dict[str, tuple[str, Callable[[np.ndarray], float]]] = {
    "swish": ("beta", lambda v: _logit(_at(v, 1.0))),  # x·σ(βx) at x = 1 is σ(β)
    "leaky_relu": ("negative_slope", lambda v: -_at(v, -1.0)),
}


def recognise(values: np.ndarray, tolerance: float = TOLERANCE) -> str | None:
    """The catalog activation (``"gelu_tanh"``, ``"swish:beta=1.5"``) whose values on :data:`GRID` are ``values``,
    or None."""
    values = np.asarray(values, dtype=np.float64)
    for name, reference in _catalog():
        if _close(values, reference, tolerance):
            return name
    for name, (param, estimate) in FITS.items():
        value = estimate(values)
        if not math.isfinite(value):
            continue
        candidate = activation(name, **{param: round(value, 9)})
        with np.errstate(all="ignore"):
            reference = np.asarray(candidate(GRID), dtype=np.float64)
        if _close(values, reference, tolerance):
            return candidate.text
    return None


def is_affine(values: np.ndarray, tolerance: float = TOLERANCE) -> bool:
    """Whether ``values`` are ``a·x + b`` on the grid (a scaling, a shift: no activation)."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return False
    slope, intercept = np.polyfit(GRID, values, 1)
    return _close(values, slope * GRID + intercept, tolerance)


def squashing(kind: str) -> bool:
    """Whether the catalog activation ``kind`` is bounded on both sides (sigmoid, tanh, hard_sigmoid, …): the
    functions models use as gates, poolers and output squashers."""
    try:
        spec = REGISTRY.get(kind.partition(":")[0])
    except Exception:  # a model's own class: not a catalog name
        return False
    low, high = spec.properties.range if spec.properties else (-math.inf, math.inf)
    return math.isfinite(low) and math.isfinite(high)
