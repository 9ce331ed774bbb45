"""Figures, drawn with matplotlib's object API (no global pyplot state) and written atomically.

A figure of runs says what it shows in a bold title, the runs' setup in a grey subtitle (dataset, model, optimizer,
learning rate, batch, epochs, seeds; a setting that varies across the runs is named as swept) and what its lines,
bands and bars mean. Curves of more than :data:`SMALL_MULTIPLES_BEYOND` configurations become small multiples (one
panel each, with the baseline or the best in grey behind), so that a dozen activations stay readable.

Each figure has a builder that returns the :class:`~matplotlib.figure.Figure` (``*_figure``: what tests inspect)
and a ``plot_*`` function that writes it.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import textwrap
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from actlab import notation
from actlab.activation import Activation
from actlab.models import user_models
from actlab.notation import label
from actlab.report.stats import Estimate
from actlab.report.tables import Label, Row, activation_label, group_by, swept_settings
from actlab.train.config import stored_label


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


# Okabe & Ito's colour-blind-safe palette, its yellow (faint on white) last; after its eight colours, the line style
# changes, so that no two of 32 series look alike (and neighbours such as relu and leaky_relu never share a hue).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
LINE_STYLES = ("-", "--", "-.", ":")
SMALL_MULTIPLES_BEYOND = 8  # more series than this: one panel per series instead of one crowded axes
HIGHLIGHT = {"color": PALETTE[0], "linestyle": "-"}  # a small multiple's own series
CONTEXT = {"color": "0.62", "linestyle": "-"}  # the series drawn behind every other panel
SIGNIFICANCE = 0.05  # Holm-adjusted p below this: a difference the summary figure highlights


def series_style(i: int) -> dict:
    """Series ``i``'s colour, solid for the palette's first eight (for figures whose line styles mean something)."""
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": LINE_STYLES[(i // len(PALETTE)) % len(LINE_STYLES)]}


def distinct_style(i: int) -> dict:
    """Series ``i``'s colour and a line style of its own as well, so that lines that overlap stay apart and the
    figure reads in grey too: a distinct pair for the first 32 series."""
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": LINE_STYLES[(i + i // len(PALETTE)) % len(LINE_STYLES)]}


def _color_axes(ax, series: int) -> None:
    """Distinct colours (and, beyond eight, line styles) for ``series`` series."""
    from cycler import cycler

    styles = [series_style(i) for i in range(max(series, 1))]
    ax.set_prop_cycle(cycler(color=[s["color"] for s in styles], linestyle=[s["linestyle"] for s in styles]))


# --- titles: what a figure shows, from which runs, and what its marks mean


def titled_figure(title: str, subtitle: Sequence[str], size: tuple[float, float]) -> tuple[Figure, SubFigure]:
    """A figure with a bold ``title`` and a grey ``subtitle`` (its lines wrapped to the figure's width) above a
    body to draw in. The body is a subfigure so that constrained layout makes room for both titles."""
    fig = Figure(figsize=size, dpi=110, layout="constrained")
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=11)
    body = fig.subfigures(1, 1)
    width = max(40, int(size[0] * 15))  # characters of 8.5 pt text per line
    lines = [textwrap.fill(line, width) for line in subtitle if line]
    if lines:
        body.suptitle("\n".join(lines), x=0.01, ha="left", fontsize=8.5, color="0.3")
    return fig, body


def subtitle(fig: Figure) -> str:
    """The grey subtitle of a figure made by :func:`titled_figure` (empty if it has none)."""
    return " ".join(" ".join(sub.get_suptitle().split()) for sub in fig.subfigs)


def _short(text: str) -> str:
    """A dataset or model reference without its folders, for a title: 'npz:/data/x.npz' -> 'npz:x.npz'."""
    return re.sub(r"[^\s:]*[/\\]", "", user_models.display(text))


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _setting(configs: Sequence, name: str, show: Callable[[Any], str], short: Callable[[Any], str] = _number) -> str:
    """``show(value)`` where every run that has setting ``name`` has the same value, else 'name swept (a, b, …)'."""
    values = list(dict.fromkeys(getattr(c, name) for c in configs if c.applies(name)))
    if len(values) <= 1:
        return show(values[0]) if values else ""
    listed = ", ".join(short(v) for v in values[:4]) + (", …" if len(values) > 4 else "")
    return f"{name} swept ({listed})"


# Settings the setup line names itself (or that identify a run rather than set it up).
NAMED = frozenset(
    {"dataset", "model", "optimizer", "momentum", "lr", "schedule", "batch_size", "epochs", "weight_decay"}
    | {"flooding", "seed", "activation", "definition", "unchecked", "model_sha256", "data_sha256"}
    | {"preprocessing", "init", "dtype", "train_subset", "test_subset"}
)


def setup_text(results: Sequence) -> str:
    """The runs' setup in one line, e.g. 'digits · mlp:100,50 · sgd · lr 0.1 · batch 50 · 20 epochs · 3 seeds'
    (a weight decay, flooding, schedule, preprocessing, init, dtype or subset where not the default); a setting that
    varies across the runs is 'lr swept (0.05, 0.2)', and other swept settings are listed at the end."""
    configs = [r.config for r in results]
    if not configs:
        return ""
    seeds = len({c.seed for c in configs})
    parts = [
        _setting(configs, "dataset", _short, _short),
        _setting(configs, "model", _short, _short),
        _setting(configs, "optimizer", str),
        _setting(configs, "momentum", lambda v: f"μ {v:g}"),
        _setting(configs, "lr", lambda v: f"lr {v:g}"),
        _setting(configs, "schedule", lambda v: "" if v == "constant" else f"{v} schedule"),
        _setting(configs, "batch_size", lambda v: f"batch {v}"),
        _setting(configs, "epochs", lambda v: f"{v} epochs"),
        _setting(configs, "weight_decay", lambda v: f"weight decay {v:g}" if v else ""),
        _setting(configs, "flooding", lambda v: "" if v is None else f"flooding {v:g}", lambda v: f"{v or 0:g}"),
        _setting(configs, "preprocessing", lambda v: "" if v == "minmax" else f"preprocessing {v}"),
        _setting(configs, "init", lambda v: "" if v == "auto" else f"init {v}"),
        _setting(configs, "dtype", lambda v: "" if v == "float32" else str(v)),
        _setting(configs, "train_subset", lambda v: "" if v is None else f"{v:,} train examples", str),
        _setting(configs, "test_subset", lambda v: "" if v is None else f"{v:,} test examples", str),
        f"{seeds} seed{'s' if seeds > 1 else ''}",
    ]
    others = [k for k in swept_settings(results) if k not in NAMED]
    if others:
        parts.append("also swept: " + ", ".join(others))
    return " · ".join(p for p in parts if p)


# --- configurations in rank order, as the tables rank them


def _regression(results: Sequence) -> bool:
    return bool(results) and results[0].config.regression


def _final(result, regression: bool) -> float | None:
    """The value a run is ranked by: its final test accuracy, or for regression its final test loss."""
    return result.summary.final_test_loss if regression else result.summary.final_test_accuracy


def ranked(groups: Mapping[str, Sequence]) -> list[str]:
    """The configurations best first: by mean final test accuracy (least mean final test loss for regression), as
    :func:`actlab.report.tables.build_rows` ranks them; those without a finite result last."""
    regression = _regression([r for runs in groups.values() for r in runs])
    means = {name: Estimate.of([_final(r, regression) for r in runs]).mean for name, runs in groups.items()}
    sign = 1 if regression else -1
    return sorted(groups, key=lambda n: (means[n] is None, 0.0 if means[n] is None else sign * means[n]))


def _reference(names: Sequence[str], baseline: str | None) -> tuple[str, str]:
    """The series drawn in grey behind every small multiple, and why: the baseline where there is one, else the
    best."""
    if baseline in names:
        return baseline, "the baseline"
    return names[0], "the best"


# --- drawing many series: one axes, or small multiples


Draw = Callable[[Axes, str, dict, "str | None", bool], None]  # (axes, series, style, legend label, as context)


def _one_axes(body: SubFigure, names: Sequence[str], draw: Draw, style: Callable[[int], dict]) -> Axes:
    """Every series on one axes, in the palette with ``style``'s line styles, labelled."""
    ax = body.add_subplot(1, 1, 1)
    for i, name in enumerate(names):
        draw(ax, name, style(i), name, False)
    return ax


def _small_multiples(body: SubFigure, names: Sequence[str], draw: Draw, reference: str) -> list[Axes]:
    """One panel per series (in the given order, row by row), each in the palette's first colour with
    ``reference`` in grey behind it; shared axes, so that panels compare at a glance."""
    columns = 4
    rows = math.ceil(len(names) / columns)
    grid = body.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    axes = list(grid.ravel())
    for ax, name in zip(axes, names, strict=False):
        if name != reference:
            draw(ax, reference, CONTEXT, None, True)
        draw(ax, name, HIGHLIGHT, None, False)
        ax.set_title("\n".join(textwrap.wrap(name, 34)), fontsize=8.5)  # long names break at their spaces
        ax.grid(True, alpha=0.3)
    for ax in axes[len(names) :]:
        ax.remove()
    for column in range(min(columns, len(names))):  # the lowest panel of each column shows the x ticks
        last = max(i for i in range(column, len(names), columns))
        axes[last].xaxis.set_tick_params(labelbottom=True)
    return axes[: len(names)]


def _series_figure(
    title: str,
    setup: str,
    meaning: str,
    names: Sequence[str],
    draw: Draw,
    axis_labels: tuple[str, str],
    baseline: str | None = None,
    log: bool = False,
    style: Callable[[int], dict] = distinct_style,
) -> Figure:
    """A figure of named series: on one axes with a legend (best first), each series in ``style`` (distinct line
    styles unless the figure's line styles mean something else), or beyond :data:`SMALL_MULTIPLES_BEYOND` series as
    small multiples with the baseline (or the best) in grey."""
    xlabel, ylabel = axis_labels
    if len(names) <= SMALL_MULTIPLES_BEYOND:
        fig, body = titled_figure(title, [setup], (7.5, 4.8))
        axes = [_one_axes(body, names, draw, style)]
    else:
        reference, why = _reference(names, baseline)
        lines = [setup, f"{meaning}; grey in every panel: {reference} ({why}); panels best first"]
        fig, body = titled_figure(title, lines, (10.5, 1.9 * math.ceil(len(names) / 4) + 1.6))
        axes = _small_multiples(body, names, draw, reference)
        body.supxlabel(xlabel, fontsize=10)
        body.supylabel(ylabel, fontsize=10)
    for ax in axes:
        if log:
            ax.set_yscale("log")
        if xlabel == "epoch":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(axes) == 1:
        _finish(axes[0], xlabel, ylabel, meaning, which="both" if log else "major")
    return fig


def _finish(ax, xlabel: str, ylabel: str, meaning: str, which: str = "major", legend: bool = True) -> None:
    """Labels, grid, legend (beside the axes), and what the marks mean as the axes' title (small: a key right above
    them)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(meaning, fontsize=8.5)
    ax.grid(True, alpha=0.3, which=which)
    if legend:
        _legend(ax, fontsize=8)


# --- the activations themselves


def activations_figure(
    activations: Sequence[Activation], lo: float = -5.0, hi: float = 5.0, derivative: bool = False, points: int = 1001
) -> Figure:
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
    return fig


def plot_activations(
    activations: Sequence[Activation],
    path: str | Path,
    lo: float = -5.0,
    hi: float = 5.0,
    derivative: bool = False,
    points: int = 1001,
) -> Path:
    """Write :func:`activations_figure` to ``path``."""
    return save_figure(activations_figure(activations, lo, hi, derivative, points), path)


# --- per-epoch curves


def _curves(runs, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and a (runs, epochs) array of ``field``; runs that stopped early are NaN-padded."""
    length = max(len(r.history) for r in runs)
    values = np.full((len(runs), length), np.nan)
    for i, run in enumerate(runs):
        values[i, : len(run.history)] = [getattr(h, field) for h in run.history]
    return np.arange(1, length + 1), values


def over_runs(statistic: Callable, values: np.ndarray) -> np.ndarray:
    """``statistic`` (np.nanmean, np.nanmin, …) over the runs, per epoch; an epoch no run reached is NaN, quietly."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return statistic(values, axis=0)


def _seeds_phrase(groups: Mapping[str, Sequence]) -> str:
    """'mean over 3 seeds', or where configurations have different numbers of runs, 'mean over 2–3 seeds'."""
    counts = sorted({len(runs) for runs in groups.values()})
    if not counts:
        return "mean over seeds"
    low, high = counts[0], counts[-1]
    many = f"{low}–{high}" if low != high else str(low)
    return f"mean over {many} seed{'s' if high > 1 else ''}"


def accuracy_figure(results, label: Label | None = None, baseline: str | None = None) -> Figure:
    """Test accuracy per epoch: the mean over seeds, with a band from the lowest to the highest run."""
    groups = group_by(results, label)

    def draw(ax: Axes, name: str, style: dict, legend: str | None, context: bool) -> None:
        epochs, acc = _curves(groups[name], "test_accuracy")
        ax.plot(epochs, over_runs(np.nanmean, acc) * 100, label=legend, linewidth=1.1 if context else 1.6, **style)
        if not context and len(groups[name]) > 1:
            low, high = over_runs(np.nanmin, acc) * 100, over_runs(np.nanmax, acc) * 100
            ax.fill_between(epochs, low, high, color=style["color"], alpha=0.15, linewidth=0)

    meaning = f"line: {_seeds_phrase(groups)}; band: lowest to highest seed"
    return _series_figure(
        "Test accuracy per epoch",
        setup_text(results),
        meaning,
        ranked(groups),
        draw,
        ("epoch", "test accuracy (%)"),
        baseline,
    )


def plot_accuracy_curves(results, path: str | Path, label: Label | None = None, baseline: str | None = None) -> Path:
    """Write :func:`accuracy_figure` to ``path``."""
    return save_figure(accuracy_figure(results, label, baseline), path)


def loss_figure(results, label: Label | None = None, baseline: str | None = None) -> Figure:
    """Test (solid) and train (dotted) loss per epoch, mean over seeds, log scale. The train loss is the mean over
    each epoch's minibatches, the test loss a pass after the epoch: a late bad step shows in the test loss only."""
    groups = group_by(results, label)

    def draw(ax: Axes, name: str, style: dict, legend: str | None, context: bool) -> None:
        epochs, test = _curves(groups[name], "test_loss")
        ax.plot(epochs, over_runs(np.nanmean, test), label=legend, linewidth=1.1 if context else 1.6, **style)
        if not context:
            _, train = _curves(groups[name], "train_loss")
            ax.plot(epochs, over_runs(np.nanmean, train), color=style["color"], linestyle=":", linewidth=1.2)

    regression = _regression(results)
    meaning = (
        f"solid: test loss after each epoch; dotted: train loss (mean over the epoch's batches); "
        f"{_seeds_phrase(groups)}"
    )
    return _series_figure(
        "Loss per epoch",
        setup_text(results),
        meaning,
        ranked(groups),
        draw,
        ("epoch", "mean squared error" if regression else "cross-entropy"),
        baseline,
        log=True,
        style=series_style,  # solid: test loss, dotted: train loss
    )


def plot_loss_curves(results, path: str | Path, label: Label | None = None, baseline: str | None = None) -> Path:
    """Write :func:`loss_figure` to ``path``."""
    return save_figure(loss_figure(results, label, baseline), path)


# --- the summary: final test accuracy per configuration, with its confidence interval and significance

# How the summary draws a configuration, by its verdict against the baseline.
VERDICTS = {
    "baseline": {"color": "#000000", "marker": "D", "label": "baseline"},
    "better": {"color": "#0072B2", "marker": "o", "label": "better (Holm p < 0.05)"},
    "worse": {"color": "#D55E00", "marker": "o", "label": "worse (Holm p < 0.05)"},
    "same": {"color": "0.55", "marker": "o", "label": "no significant difference"},
    "untested": {"color": "#0072B2", "marker": "o", "label": None},
}


def _estimate(row: Row) -> Estimate:
    """What the summary shows of a row: its final test accuracy, or for regression its final test loss."""
    return row.final_test_loss if row.metric == "loss" else row.final_test_accuracy


def verdict(row: Row, baseline: str | None) -> str:
    """'baseline', 'better', 'worse' (Holm-adjusted Welch p < :data:`SIGNIFICANCE`), 'same', or 'untested' (no
    baseline). Better is a higher accuracy, or for regression a lower loss."""
    if baseline is None:
        return "untested"
    if row.configuration == baseline:
        return "baseline"
    test = row.versus_baseline
    if test is None or test.p_holm is None or test.p_holm >= SIGNIFICANCE:
        return "same"
    higher = test.statistic > 0
    return "better" if higher != (row.metric == "loss") else "worse"


def off_scale(intervals: Sequence[tuple[float, float]]) -> int:
    """How many of the last intervals (best first, higher is better) lie so far below the others that drawing them
    would squash the rest into a sliver — a sigmoid at 70 % beside a dozen activations within a point of 96 %: the
    fewest k whose gap to the rest exceeds twice the rest's span (at least three kept); 0 when none."""
    for k in range(1, len(intervals) - 2):
        kept, cut = intervals[:-k], intervals[-k:]
        low, high = min(lo for lo, _ in kept), max(hi for _, hi in kept)
        if low - max(hi for _, hi in cut) > 2 * (high - low):
            return k
    return 0


def _interval(e: Estimate, scale: float) -> tuple[float, float]:
    """The 95 % CI of ``e`` in the figure's units (the mean alone where there is none)."""
    if e.ci_low is None:
        return scale * e.mean, scale * e.mean
    return scale * e.ci_low, scale * e.ci_high


def _significance_text(baseline: str | None) -> str:
    if baseline is None:
        return "no baseline given: nothing is tested for significance (give --baseline NAME)"
    return (
        f"colour: Welch's t-test against {baseline} (diamond, dashed line), Holm-adjusted over the comparisons; "
        "p on the right"
    )


def _tick_label(row: Row) -> str:
    return row.configuration + (f" ({row.diverged}/{row.runs} diverged)" if row.diverged else "")


def _draw_row(ax: Axes, y: int, row: Row, values: Sequence[float], scale: float, kind: str) -> None:
    """One configuration: its single runs as small circles, its mean as a dot with the 95 % CI as a bar."""
    style = VERDICTS[kind]
    if values:
        jitter = np.linspace(-0.16, 0.16, len(values)) if len(values) > 1 else np.zeros(1)
        ax.scatter(values, y + jitter, s=14, facecolors="none", edgecolors=style["color"], linewidths=0.8, alpha=0.6)
    mean = scale * _estimate(row).mean
    low, high = _interval(_estimate(row), scale)
    error = None if low == high else [[mean - low], [high - mean]]
    ax.errorbar(
        [mean], [y], xerr=error, fmt=style["marker"], color=style["color"], markersize=7, capsize=3, elinewidth=1.6
    )


def _draw_off_scale(ax: Axes, y: int, row: Row, scale: float, kind: str, loss: bool) -> None:
    """A configuration beyond the axis (the worse side): an arrow head at the edge and its numbers written."""
    color = VERDICTS[kind]["color"]
    e = _estimate(row)
    low, high = _interval(e, scale)
    edge = 1.0 if loss else 0.0
    interval = f" [{low:.4g}, {high:.4g}]" if low != high else ""
    text = f"{scale * e.mean:.4g}{'' if loss else ' %'}{interval}, off the scale"
    place = {"xycoords": ("axes fraction", "data"), "textcoords": "offset points", "va": "center", "color": color}
    ax.annotate("◀" if not loss else "▶", xy=(edge, y), xytext=(0, 0), ha="left" if not loss else "right", **place)
    ax.annotate(
        text, xy=(edge, y), xytext=(-12 if loss else 12, 0), ha="right" if loss else "left", fontsize=8, **place
    )


def _p_text(row: Row, baseline: str) -> str:
    if row.configuration == baseline:
        return "baseline"
    test = row.versus_baseline
    return "—" if test is None or test.p_holm is None else f"{test.p_holm:.3g}"


def summary_figure(
    rows: Sequence[Row], results: Sequence, label: Label | None = None, baseline: str | None = None
) -> Figure:
    """The dot plot people put in a paper: each configuration's final test accuracy (regression: final test loss,
    lower is better), best at the top; the mean with its 95 % confidence interval, the single runs, the baseline
    marked, and differences that are significant against it (Holm-adjusted Welch p < 0.05) in colour. Configurations
    far worse than the rest are written at the edge instead of squashing the others (:func:`off_scale`)."""
    loss = bool(rows) and rows[0].metric == "loss"
    shown = sorted((r for r in rows if _estimate(r).mean is not None), key=lambda r: r.rank)
    missing = [r.configuration for r in rows if _estimate(r).mean is None]
    scale = 1.0 if loss else 100.0
    sign = -1.0 if loss else 1.0  # off_scale wants higher = better
    cut = off_scale([tuple(sorted(sign * v for v in _interval(_estimate(r), scale))) for r in shown])
    groups = group_by(results, label)
    by_activation = all((label or activation_label)(r.config) == r.config.activation_label() for r in results)
    notes = [
        setup_text(results),
        f"dot: {_seeds_phrase(groups)}; bar: 95 % confidence interval of the mean (Student's t); circles: single "
        "runs" + ("; an arrow head: off the scale, its numbers written" if cut else ""),
        _significance_text(baseline),
        f"not shown (no finite result): {', '.join(missing)}" if missing else "",
    ]
    title = f"Final test {'loss' if loss else 'accuracy'} per {'activation' if by_activation else 'configuration'}"
    title += " (lower is better)" if loss else ""
    fig, body = titled_figure(title, notes, (7.5, 2.4 + 0.3 * max(len(shown), 2)))
    ax = body.add_subplot(1, 1, 1)
    for y, row in enumerate(shown[: len(shown) - cut]):
        values = [scale * v for r in groups.get(row.configuration, []) if _finite(v := _final(r, loss))]
        _draw_row(ax, y, row, values, scale, verdict(row, baseline))
    if cut:
        ax.set_xlim(*ax.get_xlim())  # the drawn configurations' range, kept
        for y, row in enumerate(shown[len(shown) - cut :], start=len(shown) - cut):
            _draw_off_scale(ax, y, row, scale, verdict(row, baseline), loss)
    _summary_axes(ax, shown, baseline, scale, "final test loss" if loss else "final test accuracy (%)")
    _summary_legend(body, {verdict(r, baseline) for r in shown})
    return fig


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _summary_axes(ax: Axes, shown: Sequence[Row], baseline: str | None, scale: float, xlabel: str) -> None:
    """Configuration names as the y axis (best at the top, the baseline's in bold), its dashed line, the p-values
    beside the axes."""
    ax.set_yticks(range(len(shown)), [_tick_label(r) for r in shown])
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", alpha=0.3)
    if not shown:
        ax.text(0.5, 0.5, "no run with a finite result", transform=ax.transAxes, ha="center", va="center")
        return
    for tick, row in zip(ax.get_yticklabels(), shown, strict=True):
        if row.configuration == baseline:
            tick.set_fontweight("bold")
    if baseline is None:
        return
    base = next((r for r in shown if r.configuration == baseline), None)
    if base is not None:
        ax.axvline(scale * _estimate(base).mean, color="0.35", linestyle="--", linewidth=0.9, zorder=0)
    header = {"xycoords": "axes fraction", "textcoords": "offset points", "fontsize": 8, "color": "0.3"}
    ax.annotate("p (Holm)", xy=(1.0, 1.0), xytext=(6, 4), va="bottom", **header)
    for y, row in enumerate(shown):
        ax.annotate(
            _p_text(row, baseline),
            xy=(1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color=VERDICTS[verdict(row, baseline)]["color"],
        )


def _summary_legend(body: SubFigure, kinds: set[str]) -> None:
    """A legend below the plot for the verdicts that occur (none without a baseline: every dot is alike)."""
    handles = [
        Line2D([], [], linestyle="none", marker=VERDICTS[k]["marker"], color=VERDICTS[k]["color"], label=label_)
        for k in ("baseline", "better", "worse", "same")
        if k in kinds and (label_ := VERDICTS[k]["label"])
    ]
    if handles:
        body.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=8)


def plot_summary(
    rows: Sequence[Row], results: Sequence, path: str | Path, label: Label | None = None, baseline: str | None = None
) -> Path:
    """Write :func:`summary_figure` to ``path``."""
    return save_figure(summary_figure(rows, results, label, baseline), path)


# --- accuracy against cost

MARKERS = ("o", "s", "^", "D")  # after the palette's eight colours, the marker changes


def accuracy_vs_time_figure(rows: Sequence[Row], results: Sequence = ()) -> Figure:
    """Final test accuracy (mean ± std) against seconds per epoch: which activation buys accuracy at what cost.
    Each configuration its colour and marker, the legend below best first; configurations far below the rest sit on
    the bottom edge, their accuracy in the legend; the time axis is logarithmic where costs span more than five
    times."""
    points = [
        r
        for r in sorted(rows, key=lambda r: r.rank)
        if r.final_test_accuracy.mean is not None and r.seconds_per_epoch.mean is not None
    ]
    cut = off_scale([(100 * (e.mean - e.std), 100 * (e.mean + e.std)) for e in (r.final_test_accuracy for r in points)])
    meaning = "dot: mean; bars: ± one standard deviation over seeds" + ("; ▼: below the scale" if cut else "")
    legend_rows = math.ceil(len(points) / 2)
    fig, body = titled_figure("Accuracy against cost", [setup_text(results)], (7.5, 4.6 + 0.17 * legend_rows))
    ax = body.add_subplot(1, 1, 1)
    handles = _cost_points(ax, points[: len(points) - cut])
    if cut:
        ax.set_ylim(*ax.get_ylim())  # the others' range, kept
        handles += _below_scale(ax, points[len(points) - cut :])
    _seconds_axis(ax, [r.seconds_per_epoch.mean for r in points])
    _finish(ax, "seconds per epoch (per model)", "final test accuracy (%)", meaning, legend=False)
    if handles:  # in rank order (matplotlib would list plain markers before error bars)
        body.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False, fontsize=8)
    return fig


def _cost_points(ax: Axes, points: Sequence[Row]) -> list:
    """Each configuration's mean with ± std bars in both directions, in its own colour and marker."""
    handles = []
    for i, row in enumerate(points):
        acc, spe = row.final_test_accuracy, row.seconds_per_epoch
        marker = MARKERS[(i // len(PALETTE)) % len(MARKERS)]
        handles.append(
            ax.errorbar(
                [spe.mean],
                [100 * acc.mean],
                yerr=[100 * acc.std],
                xerr=[spe.std],
                fmt=marker,
                color=PALETTE[i % len(PALETTE)],
                capsize=3,
                label=row.configuration,
            )
        )
    return handles


def _below_scale(ax: Axes, points: Sequence[Row]) -> list:
    """Configurations far below the others: a ▼ on the bottom edge at their cost, their accuracy in the legend."""
    marks = []
    for row in points:
        text = f"{row.configuration} ({100 * row.final_test_accuracy.mean:.1f} %, below the scale)"
        x = [row.seconds_per_epoch.mean]
        marks += ax.plot(x, [0.0], "v", color="0.3", transform=ax.get_xaxis_transform(), clip_on=False, label=text)
    return marks


def _seconds_axis(ax: Axes, costs: Sequence[float]) -> None:
    """A logarithmic time axis where costs span more than five times, ticked at 1, 2, 5 × 10^k in plain numbers."""
    positive = [c for c in costs if c > 0]
    if not positive or max(positive) <= 5 * min(positive):
        return
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_accuracy_vs_time(rows: Sequence[Row], path: str | Path, results: Sequence = ()) -> Path:
    """Write :func:`accuracy_vs_time_figure` to ``path``."""
    return save_figure(accuracy_vs_time_figure(rows, results), path)


# --- final accuracy against a swept numeric setting


def _variables(results) -> dict[str, list[float]]:
    """Numeric settings and activation parameters that take several values across the runs."""
    found: dict[str, set] = {}
    for result in results:
        config = result.config
        for key in ("lr", "momentum", "flooding", "weight_decay", "batch_size"):
            value = getattr(config, key)
            if isinstance(value, (int, float)):
                found.setdefault(key, set()).add(float(value))
        name, params = notation.parse(config.activation)  # as stored: read back, nothing is defined
        for key, value in params.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found.setdefault(f"{name}.{key}", set()).add(float(value))
    return {k: sorted(v) for k, v in found.items() if len(v) > 1}


def _value(config, variable: str):
    if "." in variable:
        name, key = variable.split(".", 1)
        stored_name, params = notation.parse(config.activation)
        return float(params[key]) if stored_name == name and key in params else None
    value = getattr(config, variable)
    return None if value is None or not config.applies(variable) else float(value)


def _other_settings(config, variable: str, swept: Sequence[str]) -> str:
    """What a run's configuration is apart from ``variable``: the activation (for an activation parameter, with
    that parameter left out) and the other swept settings, e.g. 'hard_swish, lr=0.5'."""
    name = config.activation_label()
    if "." in variable:  # the activation with that parameter left out, as stored
        key = variable.split(".", 1)[1]
        stored_name, params = notation.parse(config.activation)
        rest = ":".join([stored_name] + [f"{k}={notation.format_value(v)}" for k, v in params.items() if k != key])
        name = stored_label(rest, config.definition) if not config.defined_here() else _without(config, key)
    parts = [name] if "activation" in swept or "." in variable or not swept else []
    parts += [
        f"{k}={getattr(config, k)}" for k in swept if k not in ("seed", "activation", variable) and config.applies(k)
    ]
    return ", ".join(parts) or name


def _without(config, key: str) -> str:
    """The label of a run's activation (defined here) with parameter ``key`` at its default."""
    act = config.activation_object()
    return label(Activation(act.spec, {**act.params, key: act.spec.param(key).default}))


def _parameter_lines(results, variable: str, swept: Sequence[str]) -> dict[str, dict[float, list[float]]]:
    """Final test accuracies (%) by line (the other swept settings) and by the value of ``variable``."""
    lines: dict[str, dict[float, list[float]]] = {}
    for result in results:
        x = _value(result.config, variable)
        if x is None or result.summary.final_test_accuracy is None:
            continue
        other = _other_settings(result.config, variable, swept)
        lines.setdefault(other, {}).setdefault(x, []).append(100 * result.summary.final_test_accuracy)
    return lines


def parameter_figure(results, variable: str) -> Figure:
    """Final test accuracy against the swept ``variable``, one line per combination of the other swept settings
    (never pooled over them), mean ± standard deviation over seeds; beyond :data:`SMALL_MULTIPLES_BEYOND` lines,
    small multiples with the best line in grey."""
    lines = _parameter_lines(results, variable, swept_settings(results))
    best = {name: max(np.mean(v) for v in points.values()) for name, points in lines.items()}
    names = sorted(lines, key=lambda name: -best[name])

    def draw(ax: Axes, name: str, style: dict, legend: str | None, context: bool) -> None:
        points = lines[name]
        xs = sorted(points)
        means = [np.mean(points[v]) for v in xs]
        if context:
            ax.plot(xs, means, marker="o", markersize=3, linewidth=1.0, **style)
            return
        spread = [np.std(points[v], ddof=1) if len(points[v]) > 1 else 0.0 for v in xs]
        ax.errorbar(xs, means, yerr=spread, marker="o", capsize=3, label=legend, **style)

    fig = _series_figure(
        f"Final test accuracy against {variable}",
        setup_text(results),
        "one line per setting of the others; mean, bars: ± std over seeds",
        names,
        draw,
        (variable, "final test accuracy (%)"),
    )
    if all(float(v).is_integer() for v in _variables(results)[variable]):
        for ax in fig.axes:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def plot_parameter_curves(results, directory: str | Path, label: Label | None = None) -> dict[str, Path]:
    """One figure per swept numeric variable (e.g. lr, flooding, hard_swish.n): :func:`parameter_figure`."""
    directory = Path(directory)
    return {
        variable: save_figure(parameter_figure(results, variable), directory / f"curve_{variable}.png")
        for variable in _variables(results)
    }
