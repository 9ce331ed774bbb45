"""Cheap proxies that rank candidates before any training (NumPy only, float64, fixed seeds: the same numbers on
every machine).

- **Output distribution** under x ~ N(0, 1): the mean, the variance and the fraction of outputs near zero
  (|f(x)| < 0.01) — a function that maps most inputs to 0 passes little signal.
- **Gradient ratio** through a deep random network at initialisation: a :data:`DEPTH`-layer MLP of width
  :data:`WIDTH` with He-normal weights (W ~ N(0, 2/fan_in)) applied to N(0, 1) inputs; a fixed random direction is
  backpropagated from the last layer with the activation's exact derivative, and the ratio is ‖∂L/∂W₁‖ / ‖∂L/∂W_L‖.
  Near 1 the gradient flows through depth; sigmoid's vanishes (5e-10), relu's stays near 1 (1.4) (Glorot & Bengio 2010;
  He et al. 2015). Non-finite values anywhere in the network mark the candidate unstable.

Candidates are ranked by ``|log10 ratio|``, then by ``|log10 variance|`` (closest to 1 first).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

DEPTH = 20
WIDTH = 64
BATCH = 128
NEAR_ZERO = 0.01
SEED = 20231231

Function = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Proxies:
    mean: float
    variance: float
    near_zero: float
    gradient_ratio: float

    def rank_key(self) -> tuple[float, float]:
        """Smaller is better: the gradient ratio's distance from 1 in decades, then the variance's."""
        variance = abs(math.log10(self.variance)) if self.variance > 0 else math.inf
        return abs(math.log10(self.gradient_ratio)) if self.gradient_ratio > 0 else math.inf, variance

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def output_stats(values: np.ndarray) -> tuple[float, float, float]:
    """Mean, variance and the fraction with |f| < :data:`NEAR_ZERO` of a function's values on N(0, 1) samples."""
    return float(np.mean(values)), float(np.var(values)), float(np.mean(np.abs(values) < NEAR_ZERO))


@dataclass(frozen=True)
class DeepNet:
    """The fixed random network of the gradient proxy (its weights, inputs and backpropagated direction)."""

    weights: tuple[np.ndarray, ...]
    inputs: np.ndarray
    direction: np.ndarray

    @property
    def transposed(self) -> tuple[np.ndarray, ...]:
        """The weights transposed, contiguous (a product with a transposed view is 100× slower in some BLAS
        builds when the cores are busy)."""
        return tuple(np.ascontiguousarray(w.T) for w in self.weights)


def deep_net(depth: int = DEPTH, width: int = WIDTH, batch: int = BATCH, seed: int = SEED) -> DeepNet:
    rng = np.random.default_rng(seed)
    weights = tuple(rng.normal(0.0, math.sqrt(2.0 / width), (width, width)) for _ in range(depth))
    return DeepNet(weights, rng.normal(size=(batch, width)), rng.normal(size=(batch, width)))


def gradient_ratio(forward: Function, slope: Function, net: DeepNet) -> float:
    """‖∂L/∂W₁‖ / ‖∂L/∂W_L‖ in ``net`` for the activation ``forward`` with derivative ``slope`` (NaN where any value
    in the network is not finite, or the last layer's gradient is 0)."""
    with np.errstate(all="ignore"):
        activations, pre = [net.inputs], []
        for weight in net.weights:
            pre.append(activations[-1] @ weight)
            activations.append(np.broadcast_to(forward(pre[-1]), pre[-1].shape))
            if not np.all(np.isfinite(activations[-1])):
                return math.nan
        upstream, norms, transposed = net.direction, [], net.transposed
        for layer in reversed(range(len(net.weights))):
            delta = upstream * np.broadcast_to(slope(pre[layer]), pre[layer].shape)
            norms.append(float(np.linalg.norm(np.ascontiguousarray(activations[layer].T) @ delta)))
            upstream = delta @ transposed[layer]
        first, last = norms[-1], norms[0]
    if not (math.isfinite(first) and math.isfinite(last)) or last == 0.0:
        return math.nan
    return first / last
