"""Put a catalog activation in place of a Keras model's activations: a new model, the other weights copied, and a
report of every site replaced or kept."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import keras

from actlab.activation import Activation as CatalogActivation
from actlab.errors import ActlabError
from actlab.keras import chains, reference
from actlab.keras.function import ActivationFunction
from actlab.keras.layer import Activation as ActivationLayer
from actlab.recognise import squashing

# Layers that are an activation and nothing else; Softmax is one, but is never swapped (see NOT_ELEMENTWISE).
ACTIVATION_LAYERS = (
    keras.layers.Activation,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.ELU,
    keras.layers.PReLU,
    keras.layers.Softmax,
    ActivationLayer,
)
# Keras activations that are not one function applied to each element: swapping one for an elementwise activation
# would change what the layer computes (a distribution over classes) or its output's shape. actlab's own are known by
# their spec (gated ones split their input).
NOT_ELEMENTWISE = frozenset({"softmax", "log_softmax", "sparsemax", "glu", "Softmax"})


class SwapError(ActlabError, ValueError):
    """A model :func:`swap` cannot rewrite, or an activation it cannot put in place of elementwise ones."""


@dataclass(frozen=True)
class Site:
    """One activation of the model: the layer (``outer/inner`` inside a nested model), the activation it had, and
    actlab's activation put there (None where kept), with how or why."""

    layer: str
    old: str
    new: str | None
    note: str = ""

    def __str__(self) -> str:
        change = f"{self.old} → {self.new}" if self.new is not None else f"{self.old} kept"
        return f"{self.layer}: {change}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class SwapReport:
    """The sites :func:`swap` replaced and those it kept, in the model's layer order."""

    replaced: tuple[Site, ...]
    kept: tuple[Site, ...]

    def __str__(self) -> str:
        lines = [f"replaced {len(self.replaced)} activation(s), kept {len(self.kept)}"]
        lines += [f"  {site}" for site in self.replaced + self.kept]
        return "\n".join(lines)


def swap(
    model: keras.Model,
    to: str | CatalogActivation | ActivationFunction,
    *,
    learnable: bool | Iterable[str] | None = None,
    channel_wise: bool = True,
) -> tuple[keras.Model, SwapReport]:
    """A new model like ``model`` (Sequential or Functional, built) with actlab's ``to`` in place of its hidden
    activations, every other weight copied; returns ``(new_model, report)``.

    The sites: every layer's ``activation=`` argument (Dense, Conv2D, LSTM, …) and every activation layer
    (``keras.layers.Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``, ``PReLU``, and actlab's own). Kept, and listed as
    kept in the report:

    - the model's output activations: the last nonlinearity before each output, looking back through layers without
      weights (Dropout, Flatten, Reshape, …) — a final sigmoid gives probabilities, a final relu non-negative values;
      a layer on an output's path is kept everywhere it is used;
    - softmax (``activation="softmax"``, ``Softmax`` layers) and other activations that are not elementwise (glu,
      sparsemax), wherever they are: they compute a distribution or change the shape;
    - ``linear`` (no activation) is not a site at all.

    In a Functional model an activation written with operators on KerasTensors (MobileNetV3's hard-sigmoid
    ``ReLU(6.)(x + 3.) * (1. / 6.)``, a hard-swish ``Multiply()([x, hard_sigmoid(x)])``) is one site, recognised by
    its values as a catalog activation (:mod:`actlab.recognise`) and replaced whole by an
    :class:`actlab.keras.Activation` layer named ``<last operation>_<activation>``; the layers inside it are never
    swapped on their own. Kept whole, and listed: such a formula used as a gate (a squashing one multiplying another
    tensor, as in squeeze-and-excitation), on an output's path, or not recognised as a catalog activation.

    An activation layer becomes an :class:`actlab.keras.Activation` layer of the same name (PReLU's learned slopes
    are dropped: the new activation starts from its own parameters). An ``activation=`` argument becomes the function
    :func:`actlab.keras.activation`; where ``to`` learns parameters (``learnable``, ``channel_wise`` as for the
    layer) or is stochastic, the layer gets ``activation="linear"`` followed by an :class:`actlab.keras.Activation`
    layer named ``<layer>_<activation>``, so that every site learns its own parameters (inside recurrent layers,
    whose activation is part of each step, the function with fixed parameters is used, and the report says so).
    Nested Sequential and Functional models are swapped the same way; wrappers (Bidirectional, TimeDistributed)
    and subclassed layers are copied as they are. The new model is not compiled.
    """
    target = to.act if isinstance(to, ActivationFunction) else reference.configured(to)
    if target.spec.gated:
        raise SwapError(
            f"swap cannot put {target.spec.name} in place of elementwise activations: it splits its input into "
            f"{target.spec.n_pieces(target.params)} pieces, changing every layer's output shape"
        )
    target.learned(learnable)  # a wrong name is an error before any work
    rewriter = _Rewriter(target, learnable, channel_wise)
    new_model = rewriter.rewrite(model, prefix="", keep_outputs=True)
    for source, clone in rewriter.copies:  # now that the new model has built every layer (operations have no weights)
        for mine, theirs in zip(getattr(clone, "weights", ()), getattr(source, "weights", ()), strict=True):
            mine.assign(theirs.value)  # on the device, no round trip through NumPy
    return new_model, SwapReport(tuple(rewriter.replaced), tuple(rewriter.kept))


def _describe(fn: Any) -> tuple[str, bool]:
    """An activation function's name, and whether it is elementwise."""
    if isinstance(fn, ActivationFunction):
        return fn.act.text, not fn.act.spec.gated
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return name, name not in NOT_ELEMENTWISE


def _site(layer: keras.layers.Layer) -> tuple[str, str, bool] | None:
    """``("layer" | "argument", old activation, elementwise)`` where ``layer`` is an activation site, else None
    (``linear`` is no activation)."""
    if isinstance(layer, ActivationLayer):
        return "layer", layer.act.text, not layer.act.spec.gated
    if isinstance(layer, keras.layers.Activation):
        name, elementwise = _describe(layer.activation)
        return None if name == "linear" else ("layer", name, elementwise)
    if isinstance(layer, ACTIVATION_LAYERS):
        name = type(layer).__name__
        return "layer", name, name not in NOT_ELEMENTWISE
    fn = getattr(layer, "activation", None)
    if callable(fn) and "activation" in layer.get_config():
        name, elementwise = _describe(fn)
        return None if name == "linear" else ("argument", name, elementwise)
    return None


def _inbound_layer(layer: keras.layers.Layer) -> keras.layers.Layer | None:
    """The one layer feeding ``layer`` (first call), or None where it has several inputs or none."""
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes or len(nodes[0].input_tensors) != 1:
        return None
    history = getattr(nodes[0].input_tensors[0], "_keras_history", None)
    return history.operation if history is not None else None


def _output_path(model: keras.Model) -> set[int]:
    """ids of the layers holding each output's last nonlinearity (or the nested model producing it)."""
    if isinstance(model, keras.Sequential):
        starts = model.layers[-1:]
        previous = {id(b): a for a, b in zip(model.layers, model.layers[1:], strict=False)}
    else:
        starts = [t._keras_history.operation for t in keras.tree.flatten(model.outputs)]
        previous = None
    found: set[int] = set()
    for layer in starts:
        while layer is not None and not isinstance(layer, keras.layers.InputLayer):
            if _site(layer) is not None or isinstance(layer, keras.Model):
                found.add(id(layer))
                break
            if getattr(layer, "weights", None):
                break
            layer = previous.get(id(layer)) if previous is not None else _inbound_layer(layer)
    return found


class _Rewriter:
    """One swap: the new layers, the weights to copy, and the report's sites."""

    def __init__(self, target: CatalogActivation, learnable: Any, channel_wise: bool) -> None:
        self.target = target
        self.learnable = learnable
        self.channel_wise = channel_wise
        self.own_layer = bool(target.learned(learnable)) or target.spec.stochastic is not None
        self.replaced: list[Site] = []
        self.kept: list[Site] = []
        self.copies: list[tuple[keras.layers.Layer, keras.layers.Layer]] = []  # (source, clone) to copy weights
        self.frozen: set[int] = set()  # operations inside a formula that is kept: cloned as they are
        self.through: set[int] = set()  # operations inside a formula replaced: their clones pass the input on
        self.ends: dict[int, str] = {}  # the last operation of a formula replaced → the name of its new layer
        self.pending: dict[int, Site] = {}  # a formula's site, reported when its first operation is cloned

    def _layer(self, name: str, dtype: Any) -> ActivationLayer:
        return ActivationLayer(
            self.target, learnable=self.learnable, channel_wise=self.channel_wise, name=name, dtype=dtype
        )

    def rewrite(self, model: keras.Model, prefix: str, keep_outputs: bool) -> keras.Model:
        if isinstance(model, keras.Sequential):
            return self._sequential(model, prefix, keep_outputs)
        if isinstance(model, keras.Model) and hasattr(model, "_run_through_graph"):  # Functional (a graph of layers)
            return self._functional(model, prefix, keep_outputs)
        raise SwapError(
            f"swap rewrites Sequential and Functional models; {type(model).__name__} {model.name!r} is a subclassed "
            "model, whose call() is Python code it cannot rewrite"
        )

    def _clone(self, layer: keras.layers.Layer, prefix: str, outputs: set[int]) -> tuple[Any, Any]:
        """The layer of the new model for ``layer`` (weights copied), and the activation layer to apply after it or
        None."""
        if id(layer) in self.pending:  # the report lists sites in the order of the model's layers
            site = self.pending.pop(id(layer))
            (self.kept if site.new is None else self.replaced).append(site)
        if isinstance(layer, keras.Model):
            return self.rewrite(layer, f"{prefix}{layer.name}/", keep_outputs=id(layer) in outputs), None
        inside = id(layer) in self.frozen or id(layer) in self.through or id(layer) in self.ends  # of a formula
        site = _site(layer) if not inside else None
        where = f"{prefix}{layer.name}"
        if site is not None:
            kind, old, elementwise = site
            if not elementwise:
                self.kept.append(Site(where, old, None, "not elementwise: never swapped"))
            elif id(layer) in outputs:
                self.kept.append(Site(where, old, None, "output activation"))
            elif kind == "layer":
                note = "its learned alpha is dropped" if isinstance(layer, keras.layers.PReLU) else ""
                self.replaced.append(Site(where, old, self.target.text, note))
                return self._layer(layer.name, layer.dtype_policy), None
            else:
                return self._argument(layer, where, old)
        clone = layer.__class__.from_config(layer.get_config())
        self.copies.append((layer, clone))
        return clone, None

    def _argument(self, layer: keras.layers.Layer, where: str, old: str) -> tuple[Any, Any]:
        config = layer.get_config()
        after = None
        if self.own_layer and not isinstance(layer, keras.layers.RNN):
            config["activation"] = "linear"
            name = f"{layer.name}_{self.target.spec.name}"
            after = self._layer(name, layer.dtype_policy)
            self.replaced.append(Site(where, old, self.target.text, f"as layer {name} after it"))
        else:
            config["activation"] = ActivationFunction(self.target)
            note = "recurrent: as a function, parameters fixed" if self.own_layer else ""
            self.replaced.append(Site(where, old, self.target.text, note))
        clone = layer.__class__.from_config(config)
        self.copies.append((layer, clone))
        return clone, after

    def _sequential(self, model: keras.Sequential, prefix: str, keep_outputs: bool) -> keras.Sequential:
        if not model.built or not model.inputs:
            raise SwapError(f"build {model.name!r} first (give it a keras.Input, or call it once)")
        outputs = _output_path(model) if keep_outputs else set()
        layers = []
        for layer in model.layers:
            clone, after = self._clone(layer, prefix, outputs)
            layers += [clone] if after is None else [clone, after]
        spec = model.inputs[0]
        inputs = keras.Input(batch_shape=spec.shape, dtype=spec.dtype)
        return keras.Sequential([inputs, *layers], name=model.name, trainable=model.trainable)

    def _formulas(self, model: keras.Model, prefix: str, outputs: set[int]) -> None:
        """Find the activations written as formulas of operations (MobileNetV3's ``ReLU(6.)(x + 3.) * (1. / 6.)``),
        each one site: replaced whole, or kept whole with why."""
        for chain in chains.chains(model, _elementwise_layer):
            if len(chain.nodes) == 1 and _elementwise_layer(chain.output.operation):
                continue  # an activation layer on its own: a site of its own (see _clone)
            if not chains.anchored(chain, _elementwise_layer):
                continue
            kind = chains.recognised(chain)
            members = {id(n.operation) for n in chain.nodes}
            where = prefix + "+".join(n.operation.name for n in chain.nodes)
            old = chains.formula(chain) + (f" (≈ {kind})" if kind else "")
            reason = (
                "not recognised as a catalog activation"
                if kind is None
                else "output activation"
                if members & outputs
                else "a gate: its output multiplies another tensor"
                if squashing(kind) and chains.gate(chain, model)
                else None
            )
            if reason is not None:
                self.frozen |= members
                self.pending[id(chain.nodes[0].operation)] = Site(where, old, None, reason)
                continue
            end = chain.output.operation
            self.through |= members - {id(end)}
            self.ends[id(end)] = f"{end.name}_{self.target.spec.name}"
            note = f"as layer {self.ends[id(end)]}"
            self.pending[id(chain.nodes[0].operation)] = Site(where, old, self.target.text, note)

    def _functional(self, model: keras.Model, prefix: str, keep_outputs: bool) -> keras.Model:
        outputs = _output_path(model) if keep_outputs else set()
        self._formulas(model, prefix, outputs)
        after: dict[int, Any] = {}
        through: set[int] = set()
        ends: dict[int, Any] = {}

        def clone_function(layer: keras.layers.Layer) -> Any:
            clone, follow = self._clone(layer, prefix, outputs)
            if follow is not None:
                after[id(clone)] = follow
            if id(layer) in self.through:
                through.add(id(clone))
            if id(layer) in self.ends:
                ends[id(clone)] = self._layer(self.ends[id(layer)], getattr(layer, "dtype_policy", None))
            return clone

        def call_function(layer: keras.layers.Layer, *args: Any, **kwargs: Any) -> Any:
            if id(layer) in through or id(layer) in ends:  # a formula's input flows to its new layer
                root = next(t for t in keras.tree.flatten((args, kwargs)) if isinstance(t, keras.KerasTensor))
                return ends[id(layer)](root) if id(layer) in ends else root
            out = layer(*args, **kwargs)
            return after[id(layer)](out) if id(layer) in after else out

        if "call_function" in inspect.signature(keras.models.clone_model).parameters:
            return keras.models.clone_model(model, clone_function=clone_function, call_function=call_function)
        new_model = keras.models.clone_model(model, clone_function=clone_function)
        if after or ends:  # Keras < 3.4 cannot insert layers into a Functional model
            raise SwapError(
                f"putting {self.target.spec.name}'s own layer after a layer of a Functional model needs Keras >= 3.4"
            )
        return new_model


def _elementwise_layer(layer: Any) -> bool:
    """Whether ``layer`` is an activation layer acting elementwise (not an ``activation=`` argument of a layer with
    weights, not softmax)."""
    site = _site(layer) if isinstance(layer, keras.layers.Layer) else None
    return site is not None and site[0] == "layer" and site[2]
