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

import datetime
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from actlab.catalog import expressions
from actlab.catalog.spec import ActivationError, ActivationSpec, Param, Properties, Reference
from actlab.choices import INITS

DEFINITION_KEYS = {"name", "formula", "params", "description", "reference", "derivative", "init"}
PARAM_KEYS = {"default", "min", "max", "learnable", "doc"}


@dataclass(frozen=True)
class ParamDefinition:
    default: float
    minimum: float | None = None
    maximum: float | None = None
    learnable: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Definition:
    """What a user writes to define an activation."""

    name: str
    formula: str
    params: dict[str, ParamDefinition] = field(default_factory=dict)
    description: str = ""
    reference: str = ""
    derivative: str | None = None
    init: str = "he_normal"

    def canonical(self) -> str:
        """The definition as canonical JSON: what a run stores and what defines it again."""
        params = {
            k: {"default": p.default, "min": p.minimum, "max": p.maximum, "learnable": p.learnable}
            for k, p in sorted(self.params.items())
        }
        record = {
            "kind": "formula",
            "name": self.name,
            "formula": self.formula,
            "params": params,
            "derivative": self.derivative,
            "init": self.init,
        }
        return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ActivationError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    """A true/false setting, which must be written as one: bool("false") is True, so a string is refused."""
    if not isinstance(value, bool):
        raise ActivationError(f"{where} must be true or false, got {value!r}")
    return value


def parse_params(raw: Any, where: str) -> dict[str, ParamDefinition]:
    """``{alpha = 1.0}`` or ``{alpha = {default = 1.0, min = 0, learnable = true}}`` → parameter definitions."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ActivationError(f"{where}.params must be a table of name = default (or name = {{default = …}})")
    params = {}
    for name, value in raw.items():
        at = f"{where}.params.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in ("x", "pi", "E"):
            raise ActivationError(f"{at}: a parameter needs a name other than x, pi and E")
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - PARAM_KEYS)
            if unknown:
                raise ActivationError(f"{at}: unknown keys {', '.join(unknown)} (use {', '.join(sorted(PARAM_KEYS))})")
            if "default" not in value:
                raise ActivationError(f"{at}: needs a default value (default = …)")
            minimum = None if value.get("min") is None else _number(value["min"], f"{at}.min")
            maximum = None if value.get("max") is None else _number(value["max"], f"{at}.max")
            params[name] = ParamDefinition(
                _number(value["default"], f"{at}.default"),
                minimum,
                maximum,
                value.get("learnable") is not None and _flag(value["learnable"], f"{at}.learnable"),
                str(value.get("doc", "")),
            )
        else:
            params[name] = ParamDefinition(_number(value, f"{at} (its default)"))
        p = params[name]
        if p.minimum is not None and p.maximum is not None and p.minimum > p.maximum:
            raise ActivationError(f"{at}: min {p.minimum:g} is greater than max {p.maximum:g}; swap them")
        if (p.minimum is not None and p.default < p.minimum) or (p.maximum is not None and p.default > p.maximum):
            raise ActivationError(f"{at}: the default {p.default:g} is outside [{p.minimum}, {p.maximum}]")
    return params


def parse_definition(table: Mapping[str, Any], where: str = "activation") -> Definition:
    """A ``[[activation]]`` table (or the same as keyword arguments) → a :class:`Definition`."""
    if not isinstance(table, Mapping):
        raise ActivationError(f"{where}: must be a table with name and formula")
    unknown = sorted(set(table) - DEFINITION_KEYS)
    if unknown:
        raise ActivationError(f"{where}: unknown keys {', '.join(unknown)} (use {', '.join(sorted(DEFINITION_KEYS))})")
    for key in ("name", "formula"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise ActivationError(f'{where}: needs {key} = "…"')
    init = table.get("init", "he_normal")
    if init not in INITS:
        raise ActivationError(f"{where}.init: {init!r}; use one of {', '.join(INITS)}")
    derivative = table.get("derivative")
    if derivative is not None and not isinstance(derivative, str):
        raise ActivationError(f"{where}.derivative must be a formula (a string)")
    return Definition(
        table["name"].strip(),
        table["formula"].strip(),
        parse_params(table.get("params"), where),
        str(table.get("description", "")),
        str(table.get("reference", "")),
        derivative.strip() if derivative else None,
        init,
    )


def from_canonical(text: str) -> Definition:
    """The :class:`Definition` of :meth:`Definition.canonical` text."""
    record = json.loads(text)
    params = {
        k: {"default": v["default"], "min": v["min"], "max": v["max"], "learnable": v["learnable"]}
        for k, v in record["params"].items()
    }
    return parse_definition(
        {
            "name": record["name"],
            "formula": record["formula"],
            "params": params,
            "derivative": record.get("derivative"),
            "init": record.get("init", "he_normal"),
        }
    )


def _reference(text: str, description: str, name: str) -> Reference:
    """Where a user's activation comes from: an arXiv id or a URL in ``text``, else the text itself."""
    year = datetime.date.today().year
    arxiv = re.search(r"arXiv:\s*([0-9]{4}\.[0-9]{4,5})", text or "", re.I)
    url = re.search(r"https?://\S+", text or "")
    venue = "" if arxiv or url else text
    return Reference(
        title=description or f"{name} (user-defined)",
        authors="user-defined",
        year=year,
        venue=venue,
        arxiv=arxiv.group(1) if arxiv else None,
        url=url.group(0) if url else None,
    )


def build_spec(definition: Definition, source: str | None = None) -> ActivationSpec:
    """The spec of ``definition``: exact derivative, stable compiled code, measured properties."""
    try:
        return _build_spec(definition, source)
    except RecursionError:  # a formula nested deeper than SymPy's rewriting and differentiation can follow
        raise expressions.FormulaError(
            f"{definition.name}: formula: too deeply nested to differentiate ({len(definition.formula):,} "
            "characters); write it more simply"
        ) from None


def _build_spec(definition: Definition, source: str | None) -> ActivationSpec:
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
    forward, derivative = expressions.compile_expr(stable), expressions.compile_expr(slope)
    learnable = [n for n, p in definition.params.items() if p.learnable]
    partials = {n: expressions.compile_expr(expressions.derivative(stable, names[n])) for n in learnable}
    params = tuple(
        Param(n, p.default, p.doc or f"parameter {n}", minimum=p.minimum, maximum=p.maximum, learnable=p.learnable)
        for n, p in definition.params.items()
    )
    spec = ActivationSpec(
        name=definition.name,
        family="user-defined",
        summary=definition.description or f"f(x) = {definition.formula}",
        forward=lambda x, xp, **p: forward(x, xp, p),
        derivative=lambda x, xp, **p: derivative(x, xp, p),
        formula="f(x)=" + sympy.latex(expr),
        derivative_formula="f'(x)=" + sympy.latex(expressions.simplified(slope)),
        properties=Properties(range=(-math.inf, math.inf), monotonic=False, smooth=False, zero_centred=False),
        reference=_reference(definition.reference, definition.description, definition.name),
        params=params,
        param_derivatives={n: (lambda x, xp, _f=f, **p: _f(x, xp, p)) for n, f in partials.items()},
        notes=f"User-defined: {definition.formula}",
        init=definition.init,
        definition=definition.canonical(),
        source=source,
        expression=expr,
    )
    return replace(spec, properties=measure_spec(spec).properties)


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
