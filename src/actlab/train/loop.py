"""The one epoch loop every torch run trains through, and the engine it drives.

The loop owns what every model shares: the learning-rate schedule, each run's batches in its own data order, the
epoch's sums of losses and correct answers, the evaluation of the test set, the timing (one host synchronisation per
epoch; a warm-up outside the timed epochs), the diagnostics probe after the timing, the :class:`EpochLog` and
divergence. An :class:`Engine` owns only how M models step and evaluate: the stacked network
(:mod:`actlab.train.stacked`), a user's module (:mod:`actlab.train.user_engine`) or users' modules stacked with
``torch.func`` (:mod:`actlab.train.func_engine`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from typing import Any

import torch

from actlab.models.spec import run_streams
from actlab.train import threads
from actlab.train.config import RunConfig
from actlab.train.device import Batches, DeviceData, precision, synchronize, widened
from actlab.train.losses import batch_losses, correct, example_losses, flooded
from actlab.train.metrics import EpochLog, EpochMetrics, RunResult
from actlab.train.optim import TorchOptimizer, lr_factor

EpochCallback = Callable[[RunConfig, EpochMetrics], None]
EVAL_CHUNK = 2000


class Engine:
    """M models that train together (M = 1 for one run): the loop calls :meth:`step` for each batch and
    :meth:`evaluate` after each epoch. The default step is autograd through :meth:`forward`; a subclass gives its
    forward passes, the optimizer and, where it measures diagnostics, ``probe`` and :meth:`after_backward`."""

    models: int
    optimizer: TorchOptimizer
    probe: Any = None  # with --diagnostics: begin_epoch(), and measure() → each model's layers

    def __init__(self, config: RunConfig, tensors: DeviceData, models: int) -> None:
        self.models, self.tensors = models, tensors
        self.mixed = config.dtype == "bfloat16"
        self.flood, self.regression = config.flooding, config.regression

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (M, B, …) of each model on its own batch ``x`` (M, B, *sample_shape)."""
        raise NotImplementedError

    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (M, B, …) of every model on one batch ``x`` (B, *sample_shape)."""
        raise NotImplementedError

    def set_training(self, training: bool) -> None:
        """Training or evaluation mode (dropout, normalisation statistics)."""

    def after_backward(self) -> None:
        """After a step's backward, before the update: where a diagnostics meter takes the gradients."""

    def step(self, rows: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step on ``rows`` (M·B, features) with ``targets`` (M, B, …): each model's mean loss (M,) before the
        update and the outputs (M, B, …)."""
        x = rows.view(self.models, targets.shape[1], *self.tensors.sample_shape)
        with precision(self.tensors.device, self.mixed):
            out = widened(self.forward(x))
        losses = batch_losses(out, targets, self.regression)
        self.optimizer.zero_grad()
        flooded(losses, self.flood).sum().backward()
        self.after_backward()
        self.optimizer.step()
        return losses, out

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each model's mean loss (M,) and number correct (M,) on (x, y), in chunks, without a host sync."""
        self.set_training(False)
        loss = torch.zeros(self.models, dtype=torch.float64, device=x.device)
        right = torch.zeros(self.models, dtype=torch.int64, device=x.device)
        for start in range(0, len(x), EVAL_CHUNK):
            chunk = y[start : start + EVAL_CHUNK]
            target = chunk.unsqueeze(0).expand(self.models, *chunk.shape)
            with precision(x.device, self.mixed):
                out = widened(self.forward_shared(x[start : start + EVAL_CHUNK]))
            loss += example_losses(out, target, self.regression).double().sum(1)
            right += correct(out, target, self.regression)
        return loss / len(x), right


def train_loop(
    engine: Engine,
    configs: Sequence[RunConfig],
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    path: str | None = None,
    flops: float | None = None,
) -> list[RunResult]:
    """Train ``engine``'s models (one per config, equal but for seed, activation and init) for the runs' epochs.

    Each epoch's seconds (training and evaluating the test set, divided among the models) exclude start-up
    (:func:`warm_up`) and the diagnostics probe; a run whose loss is no longer finite records nothing after. ``path``:
    how the runs trained, for their summaries (``Summary.engine``). They train on as many CPU threads as a step of
    ``flops`` floating-point operations fills among the cores free now (:func:`actlab.train.threads.choose`; at
    most the threads this process was given) unless a count is fixed (:func:`actlab.train.threads.fixed`), recorded
    in each summary (``Summary.threads``)."""
    count = threads.given() or threads.choose(flops, cap=torch.get_num_threads())
    with threads.using(count):
        results = _train(engine, configs, on_epoch, record_steps)
    return [replace(r, summary=replace(r.summary, engine=path, threads=count)) for r in results]


def _train(
    engine: Engine, configs: Sequence[RunConfig], on_epoch: EpochCallback | None, record_steps: bool
) -> list[RunResult]:
    """:func:`train_loop`'s epochs."""
    first, tensors = configs[0], engine.tensors
    batches = Batches(tensors, [run_streams(c.seed).order for c in configs], first.batch_size)
    torch.manual_seed(first.seed)  # dropout and stochastic activations draw from torch's generator
    log = EpochLog(configs, on_epoch)
    steps: list[torch.Tensor] | None = [] if record_steps else None
    nan = float("nan")
    for epoch in range(first.epochs):
        started = time.perf_counter()
        engine.optimizer.lr = first.lr * lr_factor(first, epoch)
        if engine.probe is not None:
            engine.probe.begin_epoch()
        train_loss, train_accuracy = _train_epoch(engine, batches, steps)
        test_loss, test_correct = engine.evaluate(tensors.x_test, tensors.y_test)
        synchronize(tensors.device)
        seconds = (time.perf_counter() - started) / len(configs)
        test_accuracy = (test_correct.double() / len(tensors.x_test)).tolist()
        if tensors.regression:
            train_accuracy = test_accuracy = [nan] * len(configs)
        diagnostics = engine.probe.measure() if engine.probe is not None else None  # after the timing
        log.record(epoch + 1, train_loss, train_accuracy, test_loss.tolist(), test_accuracy, seconds, diagnostics)
        if log.finished:
            break
    return log.results(torch.stack(steps).T.tolist() if steps else None)


def _train_epoch(engine: Engine, batches: Batches, steps: list[torch.Tensor] | None) -> tuple[list[float], list[float]]:
    """One pass over the training set: each model's mean loss and accuracy over its batches."""
    engine.set_training(True)
    device, n = engine.tensors.device, len(engine.tensors.x_rows)
    loss_sum = torch.zeros(batches.models, dtype=torch.float64, device=device)
    right = torch.zeros(batches.models, dtype=torch.int64, device=device)
    for rows, targets in batches:
        losses, out = engine.step(rows, targets)
        with torch.no_grad():
            loss_sum += losses.detach().double() * targets.shape[1]
            right += correct(out.detach(), targets, engine.regression)
        if steps is not None:
            steps.append(losses.detach())
    return (loss_sum / n).tolist(), (right.double() / n).tolist()


_warmed: dict[Hashable, float | None] = {}


def warm_up(key: Hashable, make: Callable[[], Engine], batch_size: int, count: bool = True) -> float | None:
    """One step and one evaluation of a scratch engine (``make()``), before anything is timed: the process's one-off
    start-up (thread pools, allocator, first kernel calls, compiling fused kernels) then falls on no run's first
    epoch. Nothing of the real runs is touched — their weights, their data order, the seeded noise. Once per process
    for each ``key`` (the engine's kind, architecture, activations, precision and device). Returns the step's
    floating-point operations, counted on that step (:func:`actlab.train.threads.step_flops`), or None where
    ``count`` is False (compiled kernels: a counting mode would compile them again)."""
    if key in _warmed:
        return _warmed[key]
    scratch = make()
    tensors = scratch.tensors
    b = min(batch_size, len(tensors.x_rows))
    index = torch.arange(b, device=tensors.device).repeat(scratch.models)
    targets = tensors.y_train.index_select(0, index).view(scratch.models, b, *tensors.y_train.shape[1:])
    scratch.set_training(True)

    def step() -> None:
        scratch.step(tensors.x_rows.index_select(0, index), targets)

    flops = threads.step_flops(step) if count else step()
    scratch.evaluate(tensors.x_test[:b], tensors.y_test[:b])
    synchronize(tensors.device)
    _warmed[key] = flops
    return flops
