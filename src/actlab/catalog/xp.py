"""The array namespace the activation formulas are written against.

Formulas call ``xp.exp``, ``xp.where``, ``xp.sigmoid``… and run unchanged on NumPy arrays and torch
tensors. Each backend supplies a handful of primitives; the numerically careful building blocks
(softplus, sech², products that must be 0 where one factor underflows, …) are written once here on top
of them, so every activation inherits the same stability.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Array = Any


class Namespace:
    """Primitives (set by subclasses) and the stable helpers built on them."""

    name = "abstract"
    pi = math.pi

    # --- primitives: provided by the backends -------------------------------------------------------
    abs: Any
    sign: Any
    exp: Any
    expm1: Any
    log: Any
    log1p: Any
    sqrt: Any
    sin: Any
    cos: Any
    tanh: Any
    atan: Any
    tan: Any
    asinh: Any
    erf: Any
    erfc: Any
    sigmoid: Any
    isinf: Any
    isnan: Any
    maximum: Any
    minimum: Any
    zeros_like: Any
    ones_like: Any

    def where(self, cond: Array, a: Array | float, b: Array | float) -> Array:
        raise NotImplementedError

    def full_like(self, x: Array, value: float) -> Array:
        raise NotImplementedError

    def clip(self, x: Array, lo: float, hi: float) -> Array:
        raise NotImplementedError

    def power(self, x: Array, p: float | Array) -> Array:
        return x**p

    def is_array(self, value: Any) -> bool:
        raise NotImplementedError

    def uniform_like(self, x: Array, lo: float, hi: float, rng: Any) -> Array:
        """Independent U(lo, hi) draws shaped and typed like ``x``, from ``rng``."""
        raise NotImplementedError

    # --- what compiled formulas use (actlab.catalog.expressions) ----------------------------------------
    def product0(self, a: Array, b: Array) -> Array:
        """a·b, but exactly 0 wherever either factor is 0 (so 0 · ∞ → 0: a factor that underflowed wins)."""
        product = a * b
        arrays = [f for f in (a, b) if self.is_array(f)]
        if not arrays:
            return product
        if len(arrays) == 1 and (b if arrays[0] is a else a) == 0:  # a plain number 0 (a parameter's value)
            return self.zeros_like(product)
        # a plain number's test is a constant, not an array: only the arrays' zeros are looked for (a traced
        # function cannot mix a Python bool into an array's logical or)
        zero = arrays[0] == 0 if len(arrays) == 1 else (a == 0) | (b == 0)
        return self.where(zero, self.zeros_like(product), product)

    def broadcast(self, value: Array | float | bool, like: Array) -> Array:
        """``value`` as an array shaped like ``like`` when it is a plain number."""
        if self.is_array(value):
            return value
        return self.full_like(like, value) if not isinstance(value, bool) else self.full_like(like, float(value)) > 0

    def logical_and(self, a: Array, b: Array) -> Array:
        return a & b

    def logical_or(self, a: Array, b: Array) -> Array:
        return a | b

    def logical_not(self, a: Array) -> Array:
        return ~a

    def catalog(self, spec: Any, x: Array, params: Any, slope: bool = False) -> Array:
        """A catalog activation (or its derivative) at ``x``, by its own formulas."""
        value = (spec.derivative if slope else spec.forward)(x, self, **params)
        return self.broadcast(value, x)

    # --- stable helpers -----------------------------------------------------------------------------
    def relu(self, x: Array) -> Array:
        return self.maximum(x, self.zeros_like(x))  # maximum, unlike where(x > 0), propagates NaN

    def gate(self, a: Array, g: Array | float) -> Array:
        """``a * g``, but exactly 0 wherever ``g == 0`` (so ±inf · 0 → 0).

        Used for x·g(x) where g underflows to 0 before x overflows: the product's limit is 0.
        """
        if not self.is_array(g):
            return self.zeros_like(a) if g == 0 else a * g
        product = a * g
        return self.where(g == 0, self.zeros_like(product), product)

    def softplus(self, x: Array) -> Array:
        """log(1 + e^x) = max(x, 0) + log1p(e^-|x|), exact for every x including ±inf."""
        return self.maximum(x, self.zeros_like(x)) + self.log1p(self.exp(-self.abs(x)))

    def log_sigmoid(self, x: Array) -> Array:
        return -self.softplus(-x)

    def sigmoid_derivative(self, x: Array) -> Array:
        """σ(x)σ(-x) = σ'(x), without the cancellation of σ(1 - σ) for large x."""
        return self.sigmoid(x) * self.sigmoid(-x)

    def sech2(self, u: Array) -> Array:
        """sech²(u) = 1 - tanh²(u) = 4e^{-2|u|} / (1 + e^{-2|u|})², exact where 1 - tanh² cancels."""
        e = self.exp(-2.0 * self.abs(u))
        return 4.0 * e / ((1.0 + e) * (1.0 + e))

    def hypot1(self, z: Array) -> Array:
        """sqrt(1 + z²) without overflow of z²."""
        a = self.abs(z)
        big = a > 1.0
        safe = self.where(big, a, self.ones_like(a))
        inv = 1.0 / safe
        return self.where(big, a * self.sqrt(1.0 + inv * inv), self.sqrt(1.0 + z * z))

    def ratio_hypot1(self, z: Array) -> Array:
        """z / sqrt(1 + z²), in (-1, 1), exact at ±inf."""
        a = self.abs(z)
        big = a > 1.0
        safe = self.where(big, a, self.ones_like(a))
        inv = 1.0 / safe
        return self.where(big, self.sign(z) / self.sqrt(1.0 + inv * inv), z / self.sqrt(1.0 + z * z))

    def softsign(self, x: Array) -> Array:
        """x / (1 + |x|), exact at ±inf."""
        a = self.abs(x)
        big = a > 1.0
        safe = self.where(big, a, self.ones_like(a))
        return self.where(big, self.sign(x) / (1.0 + 1.0 / safe), x / (1.0 + a))

    def gaussian_cdf(self, x: Array) -> Array:
        """Φ(x) = erfc(-x/√2)/2, accurate in the left tail where 1 + erf cancels."""
        return 0.5 * self.erfc(-x * (1.0 / math.sqrt(2.0)))

    def gaussian_pdf(self, x: Array) -> Array:
        return self.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))

    def indicator(self, cond: Array, like: Array) -> Array:
        """1.0 where ``cond`` else 0.0, in the floating type of ``like``."""
        return self.where(cond, self.ones_like(like), self.zeros_like(like))

    def above(self, x: Array, threshold: float) -> Array:
        """1.0 where x > threshold else 0.0 (NaN gives 0.0), in the floating type of ``x``."""
        return self.indicator(x > threshold, x)


def _scipy_special(name: str):
    """``scipy.special.<name>``, imported on first use: ``import actlab`` and the catalog commands stay light."""

    def evaluate(x: Array) -> Array:
        import scipy.special

        return getattr(scipy.special, name)(x)

    evaluate.__name__ = name
    return evaluate


class NumpyNamespace(Namespace):
    name = "numpy"
    abs = staticmethod(np.abs)
    sign = staticmethod(np.sign)
    exp = staticmethod(np.exp)
    expm1 = staticmethod(np.expm1)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tanh = staticmethod(np.tanh)
    atan = staticmethod(np.arctan)
    tan = staticmethod(np.tan)
    asinh = staticmethod(np.arcsinh)
    erf = staticmethod(_scipy_special("erf"))
    erfc = staticmethod(_scipy_special("erfc"))
    sigmoid = staticmethod(_scipy_special("expit"))
    isinf = staticmethod(np.isinf)
    isnan = staticmethod(np.isnan)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    zeros_like = staticmethod(np.zeros_like)
    ones_like = staticmethod(np.ones_like)

    def where(self, cond: Array, a: Array | float, b: Array | float) -> Array:
        return np.where(cond, a, b)

    def full_like(self, x: Array, value: float) -> Array:
        return np.full_like(x, value)

    def clip(self, x: Array, lo: float, hi: float) -> Array:
        return np.clip(x, lo, hi)

    def is_array(self, value: Any) -> bool:
        return isinstance(value, np.ndarray)

    def uniform_like(self, x: Array, lo: float, hi: float, rng: Any) -> Array:
        generator = rng if rng is not None else np.random.default_rng()
        return generator.uniform(lo, hi, size=np.shape(x)).astype(np.result_type(x))


NUMPY = NumpyNamespace()
