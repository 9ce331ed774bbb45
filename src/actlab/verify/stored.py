"""Stored high-precision reference values for every catalog entry, and the command that refreshes them.

For each activation, f and f′ at its default parameters on the reference grid (:data:`actlab.verify.check.GRID`,
reaching ±9999.5), computed with mpmath at 400 digits from its reference — the independent transcription of
:mod:`actlab.verify.references` for a hand-written built-in, the formula as written (before any stable rewrite) for a
data entry — and f′ by numerical differentiation of that reference, never from the code under test. Kept as decimal
text (25 significant digits) in ``actlab/catalog/data/references.json``, with a fingerprint of what they were computed
from, so the test suite holds every entry to them on every run in milliseconds, and a stale value is an error that
names the command to run:

    python -m actlab.verify.stored          (make catalog-data)

which also writes the data entries' derivations (``actlab/catalog/data/derived.json``, :mod:`actlab.catalog.derived`).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from actlab.catalog.spec import ActivationSpec
from actlab.paths import write_json

PATH = Path(__file__).resolve().parents[1] / "catalog" / "data" / "references.json"
DIGITS = 400
KEPT = 25  # significant digits stored: float64 needs 17
GATED_VALUES = [-27.18, -2.618, -0.3183, 0.7391, 4.9348, 66.6]
COMMAND = "python -m actlab.verify.stored (make catalog-data)"


def fingerprint(spec: ActivationSpec) -> str:
    """What the stored values of ``spec`` were computed from: a data entry's definition, a hand-written built-in's
    reference transcription (its source text) and default parameters."""
    from actlab.verify.references import ELEMENTWISE, GATED

    if spec.formula_expression is not None:
        text = str(spec.formula_expression) + json.dumps(spec.defaults(), sort_keys=True, default=list)
    else:
        function = ELEMENTWISE.get(spec.name) or GATED.get(spec.name)
        source = inspect.getsource(function) if function is not None else spec.name
        text = source + json.dumps(spec.defaults(), sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reference_function(spec: ActivationSpec):
    """f at high precision, ``f(*inputs)`` on mpmath numbers (one input, or a gated activation's two chunks)."""
    import mpmath

    from actlab.verify.references import ELEMENTWISE, GATED

    params = spec.defaults()
    if spec.gated:
        if spec.name == "maxout":
            return lambda a, b: max(a, b)
        return lambda a, b: GATED[spec.name](a, b, mpmath)
    if spec.formula_expression is not None:
        from actlab.catalog.expressions import compile_expr
        from actlab.verify.mp import MPMATH

        formula = compile_expr(spec.formula_expression)
        return lambda t: formula(t, MPMATH, params)
    return lambda t: ELEMENTWISE[spec.name](t, mpmath, **params)


def _text(value: Any) -> str:
    """``value`` to :data:`KEPT` digits; beyond any float (|v| > 1e400: e^(e^9999) has an exponent of thousands of
    digits) as ±inf, below any (|v| < 1e-400) as 0, which is what float64 must give there."""
    import mpmath

    from actlab.verify.mp import real

    value = real(value)
    if mpmath.isnan(value):
        return "nan"
    if mpmath.isinf(value) or abs(value) > mpmath.mpf("1e400"):
        return "inf" if value > 0 else "-inf"
    if abs(value) < mpmath.mpf("1e-400"):
        return "0"
    return mpmath.nstr(value, KEPT, min_fixed=1, max_fixed=0)


def compute(spec: ActivationSpec) -> dict[str, Any]:
    """The stored record of one activation (see the module docstring); gated ones on pairs of chunk values, with
    both partial derivatives."""
    import mpmath

    from actlab.verify.check import GRID

    f = reference_function(spec)
    with mpmath.workdps(DIGITS):
        if spec.gated:
            pairs = [(a, b) for a in GATED_VALUES for b in GATED_VALUES]
            rows = []
            for a, b in pairs:
                ma, mb = mpmath.mpf(a), mpmath.mpf(b)
                da = mpmath.diff(lambda s, mb=mb: f(s, mb), ma) if spec.name != "maxout" else mpmath.mpf(a >= b)
                db = mpmath.diff(lambda t, ma=ma: f(ma, t), mb) if spec.name != "maxout" else mpmath.mpf(b > a)
                rows.append([a, b, _text(f(ma, mb)), _text(da), _text(db)])
            return {"fingerprint": fingerprint(spec), "pairs": rows}
        values = [_text(f(mpmath.mpf(v))) for v in GRID]
        slopes = [_text(mpmath.diff(f, mpmath.mpf(v))) for v in GRID]
    return {"fingerprint": fingerprint(spec), "x": list(GRID), "f": values, "d": slopes}


@functools.cache
def stored() -> dict[str, dict[str, Any]]:
    try:
        return json.loads(PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def record(spec: ActivationSpec) -> dict[str, Any] | None:
    """The stored values of ``spec`` if they are current (computed from what defines it now), else None."""
    entry = stored().get(spec.name)
    return entry if entry is not None and entry["fingerprint"] == fingerprint(spec) else None


def refresh(names: list[str] | None = None, log=print) -> list[str]:
    """Recompute the stored values (of ``names``, or of every entry whose values are missing or stale) and the data
    entries' shipped derivations; returns the names recomputed."""
    import actlab
    from actlab.catalog import derived, entries
    from actlab.catalog.formula import derive

    shipped = {}
    for path in entries.files():
        for definition, _ in entries.read(path)[0]:
            digest = derived.key(definition.canonical())
            known = derived.packaged().get(digest)
            shipped[digest] = known if known is not None else derive(definition).to_json()
    write_json(derived.PACKAGED, shipped, indent=0, sort_keys=True)
    derived.packaged.cache_clear()
    values = dict(stored())
    todo = names or [n for n in actlab.names() if record(actlab.spec(n)) is None and not actlab.spec(n).user_defined]
    for name in todo:
        log(f"{name} …")
        values[name] = compute(actlab.spec(name))
    values = {n: v for n, v in values.items() if n in set(actlab.names())}
    write_json(PATH, values, indent=0, sort_keys=True)
    stored.cache_clear()
    return todo


def main(argv: list[str] | None = None) -> int:
    """``python -m actlab.verify.stored [NAME …]``: refresh the stored values (every stale entry, or those named)."""
    names = list(sys.argv[1:] if argv is None else argv)
    done = refresh(names or None)
    print(f"stored reference values: {len(done)} computed, {len(stored())} in {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
