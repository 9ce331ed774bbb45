"""Swapping where a model does not trace as a whole: each submodule is traced on its own where it can be, activation
modules are replaced by module surgery where it cannot, and the functional calls in the source of the forward methods
that could not be traced are named (they stay as they are: no tool can reach them without a graph)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from torch import fx, nn

from actlab.recognise import squashing
from actlab.swap.graph import Maker, rewrite, trace
from actlab.swap.graph_sites import Known, graph_sites, needs_graph
from actlab.swap.sites import FUNCTION_KINDS, METHODS, Matcher, Site, describe_module, module_kind

SQUASHING = "squashing, beside the model's other activations: a gate, pooler or output (match= selects it)"


@dataclass
class Outcome:
    """What a swap did: the sites replaced, those it could not reach (with why), those it kept by default (with
    why), the submodules rewritten as graphs."""

    replaced: list[tuple[Site, nn.Module]] = field(default_factory=list)
    unreachable: list[tuple[Site, str]] = field(default_factory=list)
    kept: list[tuple[Site, str]] = field(default_factory=list)
    traced: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    matcher: Matcher
    known: Known
    make: Maker
    inplace: bool
    inputs: Callable[[nn.Module], tuple[tuple, dict] | None]  # a module's inputs from the example run, if any
    calls: Callable[[nn.Module], int]  # how often the example run called a module (0 without one)
    squash: bool = False  # whether squashing sites are kept by default (the model has other activations)

    def kept(self, site: Site) -> str | None:
        """Why ``site`` is kept where no ``match`` was given, or None."""
        if not self.matcher.default:
            return None
        return site.keep or (SQUASHING if self.squash and squashing(site.kind) else None)

    def selected(self, site: Site) -> bool:
        return self.matcher(site) if not self.matcher.default else self.kept(site) is None

    def decide(self, site: Site, outcome: Outcome) -> bool:
        """Whether to replace ``site``; a site kept by default is listed as kept."""
        reason = self.kept(site)
        if reason is not None:
            outcome.kept.append((site, reason))
        return self.selected(site)


def swap_tree(module: nn.Module, path: str, context: Context, outcome: Outcome) -> nn.Module:
    """``module`` with its activations swapped: by module replacement where that reaches every selected site (the
    model keeps its classes), else as a traced GraphModule, else — where it does not trace — with its activation
    children replaced and its other children swapped in turn."""
    if context.inplace:
        return _replace_modules(
            module,
            path,
            context,
            outcome,
            "inplace=True keeps the model's own classes, and rewriting a call needs a traced graph",
        )
    try:
        traced = trace(module, context.known.custom, context.known.composites)
    except Exception as error:  # fx raises many kinds (TraceError, TypeError, NotImplementedError, …)
        return _replace_modules(
            module, path, context, outcome, f"it does not trace with torch.fx ({_first_line(error)})"
        )
    sites = graph_sites(traced, context.known)
    graph = needs_graph(sites, context.selected)
    for found in sites:  # module calls are decided by module replacement where the graph is not rewritten
        if graph or found.chain.output.op != "call_module":
            context.decide(_qualified(found.site, path), outcome)
    if not graph:
        return _replace_modules(module, path, context, outcome, None)
    replaced = rewrite(traced, sites, context.selected, context.make, context.inputs(module))
    outcome.replaced += [(_qualified(site, path), new) for site, new in replaced]
    outcome.traced.append(path or "<model>")
    return traced


def _replace_modules(module: nn.Module, path: str, context: Context, outcome: Outcome, reason: str | None) -> nn.Module:
    """Replace the activation children of ``module`` in place and swap its other children. ``reason``: why calls in
    its forward cannot be rewritten (they are then listed as unreachable); None when the module traced and needs no
    graph, so neither do its children."""
    if reason is not None:
        for site in functional_calls(module, path):
            where = f"{path or 'the model'}: {reason}"
            if context.selected(site):
                outcome.unreachable.append((site, where))
            elif (why := context.kept(site)) is not None:  # read from the source: a formula around it is unseen
                outcome.kept.append((site, f"{why}; {where}"))
    for name, child in list(module.named_children()):
        child_path = f"{path}.{name}" if path else name
        kind = module_kind(child, context.known.custom, context.known.composites)
        if kind is None:
            swapped = (
                _replace_modules(child, child_path, context, outcome, None)
                if reason is None
                else swap_tree(child, child_path, context, outcome)
            )
            if swapped is not child:
                setattr(module, name, swapped)
            continue
        composite = context.known.composites.get(id(child))
        site = Site(child_path, describe_module(child, context.known.composites), kind, child,
                    composite.keep if composite else None)  # fmt: skip
        if not context.decide(site, outcome):
            continue
        inputs = context.inputs(child)
        new = context.make(site, first_shape(inputs))
        setattr(module, name, new)
        outcome.replaced.append((site, new))
        if context.calls(child) > 1:
            why = reason or "it is called more than once"
            outcome.unreachable.append(
                (site, f"called {context.calls(child)} times per forward; one new module serves every call ({why})")
            )
    return module


def first_shape(inputs: tuple[tuple, dict] | None) -> tuple[int, ...] | None:
    """The shape of a module's first tensor input in the example run."""
    if inputs is None:
        return None
    for value in (*inputs[0], *inputs[1].values()):
        if isinstance(value, torch.Tensor):
            return tuple(value.shape)
    return None


def _qualified(site: Site, path: str) -> Site:
    return replace(site, name=f"{path}.{site.name}" if path else site.name)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


FUNCTION_PREFIXES = ("F", "torch", "nn.functional", "torch.nn.functional", "functional")


def functional_calls(module: nn.Module, path: str) -> list[Site]:
    """The activation calls written in ``type(module).forward`` (found in its source, which is not run)."""
    forward = type(module).forward
    if forward is nn.Module.forward or isinstance(module, fx.GraphModule):
        return []
    try:
        source = textwrap.dedent(inspect.getsource(forward))
        first = inspect.getsourcelines(forward)[1]
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return []
    owner = path or "<model>"
    sites = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        base, attr = ast.unparse(node.func.value), node.func.attr
        name = attr.rstrip("_")
        if base in FUNCTION_PREFIXES and name in FUNCTION_KINDS:
            written, kind = f"{base}.{attr}", FUNCTION_KINDS[name]
        elif base != "self" and base not in FUNCTION_PREFIXES and attr in METHODS:
            written, kind = f"Tensor.{attr}", METHODS[attr][0]
        else:
            continue
        line = first + node.lineno - 1
        sites.append(Site(f"{owner}: {type(module).__name__}.forward line {line}", written, kind))
    return sites
