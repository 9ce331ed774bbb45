"""Evaluating catalog specs on torch tensors: an autograd Function generated from each spec, its
``nn.Module`` wrapper, and the native-kernel fast paths.

The Function saves only its input (plus learnable parameters, which are not activations) and computes
the backward pass from the spec's hand-derived derivative, like timm's memory-efficient activations.
float16/bfloat16 are computed in float32 and rounded back, as PyTorch's own CPU kernels do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from actlab.catalog.spec import ActivationError, ActivationSpec
from actlab.catalog.xp import Namespace


class TorchNamespace(Namespace):
    name = "torch"
    abs = staticmethod(torch.abs)
    sign = staticmethod(torch.sign)
    exp = staticmethod(torch.exp)
    log = staticmethod(torch.log)
    log1p = staticmethod(torch.log1p)
    sqrt = staticmethod(torch.sqrt)
    sin = staticmethod(torch.sin)
    cos = staticmethod(torch.cos)
    atan = staticmethod(torch.atan)
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
    # (actlab.backends.fused) fuse the plain conversion instead, which the tricks would only obstruct.
    def indicator(self, cond, like):
        if torch.compiler.is_compiling():
            return cond.to(like.dtype)
        return cond.view(torch.uint8).to(like.dtype)

    def above(self, x, threshold):
        if torch.compiler.is_compiling():
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


class SpecEvaluator:
    """Everything the autograd Function needs about one configured activation.

    ``static`` holds the fixed parameter values; ``learned`` names the parameters passed as tensors to
    the Function (in that order); ``channel_wise`` names those shaped (C,) to broadcast along dim 1.
    """

    def __init__(
        self,
        spec: ActivationSpec,
        static: Mapping[str, Any],
        learned: Sequence[str] = (),
        channel_wise: Sequence[str] = (),
    ) -> None:
        self.spec = spec
        self.static = dict(static)
        self.learned = tuple(learned)
        self.channel_wise = frozenset(channel_wise)

    def params(self, x: torch.Tensor, tensors: Sequence[torch.Tensor]) -> dict[str, Any]:
        values = dict(self.static)
        for name, tensor in zip(self.learned, tensors):
            tensor = tensor.to(x.dtype)
            if name in self.channel_wise:
                if x.dim() < 2:
                    raise ActivationError(
                        f"{self.spec.name}: channel-wise {name} needs input with a channel dimension 1"
                    )
                tensor = tensor.reshape((-1,) + (1,) * (x.dim() - 2))
            values[name] = tensor
        return values

    def forward(self, x: torch.Tensor, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        xc = x.to(compute_dtype(x))
        params = self.params(xc, tensors)
        inputs = split(self.spec, xc, params) if self.spec.gated else xc
        return self.spec.forward(inputs, TORCH, **params).to(x.dtype)

    def derivative(self, x: torch.Tensor, tensors: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        xc = x.to(compute_dtype(x))
        return self._derivative(xc, self.params(xc, tensors))

    def value_and_derivative(
        self, x: torch.Tensor, tensors: Sequence[torch.Tensor] = ()
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """f(x) and f'(x), both in x's dtype."""
        return self.forward(x, tensors), self.derivative(x, tensors).to(x.dtype)

    def _derivative(self, xc: torch.Tensor, params: Mapping[str, Any]) -> torch.Tensor:
        """df/dx of the input already in its compute dtype, with the parameters already prepared."""
        if self.spec.gated:
            chunks = split(self.spec, xc, params)
            parts = self.spec.derivative(chunks, TORCH, **params)
            d = torch.cat([p.expand_as(c) for p, c in zip(parts, chunks)], dim=params["dim"])
        else:
            d = self.spec.derivative(xc, TORCH, **params).expand_as(xc)
        return d

    def backward(
        self, grad: torch.Tensor, x: torch.Tensor, tensors: Sequence[torch.Tensor], needs: Sequence[bool]
    ) -> tuple[torch.Tensor | None, list[torch.Tensor | None]]:
        dtype = compute_dtype(x)
        xc = x.to(dtype)
        params = self.params(xc, tensors)
        if self.spec.gated:
            grad = torch.cat([grad] * self.spec.n_pieces(params), dim=params["dim"])
        g = grad.to(dtype)
        grad_x = (g * self._derivative(xc, params)).to(x.dtype) if needs[0] else None
        grad_params: list[torch.Tensor | None] = []
        for name, tensor, need in zip(self.learned, tensors, needs[1:]):
            if not need:
                grad_params.append(None)
                continue
            partial = self.spec.param_derivatives[name](xc, TORCH, **params)
            if isinstance(partial, list):  # vector parameter: one partial per component
                total = torch.stack([(g * p).sum() for p in partial])
            else:
                total = _sum_to(g * partial, params[name].shape).reshape(tensor.shape)
            grad_params.append(total.to(tensor.dtype))
        return grad_x, grad_params


def _sum_to(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Sum ``t`` down to ``shape`` (the inverse of broadcasting)."""
    if t.shape == shape:
        return t
    lead = t.dim() - len(shape)
    dims = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and t.shape[lead + i] != 1]
    return t.sum(dim=dims, keepdim=True).reshape(shape) if dims else t


class SpecFunction(torch.autograd.Function):
    """Forward from the spec; backward from its hand-derived derivative; saves the input only."""

    @staticmethod
    def forward(ctx, evaluator: SpecEvaluator, x: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        ctx.evaluator = evaluator
        ctx.save_for_backward(x, *tensors)
        return evaluator.forward(x, tensors)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, *tensors = ctx.saved_tensors
        grad_x, grad_params = ctx.evaluator.backward(grad, x, tensors, ctx.needs_input_grad[1:])
        return (None, grad_x, *grad_params)


def _native_params(spec: ActivationSpec, params: Mapping[str, Any], x: torch.Tensor) -> dict[str, Any]:
    """Learnable parameters reach native kernels as tensors (e.g. F.prelu's weight)."""
    out = dict(params)
    for name in spec.learnable_params:
        if not isinstance(out[name], torch.Tensor):
            out[name] = torch.as_tensor(out[name], dtype=x.dtype, device=x.device)
    return out


def functional(
    spec: ActivationSpec,
    params: Mapping[str, Any],
    x: torch.Tensor,
    training: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``act(x)`` on a tensor: exact on the whole extended real line, differentiable with respect to x."""
    compute_dtype(x)
    if training and spec.stochastic is not None:
        return _stochastic_train(spec, params, x, generator)
    native = spec.native
    if native is not None and native.exact and native.applies(params):
        return native.fn(F, x, _native_params(spec, params, x))
    return SpecFunction.apply(SpecEvaluator(spec, params), x)


def _stochastic_train(
    spec: ActivationSpec, params: Mapping[str, Any], x: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    assert spec.stochastic is not None
    if generator is None and spec.stochastic.torch_train is not None:
        return spec.stochastic.torch_train(F, x, params)
    xc = x.to(compute_dtype(x))
    noise = spec.stochastic.sample(xc, TORCH, generator, **params)
    # Differentiable through torch ops: the noise is a constant of this call.
    return spec.stochastic.forward(xc, noise, TORCH, **params).to(x.dtype)


def derivative(spec: ActivationSpec, params: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        d = SpecEvaluator(spec, params).derivative(x)
        xc = x.to(d.dtype)
        return torch.where(torch.isnan(xc), xc, d).to(x.dtype)


class ActivationModule(nn.Module):
    """A catalog activation as a layer; learnable parameters are ``nn.Parameter``s.

    Uses PyTorch's native kernel when one computes the same function (and differentiates every learned
    parameter), else the spec's autograd Function; with ``fused``, that Function's forward and backward
    are each one compiled kernel (:mod:`actlab.backends.fused`), which also replaces the native kernels
    marked ``yields_to_fused``. Stochastic activations sample only in training mode.
    """

    def __init__(
        self,
        spec: ActivationSpec,
        params: Mapping[str, Any],
        learnable: Sequence[str] = (),
        num_parameters: int = 1,
        dtype: torch.dtype | None = None,
        device: Any = None,
        fused: bool = False,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.name = spec.name
        self.learned = tuple(learnable)
        self.static = {k: v for k, v in params.items() if k not in self.learned}
        channel_wise = []
        factory = {"dtype": dtype or torch.get_default_dtype(), "device": device}
        for name in self.learned:
            value = params[name]
            if isinstance(value, tuple):
                tensor = torch.tensor(value, **factory)
            elif num_parameters > 1:
                tensor = torch.full((num_parameters,), float(value), **factory)
                channel_wise.append(name)
            else:
                tensor = torch.tensor(float(value), **factory)
            self.register_parameter(name, nn.Parameter(tensor))
        self.fused = fused
        if fused:
            from actlab.backends.fused import fused_evaluator

            self.evaluator: SpecEvaluator = fused_evaluator(spec, self.static, self.learned, channel_wise)
        else:
            self.evaluator = SpecEvaluator(spec, self.static, self.learned, channel_wise)
        native = spec.native
        usable = native is not None and set(self.learned) <= set(native.learns)
        self._native = native if usable and not (fused and native.yields_to_fused) else None

    def _params(self, x: torch.Tensor) -> dict[str, Any]:
        values = dict(self.static)
        for name in self.learned:
            values[name] = getattr(self, name).to(x.dtype)
        return values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        compute_dtype(x)
        if self.training and self.spec.stochastic is not None:
            return _stochastic_train(self.spec, self.static, x, None)
        native_params = self._native_call_params(x)
        if native_params is not None:
            return self._native.fn(F, x, native_params)
        return SpecFunction.apply(self.evaluator, x, *(getattr(self, n) for n in self.learned))

    def _native_call_params(self, x: torch.Tensor) -> dict[str, Any] | None:
        """The native kernel's parameters for ``x``, or None where the spec's Function computes it."""
        if self._native is None:
            return None
        params = self._params(x)
        return _native_params(self.spec, params, x) if self._native.applies(params) else None

    def uses_native(self, x: torch.Tensor) -> bool:
        """Whether ``forward(x)`` (outside stochastic training) runs PyTorch's own kernel."""
        return self._native_call_params(x) is not None

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """df/dx at ``x`` (not differentiable itself), from the spec's hand-derived derivative."""
        with torch.no_grad():
            return self.evaluator.derivative(x, [getattr(self, n) for n in self.learned]).to(x.dtype)

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward(x)`` (outside stochastic training) and df/dx, not differentiable; on the spec path
        both come from the evaluator (one pass over x when fused)."""
        with torch.no_grad():
            if self.uses_native(x):
                return self(x), self.derivative(x)
            return self.evaluator.value_and_derivative(x, [getattr(self, n) for n in self.learned])

    def extra_repr(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self.static.items()]
        parts += [f"{n}=learned{tuple(getattr(self, n).shape) or ''}" for n in self.learned]
        if self.fused:
            parts.append("fused")
        return ", ".join(parts)

    def _get_name(self) -> str:
        return f"Activation[{self.name}]"
