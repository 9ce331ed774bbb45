"""Figures of ``--diagnostics``: why an activation wins — saturated and dead units per layer over the epochs, the
gradient norm reaching each layer (log scale), the pre-activation histograms at the first and last epoch (Glorot &
Bengio 2010's view), and the activations side by side on the first hidden layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from actlab.report.plots import distinct_style, over_runs, save_figure, series_style, setup_text, titled_figure
from actlab.report.tables import group_by
from actlab.train.diagnostics_data import threshold_text
from actlab.train.metrics import RunResult


def _with_diagnostics(results: Sequence[RunResult]) -> list[RunResult]:
    return [r for r in results if r.diagnostics]


def _layer_series(runs: Sequence[RunResult], layer: int, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and the mean over runs of ``field`` of hidden layer ``layer`` (0-based) per epoch (NaN where missing)."""
    epochs = max(len(r.diagnostics) for r in runs)
    values = np.full((len(runs), epochs), np.nan)
    for i, run in enumerate(runs):
        for e, layers in enumerate(run.diagnostics):
            if layer < len(layers):
                value = getattr(layers[layer], field)
                values[i, e] = np.nan if value is None else value
    return np.arange(1, epochs + 1), over_runs(np.nanmean, values)


def _titled(title: str, results: Sequence[RunResult], meaning: str, size: tuple[float, float]):
    """A figure titled ``title`` whose subtitle gives the runs' setup and what its marks mean; its body to draw in."""
    return titled_figure(title, [setup_text(results), meaning], size)


def _panels(measured: Sequence[RunResult], label: Callable | None, title: str, meaning: str):
    """The runs by configuration, and a titled figure with one panel per configuration (three to a row)."""
    groups = group_by(measured, label)
    panels = len(groups)
    columns = min(3, panels)
    rows = -(-panels // columns)
    fig, body = _titled(title, measured, meaning, (4.2 * columns, 2.9 * rows + 0.8))
    axes = body.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    return groups, fig, list(axes.flat)


def _layer_colour(layer: int, layers: int) -> tuple:
    """Layers in order along viridis (colour-blind-safe, and light to dark reads as depth), the first dark blue."""
    from matplotlib import colormaps

    return colormaps["viridis"](0.9 * layer / max(1, layers - 1))


def _layer_legend(fig, axes) -> None:
    """One legend of the layers below the panels (per panel, it would hide the lines)."""
    ax = max(list(axes), key=lambda a: len(a.get_lines()))
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.subfigs[0].legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 10), fontsize=8)


def _threshold(runs: Sequence[RunResult]) -> str:
    return threshold_text(r.config.saturation_threshold for r in runs)


def _layers(runs: Sequence[RunResult]) -> int:
    return max(len(layers) for r in runs for layers in r.diagnostics)


def plot_units(results: Sequence[RunResult], path: str | Path, label: Callable | None = None) -> Path:
    """Per configuration: the saturated (solid) and dead (dashed) fraction of each hidden layer per epoch, mean over
    seeds."""
    measured = _with_diagnostics(results)
    groups, fig, axes = _panels(
        measured,
        label,
        "Saturated and dead units per hidden layer",
        f"Solid: saturated (|f′(z)| below {_threshold(measured)} of the largest |f′|) share of unit-examples on the "
        "probe set; dashed: dead units (f′ = 0 on every probe example). Mean over seeds.",
    )
    for ax, (name, runs) in zip(axes, groups.items(), strict=False):
        layers = _layers(runs)
        for layer in range(layers):
            epochs, saturated = _layer_series(runs, layer, "saturated")
            line = ax.plot(epochs, 100 * saturated, label=f"layer {layer + 1}", color=_layer_colour(layer, layers))[0]
            _, dead = _layer_series(runs, layer, "dead")
            ax.plot(epochs, 100 * dead, linestyle="--", color=line.get_color())
        ax.set(title=name, xlabel="epoch", ylabel="% of the layer", ylim=(-3, 103))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    _layer_legend(fig, axes)
    return save_figure(fig, path)


def plot_gradients(results: Sequence[RunResult], path: str | Path, label: Callable | None = None) -> Path:
    """Per configuration: each weight layer's gradient norm per epoch (mean over sampled steps and seeds), log scale:
    vanishing gradients show as the first layers falling below the last."""
    groups, fig, axes = _panels(
        _with_diagnostics(results),
        label,
        "Gradient norm ‖∂L/∂W‖ per weight layer",
        "Mean over the epoch's sampled steps and over seeds; log scale (a norm of 0 falls off it). First layers far "
        "below the last: vanishing gradients.",
    )
    for ax, (name, runs) in zip(axes, groups.items(), strict=False):
        layers = _layers(runs)
        for layer in range(layers):
            epochs, norms = _layer_series(runs, layer, "grad_norm")
            if np.all(np.isnan(norms)):
                continue
            ax.plot(epochs, norms, label=f"layer {layer + 1}", color=_layer_colour(layer, layers))
        ax.set_yscale("log")
        ax.set(title=name, xlabel="epoch", ylabel="gradient norm")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3, which="both")
    _layer_legend(fig, axes)
    return save_figure(fig, path)


def _shown_layers(count: int, most: int = 4) -> list[int]:
    """Up to ``most`` hidden layers (0-based), evenly spread from the first to the last."""
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def plot_histograms(results: Sequence[RunResult], path: str | Path, label: Callable | None = None) -> Path:
    """One row per configuration (its first seed), one panel per hidden layer (up to four, first to last), each on
    its own scale: the pre-activation distribution on the probe set after the first epoch (dashed) and the last
    (solid). The end bins hold the values beyond the range too (see :func:`actlab.train.diagnostics.histograms`), so
    a spike there is the tail's mass, which the subtitle says."""
    measured = _with_diagnostics(results)
    groups = group_by(measured, label)
    layers = _shown_layers(max(_layers(runs) for runs in groups.values()))
    fig, body = _titled(
        "Pre-activations z on the probe set",
        measured,
        "After the first epoch (dashed) and the last (solid); each configuration's first seed, each panel on its own "
        "scale (percentiles 1–99 widened by a tenth); the end bins also hold the values beyond (about 1 % each side).",
        (max(3.4 * len(layers), 7.0), 2.3 * len(groups) + 1.2),
    )
    axes = body.subplots(len(groups), len(layers), squeeze=False)
    for row, (name, runs) in zip(axes, groups.items(), strict=True):
        run = runs[0]
        for ax, layer in zip(row, layers, strict=True):
            for epoch, linestyle in ((run.diagnostics[0], "--"), (run.diagnostics[-1], "-")):
                if layer >= len(epoch) or not epoch[layer].histogram_counts:
                    continue
                d = epoch[layer]
                edges = np.asarray(d.histogram_edges)
                density = np.asarray(d.histogram_counts) / max(1, sum(d.histogram_counts)) / np.diff(edges)
                ax.stairs(density, edges, linestyle=linestyle, color=series_style(0)["color"])
            ax.set_title(f"{name}: layer {layer + 1}", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        row[0].set_ylabel("density")
    for ax in axes[-1]:
        ax.set_xlabel("pre-activation z")
    return save_figure(fig, path)


def plot_first_layer(results: Sequence[RunResult], path: str | Path, label: Callable | None = None) -> Path:
    """The configurations side by side on the first hidden layer: saturated fraction, dead fraction and gradient
    norm per epoch (mean over seeds)."""
    measured = _with_diagnostics(results)
    groups = group_by(measured, label)
    fig, body = _titled(
        "First hidden layer, by configuration",
        measured,
        f"Saturated: |f′(z)| below {_threshold(measured)} of the largest |f′|; dead: f′ = 0 on every probe example; "
        "gradient norm on a log scale (a norm of 0 — no gradient at all — falls off it). Mean over seeds.",
        (13, 4.4),
    )
    axes = body.subplots(1, 3)
    for i, (name, runs) in enumerate(groups.items()):
        style = distinct_style(i)
        for ax, field, scale in zip(axes, ("saturated", "dead", "grad_norm"), (100, 100, 1), strict=True):
            epochs, values = _layer_series(runs, 0, field)
            ax.plot(epochs, scale * values, label=name, **style)
    axes[0].set(title="saturated units", xlabel="epoch", ylabel="%", ylim=(-3, 103))
    axes[1].set(title="dead units", xlabel="epoch", ylabel="%", ylim=(-3, 103))
    axes[2].set(title="gradient norm", xlabel="epoch", ylabel="‖∂L/∂W₁‖")
    axes[2].set_yscale("log")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[2].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return save_figure(fig, path)


def diagnostics_figures(results: Sequence[RunResult], out: Path, label: Callable | None = None) -> dict[str, Path]:
    """Every diagnostics figure of runs measured with ``--diagnostics`` (none without), by file name."""
    if not _with_diagnostics(results):
        return {}
    return {
        "diagnostics_first_layer.png": plot_first_layer(results, out / "diagnostics_first_layer.png", label),
        "diagnostics_units.png": plot_units(results, out / "diagnostics_units.png", label),
        "diagnostics_gradients.png": plot_gradients(results, out / "diagnostics_gradients.png", label),
        "diagnostics_histograms.png": plot_histograms(results, out / "diagnostics_histograms.png", label),
    }
