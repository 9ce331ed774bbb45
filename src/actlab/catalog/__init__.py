"""The activation catalog: every activation's spec, registered once by its family module."""

from actlab.catalog import glu, learnable, periodic, plugins, rectifiers, shrink, sigmoids, smooth_gated  # noqa: F401
from actlab.catalog.spec import (
    REGISTRY,
    ActivationError,
    ActivationSpec,
    Native,
    Param,
    Properties,
    Reference,
    Stochastic,
)

__all__ = [
    "REGISTRY",
    "ActivationError",
    "ActivationSpec",
    "Native",
    "Param",
    "Properties",
    "Reference",
    "Stochastic",
]

REGISTRY.discover = plugins.load_installed
