"""A catalog activation as a Keras activation function: ``Dense(64, activation=actlab.keras.activation("mish"))``.

A registered class rather than a closure, so that a model using it saves to ``.keras`` and loads back with
``safe_mode=True`` (no lambdas): its config is the activation's notation (and a user's definition).
"""

from __future__ import annotations

from typing import Any

import keras

from actlab.activation import Activation
from actlab.keras import evaluate, reference


@keras.saving.register_keras_serializable(package="actlab")
class ActivationFunction:
    """``f(x)`` on Keras tensors with fixed parameters, by the spec's own formula (see :mod:`actlab.keras.namespace`).

    Deterministic: a stochastic activation (rrelu) computes its evaluation-mode formula (the mean slope) in training
    too, as Keras calls activation functions without a training flag; :class:`actlab.keras.Activation` samples in
    training. A gated activation (glu, …, maxout) divides the last axis by its number of pieces, which a layer such as
    ``Dense`` does not know about: use the :class:`actlab.keras.Activation` layer for those.
    """

    def __init__(self, activation: str | Activation, definition: str | None = None) -> None:
        self.act = (
            reference.from_config(activation, definition)
            if isinstance(activation, str) and definition
            else reference.configured(activation)
        )
        self.__name__ = self.act.text  # what Keras prints for an activation (and what functions have)

    def __call__(self, x: Any) -> Any:
        return evaluate.forward(self.act.spec, self.act.params, x)

    def get_config(self) -> dict[str, Any]:
        return reference.to_config(self.act)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ActivationFunction:
        return cls(config["activation"], config.get("definition"))

    def __repr__(self) -> str:
        return f"actlab.keras.{self.act!r}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActivationFunction) and other.act == self.act

    def __hash__(self) -> int:
        return hash(self.act)


def activation(name: str | Activation, **params: Any) -> ActivationFunction:
    """The activation ``name`` (a name or alias, the notation ``"hard_swish:n=4"``, or an :class:`actlab.Activation`)
    with ``params``, as a serializable Keras activation function; unknown names and bad values raise
    :class:`actlab.ActivationError` now."""
    return ActivationFunction(reference.configured(name, params))
