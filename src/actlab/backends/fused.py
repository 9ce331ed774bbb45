"""Fused activation kernels: the spec's forward and hand-derived backward compiled by TorchInductor.

Evaluated op by op, a spec formula such as TanhExp's x·tanh(eˣ) makes one pass over memory per
operation, so a chain of ten element-wise ops costs ten passes. ``torch.compile`` (Inductor) turns each
of the evaluator's functions into one loop: vectorised C++ on the CPU, Triton on CUDA. The formulas and
the hand-derived derivative are the same Python code as the un-fused :class:`SpecEvaluator`, which stays
the reference (tests hold the two equal to float rounding), and the autograd Function still saves only
its input.

Compilation takes seconds per activation (once per process and kernel; Inductor's on-disk cache makes
later processes faster), so fusion pays on large tensors and long runs, and is opt-in:
``activation("tanhexp").module(fused=True)``.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from actlab.backends.torch import SpecEvaluator
from actlab.catalog.spec import ActivationSpec

_kernel_ids = itertools.count()


def _own_code(fn: Callable) -> Callable:
    """``fn`` with a code object of its own.

    TorchDynamo keeps its compiled versions per code object and falls back to eager evaluation after a
    few recompilations of one; every fused evaluator's kernels are closures over the same code, so each
    gets a private copy and is compiled, and counted, on its own.
    """
    code = fn.__code__.replace(co_name=f"{fn.__name__}_{next(_kernel_ids)}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


def _compile(fn: Callable) -> Callable:
    return torch.compile(_own_code(fn), dynamic=True, fullgraph=True)


class FusedEvaluator(SpecEvaluator):
    """A :class:`SpecEvaluator` whose forward, backward and derivative each run as one compiled kernel."""

    def __init__(self, spec: ActivationSpec, static: Mapping[str, Any], learned: Sequence[str] = (),
                 channel_wise: Sequence[str] = ()) -> None:
        super().__init__(spec, static, learned, channel_wise)
        reference = SpecEvaluator(spec, static, learned, channel_wise)

        def forward(x: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
            return reference.forward(x, tensors)

        def derivative(x: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
            return reference.derivative(x, tensors)

        def value_and_derivative(x: torch.Tensor, *tensors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return reference.forward(x, tensors), reference.derivative(x, tensors).to(x.dtype)

        def backward(grad: torch.Tensor, x: torch.Tensor, needs: tuple[bool, ...], *tensors: torch.Tensor):
            return reference.backward(grad, x, tensors, needs)

        self._forward = _compile(forward)
        self._derivative_kernel = _compile(derivative)
        self._value_and_derivative = _compile(value_and_derivative)
        self._backward = _compile(backward)

    def forward(self, x: torch.Tensor, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        return self._forward(x, *tensors)

    def derivative(self, x: torch.Tensor, tensors: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        return self._derivative_kernel(x, *tensors)

    def value_and_derivative(self, x: torch.Tensor, tensors: Sequence[torch.Tensor] = ()) -> tuple[torch.Tensor, torch.Tensor]:
        return self._value_and_derivative(x, *tensors)

    def backward(self, grad: torch.Tensor, x: torch.Tensor, tensors: Sequence[torch.Tensor],
                 needs: Sequence[bool]) -> tuple[torch.Tensor | None, list[torch.Tensor | None]]:
        grad_x, grad_params = self._backward(grad, x, tuple(needs), *tensors)
        return grad_x, list(grad_params)


_evaluators: dict[tuple, FusedEvaluator] = {}


def fused_evaluator(spec: ActivationSpec, static: Mapping[str, Any], learned: Sequence[str] = (),
                    channel_wise: Sequence[str] = ()) -> FusedEvaluator:
    """The process-wide fused evaluator of one configured activation (compiled on first use), shared by
    every module with the same spec and parameters, so stacked models compile each kernel once."""
    key = (spec.name, tuple(static.items()), tuple(learned), frozenset(channel_wise))
    if key not in _evaluators:
        _evaluators[key] = FusedEvaluator(spec, static, learned, channel_wise)
    return _evaluators[key]
