"""The public activation object: one configured catalog entry usable on NumPy arrays and torch tensors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from actlab import notation
from actlab.backends import numpy as numpy_backend
from actlab.catalog import REGISTRY
from actlab.catalog.spec import ActivationError, ActivationSpec, ParamValue


def _is_tensor(x: Any) -> bool:
    torch = __import__("sys").modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


class Activation:
    """A catalog activation with its parameters fixed and validated.

    ``act(x)`` and ``act.derivative(x)`` take NumPy arrays (returning NumPy arrays of the same dtype) or
    torch tensors (returning tensors; ``act(x)`` is differentiable). ``act.module()`` builds an
    ``nn.Module``. Stochastic activations are deterministic (evaluation mode) unless ``training=True``.
    """

    def __init__(self, spec: ActivationSpec, params: Mapping[str, ParamValue]) -> None:
        self.spec = spec
        self.params: dict[str, ParamValue] = dict(params)

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in notation.changed(self).items())
        return f"activation({self.name!r}{args})"

    def __reduce__(self) -> tuple:
        """Pickled by reference: the name, a user's definition and the parameters (see :func:`_unpickle`)."""
        return _unpickle, (self.spec.name, self.spec.definition, self.params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and other.spec is self.spec and other.params == self.params

    def __hash__(self) -> int:
        return hash(notation.canonical(self))

    @property
    def label(self) -> str:
        """``hard_swish(n=4)``: for tables and legends (:func:`actlab.notation.label`)."""
        return notation.label(self)

    @property
    def text(self) -> str:
        """``hard_swish:n=4``: the notation that builds it again (:func:`actlab.notation.text`)."""
        return notation.text(self)

    def __call__(self, x: Any, *, training: bool = False, rng: Any = None) -> Any:
        """f(x). With ``training=True`` a stochastic activation samples its noise from ``rng``
        (a ``numpy.random.Generator`` or ``torch.Generator``; the global generator when None)."""
        if _is_tensor(x):
            from actlab.backends import kernels as torch_backend

            return torch_backend.functional(self.spec, self.params, x, training=training, generator=rng)
        if training and self.spec.stochastic is not None:
            return numpy_backend.train_forward(self.spec, x, self.params, rng)[0]
        return numpy_backend.forward(self.spec, x, self.params)

    def derivative(self, x: Any) -> Any:
        """df/dx elementwise (for gated activations, the partial for each input element)."""
        if _is_tensor(x):
            from actlab.backends import kernels as torch_backend

            return torch_backend.derivative(self.spec, self.params, x)
        return numpy_backend.derivative(self.spec, x, self.params)

    @property
    def learned_params(self) -> tuple[str, ...]:
        """The parameters ``module()`` learns by default."""
        return self.learned(None)

    def train_forward(self, x: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Training-mode output and derivative of a NumPy array, sharing one noise draw."""
        return numpy_backend.train_forward(self.spec, x, self.params, rng)

    def module(
        self,
        learnable: bool | Iterable[str] | None = None,
        num_parameters: int = 1,
        dtype: Any = None,
        device: Any = None,
        fused: bool = False,
        channel_axis: int = 1,
    ):
        """A ``torch.nn.Module`` computing this activation.

        ``learnable``: None learns the spec's default learnable parameters, True every parameter that can
        be learned, False none, or an iterable of names. ``num_parameters`` > 1 learns one value of each
        scalar learned parameter per channel (along ``channel_axis``: dimension 1, like ``nn.PReLU(num_parameters)``,
        or ``-1`` for the last).
        ``dtype``/``device`` place the learned parameters (created from the exact values, so float64
        parameters are not float32 values widened). ``fused``: compile the spec's forward and backward
        into one kernel each (TorchInductor; seconds per activation, once per process), where PyTorch has
        no native kernel for it or its kernel is slower (``Native.yields_to_fused``).
        """
        from actlab.backends.torch_module import ActivationModule

        learned = self.learned(learnable)
        if not isinstance(num_parameters, int) or num_parameters < 1:
            raise ActivationError(f"num_parameters must be a positive integer, got {num_parameters!r}")
        if num_parameters > 1 and not learned:
            raise ActivationError(f"{self.name}: num_parameters > 1 needs at least one learned parameter")
        return ActivationModule(
            self.spec, self.params, learned, num_parameters, dtype=dtype, device=device, fused=fused,
            channel_axis=channel_axis,
        )

    def learned(self, learnable: bool | Iterable[str] | None) -> tuple[str, ...]:
        """The parameters a layer learns for ``learnable`` (see :meth:`module`).

        A name that cannot be learned raises.
        """
        can_learn = self.spec.learnable_params
        if learnable is None:
            return tuple(p.name for p in self.spec.params if p.learnable and p.name in can_learn)
        if learnable is True:
            return can_learn
        if learnable is False:
            return ()
        names = tuple(learnable)
        wrong = [n for n in names if n not in can_learn]
        if wrong:
            hint = ", ".join(can_learn) if can_learn else "none"
            raise ActivationError(f"{self.name} cannot learn {', '.join(wrong)}; learnable parameters: {hint}")
        return names


def _unpickle(name: str, definition: str | None, params: Mapping[str, ParamValue]) -> Activation:
    from actlab.catalog.plugins import spec_named

    return Activation(spec_named(name, definition), params)


def names() -> list[str]:
    """Sorted canonical names of every activation in the catalog (user-defined ones included)."""
    return REGISTRY.names()


def define(
    name: str,
    formula: str,
    *,
    description: str = "",
    reference: str = "",
    derivative: str | None = None,
    init: str = "he_normal",
    **params: Any,
) -> Activation:
    """Define an activation by a formula (SymPy syntax, variable ``x``; elementary functions and every catalog
    activation by name) and register it for this process: ``define("atan_softplus", "x * atan(softplus(x))")``.

    ``params`` give each parameter's default (``alpha=1.0``) or its long form
    (``alpha={"default": 1.0, "min": 0, "learnable": True}``). The derivative is derived exactly; a ``derivative``
    given is checked against it. Returns the activation at its defaults; see :mod:`actlab.catalog.formula`."""
    from actlab.catalog import plugins

    table = {
        "name": name,
        "formula": formula,
        "params": params,
        "description": description,
        "reference": reference,
        "derivative": derivative,
        "init": init,
    }
    spec = plugins.define_table({k: v for k, v in table.items() if v is not None}, f"define({name!r})", "python")
    _warn_if_known(spec)
    return Activation(spec, spec.defaults())


class DuplicateWarning(UserWarning):
    """A newly defined activation is a function the catalog already holds."""


def _warn_if_known(spec: ActivationSpec) -> None:
    import warnings

    from actlab.catalog.duplicates import describe, same_as

    matches = same_as(spec)
    if matches:
        warnings.warn(f"{spec.name} is {describe(matches)}", DuplicateWarning, stacklevel=3)


def register(spec: ActivationSpec) -> ActivationSpec:
    """Register a spec written in Python against the array namespace, like the built-ins (in a plugin file, so that
    other processes load it again); returns it as registered."""
    from actlab.catalog import plugins

    return plugins.register_python(spec)


def load_plugins(*paths: str | Any) -> list[str]:
    """Load plugin files (TOML of ``[[activation]]`` tables, or Python); returns the names they define."""
    from actlab.catalog import plugins

    return [name for path in paths for name in plugins.load(path)]


def spec(name: str) -> ActivationSpec:
    """The spec of ``name`` (canonical name or any alias, case-insensitive)."""
    return REGISTRY.get(name)


def activation(name: str, **params: Any) -> Activation:
    """The activation ``name`` — a name or alias, or the notation ``'hard_swish:n=4'`` — with ``params``, validated
    now (unknown names and bad values raise :class:`ActivationError`)."""
    base, merged = notation.with_params(name, params)
    found = REGISTRY.get(base)
    return Activation(found, found.resolve(merged))
