"""A catalog activation as an ``nn.Module``: learnable parameters are ``nn.Parameter``s; which kernel computes it
(PyTorch's own, the spec's autograd Function, or that Function compiled) is :func:`actlab.backends.kernels.choose`'s
decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from actlab.backends.kernels import choose, native_params
from actlab.backends.torch_function import SpecEvaluator, SpecFunction, stochastic_train
from actlab.backends.torch_namespace import compute_dtype
from actlab.catalog.spec import ActivationSpec


class ActivationModule(nn.Module):
    """A catalog activation as a layer; learnable parameters are ``nn.Parameter``s.

    Its kernels are :func:`actlab.backends.kernels.choose`'s: PyTorch's own where it computes the same function,
    else the spec's autograd Function (compiled with ``fused``). Stochastic activations sample only in training
    mode.
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
        channel_axis: int = 1,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.channel_axis = channel_axis
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
        self._choice = (dict(params), tuple(channel_wise))
        self._native, self.evaluator = choose(spec, params, self.learned, channel_wise, fused)

    # Pickled (torch.save of a whole model, multiprocessing) by reference: the activation's name, and a user's
    # definition, travel; the spec and the kernels (closures, compiled code) are looked up and chosen again on loading.
    _UNPICKLED = ("spec", "_native", "evaluator")

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in self._UNPICKLED}
        state["_spec_ref"] = (self.spec.name, self.spec.definition)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        from actlab.catalog.plugins import spec_named

        state = dict(state)
        spec = spec_named(*state.pop("_spec_ref"))
        super().__setstate__(state)
        params, channel_wise = self._choice
        self.spec = spec
        self._native, self.evaluator = choose(spec, params, self.learned, channel_wise, self.fused)

    def _params(self, x: torch.Tensor) -> dict[str, Any]:
        values = dict(self.static)
        for name in self.learned:
            values[name] = getattr(self, name).to(x.dtype)
        return values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axis = getattr(self, "channel_axis", 1)  # modules pickled before channel_axis existed broadcast along dim 1
        if axis != 1 and x.dim() > 2 and self._choice[1]:
            return self._forward(x.movedim(axis, 1)).movedim(1, axis)
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        compute_dtype(x)
        if self.training and self.spec.stochastic is not None:
            return stochastic_train(self.spec, self.static, x, None)
        if self._native is not None:
            return self._native.fn(F, x, native_params(self.spec, self._params(x), x))
        tensors = [getattr(self, n) for n in self.learned]
        if torch.jit.is_tracing():  # a trace records torch ops (saved and loaded like torch.nn's); autograd derives
            return SpecEvaluator.forward(self.evaluator, x, tensors)
        return SpecFunction.apply(self.evaluator, x, *tensors)

    def uses_native(self, x: torch.Tensor | None = None) -> bool:
        """Whether ``forward`` (outside stochastic training) runs PyTorch's own kernel."""
        return self._native is not None

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
