"""The array namespace of the formulas on mpmath numbers: how a user's formula is evaluated at high precision, as the
reference `actlab check` holds its float code to. Values that are complex (``sqrt`` or ``log`` of a negative number)
become NaN: the formula is not defined there on the real line."""

from __future__ import annotations

import math
from typing import Any

import mpmath

from actlab.catalog.xp import Namespace


def real(value: Any) -> Any:
    """An mpmath real, or NaN for a complex value (not defined on the real line)."""
    if isinstance(value, mpmath.mpc):
        return value.real if value.imag == 0 else mpmath.mpf("nan")
    return value


class MpmathNamespace(Namespace):
    """Scalars only: ``where`` is a conditional, arrays are numbers."""

    name = "mpmath"
    pi = mpmath.pi

    def abs(self, x):
        return abs(x)

    def sign(self, x):
        return mpmath.sign(x)

    def exp(self, x):
        # beyond e^±100000 (10^±43429) no float is near, and mpmath would work with the exponent's thousands of digits
        # (exp(exp(x)) at x = 9999.5 took a minute): ∞ and 0 are what any float comparison needs
        if x > 100000:
            return mpmath.mpf("inf")
        if x < -100000:
            return mpmath.mpf(0)
        return mpmath.exp(x)

    def expm1(self, x):
        return mpmath.expm1(x)

    def log(self, x):
        return real(mpmath.log(x)) if x != 0 else mpmath.mpf("-inf")

    def log1p(self, x):
        return self.log(1 + x)

    def sqrt(self, x):
        return real(mpmath.sqrt(x))

    def sin(self, x):
        return mpmath.sin(x)

    def cos(self, x):
        return mpmath.cos(x)

    def tanh(self, x):
        return mpmath.tanh(x)

    def atan(self, x):
        return mpmath.atan(x)

    def tan(self, x):
        return mpmath.tan(x)

    def asinh(self, x):
        return mpmath.asinh(x)

    def erf(self, x):
        return mpmath.erf(x)

    def erfc(self, x):
        return mpmath.erfc(x)

    def sigmoid(self, x):
        return 1 / (1 + mpmath.exp(-x))

    def softplus(self, x):
        return mpmath.log(1 + mpmath.exp(x))

    def isnan(self, x):
        return mpmath.isnan(x)

    def isinf(self, x):
        return mpmath.isinf(x)

    def maximum(self, a, b):
        return a if mpmath.isnan(a) else (b if mpmath.isnan(b) else max(a, b))

    def minimum(self, a, b):
        return a if mpmath.isnan(a) else (b if mpmath.isnan(b) else min(a, b))

    def zeros_like(self, x):
        return mpmath.mpf(0)

    def ones_like(self, x):
        return mpmath.mpf(1)

    def where(self, cond, a, b):
        return a if cond else b

    def full_like(self, x, value):
        return mpmath.mpf(value) if not isinstance(value, bool) else value

    def clip(self, x, lo, hi):
        return min(max(x, lo), hi)

    def power(self, x, p):
        return real(mpmath.power(x, p))

    def is_array(self, value) -> bool:
        return False

    def product0(self, a, b):
        return mpmath.mpf(0) if a == 0 or b == 0 else a * b

    def broadcast(self, value, like):
        return value

    def logical_and(self, a, b):
        return bool(a) and bool(b)

    def logical_or(self, a, b):
        return bool(a) or bool(b)

    def logical_not(self, a):
        return not a

    def catalog(self, spec, x, params, slope=False):
        """A catalog activation at high precision: its reference formula (and that formula's derivative)."""
        from actlab.verify.references import ELEMENTWISE

        formula = ELEMENTWISE[spec.name]
        if slope:
            return mpmath.diff(lambda t: formula(t, mpmath, **params), x)
        return formula(x, mpmath, **params)


MPMATH = MpmathNamespace()


def as_float(value: Any) -> float:
    """An mpmath real as the nearest float (±inf beyond float64's range), NaN for NaN."""
    value = real(value)
    if mpmath.isnan(value):
        return math.nan
    if abs(value) > mpmath.mpf("1.7976931348623157e308"):
        return math.copysign(math.inf, float(mpmath.sign(value)))
    return float(value)
