"""Model architectures written as text, and the weight initialisation shared by both engines.

``mlp:100,50``: fully connected hidden layers of 100 and 50 units. ``cnn:32,p,64,p``: 3×3 'valid'
convolutions with 32 and 64 channels, each followed by the activation, and 2×2 max-pools where 'p'
stands; ``d64`` adds a dense hidden layer after flattening. Every model ends in a linear layer to the
classes (softmax is in the loss). Every hidden layer takes the activation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from actlab._compat import StrEnum
from actlab.activation import Activation
from actlab.errors import ActlabError

KERNEL = 3


class ModelKind(StrEnum):
    MLP = "mlp"
    CNN = "cnn"


class LayerKind(StrEnum):
    DENSE = "dense"
    CONV = "conv"
    POOL = "pool"


class ModelError(ActlabError, ValueError):
    """An architecture string that cannot be built."""


@dataclass(frozen=True)
class Layer:
    """One layer: dense (units), conv (channels) or pool."""

    kind: LayerKind
    size: int = 0


@dataclass(frozen=True)
class ModelSpec:
    kind: ModelKind
    layers: tuple[Layer, ...]

    def __str__(self) -> str:
        if self.kind == ModelKind.MLP:
            return "mlp:" + ",".join(str(layer.size) for layer in self.layers)
        parts = {LayerKind.CONV: str, LayerKind.POOL: lambda s: "p", LayerKind.DENSE: lambda s: f"d{s}"}
        return "cnn:" + ",".join(parts[layer.kind](layer.size) for layer in self.layers)


def parse_model(text: str) -> ModelSpec:
    kind, _, body = text.strip().partition(":")
    kind = kind.strip().lower()
    items = [item.strip().lower() for item in body.split(",")] if body.strip() else []
    if kind in tuple(ModelKind) and "" in items:
        raise ModelError(f"{text!r}: an empty layer between commas")
    if kind == ModelKind.MLP:
        try:
            sizes = [int(item) for item in items]
        except ValueError:
            raise ModelError(f"{text!r}: an MLP is mlp:UNITS,UNITS,… (e.g. mlp:100,50)") from None
        if not sizes:
            raise ModelError(
                f"{text!r}: an MLP needs at least one hidden layer (e.g. mlp:100,50); without one the "
                "activation would never be used"
            )
        if any(s < 1 for s in sizes):
            raise ModelError(f"{text!r}: layer sizes must be positive")
        return ModelSpec(ModelKind.MLP, tuple(Layer(LayerKind.DENSE, s) for s in sizes))
    if kind == ModelKind.CNN:
        layers = []
        for item in items:
            if item == "p":
                if not layers or layers[-1].kind != LayerKind.CONV:
                    raise ModelError(f"{text!r}: a pool ('p') must follow a convolution")
                layers.append(Layer(LayerKind.POOL))
            elif item.startswith("d") and item[1:].isdigit() and int(item[1:]) > 0:
                layers.append(Layer(LayerKind.DENSE, int(item[1:])))
            elif item.isdigit() and int(item) > 0:
                if layers and layers[-1].kind == LayerKind.DENSE:
                    raise ModelError(f"{text!r}: convolutions cannot follow dense layers")
                layers.append(Layer(LayerKind.CONV, int(item)))
            else:
                raise ModelError(f"{text!r}: {item!r} is not CHANNELS, 'p' (pool) or dUNITS")
        if not any(layer.kind == LayerKind.CONV for layer in layers):
            raise ModelError(f"{text!r}: a CNN needs at least one convolution (e.g. cnn:32,p,64,p)")
        return ModelSpec(ModelKind.CNN, tuple(layers))
    raise ModelError(f"unknown model {text!r}; use mlp:UNITS,… or cnn:CHANNELS|p|dUNITS,…")


@dataclass(frozen=True)
class Shapes:
    """Weight shapes of a built model: each entry (kind, weight shape); dense weights are (out, in), conv
    weights (out, in, 3, 3). ``feature_shape`` of each activation layer is used for channel counts."""

    weights: tuple[tuple[LayerKind, tuple[int, ...]], ...]
    input_shape: tuple[int, ...]


def weight_shapes(spec: ModelSpec, input_shape: tuple[int, ...], classes: int, expansion: int = 1) -> Shapes:
    """Trace the shapes through the model; error if an image shrinks below what a layer needs.

    ``expansion``: how many inputs the activation combines into one output (2 for the GLU family, k for maxout):
    every hidden layer then produces ``expansion ×`` the units (or channels) it names, and the activation reduces
    them back, so ``mlp:100`` with GLU has a 200-unit layer feeding 100 outputs."""
    shapes: list[tuple[LayerKind, tuple[int, ...]]] = []
    if spec.kind == ModelKind.MLP:
        width = int(np.prod(input_shape))
        for layer in spec.layers:
            shapes.append((LayerKind.DENSE, (expansion * layer.size, width)))
            width = layer.size
    else:
        if len(input_shape) != 3:
            raise ModelError(f"a CNN needs image input (C, H, W), got {input_shape}")
        channels, height, width_px = input_shape
        flat = None
        for layer in spec.layers:
            if layer.kind == LayerKind.CONV:
                height, width_px = height - KERNEL + 1, width_px - KERNEL + 1
                if height < 1 or width_px < 1:
                    raise ModelError(f"{spec}: the image is too small for this many convolutions ({input_shape})")
                shapes.append((LayerKind.CONV, (expansion * layer.size, channels, KERNEL, KERNEL)))
                channels = layer.size
            elif layer.kind == LayerKind.POOL:
                if flat is not None:
                    raise ModelError(f"{spec}: pooling cannot follow dense layers")
                height, width_px = height // 2, width_px // 2
                if height < 1 or width_px < 1:
                    raise ModelError(f"{spec}: the image is too small for this many poolings ({input_shape})")
            else:
                flat = flat if flat is not None else channels * height * width_px
                shapes.append((LayerKind.DENSE, (expansion * layer.size, flat)))
                flat = layer.size
        width = flat if flat is not None else channels * height * width_px
    shapes.append((LayerKind.DENSE, (classes, width)))
    return Shapes(tuple(shapes), tuple(input_shape))


def on_features(act: Activation, dim: int) -> Activation:
    """``act`` splitting the layer's feature dimension ``dim`` (-1 for dense layers, 1 for channels) if it is
    gated: the network decides where the units are, whatever ``dim`` the activation was given."""
    return Activation(act.spec, {**act.params, "dim": dim}) if act.spec.gated else act


def init_weights(shapes: Shapes, scheme: str, rng: np.random.Generator, dtype=np.float64) -> list[np.ndarray]:
    """Weights for every layer (biases start at 0), drawn from ``rng`` in layer order with one scheme
    (he_normal is N(0, 2/fan_in), untruncated, as in the from-scratch MLPs it is compared with). Fans
    count the receptive field for convolutions."""
    weights = []
    for _, shape in shapes.weights:
        receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
        family, _, kind = scheme.partition("_")
        variance = {"he": 2.0 / fan_in, "glorot": 2.0 / (fan_in + fan_out), "lecun": 1.0 / fan_in}[family]
        if kind == "normal":
            w = rng.normal(0.0, math.sqrt(variance), size=shape)
        else:
            bound = math.sqrt(3.0 * variance)
            w = rng.uniform(-bound, bound, size=shape)
        weights.append(w.astype(dtype))
    return weights


class RunStreams(NamedTuple):
    """A run's independent random streams (children of its seed's ``SeedSequence``)."""

    init: np.random.Generator  # the initial weights of actlab's own models
    order: np.random.Generator  # the order of the training examples, epoch after epoch
    noise: np.random.Generator  # stochastic activations (the NumPy engine)


def run_streams(seed: int) -> RunStreams:
    """Independent generators for one run: initial weights, data order, activation noise. Every engine
    and every grouping of runs use these, so a run's numbers do not depend on what it was trained with."""
    init, order, noise = np.random.SeedSequence(seed).spawn(3)
    return RunStreams(np.random.default_rng(init), np.random.default_rng(order), np.random.default_rng(noise))
