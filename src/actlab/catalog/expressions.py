"""Formulas as SymPy expressions: parsed safely from text, rewritten into numerically stable forms, differentiated
exactly, and compiled into functions of an array namespace (NumPy, torch, or mpmath for references).

The text is parsed with Python's ``ast`` module and only a whitelist of nodes is accepted (numbers, the variable
``x``, declared parameters, arithmetic, comparisons inside ``Piecewise``, calls of allowed functions), so a formula
can never run code. Compiling builds nested closures over the namespace's functions — no source text is generated or
evaluated — and a product is exactly 0 wherever one factor is (so x·g(x) at x = ±∞ with g underflowing to 0 is 0, as
the catalog's own formulas make it).
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

import sympy
from sympy.codegen.cfunctions import expm1, log1p

from actlab.catalog.spec import ActivationError


class FormulaError(ActivationError):
    """A formula that cannot be parsed, names something unknown, or cannot be compiled."""


# --- the functions a formula may call ----------------------------------------------------------------------
class RealFunction(sympy.Function):
    """A function that is real at every real argument: SymPy then differentiates abs(f(x)) as sign(f)·f′ (not
    through re and im, which no array namespace evaluates)."""

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real


class Softplus(RealFunction):
    """log(1 + eˣ), evaluated stably (rewritten from that pattern)."""

    nargs = 1

    def _latex(self, printer, exp=None):
        tex = r"\operatorname{softplus}\left(" + printer._print(self.args[0]) + r"\right)"
        return tex if exp is None else f"{tex}^{{{exp}}}"

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0])


class Sigmoid(RealFunction):
    """1 / (1 + e⁻ˣ), evaluated stably (rewritten from that pattern)."""

    nargs = 1

    def _latex(self, printer, exp=None):
        tex = r"\sigma\left(" + printer._print(self.args[0]) + r"\right)"
        return tex if exp is None else f"{tex}^{{{exp}}}"

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0]) * Sigmoid(-self.args[0])


class SqrtSum(sympy.Function):
    """u + √(u² + c) for c ≥ 0, evaluated without cancelling where u is very negative (as c / (√(u² + c) - u))."""

    nargs = 2

    def fdiff(self, argindex=1):
        u, c = self.args
        root = sympy.sqrt(u**2 + c)
        return SqrtSum(u, c) / root if argindex == 1 else 1 / (2 * root)

    def _latex(self, printer, exp=None):
        u, c = (printer._print(a) for a in self.args)
        tex = rf"\left({u} + \sqrt{{{u}^{{2}} + {c}}}\right)"
        return tex if exp is None else f"{tex}^{{{exp}}}"


class CatalogCall(RealFunction):
    """A catalog activation at its default parameters, called by name in a formula: ``relu(x)``."""

    nargs = 1
    spec_name = ""

    def fdiff(self, argindex=1):
        return CATALOG_SLOPES[self.spec_name](self.args[0])


class CatalogSlope(RealFunction):
    """The derivative of a catalog activation (its hand-derived one)."""

    nargs = 1
    spec_name = ""

    def fdiff(self, argindex=1):
        raise FormulaError(f"the second derivative of {self.spec_name} is not known")


CATALOG_CALLS: dict[str, type] = {}
CATALOG_SLOPES: dict[str, type] = {}


def catalog_function(name: str) -> type:
    """The SymPy function standing for catalog activation ``name`` (created on first use)."""
    if name not in CATALOG_CALLS:
        CATALOG_SLOPES[name] = type(f"{name}_slope", (CatalogSlope,), {"spec_name": name})
        CATALOG_CALLS[name] = type(name, (CatalogCall,), {"spec_name": name})
    return CATALOG_CALLS[name]


ELEMENTARY: dict[str, Any] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "log1p": log1p,
    "expm1": expm1,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "Abs": sympy.Abs,
    "sign": sympy.sign,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "tanh": sympy.tanh,
    "asinh": sympy.asinh,
    "Heaviside": sympy.Heaviside,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "atan": sympy.atan,
    "erf": sympy.erf,
    "erfc": lambda u: sympy.erfc(u, evaluate=False),  # erfc(-u) kept, not 2 - erfc(u), which cancels to 0 in its tail
    "Max": sympy.Max,
    "Min": sympy.Min,
    "max": sympy.Max,
    "min": sympy.Min,
    "Piecewise": sympy.Piecewise,
    # the mathematical functions, evaluated stably (the catalog's softplus follows PyTorch's threshold of 20)
    "softplus": Softplus,
    "sigmoid": Sigmoid,
}
CONSTANTS: dict[str, Any] = {"pi": sympy.pi, "E": sympy.E}
X = sympy.Symbol("x", real=True)


def catalog_names() -> list[str]:
    """Catalog activations a formula may call by name: elementwise, deterministic, taking one input."""
    from actlab.catalog import REGISTRY

    usable = []
    for name in REGISTRY.names():
        spec = REGISTRY.get(name)
        if not spec.gated and spec.stochastic is None and name not in ELEMENTARY and REGISTRY.is_builtin(name):
            usable.append(name)
    return usable


# --- parsing -------------------------------------------------------------------------------------------------
def parse(text: str, params: Mapping[str, Any] = (), where: str = "formula") -> sympy.Expr:
    """The SymPy expression of ``text`` in the variable ``x`` and the parameters ``params`` (names)."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError(f"{where}: a formula is a non-empty string such as 'x * tanh(softplus(x))'")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise FormulaError(f"{where}: syntax error at column {error.offset}: {error.msg} in {text.strip()!r}") from None
    except (MemoryError, RecursionError):  # the parser's own limits: 100,000 minus signs in a row
        raise _too_deep(text, where) from None
    if _depth(tree) > MAX_DEPTH:
        raise _too_deep(text, where)
    size = sum(1 for _ in ast.walk(tree))
    if size > MAX_NODES:
        raise FormulaError(
            f"{where}: the formula is too long or too deeply nested to derive in reasonable time ({size} terms and "
            f"operations; at most {MAX_NODES}): write it more simply, or as a Python plugin with a hand-written "
            "derivative"
        )
    symbols = {
        "x": X,
        **{
            name: params[name]
            if isinstance(params, Mapping) and isinstance(params[name], sympy.Symbol)
            else sympy.Symbol(name, real=True)
            for name in params
        },
    }
    try:
        return _Converter(text.strip(), symbols, where).convert(tree.body)
    except RecursionError:  # what the parser accepts may still nest deeper than converting it can follow
        raise _too_deep(text, where) from None


# How deeply a formula may nest (levels of its syntax tree). A fixed limit, not Python's recursion limit: that one
# differs between processes (torch.compile raises it), so a formula's fate must not depend on what ran before.
# Converting and differentiating take a few frames a level, and this leaves SymPy room within the default 1000.
MAX_DEPTH = 64


def _depth(tree: ast.Expression) -> int:
    """The number of expressions on the longest path down ``tree`` (``-x`` has 2), counted without recursion. A sum
    or product of many terms is one level (``x + x + x`` nests as ``(x + x) + x``, but SymPy flattens it): an
    operation whose operand is the same operation adds none."""
    deepest, level = 0, [(tree.body, 1)]
    while level:
        below = []
        for node, depth in level:
            deepest = max(deepest, depth)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    chained = isinstance(node, ast.BinOp) and isinstance(child, ast.BinOp) and type(child.op) is type(
                        node.op
                    )
                    below.append((child, depth if chained else depth + 1))
        level = below
    return deepest


def _too_deep(text: str, where: str) -> FormulaError:
    """The error for a formula nested beyond what Python's parser (or SymPy) can follow."""
    return FormulaError(
        f"{where}: the formula is too long or too deeply nested ({len(text):,} characters, at most {MAX_DEPTH} "
        "levels of nesting); write it more simply"
    )


MAX_NODES = 400  # parsed nodes (x, numbers, operators, calls) in a formula: the largest catalog formulas have ~80

# a constant with more digits than this (|exponent · log10|base|| for a power) is one no float holds, and one SymPy
# would compute digit by digit (9**9**9**9, 10**100000000 hang): refused before it is computed
MAX_DIGITS = 1000


class _Converter:
    """Python AST → SymPy, accepting only the nodes a formula needs."""

    BINARY = {
        ast.Add: sympy.Add,
        ast.Sub: lambda a, b: a - b,
        ast.Mult: sympy.Mul,
        ast.Div: lambda a, b: a / b,
        ast.Pow: sympy.Pow,
        ast.BitXor: sympy.Pow,
    }
    COMPARE = {
        ast.Gt: sympy.Gt,
        ast.GtE: sympy.Ge,
        ast.Lt: sympy.Lt,
        ast.LtE: sympy.Le,
        ast.Eq: sympy.Eq,
        ast.NotEq: sympy.Ne,
    }

    def __init__(self, text: str, symbols: dict[str, sympy.Symbol], where: str) -> None:
        self.text, self.symbols, self.where = text, symbols, where

    def fail(self, node: ast.AST, message: str, advice: str = "") -> FormulaError:
        """The error at ``node``: what is wrong and where first, then ``advice`` (which may be long)."""
        column = getattr(node, "col_offset", 0) + 1
        return FormulaError(f"{self.where}: {message} at column {column} of {self.text!r}{advice}")

    def convert(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.fail(node, f"'{ast.unparse(node)}' is not allowed in a formula")
        return self.defined(node, method(node))

    def defined(self, node: ast.AST, value: Any) -> Any:
        """``value``, unless it holds a constant that is not a finite real number (x/0 is x·∞̃ to SymPy, log(-2) is
        complex, 1e999 is ∞): the formula is undefined at every x, which is said here, where it happens."""
        if not isinstance(value, sympy.Expr):
            return value
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise self.fail(node, f"'{ast.unparse(node)}' is undefined or infinite (a division by zero?)")
        if value.is_number and value.is_extended_real is False:
            raise self.fail(node, f"'{ast.unparse(node)}' is not a real number ({value})")
        if any(_too_many_digits(r) for r in value.atoms(sympy.Rational)):
            raise self.fail(node, f"'{ast.unparse(node)}' holds a constant of more than {MAX_DIGITS} digits")
        return value

    def number(self, node: ast.AST, value: Any) -> sympy.Expr:
        """``value``, converted from ``node`` where arithmetic or a function needs a number: True, False, conditions
        and tuples are refused (they belong in Piecewise). (Converting is left to the caller, which keeps the
        recursion to two frames a level, as deep as formulas could nest before.)"""
        if not isinstance(value, sympy.Expr):
            raise self.fail(node, f"'{ast.unparse(node)}' is not a number (True, False and conditions go in Piecewise)")
        return value

    def power(self, node: ast.BinOp, base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
        """base ** exponent, refusing a constant power too large (or too small) for any float before SymPy computes
        it exactly: 9**9**9**9 would take forever. Its size in digits is |exponent · log10|base||."""
        if base.is_number and exponent.is_number and base != 0:
            digits = _digits(base, exponent)
            if digits is None or digits > MAX_DIGITS:
                raise self.fail(
                    node,
                    f"'{ast.unparse(node)}' is a constant too large to compute (more than {MAX_DIGITS} digits "
                    "before or after the decimal point)",
                )
        return sympy.Pow(base, exponent)

    def _Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bool):  # a condition (Piecewise's True), never a number: see number()
            return sympy.true if node.value else sympy.false
        if isinstance(node.value, (int, float)):
            return sympy.Integer(node.value) if isinstance(node.value, int) else sympy.Float(node.value)
        raise self.fail(node, f"{node.value!r} is not a number")

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.symbols:
            return self.symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        known = [*self.symbols, *CONSTANTS]
        close = difflib.get_close_matches(node.id, known, n=3)
        hint = (
            f"; did you mean {', '.join(close)}?"
            if close
            else f" (the variable is x; parameters: "
            f"{', '.join(n for n in self.symbols if n != 'x') or 'none declared'})"
        )
        raise self.fail(node, f"unknown symbol {node.id!r}", hint)

    def _BinOp(self, node: ast.BinOp) -> Any:
        operation = self.BINARY.get(type(node.op))
        if isinstance(node.op, ast.BitAnd):
            return sympy.And(self.convert(node.left), self.convert(node.right))
        if isinstance(node.op, ast.BitOr):
            return sympy.Or(self.convert(node.left), self.convert(node.right))
        if operation is None:
            raise self.fail(node, f"the operator in '{ast.unparse(node)}' is not allowed")
        left = self.number(node.left, self.convert(node.left))
        right = self.number(node.right, self.convert(node.right))
        if operation is sympy.Pow:
            return self.power(node, left, right)
        return operation(left, right)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.convert(node.operand)
        if isinstance(node.op, ast.USub):
            return -self.number(node.operand, operand)
        if isinstance(node.op, ast.UAdd):
            return self.number(node.operand, operand)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return sympy.Not(operand)
        raise self.fail(node, f"'{ast.unparse(node)}' is not allowed")

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        combine = sympy.And if isinstance(node.op, ast.And) else sympy.Or
        return combine(*(self.convert(v) for v in node.values))

    def _Compare(self, node: ast.Compare) -> Any:
        parts, left = [], self.number(node.left, self.convert(node.left))
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.number(comparator, self.convert(comparator))
            relation = self.COMPARE.get(type(op))
            if relation is None:
                raise self.fail(node, f"the comparison in '{ast.unparse(node)}' is not allowed")
            parts.append(relation(left, right))
            left = right
        return sympy.And(*parts) if len(parts) > 1 else parts[0]

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.convert(e) for e in node.elts)

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise self.fail(node, f"'{ast.unparse(node)}' is not a call of a function by name")
        name = node.func.id
        args = [self.convert(a) for a in node.args]
        if name != "Piecewise":
            args = [self.number(a, value) for a, value in zip(node.args, args, strict=True)]
        if name in ELEMENTARY:
            function = ELEMENTARY[name]
            try:
                return function(*args)
            except FormulaError:  # (the deadline on deriving, raised wherever SymPy was)
                raise
            except (TypeError, ValueError) as error:
                raise self.fail(node, f"{name}: {error}") from None
        if name in catalog_names():
            if len(args) != 1:
                raise self.fail(node, f"{name} takes one argument (the catalog activation at its defaults)")
            return catalog_function(name)(args[0])
        allowed = sorted(set(ELEMENTARY) | set(catalog_names()))
        close = difflib.get_close_matches(name, allowed, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise self.fail(node, f"unknown function {name!r}", f"; {hint}allowed: {', '.join(allowed)}")


def _digits(base: sympy.Expr, exponent: sympy.Expr) -> float | None:
    """|exponent · log10|base||, the number of digits (before or after the point) of base ** exponent, from
    15-digit approximations of the two (in mpmath, whose exponents do not overflow); None where it cannot be told."""
    import mpmath

    base, exponent = sympy.N(base, 15), sympy.N(exponent, 15)
    if not (isinstance(base, sympy.Float) and isinstance(exponent, sympy.Float)):
        return None
    size = abs(mpmath.mpf(exponent)) * abs(mpmath.log10(abs(mpmath.mpf(base))))
    return float(size) if mpmath.isfinite(size) else None


def _too_many_digits(number: sympy.Rational) -> bool:
    """Whether an exact constant has more than :data:`MAX_DIGITS` digits (in its numerator or denominator): products
    of allowed powers, 10**999 * 10**999 * …, would otherwise grow without bound."""
    bits = MAX_DIGITS * math.log2(10)
    return abs(number.p).bit_length() > bits or number.q.bit_length() > bits


# --- stable forms ----------------------------------------------------------------------------------------------
def stabilise(expr: sympy.Expr) -> sympy.Expr:
    """Rewrite the patterns that lose precision or overflow into stable functions: log(1 + eᵘ) → softplus(u),
    1/(1 + e⁻ᵘ) and eᵘ/(1 + eᵘ) → σ(u), eᵘ - 1 → expm1(u), log(1 + u) → log1p(u), 1 ± erf(u) → erfc(∓u),
    1 ± tanh(u) → 2σ(±2u), 1 - tanh²(u) → 4σ(2u)σ(-2u) — the forms whose tails cancel to 0 in floating point."""
    u = sympy.Wild("u")
    # each rule with the function it needs: a rule is only tried on expressions holding it (matching a pattern
    # against every node of a large expression is what makes this slow)
    rules = [
        (sympy.log, sympy.log(1 + sympy.exp(u)), lambda u: Softplus(u)),
        (sympy.exp, 1 / (1 + sympy.exp(-u)), lambda u: Sigmoid(u)),
        (sympy.exp, sympy.exp(u) - 1, lambda u: expm1(u)),
        (sympy.log, sympy.log(1 + u), lambda u: log1p(u)),
        (sympy.erf, 1 + sympy.erf(u), lambda u: sympy.erfc(-u, evaluate=False)),  # not SymPy's 2 - erfc(u)
        (sympy.erf, 1 - sympy.erf(u), lambda u: sympy.erfc(u, evaluate=False)),
        (sympy.tanh, 1 + sympy.tanh(u), lambda u: 2 * Sigmoid(2 * u)),
        (sympy.tanh, 1 - sympy.tanh(u), lambda u: 2 * Sigmoid(-2 * u)),
        # tanh′ as SymPy writes it, 1 - tanh²(u), is 0 once tanh(u) rounds to ±1 (|u| > 19 in float64), long before
        # sech²(u) = 4σ(2u)σ(-2u) underflows
        (sympy.tanh, 1 - sympy.tanh(u) ** 2, lambda u: 4 * Sigmoid(2 * u) * Sigmoid(-2 * u)),
    ]
    for needs, pattern, replacement in rules:
        if expr.has(needs):
            expr = expr.replace(pattern, replacement)
    if expr.has(sympy.exp) and expr.has(Sigmoid):
        expr = expr.replace(lambda e: e.is_Mul, _exp_times_sigmoid)
    if not any(p.exp == sympy.Rational(1, 2) for p in expr.atoms(sympy.Pow)):
        return expr
    c = sympy.Wild("c", exclude=[X], properties=[lambda c: c.is_nonnegative is True])
    k = sympy.Wild("k", exclude=[X, 0])
    expr = expr.replace(k * u + k * sympy.sqrt(u**2 + c), lambda k, u, c: k * SqrtSum(u, c))  # SymPy distributes k
    return expr.replace(u + sympy.sqrt(u**2 + c), lambda u, c: SqrtSum(u, c))


def _exp_times_sigmoid(product: sympy.Expr) -> sympy.Expr:
    """``product`` with eᵘ·σ(-u) → σ(u). This is how eᵘ/(1 + eᵘ) gets its stable form: SymPy writes it eᵘ·(1 + eᵘ)⁻¹,
    the rule 1/(1 + e⁻ᵛ) → σ(v) turns that factor into σ(-u), and eᵘ·σ(-u) overflows to ∞·0 where σ(u) is 1."""
    factors = list(product.args)
    for i, power in enumerate(factors):
        if not isinstance(power, sympy.exp):
            continue
        for j, sigmoid in enumerate(factors):
            if isinstance(sigmoid, Sigmoid) and sympy.expand(sigmoid.args[0] + power.args[0]) == 0:
                rest = [f for k, f in enumerate(factors) if k not in (i, j)]
                return sympy.Mul(*rest, Sigmoid(power.args[0]))
    return product


def cancellation_free(expr: sympy.Expr) -> sympy.Expr | None:
    """``expr`` with the differences that cancel where their terms are nearly equal rewritten, or None where there are
    none: √w + r → (w - r²)/(√w - r), its numerator expanded (√(x² + 1) - 1 → x²/(√(x² + 1) + 1)), and 1 - cos(u) →
    2·sin²(u/2). What `actlab check` suggests when a formula loses precision."""

    def rationalise(term: sympy.Expr) -> sympy.Expr:
        roots = [a for a in term.args if isinstance(a, sympy.Pow) and a.exp == sympy.Rational(1, 2)]
        if len(roots) != 1:
            return term
        root, rest = roots[0], sympy.Add(*[a for a in term.args if a is not roots[0]])
        numerator = sympy.expand(root.base - rest**2)
        if sympy.count_ops(numerator) >= sympy.count_ops(root.base + rest**2):
            return term  # nothing cancelled
        return numerator / (root - rest)

    rewritten = expr.replace(lambda e: e.is_Add, rationalise)
    u = sympy.Wild("u")
    rewritten = rewritten.replace(1 - sympy.cos(u), lambda u: 2 * sympy.sin(u / 2) ** 2)
    return None if rewritten == expr else rewritten


def derivative(expr: sympy.Expr, symbol: sympy.Symbol = X) -> sympy.Expr:
    """∂expr/∂symbol as SymPy's product and chain rules give it, in stable form: the form that is compiled (a
    "simplified" single fraction often divides ∞ by ∞ where the sum of bounded terms does not)."""
    return stabilise(sympy.diff(expr, symbol))


def simplified(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` simplified where that is cheap: the form shown to people."""
    if sympy.count_ops(expr) <= 60:
        with contextlib.suppress(TypeError, ValueError, RecursionError):
            return sympy.simplify(expr)
    return expr


# --- compiling -----------------------------------------------------------------------------------------------
Compiled = Callable[[Any, Any, Mapping[str, Any]], Any]  # (x, xp, params) -> value


def compile_expr(expr: Any) -> Compiled:
    """A function ``f(x, xp, params)`` evaluating ``expr`` with the namespace ``xp`` (see the module docstring)."""
    if isinstance(expr, sympy.Symbol):
        name = expr.name
        return (lambda x, xp, p: x) if name == "x" else (lambda x, xp, p: p[name])
    if expr is sympy.true or expr is sympy.false:
        value = bool(expr)
        return lambda x, xp, p: value
    if expr.is_number:
        value = _constant(expr)
        return lambda x, xp, p: value
    if X not in expr.free_symbols and isinstance(expr, sympy.Expr):
        # of the parameters alone (exp(b), sqrt(b)): evaluated on arrays, as the namespace's functions need (a parameter
        # is a plain number on the NumPy path, torch.exp(0.5) is an error)
        inner = _handler(expr)
        return lambda x, xp, p: inner(x, xp, {k: xp.broadcast(v, x) for k, v in p.items()})
    return _handler(expr)


def _handler(expr: Any) -> Compiled:
    handler = _HANDLERS.get(type(expr))
    if handler is None:
        for kind, candidate in _HANDLERS.items():
            if isinstance(expr, kind):
                handler = candidate
                break
    if handler is None:
        raise FormulaError(f"cannot evaluate {type(expr).__name__} ({expr}) in an array namespace")
    return handler(expr)


def _constant(expr: sympy.Expr) -> float:
    """A constant as a float, or one clear error for one that is not a finite real number (parsing refuses those
    written in a formula; this catches any that arithmetic makes, such as 10**999 * 10**999)."""
    try:
        value = complex(expr)
    except (TypeError, ValueError, OverflowError):
        raise FormulaError(f"the constant {sympy.sstr(expr)[:80]} cannot be evaluated as a number") from None
    if value.imag != 0 or not math.isfinite(value.real):
        raise FormulaError(f"the constant {sympy.sstr(expr)[:80]} is not a finite real number in floating point")
    return value.real


def _add(expr):
    terms = [compile_expr(a) for a in expr.args]

    def add(x, xp, p):
        total = terms[0](x, xp, p)
        for term in terms[1:]:
            total = total + term(x, xp, p)
        return total

    return add


def _mul(expr):
    constant = 1.0
    factors = []
    for a in expr.args:
        if a.is_number:
            constant *= _constant(a)
        else:
            factors.append(compile_expr(a))

    def mul(x, xp, p):
        product = factors[0](x, xp, p)
        for factor in factors[1:]:
            product = xp.product0(product, factor(x, xp, p))
        return product * constant if constant != 1.0 else product

    return mul


def _pow(expr):
    base, exponent = compile_expr(expr.base), expr.exp
    if exponent.is_number:
        e = _constant(exponent)
        if e == 2:
            return lambda x, xp, p: (lambda b: b * b)(base(x, xp, p))
        if e == 0.5:
            return lambda x, xp, p: xp.sqrt(base(x, xp, p))
        if e == -1:
            return lambda x, xp, p: 1.0 / base(x, xp, p)
        if e == 1:
            return base
        return lambda x, xp, p: xp.power(base(x, xp, p), e)
    power = compile_expr(exponent)
    return lambda x, xp, p: xp.power(base(x, xp, p), power(x, xp, p))


def _unary(method: str):
    def build(expr):
        argument = compile_expr(expr.args[0])
        return lambda x, xp, p: getattr(xp, method)(argument(x, xp, p))

    return build


def _sinh(expr):
    argument = compile_expr(expr.args[0])

    def sinh(x, xp, p):  # (e^u - e^-u)/2, via expm1 so that small u keeps its precision
        u = argument(x, xp, p)
        return 0.5 * (xp.expm1(u) - xp.expm1(-u))

    return sinh


def _cosh(expr):
    argument = compile_expr(expr.args[0])
    return lambda x, xp, p: (lambda u: 0.5 * (xp.exp(u) + xp.exp(-u)))(argument(x, xp, p))


def _extreme(method: str):
    def build(expr):
        parts = [compile_expr(a) for a in expr.args]

        def extreme(x, xp, p):
            value = parts[0](x, xp, p)
            for part in parts[1:]:
                value = getattr(xp, method)(xp.broadcast(value, x), xp.broadcast(part(x, xp, p), x))
            return value

        return extreme

    return build


def _piecewise(expr):
    """The first piece whose condition holds. On arrays every piece is evaluated and the values are selected (a
    piece's NaN or ∞ where it is not taken is discarded); on a single number (mpmath's references) only the piece
    taken is evaluated, since a piece not taken may divide by zero there, which raises on mpmath numbers — sin(x)/x
    at x = 0 in ``Piecewise((1, x == 0), (sin(x)/x, True))``."""
    pieces = [(compile_expr(e), compile_expr(c)) for e, c in expr.args]

    def piecewise(x, xp, p):
        if not xp.is_array(x):
            return _piece_taken(pieces, x, xp, p)
        value, condition = pieces[-1]
        result = xp.broadcast(value(x, xp, p), x)
        if condition(x, xp, p) is not True:  # no otherwise-branch: undefined there
            result = xp.where(xp.broadcast(condition(x, xp, p), x), result, xp.full_like(x, math.nan))
        for value, condition in reversed(pieces[:-1]):
            result = xp.where(xp.broadcast(condition(x, xp, p), x), xp.broadcast(value(x, xp, p), x), result)
        return xp.where(xp.isnan(x), x, result)  # NaN in, NaN out: NaN fails every condition, and would take the last

    return piecewise


def _piece_taken(pieces: list[tuple[Compiled, Compiled]], x: Any, xp: Any, p: Mapping[str, Any]) -> Any:
    """The value of the first piece whose condition holds at the single number ``x`` (NaN where none does),
    evaluating no other piece."""
    for value, condition in pieces:
        if bool(condition(x, xp, p)):
            return value(x, xp, p)
    return xp.full_like(x, math.nan)


def _relation(operator: Callable[[Any, Any], Any]):
    def build(expr):
        left, right = compile_expr(expr.lhs), compile_expr(expr.rhs)
        return lambda x, xp, p: operator(left(x, xp, p), right(x, xp, p))

    return build


def _logic(method: str):
    def build(expr):
        parts = [compile_expr(a) for a in expr.args]

        def combine(x, xp, p):
            value = parts[0](x, xp, p)
            for part in parts[1:]:
                value = getattr(xp, method)(value, part(x, xp, p))
            return value

        return combine

    return build


def _not(expr):
    part = compile_expr(expr.args[0])
    return lambda x, xp, p: xp.logical_not(part(x, xp, p))


def _sqrt_sum(expr):
    u_of, c_of = (compile_expr(a) for a in expr.args)

    def sqrt_sum(x, xp, p):
        u, c = u_of(x, xp, p), c_of(x, xp, p)
        root = xp.sqrt(u * u + c)
        negative = u < 0
        return xp.where(negative, c / (root - xp.where(negative, u, -u - 1.0)), u + root)

    return sqrt_sum


def _heaviside(expr):
    """H(u): 1 where u > 0, 0 where u < 0, and SymPy's H(0) (½ unless given) at 0; NaN stays NaN."""
    argument = compile_expr(expr.args[0])
    at_zero = float(expr.args[1]) if len(expr.args) > 1 else 0.5

    def heaviside(x, xp, p):
        u = xp.broadcast(argument(x, xp, p), x)
        step = xp.where(u > 0, xp.ones_like(u), xp.where(u < 0, xp.zeros_like(u), xp.full_like(u, at_zero)))
        return xp.where(xp.isnan(u), u, step)

    return heaviside


def _dirac(expr):
    """δ(u) is 0 wherever the derivative exists (it only appears where a step's derivative is taken)."""
    argument = compile_expr(expr.args[0])
    return lambda x, xp, p: xp.zeros_like(xp.broadcast(argument(x, xp, p), x))


def _catalog(expr):
    from actlab.catalog import REGISTRY

    spec = REGISTRY.get(expr.spec_name)
    argument, defaults = compile_expr(expr.args[0]), spec.defaults()
    slope = isinstance(expr, CatalogSlope)
    return lambda x, xp, p: xp.catalog(spec, argument(x, xp, p), defaults, slope)


_HANDLERS: dict[type, Callable[[Any], Compiled]] = {
    sympy.Add: _add,
    sympy.Mul: _mul,
    sympy.Pow: _pow,
    sympy.exp: _unary("exp"),
    sympy.log: _unary("log"),
    log1p: _unary("log1p"),
    expm1: _unary("expm1"),
    sympy.Abs: _unary("abs"),
    sympy.sign: _unary("sign"),
    sympy.sin: _unary("sin"),
    sympy.cos: _unary("cos"),
    sympy.tanh: _unary("tanh"),
    sympy.tan: _unary("tan"),
    sympy.asinh: _unary("asinh"),
    sympy.atan: _unary("atan"),
    sympy.erf: _unary("erf"),
    sympy.erfc: _unary("erfc"),
    sympy.sinh: _sinh,
    sympy.cosh: _cosh,
    Softplus: _unary("softplus"),
    Sigmoid: _unary("sigmoid"),
    sympy.Max: _extreme("maximum"),
    sympy.Min: _extreme("minimum"),
    sympy.Piecewise: _piecewise,
    sympy.StrictGreaterThan: _relation(lambda a, b: a > b),
    sympy.GreaterThan: _relation(lambda a, b: a >= b),
    sympy.StrictLessThan: _relation(lambda a, b: a < b),
    sympy.LessThan: _relation(lambda a, b: a <= b),
    sympy.Equality: _relation(lambda a, b: a == b),
    sympy.Unequality: _relation(lambda a, b: a != b),
    sympy.And: _logic("logical_and"),
    sympy.Or: _logic("logical_or"),
    sympy.Not: _not,
    SqrtSum: _sqrt_sum,
    sympy.Heaviside: _heaviside,
    sympy.DiracDelta: _dirac,
    CatalogCall: _catalog,
    CatalogSlope: _catalog,
}


def uses_only(expr: sympy.Expr, names: set[str]) -> set[str]:
    """The free symbols of ``expr`` outside ``names``."""
    return {s.name for s in expr.free_symbols} - names


def catalog_calls(expr: sympy.Expr) -> set[str]:
    """The catalog activations a formula calls."""
    return {f.spec_name for f in expr.atoms(CatalogCall, CatalogSlope)}


# --- reading back srepr text (the derivation cache) -------------------------------------------------------------
_SREPR_CLASSES: dict[str, Any] = {
    c.__name__: c
    for c in (
        sympy.Add, sympy.Mul, sympy.Pow, sympy.Symbol, sympy.Integer, sympy.Rational, sympy.Float, sympy.exp,
        sympy.log, log1p, expm1, sympy.Abs, sympy.sign, sympy.sin, sympy.cos, sympy.tan, sympy.tanh, sympy.sinh,
        sympy.cosh, sympy.asinh, sympy.atan, sympy.erf, sympy.erfc, sympy.Max, sympy.Min, sympy.Piecewise,
        sympy.StrictGreaterThan, sympy.GreaterThan, sympy.StrictLessThan, sympy.LessThan, sympy.Equality,
        sympy.Unequality, sympy.And, sympy.Or, sympy.Not, sympy.Heaviside, sympy.DiracDelta, Softplus, Sigmoid,
        SqrtSum,
    )
}
_SREPR_ATOMS = {"pi": sympy.pi, "E": sympy.E, "true": sympy.true, "false": sympy.false}
_UNEVALUATED = {"Add", "Mul", "Pow", "Max", "Min", "Piecewise", "StrictGreaterThan", "GreaterThan", "StrictLessThan",
                "LessThan", "Equality", "Unequality"}


def to_srepr(expr: Any) -> str:
    """``expr`` as ``sympy.srepr`` would write it, but keeping the order of every node's arguments (srepr sorts them
    for printing; the order of a sum is the order it is computed in, which :func:`from_srepr` must keep)."""
    if isinstance(expr, (sympy.Atom, sympy.logic.boolalg.BooleanAtom)) or not expr.args:
        return sympy.srepr(expr)
    return f"{type(expr).__name__}({', '.join(to_srepr(a) for a in expr.args)})"


def from_srepr(text: str) -> sympy.Expr:
    """The expression whose :func:`to_srepr` is ``text``, rebuilt node by node without evaluating (the stable form
    stays as it was: erfc(-u) is not turned back into 2 - erfc(u)); only formula node types are accepted."""
    return _srepr_node(ast.parse(text, mode="eval").body)


def _srepr_node(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_srepr_node(node.operand)
    if isinstance(node, ast.Name) and node.id in _SREPR_ATOMS:
        return _SREPR_ATOMS[node.id]
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise FormulaError(f"not a stored formula: {ast.unparse(node)[:80]!r}")
    name = node.func.id
    args = [_srepr_node(a) for a in node.args]
    keywords = {k.arg: _srepr_node(k.value) for k in node.keywords}
    if name == "ExprCondPair":
        return sympy.functions.elementary.piecewise.ExprCondPair(*args)
    if name in ("Symbol", "Integer", "Rational", "Float"):
        return _SREPR_CLASSES[name](*args, **keywords)
    if name in _SREPR_CLASSES:
        evaluate = name in _UNEVALUATED or issubclass(_SREPR_CLASSES[name], sympy.Function)
        return _SREPR_CLASSES[name](*args, evaluate=False) if evaluate else _SREPR_CLASSES[name](*args)
    if name.endswith("_slope") and name.removesuffix("_slope") in catalog_names():
        catalog_function(name.removesuffix("_slope"))
        return CATALOG_SLOPES[name.removesuffix("_slope")](*args)
    if name in catalog_names():
        return catalog_function(name)(*args)
    raise FormulaError(f"not a stored formula: unknown node {name!r}")
