"""Floating-point operations of a block of torch work: its matrix products and convolutions (the work that threads
share), counted at torch's dispatcher as they run. 2·m·k·n for a product of (m, k) and (k, n); a convolution's 2 ·
output elements · (input channels / groups) · kernel elements, and as much again for each gradient its backward
computes (the input's, the weights')."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten


def _product(a: torch.Tensor, b: torch.Tensor) -> float:
    """2·m·k·n for a (…, m, k) @ (…, k, n) product, batches included."""
    batch = math.prod(a.shape[:-2]) if a.dim() > 2 else 1
    return 2.0 * batch * a.shape[-2] * a.shape[-1] * b.shape[-1]


def _convolution(weight: torch.Tensor, out: torch.Tensor) -> float:
    per_output = weight.shape[1] * math.prod(weight.shape[2:])  # input channels per group × kernel elements
    return 2.0 * out.numel() * per_output


def _flops(func: Any, args: tuple, out: Any) -> float:
    packet = func.overloadpacket
    if packet in (aten.mm, aten.bmm, aten.matmul):
        return _product(args[0], args[1])
    if packet in (aten.addmm, aten.baddbmm):
        return _product(args[1], args[2])
    if packet is aten.convolution:
        return _convolution(args[1], out)
    if packet is aten.convolution_backward:  # the input's gradient and the weights', where each is asked for
        grad_output, weight, wanted = args[0], args[2], args[10]
        return (bool(wanted[0]) + bool(wanted[1])) * _convolution(weight, grad_output)
    return 0.0


class _Counter(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ to keep TorchDynamo out of it, importing TorchDynamo (seconds of
        # start-up) on the first call; counting never runs under torch.compile (fused warm-ups are not counted)
        return False

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0.0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.flops += _flops(func, args, out)
        return out


def count(block: Callable[[], object]) -> float:
    """The floating-point operations of the matrix products and convolutions ``block()`` runs."""
    with _Counter() as counter:
        block()
    return counter.flops
