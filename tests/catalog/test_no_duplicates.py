"""The catalog never holds one function twice: two entries equal on a grid at their default parameters are one
function under two names (which must be one entry with aliases) unless one is a parametric family that contains the
other as a special case — SiLU is swish at β = 1, ELU is CELU at α = 1: entries with different parameters; two
entries with the same parameters must then differ at other values of them too."""

import numpy as np

import actlab
from tests.catalog.helpers import ELEMENTWISE

GRID = np.concatenate([np.linspace(-8, 8, 161) + 0.0123, [-40.5, -20.25, 20.25, 40.5]])


def _values(name: str, params: dict) -> tuple[np.ndarray, np.ndarray]:
    act = actlab.activation(name, **params)
    with np.errstate(all="ignore"):
        return np.asarray(act(GRID), dtype=float), np.asarray(act.derivative(GRID), dtype=float)


def _equal(u, v) -> bool:
    return all(np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True) for a, b in zip(u, v, strict=True))


def _moved(name: str) -> dict | None:
    """The default parameters of ``name`` scaled by 1.37 (None where that is not allowed or there are none)."""
    spec = actlab.spec(name)
    moved = {p.name: p.default * 1.37 for p in spec.params if p.kind == "float" and p.default}
    try:
        return spec.resolve(moved) if moved else None
    except actlab.ActivationError:
        return None


def test_no_two_entries_are_the_same_function():
    values = {name: _values(name, {}) for name in ELEMENTWISE}
    names = sorted(values)
    same = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if not _equal(values[a], values[b]):
                continue
            pa, pb = (tuple(p.name for p in actlab.spec(n).params) for n in (a, b))
            if not pa and not pb:
                same.append(f"{a} = {b}")
            elif pa == pb and (moved := _moved(a)) is not None and _equal(_values(a, moved), _values(b, moved)):
                same.append(f"{a} = {b} (at other parameters too)")
    assert not same, "the same function twice (make one an alias of the other): " + ", ".join(same)


def test_the_comparison_finds_a_duplicate():
    assert _equal(_values("tanhexp", {}), _values("TeLU", {}))
    assert not _equal(_values("golu", {}), _values("silu", {}))
