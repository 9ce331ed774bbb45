"""A model's own activation classes: modules whose forward maps their input elementwise through primitives
(transformers' ``NewGELUActivation``, a timm-style ``Swish`` computing ``x * x.sigmoid()``, ``GELUTanh`` calling
``functools.partial(F.gelu, approximate="tanh")``). Each is one site, recognised by its values
(:mod:`actlab.recognise`) and replaced whole, so that the primitives inside it are never swapped as if they were
activations of their own, and the model keeps its classes."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import fx, nn

from actlab.backends.torch_module import ActivationModule
from actlab.recognise import GRID, is_affine, recognise
from actlab.swap.sites import MODULE_KINDS

UNRECOGNISED = "an elementwise function not recognised as a catalog activation: kept (match= selects it to replace)"


@dataclass(frozen=True)
class Composite:
    """What an elementwise module computes: ``kind``, the catalog activation it was recognised as (its notation,
    ``swish:beta=1.5``), else its class name; ``written``, how the report lists it; ``keep``, why it is kept by
    default (None where it is replaced)."""

    kind: str
    written: str
    keep: str | None = None


def _candidate(module: nn.Module, custom: tuple[type[nn.Module], ...]) -> bool:
    """A module that may be an activation written by hand: not torch's own (those are known by class), no
    submodules but activation modules, no parameters or buffers but scalars (a learnable β)."""
    kind = type(module)
    if (
        kind in MODULE_KINDS
        or isinstance(module, ActivationModule | fx.GraphModule)
        or (custom and isinstance(module, custom))
        or kind.__module__.startswith("torch.")
        or kind.forward is nn.Module.forward
    ):
        return False
    if any(type(c) not in MODULE_KINDS and not isinstance(c, ActivationModule) for c in module.children()):
        return False
    return all(t.numel() <= 1 for t in (*module.parameters(), *module.buffers()))


def module_values(module: nn.Module) -> np.ndarray | None:
    """``module``'s values on :data:`GRID` where it is an elementwise function of one tensor — the same values for the
    grid shaped (5, 321) as flat and shuffled, deterministic — else None. Run on a float64 copy on the CPU, in eval
    mode."""
    probe = copy.deepcopy(module).to("cpu", torch.float64).eval()
    grid = torch.from_numpy(GRID.copy())
    order = torch.from_numpy(np.random.default_rng(0).permutation(GRID.size))
    try:
        with torch.no_grad():
            flat = probe(grid.clone())
            shaped = probe(grid[order].reshape(5, -1).clone())
            again = probe(grid.clone())
    except Exception:  # it takes other inputs, or does not broadcast: no elementwise function
        return None
    tensors = (flat, shaped, again)
    if not all(isinstance(t, torch.Tensor) and t.dtype == torch.float64 for t in tensors):
        return None
    if flat.shape != grid.shape or shaped.shape != (5, GRID.size // 5) or not torch.equal(flat, again):
        return None
    if not torch.allclose(shaped.reshape(-1), flat[order], rtol=1e-12, atol=1e-12, equal_nan=True):
        return None
    return flat.numpy()


def composite_modules(model: nn.Module, custom: tuple[type[nn.Module], ...] = ()) -> dict[int, Composite]:
    """The elementwise modules of ``model`` (by ``id``), other than ``model`` itself and the ``custom`` classes a
    ``match`` names. A module computing an affine function (a scaling) is no activation and not listed."""
    found: dict[int, Composite] = {}
    for module in model.modules():
        if module is model or id(module) in found or not _candidate(module, custom):
            continue
        values = module_values(module)
        if values is None or is_affine(values):
            continue
        name = type(module).__name__
        kind = recognise(values)
        if kind is None:
            found[id(module)] = Composite(name, name, UNRECOGNISED)
        else:
            found[id(module)] = Composite(kind.partition(":")[0], f"{name} (≈ {kind})")
    return found
