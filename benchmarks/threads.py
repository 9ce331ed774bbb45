"""Threads on a shared machine: seconds per epoch with one thread, with one per core and with the count actlab
chooses (:mod:`actlab.train.threads`), on an idle machine and with CPU-bound processes beside it (one per core).

Three setups span the work per step: the demo's MLP on digits (dispatch-bound), ten MNIST MLPs 784-100-50-10 at once
(the products fill threads) and the CNN on MNIST. Rounds interleave the three counts, so each figure is the median
of rounds measured side by side.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from actlab.data.prepared import PreparedData, prepare_for
from actlab.train import threads
from actlab.train.config import RunConfig
from actlab.train.trainer import train_runs


@dataclass(frozen=True)
class Setup:
    name: str
    configs: list[RunConfig]
    data: PreparedData


def setups(data_dir: str | None, quick: bool) -> list[Setup]:
    subset = {"train_subset": 2_000 if quick else 10_000, "test_subset": 1_000}
    demo = [RunConfig(activation="relu", seed=s, epochs=2, batch_size=50) for s in range(5)]
    mlps = [
        RunConfig(dataset="mnist", model="mlp:100,50", seed=s, epochs=2, batch_size=100, **subset) for s in range(10)
    ]
    cnn = [
        RunConfig(dataset="mnist", model="cnn:16,p,32,p", seed=s, epochs=1, batch_size=100, **subset) for s in (0, 1)
    ]
    named = {
        "demo MLP on digits, 5 seeds": demo,
        "MNIST MLP 784-100-50-10, 10 at once": mlps,
        "MNIST CNN 16,p,32,p, 2 at once": cnn,
    }
    return [Setup(name, configs, prepare_for(configs[0], data_dir)) for name, configs in named.items()]


def _spin() -> None:  # pragma: no cover - runs in a child process until terminated
    while True:
        pass


@contextmanager
def busy(processes: int) -> Iterator[None]:
    """``processes`` CPU-bound processes beside this one, for the block."""
    context = multiprocessing.get_context("spawn")
    spinners = [context.Process(target=_spin, daemon=True) for _ in range(processes)]
    for p in spinners:
        p.start()
    time.sleep(1.0)  # let the scheduler see them
    try:
        yield
    finally:
        for p in spinners:
            p.terminate()
            p.join()


def epoch_seconds(setup: Setup, count: int | None) -> tuple[float, int]:
    """Seconds per epoch of one model of ``setup`` (the groups' epochs summed over runs) and the threads used."""
    results = train_runs(setup.configs, data=setup.data, group="all", threads=count)
    per_epoch = statistics.mean(r.summary.seconds_per_epoch for r in results)
    return per_epoch, results[0].summary.threads or 0


def measure(setup: Setup, rounds: int) -> dict[str, tuple[float, int]]:
    """Median seconds per epoch for 1 thread, one per core and the chosen count, interleaved over ``rounds``."""
    counts = {"1 thread": 1, f"{threads.cores()} threads": threads.cores(), "chosen": None}
    epoch_seconds(setup, 1)  # the process's start-up, untimed
    samples: dict[str, list[tuple[float, int]]] = {label: [] for label in counts}
    for _ in range(rounds):
        for label, count in counts.items():
            samples[label].append(epoch_seconds(setup, count))
    return {label: (statistics.median(s for s, _ in values), values[-1][1]) for label, values in samples.items()}


def markdown(data_dir: str | None, rounds: int, quick: bool) -> list[str]:
    """The threads section: each setup idle and busy."""
    lines = [
        "## Threads on a shared machine",
        "",
        f"Seconds per epoch per model (median of {rounds} interleaved rounds) with one thread, one per core and the "
        "count actlab chooses from the step's work and the free cores (the count it chose in brackets); `busy`: "
        f"{threads.cores()} CPU-bound processes ran beside it. Produced by `python -m benchmarks.bench --sections "
        "threads`.",
        "",
        "| setup | machine | 1 thread | all cores | chosen |",
        "|---|---|---|---|---|",
    ]
    for setup in setups(data_dir, quick):
        for state in ("idle", "busy"):
            with busy(threads.cores()) if state == "busy" else _idle():
                figures = measure(setup, rounds)
            cells = [f"{s:.4f} s" for s, _ in figures.values()]
            cells[-1] += f" ({figures['chosen'][1]})"
            lines.append(f"| {setup.name} | {state} | " + " | ".join(cells) + " |")
    return lines


@contextmanager
def _idle() -> Iterator[None]:
    yield


if __name__ == "__main__":
    print("\n".join(markdown(os.environ.get("ACTLAB_DATA"), 1, quick=True)))
