"""Figures, drawn with matplotlib's object API (no global pyplot state) and written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from actlab.activation import Activation
from actlab.catalog.parse import label


def activation_curves(act: Activation, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f and f' over the 1-D grid ``x``. Gated activations are drawn on their demo inputs (the grid fed to
    every chunk, or the spec's own demo), with the derivative with respect to the first chunk."""
    spec = act.spec
    if not spec.gated:
        return act(x), act.derivative(x)
    pieces = spec.n_pieces(act.params)
    chunks = spec.demo_chunks(x, pieces) if spec.demo_chunks else [x] * pieces
    flat = Activation(spec, {**act.params, "dim": -1})
    joined = np.concatenate(chunks)
    return flat(joined), flat.derivative(joined)[: x.size]


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` through a temporary file, so a crash never leaves a partial image."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=fig.dpi)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _color_axes(ax, series: int) -> None:
    """Distinct colours for up to 20 series (matplotlib's default cycle repeats after 10)."""
    if series > 10:
        from matplotlib import colormaps

        ax.set_prop_cycle(color=[colormaps["tab20"](i % 20) for i in range(series)])


def plot_activations(activations: Sequence[Activation], path: str | Path, lo: float = -5.0, hi: float = 5.0,
                     derivative: bool = False, points: int = 1001) -> Path:
    """The activations (and, with ``derivative``, their derivatives in a second panel) on one figure."""
    x = np.linspace(lo, hi, points)
    panels = 2 if derivative else 1
    fig = Figure(figsize=(6.5 * panels, 4.5), dpi=110, layout="constrained")
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    for ax in axes:
        _color_axes(ax, len(activations))
    for act in activations:
        y, d = activation_curves(act, x)
        line = axes[0].plot(x, y, label=label(act), linewidth=1.6)[0]
        if derivative:
            axes[1].plot(x, d, color=line.get_color(), linewidth=1.6, label=label(act))
    titles = ["f(x)", "f'(x)"]
    for ax, title in zip(axes, titles):
        ax.axhline(0.0, color="0.75", linewidth=0.8)
        ax.axvline(0.0, color="0.75", linewidth=0.8)
        ax.set_title(title)
        ax.set_xlabel("x")
        ax.set_xlim(lo, hi)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left")
    return save_figure(fig, path)


def _by_activation(results) -> dict[str, list]:
    groups: dict[str, list] = {}
    for result in results:
        groups.setdefault(result.config.activation_label(), []).append(result)
    return groups


def _curves(runs, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and a (runs, epochs) array of ``field``; runs that stopped early are NaN-padded."""
    length = max(len(r.history) for r in runs)
    values = np.full((len(runs), length), np.nan)
    for i, run in enumerate(runs):
        values[i, : len(run.history)] = [getattr(h, field) for h in run.history]
    return np.arange(1, length + 1), values


def _curve_figure(groups: dict) -> tuple[Figure, object]:
    fig = Figure(figsize=(7.5, 4.8), dpi=110, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    _color_axes(ax, len(groups))
    return fig, ax


def plot_accuracy_curves(results, path: str | Path) -> Path:
    """Test accuracy per epoch: the mean over seeds, with a band from the lowest to the highest run."""
    groups = _by_activation(results)
    fig, ax = _curve_figure(groups)
    for label_, runs in groups.items():
        epochs, acc = _curves(runs, "test_accuracy")
        with np.errstate(all="ignore"):
            mean = np.nanmean(acc, axis=0) * 100
        line = ax.plot(epochs, mean, label=label_, linewidth=1.5)[0]
        if len(runs) > 1:
            ax.fill_between(epochs, np.nanmin(acc, axis=0) * 100, np.nanmax(acc, axis=0) * 100,
                            color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Test accuracy per epoch (mean over seeds; band: min–max)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right", ncols=2)
    return save_figure(fig, path)


def plot_loss_curves(results, path: str | Path) -> Path:
    """Train (dashed) and test (solid) loss per epoch, mean over seeds, log scale."""
    groups = _by_activation(results)
    fig, ax = _curve_figure(groups)
    for label_, runs in groups.items():
        epochs, test = _curves(runs, "test_loss")
        _, train = _curves(runs, "train_loss")
        with np.errstate(all="ignore"):
            line = ax.plot(epochs, np.nanmean(test, axis=0), label=label_, linewidth=1.5)[0]
            ax.plot(epochs, np.nanmean(train, axis=0), color=line.get_color(), linestyle="--", linewidth=1.0)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_title("Loss per epoch (solid: test, dashed: train; mean over seeds)")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right", ncols=2)
    return save_figure(fig, path)
