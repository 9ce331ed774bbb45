"""Training runs with torch: each group of runs (:func:`~actlab.train.grouping.group_runs`) goes through the one
epoch loop (:mod:`actlab.train.loop`) with the engine that fits it — the stacked network for actlab's own models, a
user's module one run at a time — or through the NumPy reference engine."""

from __future__ import annotations

from collections.abc import Sequence

from actlab.data.prepared import PreparedData, prepare_for
from actlab.train import threads as cpu_threads
from actlab.train.config import RunConfig
from actlab.train.device import DeviceData, DeviceError, placement, resolve_device  # noqa: F401  (re-exported)
from actlab.train.func_engine import FuncEngine, refusal
from actlab.train.grouping import GROUPINGS, group_runs  # noqa: F401  (re-exported)
from actlab.train.loop import EpochCallback, train_loop, warm_up
from actlab.train.metrics import RunResult
from actlab.train.numpy_trainer import train_numpy
from actlab.train.stacked import StackedEngine
from actlab.train.user_engine import ModuleEngine


def train_runs(
    configs: Sequence[RunConfig],
    data_dir=None,
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    group: str = "activation",
    autograd: bool = False,
    fused: bool = False,
    data: PreparedData | None = None,
    threads: int | None = None,
) -> list[RunResult]:
    """Train every run, grouped as :func:`group_runs` says; results come back in the order of ``configs``.
    ``threads``: the CPU threads every group trains on (default: chosen per group from its work and the free cores,
    :mod:`actlab.train.threads`; each run records the count).
    ``autograd``: use autograd even where hand-written backpropagation applies (the reference in tests);
    ``fused``: activations without a native kernel run as compiled kernels (:mod:`actlab.backends.fused`);
    ``data``: train on these arrays instead of loading each run's dataset."""
    with cpu_threads.fixed(threads):
        return _train_groups(configs, data_dir, on_epoch, record_steps, group, autograd, fused, data)


def _train_groups(configs, data_dir, on_epoch, record_steps, group, autograd, fused, data) -> list[RunResult]:
    """:func:`train_runs`, group by group."""
    results: dict[int, RunResult] = {}
    position = {id(c): i for i, c in enumerate(configs)}
    for runs in group_runs(configs, group):
        prepared = data if data is not None else prepare_for(runs[0], data_dir)
        if runs[0].is_user_model():
            outcome = train_user_group(runs, prepared, on_epoch, fused, record_steps)
        elif runs[0].backend == "numpy":
            outcome = [train_numpy(runs[0], prepared, on_epoch, record_steps)]
        else:
            outcome = train_group(runs, prepared, on_epoch, record_steps, autograd, fused)
        for config, result in zip(runs, outcome, strict=True):
            results[position[id(config)]] = result
    return [results[i] for i in range(len(configs))]


def _tensors(config: RunConfig, data: PreparedData) -> DeviceData:
    device, dtype = placement(config)
    return DeviceData.of(data, dtype, device, config.regression)


def _engine_key(kind: str, config: RunConfig, tensors: DeviceData, fused: bool, *extra: object) -> tuple:
    """What makes two engines alike for a warm-up (and a trial step): their kind, architecture, optimizer,
    precision, loss, device, input shape and kernels, and what else ``extra`` names for that kind."""
    model = (config.model, config.optimizer, config.dtype, config.loss)
    return (kind, *model, str(tensors.device), tensors.sample_shape, fused, *extra)


def train_group(
    configs: Sequence[RunConfig],
    data: PreparedData,
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    autograd: bool = False,
    fused: bool = False,
) -> list[RunResult]:
    """Train ``configs`` (equal group keys) together as one stacked network; each gets the numbers it would get
    alone."""
    first = configs[0]
    if any(c.group_key() != first.group_key() for c in configs):
        raise ValueError("train_group needs runs that differ only in seed, activation and init")
    tensors = _tensors(first, data)
    key = _engine_key("stacked", first, tensors, fused, tuple(c.activation for c in configs), autograd)
    flops = warm_up(key, lambda: StackedEngine(configs, data, tensors, fused, autograd), first.batch_size, not fused)
    engine = StackedEngine(configs, data, tensors, fused, autograd)
    return train_loop(engine, configs, on_epoch, record_steps, flops=flops)


def train_user_group(
    configs: Sequence[RunConfig],
    data: PreparedData,
    on_epoch: EpochCallback | None = None,
    fused: bool = False,
    record_steps: bool = False,
) -> list[RunResult]:
    """Train the seeds of one configuration of a user's model: stacked with ``torch.func`` where the model allows it
    (:mod:`actlab.train.func_engine`), else one run at a time; each run's summary says which (``engine``)."""
    first = configs[0]
    if len(configs) == 1:
        return [train_user_run(first, data, on_epoch, fused, record_steps)]
    tensors = _tensors(first, data)
    key = _engine_key("func", first, tensors, fused, first.model_sha256, first.activation, first.diagnostics)
    reason = refusal(key, configs, data, tensors, fused)
    if reason is None:
        path = f"stacked with torch.func ({len(configs)} runs)"
        one = _warm_module(first, data, tensors, fused)  # a step of one of the models: the stack does it M times
        flops = None if one is None else one * len(configs)
        return train_loop(FuncEngine(configs, data, tensors, fused), configs, on_epoch, record_steps, path, flops)
    path = f"one at a time: {reason}"
    return [train_user_run(c, data, on_epoch, fused, record_steps, path) for c in configs]


def train_user_run(
    config: RunConfig,
    data: PreparedData,
    on_epoch: EpochCallback | None = None,
    fused: bool = False,
    record_steps: bool = False,
    path: str | None = "one at a time",
) -> RunResult:
    """Train one run of a user's model; its result, as actlab's own models give it."""
    tensors = _tensors(config, data)
    flops = _warm_module(config, data, tensors, fused)
    return train_loop(ModuleEngine(config, data, tensors, fused), [config], on_epoch, record_steps, path, flops)[0]


def _warm_module(config: RunConfig, data: PreparedData, tensors: DeviceData, fused: bool) -> float | None:
    """:func:`warm_up` for one run of a user's model; a step's floating-point operations."""
    key = _engine_key("module", config, tensors, fused, config.model_sha256, config.activation)
    return warm_up(key, lambda: ModuleEngine(config, data, tensors, fused), config.batch_size, not fused)
