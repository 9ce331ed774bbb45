"""The array namespace of the activation formulas on torch tensors, and the dtype and splitting rules every torch
path shares. float16/bfloat16 are computed in float32 and rounded back, as PyTorch's own CPU kernels do."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from actlab.catalog.spec import ActivationError, ActivationSpec
from actlab.catalog.xp import Namespace


class TorchNamespace(Namespace):
    name = "torch"
    abs = staticmethod(torch.abs)

    @staticmethod
    def sign(x):
        """torch.sign, with NaN kept (torch.sign(nan) is 0 in float16 on CPU)."""
        return torch.where(torch.isnan(x), x, torch.sign(x)) if isinstance(x, torch.Tensor) else torch.sign(x)

    exp = staticmethod(torch.exp)
    log = staticmethod(torch.log)
    log1p = staticmethod(torch.log1p)
    sqrt = staticmethod(torch.sqrt)
    sin = staticmethod(torch.sin)
    cos = staticmethod(torch.cos)
    atan = staticmethod(torch.atan)
    tan = staticmethod(torch.tan)
    asinh = staticmethod(torch.asinh)
    erf = staticmethod(torch.special.erf)
    erfc = staticmethod(torch.special.erfc)
    sigmoid = staticmethod(torch.sigmoid)
    isinf = staticmethod(torch.isinf)
    isnan = staticmethod(torch.isnan)
    maximum = staticmethod(torch.maximum)
    minimum = staticmethod(torch.minimum)
    zeros_like = staticmethod(torch.zeros_like)
    ones_like = staticmethod(torch.ones_like)

    def where(self, cond, a, b):
        return torch.where(cond, a, b)

    def full_like(self, x, value):
        return torch.full_like(x, value)

    def clip(self, x, lo, hi):
        return torch.clamp(x, lo, hi)

    def is_array(self, value: Any) -> bool:
        return isinstance(value, torch.Tensor)

    # Comparisons written straight into a float tensor, and bool read as uint8, are ~4× faster on CPU
    # than converting a bool tensor (whose eager kernels are not vectorised). Compiled kernels
    # (actlab.backends.fused) fuse the plain conversion instead, which the tricks would only obstruct, and
    # TorchScript traces cannot record either trick.
    def indicator(self, cond, like):
        if _recording():
            return cond.to(like.dtype)
        return cond.view(torch.uint8).to(like.dtype)

    def above(self, x, threshold):
        if _recording():
            return (x > threshold).to(x.dtype)
        return torch.gt(x, threshold, out=torch.empty_like(x))

    # Inductor's vectorised CPU code computes expm1 as exp(x) - 1, which loses all relative accuracy near
    # 0, and tanh with SLEEF's tanh, several times slower than exp. Compiled CPU kernels build both from exp.
    def expm1(self, x):
        if torch.compiler.is_compiling() and x.device.type == "cpu":
            return _expm1_from_exp(x)
        return torch.expm1(x)

    def tanh(self, x):
        if torch.compiler.is_compiling() and x.device.type == "cpu":
            m = _expm1_from_exp(-2.0 * x.abs())
            return torch.copysign(-m / (2.0 + m), x)  # tanh|x| = -expm1(-2|x|) / (2 + expm1(-2|x|))
        return torch.tanh(x)

    def uniform_like(self, x, lo, hi, rng):
        return torch.empty_like(x).uniform_(lo, hi, generator=rng)


# Taylor terms of e^x - 1 = Σ x^n/n! for under half an ulp of truncation on |x| < _TAYLOR_RADIUS:
# 8 for float32 and narrower, 13 for float64.
def _recording() -> bool:
    """Whether the ops are being recorded into a graph (torch.compile, torch.export or a TorchScript trace)."""
    return torch.compiler.is_compiling() or torch.jit.is_tracing()


_TAYLOR_RADIUS = 0.35


def _expm1_from_exp(x: torch.Tensor) -> torch.Tensor:
    """e^x - 1 to ~2 ulp without a dedicated expm1 kernel: its Taylor polynomial (Horner) where |x| is
    small enough that e^x - 1 would cancel, e^x - 1 elsewhere (at most ~3.4-fold error amplification)."""
    small = x.abs() < _TAYLOR_RADIUS
    s = torch.where(small, x, torch.zeros_like(x))
    terms = 8 if torch.finfo(x.dtype).bits <= 32 else 13
    p = torch.full_like(x, 1.0 / math.factorial(terms))
    for n in range(terms - 1, 0, -1):
        p = p * s + 1.0 / math.factorial(n)
    return torch.where(small, p * s, torch.exp(x) - 1.0)


TORCH = TorchNamespace()
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    if not x.is_floating_point():
        raise ActivationError(f"activations take real floating-point tensors, got {x.dtype}")
    return torch.float32 if x.dtype in _LOW_PRECISION else x.dtype


def split(spec: ActivationSpec, x: torch.Tensor, params: Mapping[str, Any]) -> list[torch.Tensor]:
    if not spec.gated:
        return [x]
    pieces = spec.n_pieces(params)
    dim = params["dim"]
    if x.dim() == 0 or x.shape[dim] % pieces:
        size = "a scalar" if x.dim() == 0 else f"size {x.shape[dim]}"
        raise ActivationError(f"{spec.name} splits dimension {dim} into {pieces} equal chunks, but it has {size}")
    return list(x.chunk(pieces, dim))
