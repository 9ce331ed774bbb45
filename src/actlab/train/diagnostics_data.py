"""The diagnostics of a run's hidden layers as data: what the store keeps, reports plot and the terminal says
(measured by :mod:`actlab.train.diagnostics`; torch-free, so that the store and reports read them without it)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace

SATURATED_WARNING, DEAD_WARNING = 0.5, 0.1
OFF_SIDE_WARNING = 0.9  # the saturated share that warns for an activation flat on its whole negative side (relu)


@dataclass(frozen=True)
class LayerDiagnostics:
    """One hidden layer of one run at the end of one epoch (gradient figures: the weight layer feeding it)."""

    layer: int  # 1 = the first hidden layer
    mean: float
    std: float
    p1: float
    p50: float
    p99: float
    saturated: float  # fraction of unit-examples with |f'(z)| < threshold × max|f'| (NaN: f' is unbounded)
    dead: float  # fraction of units with f'(z) = 0 on every probe example
    mean_slope: float  # mean |f'(z)|
    histogram_edges: tuple[float, ...]
    histogram_counts: tuple[int, ...]
    grad_norm: float | None = None
    weight_norm: float | None = None
    update_ratio: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LayerDiagnostics:
        data = dict(data)
        if data.get("saturated") is None:  # NaN, written as null
            data["saturated"] = math.nan
        data["histogram_edges"] = tuple(data["histogram_edges"])
        data["histogram_counts"] = tuple(data["histogram_counts"])
        return cls(**data)


def threshold_text(thresholds: Iterable[float]) -> str:
    """The saturation thresholds runs were measured with, as a percentage: '5 %', or '1–5 %' where they differ."""
    values = sorted(set(thresholds))
    shown = [f"{100 * v:g}" for v in (values[0], values[-1])] if values else ["5"]
    return f"{shown[0]} %" if shown[0] == shown[-1] else f"{shown[0]}–{shown[-1]} %"


def warnings_for(layers: Sequence[LayerDiagnostics], off_side: bool = False) -> list[str]:
    """What a person should know about the last epoch's layers (at most one line for saturation and one for dead
    units, naming the layers), and what usually helps. ``off_side``: the activation is flat on its whole negative
    side (:func:`actlab.train.diagnostics.off_half_line`), where about half the unit-examples are saturated in a
    healthy network: it warns from :data:`OFF_SIDE_WARNING`, not :data:`SATURATED_WARNING`."""
    found = []
    limit = OFF_SIDE_WARNING if off_side else SATURATED_WARNING
    saturated = [f"layer {d.layer} {100 * d.saturated:.0f} %" for d in layers if d.saturated >= limit]
    if saturated:
        found.append(
            f"saturated units ({', '.join(saturated)}): normalise the input (--preprocessing minmax or standardize), "
            "use another init, or an activation that does not saturate"
        )
    dead = [f"layer {d.layer} {100 * d.dead:.0f} %" for d in layers if d.dead >= DEAD_WARNING]
    if dead:
        found.append(
            f"dead units ({', '.join(dead)}): normalise the input, lower the learning rate, use another init, or a "
            "leaky activation (leaky_relu, elu)"
        )
    return found


def summary_line(layers: Sequence[LayerDiagnostics]) -> str:
    """'layer 1: 97 % saturated, 0 % dead, |∇W| 0.031; layer 2: …' for the last epoch."""
    parts = []
    for d in layers:
        grad = f", |∇W| {d.grad_norm:.3g}" if d.grad_norm is not None else ""
        saturated = "— saturated (f′ unbounded)" if math.isnan(d.saturated) else f"{100 * d.saturated:.0f} % saturated"
        parts.append(f"layer {d.layer}: {saturated}, {100 * d.dead:.0f} % dead{grad}")
    return "; ".join(parts)


def last_epoch_means(runs: Sequence[Sequence[Sequence[LayerDiagnostics]]]) -> list[LayerDiagnostics]:
    """The last measured epoch's layers averaged over runs (the seeds of one configuration): saturated and dead
    fractions, mean slope and gradient norm; the other fields are the first run's."""
    lasts = [run[-1] for run in runs if run]
    if not lasts:
        return []
    out = []
    for i, first in enumerate(lasts[0]):
        same = [layers[i] for layers in lasts if i < len(layers)]
        grads = [d.grad_norm for d in same if d.grad_norm is not None]
        out.append(
            replace(
                first,
                saturated=sum(d.saturated for d in same) / len(same),
                dead=sum(d.dead for d in same) / len(same),
                mean_slope=sum(d.mean_slope for d in same) / len(same),
                grad_norm=sum(grads) / len(grads) if grads else None,
            )
        )
    return out
