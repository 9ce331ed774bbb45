"""Activations written as formulas in a Functional Keras model: the maximal chains of elementwise operations fed by
one tensor (MobileNetV3's hard-sigmoid ``ReLU(6.)(x + 3.) * (1. / 6.)``, its older hard-swish
``Multiply()([x, hard_sigmoid(x)])``), each recognised by its values on a grid (:mod:`actlab.recognise`) as one site.
The same rules as :func:`actlab.swap`'s for PyTorch: a chain of activation layers only (``ReLU`` after ``ReLU``) is a
site per layer; a chain without an activation in it (``x * 2.0``) is no site."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from actlab.recognise import FLOAT32_TOLERANCE, GRID, is_affine, recognise

# keras.ops operations that act elementwise (``h + 3.0`` on a KerasTensor is ops.numpy's Add)
ELEMENTWISE_OPS = frozenset(
    {
        "Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Negative", "Power", "Square", "Sqrt", "Exp", "Log",
        "Tanh", "Sigmoid", "Relu", "Relu6", "Maximum", "Minimum", "Clip", "Abs", "Erf", "Softplus", "Silu", "Gelu",
        "HardSigmoid", "HardSilu", "Elu", "Selu", "LeakyRelu", "Mish", "Where", "Greater", "Less",
    }
)  # fmt: skip
# merging layers that act elementwise on their inputs
MERGES = (keras.layers.Add, keras.layers.Subtract, keras.layers.Multiply, keras.layers.Maximum, keras.layers.Minimum)
# what activations are written with beside activation layers
ANCHORS = frozenset(
    {
        "Relu", "Relu6", "Tanh", "Sigmoid", "Clip", "Maximum", "Minimum", "Erf", "Exp", "Softplus", "Silu", "Gelu",
        "HardSigmoid", "HardSilu", "Elu", "Selu", "LeakyRelu", "Mish", "Where",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Chain:
    """Elementwise operations (their ``nodes``, in graph order, the output last) computing one function of the
    tensor ``root``."""

    root: Any
    nodes: tuple[Any, ...]

    @property
    def output(self) -> Any:
        return self.nodes[-1]


def ordered_nodes(model: keras.Model) -> list[Any]:
    """The nodes of a Functional model, inputs first."""
    by_depth = model._nodes_by_depth
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth] if not node.is_input]


def _elementwise(node: Any, activation_layer: Callable[[Any], bool]) -> bool:
    op = node.operation
    if isinstance(op, keras.layers.Layer):
        return activation_layer(op) or isinstance(op, MERGES)
    return type(op).__name__ in ELEMENTWISE_OPS and type(op).__module__.startswith("keras.")


def chains(model: keras.Model, activation_layer: Callable[[Any], bool]) -> list[Chain]:
    """Every chain of a Functional model ending at a tensor used outside it (or an output); a chain of activation
    layers only is split into one chain per layer. ``activation_layer``: whether a layer is an elementwise activation
    site. Layers called more than once are never part of a chain (one clone serves all their calls)."""
    root_of: dict[int, Any] = {}
    groups: dict[int, tuple[Any, list[Any]]] = {}
    for node in ordered_nodes(model):
        if not _elementwise(node, activation_layer) or len(node.operation._inbound_nodes) != 1:
            continue
        roots = {id(root_of.get(id(t), t)): root_of.get(id(t), t) for t in node.input_tensors}
        if len(roots) != 1 or len(node.output_tensors) != 1:
            continue
        root = next(iter(roots.values()))
        root_of[id(node.output_tensors[0])] = root
        groups.setdefault(id(root), (root, []))[1].append(node)
    used_by: dict[int, list[Any]] = {}
    for node in ordered_nodes(model):
        for tensor in node.input_tensors:
            used_by.setdefault(id(tensor), []).append(node)
    outputs = {id(t) for t in keras.tree.flatten(model.outputs)}
    found = []
    for root, group in groups.values():
        inside = {id(n) for n in group}
        for node in group:
            out = node.output_tensors[0]
            if id(out) not in outputs and all(id(u) in inside for u in used_by.get(id(out), [])):
                continue
            found.append(Chain(root, _ancestors(node, group, inside)))
    return [piece for chain in found for piece in _split(chain, activation_layer)]


def _ancestors(node: Any, group: list[Any], inside: set[int]) -> tuple[Any, ...]:
    keep, stack = set(), [node]
    while stack:
        current = stack.pop()
        if id(current) in inside and id(current) not in keep:
            keep.add(id(current))
            stack += [t._keras_history.operation._inbound_nodes[t._keras_history.node_index]
                      for t in current.input_tensors]  # fmt: skip
    return tuple(n for n in group if id(n) in keep)


def _split(chain: Chain, activation_layer: Callable[[Any], bool]) -> list[Chain]:
    if len(chain.nodes) == 1 or not all(activation_layer(n.operation) for n in chain.nodes):
        return [chain]
    return [Chain(n.input_tensors[0], (n,)) for n in chain.nodes]


def anchored(chain: Chain, activation_layer: Callable[[Any], bool]) -> bool:
    """Whether the chain applies an activation (a layer, or an operation activations are written with)."""
    return any(activation_layer(n.operation) or type(n.operation).__name__ in ANCHORS for n in chain.nodes)


def recognised(chain: Chain) -> str | None:
    """The catalog activation the chain computes (its notation), or None: run on the grid in float32."""
    values: dict[int, Any] = {id(chain.root): keras.ops.convert_to_tensor(GRID.astype("float32")[None, :])}
    try:
        for node in chain.nodes:
            args, kwargs = node.arguments.fill_in(values)
            values[id(node.output_tensors[0])] = node.operation(*args, **kwargs)
        with warnings.catch_warnings():  # Keras' torch backend converts through NumPy 1's __array__ protocol
            warnings.simplefilter("ignore", DeprecationWarning)
            out = keras.ops.convert_to_numpy(values[id(chain.output.output_tensors[0])]).reshape(-1)
    except Exception:  # an operation that does not run apart from its model: no activation to recognise
        return None
    if out.shape != GRID.shape or is_affine(out, FLOAT32_TOLERANCE):
        return None
    return recognise(np.asarray(out, dtype=np.float64), FLOAT32_TOLERANCE)


def formula(chain: Chain) -> str:
    """The chain written out: ``ReLU(x + 3) * 0.166667``."""
    symbols = {"Add": "+", "Subtract": "-", "Multiply": "*", "Divide": "/", "TrueDivide": "/", "Power": "**"}
    text: dict[int, str] = {id(chain.root): "x"}

    def show(value: Any, bare: bool = False) -> str:
        shown = text.get(id(value), f"{value:g}" if isinstance(value, float) else repr(value))
        return shown[1:-1] if bare and id(value) in operations else shown

    operations: set[int] = set()  # tensors whose text is a parenthesised operation
    for node in chain.nodes:
        op, args = node.operation, list(node.arguments.args)
        values = args[0] if len(args) == 1 and isinstance(args[0], list | tuple) else args
        name, out = type(op).__name__, id(node.output_tensors[0])
        if name in symbols and len(values) == 2:
            text[out] = f"({show(values[0])} {symbols[name]} {show(values[1])})"
            operations.add(out)
        else:
            limit = getattr(op, "max_value", None)
            name += f"({limit:g})" if isinstance(op, keras.layers.ReLU) and limit is not None else ""
            text[out] = f"{name}({', '.join(show(v, bare=True) for v in values)})"
    return show(chain.output.output_tensors[0], bare=True)


def gate(chain: Chain, model: keras.Model) -> bool:
    """Whether the chain's output multiplies a tensor not computed from its root alone (squeeze-and-excitation)."""
    out = chain.output.output_tensors[0]
    for node in ordered_nodes(model):
        if not any(t is out for t in node.input_tensors):
            continue
        if type(node.operation).__name__ == "Multiply" and any(
            t is not out and t is not chain.root for t in node.input_tensors
        ):
            return True
    return False
