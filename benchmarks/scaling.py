"""How one epoch's wall time grows with the number of models trained together and with the dataset size.

MNIST MLP 784-100-50-10 (relu, batch 100, SGD), all models as one stacked network, on the device asked for
(default the CPU).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from actlab.data.prepared import PreparedData
from actlab.report.plots import save_figure
from actlab.train.config import RunConfig
from benchmarks.train_throughput import actlab_epoch, interleaved

MODEL_COUNTS = (1, 2, 5, 10, 20, 50)
FRACTIONS = (0.125, 0.25, 0.5, 1.0)
SIZE_MODELS = 10


def _configs(models: int, device: str = "cpu") -> list[RunConfig]:
    return [
        RunConfig(
            dataset="mnist",
            model="mlp:100,50",
            epochs=1,
            batch_size=100,
            lr=0.1,
            activation="relu",
            init="he_normal",
            seed=s,
            device=device,
        )
        for s in range(models)
    ]


def measure(data: PreparedData, rounds: int, device: str = "cpu") -> tuple[dict[int, float], dict[int, float]]:
    """Median epoch seconds on ``device`` by number of models, and (for ten models) by number of training images."""
    by_models = interleaved(
        {str(m): (lambda m=m: actlab_epoch(_configs(m, device), data)) for m in MODEL_COUNTS}, rounds
    )
    sizes = {}
    for fraction in FRACTIONS:
        n = int(fraction * len(data.x_train))
        sizes[n] = PreparedData(data.x_train[:n], data.y_train[:n], data.x_test, data.y_test, data.classes)
    by_size = interleaved(
        {str(n): (lambda d=d: actlab_epoch(_configs(SIZE_MODELS, device), d)) for n, d in sizes.items()}, rounds
    )
    return {int(k): v for k, v in by_models.items()}, {int(k): v for k, v in by_size.items()}


def plot(by_models: dict[int, float], by_size: dict[int, float], path: Path) -> Path:
    fig = Figure(figsize=(9, 3.8), dpi=110, layout="constrained")
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    counts = sorted(by_models)
    left.plot(counts, [by_models[m] for m in counts], "o-", label="trained together")
    left.plot(
        counts,
        [by_models[counts[0]] * m / counts[0] for m in counts],
        "--",
        color="gray",
        label=f"{counts[0]} model's time × models",
    )
    left.set(
        xscale="log",
        yscale="log",
        xlabel="models trained together",
        ylabel="seconds per epoch",
        title="Wall time vs number of models",
    )
    sizes = sorted(by_size)
    right.plot(sizes, [by_size[n] for n in sizes], "o-", label=f"{SIZE_MODELS} models")
    right.set(xlabel="training images", ylabel="seconds per epoch", title="Wall time vs dataset size")
    for ax in (left, right):
        ax.grid(True, alpha=0.3, which="both")
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def markdown(
    by_models: dict[int, float], by_size: dict[int, float], examples: int, rounds: int, image: str, device: str = "cpu"
) -> list[str]:
    one = by_models[min(by_models)]
    lines = [
        "## Scaling" + ("" if device == "cpu" else f" ({device})"),
        "",
        f"MNIST MLP 784-100-50-10, relu, one epoch of {examples:,} images (left) and of subsets for {SIZE_MODELS} "
        f"models "
        f"(right), median of {rounds} interleaved rounds.",
        "",
        f"![scaling]({image})",
        "",
        "| models together | seconds per epoch | per model | vs one model per model |",
        "|---|---|---|---|",
    ]
    for m in sorted(by_models):
        lines.append(f"| {m} | {by_models[m]:.2f} | {by_models[m] / m:.3f} | {one / (by_models[m] / m):.1f}× |")
    lines += ["", "| training images (10 models) | seconds per epoch | per 10,000 images |", "|---|---|---|"]
    for n in sorted(by_size):
        lines.append(f"| {n:,} | {by_size[n]:.2f} | {by_size[n] / n * 1e4:.2f} |")
    return lines
