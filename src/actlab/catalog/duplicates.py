"""Whether an activation is one the catalog already holds: equal on a grid to a catalog entry at the entry's default
parameters, or at parameters fitted to it (APTx at α = 1, β = 1 is swish at β = 2; TeLU is tanhexp) — what `define`,
`show` and `check` tell a user before they benchmark a "new" function, and what keeps the catalog from holding one
function twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from actlab.catalog.spec import REGISTRY, ActivationError, ActivationSpec
from actlab.catalog.xp import NUMPY

GRID = np.concatenate([np.linspace(-6.0, 6.0, 61) + 0.0123, [-15.5, -9.75, 9.75, 15.5]])
RTOL = 1e-9
MAX_FITTED = 3  # parameters fitted at most (more would make every flexible family "equal" to everything)


def _values(spec: ActivationSpec, params: Mapping[str, Any]) -> np.ndarray | None:
    with np.errstate(all="ignore"):
        try:
            y = np.asarray(spec.forward(GRID, NUMPY, **params), dtype=float)
        except (ArithmeticError, ValueError, TypeError, ActivationError):
            return None
    return y if y.shape == GRID.shape else None


def _equal(y: np.ndarray, target: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(y)) and np.all(np.abs(y - target) <= RTOL * (1 + np.abs(target))))


def same_as(spec: ActivationSpec, params: Mapping[str, Any] | None = None) -> list[str]:
    """The catalog entries (other than ``spec``) equal to ``spec`` at ``params`` on :data:`GRID`, each as
    ``name`` (at its defaults) or ``name:p=v`` (at fitted parameters)."""
    if spec.gated:
        return []
    target = _values(spec, spec.resolve(params or {}))
    if target is None or not np.all(np.isfinite(target)):
        return []
    found = []
    for name in REGISTRY.names():
        if name == spec.name or not REGISTRY.is_builtin(name):
            continue
        other = REGISTRY.get(name)
        if other.gated or other.stochastic is not None:
            continue
        match = _match(other, target)
        if match is not None:
            found.append(match)
    return found


def _match(other: ActivationSpec, target: np.ndarray) -> str | None:
    defaults = other.defaults()
    y = _values(other, defaults)
    if y is not None and _equal(y, target):
        return other.name
    free = [p.name for p in other.params if p.kind == "float" and p.default is not None]
    if not free or len(free) > MAX_FITTED:
        return None
    fitted = _fit(other, defaults, free, target)
    if fitted is None:
        return None
    return other.name + "".join(f":{k}={_round(v)}" for k, v in fitted.items() if k in free)


def _round(value: float) -> str:
    return f"{round(value, 6) + 0.0:g}"  # (+ 0.0: no "-0")


def _fit(other: ActivationSpec, start: dict, free: list[str], target: np.ndarray) -> dict | None:
    """Levenberg–Marquardt on the free parameters from the defaults; the fitted parameters where the fit is exact."""
    params, damping = dict(start), 1e-3
    residual = _residual(other, params, target)
    if residual is None:
        return None
    for _ in range(40):
        jacobian = _jacobian(other, params, free, target, residual)
        if jacobian is None:
            return None
        normal = jacobian.T @ jacobian
        damped = normal + damping * np.diag(np.diag(normal) + 1e-12)
        step = np.linalg.lstsq(damped, -jacobian.T @ residual, rcond=None)[0]
        trial = {**params, **{k: params[k] + float(s) for k, s in zip(free, step, strict=True)}}
        new = _residual(other, trial, target)
        if new is not None and new @ new < residual @ residual:
            params, residual, damping = trial, new, damping / 10
        else:
            damping *= 10
        if damping > 1e12:
            break
    y = _values(other, params)
    return {k: params[k] for k in free} if y is not None and _equal(y, target) else None


def _residual(other: ActivationSpec, params: dict, target: np.ndarray) -> np.ndarray | None:
    try:
        params = other.resolve(params)
    except ActivationError:
        return None
    y = _values(other, params)
    if y is None or not np.all(np.isfinite(y)):
        return None
    return (y - target) / (1 + np.abs(target))


def _jacobian(other, params, free, target, residual) -> np.ndarray | None:
    columns = []
    for name in free:
        step = 1e-7 * (1 + abs(params[name]))
        moved = _residual(other, {**params, name: params[name] + step}, target)
        if moved is None:
            moved = _residual(other, {**params, name: params[name] - step}, target)
            step = -step
        if moved is None:
            return None
        columns.append((moved - residual) / step)
    matrix = np.stack(columns, axis=1)
    return matrix if np.all(np.isfinite(matrix)) else None


def describe(matches: list[str]) -> str:
    """The sentence `define`, `show` and `check` print."""
    return "the same function as catalog " + ("entry " if len(matches) == 1 else "entries ") + ", ".join(matches)

