"""Rewriting a traced model: every activation site of a ``torch.fx`` graph — module calls, functional calls, tensor
methods, activations written as formulas of them — replaced by a fresh module of its own (so a module called twice
becomes two, and ``x * torch.sigmoid(x)`` one module)."""

from __future__ import annotations

import inspect
import operator
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import fx, nn

from actlab.backends.torch_module import ActivationModule
from actlab.catalog.spec import ActivationError
from actlab.recognise import is_affine, recognise, squashing
from actlab.swap.chains import Chain, chains, constant, expression, values
from actlab.swap.composite import UNRECOGNISED
from actlab.swap.sites import METHODS, Site, describe_module, function_kind, module_kind

# Makes the replacement for a site, given the shape of the site's input where known (from an example run)
Maker = Callable[[Site, "tuple[int, ...] | None"], nn.Module]
GATE = "a gate: its output multiplies another tensor (match= selects it)"


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


def _owner(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack), "").partition("@")[0] if stack else ""


@dataclass(frozen=True)
class GraphSite:
    """A site of a traced graph: the calls it replaces (``chain``, from one input ``chain.root``), in place or not."""

    site: Site
    chain: Chain
    inplace: bool


def _single(traced: fx.GraphModule, node: fx.Node, calls: Counter, known: Known) -> tuple[Site, bool] | None:
    """The site of one call of an activation module, function or method, and whether it works in place."""
    if node.op == "call_module":
        module = traced.get_submodule(str(node.target))
        kind = module_kind(module, known.custom, known.composites)
        if kind is None:
            return None
        calls[node.target] += 1
        name = node.target if calls[node.target] == 1 else f"{node.target}@{calls[node.target] - 1}"
        composite = known.composites.get(id(module))
        site = Site(str(name), describe_module(module, known.composites), kind, module, composite and composite.keep)
        return site, bool(getattr(module, "inplace", False))
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


def _formula(traced: fx.GraphModule, chain: Chain, single: bool, known: Known) -> Site | None:
    """The site of a chain of calls (or of one call that is no activation by name, ``x.clamp(0, 6)``): recognised by
    its values; an unrecognised one that applies an activation is kept; other chains are no site."""
    if not chain.anchored(lambda node: _activation_call(node, known)):
        return None
    found = values(chain, traced)
    kind = recognise(found) if found is not None and not is_affine(found) else None
    if kind is None and single:
        return None
    output, owner = chain.output, _owner(chain.output)
    name = f"{owner}.{output.name}" if owner else output.name
    formula = expression(chain, traced)
    if kind is not None:
        return Site(name, f"{formula} (≈ {kind})", kind.partition(":")[0])
    return Site(name, formula, formula, keep=UNRECOGNISED)


def _gate(chain: Chain) -> bool:
    """Whether the chain's output multiplies a tensor that is not computed from its own input alone."""
    for user in chain.output.users:
        product = (user.op == "call_function" and user.target in (operator.mul, torch.mul)) or (
            user.op == "call_method" and user.target in ("mul", "mul_")
        )
        if product and any(isinstance(a, fx.Node) and a is not chain.output and a is not chain.root
                           for a in user.args):  # fmt: skip
            return True
    return False


@dataclass(frozen=True)
class Known:
    """What counts as an activation module beside torch's and actlab's own: the classes a ``match`` names
    (``custom``) and the model's own elementwise modules (``composites``, by id)."""

    custom: tuple[type[nn.Module], ...] = ()
    composites: Mapping[int, Any] = field(default_factory=dict)


def graph_sites(traced: fx.GraphModule, known: Known) -> list[GraphSite]:
    """Every site of ``traced`` in graph order: activation calls, and the elementwise chains that compute a catalog
    activation as a formula (``x * torch.sigmoid(x)``: one site, replaced whole). A chain that ends inside another
    (its value also used elsewhere) is a site of its own, and the longer one none."""
    order = {node: i for i, node in enumerate(traced.graph.nodes)}
    found = sorted(
        chains(traced, lambda m: module_kind(m, known.custom, known.composites) is not None),
        key=lambda c: order[c.output],
    )
    ends = {c.output for c in found}
    found = [piece for chain in found if not any(n in ends for n in chain.nodes[:-1]) for piece in _split(chain, known)]
    calls: Counter = Counter()
    sites = []
    for chain in found:
        single = _single(traced, chain.output, calls, known) if len(chain.nodes) == 1 else None
        site, inplace = single if single is not None else (_formula(traced, chain, len(chain.nodes) == 1, known), False)
        if site is None:
            continue
        if site.keep is None and squashing(site.kind) and _gate(chain):
            site = replace(site, keep=GATE)
        sites.append(GraphSite(site, chain, inplace))
    return sites


def _activation_call(node: fx.Node, known: Known) -> bool:
    if node.op == "call_module":
        return module_kind(node.graph.owning_module.get_submodule(str(node.target)), known.custom,
                           known.composites) is not None  # fmt: skip
    if node.op == "call_function":
        return function_kind(node.target, node.kwargs) is not None
    return node.op == "call_method" and node.target in METHODS


def _split(chain: Chain, known: Known) -> list[Chain]:
    """A chain of activation calls only, one applied to the other's output (``block.relu(x).relu()``), is a site per
    call, as written; a formula (with arithmetic or other calls) is one."""
    if len(chain.nodes) == 1 or not all(_activation_call(n, known) for n in chain.nodes):
        return [chain]
    return [Chain(next(a for a in n.all_input_nodes if a is chain.root or a in chain.nodes), (n,)) for n in chain.nodes]


def needs_graph(sites: list[GraphSite], selected: Callable[[Site], bool]) -> bool:
    """Whether swapping the selected sites needs the graph rewritten: a functional call, tensor method or formula, a
    module called more than once, or an in-place module whose input is read again after it. Otherwise replacing
    modules keeps the model's own classes, which is better."""
    for found in sites:
        if not selected(found.site):
            continue
        node = found.chain.output
        if len(found.chain.nodes) > 1 or node.op != "call_module" or "@" in found.site.name:
            return True
        source = found.chain.root
        order = {n: i for i, n in enumerate(node.graph.nodes)}
        if found.inplace and isinstance(source, fx.Node) and any(order[u] > order[node] for u in source.users):
            return True
    return False


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
        target = _free_name(traced, _owner(node), node.name)
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
