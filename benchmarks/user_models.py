"""Users' models, ten seeds: `actlab.compare` stacking the seeds with torch.func, the same one run at a time, and a
plain PyTorch loop written here (the loop a user would write: a model per seed, torch.optim.SGD, batches by index).

Two models given as `build(act)`: a 64-128-64-10 MLP and the README's SmallCNN (examples/my_model.py), on digits,
5 epochs of SGD at lr 0.1, batch 50 (the quick run: 3 epochs). Each figure is the median wall time of the whole job
(building, training, evaluating every epoch) over the rounds, after one untimed call that pays the process's start-up.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import actlab
from actlab.data.prepared import PreparedData, prepare

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from my_model import build as small_cnn  # noqa: E402

SEEDS, LR, BATCH = 10, 0.1, 50


def mlp(act: Callable[[], nn.Module]) -> nn.Module:
    """The 64-128-64-10 MLP as a user writes it."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), act(), nn.Linear(128, 64), act(), nn.Linear(64, 10))


MODELS = {"MLP 64-128-64-10": mlp, "SmallCNN (README)": small_cnn}


def plain_loop(build: Callable, data: PreparedData, seeds: int, epochs: int) -> float:
    """A plain PyTorch loop over the seeds, one model at a time; its test accuracy after each epoch, as actlab
    measures it. Returns the mean final test accuracy (a check that it learned)."""
    x, y = torch.tensor(data.x_train), torch.tensor(data.y_train, dtype=torch.int64)
    x_test, y_test = torch.tensor(data.x_test), torch.tensor(data.y_test, dtype=torch.int64)
    accuracies = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = build(nn.ReLU)
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(x))
            for start in range(0, len(x), BATCH):
                index = order[start : start + BATCH]
                optimizer.zero_grad()
                F.cross_entropy(model(x[index]), y[index]).backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                accuracy = (model(x_test).argmax(1) == y_test).double().mean().item()
        accuracies.append(accuracy)
    return statistics.mean(accuracies)


def actlab_compare(build: Callable, seeds: int, epochs: int, group: str) -> tuple[float, str]:
    """`actlab.compare` on digits with the same settings; the mean final test accuracy and the path it took."""
    cmp = actlab.compare(
        build,
        "digits",
        activations=["relu"],
        seeds=seeds,
        epochs=epochs,
        optimizer="sgd",
        lr=LR,
        batch_size=BATCH,
        device="cpu",
        preprocessing="minmax",
        group=group,
        progress=False,
    )
    path = cmp.results[0].summary.engine or ""
    return statistics.mean(r.summary.final_test_accuracy for r in cmp.results), path


def _timed(job: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    outcome = job()
    return time.perf_counter() - started, outcome


def measure(rounds: int, epochs: int, seeds: int = SEEDS) -> list[dict]:
    """For each model: median seconds of the plain loop, of compare one at a time and stacked, and the paths."""
    data = prepare("digits", "minmax")
    rows = []
    for name, build in MODELS.items():
        jobs = {
            "plain": lambda b=build: plain_loop(b, data, seeds, epochs),
            "alone": lambda b=build: actlab_compare(b, seeds, epochs, "none"),
            "stacked": lambda b=build: actlab_compare(b, seeds, epochs, "activation"),
        }
        for job in jobs.values():
            job()  # start-up: the first call of each in the process
        times: dict[str, list[float]] = {k: [] for k in jobs}
        outcomes: dict[str, object] = {}
        for _ in range(rounds):
            for key, job in jobs.items():  # interleaved, so that load drifts alike on all three
                seconds, outcomes[key] = _timed(job)
                times[key].append(seconds)
        medians = {k: statistics.median(v) for k, v in times.items()}
        rows.append({"model": name, **medians, "path": outcomes["stacked"][1], "accuracy": outcomes["stacked"][0]})
    return rows


def markdown(rows: list[dict], rounds: int, epochs: int, seeds: int = SEEDS) -> list[str]:
    lines = [
        f"## Users' models: {seeds} seeds at once",
        "",
        f"A user's model given to `actlab.compare` as `build(act)`, {seeds} seeds of relu on digits, {epochs} "
        f"epochs of SGD at lr {LR:g}, batch {BATCH}: the whole job's wall time (median of {rounds}), the seeds "
        "stacked with torch.func (`stack_module_state` + `functional_call` + `vmap`), the same one run at a time "
        "(`group=none`), and a plain PyTorch loop written in `benchmarks/user_models.py`. Target: stacked ≥ 6× the "
        "plain loop for the MLP, and never slower than one at a time.",
        "",
        "| model | plain loop s | compare, one at a time s | compare, stacked s | stacked vs plain | stacked vs one at "
        "a time | path |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['plain']:.2f} | {r['alone']:.2f} | {r['stacked']:.2f} | "
            f"{r['plain'] / r['stacked']:.1f}× | {r['alone'] / r['stacked']:.2f}× | {r['path']} |"
        )
    return lines
