"""actlab on Keras 3 (an optional extra: ``pip install "actlab[keras]"``).

Every catalog activation — built-in or a user's — as a Keras activation function, :func:`activation`, and as a
layer, :class:`Activation`, both serializable to ``.keras`` files; :func:`swap` puts one in place of a model's
activations. Nothing is written twice: each spec's own formula runs on Keras tensors through ``keras.ops``
(:class:`KerasNamespace`), on whichever backend Keras uses (torch unless the user chose one, see
:mod:`actlab.keras.loader`), and its gradient is the spec's own hand-derived derivative
(``keras.ops.custom_gradient``, see :mod:`actlab.keras.evaluate`), as on actlab's torch path.

>>> import actlab.keras, keras  # actlab.keras first: it picks the backend if nobody has (torch)
>>> layer = keras.layers.Dense(64, activation=actlab.keras.activation("mish"))
"""

from actlab.keras.loader import KerasMissingError, import_keras

import_keras()  # before anything imports keras: the backend choice and the one clear error

from actlab.keras.function import ActivationFunction, activation  # noqa: E402
from actlab.keras.layer import Activation  # noqa: E402
from actlab.keras.namespace import KERAS, KerasNamespace  # noqa: E402
from actlab.keras.swap import Site, SwapError, SwapReport, swap  # noqa: E402

__all__ = [
    "KERAS",
    "Activation",
    "ActivationFunction",
    "KerasMissingError",
    "KerasNamespace",
    "Site",
    "SwapError",
    "SwapReport",
    "activation",
    "swap",
]
