"""Figures, drawn with matplotlib's object API (no global pyplot state) and written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from actlab.activation import Activation
from actlab.notation import label
from actlab.report.tables import group_by


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


def gated_inputs(act: Activation) -> str:
    """How a gated activation's inputs were made from the one x of a plot, e.g. ' (inputs x, x)' or
    ' (inputs x, -0.5x)'; empty for elementwise activations. Its derivative is drawn with respect to the first."""
    spec = act.spec
    if not spec.gated:
        return ""
    pieces = spec.n_pieces(act.params)
    one = np.ones(1)
    slopes = [float(c[0]) for c in spec.demo_chunks(one, pieces)] if spec.demo_chunks else [1.0] * pieces
    return " (inputs " + ", ".join("x" if v == 1 else f"{v:g}x" for v in slopes) + "; f' w.r.t. the first)"


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` through a temporary file, so a crash never leaves a partial image."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=fig.dpi)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's file is private; the figure should not be
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _legend(ax, **options) -> None:
    """A legend, if anything on the axes has a label: beside the axes, where it covers no curve."""
    if ax.get_legend_handles_labels()[0]:
        options.pop("loc", None)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False, **options)


# Okabe & Ito's colour-blind-safe palette; after its eight colours, the line style changes, so that no two of
# 32 series look alike (and neighbours such as relu and leaky_relu never share a hue).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
LINE_STYLES = ("-", "--", "-.", ":")


def series_style(i: int) -> dict:
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": LINE_STYLES[(i // len(PALETTE)) % len(LINE_STYLES)]}


def _color_axes(ax, series: int) -> None:
    """Distinct colours (and, beyond eight, line styles) for ``series`` series."""
    from cycler import cycler

    styles = [series_style(i) for i in range(max(series, 1))]
    ax.set_prop_cycle(cycler(color=[s["color"] for s in styles], linestyle=[s["linestyle"] for s in styles]))


def plot_activations(
    activations: Sequence[Activation],
    path: str | Path,
    lo: float = -5.0,
    hi: float = 5.0,
    derivative: bool = False,
    points: int = 1001,
) -> Path:
    """The activations (and, with ``derivative``, their derivatives in a second panel) on one figure."""
    x = np.linspace(lo, hi, points)
    panels = 2 if derivative else 1
    fig = Figure(figsize=(6.5 * panels, 4.5), dpi=110, layout="constrained")
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    for ax in axes:
        _color_axes(ax, len(activations))
    for act in activations:
        y, d = activation_curves(act, x)
        name = label(act) + gated_inputs(act)
        line = axes[0].plot(x, y, label=name, linewidth=1.6)[0]
        if derivative:
            axes[1].plot(x, d, color=line.get_color(), linestyle=line.get_linestyle(), linewidth=1.6, label=name)
    titles = ["f(x)", "f'(x)"]
    for ax, title in zip(axes, titles[: len(axes)], strict=True):
        ax.axhline(0.0, color="0.75", linewidth=0.8)
        ax.axvline(0.0, color="0.75", linewidth=0.8)
        ax.set_title(title)
        ax.set_xlabel("x")
        ax.set_xlim(lo, hi)
        ax.grid(True, alpha=0.3)
    _legend(axes[-1], fontsize=8)
    return save_figure(fig, path)


def _curves(runs, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and a (runs, epochs) array of ``field``; runs that stopped early are NaN-padded."""
    length = max(len(r.history) for r in runs)
    values = np.full((len(runs), length), np.nan)
    for i, run in enumerate(runs):
        values[i, : len(run.history)] = [getattr(h, field) for h in run.history]
    return np.arange(1, length + 1), values


def _finish(ax, xlabel: str, ylabel: str, title: str, legend_loc: str, which: str = "major", ncols: int = 2) -> None:
    if xlabel == "epoch":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3, which=which)
    _legend(ax, fontsize=8, loc=legend_loc, ncols=ncols)


def _curve_figure(groups: dict) -> tuple[Figure, object]:
    fig = Figure(figsize=(7.5, 4.8), dpi=110, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    _color_axes(ax, len(groups))
    return fig, ax


def plot_accuracy_curves(results, path: str | Path, label=None) -> Path:
    """Test accuracy per epoch: the mean over seeds, with a band from the lowest to the highest run."""
    groups = group_by(results, label)
    fig, ax = _curve_figure(groups)
    for label_, runs in groups.items():
        epochs, acc = _curves(runs, "test_accuracy")
        with np.errstate(all="ignore"):
            mean = np.nanmean(acc, axis=0) * 100
        line = ax.plot(epochs, mean, label=label_, linewidth=1.5)[0]
        if len(runs) > 1:
            ax.fill_between(
                epochs,
                np.nanmin(acc, axis=0) * 100,
                np.nanmax(acc, axis=0) * 100,
                color=line.get_color(),
                alpha=0.15,
                linewidth=0,
            )
    _finish(ax, "epoch", "test accuracy (%)", "Test accuracy per epoch (mean over seeds; band: min–max)", "lower right")
    return save_figure(fig, path)


def plot_loss_curves(results, path: str | Path, label=None) -> Path:
    """Train (dashed) and test (solid) loss per epoch, mean over seeds, log scale."""
    groups = group_by(results, label)
    fig, ax = _curve_figure(groups)
    for label_, runs in groups.items():
        epochs, test = _curves(runs, "test_loss")
        _, train = _curves(runs, "train_loss")
        with np.errstate(all="ignore"):
            line = ax.plot(epochs, np.nanmean(test, axis=0), label=label_, linewidth=1.5)[0]
            ax.plot(epochs, np.nanmean(train, axis=0), color=line.get_color(), linestyle="--", linewidth=1.0)
    ax.set_yscale("log")
    regression = bool(results) and results[0].config.regression
    _finish(
        ax,
        "epoch",
        "mean squared error" if regression else "cross-entropy",
        "Loss per epoch (solid: test, dashed: train; mean over seeds)",
        "upper right",
        which="both",
    )
    return save_figure(fig, path)


def plot_accuracy_vs_time(rows, path: str | Path) -> Path:
    """Final test accuracy (mean ± std) against seconds per epoch: which activation buys accuracy at what cost."""
    fig, ax = _curve_figure({row.configuration: row for row in rows})
    for row in rows:
        acc, spe = row.final_test_accuracy, row.seconds_per_epoch
        if acc.mean is None or spe.mean is None:
            continue
        ax.errorbar(
            [spe.mean],
            [100 * acc.mean],
            yerr=[100 * acc.std],
            xerr=[spe.std],
            fmt="o",
            capsize=3,
            label=row.configuration,
        )
    _finish(
        ax,
        "seconds per epoch (per model)",
        "final test accuracy (%)",
        "Accuracy against cost (mean ± std over seeds)",
        "best",
    )
    return save_figure(fig, path)


def _variables(results) -> dict[str, list[float]]:
    """Numeric settings and activation parameters that take several values across the runs."""
    found: dict[str, set] = {}
    for result in results:
        config = result.config
        for key in ("lr", "momentum", "flooding", "weight_decay", "batch_size"):
            value = getattr(config, key)
            if isinstance(value, (int, float)):
                found.setdefault(key, set()).add(float(value))
        act = config.activation_object()
        for key, value in act.params.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found.setdefault(f"{act.name}.{key}", set()).add(float(value))
    return {k: sorted(v) for k, v in found.items() if len(v) > 1}


def _value(config, variable: str):
    if "." in variable:
        name, key = variable.split(".", 1)
        act = config.activation_object()
        return float(act.params[key]) if act.name == name else None
    value = getattr(config, variable)
    return None if value is None or not config.applies(variable) else float(value)


def _other_settings(config, variable: str, swept: Sequence[str]) -> str:
    """What a run's configuration is apart from ``variable``: the activation (for an activation parameter, with
    that parameter left out) and the other swept settings, e.g. 'hard_swish, lr=0.5'."""
    act = config.activation_object()
    if "." in variable:
        key = variable.split(".", 1)[1]
        act = Activation(act.spec, {**act.params, key: act.spec.param(key).default})
    parts = [label(act)] if "activation" in swept or "." in variable or not swept else []
    parts += [
        f"{k}={getattr(config, k)}" for k in swept if k not in ("seed", "activation", variable) and config.applies(k)
    ]
    return ", ".join(parts) or label(act)


def plot_parameter_curves(results, directory: str | Path, label=None) -> dict[str, Path]:
    """One figure per swept numeric variable (e.g. lr, flooding, hard_swish.n): final test accuracy against
    its value, one line per combination of the other swept settings (never pooled over them), mean ± standard
    deviation over seeds."""
    from actlab.report.tables import swept_settings

    directory = Path(directory)
    swept = swept_settings(results)
    written = {}
    for variable in _variables(results):
        lines: dict[str, dict[float, list[float]]] = {}
        for result in results:
            x = _value(result.config, variable)
            if x is None or result.summary.final_test_accuracy is None:
                continue
            other = _other_settings(result.config, variable, swept)
            lines.setdefault(other, {}).setdefault(x, []).append(100 * result.summary.final_test_accuracy)
        fig, ax = _curve_figure(lines)
        for name, points in lines.items():
            xs = sorted(points)
            spread = [np.std(points[v], ddof=1) if len(points[v]) > 1 else 0.0 for v in xs]
            ax.errorbar(xs, [np.mean(points[v]) for v in xs], yerr=spread, marker="o", capsize=3, label=name)
        if all(float(v).is_integer() for v in _variables(results)[variable]):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _finish(
            ax,
            variable,
            "final test accuracy (%)",
            f"Final test accuracy against {variable}\n(one line per setting of the others; mean, bars: ± std "
            "over seeds)",
            "best",
            ncols=1,
        )
        written[variable] = save_figure(fig, directory / f"curve_{variable}.png")
    return written
