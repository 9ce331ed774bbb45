"""Comparison tables: runs grouped by activation, mean ± std over seeds, as CSV, Markdown and JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from actlab.train.config import RunConfig
from actlab.train.metrics import RunResult, threshold_key


@dataclass(frozen=True)
class Stat:
    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Stat:
        finite = [v for v in values if v is not None and math.isfinite(v)]
        if not finite:
            return cls(None, None, 0)
        return cls(float(np.mean(finite)), float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0, len(finite))


@dataclass(frozen=True)
class ComparisonRow:
    activation: str
    runs: int
    diverged: int
    final_train_accuracy: Stat
    final_test_accuracy: Stat
    best_test_accuracy: Stat
    epochs_to: dict[str, Stat]  # over the runs that reached the threshold; n says how many did
    seconds_per_epoch: Stat
    total_seconds: Stat


def configuration_label(swept: Sequence[str]):
    """A function naming a run's configuration by the swept settings other than the seed (the activation
    by its label), e.g. 'relu, lr=0.5'."""
    keys = [k for k in swept if k != "seed"]

    def name(config: RunConfig) -> str:
        parts = [config.activation_label()] if "activation" in keys or not keys else []
        parts += [f"{k}={getattr(config, k)}" for k in keys if k != "activation"]
        return ", ".join(parts)

    return name


def compare_rows(results: Sequence[RunResult], by: Callable[[RunConfig], str] | None = None) -> list[ComparisonRow]:
    """One row per configuration (by default: per activation), in first-seen order."""
    by = by or (lambda config: config.activation_label())
    by_activation: dict[str, list[RunResult]] = {}
    for result in results:
        by_activation.setdefault(by(result.config), []).append(result)
    rows = []
    for label, runs in by_activation.items():
        summaries = [r.summary for r in runs]
        thresholds = runs[0].config.thresholds
        rows.append(ComparisonRow(
            activation=label,
            runs=len(runs),
            diverged=sum(s.status == "diverged" for s in summaries),
            final_train_accuracy=Stat.of([s.final_train_accuracy for s in summaries]),
            final_test_accuracy=Stat.of([s.final_test_accuracy for s in summaries]),
            best_test_accuracy=Stat.of([s.best_test_accuracy for s in summaries]),
            epochs_to={threshold_key(t): Stat.of([s.epochs_to[threshold_key(t)] for s in summaries]) for t in thresholds},
            seconds_per_epoch=Stat.of([s.seconds_per_epoch for s in summaries]),
            total_seconds=Stat.of([s.total_seconds for s in summaries]),
        ))
    return rows


def _percent(stat: Stat) -> str:
    return "—" if stat.mean is None else f"{100 * stat.mean:.2f} ± {100 * stat.std:.2f}"


def _epochs(stat: Stat, runs: int) -> str:
    return f"never (0/{runs})" if stat.mean is None else f"{stat.mean:.1f} ({stat.n}/{runs})"


def _seconds(stat: Stat) -> str:
    return "—" if stat.mean is None else f"{stat.mean:.3f}"


def table_cells(rows: Sequence[ComparisonRow]) -> tuple[list[str], list[list[str]]]:
    """Column headers and formatted cells, shared by every text rendering."""
    thresholds = list(rows[0].epochs_to) if rows else []
    headers = (["activation", "train acc %", "test acc %", "best test acc %"]
               + [f"epochs to {100 * float(t):g}%" for t in thresholds] + ["s/epoch", "diverged"])
    cells = []
    for row in rows:
        cells.append([row.activation, _percent(row.final_train_accuracy), _percent(row.final_test_accuracy),
                      _percent(row.best_test_accuracy)]
                     + [_epochs(row.epochs_to[t], row.runs) for t in thresholds]
                     + [_seconds(row.seconds_per_epoch), f"{row.diverged}/{row.runs}"])
    return headers, cells


def to_markdown(rows: Sequence[ComparisonRow]) -> str:
    headers, cells = table_cells(rows)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(lines) + "\n"


def to_csv(rows: Sequence[ComparisonRow]) -> str:
    """Numbers unformatted: mean and std columns per metric, fractions for accuracies."""
    out = io.StringIO()
    writer = csv.writer(out)
    thresholds = list(rows[0].epochs_to) if rows else []
    metrics = ["final_train_accuracy", "final_test_accuracy", "best_test_accuracy", "seconds_per_epoch", "total_seconds"]
    header = ["activation", "runs", "diverged"]
    for m in metrics:
        header += [f"{m}_mean", f"{m}_std"]
    for t in thresholds:
        header += [f"epochs_to_{t}_mean", f"epochs_to_{t}_reached"]
    writer.writerow(header)
    for row in rows:
        line: list = [row.activation, row.runs, row.diverged]
        for m in metrics:
            stat = getattr(row, m)
            line += [stat.mean, stat.std]
        for t in thresholds:
            line += [row.epochs_to[t].mean, row.epochs_to[t].n]
        writer.writerow(["" if v is None else v for v in line])
    return out.getvalue()


def to_json(rows: Sequence[ComparisonRow], results: Sequence[RunResult]) -> str:
    return json.dumps({"comparison": [asdict(r) for r in rows], "runs": [r.to_dict() for r in results]}, indent=2)
