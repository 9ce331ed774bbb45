"""actlab — the activation-function laboratory.

>>> import actlab
>>> act = actlab.activation("hard_swish", n=4)
>>> float(act(1.0)), float(act.derivative(1.0))
(0.75, 1.0)
"""

from actlab.activation import Activation, activation, define, load_plugins, names, register, spec
from actlab.catalog.spec import ActivationError, ActivationSpec, Param, Properties, Reference

__version__ = "0.1.0"

# The model tools need torch: imported on first use, so that `import actlab` stays light
_LAZY = {"swap": "actlab.swap", "compare": "actlab.experiments.compare"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'actlab' has no attribute {name!r}")


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
    "swap",
    "compare",
    "__version__",
]
