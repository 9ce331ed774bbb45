"""Users' models many at once: the seeds of one configuration of a user's ``nn.Module`` trained as one, with
``torch.func`` — each run's model built as it is alone (its own seed, so its own initial weights), the parameters and
buffers stacked along a model axis (``stack_module_state``), and one model's forward (``functional_call``) mapped over
that axis (``vmap``). Each run keeps its own data order (the loop's batches), optimizer state (the optimizer's update
is element-wise, so stacked state is each run's own), flooding and divergence; the numbers are those of one run at a
time (tested in float64).

A model that ``vmap`` cannot map — data-dependent control flow, in-place updates vmap refuses (batched values written
into a tensor the models share; BatchNorm's running statistics are stacked per run and work), random draws (dropout:
a run's draws must follow its own seed) — trains one run at a time: :func:`refusal` says why, from one trial step and
evaluation of a scratch copy (which is also the warm-up). Models with convolutions are stacked too, also on the CPU:
unlike actlab's own CNNs, users' models stacked this way were measured faster than one at a time there
(docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch
from torch.func import functional_call, stack_module_state, vmap

from actlab.data.prepared import PreparedData
from actlab.models.user_build import build_model, check_output
from actlab.train.config import RunConfig
from actlab.train.device import DeviceData, synchronize
from actlab.train.loop import Engine
from actlab.train.optim import TorchOptimizer


class FuncEngine(Engine):
    """M runs of one user's model that differ only in seed, stacked with ``torch.func``."""

    def __init__(
        self, configs: Sequence[RunConfig], data: PreparedData, tensors: DeviceData, fused: bool = False
    ) -> None:
        super().__init__(configs[0], tensors, len(configs))
        samples = tensors.samples()[:2]
        modules = []
        for config in configs:
            module = build_model(config, fused).to(device=tensors.device, dtype=tensors.x_rows.dtype)
            check_output(module.eval(), samples, data, config)
            modules.append(module)
        self.params, self.buffers = stack_module_state(modules)
        self.base = modules[0]  # the structure functional_call runs; its own tensors are replaced by the stacked ones
        self.optimizer = TorchOptimizer(configs[0], [p for p in self.params.values() if p.requires_grad])

        def one(params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
            return functional_call(self.base, (params, buffers), (x,))

        self._each = vmap(one, in_dims=(0, 0, 0), randomness="error")
        self._shared = vmap(one, in_dims=(0, 0, None), randomness="error")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._each(self.params, self.buffers, x)

    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        return self._shared(self.params, self.buffers, x)

    def set_training(self, training: bool) -> None:
        self.base.train(training)


_refusals: dict[Hashable, str | None] = {}


def refusal(
    key: Hashable, configs: Sequence[RunConfig], data: PreparedData, tensors: DeviceData, fused: bool
) -> str | None:
    """Why ``configs`` cannot train stacked (None: they can). Decided once per process for each ``key`` by one step
    and one evaluation of a scratch engine — the process's warm-up for these runs, outside any timed epoch."""
    if key in _refusals:
        return _refusals[key]
    if configs[0].diagnostics:
        reason = "diagnostics measure a user's model one run at a time"
    else:
        reason = _trial(configs, data, tensors, fused)
    _refusals[key] = reason
    return reason


def _trial(configs: Sequence[RunConfig], data: PreparedData, tensors: DeviceData, fused: bool) -> str | None:
    """One step in training mode and one evaluation of a scratch engine of two runs; why it failed, if it did."""
    scratch_configs = list(configs[:2])
    try:
        with torch.random.fork_rng(devices=[]):
            scratch = FuncEngine(scratch_configs, data, tensors, fused)
            b = min(configs[0].batch_size, len(tensors.x_rows))
            index = torch.arange(b, device=tensors.device).repeat(scratch.models)
            targets = tensors.y_train.index_select(0, index).view(scratch.models, b, *tensors.y_train.shape[1:])
            scratch.set_training(True)
            scratch.step(tensors.x_rows.index_select(0, index), targets)
            scratch.evaluate(tensors.x_test[:b], tensors.y_test[:b])
            synchronize(tensors.device)
    except Exception as error:  # whatever vmap refuses: the runs train one at a time, as they would anyway
        if type(error).__module__.startswith("actlab"):
            raise  # the model itself is wrong (it does not build, its output does not fit): one clear error
        return f"torch.func cannot stack it ({type(error).__name__}: {_first_line(error)})"
    return None


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else "no message"
