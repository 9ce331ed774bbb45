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


def plot_activations(activations: Sequence[Activation], path: str | Path, lo: float = -5.0, hi: float = 5.0,
                     derivative: bool = False, points: int = 1001) -> Path:
    """The activations (and, with ``derivative``, their derivatives in a second panel) on one figure."""
    x = np.linspace(lo, hi, points)
    panels = 2 if derivative else 1
    fig = Figure(figsize=(6.5 * panels, 4.5), dpi=110, layout="constrained")
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
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
