"""A user's activation defined by a formula: its text (and parameters) → an :class:`ActivationSpec` like any other.

    [[activation]]
    name = "serf_alpha"
    formula = "x * erf(alpha * softplus(x))"
    params = { alpha = 1.0 }                      # or { alpha = { default = 1.0, min = 0, learnable = true } }
    description = "Serf with a slope on the softplus"
    reference = "arXiv:2108.09598"
    # derivative = "…"                            # optional: checked against the exact one
    # init = "glorot_uniform"                     # the initialisation to use it with (default he_normal)

The exact derivative comes from SymPy (:func:`actlab.catalog.expressions.derivative`), as does ∂f/∂parameter for each
learnable parameter; forward and derivatives are compiled for the array namespace in stable form; the properties are
measured (:mod:`actlab.catalog.measure`). The spec keeps its definition's canonical text, so a run of it stores the
definition and any process can define it again.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from actlab.catalog import derived as derived_store
from actlab.catalog import expressions
from actlab.catalog.definition import (  # noqa: F401 (parse_definition, from_canonical: this module's API too)
    Definition,
    Entry,
    ParamDefinition,
    from_canonical,
    parse_definition,
    user_reference,
)
from actlab.catalog.spec import ActivationError, ActivationSpec, Deferred, Param, Properties
from actlab.timelimit import time_limit


def build_spec(definition: Definition, source: str | None = None, entry: Entry | None = None) -> ActivationSpec:
    """The spec of ``definition``: exact derivative, stable compiled code, measured properties; a catalog ``entry``
    is built in (no definition text of its own: runs name it), a user's formula carries its definition.

    The derivation comes from :mod:`actlab.catalog.derived` where it was made before (SymPy's work, seconds); the
    forward and derivatives are compiled from it when first called."""
    digest = derived_store.key(definition.canonical())
    derivation = derived_store.lookup(digest)
    if derivation is None:
        derivation = derive(definition)
        derived_store.store(digest, derivation)
    return _spec(definition, derivation, source, entry)


def derive(definition: Definition) -> derived_store.Derived:
    """SymPy's work on ``definition`` (see :class:`~actlab.catalog.derived.Derived`); its errors are the formula's."""
    try:
        with deadline(DERIVE_SECONDS, definition.name):
            return _derive(definition)
    except RecursionError:  # a formula nested deeper than SymPy's rewriting and differentiation can follow
        raise expressions.FormulaError(
            f"{definition.name}: formula: too deeply nested to differentiate ({len(definition.formula):,} "
            "characters); write it more simply"
        ) from None


DERIVE_SECONDS = 10.0  # a formula SymPy cannot derive in this time is refused (nested abs, products of 100 factors)


def deadline(seconds: float, name: str) -> contextlib.AbstractContextManager[None]:
    """Raise one clear :class:`~actlab.catalog.expressions.FormulaError` if the block runs longer than ``seconds``
    (in the main thread, where a timer signal can interrupt SymPy; elsewhere the block runs unbounded)."""
    return time_limit(
        seconds,
        lambda: expressions.FormulaError(
            f"{name}: formula: SymPy could not derive it within {seconds:g} s (too large or too deeply nested); write "
            "it more simply, or as a Python plugin with a hand-written derivative"
        ),
    )


def _derive(definition: Definition) -> derived_store.Derived:
    import sympy

    from actlab.catalog.measure import measure_spec

    where = f"{definition.name}: formula"
    names = {n: _symbol(n, p) for n, p in definition.params.items()}
    expr = expressions.parse(definition.formula, names, where)
    if isinstance(expr, tuple) or not isinstance(expr, sympy.Expr):
        raise expressions.FormulaError(f"{where}: {definition.formula!r} is not a number-valued expression")
    if "x" not in {s.name for s in expr.free_symbols}:
        raise expressions.FormulaError(f"{where}: {definition.formula!r} does not depend on x")
    stable = expressions.stabilise(expr)
    slope = expressions.derivative(stable)
    if definition.derivative is not None:
        _check_given(
            definition,
            expressions.parse(definition.derivative, names, f"{definition.name}: derivative"),
            sympy.diff(expr, expressions.X),
        )
    learnable = [n for n, p in definition.params.items() if p.learnable]
    partials = {n: expressions.derivative(stable, names[n]) for n in learnable}
    text = expressions.to_srepr
    unmeasured = Properties(range=(-math.inf, math.inf), monotonic=False, smooth=False, zero_centred=False)
    derivation = derived_store.Derived(
        expression=text(expr),
        forward=text(stable),
        derivative=text(slope),
        formula_tex="f(x)=" + sympy.latex(expr),
        derivative_tex="f'(x)=" + sympy.latex(expressions.simplified(slope)),
        properties=unmeasured,
        partials={n: text(e) for n, e in partials.items()},
    )
    measured = measure_spec(_spec(definition, derivation, None, None)).properties
    return replace(derivation, properties=measured)


def _compiled(text: str):
    """The function ``f(x, xp, **params)`` of a stored expression, parsed and compiled when first called."""
    compiled = Deferred(lambda: expressions.compile_expr(expressions.from_srepr(text)))

    def evaluate(x, xp, **p):  # an array like x even where the expression is a constant or a parameter (alpha*x's f′)
        return xp.broadcast(compiled.get()(x, xp, p), x)

    evaluate.stored_expression = text  # what `actlab export` prints
    return evaluate


def _spec(
    definition: Definition, derivation: derived_store.Derived, source: str | None, entry: Entry | None
) -> ActivationSpec:
    params = tuple(
        Param(n, p.default, p.doc or f"parameter {n}", minimum=p.minimum, maximum=p.maximum, learnable=p.learnable)
        for n, p in definition.params.items()
    )
    common = dict(
        name=definition.name,
        summary=definition.description or f"f(x) = {definition.formula}",
        forward=_compiled(derivation.forward),
        derivative=_compiled(derivation.derivative),
        formula=derivation.formula_tex,
        derivative_formula=derivation.derivative_tex,
        properties=derivation.properties,
        params=params,
        param_derivatives={n: _compiled(t) for n, t in derivation.partials.items()},
        init=definition.init,
        expression=Deferred(lambda: expressions.from_srepr(derivation.expression)),
        formula_text=definition.formula,
    )
    if entry is not None:
        return ActivationSpec(
            family=entry.family,
            reference=entry.reference,
            aliases=entry.aliases,
            notes=entry.notes,
            category=entry.category,
            **common,
        )
    return ActivationSpec(
        family="user-defined",
        reference=user_reference(definition.reference, definition.description, definition.name),
        notes=f"User-defined: {definition.formula}",
        definition=definition.canonical(),
        source=source,
        **common,
    )


def _symbol(name: str, param: ParamDefinition):
    """A parameter's SymPy symbol: real, and non-negative when its minimum says so (which lets the stable rewrites
    apply, e.g. x + √(x² + b))."""
    import sympy

    if param.minimum is not None and param.minimum >= 0:
        return sympy.Symbol(name, real=True, nonnegative=True)
    return sympy.Symbol(name, real=True)


def _check_given(definition: Definition, given: Any, exact: Any) -> None:
    """A hand-written derivative must equal the exact one (symbolically, else at sample points in high precision)."""
    import sympy

    difference = sympy.simplify(given - exact) if sympy.count_ops(given - exact) <= 200 else given - exact
    if difference == 0:
        return
    defaults = {_symbol(n, p): p.default for n, p in definition.params.items()}
    for value in (-3.7, -1.3, -0.4, 0.3, 0.9, 2.2, 5.1):
        gap, scale = _at(difference, value, defaults), 1 + abs(_at(exact, value, defaults))
        if abs(gap) > 1e-12 * scale:
            raise ActivationError(
                f"{definition.name}: the derivative given, {definition.derivative!r}, differs from the "
                f"exact one, {sympy.sstr(exact)!r}, at x = {value}"
            )


def _at(expr: Any, x: float, defaults: Mapping[Any, float]) -> complex:
    """``expr`` at ``x`` (and the parameters at their ``defaults``) to 30 digits: by SymPy's evalf, or, where it
    calls catalog activations, which evalf cannot evaluate (relu(x)**2 has the derivative 2·relu(x)·relu_slope(x)),
    compiled and evaluated on mpmath numbers (a catalog activation by its reference formula)."""
    import mpmath

    from actlab.verify.mp import MPMATH

    with mpmath.workdps(30):
        if not expressions.catalog_calls(expr):
            return complex(expr.evalf(30, subs={expressions.X: x, **defaults}))
        params = {symbol.name: mpmath.mpf(v) for symbol, v in defaults.items()}
        return complex(expressions.compile_expr(expr)(mpmath.mpf(x), MPMATH, params))
