"""Rewriting a traced model: every activation site of a ``torch.fx`` graph — module calls, functional calls, tensor
methods, activations written as formulas of them — replaced by a fresh module of its own (so a module called twice
becomes two, and ``x * torch.sigmoid(x)`` one module)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import fx, nn

from actlab.backends.torch_module import ActivationModule
from actlab.catalog.spec import ActivationError
from actlab.swap.chains import constant
from actlab.swap.graph_sites import GraphSite, owner_of
from actlab.swap.sites import Site

# Makes the replacement for a site, given the shape of the site's input where known (from an example run)
Maker = Callable[[Site, "tuple[int, ...] | None"], nn.Module]


class _Tracer(fx.Tracer):
    """fx's tracer, keeping actlab's activation modules, those of the ``leaves`` classes and the model's own
    elementwise modules (``composites``, by id) whole: their insides are not traced into."""

    def __init__(self, leaves: tuple[type[nn.Module], ...] = (), composites: Mapping[int, Any] | None = None) -> None:
        super().__init__()
        self.leaves = leaves
        self.composites = composites or {}

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (
            isinstance(m, (ActivationModule, *self.leaves))
            or id(m) in self.composites
            or super().is_leaf_module(m, module_qualified_name)
        )


def trace(
    module: nn.Module, leaves: tuple[type[nn.Module], ...] = (), composites: Mapping[int, Any] | None = None
) -> fx.GraphModule:
    """``module`` as a GraphModule (raises what fx raises when it cannot be traced), modules of the ``leaves``
    classes and the ``composites`` kept whole. Its plain attributes (sizes, flags that other code may read) are
    carried over; its class name is kept for printing."""
    tracer = _Tracer(leaves, composites)
    graph = tracer.trace(module)
    traced = fx.GraphModule(tracer.root, graph, class_name=type(module).__name__)
    for key, value in vars(module).items():
        if not key.startswith("_") and key != "training" and not hasattr(traced, key):
            setattr(traced, key, value)
    return traced


def channel_axis(shape: tuple[int, ...], axis: int | None) -> int:
    """The channel axis of a site's input of ``shape``: ``axis``, or where it is None, dimension 1 of 2-D inputs
    (batch, features) and of 4-D and larger ones (batch, channels, height, width, …), the last dimension of 3-D ones
    (batch, tokens, features: transformers; give ``channel_axis=1`` for a Conv1d's (batch, channels, length))."""
    return axis if axis is not None else -1 if len(shape) == 3 else 1


def channel_count(shape: tuple[int, ...] | None, axis: int | None) -> int | None:
    """The number of channels of a site's input of ``shape`` (see :func:`channel_axis`), None where unknown."""
    if shape is None or len(shape) < 2:
        return None
    along = channel_axis(shape, axis)
    if not -len(shape) <= along < len(shape):
        raise ActivationError(f"channel_axis={axis} is out of range for a site's input of shape {tuple(shape)}")
    return int(shape[along])


def _shape(node: Any) -> tuple[int, ...] | None:
    meta = getattr(node, "meta", {}).get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return tuple(shape) if shape is not None else None


def _free_name(traced: fx.GraphModule, owner: str, base: str) -> str:
    """``owner.base``, or ``owner.base_2``, … where that is taken (by a module or any other attribute)."""
    try:
        parent: Any = traced.get_submodule(owner) if owner else traced
    except AttributeError:  # a module that holds no submodules of its own in the graph: add_submodule creates it
        parent = None
    name, k = base, 1
    while parent is not None and hasattr(parent, name):
        k += 1
        name = f"{base}_{k}"
    return f"{owner}.{name}" if owner else name


def rewrite(
    traced: fx.GraphModule,
    sites: list[GraphSite],
    selected: Callable[[Site], bool],
    make: Maker,
    example: tuple[tuple, dict] | None = None,
) -> list[tuple[Site, nn.Module]]:
    """Replace every site ``selected`` accepts with ``make(site, input shape)``; returns the sites and their new
    modules. ``example``: inputs (positional, keyword) to run once (shapes only) so that per-channel parameters get
    their channel counts. An in-place activation's later readers of its input read the new module's output, as they
    read the modified tensor before."""
    if example is not None:
        _propagate_shapes(traced, *example)
    shapes = [_shape(found.chain.root) for found in sites]  # first: replacing one site changes the graph
    done: list[tuple[Site, nn.Module]] = []
    for found, shape in zip(sites, shapes, strict=True):
        if selected(found.site):
            done.append((found.site, _replace(traced, found, make(found.site, shape))))
    if done:
        traced.delete_all_unused_submodules()
        traced.graph.lint()
        traced.recompile()
    return done


def _propagate_shapes(traced: fx.GraphModule, args: tuple, kwargs: dict) -> None:
    """Record every node's output shape from one run (eval mode, no gradients: batch-norm statistics and the like
    are left as they were)."""
    from torch.fx.passes.shape_prop import ShapeProp

    bound = inspect.signature(traced.forward).bind(*args, **kwargs)
    bound.apply_defaults()
    modes = {m: m.training for m in traced.modules()}
    traced.eval()
    try:
        with torch.no_grad():
            ShapeProp(traced).propagate(*bound.args)
    finally:
        for m, mode in modes.items():
            m.train(mode)


def _replace(traced: fx.GraphModule, found: GraphSite, new: nn.Module) -> nn.Module:
    graph, site, node = traced.graph, found.site, found.chain.output
    if node.op == "call_module" and len(found.chain.nodes) == 1 and "@" not in site.name:
        target = str(node.target)  # the first call of a module keeps its place (and its state_dict prefix)
    elif node.op == "call_module" and len(found.chain.nodes) == 1:
        owner, _, leaf = str(node.target).rpartition(".")
        target = _free_name(traced, owner, f"{leaf}_{site.name.rpartition('@')[2]}")
    else:
        target = _free_name(traced, owner_of(node), node.name)
    traced.add_submodule(target, new)
    inside = set(found.chain.nodes)
    source = next(  # read now: a site replaced before may have been this one's input
        a for n in found.chain.nodes for a in n.all_input_nodes if a not in inside and not constant(a, traced)
    )
    with graph.inserting_after(node):
        replacement = graph.call_module(target, (source,))
    node.replace_all_uses_with(replacement)
    for old in reversed(found.chain.nodes):
        if not old.users:
            graph.erase_node(old)
    if found.inplace and isinstance(source, fx.Node):
        order = {n: i for i, n in enumerate(graph.nodes)}
        for user in list(source.users):
            if user is not replacement and order[user] > order[replacement]:
                user.replace_input_with(source, replacement)
    return new
