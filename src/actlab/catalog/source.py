"""A formula's stable expression as Python source for NumPy, PyTorch or JAX (what `actlab export` writes): the same
tree :func:`actlab.catalog.expressions.compile_expr` compiles, printed with that library's functions only, so the
file needs nothing else. Helpers the printed code calls (erf on NumPy, √-sum, sigmoid) are in :data:`HELPERS`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy
from sympy.codegen.cfunctions import expm1, log1p

from actlab.catalog.expressions import CatalogCall, FormulaError, Sigmoid, Softplus, SqrtSum, X

LIBRARIES = ("numpy", "torch", "jax")
# per library: its module alias and the name of each function in it
NAMES = {
    "numpy": {"lib": "np", "atan": "np.arctan", "asinh": "np.arcsinh", "erf": "_erf", "erfc": "_erfc",
              "sigmoid": "_sigmoid", "softplus": "_softplus", "where": "np.where", "power": "np.power"},
    "torch": {"lib": "torch", "atan": "torch.atan", "asinh": "torch.asinh", "erf": "torch.special.erf",
              "erfc": "torch.special.erfc", "sigmoid": "torch.sigmoid", "softplus": "_softplus",
              "where": "torch.where", "power": "torch.pow"},
    "jax": {"lib": "jnp", "atan": "jnp.arctan", "asinh": "jnp.arcsinh", "erf": "jax.scipy.special.erf",
            "erfc": "jax.scipy.special.erfc", "sigmoid": "jax.nn.sigmoid", "softplus": "_softplus",
            "where": "jnp.where", "power": "jnp.power"},
}
HELPERS = {
    "numpy": '''def _mul0(a, b):
    return np.where((a == 0) | (b == 0), 0.0, a * b)


_erf = np.vectorize(math.erf, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])


def _softplus(u):
    return np.logaddexp(0.0, u)


def _sigmoid(u):
    return np.exp(-np.logaddexp(0.0, -u))
''',
    "torch": '''def _mul0(a, b):
    product = a * b
    return torch.where((a == 0) | (b == 0), torch.zeros_like(product), product)


def _softplus(u):
    return torch.logaddexp(u, torch.zeros_like(u))
''',
    "jax": '''def _mul0(a, b):
    return jnp.where((a == 0) | (b == 0), 0.0, a * b)


def _softplus(u):
    return jnp.logaddexp(u, 0.0)
''',
}
SQRT_SUM = '''

def _sqrt_sum(u, c):
    """u + sqrt(u**2 + c) without cancelling where u is very negative."""
    root = {lib}.sqrt(u * u + c)
    return {where}(u < 0, c / (root - {where}(u < 0, u, -u - 1.0)), u + root)
'''
SIMPLE = ("exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sign", "abs")


def to_source(expr: Any, library: str, values: dict[str, float]) -> str:
    """``expr`` as a Python expression in x for ``library``, its parameters fixed at ``values`` (what does not depend
    on x, exp(b) say, is computed here: torch.exp of a number is an error)."""
    return _Printer(library, values).print(expr)


class _Printer:
    def __init__(self, library: str, values: dict[str, float]) -> None:
        self.names = NAMES[library]
        self.lib = self.names["lib"]
        self.values = values

    def call(self, name: str, *args: Any) -> str:
        function = self.names.get(name) or f"{self.lib}.{name}"
        return f"{function}({', '.join(self.print(a) for a in args)})"

    def print(self, expr: Any) -> str:
        if expr is sympy.true or expr is sympy.false:
            return str(bool(expr))
        if expr == X:
            return "x"
        if isinstance(expr, sympy.Expr) and X not in expr.free_symbols:
            value = complex(expr.evalf(30, subs={s: self.values[s.name] for s in expr.free_symbols}))
            return repr(value.real)
        if isinstance(expr, sympy.core.relational.Relational) and X not in expr.free_symbols:
            return repr(bool(expr.subs({s: self.values[s.name] for s in expr.free_symbols})))
        for kind, method in self.RULES:
            if isinstance(expr, kind):
                return method(self, expr)
        if isinstance(expr, CatalogCall):
            raise FormulaError(f"the formula calls the catalog activation {expr.spec_name}, which has no formula to "
                               "export; write it out in the formula")
        raise FormulaError(f"cannot export {type(expr).__name__} ({expr})")

    def _add(self, e):
        return "(" + " + ".join(self.print(a) for a in e.args) + ")"

    def _mul(self, e):
        """A product, exactly 0 wherever a factor is (0 · ∞ = 0: a factor that underflowed wins), as actlab's own."""
        constants = [self.print(a) for a in e.args if X not in a.free_symbols]
        text = None
        for factor in (a for a in e.args if X in a.free_symbols):
            text = self.print(factor) if text is None else f"_mul0({text}, {self.print(factor)})"
        return "(" + " * ".join([*constants, text or "1.0"]) + ")"

    def _pow(self, e):
        base, exponent = self.print(e.base), e.exp
        if exponent.is_number:
            value = float(exponent)
            if value == 0.5:
                return f"{self.lib}.sqrt({base})"
            if value == -1:
                return f"(1.0 / {base})"
            if value == int(value) and abs(value) <= 4:
                return f"({base} ** {int(value)})"
        return f"{self.names['power']}({base}, {self.print(exponent)})"

    def _piecewise(self, e):
        (last, condition), *_ = reversed(e.args)
        text = self.print(last) if condition is sympy.true else f"{self.names['where']}({self.print(condition)}, " \
            f"{self.print(last)}, {self.print(X)} * float('nan'))"
        for value, condition in reversed(e.args[:-1]):
            text = f"{self.names['where']}({self.print(condition)}, {self._full(value)}, {text})"
        return f"{self.names['where']}(x != x, x, {text})"  # NaN in, NaN out

    def _full(self, value):
        """A piece as an array like x (a constant piece would otherwise be a scalar in where())."""
        return f"({self.print(value)} + 0.0 * x)" if X not in value.free_symbols else self.print(value)

    def _relation(self, e):
        symbol = {sympy.StrictGreaterThan: ">", sympy.GreaterThan: ">=", sympy.StrictLessThan: "<",
                  sympy.LessThan: "<=", sympy.Equality: "==", sympy.Unequality: "!="}[type(e)]
        return f"({self.print(e.lhs)} {symbol} {self.print(e.rhs)})"

    def _logic(self, e):
        joiner = " & " if isinstance(e, sympy.And) else " | "
        return "(" + joiner.join(self.print(a) for a in e.args) + ")"

    def _extreme(self, e):
        function = f"{self.lib}.maximum" if isinstance(e, sympy.Max) else f"{self.lib}.minimum"
        text = self.print(e.args[0])
        for a in e.args[1:]:
            text = f"{function}({text}, {self._full(a)})"
        return text

    def _heaviside(self, e):
        u = self.print(e.args[0])
        at_zero = float(e.args[1]) if len(e.args) > 1 else 0.5
        where = self.names["where"]
        return f"{where}({u} > 0, 1.0 + 0.0 * x, {where}({u} < 0, 0.0 * x, {at_zero} + 0.0 * x))"

    RULES: list[tuple[type, Callable[..., str]]] = []


def _calls(name: str) -> Callable[..., str]:
    return lambda self, e: self.call(name, *e.args)


_Printer.RULES = [
    (sympy.Add, _Printer._add),
    (sympy.Mul, _Printer._mul),
    (sympy.Pow, _Printer._pow),
    (sympy.Piecewise, _Printer._piecewise),
    (sympy.Heaviside, _Printer._heaviside),
    (sympy.DiracDelta, lambda self, e: "(0.0 * x)"),
    (sympy.core.relational.Relational, _Printer._relation),
    (sympy.And, _Printer._logic),
    (sympy.Or, _Printer._logic),
    (sympy.Not, lambda self, e: f"(~{self.print(e.args[0])})"),
    (sympy.Max, _Printer._extreme),
    (sympy.Min, _Printer._extreme),
    (SqrtSum, lambda self, e: f"_sqrt_sum({self.print(e.args[0])}, {self.print(e.args[1])})"),
    (Softplus, _calls("softplus")),
    (Sigmoid, _calls("sigmoid")),
    (log1p, _calls("log1p")),
    (expm1, _calls("expm1")),
    (sympy.atan, _calls("atan")),
    (sympy.asinh, _calls("asinh")),
    (sympy.erf, _calls("erf")),
    (sympy.erfc, _calls("erfc")),
    (sympy.Abs, _calls("abs")),
    *[(getattr(sympy, name), _calls(name)) for name in SIMPLE if name != "abs"],
]
