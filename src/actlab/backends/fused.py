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

from actlab.backends.torch_function import SpecEvaluator
from actlab.catalog.spec import ActivationSpec

_kernel_ids = itertools.count()


def _own_code(fn: Callable) -> Callable:
    """``fn`` with a code object of its own.

    TorchDynamo keeps its compiled versions per code object and allows only a few recompilations of one
    (with ``fullgraph`` a further one is an error). Every kernel variant below gets a private copy, so each
    is compiled once and counted on its own.
    """
    code = fn.__code__.replace(co_name=f"{fn.__name__}_{next(_kernel_ids)}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


def compile_kernel(fn: Callable) -> Callable:
    """``fn`` compiled as one graph by TorchInductor, with dynamic sizes and a code object of its own."""
    return torch.compile(_own_code(fn), dynamic=True, fullgraph=True)


def _signature(tensors: Sequence[torch.Tensor]) -> tuple:
    """What a compiled kernel specialises on besides sizes (which stay dynamic): dtype, device, rank,
    whether autograd tracks it, and whether it is contiguous (strided views compile apart)."""
    return tuple((t.dtype, t.device, t.dim(), t.requires_grad, t.is_contiguous()) for t in tensors)


class FusedEvaluator(SpecEvaluator):
    """A :class:`SpecEvaluator` whose forward, backward and derivative each run as one compiled kernel,
    compiled on first use for each dtype, device and rank of the inputs."""

    def __init__(
        self,
        spec: ActivationSpec,
        static: Mapping[str, Any],
        learned: Sequence[str] = (),
        channel_wise: Sequence[str] = (),
    ) -> None:
        super().__init__(spec, static, learned, channel_wise)
        reference = SpecEvaluator(spec, static, learned, channel_wise)

        def forward(x: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
            return reference.forward(x, tensors)

        def derivative(x: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
            return reference.derivative(x, tensors)

        def value_and_derivative(x: torch.Tensor, *tensors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return reference.value_and_derivative(x, tensors)

        self._sources: dict[str, Callable] = {
            "forward": forward,
            "derivative": derivative,
            "value_and_derivative": value_and_derivative,
        }
        self._compiled: dict[tuple, Callable] = {}

        def backward_for(needs: tuple[bool, ...]) -> Callable:
            def backward(grad: torch.Tensor, x: torch.Tensor, *tensors: torch.Tensor):
                return reference.backward(grad, x, tensors, needs)

            return backward

        self._backward_for = backward_for

    def _kernel(
        self, name: str, inputs: Sequence[torch.Tensor], make_source: Callable[[], Callable] | None = None
    ) -> Callable:
        """The compiled ``name`` kernel for inputs like these (compiled now if it is the first). Inside a
        region being compiled already (a whole layer of several models' activations), the plain formula,
        which is traced into that graph."""
        source = make_source if make_source is not None else lambda: self._sources[name]
        if torch.compiler.is_compiling():
            return source()
        key = (name, torch.is_grad_enabled(), _signature(inputs))
        kernel = self._compiled.get(key)
        if kernel is None:
            kernel = compile_kernel(source())
            self._compiled[key] = kernel
        return kernel

    def forward(self, x: torch.Tensor, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        return self._kernel("forward", (x, *tensors))(x, *tensors)

    def derivative(self, x: torch.Tensor, tensors: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        return self._kernel("derivative", (x, *tensors))(x, *tensors)

    def value_and_derivative(
        self, x: torch.Tensor, tensors: Sequence[torch.Tensor] = ()
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self._kernel("value_and_derivative", (x, *tensors))(x, *tensors)

    def backward(
        self, grad: torch.Tensor, x: torch.Tensor, tensors: Sequence[torch.Tensor], needs: Sequence[bool]
    ) -> tuple[torch.Tensor | None, list[torch.Tensor | None]]:
        needs = tuple(needs)
        inputs = (grad, x, *tensors)
        kernel = self._kernel(f"backward{needs}", inputs, lambda: self._backward_for(needs))
        grad_x, grad_params = kernel(*inputs)
        return grad_x, list(grad_params)


_evaluators: dict[tuple, FusedEvaluator] = {}


def fused_evaluator(
    spec: ActivationSpec, static: Mapping[str, Any], learned: Sequence[str] = (), channel_wise: Sequence[str] = ()
) -> FusedEvaluator:
    """The process-wide fused evaluator of one configured activation (compiled on first use), shared by
    every module with the same spec and parameters, so stacked models compile each kernel once."""
    key = (spec.name, tuple(static.items()), tuple(learned), frozenset(channel_wise))
    if key not in _evaluators:
        _evaluators[key] = FusedEvaluator(spec, static, learned, channel_wise)
    return _evaluators[key]
