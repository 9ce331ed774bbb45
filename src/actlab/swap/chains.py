"""Elementwise chains of a traced graph: the maximal runs of elementwise calls fed by one tensor (their *root*).

``0.5 * x * (1 + torch.tanh(c * (x + 0.044715 * torch.pow(x, 3))))`` is one chain of seven calls, rooted at ``x``, and
computes one function of ``x``: an activation written as a formula. A call with a second tensor operand from
elsewhere (a residual ``x + h``, a gate ``x * torch.sigmoid(s)``, a bias vector) ends the chain; Python numbers and
one-element parameters (a learnable β) are constants of it.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from actlab.recognise import GRID
from actlab.swap.sites import FUNCTIONS, METHODS

ARITHMETIC: dict[Callable, str] = {
    operator.add: "+",
    operator.sub: "-",
    operator.mul: "*",
    operator.truediv: "/",
    operator.pow: "**",
}
_TORCH_ELEMENTWISE = (
    "add", "sub", "mul", "div", "true_divide", "neg", "pow", "tanh", "sigmoid", "exp", "log", "log1p", "expm1", "erf",
    "erfc", "clamp", "clip", "clamp_min", "clamp_max", "abs", "sqrt", "rsqrt", "square", "maximum", "minimum",
    "where", "sin", "cos", "sign", "gt", "ge", "lt", "le",
)  # fmt: skip
FUNCTIONS_ELEMENTWISE: set[Callable] = {
    *ARITHMETIC,
    operator.neg,
    operator.gt,
    operator.ge,
    operator.lt,
    operator.le,
    *(getattr(torch, n) for n in _TORCH_ELEMENTWISE if hasattr(torch, n)),
    torch.special.erf,
    torch.special.expit,
    F.softplus,
    *FUNCTIONS,
}
METHODS_ELEMENTWISE = {*_TORCH_ELEMENTWISE, *METHODS}
# Calls that make a chain a candidate activation beside the named ones (F.relu, torch.tanh, …): those activations
# are written with (a clamp in hard-mish, erf in GELU, exp in a hand-written sigmoid). Chains of other calls only —
# rotary embeddings' cos and sin, a norm's rsqrt and pow — are no activation, and not looked at.
_ANCHORS = ("clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum", "where", "erf", "erfc", "exp", "expm1")
ANCHOR_FUNCTIONS: set[Callable] = {getattr(torch, n) for n in _ANCHORS if hasattr(torch, n)} | {torch.special.erf}
ANCHOR_METHODS = {*_ANCHORS, *(n + "_" for n in _ANCHORS)}


@dataclass(frozen=True)
class Chain:
    """Elementwise calls computing ``output`` from ``root`` (``nodes`` in graph order, ``output`` last)."""

    root: fx.Node
    nodes: tuple[fx.Node, ...]

    @property
    def output(self) -> fx.Node:
        return self.nodes[-1]

    def anchored(self, activation_call: Callable[[fx.Node], bool]) -> bool:
        """Whether the chain applies an activation (``activation_call``) or a call activations are written with."""
        return any(
            activation_call(n)
            or (n.op == "call_function" and n.target in ANCHOR_FUNCTIONS)
            or (n.op == "call_method" and n.target in ANCHOR_METHODS)
            for n in self.nodes
        )


def constant(node: Any, traced: fx.GraphModule) -> bool:
    """A graph input of a chain that is a constant of its function: a one-element parameter or buffer."""
    if not isinstance(node, fx.Node) or node.op != "get_attr":
        return False
    value = _attribute(traced, str(node.target))
    return not isinstance(value, torch.Tensor) or value.numel() <= 1


def _attribute(traced: fx.GraphModule, target: str) -> Any:
    owner, _, name = target.rpartition(".")
    return getattr(traced.get_submodule(owner) if owner else traced, name)


def _elementwise(node: fx.Node, leaf: Callable[[nn.Module], bool], traced: fx.GraphModule) -> bool:
    if node.op == "call_function":
        try:
            return node.target in FUNCTIONS_ELEMENTWISE
        except TypeError:  # an unhashable target
            return False
    if node.op == "call_method":
        return node.target in METHODS_ELEMENTWISE
    return node.op == "call_module" and leaf(traced.get_submodule(str(node.target)))


def chains(traced: fx.GraphModule, leaf: Callable[[nn.Module], bool]) -> list[Chain]:
    """Every chain of ``traced`` ending at a value used outside it (a chain whose intermediate value is used
    elsewhere too gives a chain ending there as well). ``leaf``: whether a called module is elementwise (an
    activation module)."""
    root_of: dict[fx.Node, fx.Node] = {}
    groups: dict[fx.Node, list[fx.Node]] = {}
    for node in traced.graph.nodes:
        if not _elementwise(node, leaf, traced):
            continue
        tensors = [a for a in node.all_input_nodes if not constant(a, traced)]
        roots = {root_of.get(a, a) for a in tensors}
        if len(roots) != 1:
            continue
        root = roots.pop()
        root_of[node] = root
        groups.setdefault(root, []).append(node)
    found = []
    for root, group in groups.items():
        inside = set(group)
        for node in group:
            if all(user in inside for user in node.users):
                continue
            ancestors, stack = set(), [node]
            while stack:
                current = stack.pop()
                if current in inside and current not in ancestors:
                    ancestors.add(current)
                    stack += current.all_input_nodes
            found.append(Chain(root, tuple(n for n in group if n in ancestors)))
    return found


def values(chain: Chain, traced: fx.GraphModule) -> np.ndarray | None:
    """The chain's function on :data:`~actlab.recognise.GRID` (float64), or None where it cannot be run apart."""
    env: dict[fx.Node, Any] = {chain.root: torch.from_numpy(GRID.copy())}

    def load(arg: fx.Node) -> Any:
        if arg in env:
            return env[arg]
        value = _attribute(traced, str(arg.target))  # a constant (see constant)
        return value.detach().to("cpu", torch.float64) if isinstance(value, torch.Tensor) else value

    try:
        with torch.no_grad():
            for node in chain.nodes:
                args, kwargs = fx.node.map_arg((node.args, node.kwargs), load)
                kwargs = {k: v for k, v in kwargs.items() if k != "inplace"}
                if node.op == "call_function":
                    env[node] = node.target(*args, **kwargs)
                elif node.op == "call_method":
                    env[node] = getattr(args[0], str(node.target).rstrip("_"))(*args[1:], **kwargs)
                else:
                    module = traced.get_submodule(str(node.target))
                    env[node] = _float64(module)(*args, **kwargs)
        out = env[chain.output]
    except Exception:  # a call that does not run apart from its model: the chain is no activation to recognise
        return None
    return out.numpy() if isinstance(out, torch.Tensor) and out.shape == GRID.shape else None


def _float64(module: nn.Module) -> nn.Module:
    return copy.deepcopy(module).to("cpu", torch.float64).eval()  # the grid is on the CPU


def expression(chain: Chain, traced: fx.GraphModule) -> str:
    """The chain as a formula of ``x`` (its root): ``x * torch.sigmoid(1.702 * x)``."""
    text: dict[fx.Node, str] = {chain.root: "x"}
    sums: set[fx.Node] = set()  # nodes whose text is a parenthesised operation

    def show(arg: Any, bare: bool = False) -> str:
        if isinstance(arg, fx.Node):
            shown = text.get(arg, str(arg.target))
            return shown[1:-1] if bare and arg in sums else shown
        if isinstance(arg, float):
            return "π" if arg == math.pi else f"{arg:g}"
        return repr(arg)

    for node in chain.nodes:
        first = show(node.args[0]) if node.args else ""
        rest = [show(a, bare=True) for a in node.args[1:]]
        rest += [f"{k}={show(v, bare=True)}" for k, v in node.kwargs.items() if k != "inplace"]
        if node.op == "call_function" and node.target in ARITHMETIC and len(node.args) == 2:
            text[node] = f"({first} {ARITHMETIC[node.target]} {show(node.args[1])})"
            sums.add(node)
        elif node.op == "call_function" and node.target is operator.neg:
            text[node] = f"-{first}"
        elif node.op == "call_method":
            text[node] = f"{first}.{node.target}({', '.join(rest)})"
        else:
            known = FUNCTIONS.get(node.target) if node.op == "call_function" else None
            name = f"self.{node.target}" if node.op == "call_module" else None
            name = name or (known[0] if known else f"torch.{getattr(node.target, '__name__', node.target)}")
            args = [show(node.args[0], bare=True)] if node.args else []
            text[node] = f"{name}({', '.join(args + rest)})"
    return show(chain.output, bare=True)
