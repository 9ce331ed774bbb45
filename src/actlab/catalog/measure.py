"""An activation's properties measured numerically from its forward and derivative (float64 on dense grids): what
a user-defined activation's :class:`~actlab.catalog.spec.Properties` are, and what `actlab check` holds a built-in's
claimed ones against."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from actlab.catalog.spec import Properties
from actlab.catalog.xp import NUMPY

# dense near the origin, where activations bend; logarithmic out to ±1e8, where they settle
DENSE = np.linspace(-50.0, 50.0, 200_001)
FAR = np.logspace(-6, 8, 400)
GRID = np.concatenate([-FAR[::-1], DENSE, FAR])
GRID.sort()
UNBOUNDED = 1e6  # |f| beyond this on the grid (which reaches 1e8) counts as unbounded
UNDERFLOW = 1e-200  # |f′| below this beside a point where f′ = 0: the slope underflowed, f did not level off


@dataclass(frozen=True)
class Measured:
    """The properties, plus f(0) and f'(0)."""

    properties: Properties
    at_zero: float
    slope_at_zero: float


def tail(forward: Callable[[np.ndarray], np.ndarray], sign: float) -> float:
    """f(±∞) as the float64 code approaches it, read off f at ±1e100, ±1e200 and ±1e300: ±inf where |f| keeps
    growing — past 1e100, or by steps that do not shrink faster than a logarithm's (log x grows by equal steps
    there, a function settling on a limit by ever smaller ones) — NaN where undefined, else f(±1e300). (High precision
    is no help at such magnitudes: exp of exp exhausts any arithmetic.)"""
    with np.errstate(all="ignore"):
        values = np.asarray(forward(np.array([sign * 1e100, sign * 1e200, sign * 1e300])), dtype=np.float64)
    last = float(values[-1])
    if math.isnan(last) or math.isinf(last):
        return last
    sizes = np.abs(values)
    near, far = sizes[1] - sizes[0], sizes[2] - sizes[1]
    steady = near > 0 and far >= 0.5 * near and far > 1e-6 * sizes[2] and bool(np.all(np.sign(values) == np.sign(last)))
    growing = (sizes[2] > 1e100 and sizes[2] > sizes[1]) or steady
    return math.copysign(math.inf, last) if growing else last


def _ends(
    y: np.ndarray, dense_y: np.ndarray, dense_d: np.ndarray, tails: tuple[float, float]
) -> tuple[tuple[float, float], tuple[bool, bool]]:
    """Range (infinite on a side whose extreme, beyond 1e3 in size, lies far out, |x| ≥ 1e6, or where f tends to
    ±inf at ±∞: it keeps growing) and whether each finite end is reached (:func:`_reached`) rather than only
    approached."""
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    lo = -math.inf if (lo < -1e3 and abs(GRID[np.nanargmin(y)]) >= 1e6) or -math.inf in tails else lo
    hi = math.inf if (hi > 1e3 and abs(GRID[np.nanargmax(y)]) >= 1e6) or math.inf in tails else hi
    finite = [abs(v) for v in (lo, hi) if math.isfinite(v)]
    scale = 1e-9 * (1 + max(finite)) if finite else 0.0
    attains = (
        not math.isfinite(lo) or _reached(dense_y, dense_d, lo, scale, -1.0),
        not math.isfinite(hi) or _reached(dense_y, dense_d, hi, scale, 1.0),
    )
    return (lo, hi), attains


def _reached(y: np.ndarray, d: np.ndarray, end: float, scale: float, side: float) -> bool:
    """Whether f takes the value ``end`` (its minimum, ``side`` -1, or maximum, +1) on the dense grid: at a point
    within ``scale`` of it where f is flat (f′ exactly 0, entered from a point where |f′| is a normal number: relu's
    0, hardtanh's ±1, pdelu's -1 from x = -10) or which is a strict local extremum (swish's minimum). A monotone
    approach (sigmoid's 0, elu's -1) comes within rounding of the end too, but with f′ ≠ 0 and no turn, and an f′
    that underflows to 0 far out (the gaussian's tails) is no plateau: approached only."""
    near = np.flatnonzero(np.abs(y - end) <= scale)
    if near.size == 0:
        return False
    flat = near[d[near] == 0]
    if flat.size:
        edge = flat[np.argmin(np.abs(DENSE[flat]))]  # where the plateau starts, seen from the origin
        beside = np.abs(d[[i for i in (edge - 1, edge + 1) if 0 <= i < len(d)]])
        if np.any(beside >= UNDERFLOW):  # a plateau f enters with a normal slope, not one f′ underflowed into
            return True
    inside = near[(near > 0) & (near < len(y) - 1)]
    turn = side * (y[inside] - y[inside - 1]) > 0
    turn &= side * (y[inside] - y[inside + 1]) > 0
    return bool(np.any(turn))


def _kinks(x: np.ndarray, d: np.ndarray) -> tuple[float, ...]:
    """Where the derivative jumps: a change between neighbouring points of the dense grid that is large and isolated
    (twenty times the changes two steps away on either side), unlike a smooth but steep stretch."""
    step = np.abs(np.diff(d))
    padded = np.concatenate([np.zeros(2), step, np.zeros(2)])
    around = np.maximum(padded[:-4], padded[4:])
    scale = np.maximum(1.0, np.abs(d[:-1]))
    jumps = np.flatnonzero((step > 1e-3 * scale) & (step > 20 * around))
    found: list[float] = []
    for i in jumps:
        where = round(float((x[i] + x[i + 1]) / 2), 3) + 0.0
        if not found or abs(where - found[-1]) > 1e-2:
            found.append(where)
    return tuple(found)


def blow_ups(function: Callable[[np.ndarray], np.ndarray], values: np.ndarray, x: np.ndarray = DENSE) -> list[float]:
    """Where |``function``| grows without bound at a finite x (``values`` = function(x) on the dense grid): a pole
    of f (1/x), or a point where f′ is unbounded although f is not (√|x| at 0). Candidates are the sharp local maxima
    of |function| (at least twice the value ten grid steps away, or infinite); each is zoomed into four times,
    by a thousand each time: a peak of a smooth function levels off, a blow-up keeps growing."""
    size = np.abs(np.asarray(values, dtype=np.float64))
    size = np.where(np.isnan(size), 0.0, size)
    inner = np.arange(10, len(x) - 10)
    around = np.maximum(size[inner - 10], size[inner + 10])
    peak = (size[inner] >= size[inner - 1]) & (size[inner] >= size[inner + 1]) & (size[inner] > 2 * around + 1e-300)
    candidates = inner[peak]
    candidates = candidates[np.argsort(-size[candidates])][:20]
    found: list[float] = []
    for i in candidates:
        centre, width, best = float(x[i]), float(x[1] - x[0]), float(size[i])
        if math.isinf(best):
            found += [] if any(abs(centre - c) < 1e-3 for c in found) else [centre]
            continue
        growing = 0
        for _ in range(4):
            zoom = np.linspace(centre - width, centre + width, 2001)
            with np.errstate(all="ignore"):
                local = np.abs(np.asarray(function(zoom), dtype=np.float64))
            local = np.where(np.isnan(local), 0.0, local)
            top = int(np.argmax(local))
            growing += local[top] > 10 * best
            centre, width, best = float(zoom[top]), width / 1000, max(best, float(local[top]))
            if math.isinf(best):
                growing = 4
                break
        blown = best > 1e6 and (growing >= 3 or (growing >= 1 and best > 1e12))  # (float64 ends the zoom at a pole)
        if blown and not any(abs(centre - c) < 1e-3 for c in found):  # both sides of one point are candidates
            found.append(round(centre, 6) + 0.0)
    return sorted(found)


def measure(forward: Callable[[np.ndarray], np.ndarray], derivative: Callable[[np.ndarray], np.ndarray]) -> Measured:
    """The properties of ``forward`` (with ``derivative``) at the parameters they close over."""
    with np.errstate(all="ignore"):
        y, d = forward(GRID), derivative(GRID)
        dense_d = derivative(DENSE)
        zero_y, zero_d = float(forward(np.zeros(1))[0]), float(derivative(np.zeros(1))[0])
    with np.errstate(all="ignore"):
        dense_y = forward(DENSE)
    poles = tuple(blow_ups(forward, dense_y))
    steep = [c for c in blow_ups(derivative, dense_d) if not any(abs(c - p) < 1e-3 for p in poles)]
    kinks = tuple(sorted({*(k for k in _kinks(DENSE, dense_d) if not any(abs(k - p) < 1e-3 for p in poles)), *steep}))
    kinks = tuple(sorted({*kinks, *poles}))
    sign_changes = int(np.count_nonzero(np.diff(np.sign(dense_d[np.abs(dense_d) > 1e-12])) != 0))
    tails = (math.nan, math.nan) if sign_changes > 10 else (tail(forward, -1.0), tail(forward, 1.0))
    value_range, attains = _ends(y, np.asarray(dense_y, dtype=np.float64), np.asarray(dense_d, dtype=np.float64), tails)
    if poles:  # |f| is unbounded beside a pole, on the side(s) its values take there
        with np.errstate(all="ignore"):
            near = np.asarray(forward(np.array([c + s * 1e-9 for c in poles for s in (-1, 1)])), dtype=np.float64)
        lo, hi = value_range
        value_range = (-math.inf if np.any(near < 0) else lo, math.inf if np.any(near > 0) else hi)
    properties = Properties(
        range=value_range,
        attains=attains,
        monotonic=bool(np.nanmin(d) >= -1e-12),
        smooth=not kinks,
        zero_centred=zero_y == 0 and bool(np.nanmin(y) < 0 < np.nanmax(y)),
        oscillating=sign_changes > 10,
        kinks=kinks,
        poles=poles,
    )
    return Measured(properties, zero_y, zero_d)


def jumps_at(derivative: Callable[[np.ndarray], np.ndarray], points: tuple[float, ...]) -> tuple[float, ...]:
    """Those of ``points`` where the derivative's one-sided values differ (a kink too small for the grid to see)."""
    found = []
    for k in points:
        h = 1e-6 * max(1.0, abs(k))
        with np.errstate(all="ignore"):
            left, right = (float(v) for v in derivative(np.array([k - h, k + h])))
        if abs(right - left) > 1e-9 * max(1.0, abs(left), abs(right)):
            found.append(k)
    return tuple(found)


def measure_spec(spec: Any, params: Mapping[str, Any] | None = None) -> Measured:
    """:func:`measure` of an elementwise spec at ``params`` (default: its defaults)."""
    values = dict(spec.defaults() if params is None else params)
    return measure(
        lambda x: np.broadcast_to(spec.forward(x, NUMPY, **values), x.shape),
        lambda x: np.broadcast_to(spec.derivative(x, NUMPY, **values), x.shape),
    )
