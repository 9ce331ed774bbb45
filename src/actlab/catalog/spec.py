"""Activation specifications and the registry that holds them.

An :class:`ActivationSpec` is the single source of truth for one activation: its math (forward and
hand-derived derivative, written once against an array namespace ``xp``), its parameters and their
constraints, its properties, names used by other libraries, and where it comes from. Every other view
of an activation (NumPy path, torch autograd Function and module, CLI, docs, tests) is generated from it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from actlab.choices import Init
from actlab.errors import ActlabError

ParamKind = Literal["float", "optional_float", "int", "vector"]
Category = Literal["fixed", "adaptive"]  # the survey's two classes (Kunc & Kléma 2024, arXiv:2402.09092)
CATEGORIES = ("fixed", "adaptive")
ParamValue = float | int | None | tuple[float, ...]

# A formula takes the input (or, for gated activations, the list of input chunks), the namespace and the
# parameters as keywords, and returns an array of the input's type.
Formula = Callable[..., Any]


class ActivationError(ActlabError, ValueError):
    """Raised for unknown activation names and invalid activation parameters."""


@dataclass(frozen=True)
class Param:
    """One parameter of an activation.

    ``minimum``/``maximum`` bound the value (strictly when ``exclusive``); ``learnable`` says whether
    ``module()`` makes it an ``nn.Parameter`` by default (only parameters that have a derivative in the
    spec's ``param_derivatives`` can be learned).
    """

    name: str
    default: ParamValue
    doc: str
    kind: ParamKind = "float"
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False
    learnable: bool = False

    def validate(self, activation: str, value: Any) -> ParamValue:
        """Return ``value`` converted to this parameter's kind, or raise :class:`ActivationError`."""
        where = f"{activation}: parameter {self.name!r}"
        if self.kind == "vector":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = (value,)
            if not isinstance(value, Sequence) or isinstance(value, str) or len(value) == 0:
                raise ActivationError(f"{where} must be a non-empty list of numbers, got {value!r}")
            return tuple(self._number(where, v) for v in value)
        if self.kind == "optional_float" and value is None:
            return None
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
                raise ActivationError(f"{where} must be an integer, got {value!r}")
            number: float | int = int(value)
        else:
            number = self._number(where, value)
        self._check_bounds(where, number)
        return number

    def _number(self, where: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)  # numpy scalars, 0-d arrays
            except (TypeError, ValueError):
                raise ActivationError(f"{where} must be a number, got {value!r}") from None
        value = float(value)
        if not math.isfinite(value):
            raise ActivationError(f"{where} must be finite, got {value!r}")
        return value

    def _check_bounds(self, where: str, value: float) -> None:
        if self.minimum is not None and (value < self.minimum or (self.exclusive and value == self.minimum)):
            relation = ">" if self.exclusive else ">="
            raise ActivationError(f"{where} must be {relation} {self.minimum:g}, got {value!r}")
        if self.maximum is not None and (value > self.maximum or (self.exclusive and value == self.maximum)):
            relation = "<" if self.exclusive else "<="
            raise ActivationError(f"{where} must be {relation} {self.maximum:g}, got {value!r}")


def format_range(lo: float, hi: float, attained: tuple[bool, bool] = (True, True)) -> str:
    """See :meth:`Properties.range_text`."""
    left = ("[" if attained[0] else "(") + f"{lo:.4g}" if math.isfinite(lo) else "(-∞"
    right = f"{hi:.4g}" + ("]" if attained[1] else ")") if math.isfinite(hi) else "∞)"
    return f"{left}, {right}"


@dataclass(frozen=True)
class Properties:
    """Mathematical properties at the default parameters; each one is checked by the test suite.

    ``range`` is the closure of the output set (``-inf``/``inf`` for unbounded sides); ``attains`` says whether
    each finite end is a value of the function (relu's 0) or only approached (sigmoid's 0 and 1). ``monotonic``
    means non-decreasing. ``smooth`` means continuously differentiable everywhere. ``zero_centred``
    means f(0) = 0 and the function takes both signs. ``oscillating`` means the value or the derivative
    has no limit at +-inf, so NaN there is the correct answer. ``kinks`` lists the inputs where f or f'
    jumps or f' is unbounded (elementwise activations; for gated ones smooth refers to the gate); ``poles`` where f
    itself is unbounded.
    """

    range: tuple[float, float]
    monotonic: bool
    smooth: bool
    zero_centred: bool
    stochastic: bool = False
    oscillating: bool = False
    kinks: tuple[float, ...] = ()
    attains: tuple[bool, bool] = (True, True)
    poles: tuple[float, ...] = ()  # where |f| grows without bound at a finite x (1/x at 0): f is not defined there

    def range_text(self) -> str:
        """Interval notation: a bracket where the end is a value of the function, a parenthesis where it is only
        approached (and at infinity): ``[0, ∞)``, ``(0, 1)``."""
        return format_range(*self.range, attained=self.attains)

    @property
    def bounded_below(self) -> bool:
        return math.isfinite(self.range[0])

    @property
    def bounded_above(self) -> bool:
        return math.isfinite(self.range[1])


@dataclass(frozen=True)
class Reference:
    """Where an activation comes from: a paper (with arXiv id or DOI when there is one) or a library; ``where`` is the
    equation or section of that paper that defines it, ``survey`` the section of Kunc & Kléma's survey
    (arXiv:2402.09092) that lists it."""

    title: str
    authors: str
    year: int
    venue: str = ""
    arxiv: str | None = None
    url: str | None = None
    doi: str | None = None
    where: str = ""
    survey: str = ""

    def cite(self) -> str:
        where = f"arXiv:{self.arxiv}" if self.arxiv else (f"doi:{self.doi}" if self.doi else self.venue)
        return f"{self.authors} ({self.year}). {self.title}." + (f" {where}." if where else "")

    def link(self) -> str | None:
        if self.arxiv:
            return f"https://arxiv.org/abs/{self.arxiv}"
        return f"https://doi.org/{self.doi}" if self.doi else self.url


@dataclass(frozen=True)
class Native:
    """A PyTorch kernel computing the same function: ``fn(F, x, params)`` with F = torch.nn.functional.

    Learnable parameters reach ``fn`` as tensors of the input's dtype (shape (C,) when channel-wise).

    ``applies(params)`` says for which parameter values it equals the spec (e.g. hard_swish only for
    n = 6). ``exact`` claims the kernel matches the spec to the precision of the dtype on every input,
    forward and backward, ±inf and far tails included. Kernels that are not exact (NaN at ±inf for gelu,
    silu, mish, hardswish; tail derivatives computed as y(1-y) or 1-y² for sigmoid, tanh and glu, which
    lose all relative precision; float32 constants in float64 backward for hardsigmoid; cancellation
    in tanhshrink) are used by modules, whose inputs are finite and whose gradients only need absolute
    accuracy, but not by the functional path. The tests check both claims.

    ``yields_to_fused``: modules built with ``fused=True`` compile the spec instead of calling this kernel,
    which benchmarks/activation_kernels.py measures as faster or lighter: PyTorch composes softsign and
    tanhshrink from several element-wise ops (a memory pass each), its CPU tanh is SLEEF's, slower than
    the compiled exp-based tanh (its tanh-approximated GELU evaluates that tanh where the spec needs one
    sigmoid), its mish evaluates exp, log1p and tanh where the spec needs one exp, its ELU, SELU and
    CELU kernels (SLEEF's expm1) are slower than the compiled exp-based expm1, its
    CPU PReLU backward is several times slower than the compiled one, and its log-sigmoid saves a second
    activation-sized buffer.
    """

    fn: Callable[..., Any]
    applies: Callable[[Mapping[str, Any]], bool] = lambda params: True
    exact: bool = True
    learns: tuple[str, ...] = ()  # learnable parameters the kernel differentiates (e.g. PReLU's slope)
    yields_to_fused: bool = False


@dataclass(frozen=True)
class Stochastic:
    """Training-mode behaviour of a stochastic activation.

    ``sample(shape, xp, rng, **params)`` draws the per-element noise; ``forward`` and ``derivative``
    take ``(x, noise, xp, **params)``. The spec's own forward/derivative are the evaluation-mode ones.
    ``torch_train`` is the native training-mode kernel, ``fn(F, x, params)``.
    """

    sample: Callable[..., Any]
    forward: Formula
    derivative: Formula
    torch_train: Callable[..., Any] | None = None


class Deferred:
    """A value computed by ``make()`` when first asked for, then kept (a SymPy expression parsed only when needed)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make: Callable[[], Any] | None = make
        self._value: Any = None

    def get(self) -> Any:
        if self._make is not None:
            self._value, self._make = self._make(), None
        return self._value


@dataclass(frozen=True)
class ActivationSpec:
    """One activation: math, parameters, properties, names and provenance.

    Elementwise activations have ``pieces = None``: ``forward(x, xp, **p)`` and ``derivative(x, xp, **p)``
    map an array to an array of the same shape. Gated activations (GLU family, maxout) split their input
    along ``dim`` into ``pieces`` equal chunks (an int, or the name of the parameter holding it);
    ``forward(chunks, xp, **p)`` returns the output and ``derivative(chunks, xp, **p)`` the list of partial
    derivatives of the output with respect to each chunk (each output element depends on exactly one
    element of each chunk, so this list is the whole Jacobian). ``demo_chunks(x, pieces)`` turns a 1-D
    grid into chunks for plots (default: the grid repeated).
    ``param_derivatives[name](x, xp, **p)`` is df/dparam elementwise (a list of arrays for vector params).
    ``init`` is the weight initialisation the activation is meant to be used with (the harness's ``auto``): He for
    rectifier-like units (He et al. 2015), Glorot for sigmoid-shaped, periodic and linear ones (Glorot & Bengio
    2010), LeCun normal for SELU, whose self-normalisation assumes it (Klambauer et al. 2017).
    """

    name: str
    family: str
    summary: str
    forward: Formula
    derivative: Formula
    formula: str
    derivative_formula: str
    properties: Properties
    reference: Reference
    params: tuple[Param, ...] = ()
    param_derivatives: Mapping[str, Formula] = field(default_factory=dict)
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: str = ""
    native: Native | None = None
    stochastic: Stochastic | None = None
    pieces: int | str | None = None
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    demo_chunks: Callable[[Any, int], list[Any]] | None = None
    init: Init = "he_normal"
    definition: str | None = None  # user-defined: the text that defines it again anywhere (a run stores it)
    source: str | None = None  # user-defined: where it was defined (a file, "python", an entry point)
    expression: Any = None  # defined by a formula: its SymPy expression (as written, before the stable rewrites),
    # or a Deferred that parses it when first asked (catalog data entries: see formula_expression)
    category: Category | None = None  # fixed or adaptive; None: adaptive exactly when a parameter learns by default
    formula_text: str = ""  # defined by a formula: its text as written ("x*exp(-exp(-x))")

    def __post_init__(self) -> None:
        if self.category is None:
            adaptive = any(p.learnable for p in self.params)
            object.__setattr__(self, "category", "adaptive" if adaptive else "fixed")

    @property
    def formula_expression(self) -> Any:
        """The SymPy expression of a formula-defined activation (as written), or None for one written in Python."""
        return self.expression.get() if isinstance(self.expression, Deferred) else self.expression

    @property
    def user_defined(self) -> bool:
        return self.definition is not None

    @property
    def gated(self) -> bool:
        return self.pieces is not None

    @property
    def learnable_params(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.name in self.param_derivatives)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ActivationError(f"{self.name} has no parameter {name!r}; it has {self.param_names() or 'none'}")

    def param_names(self) -> str:
        return ", ".join(p.name for p in self.params)

    def defaults(self) -> dict[str, ParamValue]:
        return {p.name: p.default for p in self.params}

    def resolve(self, overrides: Mapping[str, Any]) -> dict[str, ParamValue]:
        """Validate ``overrides`` against the parameters and return the full parameter dict.

        Every problem (unknown names, bad values, violated cross-parameter rules) raises one
        :class:`ActivationError` naming the activation.
        """
        known = {p.name for p in self.params}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ActivationError(
                f"{self.name} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are: {self.param_names() or 'none'}"
            )
        values = {p.name: p.validate(self.name, overrides.get(p.name, p.default)) for p in self.params}
        if self.check is not None:
            problem = self.check(values)
            if problem:
                raise ActivationError(f"{self.name}: {problem}")
        return values

    def n_pieces(self, params: Mapping[str, Any]) -> int:
        if self.pieces is None:
            return 1
        return int(params[self.pieces]) if isinstance(self.pieces, str) else self.pieces

    def all_aliases(self) -> list[str]:
        seen: list[str] = []
        for names in self.aliases.values():
            for name in names:
                if name not in seen:
                    seen.append(name)
        return seen


def normalize(name: str) -> str:
    """Lookup key of a name: case-insensitive, ignoring '_', '-', '.' and spaces (LeakyReLU == leaky_relu)."""
    return re.sub(r"[\s_\-.]", "", name).lower()


class Registry:
    """Canonical names to specs, with every alias resolvable case-insensitively."""

    def __init__(self) -> None:
        self._specs: dict[str, ActivationSpec] = {}
        self._pending: dict[str, Callable[[], ActivationSpec]] = {}  # built-ins whose spec is built when first asked
        self._lookup: dict[str, str] = {}
        self.discover: Callable[[], None] | None = None  # loads installed plugins, once, when first needed

    def _discover(self) -> None:
        discover, self.discover = self.discover, None
        if discover is not None:
            discover()

    def register(self, spec: ActivationSpec) -> ActivationSpec:
        """Add ``spec``. A user-defined spec may not take a name or alias already used; registering the same user
        definition again is a no-op (a plugin loaded twice), another definition under its name an error."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", spec.name):
            raise ActivationError(
                f"activation names are snake_case (a-z, 0-9, _) starting with a letter: {spec.name!r}"
            )
        existing = self._specs.get(spec.name)
        if existing is not None and spec.user_defined and existing.definition == spec.definition:
            return existing
        keys = {normalize(spec.name), *(normalize(a) for a in spec.all_aliases())}
        if spec.user_defined:
            self.check_free(spec.name, *spec.all_aliases())
        for key in keys:
            owner = self._lookup.get(key)
            if owner is not None and owner != spec.name:
                raise ActivationError(f"{spec.name}: the name {key!r} is already taken by {owner}")
        for key in keys:
            self._lookup[key] = spec.name
        self._specs[spec.name] = spec
        return spec

    def register_lazy(self, name: str, aliases: Sequence[str], build: Callable[[], ActivationSpec]) -> None:
        """Add a built-in activation under ``name`` and ``aliases`` whose spec ``build()`` makes when it is first
        asked for (a catalog data entry: its derivation is SymPy's work, which ``actlab list`` should not wait for)."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ActivationError(f"activation names are snake_case (a-z, 0-9, _) starting with a letter: {name!r}")
        keys = {normalize(name), *(normalize(a) for a in aliases)}
        for key in keys:
            owner = self._lookup.get(key)
            if owner is not None and owner != name:
                raise ActivationError(f"{name}: the name {key!r} is already taken by {owner}")
        if name in self._specs or name in self._pending:
            raise ActivationError(f"{name}: the name {name!r} is already taken by {name}")
        for key in keys:
            self._lookup[key] = name
        self._pending[name] = build

    def add_aliases(self, name: str, library: str, aliases: Sequence[str], note: str = "") -> None:
        """More names for built-in ``name`` (before it is first asked for, or after): looked up like its own; ``note``
        is added to its notes."""
        if name in self._pending:
            build = self._pending[name]
            self._pending[name] = lambda: _with_aliases(build(), library, aliases, note)
        else:
            self._specs[name] = _with_aliases(self.get(name), library, aliases, note)
        for alias in aliases:
            owner = self._lookup.get(normalize(alias))
            if owner is not None and owner != name:
                raise ActivationError(f"{name}: the alias {alias!r} is already taken by {owner}")
            self._lookup[normalize(alias)] = name

    def snapshot(self) -> tuple[dict, dict, dict]:
        """The registry's contents, for :meth:`restore` (tests that define activations leave it as they found it)."""
        return dict(self._specs), dict(self._pending), dict(self._lookup)

    def restore(self, state: tuple[dict, dict, dict]) -> None:
        specs, pending, lookup = state
        self._specs, self._pending, self._lookup = dict(specs), dict(pending), dict(lookup)

    def get_name(self, name: str) -> str | None:
        """The canonical name ``name`` looks up to, or None (nothing is built or discovered)."""
        return self._lookup.get(normalize(name))

    def is_pending(self, name: str) -> bool:
        """Whether ``name`` (canonical) is a built-in whose spec has not been built yet."""
        return name in self._pending

    def check_free(self, *names: str) -> None:
        """Raise unless none of ``names`` (as lookups: case, '_', '-' ignored) is taken."""
        for name in names:
            owner = self._lookup.get(normalize(name))
            if owner is not None:
                where = (
                    "a built-in activation"
                    if owner in self._pending or self._specs[owner].definition is None
                    else f"defined in {self._specs[owner].source or 'this process'}"
                )
                raise ActivationError(f"{name}: the name {name!r} is already taken by {owner} ({where})")

    def unregister(self, name: str) -> None:
        """Remove a user-defined activation (tests; a plugin reloaded)."""
        spec = self.get(name)
        if not spec.user_defined:
            raise ActivationError(f"{spec.name} is built in; only user-defined activations can be removed")
        del self._specs[spec.name]
        self._lookup = {k: v for k, v in self._lookup.items() if v != spec.name}

    def is_builtin(self, name: str) -> bool:
        canonical = self._lookup.get(normalize(name)) if isinstance(name, str) else None
        return canonical in self._pending or not self.get(name).user_defined

    def names(self) -> list[str]:
        self._discover()
        return sorted([*self._specs, *self._pending])

    def get(self, name: str) -> ActivationSpec:
        if not isinstance(name, str):
            raise ActivationError(f"activation names are strings, got {name!r}")
        canonical = self._lookup.get(normalize(name))
        if canonical is None and self.discover is not None:
            self._discover()
            canonical = self._lookup.get(normalize(name))
        if canonical is None:
            raise ActivationError(self._unknown_message(name))
        if canonical in self._pending:
            self._specs[canonical] = self._pending[canonical]()
            del self._pending[canonical]
        return self._specs[canonical]

    def _unknown_message(self, name: str) -> str:
        candidates = sorted(set(self._lookup))
        close = difflib.get_close_matches(normalize(name), candidates, n=5, cutoff=0.6)
        suggestions = list(dict.fromkeys(self._lookup[c] for c in close))
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else "; see `actlab list`"
        return f"unknown activation {name!r}{hint}"


def _with_aliases(spec: ActivationSpec, library: str, aliases: Sequence[str], note: str) -> ActivationSpec:
    merged = dict(spec.aliases)
    merged[library] = tuple(dict.fromkeys([*merged.get(library, ()), *aliases]))
    notes = f"{spec.notes} {note}".strip() if note and note not in spec.notes else spec.notes
    return replace(spec, aliases=merged, notes=notes)


REGISTRY = Registry()
