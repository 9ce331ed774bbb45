"""Swap the activations of any PyTorch model for a catalog (or user-defined) activation.

``new_model, report = actlab.swap(model, "mish")`` replaces every activation site — torch.nn's activation modules and
actlab's own, functional calls (``F.relu``, ``torch.tanh``, ``x.relu()``, in-place variants too), a model's own
elementwise classes (transformers' ``NewGELUActivation``) and formulas of calls (``x * torch.sigmoid(1.702 * x)``),
the last two recognised by their values as the catalog activation they compute — with a fresh module per site, on the
model's device and dtype. Where module replacement reaches every site the model keeps its class; where calls must be
rewritten and the model traces with ``torch.fx`` the result is a ``GraphModule`` (the same submodules, parameters and
plain attributes; a module called twice becomes two); where it does not, submodules are traced one by one and
activation modules replaced in place, and ``report.unreachable`` names every call that could not be rewritten and
why. Gates, squashing activations beside others and unrecognised formulas are kept and listed in ``report.kept``.
Nothing is left out silently.
"""

from __future__ import annotations

import copy
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from actlab.activation import Activation, activation
from actlab.catalog.spec import ActivationError
from actlab.recognise import squashing
from actlab.swap import pretrained
from actlab.swap.composite import composite_modules
from actlab.swap.graph import Maker, channel_axis, channel_count, trace
from actlab.swap.graph_sites import Known, graph_sites
from actlab.swap.sites import Match, Matcher, Site, module_kind
from actlab.swap.tree import Context, Outcome, first_shape, functional_calls, swap_tree

__all__ = ["Kept", "SwapReport", "Swapped", "Unreachable", "swap"]


@dataclass(frozen=True)
class Swapped:
    """A site replaced: its qualified name (``layer1.0.relu``, ``layer1.0.relu@1`` for a module's second call,
    ``block.relu_1`` for a functional call in ``block``'s forward), what was there, and what is now."""

    site: str
    old: str
    new: str


@dataclass(frozen=True)
class Unreachable:
    """A site that could not be rewritten (or only partly: a module called several times), and why."""

    site: str
    old: str
    reason: str


@dataclass(frozen=True)
class Kept:
    """A site left as it is by default (no ``match`` given), and why: a gate, a squashing activation beside the
    model's others, a formula not recognised as a catalog activation. A ``match`` selecting it replaces it."""

    site: str
    old: str
    reason: str


@dataclass(frozen=True)
class SwapReport:
    replaced: tuple[Swapped, ...]
    unreachable: tuple[Unreachable, ...]
    traced: tuple[str, ...]  # the (sub)modules rewritten as torch.fx GraphModules
    kept: tuple[Kept, ...] = ()

    def __str__(self) -> str:
        lines = [f"replaced {len(self.replaced)} activation site(s)" + (":" if self.replaced else "")]
        lines += [f"  {r.site}: {r.old} -> {r.new}" for r in self.replaced]
        if self.unreachable:
            lines.append(f"could not reach {len(self.unreachable)}:")
            lines += [f"  {u.site}: {u.old} ({u.reason})" for u in self.unreachable]
        if self.kept:
            lines.append(f"kept {len(self.kept)}:")
            lines += [f"  {k.site}: {k.old} ({k.reason})" for k in self.kept]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "replaced": [vars(r) for r in self.replaced],
            "unreachable": [vars(u) for u in self.unreachable],
            "kept": [vars(k) for k in self.kept],
            "traced": list(self.traced),
        }


def _target(to: str | Activation) -> Activation:
    act = to if isinstance(to, Activation) else activation(to)
    if act.spec.gated:
        raise ActivationError(
            f"{act.name} is gated (it splits its input in {act.spec.n_pieces(act.params)}), so it cannot replace an "
            "elementwise activation without changing the layer widths: build the model with it instead "
            "(actlab.compare takes a build(act) function)"
        )
    return act


def _placement(model: nn.Module) -> dict[str, Any]:
    """The dtype and device of the model's floating-point parameters (or buffers), for new learnable parameters."""
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return {"dtype": tensor.dtype, "device": tensor.device}
    return {}


def maker(act: Activation, model: nn.Module, axis: int | None = None) -> Maker:
    """Fresh modules of ``act``: learnable parameters per site, per channel where the count is known (the replaced
    PReLU's, or the channel axis of the site's input in the example run: see
    :func:`~actlab.swap.graph.channel_axis`) and the activation has scalar ones to spread."""
    placement = _placement(model)
    spreads = any(not isinstance(act.params[n], tuple) for n in act.learned_params)

    def make(site: Site, shape: tuple[int, ...] | None) -> nn.Module:
        old = site.module
        channels = channel_count(shape, axis)
        if isinstance(old, nn.PReLU) and old.num_parameters > 1:
            channels = old.num_parameters
        where = dict(placement)
        for tensor in (*old.parameters(), *old.buffers()) if old is not None else ():
            where = {"dtype": tensor.dtype, "device": tensor.device}
            break
        count = channels if spreads and channels else 1
        along = channel_axis(shape, axis) if shape is not None else 1
        new = act.module(num_parameters=count, channel_axis=along, **where)
        if old is not None:
            new.train(old.training)
        return new

    return make


def _arguments(example: Any) -> tuple[tuple, dict] | None:
    """``example`` as (positional, keyword) inputs: a mapping (a dict, transformers' ``BatchEncoding``) is keyword
    inputs, a tuple positional ones, anything else the one input."""
    if example is None:
        return None
    if isinstance(example, Mapping):
        return (), dict(example)
    return (example if isinstance(example, tuple) else (example,)), {}


def _probe(model: nn.Module, example: tuple[tuple, dict] | None) -> tuple[dict[int, tuple], dict[int, int]]:
    """Each module's (positional, keyword) inputs at its first call and its number of calls, from one run of
    ``example`` (in eval mode and without gradients, so that batch-norm statistics and the like are left as they
    were)."""
    inputs: dict[int, tuple] = {}
    calls: dict[int, int] = {}
    if example is None:
        return inputs, calls

    def record(module: nn.Module, args: tuple, kwargs: dict) -> None:
        inputs.setdefault(id(module), (args, kwargs))
        calls[id(module)] = calls.get(id(module), 0) + 1

    modes = {m: m.training for m in model.modules()}
    handles = [m.register_forward_pre_hook(record, with_kwargs=True) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            model(*example[0], **example[1])
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in modes.items():
            m.train(mode)
    return inputs, calls


def _has_hidden(model: nn.Module, known: Known) -> bool:
    """Whether ``model`` applies an activation that is not squashing (relu, gelu, a formula of its own…): its
    modules, the functional calls written in its modules' forward methods, and — where those show none and the model
    traces — the formulas of its graph (``x * torch.sigmoid(1.702 * x)``)."""
    seen: set[type] = set()
    for module in model.modules():
        kind = module_kind(module, known.custom, known.composites)
        if kind is not None and not squashing(kind):
            return True
        if type(module) in seen:
            continue
        seen.add(type(module))
        if any(not squashing(site.kind) for site in functional_calls(module, "")):
            return True
    try:
        traced = trace(model, known.custom, known.composites)
    except Exception:  # fx raises many kinds; a model that does not trace has its activations as modules or calls
        return False
    return any(found.site.keep is None and not squashing(found.site.kind) for found in graph_sites(traced, known))


def swap(
    model: nn.Module,
    to: str | Activation,
    *,
    match: Match = None,
    inplace: bool = False,
    example: Any = None,
    channel_axis: int | None = None,
) -> tuple[nn.Module, SwapReport]:
    """Replace the activations of ``model`` with ``to`` (a name with parameters, ``"hard_swish:n=4"``, a user-defined
    one, or an :class:`~actlab.activation.Activation`); returns the new model and a :class:`SwapReport`.

    A site is the whole elementwise function of one tensor: an activation module, a functional call, a model's own
    elementwise class (transformers' ``NewGELUActivation``) or a formula of calls (``x * torch.sigmoid(1.702 * x)``),
    recognised by its values as a catalog activation and replaced whole — the primitives inside it never on their
    own. ``match`` selects the sites: a name (``"relu"``, also an alias such as ``"ReLU"``: sites of that kind,
    modules, calls and formulas alike), an ``nn.Module`` class, ``"re:PATTERN"`` on the qualified site name, a
    predicate on it, or a list of these. Without ``match``, every site is replaced but those kept, each listed in
    ``report.kept`` with why: a squashing activation (sigmoid, tanh, hard_sigmoid, …) that gates another tensor, or
    that sits beside other activations (a pooler's tanh, a squeeze-and-excitation gate), and a formula that applies
    an activation but is not recognised as one of the catalog's. ``inplace=True`` modifies ``model`` itself by module
    replacement only (functional calls and modules called twice are then reported as unreachable); otherwise
    ``model`` is left untouched. ``example``: an input, a tuple of inputs or a mapping of keyword inputs (a dict,
    transformers' ``BatchEncoding``), run once without gradients and in eval mode, to learn each site's channel count
    (learnable parameters then get one value per channel) and to find modules called more than once where the model
    does not trace. ``channel_axis``: the axis of a site's input holding its channels; by default dimension 1 of 2-D
    and of 4-D and larger inputs (batch, channels, …), the last one of 3-D inputs (batch, tokens, features).

    A transformers model's config names its activation (``hidden_act``, ``activation_function``): where every site
    was replaced and transformers knows ``to`` by a name, the config is set to it, so that ``save_pretrained`` →
    ``from_pretrained`` rebuilds the swapped model; otherwise ``save_pretrained`` warns that it would not.
    """
    if not isinstance(model, nn.Module):
        raise ActivationError(f"swap takes an nn.Module, got {type(model).__name__}")
    act = _target(to)
    if channel_axis is not None and (isinstance(channel_axis, bool) or not isinstance(channel_axis, int)):
        raise ActivationError(f"channel_axis must be an int (or None for the default), got {channel_axis!r}")
    matcher = Matcher(match)
    arguments = _arguments(example)
    work = model if inplace else copy.deepcopy(model)
    known = Known(matcher.classes, composite_modules(work, matcher.classes))
    inputs, calls = _probe(work, arguments)
    for module in work.modules() if inplace else ():  # a bad channel_axis raises before the model is changed
        if module_kind(module, known.custom, known.composites) is not None:
            channel_count(first_shape(inputs.get(id(module))), channel_axis)
    context = Context(
        matcher=matcher,
        known=known,
        make=maker(act, work, channel_axis),
        inplace=inplace,
        inputs=lambda m: inputs.get(id(m)),
        calls=lambda m: calls.get(id(m), 0),
        squash=matcher.default and _has_hidden(work, known),
    )
    outcome = Outcome()
    result = swap_tree(work, "", context, outcome)
    label = act.label
    report = SwapReport(
        replaced=tuple(Swapped(site.name, site.written, label) for site, _ in outcome.replaced),
        unreachable=tuple(Unreachable(site.name, site.written, why) for site, why in outcome.unreachable),
        traced=tuple(outcome.traced),
        kept=tuple(Kept(site.name, site.written, why) for site, why in outcome.kept),
    )
    pretrained.follow(result, act, report, complete=matcher.default)
    return result, report


class _CallableModule(types.ModuleType):
    """``import actlab.swap`` makes ``actlab.swap`` this module (Python sets a package's attribute to its imported
    subpackage): calling it calls :func:`swap`, so that ``actlab.swap(model, "mish")`` works either way."""

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[nn.Module, SwapReport]:
        return swap(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
