"""Why an activation wins: per hidden layer and epoch, how its units behave on a fixed probe set and how gradients
flow (Glorot & Bengio 2010's view; keras-contrib's dead-ReLU rule).

On the probe set (the same training examples every epoch, chosen by the run's seed), for the pre-activations z of
each hidden layer: mean, std and percentiles (1, 50, 99), a histogram; the **saturated** fraction — unit-examples
where |f′(z)| is below ``threshold`` × the activation's largest |f′| (from the spec's hand-derived derivative, so it
means the same for every catalog and user activation); the **dead** fraction — units (features, or channels of a
convolution) whose f′ is 0 on every probe example; and the mean |f′(z)|. From training: each weight layer's gradient
norm averaged over sampled steps of the epoch, its norm at the epoch's end, and the update-to-weight ratio
‖W_end − W_start‖ / ‖W_start‖ of the epoch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import torch

from actlab.activation import Activation
from actlab.train.diagnostics_data import LayerDiagnostics

PROBE_SIZE = 1000
PROBE_STREAM = 7  # the probe's own random stream of the run's seed (weights, order and noise use 0–2)
HISTOGRAM_BINS = 40
QUANTILE_SAMPLE = 1 << 12  # values per model the percentiles are taken from: sorting them all costs more than an epoch
GRADIENT_SAMPLES = 20  # steps per epoch whose gradient norms are measured


def probe_indices(seed: int, n: int, size: int = PROBE_SIZE) -> np.ndarray:
    """The probe set of a run: ``size`` training examples (all, if fewer), fixed by its seed, sorted."""
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(PROBE_STREAM + 1)[PROBE_STREAM])
    return np.sort(rng.choice(n, size, replace=False))


UNBOUNDED_SLOPE = 10.0  # |f′| this many times larger far out than on [-10, 10]: it grows without bound


@functools.lru_cache(maxsize=256)
def _max_slope(text: str) -> float:
    from actlab.activation import activation
    from actlab.catalog.measure import GRID

    act = activation(text)
    with np.errstate(all="ignore"):
        slope = np.abs(np.asarray(act.derivative(GRID), dtype=np.float64))
    finite = np.isfinite(slope)
    if not finite.any():
        return math.nan
    largest = float(slope[finite].max())
    near = slope[finite & (np.abs(GRID) <= 10)]
    if np.isinf(slope).any() or (len(near) and largest > UNBOUNDED_SLOPE * float(near.max())):
        return math.inf
    return largest


def off_half_line(act: Activation, threshold: float) -> bool:
    """Whether the activation is below the saturation threshold on the whole negative half-line (relu, leaky_relu,
    relu6: a rectifier's off side). Its saturated share is then about the share of negative pre-activations — half the
    unit-examples in a healthy network —, not a sign of trouble until nearly every one is off."""
    from actlab.catalog.measure import GRID

    largest = max_slope(act)
    if not math.isfinite(largest):
        return False
    negative = GRID[(GRID <= -1e-3) & (GRID >= -1e3)]
    with np.errstate(all="ignore"):
        slope = np.abs(np.asarray(act.derivative(negative), dtype=np.float64))
    return bool(np.all(slope < threshold * largest))


def max_slope(act: Activation) -> float:
    """The activation's largest |f′| (at its parameters; a learnable one's at its initial values), measured on the
    catalog's dense grid out to ±1e8; ``inf`` where |f′| grows without bound (squared_relu, exponential): such an
    activation has no saturation to measure (its share is NaN, shown as —); NaN where no slope is measurable."""
    return _max_slope(act.text)


def layer_statistics(
    z: torch.Tensor, slope: torch.Tensor, largest: Sequence[float], threshold: float
) -> list[dict[str, float | tuple]]:
    """The probe statistics of one hidden layer for each model: ``z`` and ``slope`` (f′(z)) shaped (M, P, U, S) —
    models, probe examples, units, positions (1 for dense layers); ``largest``: each model's activation's largest
    |f′| (:func:`max_slope`)."""
    models = z.shape[0]
    flat, slopes = z.reshape(models, -1).double(), slope.reshape(models, -1).abs().double()
    mean, std = flat.mean(1), flat.std(1, correction=0)
    sample = _subsample(flat)
    quantiles = torch.quantile(sample, torch.tensor([0.01, 0.5, 0.99], dtype=sample.dtype, device=sample.device), dim=1)
    limits = [threshold * v if math.isfinite(v) else 0.0 for v in largest]  # no measurable slope: never saturated
    limit = torch.tensor(limits, dtype=slopes.dtype, device=slopes.device).view(models, 1)
    saturated = (slopes < limit).double().mean(1)
    unbounded = torch.tensor([v == math.inf for v in largest], device=slopes.device)
    saturated = torch.where(unbounded, torch.full_like(saturated, math.nan), saturated)
    dead = (slope.abs() == 0).all(dim=3).all(dim=1).double().mean(1)
    mean_slope = slopes.mean(1)
    rows = torch.stack([mean, std, *quantiles, saturated, dead, mean_slope]).T.tolist()
    bins = histograms(z.reshape(models, -1), [row[2] for row in rows], [row[4] for row in rows])
    out = []
    for (mu, sd, p1, p50, p99, sat, dd, ms), (edges, counts) in zip(rows, bins, strict=True):
        out.append(
            dict(
                mean=mu,
                std=sd,
                p1=p1,
                p50=p50,
                p99=p99,
                saturated=sat,
                dead=dd,
                mean_slope=ms,
                histogram_edges=edges,
                histogram_counts=counts,
            )
        )
    return out


def _subsample(flat: torch.Tensor) -> torch.Tensor:
    """At most ``QUANTILE_SAMPLE`` values of each row, drawn at fixed random positions (the same every call, so the
    epochs are comparable; a stride could alias with the units' layout and see only some of them)."""
    if flat.shape[1] <= QUANTILE_SAMPLE:
        return flat
    generator = torch.Generator().manual_seed(PROBE_STREAM)
    index = torch.randint(0, flat.shape[1], (QUANTILE_SAMPLE,), generator=generator).to(flat.device)
    return flat[:, index]


def histograms(flat: torch.Tensor, p1: Sequence[float], p99: Sequence[float]) -> list[tuple[tuple, tuple]]:
    """Each row's (edges, counts): ``HISTOGRAM_BINS`` bins over its [p1, p99] widened by a tenth each side, values
    beyond (infinities too) counted in the end bins, NaN left out; no bins where p1 or p99 is not finite. All rows in
    one pass (a row at a time costs more than the epoch on a CPU)."""
    models, bins = flat.shape[0], HISTOGRAM_BINS
    ranges = []
    for lo, hi in zip(p1, p99, strict=True):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            ranges.append(None)
            continue
        pad = 0.1 * (hi - lo) or max(abs(lo), 1.0) * 0.1
        ranges.append((lo - pad, hi + pad))
    lows = torch.tensor([r[0] if r else 0.0 for r in ranges], dtype=torch.float64).view(models, 1)
    scales = torch.tensor([bins / (r[1] - r[0]) if r else 1.0 for r in ranges], dtype=torch.float64).view(models, 1)
    # float32 is exact enough to place a value in one of 40 bins; in place, as this runs over every unit-example
    position = (flat.float() - lows.to(flat.device, torch.float32)).mul_(scales.to(flat.device, torch.float32))
    kept = ~position.isnan()
    which = position.nan_to_num_(posinf=bins - 1.0, neginf=0.0).floor_().clamp_(0, bins - 1).long()
    which += bins * torch.arange(models, device=flat.device).view(-1, 1)
    counts = torch.bincount(which[kept], minlength=models * bins).view(models, bins).tolist()
    return [
        ((), ())
        if r is None
        else (tuple(float(e) for e in np.linspace(r[0], r[1], bins + 1)), tuple(int(c) for c in counts[m]))
        for m, r in enumerate(ranges)
    ]


class GradientMeter:
    """Gradient norms per weight layer and model over the sampled steps of an epoch, and the epoch's weight changes.
    ``weights``: each layer's weight tensor shaped with the models first (M, …)."""

    def __init__(self, weights: Sequence[torch.Tensor], models: int, steps_per_epoch: int) -> None:
        self.weights, self.models = list(weights), models
        self.every = max(1, steps_per_epoch // GRADIENT_SAMPLES)
        device = self.weights[0].device if self.weights else None
        self.sums = torch.zeros(len(self.weights), models, dtype=torch.float64, device=device)
        self.samples = 0
        self.step = 0
        self.start: list[torch.Tensor] = []

    def begin_epoch(self) -> None:
        self.sums.zero_()
        self.samples = self.step = 0
        self.start = [w.detach().clone() for w in self.weights]

    def wants(self) -> bool:
        """Whether this step's gradients are measured (then :meth:`add` is called with them); advances the count."""
        wanted = self.step % self.every == 0
        self.step += 1
        if wanted:
            self.samples += 1
        return wanted

    def add(self, layer: int, gradient: torch.Tensor) -> None:
        self.sums[layer] += torch.linalg.vector_norm(gradient.detach().reshape(self.models, -1), dim=1).double()

    def end_epoch(self) -> list[list[tuple[float, float, float]]]:
        """For each model, each layer's (mean gradient norm, weight norm, update ratio)."""
        if not self.weights:
            return [[] for _ in range(self.models)]
        norms, ratios = [], []
        for w, w0 in zip(self.weights, self.start, strict=True):
            start = torch.linalg.vector_norm(w0.reshape(self.models, -1), dim=1).double()
            norms.append(torch.linalg.vector_norm(w.detach().reshape(self.models, -1), dim=1).double())
            change = torch.linalg.vector_norm((w.detach() - w0).reshape(self.models, -1), dim=1).double()
            ratios.append(change / start.clamp_min(1e-300))
        grads = (self.sums / max(1, self.samples)).T.tolist()
        weight_norms = torch.stack(norms).T.tolist()
        update = torch.stack(ratios).T.tolist()
        return [
            list(zip(grads[m], weight_norms[m], update[m], strict=True)) if self.samples else []
            for m in range(self.models)
        ]


def assemble(
    statistics: Sequence[Sequence[dict]], gradients: Sequence[Sequence[tuple[float, float, float]]]
) -> list[list[LayerDiagnostics]]:
    """Per model, its layers' diagnostics: ``statistics[layer][model]`` from :func:`layer_statistics`,
    ``gradients[model][layer]`` from :meth:`GradientMeter.end_epoch` (the weight layer feeding each hidden layer)."""
    models = len(statistics[0]) if statistics else 0
    out = []
    for m in range(models):
        layers = []
        for i, per_model in enumerate(statistics):
            grad = gradients[m][i] if m < len(gradients) and i < len(gradients[m]) else (None, None, None)
            layers.append(
                LayerDiagnostics(
                    layer=i + 1, **per_model[m], grad_norm=grad[0], weight_norm=grad[1], update_ratio=grad[2]
                )
            )
        out.append(layers)
    return out
