"""The torch engine: trains a group of runs that share everything but seed, activation and init as one
stacked network (see :mod:`actlab.models.batched`), with the data resident on the device, batches
gathered by index, and one host synchronisation per epoch."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from actlab.backends.host_memory import retain_freed_memory
from actlab.data.prepared import PreparedData, prepare_for
from actlab.errors import ActlabError
from actlab.models.batched import StackedNetwork
from actlab.models.spec import init_weights, parse_model, run_streams, weight_shapes
from actlab.train.backprop import HandBackprop, supports_hand_backprop
from actlab.train.config import RunConfig
from actlab.train.grouping import GROUPINGS, group_runs  # noqa: F401  (re-exported)
from actlab.train.metrics import EpochLog, EpochMetrics, RunResult
from actlab.train.optim import TorchOptimizer, lr_factor

EpochCallback = Callable[[RunConfig, EpochMetrics], None]
EVAL_CHUNK = 2000


class DeviceError(ActlabError):
    """A device that this machine does not have."""


def resolve_device(name: str) -> torch.device:
    """The torch device a run's ``device`` setting names here (``auto``: CUDA if there is one)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} requested but CUDA is not available on this machine (use cpu or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r} requested but this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    return device


def train_runs(
    configs: Sequence[RunConfig],
    data_dir=None,
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    group: str = "activation",
    autograd: bool = False,
    fused: bool = False,
    data: PreparedData | None = None,
) -> list[RunResult]:
    """Train every run, grouped as :func:`group_runs` says; results come back in the order of ``configs``.
    ``autograd``: use autograd even where hand-written backpropagation applies (the reference in tests);
    ``fused``: activations without a native kernel run as compiled kernels (:mod:`actlab.backends.fused`);
    ``data``: train on these arrays instead of loading each run's dataset."""
    from actlab.train.numpy_trainer import train_numpy
    from actlab.train.user_trainer import train_user_run

    results: dict[int, RunResult] = {}
    position = {id(c): i for i, c in enumerate(configs)}
    for runs in group_runs(configs, group):
        prepared = data if data is not None else prepare_for(runs[0], data_dir)
        if runs[0].is_user_model():
            outcome = [train_user_run(runs[0], prepared, on_epoch, fused)]
        elif runs[0].backend == "numpy":
            outcome = [train_numpy(runs[0], prepared, on_epoch, record_steps)]
        else:
            outcome = train_group(runs, prepared, on_epoch, record_steps, autograd, fused)
        for config, result in zip(runs, outcome, strict=True):
            results[position[id(config)]] = result
    return [results[i] for i in range(len(configs))]


def _precision(device: torch.device, mixed: bool) -> torch.autocast:
    """bfloat16 mixed precision (``dtype="bfloat16"``): products, convolutions and activations in bfloat16,
    weights, gradients and the optimizer in float32 — ``torch.autocast``."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=mixed)


def _widened(logits: torch.Tensor) -> torch.Tensor:
    """Logits for the loss: bfloat16 ones in float32, others as they are."""
    return logits.float() if logits.dtype == torch.bfloat16 else logits


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class DeviceData:
    """One group's copy of the (read-only, shared) arrays on the device. Training inputs are rows (N, features),
    so that a batch is one ``index_select`` (8× cheaper than advanced indexing)."""

    x_rows: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    sample_shape: tuple[int, ...]
    classes: int

    @classmethod
    def of(cls, data: PreparedData, dtype: torch.dtype, device: torch.device) -> DeviceData:
        rows = data.x_train.reshape(len(data.x_train), -1)
        return cls(
            torch.tensor(rows, dtype=dtype, device=device),
            torch.tensor(data.y_train, device=device),
            torch.tensor(data.x_test, dtype=dtype, device=device),
            torch.tensor(data.y_test, device=device),
            tuple(data.x_train.shape[1:]),
            data.classes,
        )


class Stepper:
    """One training step of a stacked network: hand-written backpropagation (plain SGD fused into it) for MLPs
    with fixed activations, unless ``autograd`` or mixed precision; else autograd. The optimizer is
    :class:`~actlab.train.optim.TorchOptimizer`."""

    def __init__(self, net: StackedNetwork, config: RunConfig, device: torch.device, autograd: bool = False) -> None:
        self.net = net
        self.meter = None  # a GradientMeter with --diagnostics
        self.device = device
        self.mixed = config.dtype == "bfloat16"
        self.flood = config.flooding
        self.optimizer = TorchOptimizer(config, net.parameters())
        self.hand = None
        if not autograd and not self.mixed and supports_hand_backprop(net):
            self.hand = HandBackprop(net, fused_sgd=config.optimizer == "sgd", weight_decay=config.weight_decay)

    def __call__(
        self, rows: torch.Tensor, targets: torch.Tensor, sample_shape: tuple[int, ...], classes: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on ``rows`` (M·B, features) with ``targets`` (M, B); each model's mean loss (M,) and the logits."""
        models, b = targets.shape
        measured = self.meter is not None and self.meter.wants()
        if self.hand is not None:
            meter = self.meter if measured else None
            losses, logits = self.hand.step(rows.view(models, b, -1), targets, self.flood, self.optimizer.lr, meter)
            if not self.hand.fused_sgd:
                self.optimizer.step()
            return losses, logits
        with _precision(self.device, self.mixed):
            logits = _widened(self.net(rows.view(models, b, *sample_shape)))
        losses = (
            F.cross_entropy(logits.reshape(-1, classes), targets.reshape(-1), reduction="none").view(models, b).mean(1)
        )
        objective = (losses - self.flood).abs() + self.flood if self.flood is not None else losses
        self.optimizer.zero_grad()
        objective.sum().backward()
        if measured:
            for i, weight in enumerate(self.net.weights):
                self.meter.add(i, weight.grad)
        self.optimizer.step()
        return losses, logits


def _build(
    configs: Sequence[RunConfig], data: PreparedData, dtype: torch.dtype, device: torch.device, fused: bool
) -> StackedNetwork:
    """The stacked network of ``configs`` with each run's initial weights (from its own seed)."""
    first = configs[0]
    spec = parse_model(first.model)
    shapes = weight_shapes(spec, data.input_shape, data.classes, first.expansion())
    weights = [init_weights(shapes, c.init_scheme(), run_streams(c.seed)[0]) for c in configs]
    return StackedNetwork(spec, shapes, [c.activation_object() for c in configs], weights, dtype, device, fused)


_warmed: set[tuple] = set()


def warm_up(
    configs: Sequence[RunConfig],
    data: PreparedData,
    tensors: DeviceData,
    dtype: torch.dtype,
    device: torch.device,
    fused: bool,
    autograd: bool,
) -> None:
    """One step and one evaluation of a scratch copy of the network, before anything is timed: the process's
    one-off start-up (thread pools, allocator, first kernel calls, compiling fused kernels) then falls on no
    run's first epoch. Nothing of the real runs is touched — their weights, their data order, the seeded noise.
    Once per process for each architecture, set of activations, precision, device and kind of step."""
    first = configs[0]
    key = (
        first.model,
        tuple(c.activation for c in configs),
        dtype,
        device,
        fused,
        autograd,
        first.optimizer,
        first.dtype,
        tensors.sample_shape,
    )
    if key in _warmed:
        return
    _warmed.add(key)
    scratch = _build(configs, data, dtype, device, fused)
    step = Stepper(scratch, configs[0], device, autograd)
    models, b = len(configs), min(configs[0].batch_size, len(tensors.x_rows))
    index = torch.arange(b, device=device).repeat(models)
    targets = tensors.y_train.index_select(0, index).view(models, b)
    scratch.train()
    step(tensors.x_rows.index_select(0, index), targets, tensors.sample_shape, tensors.classes)
    with _precision(device, step.mixed):
        evaluate(scratch, tensors.x_test[:b], tensors.y_test[:b], tensors.classes)
    _synchronize(device)


def train_group(
    configs: Sequence[RunConfig],
    data: PreparedData,
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    autograd: bool = False,
    fused: bool = False,
) -> list[RunResult]:
    """Train ``configs`` (equal group keys) together; each gets the numbers it would get alone.

    Data resident on the device, batches gathered by index, one host synchronisation per epoch; each epoch's
    seconds (training and evaluating the test set, divided among the models) exclude start-up (:func:`warm_up`)."""
    first = configs[0]
    if any(c.group_key() != first.group_key() for c in configs):
        raise ValueError("train_group needs runs that differ only in seed, activation and init")
    device = resolve_device(first.device)
    if device.type == "cpu":
        retain_freed_memory()
    dtype = torch.float64 if first.dtype == "float64" else torch.float32
    tensors = DeviceData.of(data, dtype, device)
    warm_up(configs, data, tensors, dtype, device, fused, autograd)
    net = _build(configs, data, dtype, device, fused)
    step = Stepper(net, first, device, autograd)
    batches = Batches(tensors, [run_streams(c.seed)[1] for c in configs], first.batch_size)
    probe = Probe(configs, tensors, net, step) if first.diagnostics else None
    torch.manual_seed(first.seed)  # stochastic activations (rrelu) draw from torch's generator
    log = EpochLog(configs, on_epoch)
    steps: list[torch.Tensor] | None = [] if record_steps else None
    for epoch in range(first.epochs):
        started = time.perf_counter()
        step.optimizer.lr = first.lr * lr_factor(first, epoch)
        if probe is not None:
            probe.begin_epoch()
        train_loss, train_accuracy = _train_epoch(net, step, batches, tensors, steps)
        with _precision(device, step.mixed):
            test_loss, test_correct = evaluate(net, tensors.x_test, tensors.y_test, tensors.classes)
        _synchronize(device)
        seconds = (time.perf_counter() - started) / len(configs)
        test_accuracy = (test_correct.double() / len(tensors.x_test)).tolist()
        diagnostics = probe.measure() if probe is not None else None  # after the timing: not part of an epoch
        log.record(epoch + 1, train_loss, train_accuracy, test_loss.tolist(), test_accuracy, seconds, diagnostics)
        if log.finished:
            break
    return log.results(torch.stack(steps).T.tolist() if steps else None)


class Probe:
    """``--diagnostics`` for a stacked network: each model's probe set (fixed by its seed) on the device, the gradient
    meter the stepper feeds, and the per-layer measurements at the end of each epoch."""

    def __init__(self, configs: Sequence[RunConfig], tensors: DeviceData, net: StackedNetwork, step: Stepper) -> None:
        from actlab.train import diagnostics

        self.diagnostics, self.net, self.configs = diagnostics, net, configs
        n = len(tensors.x_rows)
        index = np.stack([diagnostics.probe_indices(c.seed, n) for c in configs])
        self.x = tensors.x_rows[torch.as_tensor(index.reshape(-1), device=tensors.x_rows.device)].view(
            len(configs), index.shape[1], *tensors.sample_shape
        )
        steps = -(-n // configs[0].batch_size)
        step.meter = self.meter = diagnostics.GradientMeter(list(net.weights), len(configs), steps)
        self.largest = [diagnostics.max_slope(c.activation_object()) for c in configs]

    def begin_epoch(self) -> None:
        self.meter.begin_epoch()

    @torch.no_grad()
    def measure(self) -> list:
        """Each model's layers (:class:`~actlab.train.diagnostics_data.LayerDiagnostics`) now."""
        self.net.eval()
        record: list = []
        self.net(self.x, record)
        threshold = self.configs[0].saturation_threshold
        statistics = [self.diagnostics.layer_statistics(z, slope, self.largest, threshold) for z, slope in record]
        return self.diagnostics.assemble(statistics, self.meter.end_epoch())


class Batches:
    """One epoch's minibatches of every model: each model's own data order (its seed's), gathered by index into a
    buffer reused from batch to batch (no fresh pages)."""

    def __init__(self, tensors: DeviceData, orders: Sequence[np.random.Generator], batch_size: int) -> None:
        self.tensors, self.orders, self.batch_size = tensors, orders, batch_size
        self.models = len(orders)
        self.buffer = tensors.x_rows.new_empty(self.models * batch_size, tensors.x_rows.shape[1])

    def __iter__(self):
        """(rows (M·B, features), targets (M, B)) for each batch of a new epoch."""
        x_rows, device = self.tensors.x_rows, self.tensors.x_rows.device
        n = len(x_rows)
        order = torch.as_tensor(np.stack([o.permutation(n) for o in self.orders]), device=device)
        for start in range(0, n, self.batch_size):
            flat = order[:, start : start + self.batch_size].reshape(-1)
            b = len(flat) // self.models
            rows = torch.index_select(x_rows, 0, flat, out=self.buffer[: self.models * b])
            yield rows, self.tensors.y_train.index_select(0, flat).view(self.models, b)


def _train_epoch(
    net: StackedNetwork, step: Stepper, batches: Batches, tensors: DeviceData, steps: list[torch.Tensor] | None
) -> tuple[list[float], list[float]]:
    """One pass over the training set; each model's mean loss and accuracy over its batches."""
    net.train()
    device, n = tensors.x_rows.device, len(tensors.x_rows)
    loss_sum = torch.zeros(batches.models, dtype=torch.float64, device=device)
    correct = torch.zeros(batches.models, dtype=torch.int64, device=device)
    for rows, targets in batches:
        losses, logits = step(rows, targets, tensors.sample_shape, tensors.classes)
        with torch.no_grad():
            loss_sum += losses.detach().double() * targets.shape[1]
            correct += (logits.argmax(-1) == targets).sum(1)
        if steps is not None:
            steps.append(losses.detach())
    return (loss_sum / n).tolist(), (correct.double() / n).tolist()


@torch.no_grad()
def evaluate(net: StackedNetwork, x: torch.Tensor, y: torch.Tensor, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy and number correct on (x, y) for every model, in chunks, without syncing."""
    net.eval()
    loss = torch.zeros(net.models, dtype=torch.float64, device=x.device)
    correct = torch.zeros(net.models, dtype=torch.int64, device=x.device)
    for start in range(0, len(x), EVAL_CHUNK):
        logits = _widened(net(x[start : start + EVAL_CHUNK]))
        target = y[start : start + EVAL_CHUNK].unsqueeze(0).expand(net.models, -1)
        loss += (
            F.cross_entropy(logits.reshape(-1, classes), target.reshape(-1), reduction="none")
            .view(net.models, -1)
            .double()
            .sum(1)
        )
        correct += (logits.argmax(-1) == target).sum(1)
    return loss / len(x), correct
