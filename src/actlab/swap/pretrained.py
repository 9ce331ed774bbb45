"""A swapped Hugging Face transformers model saved with ``save_pretrained`` and loaded with ``from_pretrained``: the
config names the activation the model is rebuilt with (``hidden_act``, ``activation_function``), so after a swap it
must name the new one, or saving must say that loading will not give the swapped model back."""

from __future__ import annotations

import functools
import warnings
from typing import Any

from torch import nn

from actlab.activation import Activation
from actlab.swap.composite import UNRECOGNISED

# The config fields transformers models build their hidden activation from (``ACT2FN[config.hidden_act]``)
CONFIG_FIELDS = ("hidden_act", "activation_function", "hidden_activation")
# catalog name → transformers' ``ACT2FN`` name of the same function (at the catalog's default parameters)
TRANSFORMERS_NAMES = {
    "gelu": "gelu",
    "gelu_tanh": "gelu_pytorch_tanh",
    "silu": "silu",
    "mish": "mish",
    "relu": "relu",
    "relu6": "relu6",
    "squared_relu": "relu2",
    "quick_gelu": "quick_gelu",
    "hard_swish": "hardswish",
    "leaky_relu": "leaky_relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
}


class SwapWarning(UserWarning):
    """A swapped model saved in a form that does not rebuild the swap."""


def _transformers_model(model: nn.Module) -> bool:
    return hasattr(model, "save_pretrained") and any(
        c.__module__.startswith("transformers.") for c in type(model).__mro__
    )


def transformers_name(act: Activation) -> str | None:
    """transformers' name for ``act`` where it builds the same module: the catalog's defaults and nothing learned."""
    if act.text != act.spec.name or act.learned(None):
        return None
    name = TRANSFORMERS_NAMES.get(act.name)
    if name is None:
        return None
    from transformers.activations import ACT2CLS

    return name if name in ACT2CLS else None


def follow(model: nn.Module, act: Activation, report: Any, complete: bool) -> None:
    """Point a swapped transformers ``model``'s config at ``act`` where ``complete`` (every site selected), nothing
    was unreachable and transformers names ``act``; else make its ``save_pretrained`` warn what to do."""
    if not _transformers_model(model) or not report.replaced:
        return
    config = getattr(model, "config", None)
    fields = [f for f in CONFIG_FIELDS if isinstance(getattr(config, f, None), str)]
    name = transformers_name(act)
    unrecognised = any(k.reason == UNRECOGNISED for k in report.kept)  # an activation of the model left as it was
    if complete and not report.unreachable and not unrecognised and fields and name is not None:
        for field in fields:
            setattr(config, field, name)
        return
    if name is None:
        why = f"transformers has no name for {act.text}"
    elif not fields:
        why = f"its config names no activation ({', '.join(CONFIG_FIELDS)})"
    else:
        why = "only some of its activations were swapped (a match, sites it could not reach or did not recognise)"
    message = (
        f"{type(model).__name__} was swapped to {act.text}, but {why}: from_pretrained will rebuild its old "
        f"activations. Load it with from_pretrained and swap again (actlab.swap(model, {act.text!r}, ...): the weights "
        "saved are the swapped model's), or save the whole model with torch.save"
    )
    model.save_pretrained = functools.partial(_save_with_warning, model, message)


def _save_with_warning(model: nn.Module, message: str, *args: Any, **kwargs: Any) -> Any:
    warnings.warn(message, SwapWarning, stacklevel=2)
    return type(model).save_pretrained(model, *args, **kwargs)
