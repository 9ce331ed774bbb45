"""Per-epoch history and the summary computed from it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from actlab._compat import StrEnum
from actlab.train.config import RunConfig
from actlab.train.diagnostics_data import LayerDiagnostics


class Status(StrEnum):
    """Where a run stands: pending → running → done | diverged | failed."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DIVERGED = "diverged"
    FAILED = "failed"


FINISHED = (Status.DONE, Status.DIVERGED, Status.FAILED)
TRAINED = (Status.DONE, Status.DIVERGED)  # finished with a history: what tables and figures show


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch. Train loss/accuracy average the epoch's minibatches (as Keras reports them); test
    loss/accuracy are a full pass over the test set after the epoch."""

    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float


@dataclass(frozen=True)
class Summary:
    status: str  # Status.DONE or Status.DIVERGED
    epochs: int
    final_train_accuracy: float | None
    final_test_accuracy: float | None
    best_test_accuracy: float | None
    best_epoch: int | None
    epochs_to: dict[str, int | None]  # "0.95" -> first epoch reaching it, None if never
    total_seconds: float
    seconds_per_epoch: float
    diverged_epoch: int | None = None
    final_train_loss: float | None = None
    final_test_loss: float | None = None
    best_test_loss: float | None = None  # regression (loss mse): the best epoch is the one with the least test loss
    engine: str | None = None  # how a user's model trained: stacked with torch.func, or one at a time and why
    threads: int | None = None  # the CPU threads its group trained on (actlab.train.threads)


def threshold_key(threshold: float) -> str:
    return f"{threshold:g}"


def summarize(
    history: list[EpochMetrics], thresholds: tuple[float, ...], diverged_epoch: int | None, regression: bool = False
) -> Summary:
    """Final and best accuracies (regression: test losses, no accuracies or thresholds), first epoch reaching each
    threshold, time, status."""
    finite = [h for h in history if math.isfinite(h.train_loss) and math.isfinite(h.test_loss)]
    epochs_to = {}
    for t in () if regression else thresholds:
        reached = next((h.epoch for h in finite if h.test_accuracy >= t), None)
        epochs_to[threshold_key(t)] = reached
    if regression:
        best = min(finite, key=lambda h: (h.test_loss, h.epoch), default=None)
    else:
        best = max(finite, key=lambda h: (h.test_accuracy, -h.epoch), default=None)
    total = sum(h.seconds for h in history)
    last = finite[-1] if finite else None
    accuracy = not regression
    return Summary(
        status=str(Status.DIVERGED if diverged_epoch is not None else Status.DONE),
        epochs=len(history),
        final_train_accuracy=last.train_accuracy if last and accuracy else None,
        final_test_accuracy=last.test_accuracy if last and accuracy else None,
        best_test_accuracy=best.test_accuracy if best and accuracy else None,
        best_epoch=best.epoch if best else None,
        epochs_to=epochs_to,
        total_seconds=total,
        seconds_per_epoch=total / len(history) if history else 0.0,
        diverged_epoch=diverged_epoch,
        final_train_loss=last.train_loss if last else None,
        final_test_loss=last.test_loss if last else None,
        best_test_loss=min(h.test_loss for h in finite) if finite else None,
    )


class EpochLog:
    """Epoch bookkeeping shared by both engines for the runs trained together: each run's history, the epoch at which
    it diverged (a non-finite loss; it records nothing after), the ``on_epoch`` callback, and the results."""

    def __init__(self, configs, on_epoch=None) -> None:
        self.configs = list(configs)
        self.on_epoch = on_epoch
        self.histories: list[list[EpochMetrics]] = [[] for _ in self.configs]
        self.diagnostics: list[list[list[LayerDiagnostics]]] = [[] for _ in self.configs]
        self.diverged: list[int | None] = [None] * len(self.configs)

    def record(
        self, epoch: int, train_loss, train_accuracy, test_loss, test_accuracy, seconds: float, diagnostics=None
    ) -> None:
        """One epoch (1-based) of every run still training; the metrics are sequences over the runs, and so are
        ``diagnostics`` (each run's layers) when measured."""
        for m, config in enumerate(self.configs):
            if self.diverged[m] is not None:
                continue
            metrics = EpochMetrics(epoch, train_loss[m], train_accuracy[m], test_loss[m], test_accuracy[m], seconds)
            self.histories[m].append(metrics)
            if diagnostics is not None:
                self.diagnostics[m].append(list(diagnostics[m]))
            if not (math.isfinite(train_loss[m]) and math.isfinite(test_loss[m])):
                self.diverged[m] = epoch
            if self.on_epoch is not None:
                self.on_epoch(config, metrics)

    @property
    def finished(self) -> bool:
        """Whether every run has diverged (nothing is left to train)."""
        return all(d is not None for d in self.diverged)

    def results(self, step_losses: list[list[float]] | None = None) -> list[RunResult]:
        """Each run's result."""
        steps = step_losses or [[] for _ in self.configs]
        return [
            RunResult(
                c,
                self.histories[m],
                summarize(self.histories[m], c.thresholds, self.diverged[m], c.regression),
                steps[m],
                self.diagnostics[m],
            )
            for m, c in enumerate(self.configs)
        ]


@dataclass
class RunResult:
    config: RunConfig
    history: list[EpochMetrics]
    summary: Summary
    step_losses: list[float] = field(default_factory=list)  # filled only when asked for (tests)
    diagnostics: list[list[LayerDiagnostics]] = field(default_factory=list)  # per epoch, its layers (--diagnostics)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "key": self.config.key(),
            "config": self.config.canonical(),
            "history": [asdict(h) for h in self.history],
            "summary": asdict(self.summary),
        }
        if self.diagnostics:
            data["diagnostics"] = [[d.to_dict() for d in layers] for layers in self.diagnostics]
        return data
