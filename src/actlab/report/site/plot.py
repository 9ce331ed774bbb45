"""The small figure of an activation's page: f and f′ on [-4, 4] beside relu and gelu, as SVG (text kept as text,
so a figure is a few tens of kilobytes)."""

from __future__ import annotations

import io

import numpy as np

from actlab.activation import Activation, activation
from actlab.report.plots import activation_curves

REFERENCES = ("relu", "gelu")
GRID = np.linspace(-4.0, 4.0, 161)


def plot_svg(act: Activation, label: str) -> str:
    """f and f′ of ``act`` (solid) next to relu and gelu (thin, grey and dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 2.6))
    axes = fig.subplots(1, 2)
    for ref, style in zip(REFERENCES, ("-", "--"), strict=True):
        if act.spec.name == ref:
            continue
        curves = activation_curves(activation(ref), GRID)
        for ax, values in zip(axes, curves, strict=True):
            ax.plot(GRID, values, style, color="#999999", linewidth=1, label=ref)
    for ax, values, title in zip(axes, activation_curves(act, GRID), ("f(x)", "f′(x)"), strict=True):
        ax.plot(GRID, np.where(np.isfinite(values), values, np.nan), color="#1f5fa8", linewidth=1.8, label=label)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "actlab"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
