"""The sites of a traced graph: activation calls (modules, functions, tensor methods) and the elementwise chains that
compute a catalog activation as a formula, each with what it computes and, where it is kept by default, why."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import fx, nn

from actlab.recognise import is_affine, recognise, squashing
from actlab.swap.chains import Chain, chains, expression, values
from actlab.swap.composite import UNRECOGNISED
from actlab.swap.sites import METHODS, Site, describe_module, function_kind, module_kind

GATE = "a gate: its output multiplies another tensor (match= selects it)"


def owner_of(node: fx.Node) -> str:
    """The qualified name of the module whose forward made ``node`` ("" for the traced module's own)."""
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
    owner = owner_of(node)
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
    output, owner = chain.output, owner_of(chain.output)
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
