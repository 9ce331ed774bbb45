"""The array namespace of the activation formulas on Keras tensors: every primitive is a ``keras.ops`` function, so
each catalog spec's own ``forward(x, xp, **params)`` and ``derivative(x, xp, **params)`` run unchanged on any Keras
backend (the derivative is the gradient, see :mod:`actlab.keras.evaluate`; where a formula is left to the backend's
autodiff, the helpers below keep its derivative right too). The stable helpers (softplus, sech², gated products, …)
are inherited from :class:`actlab.catalog.xp.Namespace`, so Keras gets the same numerics as NumPy and torch."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from actlab.catalog.xp import Namespace
from actlab.keras import special


class KerasNamespace(Namespace):
    """``xp`` for Keras tensors (and the backend tensors and symbolic ``KerasTensor``s Keras passes to layers)."""

    name = "keras"
    abs = staticmethod(ops.abs)
    sign = staticmethod(ops.sign)
    exp = staticmethod(ops.exp)
    expm1 = staticmethod(ops.expm1)
    log = staticmethod(ops.log)
    log1p = staticmethod(ops.log1p)
    sqrt = staticmethod(ops.sqrt)
    sin = staticmethod(ops.sin)
    cos = staticmethod(ops.cos)
    tanh = staticmethod(ops.tanh)
    atan = staticmethod(ops.arctan)
    tan = staticmethod(ops.tan)
    asinh = staticmethod(ops.arcsinh)
    erf = staticmethod(ops.erf)
    erfc = staticmethod(getattr(ops, "erfc", special.erfc))
    sigmoid = staticmethod(ops.sigmoid)
    isinf = staticmethod(ops.isinf)
    isnan = staticmethod(ops.isnan)
    zeros_like = staticmethod(ops.zeros_like)
    ones_like = staticmethod(ops.ones_like)

    # ops.maximum and ops.minimum compute float64 in float32 on every backend but TensorFlow (Keras' promotion
    # follows JAX without x64), which no other primitive here does. These keep the dtype, propagate NaN, and at
    # ties pass half the gradient to each argument as torch.maximum does (softplus' max(x, 0) + log1p(e^-|x|) has
    # its slope 1/2 at 0 only so). a/2 + b/2 is the tie's value without overflow; a NaN falls through to it.
    def maximum(self, a: Any, b: Any) -> Any:
        return ops.where(a > b, a, ops.where(a < b, b, a * 0.5 + b * 0.5))

    def minimum(self, a: Any, b: Any) -> Any:
        return ops.where(a < b, a, ops.where(a > b, b, a * 0.5 + b * 0.5))

    def relu(self, x: Any) -> Any:
        """max(x, 0) with PyTorch's derivative at 0 (0, where maximum would give the tie to x)."""
        return ops.where(ops.logical_or(ops.isnan(x), x > 0), x, ops.zeros_like(x))

    # The base's gate and product0 return exactly 0 wherever a factor is 0, so that 0·∞ gives the limit 0; autodiff
    # through that where() would also zero the other factor's derivative (x·atan(softplus(x)) would have slope 0 at
    # x = 0, swiglu no gradient for its value half where the gate is 0). These take the 0 only where the other factor
    # is not finite, and are the ordinary product, with the ordinary derivatives, everywhere else.
    def gate(self, a: Any, g: Any) -> Any:
        if not self.is_array(g):
            return super().gate(a, g)
        product = a * g
        return ops.where(ops.logical_and(g == 0, ops.logical_not(ops.isfinite(a))), ops.zeros_like(product), product)

    def product0(self, a: Any, b: Any) -> Any:
        product = a * b
        if not (self.is_array(a) or self.is_array(b)):
            return product
        limit = ops.logical_or(
            ops.logical_and(a == 0, ops.logical_not(ops.isfinite(b))),
            ops.logical_and(b == 0, ops.logical_not(ops.isfinite(a))),
        )
        return ops.where(limit, ops.zeros_like(product), product)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return ops.where(cond, a, b)

    def full_like(self, x: Any, value: float) -> Any:
        return ops.full_like(x, value)

    def clip(self, x: Any, lo: float, hi: float) -> Any:
        return ops.clip(x, lo, hi)

    def power(self, x: Any, p: Any) -> Any:
        return ops.power(x, p)

    def is_array(self, value: Any) -> bool:
        return ops.is_tensor(value) or isinstance(value, (keras.KerasTensor, keras.Variable))

    def logical_and(self, a: Any, b: Any) -> Any:
        return ops.logical_and(a, b)

    def logical_or(self, a: Any, b: Any) -> Any:
        return ops.logical_or(a, b)

    def logical_not(self, a: Any) -> Any:
        return ops.logical_not(a)

    def uniform_like(self, x: Any, lo: float, hi: float, rng: Any) -> Any:
        """U(lo, hi) draws shaped like ``x``; ``rng`` is a ``keras.random.SeedGenerator``, an int seed or None."""
        return keras.random.uniform(ops.shape(x), minval=lo, maxval=hi, dtype=x.dtype, seed=rng)


KERAS = KerasNamespace()
