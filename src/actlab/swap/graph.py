"""Rewriting a traced model: every activation site of a ``torch.fx`` graph — module calls, functional calls, tensor
methods — replaced by a fresh module of its own (so a module called twice becomes two)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch import fx, nn

from actlab.backends.torch_module import ActivationModule
from actlab.swap.sites import METHODS, Matcher, Site, describe_module, function_kind, module_kind

# Makes the replacement for a site; the int is the site's channel count where known (dimension 1 of its input)
Maker = Callable[[Site, "int | None"], nn.Module]


class _Tracer(fx.Tracer):
    """fx's tracer, keeping actlab's activation modules and those of the ``leaves`` classes whole (their autograd
    Function, or the custom activation a match names, is not traced into)."""

    def __init__(self, leaves: tuple[type[nn.Module], ...] = ()) -> None:
        super().__init__()
        self.leaves = leaves

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, (ActivationModule, *self.leaves)) or super().is_leaf_module(m, module_qualified_name)


def trace(module: nn.Module, leaves: tuple[type[nn.Module], ...] = ()) -> fx.GraphModule:
    """``module`` as a GraphModule (raises what fx raises when it cannot be traced), modules of the ``leaves``
    classes kept whole. Its plain attributes (sizes, flags that other code may read) are carried over; its class
    name is kept for printing."""
    tracer = _Tracer(leaves)
    graph = tracer.trace(module)
    traced = fx.GraphModule(tracer.root, graph, class_name=type(module).__name__)
    for key, value in vars(module).items():
        if not key.startswith("_") and key != "training" and not hasattr(traced, key):
            setattr(traced, key, value)
    return traced


def _owner(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack), "").partition("@")[0] if stack else ""


def _site(
    traced: fx.GraphModule, node: fx.Node, calls: Counter, custom: tuple[type[nn.Module], ...] = ()
) -> tuple[Site, bool] | None:
    """The site at ``node`` and whether it works in place, or None when the node is no activation (``custom``: see
    :func:`~actlab.swap.sites.module_kind`)."""
    if node.op == "call_module":
        module = traced.get_submodule(node.target)
        kind = module_kind(module, custom)
        if kind is None:
            return None
        calls[node.target] += 1
        name = node.target if calls[node.target] == 1 else f"{node.target}@{calls[node.target] - 1}"
        return Site(name, describe_module(module), kind, module), bool(getattr(module, "inplace", False))
    owner = _owner(node)
    if node.op == "call_function":
        found = function_kind(node.target, node.kwargs)
        if found is None:
            return None
        written, kind, inplace = found
    elif node.op == "call_method" and node.target in METHODS:
        kind, inplace = METHODS[node.target]
        written = f"Tensor.{node.target}"
    else:
        return None
    return Site(f"{owner}.{node.name}" if owner else node.name, written, kind), inplace


def needs_graph(traced: fx.GraphModule, matcher: Matcher) -> bool:
    """Whether swapping the selected sites needs the graph rewritten: a functional call or tensor method, a module
    called more than once, or an in-place module whose input is read again after it. Otherwise replacing modules
    keeps the model's own classes, which is better."""
    calls: Counter = Counter()
    found = [(node, _site(traced, node, calls, matcher.classes)) for node in traced.graph.nodes]
    order = {node: i for i, node in enumerate(traced.graph.nodes)}
    for node, site_inplace in found:
        if site_inplace is None or not matcher(site_inplace[0]):
            continue
        if node.op != "call_module" or calls[node.target] > 1:
            return True
        source = _input(node)
        if site_inplace[1] and isinstance(source, fx.Node) and any(order[u] > order[node] for u in source.users):
            return True
    return False


def _input(node: fx.Node) -> Any:
    return node.args[0] if node.args else node.kwargs.get("input", node.kwargs.get("self"))


def _channels(node: fx.Node) -> int | None:
    meta = getattr(_input(node), "meta", {}).get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return int(shape[1]) if shape is not None and len(shape) >= 2 else None


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
    traced: fx.GraphModule, matcher: Matcher, make: Maker, example: tuple | None = None
) -> list[tuple[Site, nn.Module]]:
    """Replace every site ``matcher`` selects with ``make(site, channels)``; returns the sites and their new modules.
    ``example``: inputs to run once (shapes only) so that per-channel parameters get their channel counts. An in-place
    activation's later readers of its input read the new module's output, as they read the modified tensor before."""
    if example is not None:
        from torch.fx.passes.shape_prop import ShapeProp

        modes = {m: m.training for m in traced.modules()}
        traced.eval()  # shapes only: leave batch-norm statistics and the like as they were
        try:
            with torch.no_grad():
                ShapeProp(traced).propagate(*example)
        finally:
            for m, mode in modes.items():
                m.train(mode)
    calls: Counter = Counter()
    # every site and its channel count first: replacing one changes the graph the others are read from
    found = [(node, _site(traced, node, calls, matcher.classes), _channels(node)) for node in list(traced.graph.nodes)]
    done: list[tuple[Site, nn.Module]] = []
    for node, site_inplace, channels in found:
        if site_inplace is None or not matcher(site_inplace[0]):
            continue
        site, inplace = site_inplace
        done.append((site, _replace(traced, node, site, inplace, make(site, channels))))
    if done:
        traced.delete_all_unused_submodules()
        traced.graph.lint()
        traced.recompile()
    return done


def _replace(traced: fx.GraphModule, node: fx.Node, site: Site, inplace: bool, new: nn.Module) -> nn.Module:
    graph = traced.graph
    if node.op == "call_module" and "@" not in site.name:
        target = node.target  # the first call of a module keeps its place (and its state_dict prefix)
    elif node.op == "call_module":
        owner, _, leaf = node.target.rpartition(".")
        target = _free_name(traced, owner, f"{leaf}_{site.name.rpartition('@')[2]}")
    else:
        target = _free_name(traced, _owner(node), node.name)
    traced.add_submodule(target, new)
    source = _input(node)
    with graph.inserting_after(node):
        replacement = graph.call_module(target, (source,))
    node.replace_all_uses_with(replacement)
    graph.erase_node(node)
    if inplace and isinstance(source, fx.Node):
        order = {n: i for i, n in enumerate(graph.nodes)}
        for user in list(source.users):
            if user is not replacement and order[user] > order[replacement]:
                user.replace_input_with(source, replacement)
    return new
