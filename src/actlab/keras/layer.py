"""A catalog activation as a Keras layer: learned parameters are layer weights, stochastic activations sample in
training, gated ones split the last axis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras

from actlab.activation import Activation as CatalogActivation
from actlab.keras import evaluate, reference

# Keyword arguments of keras.layers.Layer; every other keyword is a parameter of the activation.
_LAYER_KEYWORDS = frozenset(
    {"name", "dtype", "trainable", "autocast", "activity_regularizer", "input_shape", "input_dim"}
)


@keras.saving.register_keras_serializable(package="actlab")
class Activation(keras.layers.Layer):
    """``actlab.keras.Activation("prelu")``, ``Activation("hard_swish:n=4")``, ``Activation("snake", a=2.0)``.

    ``learnable``: None learns the parameters the catalog learns by default (prelu's ``a``, snake's ``a``,
    soft_root_sign's ``alpha`` and ``beta``, …), True every parameter that can be learned, False none, or a list of
    names — as :meth:`actlab.Activation.module`. A learned scalar parameter is one weight per channel (the last axis,
    Keras being channels-last) when ``channel_wise``, else one scalar; a vector parameter (apl's hinges, pau's
    coefficients) is one weight vector. Weights start at the parameter values given (or the defaults). The gradients
    are the spec's hand-derived derivatives (with respect to the input and to each learned parameter, summed over
    the axes it is shared along), as on actlab's torch path.

    A stochastic activation (rrelu) draws its noise in training (``call(x, training=True)``, as ``fit`` does) from a
    seed generator seeded with ``seed``, and computes its evaluation-mode formula (the mean slope) otherwise. A gated
    activation (glu, geglu, swiglu, reglu, maxout) splits its ``dim`` (default -1, the last axis) into equal chunks:
    the output's last axis is the input's divided by their number.
    """

    def __init__(
        self,
        activation: str | CatalogActivation = "relu",
        *,
        learnable: bool | Iterable[str] | None = None,
        channel_wise: bool = True,
        seed: int | None = None,
        definition: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**{key: kwargs.pop(key) for key in list(kwargs) if key in _LAYER_KEYWORDS})
        if isinstance(activation, str) and definition:
            activation = reference.from_config(activation, definition)
        self.act = reference.configured(activation, kwargs)
        self.learned = self.act.learned(learnable)
        self.channel_wise = bool(channel_wise)
        self.seed = seed
        self.supports_masking = not self.act.spec.gated
        self._noise = keras.random.SeedGenerator(seed) if self.act.spec.stochastic is not None else None
        self._learned_weights: list[Any] = []

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[-1] if len(input_shape) else None
        for name in self.learned:
            value = self.act.params[name]
            if isinstance(value, tuple):
                shape: tuple = (len(value),)
            elif self.channel_wise and not self.act.spec.gated and channels is not None:
                shape = (channels,)
            else:
                shape = ()
            weight = self.add_weight(name=name, shape=shape, initializer=keras.initializers.Constant(value))
            self._learned_weights.append(weight)

    def _params(self) -> dict[str, Any]:
        params = dict(self.act.params)
        for name, weight in zip(self.learned, self._learned_weights, strict=True):
            params[name] = weight.value  # a vector parameter's whole vector: evaluate splits it for the formulas
        return params

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return evaluate.forward(self.act.spec, self._params(), inputs, training=bool(training), seed=self._noise)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return evaluate.output_shape(self.act.spec, self.act.params, tuple(input_shape))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            **reference.to_config(self.act),
            "learnable": list(self.learned),
            "channel_wise": self.channel_wise,
            "seed": self.seed,
        }
