"""A training run's complete, validated configuration, and its key.

Everything that changes a run's numbers is in :class:`RunConfig`; where the data files live is not
(that is the machine's business). The key is a hash of the canonical JSON, with the activation written
in canonical form (canonical name, every parameter), so ``LeakyReLU`` and ``leaky_relu:negative_slope=0.01``
are the same run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from actlab import notation
from actlab.activation import Activation, activation
from actlab.catalog.spec import ActivationError
from actlab.choices import MOMENTUM_OPTIMIZERS, Backend, Dtype, Init, Loss, Optimizer, Preprocessing
from actlab.data import sources
from actlab.data.download import DatasetError
from actlab.errors import ActlabError
from actlab.models import user_models
from actlab.models.spec import ModelError, ModelKind, parse_model


def parse_schedule(text: str) -> tuple[str, float, float]:
    """'constant', 'step:EVERY:GAMMA' (multiply the rate by GAMMA every EVERY epochs) or 'cosine'."""
    kind, *rest = text.split(":")
    if kind == "constant" and not rest:
        return ("constant", 0.0, 1.0)
    if kind == "cosine" and not rest:
        return ("cosine", 0.0, 1.0)
    if kind == "step" and len(rest) == 2:
        try:
            every, gamma = int(rest[0]), float(rest[1])
        except ValueError:
            every, gamma = 0, 0.0
        if every >= 1 and gamma > 0:
            return ("step", float(every), gamma)
    raise ValueError(f"schedule {text!r}: use 'constant', 'cosine' or 'step:EVERY:GAMMA' (e.g. step:10:0.5)")


class ConfigError(ActlabError, ValueError):
    """Settings that do not make a valid run; the message lists every problem."""


def make_config(**settings: Any) -> RunConfig:
    """``RunConfig(**settings)``, with every invalid setting in one clear :class:`ConfigError`."""
    try:
        return RunConfig(**settings)
    except ValidationError as error:
        problems = "; ".join(
            (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
            for e in error.errors()
        )
        raise ConfigError(f"invalid setup: {problems}") from None


def stored_label(text: str, definition: str | None) -> str:
    """The label of an activation as a stored run writes it (canonical text, every parameter), without defining it:
    the parameters that differ from the defaults its stored formula gives; every parameter where the definition
    gives none (Python)."""
    name, params = notation.parse(text)
    try:
        defaults = {k: v.get("default") for k, v in json.loads(definition or "{}").get("params", {}).items()}
    except (ValueError, AttributeError):
        defaults = {}
    shown = [f"{k}={notation.label_value(v)}" for k, v in params.items() if k not in defaults or defaults[k] != v]
    return f"{name}({', '.join(shown)})" if shown else name


_STORED = "stored"  # the validation context of a run read back from a store or a saved report


def _is_stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(_STORED))


class RunConfig(BaseModel):
    """One training run. Validated when created; immutable afterwards."""

    # defaults are validated too, so a configuration's canonical form (and key) is the same however it was built
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    dataset: str = "digits"
    preprocessing: Preprocessing = "minmax"
    model: str = "mlp:100,50"
    activation: str = "relu"
    init: Literal["auto"] | Init = "auto"
    optimizer: Optimizer = "sgd"
    lr: float = Field(0.1, gt=0, allow_inf_nan=False)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False)
    flooding: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="flood level b: the loss is replaced by |loss - b| + b"
    )
    schedule: str = "constant"
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(32, ge=1)
    seed: int = Field(0, ge=0)
    thresholds: tuple[float, ...] = (0.95, 0.97, 0.98)
    train_subset: int | None = Field(None, ge=1, description="train on this many examples (a fixed random subset)")
    test_subset: int | None = Field(None, ge=1, description="evaluate on this many examples (a fixed random subset)")
    backend: Backend = "torch"
    device: str = "cpu"
    definition: str | None = Field(None, description="a user-defined activation's definition (set automatically)")
    unchecked: bool = Field(False, description="trained although `actlab check` failed (--allow-unchecked)")
    dtype: Dtype = Field(
        "float32",
        description="bfloat16: mixed precision — float32 weights and loss, products and activations in "
        "bfloat16 under torch.autocast",
    )
    loss: Loss = Field("cross_entropy", description="cross_entropy (classes; accuracy) or mse (regression)")
    target: str | None = Field(None, description="a CSV dataset's label column")
    test_fraction: float | None = Field(None, gt=0, lt=1, description="a CSV dataset's test share (default 0.2)")
    model_sha256: str | None = Field(None, description="a hash of a user's model source (set automatically)")
    diagnostics: bool = Field(False, description="measure saturation, dead units and gradient flow per layer and epoch")
    saturation_threshold: float = Field(
        0.05, gt=0, lt=1, description="saturated: |f'(z)| below this fraction of the activation's largest |f'|"
    )
    data_sha256: str | None = Field(None, description="a hash of a user's data (set automatically)")

    @model_validator(mode="before")
    @classmethod
    def _definition(cls, values: Any, info: ValidationInfo) -> Any:
        """A user-defined activation's definition is part of the run: stored with it (so a changed formula is a new
        run) and used to define the activation again in a process that lacks it (a worker, another machine). A run
        read back (:meth:`stored`) is taken as stored: its definition is not defined here (a store may name code)."""
        if not isinstance(values, dict) or not isinstance(values.get("activation", "relu"), str) or _is_stored(info):
            return values  # read back as stored: nothing a store names is defined (or run) to read its results
        from actlab.catalog.plugins import ensure_defined

        given = values.get("definition")
        if given:
            try:
                ensure_defined(given)
            except ActivationError as error:
                raise ValueError(str(error)) from None
        try:
            spec = activation(values.get("activation", "relu")).spec
        except ActivationError:
            return values  # reported by the activation's own validator
        if given and given != spec.definition:
            raise ValueError(f"activation {spec.name!r}: the definition given is not the one registered")
        return {**values, "definition": spec.definition}

    @model_validator(mode="before")
    @classmethod
    def _unused_momentum(cls, values: Any) -> Any:
        """μ only matters to momentum and nesterov; elsewhere it is reset to its default, so runs that
        differ only in an unused μ are one run (same key)."""
        if isinstance(values, dict) and values.get("optimizer", "sgd") not in MOMENTUM_OPTIMIZERS:
            values = {k: v for k, v in values.items() if k != "momentum"}
        return values

    @model_validator(mode="before")
    @classmethod
    def _sources(cls, values: Any, info: ValidationInfo) -> Any:
        """A user's model and data are named by reference (absolute paths) and identified by hashes of their
        sources, taken when the run is defined: a stored run keeps its hashes (the trainer refuses to train one whose
        file has changed since), a new one takes the files as they are now. A run read back (:meth:`stored`) is
        taken as it was stored: its files need not exist here."""
        if not isinstance(values, dict) or _is_stored(info):
            return values
        values = dict(values)
        for setting, hashed, module, error in (
            ("dataset", "data_sha256", sources, DatasetError),
            ("model", "model_sha256", user_models, ModelError),
        ):
            text = values.get(setting)
            is_user = sources.is_user_data if setting == "dataset" else user_models.is_user_model
            if not isinstance(text, str) or not is_user(text):
                continue
            try:
                values[setting] = module.canonical(text)
                if not values.get(hashed):
                    values[hashed] = module.digest(text)
            except error as problem:
                raise ValueError(str(problem)) from None
        return values

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str, info: ValidationInfo) -> str:
        if _is_stored(info) and sources.is_user_data(value):
            return value
        try:
            return sources.canonical(value)
        except DatasetError as error:
            raise ValueError(str(error)) from None

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if user_models.is_user_model(value):
            return value  # made canonical (and checked) with its hash above
        try:
            return str(parse_model(value))
        except ModelError as error:
            raise ValueError(str(error)) from None

    @field_validator("activation")
    @classmethod
    def _activation(cls, value: str, info: ValidationInfo) -> str:
        if _is_stored(info):
            return value  # stored in canonical form (under its definition, which may not be this process's)
        try:
            return notation.canonical(activation(value))
        except ActivationError as error:
            raise ValueError(str(error)) from None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < t <= 1 for t in value):
            raise ValueError("thresholds are accuracies in (0, 1], e.g. 0.95")
        return tuple(sorted(set(value)))

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if value not in ("cpu", "auto") and not value.startswith("cuda"):
            raise ValueError(f"device {value!r}: use cpu, cuda, cuda:N or auto")
        return value

    @model_validator(mode="after")
    def _user_sources(self) -> RunConfig:
        which = sources.kind(self.dataset)
        if which != "csv" and (self.target is not None or self.test_fraction is not None):
            raise ValueError("target and test_fraction are settings of a CSV dataset (csv:PATH)")
        if which == "csv" and not self.target:
            raise ValueError(f"{self.dataset}: name the label column with target (--target COLUMN)")
        if self.loss == "mse" and which == "builtin":
            raise ValueError(f"loss mse is for regression on your own data; {self.dataset} has classes")
        if self.is_user_model():
            if self.backend == "numpy":
                raise ValueError("the numpy backend trains actlab's MLPs only; your own model trains with torch")
            if self.init != "auto":
                raise ValueError(
                    "init applies to actlab's mlp/cnn models; your own model initialises itself (reset_parameters)"
                )
        return self

    @model_validator(mode="after")
    def _backend_support(self) -> RunConfig:
        if self.diagnostics and self.backend == "numpy":
            raise ValueError("diagnostics are measured by the torch engine; use --backend torch with --diagnostics")
        if self.is_user_model():
            return self
        if self.backend == "numpy" and parse_model(self.model).kind != ModelKind.MLP:
            raise ValueError("the numpy backend trains MLPs only; use --backend torch for CNNs")
        if self.backend == "numpy" and self.device != "cpu":
            raise ValueError("the numpy backend runs on the CPU only")
        if self.backend == "numpy" and self.regression:
            raise ValueError("the numpy backend trains with cross-entropy only; use --backend torch for loss mse")
        if self.backend == "numpy" and self.dtype == "bfloat16":
            raise ValueError("the numpy backend has no bfloat16; use float32 or float64, or --backend torch")
        return self

    @classmethod
    def stored(cls, data: dict[str, Any]) -> RunConfig:
        """A run as a store or a saved report holds it (its canonical JSON data), for reading its results: its
        user's model and data are not looked up again — their files may have moved since, a model given to
        ``actlab.compare`` lived in another process — so its references and hashes stay as stored. Training one
        checks them (:func:`actlab.models.user_build.build_model`, :func:`actlab.data.prepared.prepare_for`). Nothing
        the run names is defined, imported or run (a crafted store could name any file): a user's activation keeps
        its stored name, known only if this process defined it."""
        return cls.model_validate(data, context={_STORED: True})

    # --- derived ---------------------------------------------------------------------------------------
    def is_user_model(self) -> bool:
        return user_models.is_user_model(self.model)

    @property
    def regression(self) -> bool:
        return self.loss == "mse"

    def applies(self, setting: str) -> bool:
        """Whether ``setting`` affects this run (μ only matters to momentum and nesterov)."""
        return setting != "momentum" or self.optimizer in MOMENTUM_OPTIMIZERS

    def activation_object(self) -> Activation:
        return activation(self.activation)

    def defined_here(self) -> bool:
        """Whether this process defines the run's activation as the run does (a built-in, or a user's activation
        registered with the same definition); a run read back from a store need not be."""
        name, _ = notation.parse(self.activation)
        try:
            return activation(name).spec.definition == self.definition
        except ActivationError:
            return False

    def activation_label(self) -> str:
        """``hard_swish(n=4)``: the activation and its parameters that differ from the defaults — from the stored
        text (and a formula's stored defaults) where this process does not define it as the run did."""
        if self.defined_here():
            return notation.label(self.activation_object())
        return stored_label(self.activation, self.definition)

    def init_scheme(self) -> str:
        return self.activation_object().spec.init if self.init == "auto" else self.init

    def canonical(self) -> dict[str, Any]:
        """The configuration as JSON data. Settings added after runs were stored (``definition``, ``unchecked``)
        appear only when set, so the keys of earlier runs stay what they were."""
        data = json.loads(self.model_dump_json())
        for name, unset in (
            ("definition", None),
            ("unchecked", False),
            ("loss", "cross_entropy"),
            ("target", None),
            ("test_fraction", None),
            ("model_sha256", None),
            ("data_sha256", None),
            ("diagnostics", False),
            ("saturation_threshold", 0.05),
        ):
            if data.get(name) == unset:
                del data[name]
        return data

    def key(self) -> str:
        """A stable hash of everything that determines the run's numbers."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def expansion(self) -> int:
        """Inputs the activation combines into one output (2 for the GLU family, k for maxout, else 1): the
        hidden layers produce that many times the units the model names."""
        act = self.activation_object()
        return act.spec.n_pieces(act.params)

    def group_key(self) -> str:
        """Runs with equal group keys can train together: they differ only in seed, init and activation, and their
        activations combine equally many inputs (so their layers have the same shapes)."""
        shared = {k: v for k, v in self.canonical().items() if k not in ("seed", "activation", "init")}
        return json.dumps({**shared, "expansion": self.expansion()}, sort_keys=True)
