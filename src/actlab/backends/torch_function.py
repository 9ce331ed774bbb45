"""A catalog spec as a torch autograd Function: forward from the spec, backward from its hand-derived derivative,
saving only the input (plus learnable parameters, which are not activations), like timm's memory-efficient
activations; and the functional form ``act(x)`` on tensors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from actlab.backends.torch_namespace import TORCH, compute_dtype, split
from actlab.catalog.spec import ActivationError, ActivationSpec


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
        for name, tensor in zip(self.learned, tensors, strict=True):
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
            d = torch.cat([p.expand_as(c) for p, c in zip(parts, chunks, strict=True)], dim=params["dim"])
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
        for name, tensor, need in zip(self.learned, tensors, needs[1:], strict=True):
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
    """Forward from the spec; backward from its hand-derived derivative; saves the input only. Written in the form
    torch.func transforms accept (``setup_context`` apart from ``forward``; a vmap rule generated from the two), so a
    user's model with any catalog activation can be stacked with ``vmap``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(evaluator: SpecEvaluator, x: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        return evaluator.forward(x, tensors)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        evaluator, x, *tensors = inputs
        ctx.evaluator = evaluator
        ctx.save_for_backward(x, *tensors)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, *tensors = ctx.saved_tensors
        grad_x, grad_params = ctx.evaluator.backward(grad, x, tensors, ctx.needs_input_grad[1:])
        return (None, grad_x, *grad_params)


def stochastic_train(
    spec: ActivationSpec, params: Mapping[str, Any], x: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    assert spec.stochastic is not None
    if generator is None and spec.stochastic.torch_train is not None:
        return spec.stochastic.torch_train(F, x, params)
    xc = x.to(compute_dtype(x))
    noise = spec.stochastic.sample(xc, TORCH, generator, **params)
    # Differentiable through torch ops: the noise is a constant of this call.
    return spec.stochastic.forward(xc, noise, TORCH, **params).to(x.dtype)
