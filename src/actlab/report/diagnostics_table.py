"""The ``--diagnostics`` table of a report: per configuration, its first and last hidden layers (every layer where
there are at most three) after the first and the last epoch — saturated and dead units, the pre-activations' mean
and standard deviation, and the gradient norm reaching the layer's weights — each a mean over seeds."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from actlab.report.tables import group_by, markdown_text
from actlab.train.diagnostics_data import LayerDiagnostics, threshold_text
from actlab.train.metrics import RunResult

HEADERS = (
    "configuration",
    "layer",
    "saturated % (first → last epoch)",
    "dead % (last)",
    "z mean ± std (last)",
    "‖∂L/∂W‖ (first → last epoch)",
)


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else None


def _shown(layers: int) -> list[int]:
    """The 0-based hidden layers the table shows: all up to three, else the first and the last."""
    return list(range(layers)) if layers <= 3 else [0, layers - 1]


def _at(runs: Sequence[RunResult], epoch: int, layer: int, field: str) -> float | None:
    """``field`` of hidden layer ``layer`` at ``epoch`` (0 first, -1 last) averaged over the runs that measured it."""
    picked: list[LayerDiagnostics] = [
        r.diagnostics[epoch][layer] for r in runs if r.diagnostics and layer < len(r.diagnostics[epoch])
    ]
    return _mean([getattr(d, field) for d in picked])


def _number(value: float | None, scale: float = 1.0, digits: str = ".0f") -> str:
    return "—" if value is None else format(scale * value, digits)


def diagnostics_rows(results: Sequence[RunResult], label: Callable | None = None) -> list[list[str]]:
    """The table's cells, configurations in the order given; none where no run was measured."""
    rows = []
    for name, runs in group_by([r for r in results if r.diagnostics], label).items():
        layers = max(len(r.diagnostics[-1]) for r in runs)
        for layer in _shown(layers):
            first, last = (_at(runs, 0, layer, "saturated"), _at(runs, -1, layer, "saturated"))
            grads = (_at(runs, 0, layer, "grad_norm"), _at(runs, -1, layer, "grad_norm"))
            mean, std = _at(runs, -1, layer, "mean"), _at(runs, -1, layer, "std")
            rows.append(
                [
                    name,
                    f"{layer + 1} of {layers}",
                    f"{_number(first, 100)} → {_number(last, 100)}",
                    _number(_at(runs, -1, layer, "dead"), 100),
                    f"{_number(mean, digits='.3g')} ± {_number(std, digits='.3g')}",
                    f"{_number(grads[0], digits='.3g')} → {_number(grads[1], digits='.3g')}",
                ]
            )
    return rows


def diagnostics_markdown(results: Sequence[RunResult], label: Callable | None = None) -> str:
    """A Markdown section with the table, or nothing where no run was measured with ``--diagnostics``."""
    rows = diagnostics_rows(results, label)
    if not rows:
        return ""
    threshold = threshold_text(r.config.saturation_threshold for r in results if r.diagnostics)
    lines = [
        "**Diagnostics** per hidden layer, mean over seeds, on each run's probe set (1,000 training examples): "
        f"saturated = unit-examples with |f′(z)| below {threshold} of the activation's largest "
        "|f′|; dead = units with f′ = 0 on every probe example; z = the pre-activations; ‖∂L/∂W‖ = the gradient "
        "norm of the weights feeding the layer, averaged over the epoch's sampled steps.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    lines += ["| " + " | ".join(markdown_text(c, cell=True) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
