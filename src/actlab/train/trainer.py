"""The torch engine: trains a group of runs that share everything but seed, activation and init as one
stacked network (see :mod:`actlab.models.batched`), with the data resident on the device, batches
gathered by index, and one host synchronisation per epoch."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from actlab.backends.host_memory import retain_freed_memory
from actlab.data.prepared import PreparedData, prepare_for
from actlab.models.batched import StackedNetwork
from actlab.models.spec import init_weights, parse_model, run_streams, weight_shapes
from actlab.train.backprop import HandBackprop, supports_hand_backprop
from actlab.train.config import RunConfig
from actlab.train.metrics import EpochMetrics, RunResult, summarize
from actlab.train.optim import lr_factor, torch_optimizer

EpochCallback = Callable[[RunConfig, EpochMetrics], None]
EVAL_CHUNK = 2000


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but CUDA is not available")
    return device


GROUPINGS = ("activation", "all", "none")


def group_runs(configs: Sequence[RunConfig], by: str = "activation") -> list[list[RunConfig]]:
    """Runs to train as one stacked network, in first-seen order.

    ``activation``: the seeds (and inits) of one activation together, so each activation's time per epoch
    is its own; ``all``: everything that can share a network (fastest overall); ``none``: one at a time.
    NumPy-backend runs are always alone, and so are CNNs on the CPU: convolutions are compute-bound, so
    stacking saves no dispatch time there, while M-fold larger feature maps fall out of cache (measured no
    faster than one at a time; see docs/benchmarks.md), and a run trained alone is stored as soon as it ends.
    """
    if by not in GROUPINGS:
        raise ValueError(f"grouping {by!r}: use one of {', '.join(GROUPINGS)}")
    groups: dict[str, list[RunConfig]] = {}
    for i, config in enumerate(configs):
        cnn_on_cpu = parse_model(config.model).kind == "cnn" and resolve_device(config.device).type == "cpu"
        if config.backend != "torch" or by == "none" or cnn_on_cpu:
            key = f"alone-{i}"
        else:
            key = config.group_key() + (config.activation if by == "activation" else "")
        groups.setdefault(key, []).append(config)
    return list(groups.values())


def train_runs(configs: Sequence[RunConfig], data_dir=None, on_epoch: EpochCallback | None = None,
               record_steps: bool = False, group: str = "activation", autograd: bool = False,
               fused: bool = False) -> list[RunResult]:
    """Train every run, grouped as :func:`group_runs` says; results come back in the order of ``configs``.
    ``autograd``: use autograd even where hand-written backpropagation applies (the reference in tests);
    ``fused``: activations without a native kernel run as compiled kernels (:mod:`actlab.backends.fused`)."""
    from actlab.train.numpy_trainer import train_numpy

    results: dict[int, RunResult] = {}
    position = {id(c): i for i, c in enumerate(configs)}
    batches = group_runs(configs, group)
    for batch in batches:
        data = prepare_for(batch[0], data_dir)
        if batch[0].backend == "numpy":
            outcome = [train_numpy(batch[0], data, on_epoch, record_steps)]
        else:
            outcome = train_group(batch, data, on_epoch, record_steps, autograd, fused)
        for config, result in zip(batch, outcome):
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


def train_group(configs: Sequence[RunConfig], data: PreparedData, on_epoch: EpochCallback | None = None,
                record_steps: bool = False, autograd: bool = False, fused: bool = False) -> list[RunResult]:
    """Train ``configs`` (equal group keys) together; each gets the numbers it would get alone.

    MLPs with fixed activations are trained by :class:`~actlab.train.backprop.HandBackprop` (plain SGD
    fused into it) unless ``autograd`` or mixed precision; everything else by autograd and ``torch.optim``."""
    first = configs[0]
    if any(c.group_key() != first.group_key() for c in configs):
        raise ValueError("train_group needs runs that differ only in seed, activation and init")
    device = resolve_device(first.device)
    if device.type == "cpu":
        retain_freed_memory()
    dtype = torch.float64 if first.dtype == "float64" else torch.float32
    mixed = first.dtype == "bfloat16"
    models = len(configs)
    spec = parse_model(first.model)
    shapes = weight_shapes(spec, data.input_shape, data.classes)
    streams = [run_streams(c.seed) for c in configs]
    weights = [init_weights(shapes, c.init_scheme(), s[0]) for c, s in zip(configs, streams)]
    net = StackedNetwork(spec, shapes, [c.activation_object() for c in configs], weights, dtype, device, fused)
    optimizer = torch_optimizer(first, net.parameters())
    hand = None
    if not autograd and not mixed and supports_hand_backprop(net):
        hand = HandBackprop(net, fused_sgd=first.optimizer == "sgd", weight_decay=first.weight_decay)
    torch.manual_seed(first.seed)  # stochastic activations (rrelu) draw from torch's generator

    # one copy of the (read-only, shared) arrays onto the device for the whole group; training inputs are
    # kept as rows (N, features) so a batch is one index_select (8× cheaper than advanced indexing)
    x_rows = torch.tensor(data.x_train.reshape(len(data.x_train), -1), dtype=dtype, device=device)
    sample_shape = data.x_train.shape[1:]
    y_train = torch.tensor(data.y_train, device=device)
    x_test = torch.tensor(data.x_test, dtype=dtype, device=device)
    y_test = torch.tensor(data.y_test, device=device)
    n, batch_size, classes = len(x_rows), first.batch_size, data.classes
    flood = first.flooding

    gathered = x_rows.new_empty(models * batch_size, x_rows.shape[1])  # reused: no fresh pages per batch
    histories: list[list[EpochMetrics]] = [[] for _ in configs]
    diverged: list[int | None] = [None] * models
    steps: list[torch.Tensor] = []
    for epoch in range(first.epochs):
        started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = first.lr * lr_factor(first, epoch)
        order = torch.as_tensor(np.stack([s[1].permutation(n) for s in streams]), device=device)
        net.train()
        loss_sum = torch.zeros(models, dtype=torch.float64, device=device)
        correct = torch.zeros(models, dtype=torch.int64, device=device)
        for start in range(0, n, batch_size):
            index = order[:, start:start + batch_size]
            b = index.shape[1]
            flat = index.reshape(-1)
            rows = torch.index_select(x_rows, 0, flat, out=gathered[:models * b])
            targets = y_train.index_select(0, flat).view(models, b)
            if hand is not None:
                losses, logits = hand.step(rows.view(models, b, -1), targets, flood, optimizer.param_groups[0]["lr"])
                if not hand.fused_sgd:
                    optimizer.step()
            else:
                with _precision(device, mixed):
                    logits = _widened(net(rows.view(models, b, *sample_shape)))
                losses = F.cross_entropy(logits.reshape(-1, classes), targets.reshape(-1), reduction="none").view(models, b).mean(1)
                objective = (losses - flood).abs() + flood if flood is not None else losses
                optimizer.zero_grad(set_to_none=True)
                objective.sum().backward()
                optimizer.step()
            with torch.no_grad():
                loss_sum += losses.detach().double() * b
                correct += (logits.argmax(-1) == targets).sum(1)
            if record_steps:
                steps.append(losses.detach())
        with _precision(device, mixed):
            test_loss, test_correct = evaluate(net, x_test, y_test, classes)
        _synchronize(device)
        seconds = time.perf_counter() - started
        train_loss = (loss_sum / n).tolist()
        train_acc = (correct.double() / n).tolist()
        test_loss, test_acc = test_loss.tolist(), (test_correct.double() / len(x_test)).tolist()
        for m, config in enumerate(configs):
            if diverged[m] is not None:
                continue
            metrics = EpochMetrics(epoch + 1, train_loss[m], train_acc[m], test_loss[m], test_acc[m], seconds / models)
            histories[m].append(metrics)
            if not (math.isfinite(train_loss[m]) and math.isfinite(test_loss[m])):
                diverged[m] = epoch + 1
            if on_epoch is not None:
                on_epoch(config, metrics)
        if all(d is not None for d in diverged):
            break
    step_losses = torch.stack(steps).T.tolist() if steps else [[] for _ in configs]
    return [RunResult(c, histories[m], summarize(histories[m], c.thresholds, diverged[m]), step_losses[m])
            for m, c in enumerate(configs)]


@torch.no_grad()
def evaluate(net: StackedNetwork, x: torch.Tensor, y: torch.Tensor, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy and number correct on (x, y) for every model, in chunks, without syncing."""
    net.eval()
    loss = torch.zeros(net.models, dtype=torch.float64, device=x.device)
    correct = torch.zeros(net.models, dtype=torch.int64, device=x.device)
    for start in range(0, len(x), EVAL_CHUNK):
        logits = _widened(net(x[start:start + EVAL_CHUNK]))
        target = y[start:start + EVAL_CHUNK].unsqueeze(0).expand(net.models, -1)
        loss += F.cross_entropy(logits.reshape(-1, classes), target.reshape(-1), reduction="none").view(net.models, -1).double().sum(1)
        correct += (logits.argmax(-1) == target).sum(1)
    return loss / len(x), correct
