"""The activation catalog: every activation's spec, registered once by its family module."""

from actlab.catalog import (  # noqa: F401 (each family module registers its activations)
    entries,
    glu,
    learnable,
    periodic,
    plugins,
    rectifiers,
    shrink,
    sigmoids,
    smooth_gated,
)
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

entries.register_all()  # after the hand-written ones: an alias table may add names to them
REGISTRY.discover = plugins.load_installed
