"""An activation as Keras configs hold it: its notation (``hard_swish:n=4``) and, for a user's activation, the
definition that defines it again in a process that lacks it — the same reference pickles and stored runs use."""

from __future__ import annotations

from typing import Any

from actlab import notation
from actlab.activation import Activation
from actlab.activation import activation as catalog_activation
from actlab.catalog.plugins import spec_named


def configured(activation: str | Activation, params: dict[str, Any] | None = None) -> Activation:
    """The activation ``activation`` (notation text, any alias, or an :class:`~actlab.Activation`) with ``params``
    on top, validated now (unknown names and bad values raise :class:`~actlab.ActivationError`)."""
    params = params or {}
    if isinstance(activation, Activation):
        return Activation(activation.spec, activation.spec.resolve({**activation.params, **params}))
    return catalog_activation(activation, **params)


def to_config(act: Activation) -> dict[str, Any]:
    """What a Keras config stores: ``{"activation": "hard_swish:n=4", "definition": None}``."""
    return {"activation": act.text, "definition": act.spec.definition}


def from_config(text: str, definition: str | None) -> Activation:
    """The activation :func:`to_config` stored (a user's one defined again from ``definition`` if needed)."""
    name, params = notation.parse(text)
    spec = spec_named(name, definition, chosen=False)  # a Keras file is data: it runs no Python file it names
    return Activation(spec, spec.resolve(params))
