"""Swap the activations of any PyTorch model for a catalog (or user-defined) activation.

``new_model, report = actlab.swap(model, "mish")`` replaces every activation it recognises — torch.nn's activation
modules and actlab's own, functional calls (``F.relu``, ``torch.tanh``, ``x.relu()``, in-place variants too) — with a
fresh module per call site, on the model's device and dtype. Where the model traces with ``torch.fx`` the result is a
``GraphModule`` (the same submodules, parameters and plain attributes; a module called twice becomes two); where it
does not, submodules are traced one by one and activation modules replaced in place, and ``report.unreachable``
names every call that could not be rewritten and why. Nothing is left out silently.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from actlab.activation import Activation, activation
from actlab.catalog.spec import ActivationError
from actlab.swap.sites import Match, Matcher, Site
from actlab.swap.tree import Context, Outcome, swap_tree

__all__ = ["SwapReport", "Swapped", "Unreachable", "swap"]


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
class SwapReport:
    replaced: tuple[Swapped, ...]
    unreachable: tuple[Unreachable, ...]
    traced: tuple[str, ...]  # the (sub)modules rewritten as torch.fx GraphModules

    def __str__(self) -> str:
        lines = [f"replaced {len(self.replaced)} activation site(s)" + (":" if self.replaced else "")]
        lines += [f"  {r.site}: {r.old} -> {r.new}" for r in self.replaced]
        if self.unreachable:
            lines.append(f"could not reach {len(self.unreachable)}:")
            lines += [f"  {u.site}: {u.old} ({u.reason})" for u in self.unreachable]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "replaced": [vars(r) for r in self.replaced],
            "unreachable": [vars(u) for u in self.unreachable],
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


def maker(act: Activation, model: nn.Module) -> Callable[[Site, int | None], nn.Module]:
    """Fresh modules of ``act``: learnable parameters per site, per channel where the count is known (the replaced
    PReLU's, or dimension 1 of the site's input in the example run) and the activation has scalar ones to spread."""
    placement = _placement(model)
    spreads = any(not isinstance(act.params[n], tuple) for n in act.learned_params)

    def make(site: Site, channels: int | None) -> nn.Module:
        old = site.module
        if isinstance(old, nn.PReLU) and old.num_parameters > 1:
            channels = old.num_parameters
        where = dict(placement)
        for tensor in (*old.parameters(), *old.buffers()) if old is not None else ():
            where = {"dtype": tensor.dtype, "device": tensor.device}
            break
        count = channels if spreads and channels else 1
        new = act.module(num_parameters=count, **where)
        if old is not None:
            new.train(old.training)
        return new

    return make


def _probe(model: nn.Module, example: tuple | None) -> tuple[dict[int, tuple], dict[int, int]]:
    """Each module's inputs at its first call and its number of calls, from one run of ``example`` (in eval mode and
    without gradients, so that batch-norm statistics and the like are left as they were)."""
    inputs: dict[int, tuple] = {}
    calls: dict[int, int] = {}
    if example is None:
        return inputs, calls

    def record(module: nn.Module, args: tuple) -> None:
        inputs.setdefault(id(module), args)
        calls[id(module)] = calls.get(id(module), 0) + 1

    modes = {m: m.training for m in model.modules()}
    handles = [m.register_forward_pre_hook(record) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            model(*example)
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in modes.items():
            m.train(mode)
    return inputs, calls


def swap(
    model: nn.Module,
    to: str | Activation,
    *,
    match: Match = None,
    inplace: bool = False,
    example: Any = None,
) -> tuple[nn.Module, SwapReport]:
    """Replace the activations of ``model`` with ``to`` (a name with parameters, ``"hard_swish:n=4"``, a user-defined
    one, or an :class:`~actlab.activation.Activation`); returns the new model and a :class:`SwapReport`.

    ``match`` selects the sites (default: every activation recognised): a name (``"relu"``, also an alias such as
    ``"ReLU"``: sites of that kind, modules and functional calls alike), an ``nn.Module`` class, ``"re:PATTERN"`` on
    the qualified site name, a predicate on it, or a list of these. ``inplace=True`` modifies ``model`` itself by
    module replacement only (functional calls and modules called twice are then reported as unreachable);
    otherwise ``model`` is left untouched. ``example``: an input (or a tuple of inputs) run once, without gradients
    and in eval mode, to learn each site's channel count (learnable parameters then get one value per channel) and
    to find modules called more than once where the model does not trace.
    """
    if not isinstance(model, nn.Module):
        raise ActivationError(f"swap takes an nn.Module, got {type(model).__name__}")
    act = _target(to)
    matcher = Matcher(match)
    work = model if inplace else copy.deepcopy(model)
    example = None if example is None else example if isinstance(example, tuple) else (example,)
    inputs, calls = _probe(work, example)
    context = Context(
        matcher=matcher,
        make=maker(act, work),
        inplace=inplace,
        inputs=lambda m: inputs.get(id(m)),
        calls=lambda m: calls.get(id(m), 0),
    )
    outcome = Outcome()
    result = swap_tree(work, "", context, outcome)
    label = act.label
    report = SwapReport(
        replaced=tuple(Swapped(site.name, site.written, label) for site, _ in outcome.replaced),
        unreachable=tuple(Unreachable(site.name, site.written, why) for site, why in outcome.unreachable),
        traced=tuple(outcome.traced),
    )
    return result, report
