"""What the user's command costs: `actlab compare` (and `actlab train`) run as a user runs them, in a fresh
process, with 1 and 3 epochs. The difference of the two wall times is the cost of two epochs as the command
trains them; the intercept is the fixed cost (start-up, imports, loading the data, writing the store).

The per-epoch figure is held against the throughput table's row for the same setup, which
:func:`benchmarks.train_throughput.actlab_epoch` measures through the very function the command calls
(:func:`actlab.experiments.oneoff.train_configs`): if the command did extra work per epoch, the two would part.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

FIXED_COST_TARGET = 3.0  # seconds
EPOCH_TOLERANCE = 0.15


@dataclass(frozen=True)
class CommandCost:
    command: str
    one_epoch: float
    three_epochs: float

    @property
    def per_epoch(self) -> float:
        return (self.three_epochs - self.one_epoch) / 2

    @property
    def fixed(self) -> float:
        return self.one_epoch - self.per_epoch


def options(train_subset: int | None, test_subset: int | None, data_dir: str | None) -> list[str]:
    """The MLP throughput table's setup (:func:`benchmarks.train_throughput.mlp_configs`) as command-line options."""
    args = ["--dataset", "mnist", "--model", "mlp:100,50", "--batch-size", "100", "--lr", "0.1", "--init", "he_normal"]
    if train_subset:
        args += ["--train-subset", str(train_subset)]
    if test_subset:
        args += ["--test-subset", str(test_subset)]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    return args


def import_wall(module: str = "torch") -> float:
    """Seconds a fresh Python process takes to import ``module`` and exit: the floor under any command using it."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - started


def wall(argv: list[str]) -> float:
    """Seconds a fresh ``python -m actlab.cli …`` process takes, start to exit."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "actlab.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"actlab {' '.join(argv)} failed: {done.stderr.strip()}")
    return seconds


HELP_TARGET = 1.0  # seconds


def markdown(
    compare: CommandCost,
    train: CommandCost,
    compare_row: tuple[str, float],
    train_row: tuple[str, float],
    rounds: int,
    help_seconds: float | None = None,
    torch_seconds: float | None = None,
) -> list[str]:
    """The section: both commands' epoch and fixed cost, each epoch against its throughput-table row."""
    lines = [
        "## The user's command",
        "",
        f"Each command run in a fresh process with `--epochs 1` and `--epochs 3` (median of {rounds} interleaved "
        "rounds). Per epoch: half the difference of the two wall times. Fixed cost: the 1-epoch time minus one "
        "epoch (start-up, imports, loading the data, the store).",
        "",
        "| command | 1 epoch (s) | 3 epochs (s) | per epoch (s) | fixed cost (s) | throughput-table row | "
        "row (s) | epoch / row |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cost, (row_name, row_seconds) in ((compare, compare_row), (train, train_row)):
        lines.append(
            f"| `{cost.command}` | {cost.one_epoch:.2f} | {cost.three_epochs:.2f} | {cost.per_epoch:.2f} | "
            f"{cost.fixed:.2f} | {row_name} | {row_seconds:.2f} | {cost.per_epoch / row_seconds:.2f} |"
        )
    if torch_seconds is not None:
        lines += [
            "",
            f"A fresh Python process that only imports torch takes {torch_seconds:.2f} s here (same rounds): "
            "the floor under every command that trains; the rest of the fixed cost is actlab's own start-up, "
            "reading and scaling the dataset, and the statistics.",
        ]
    lines += ["", "Targets:"]
    if help_seconds is not None:
        met = "met" if help_seconds < HELP_TARGET else "NOT met"
        lines.append(f"- `actlab --help` < {HELP_TARGET:g} s: {help_seconds:.2f} s — {met}")
    for cost, (_, row_seconds) in ((compare, compare_row), (train, train_row)):
        name = cost.command.split()[1]
        fixed = "met" if cost.fixed < FIXED_COST_TARGET else "NOT met"
        ratio = cost.per_epoch / row_seconds
        close = "met" if abs(ratio - 1) <= EPOCH_TOLERANCE else "NOT met"
        lines.append(f"- `{name}` fixed cost < {FIXED_COST_TARGET:g} s: {cost.fixed:.2f} s — {fixed}")
        lines.append(f"- `{name}` epoch within {100 * EPOCH_TOLERANCE:.0f} % of its row: {ratio:.2f}× — {close}")
    return lines
