"""What `swap` recognises as an activation in a PyTorch model, and which of those a ``match`` selects.

A *site* is one place where an activation is applied: a call of an activation module (a module shared by two call
sites is two sites; a model's own elementwise class, such as transformers' ``NewGELUActivation``, is one), a
functional call (``F.relu``, ``torch.tanh``), a tensor method (``x.relu()``) or a formula of such calls
(``x * torch.sigmoid(1.702 * x)``). Each has a *kind*: the catalog name of what it computes (``nn.Hardswish`` and
``F.hardswish`` are both ``hard_swish``; ``NewGELUActivation`` is ``gelu_tanh``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from actlab.backends.torch_module import ActivationModule
from actlab.catalog import REGISTRY
from actlab.catalog.spec import ActivationError
from actlab.recognise import same_function

# torch.nn's elementwise activation layers (Softmax, LogSoftmax, Softmin, GLU and MultiheadAttention are not swapped:
# they normalise, gate or attend across a dimension, and replacing them changes what the model computes or its shapes)
MODULE_KINDS: dict[type[nn.Module], str] = {
    nn.ReLU: "relu",
    nn.ReLU6: "relu6",
    nn.LeakyReLU: "leaky_relu",
    nn.PReLU: "prelu",
    nn.RReLU: "rrelu",
    nn.ELU: "elu",
    nn.SELU: "selu",
    nn.CELU: "celu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Mish: "mish",
    nn.Hardswish: "hard_swish",
    nn.Hardsigmoid: "hard_sigmoid",
    nn.Hardtanh: "hardtanh",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.Softplus: "softplus",
    nn.Softsign: "softsign",
    nn.LogSigmoid: "log_sigmoid",
    nn.Tanhshrink: "tanhshrink",
    nn.Softshrink: "softshrink",
    nn.Hardshrink: "hardshrink",
    nn.Threshold: "threshold",
}

# functional names (in torch.nn.functional, torch, and as tensor methods; a trailing _ is the in-place variant)
FUNCTION_KINDS: dict[str, str] = {
    "relu": "relu",
    "relu6": "relu6",
    "leaky_relu": "leaky_relu",
    "prelu": "prelu",
    "rrelu": "rrelu",
    "elu": "elu",
    "selu": "selu",
    "celu": "celu",
    "gelu": "gelu",
    "silu": "silu",
    "mish": "mish",
    "hardswish": "hard_swish",
    "hardsigmoid": "hard_sigmoid",
    "hardtanh": "hardtanh",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softplus": "softplus",
    "softsign": "softsign",
    "logsigmoid": "log_sigmoid",
    "tanhshrink": "tanhshrink",
    "softshrink": "softshrink",
    "hardshrink": "hardshrink",
    "threshold": "threshold",
}


def _functions() -> dict[Callable, tuple[str, str, bool]]:
    """Every recognised function object → (how it is written, kind, in place)."""
    found: dict[Callable, tuple[str, str, bool]] = {}
    for prefix, namespace in (("F", F), ("torch", torch)):
        for name, kind in FUNCTION_KINDS.items():
            for variant, inplace in ((name, False), (name + "_", True)):
                fn = getattr(namespace, variant, None)
                if fn is not None and fn not in found:
                    found[fn] = (f"{prefix}.{variant}", kind, inplace)
    found.setdefault(torch.special.expit, ("torch.special.expit", "sigmoid", False))
    return found


FUNCTIONS = _functions()
# tensor methods: x.relu(), x.sigmoid_(), …
METHODS: dict[str, tuple[str, bool]] = {
    variant: (kind, variant.endswith("_"))
    for name, kind in FUNCTION_KINDS.items()
    for variant in (name, name + "_")
    if hasattr(torch.Tensor, variant)
}


def module_kind(
    module: nn.Module, custom: tuple[type[nn.Module], ...] = (), composites: Mapping[int, Any] | None = None
) -> str | None:
    """The kind of an activation module, or None if it is not one `swap` replaces. ``custom``: classes a ``match``
    names that `swap` does not know (a model's own activation class): their modules are sites of their class's name,
    replaced whole. ``composites``: the model's own elementwise modules (by id) and what each computes
    (:func:`actlab.swap.composite.composite_modules`)."""
    if custom and isinstance(module, custom):
        return type(module).__name__
    if composites and id(module) in composites:
        return composites[id(module)].kind
    if isinstance(module, ActivationModule):
        return None if module.spec.gated else module.spec.name
    kind = MODULE_KINDS.get(type(module))
    if kind == "gelu" and getattr(module, "approximate", "none") == "tanh":
        return "gelu_tanh"
    return kind


def function_kind(fn: Any, kwargs: dict[str, Any]) -> tuple[str, str, bool] | None:
    """(how it is written, kind, in place) of a recognised functional call, else None."""
    try:
        found = FUNCTIONS.get(fn)
    except TypeError:  # an unhashable target
        return None
    if found is None:
        return None
    written, kind, inplace = found
    if kind == "gelu" and kwargs.get("approximate") == "tanh":
        kind = "gelu_tanh"
    return written, kind, inplace or bool(kwargs.get("inplace", False))


def describe_module(module: nn.Module, composites: Mapping[int, Any] | None = None) -> str:
    """``nn.ReLU(inplace=True)``, ``actlab mish``, ``NewGELUActivation (≈ gelu_tanh)``: how a replaced module is
    listed."""
    if composites and id(module) in composites:
        return composites[id(module)].written
    if isinstance(module, ActivationModule):
        return f"actlab {module.spec.name}" + (f"({module.extra_repr()})" if module.extra_repr() else "")
    prefix = "nn." if type(module) in MODULE_KINDS else ""
    return f"{prefix}{type(module).__name__}({module.extra_repr()})"


@dataclass(frozen=True)
class Site:
    """One place an activation is applied: its qualified name, what is there, its kind."""

    name: str
    written: str
    kind: str
    module: nn.Module | None = None
    keep: str | None = None  # why it is kept unless a match selects it (a gate, an unrecognised formula)


Match = str | type | Callable[[str], bool] | Iterable[Any] | None


class Matcher:
    """Which sites ``match`` selects: None, every site; a name (``"relu"``, an alias like ``"ReLU"``), sites of that
    kind; an ``nn.Module`` class, sites of that class and the functional calls of the same kind — a class `swap` does
    not know as an activation (a model's own, ``MyAct``) makes its modules sites, replaced whole (``classes``); a
    regular expression string starting with ``re:``, sites whose qualified name it matches; a callable, sites whose
    qualified name it accepts; a list or tuple of these, sites any of them selects."""

    def __init__(self, match: Match) -> None:
        items = self._items(match) if match is not None else []
        self.tests = [self._test(m) for m in items] if match is not None else None
        self.classes: tuple[type[nn.Module], ...] = tuple(
            item
            for item in items
            if isinstance(item, type) and item not in MODULE_KINDS and not issubclass(item, ActivationModule)
        )

    @staticmethod
    def _items(match: Match) -> list[Any]:
        if isinstance(match, str | type) or callable(match):
            return [match]
        items = list(match)
        if not items:
            raise ActivationError("match is empty: give a name, a class, a predicate or a list of them (or None)")
        return items

    @staticmethod
    def _test(item: Any) -> Callable[[Site], bool]:
        if isinstance(item, str) and item.startswith("re:"):
            pattern = re.compile(item[3:])
            return lambda site: pattern.search(site.name) is not None
        if isinstance(item, str):
            kinds = same_function(REGISTRY.get(item).name)  # unknown names raise the catalog's error, with suggestions
            return lambda site: site.kind in kinds
        if isinstance(item, type):
            if not issubclass(item, nn.Module):
                raise ActivationError(f"match: {item.__name__} is not an nn.Module class")
            kind = MODULE_KINDS.get(item)
            return lambda site: isinstance(site.module, item) or (site.module is None and site.kind == kind)
        if callable(item):
            return lambda site: bool(item(site.name))
        raise ActivationError(f"match: {item!r} is not a name, an nn.Module class or a predicate on site names")

    @property
    def default(self) -> bool:
        """No ``match`` given: every site not kept by default (see :func:`actlab.swap.swap`)."""
        return self.tests is None

    def __call__(self, site: Site) -> bool:
        return self.tests is None or any(test(site) for test in self.tests)
