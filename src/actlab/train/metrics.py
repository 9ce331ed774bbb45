"""Per-epoch history and the summary computed from it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from actlab.train.config import RunConfig


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
    status: str  # "done" or "diverged"
    epochs: int
    final_train_accuracy: float | None
    final_test_accuracy: float | None
    best_test_accuracy: float | None
    best_epoch: int | None
    epochs_to: dict[str, int | None]  # "0.95" -> first epoch reaching it, None if never
    total_seconds: float
    seconds_per_epoch: float
    diverged_epoch: int | None = None


def threshold_key(threshold: float) -> str:
    return f"{threshold:g}"


def summarize(history: list[EpochMetrics], thresholds: tuple[float, ...], diverged_epoch: int | None) -> Summary:
    """Final and best accuracies, first epoch reaching each threshold, time, status."""
    finite = [h for h in history if math.isfinite(h.train_loss) and math.isfinite(h.test_loss)]
    epochs_to = {}
    for t in thresholds:
        reached = next((h.epoch for h in finite if h.test_accuracy >= t), None)
        epochs_to[threshold_key(t)] = reached
    best = max(finite, key=lambda h: (h.test_accuracy, -h.epoch), default=None)
    total = sum(h.seconds for h in history)
    last = finite[-1] if finite else None
    return Summary(
        status="diverged" if diverged_epoch is not None else "done",
        epochs=len(history),
        final_train_accuracy=last.train_accuracy if last else None,
        final_test_accuracy=last.test_accuracy if last else None,
        best_test_accuracy=best.test_accuracy if best else None,
        best_epoch=best.epoch if best else None,
        epochs_to=epochs_to,
        total_seconds=total,
        seconds_per_epoch=total / len(history) if history else 0.0,
        diverged_epoch=diverged_epoch,
    )


@dataclass
class RunResult:
    config: RunConfig
    history: list[EpochMetrics]
    summary: Summary
    step_losses: list[float] = field(default_factory=list)  # filled only when asked for (tests)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.config.key(),
            "config": self.config.canonical(),
            "history": [asdict(h) for h in self.history],
            "summary": asdict(self.summary),
        }
