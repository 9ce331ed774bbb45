"""What ``--diagnostics`` costs: the MNIST MLP 784-100-50-10 (ten seeds of relu at once, batch 100, SGD lr 0.1),
one epoch trained with and without diagnostics, rounds interleaved.

With diagnostics a run measures the gradient and weight norms on sampled steps (inside the epoch's recorded
seconds) and, after each epoch, its 1,000-example probe set through every hidden layer (outside them; timed here by
wrapping the trainer's probe). The cost is the recorded epoch's growth plus the probe's time, as a share of the
epoch without diagnostics. Target: under 10 %.
"""

from __future__ import annotations

import statistics
import time

from actlab.data.prepared import PreparedData
from actlab.experiments.oneoff import train_configs
from actlab.train import stacked
from benchmarks.train_throughput import MODELS, mlp_configs

TARGET = 0.10  # of an epoch


class ProbeTimer:
    """Seconds spent in :meth:`actlab.train.stacked.Probe.measure` while installed (a context manager)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._original = stacked.Probe.measure

    def __enter__(self) -> ProbeTimer:
        original = self._original

        def measure(probe):
            started = time.perf_counter()
            try:
                return original(probe)
            finally:
                self.seconds += time.perf_counter() - started

        stacked.Probe.measure = measure
        return self

    def __exit__(self, *exc) -> None:
        stacked.Probe.measure = self._original


def _epoch(data: PreparedData, diagnostics: bool) -> tuple[float, float]:
    """The seconds of one epoch of the ten runs trained together, and the seconds their probe took after it."""
    with ProbeTimer() as probe:
        results = train_configs(mlp_configs("relu", MODELS, diagnostics=diagnostics), group="all", data=data)
    # each run records its share of the stacked network's epoch: the epoch took the sum of the shares
    return sum(r.history[0].seconds for r in results), probe.seconds


def measure(data: PreparedData, rounds: int) -> dict[str, float]:
    """Median epoch seconds without and with diagnostics, the median probe time, and the cost as a share."""
    _epoch(data, True)  # warm-up: the first call pays one-off start-up
    plain, measured, probes = [], [], []
    for _ in range(max(rounds, 3)):
        plain.append(_epoch(data, False)[0])
        epoch, probe = _epoch(data, True)
        measured.append(epoch)
        probes.append(probe)
    result = {name: statistics.median(v) for name, v in (("plain", plain), ("epoch", measured), ("probe", probes))}
    result["share"] = (result["epoch"] - result["plain"] + result["probe"]) / result["plain"]
    return result


def markdown(result: dict[str, float], examples: int) -> list[str]:
    verdict = "met" if result["share"] < TARGET else "not met"
    return [
        "## Diagnostics cost",
        "",
        f"MNIST MLP 784-100-50-10, {MODELS} seeds of relu at once, one epoch of {examples:,} examples (batch 100, "
        "SGD lr 0.1); medians of interleaved rounds.",
        "",
        "| | seconds |",
        "|---|---|",
        f"| epoch of the {MODELS} models without diagnostics | {result['plain']:.3f} |",
        f"| epoch with --diagnostics (gradient and weight norms on sampled steps) | {result['epoch']:.3f} |",
        f"| the probe after the epoch (1,000 examples × 10 models through every layer) | {result['probe']:.3f} |",
        "",
        f"Diagnostics cost {100 * result['share']:.1f} % of an epoch (target under {100 * TARGET:.0f} %: {verdict}).",
    ]
