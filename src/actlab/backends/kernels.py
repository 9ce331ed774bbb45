"""Which kernel computes an activation on torch tensors — decided here and nowhere else, as timm's
``get_act_layer`` does, for built-in and user-defined activations alike.

PyTorch's own kernel (the spec's :class:`~actlab.catalog.spec.Native`) runs where it computes the same function for
these parameter values and differentiates every learned parameter; the functional form ``act(x)``, which must be
exact on the whole extended real line, takes it only where it is exact. Otherwise the spec's autograd Function runs
(:mod:`actlab.backends.torch_function`), compiled into one kernel each way when ``fused``
(:mod:`actlab.backends.fused`) — which also replaces the native kernels that measure slower (``yields_to_fused``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from actlab.backends import fused as fused_kernels
from actlab.backends.torch_function import SpecEvaluator, SpecFunction, stochastic_train
from actlab.backends.torch_namespace import compute_dtype
from actlab.catalog.spec import ActivationSpec, Native


def native_kernel(
    spec: ActivationSpec,
    params: Mapping[str, Any],
    learned: Sequence[str] = (),
    fused: bool = False,
    exact: bool = False,
) -> Native | None:
    """PyTorch's kernel for ``spec`` with ``params`` (fixed values; ``learned`` ones vary), or None where the spec's
    own evaluation runs: see the module docstring."""
    native = spec.native
    if native is None or not native.applies(params):
        return None
    if exact and not native.exact:
        return None
    if not set(learned) <= set(native.learns):
        return None
    if fused and native.yields_to_fused:
        return None
    return native


def choose(
    spec: ActivationSpec,
    params: Mapping[str, Any],
    learned: Sequence[str] = (),
    channel_wise: Sequence[str] = (),
    fused: bool = False,
) -> tuple[Native | None, SpecEvaluator]:
    """A module's kernels: ``(native, evaluator)`` — PyTorch's kernel or None, and the spec's evaluator (compiled when
    ``fused``), which also gives the derivative whichever computes the forward."""
    static = {k: v for k, v in params.items() if k not in learned}
    evaluator = (fused_kernels.fused_evaluator if fused else SpecEvaluator)(spec, static, learned, channel_wise)
    return native_kernel(spec, params, learned, fused), evaluator


def native_params(spec: ActivationSpec, params: Mapping[str, Any], x: torch.Tensor) -> dict[str, Any]:
    """Learnable parameters reach native kernels as tensors of the input's dtype (e.g. F.prelu's weight)."""
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
        return stochastic_train(spec, params, x, generator)
    native = native_kernel(spec, params, exact=True)
    if native is not None:
        return native.fn(F, x, native_params(spec, params, x))
    if torch.jit.is_tracing():  # as in ActivationModule.forward: a trace records torch ops
        return SpecEvaluator(spec, params).forward(x, ())
    return SpecFunction.apply(SpecEvaluator(spec, params), x)


def derivative(spec: ActivationSpec, params: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        d = SpecEvaluator(spec, params).derivative(x)
        xc = x.to(d.dtype)
        return torch.where(torch.isnan(xc), xc, d).to(x.dtype)
