"""actlab — the activation-function laboratory.

>>> import actlab
>>> act = actlab.activation("hard_swish", n=4)
>>> float(act(1.0)), float(act.derivative(1.0))
(0.75, 1.0)
"""

from actlab.activation import Activation, activation, define, load_plugins, names, register, spec
from actlab.catalog.spec import ActivationError, ActivationSpec, Param, Properties, Reference

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "ActivationError",
    "ActivationSpec",
    "Param",
    "Properties",
    "Reference",
    "activation",
    "define",
    "load_plugins",
    "names",
    "register",
    "spec",
    "__version__",
]
