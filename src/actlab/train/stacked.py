"""The stacked-network engine: a group of runs that share everything but seed, activation and init trained as one
network (:class:`~actlab.models.batched.StackedNetwork`), stepped by hand-written backpropagation where it applies
(:mod:`actlab.train.backprop`: MLPs with fixed activations, cross-entropy, no mixed precision) and by autograd
otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from actlab.data.prepared import PreparedData
from actlab.models.batched import StackedNetwork
from actlab.models.spec import init_weights, parse_model, run_streams, weight_shapes
from actlab.train import diagnostics
from actlab.train.backprop import HandBackprop, supports_hand_backprop
from actlab.train.config import RunConfig
from actlab.train.device import DeviceData
from actlab.train.loop import Engine
from actlab.train.optim import TorchOptimizer


def build_network(
    configs: Sequence[RunConfig], data: PreparedData, dtype: torch.dtype, device: torch.device, fused: bool
) -> StackedNetwork:
    """The stacked network of ``configs`` with each run's initial weights (from its own seed)."""
    first = configs[0]
    spec = parse_model(first.model)
    shapes = weight_shapes(spec, data.input_shape, data.classes, first.expansion())
    weights = [init_weights(shapes, c.init_scheme(), run_streams(c.seed).init) for c in configs]
    return StackedNetwork(spec, shapes, [c.activation_object() for c in configs], weights, dtype, device, fused)


class StackedEngine(Engine):
    """M runs of actlab's own MLP or CNN as one stacked network. ``autograd``: autograd even where hand-written
    backpropagation applies (the reference in tests); ``fused``: compiled kernels for activations without a native
    one."""

    def __init__(
        self,
        configs: Sequence[RunConfig],
        data: PreparedData,
        tensors: DeviceData,
        fused: bool = False,
        autograd: bool = False,
    ) -> None:
        first = configs[0]
        super().__init__(first, tensors, len(configs))
        self.net = build_network(configs, data, tensors.x_rows.dtype, tensors.device, fused)
        self.optimizer = TorchOptimizer(first, self.net.parameters())
        self.meter: diagnostics.GradientMeter | None = None
        self.hand = None
        if not (autograd or self.mixed or self.regression) and supports_hand_backprop(self.net):
            self.hand = HandBackprop(self.net, fused_sgd=first.optimizer == "sgd", weight_decay=first.weight_decay)
        if first.diagnostics:
            self.probe = Probe(configs, tensors, self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def set_training(self, training: bool) -> None:
        self.net.train(training)

    def step(self, rows: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.hand is None:
            return super().step(rows, targets)
        meter = self.meter if self.meter is not None and self.meter.wants() else None
        x = rows.view(self.models, targets.shape[1], -1)
        losses, logits = self.hand.step(x, targets, self.flood, self.optimizer.lr, meter)
        if not self.hand.fused_sgd:
            self.optimizer.step()
        return losses, logits

    def after_backward(self) -> None:
        if self.meter is not None and self.meter.wants():
            for i, weight in enumerate(self.net.weights):
                self.meter.add(i, weight.grad)


class Probe:
    """``--diagnostics`` for a stacked network: each model's probe set (fixed by its seed) on the device, the gradient
    meter the engine feeds, and the per-layer measurements at the end of each epoch."""

    def __init__(self, configs: Sequence[RunConfig], tensors: DeviceData, engine: StackedEngine) -> None:
        self.net, self.configs = engine.net, configs
        n = len(tensors.x_rows)
        index = np.stack([diagnostics.probe_indices(c.seed, n) for c in configs])
        self.x = tensors.x_rows[torch.as_tensor(index.reshape(-1), device=tensors.device)].view(
            len(configs), index.shape[1], *tensors.sample_shape
        )
        steps = -(-n // configs[0].batch_size)
        engine.meter = self.meter = diagnostics.GradientMeter(list(self.net.weights), len(configs), steps)
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
        statistics = [diagnostics.layer_statistics(z, slope, self.largest, threshold) for z, slope in record]
        return diagnostics.assemble(statistics, self.meter.end_epoch())
