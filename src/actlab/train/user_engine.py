"""The engine of a user's ``nn.Module`` trained one run at a time (``FILE.py:build``, or a model given to
``actlab.compare``): built by :func:`actlab.models.user_build.build_model` with the run's seed, stepped by autograd
through the one loop (:mod:`actlab.train.loop`), with cross-entropy (accuracy) or mean squared error (regression)."""

from __future__ import annotations

import torch
from torch import nn

from actlab.backends.torch_module import ActivationModule
from actlab.data.prepared import PreparedData
from actlab.models.user_build import build_model, check_output
from actlab.train import diagnostics
from actlab.train.config import RunConfig
from actlab.train.device import DeviceData
from actlab.train.loop import Engine
from actlab.train.optim import TorchOptimizer


class ModuleEngine(Engine):
    """One run of a user's model."""

    def __init__(self, config: RunConfig, data: PreparedData, tensors: DeviceData, fused: bool = False) -> None:
        super().__init__(config, tensors, 1)
        self.model = build_model(config, fused).to(device=tensors.device, dtype=tensors.x_rows.dtype)
        samples = tensors.samples()
        check_output(self.model.eval(), samples[: min(2, len(samples))], data, config)
        self.optimizer = TorchOptimizer(config, [p for p in self.model.parameters() if p.requires_grad])
        if config.diagnostics:
            self.probe = SiteProbe(self.model, samples, config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x[0]).unsqueeze(0)

    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).unsqueeze(0)

    def set_training(self, training: bool) -> None:
        self.model.train(training)

    def after_backward(self) -> None:
        if self.probe is not None:
            self.probe.gradients()


# the layers whose weights feed an activation, as in actlab's own models (not a normalisation's scale γ, an embedding)
WEIGHTED = (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd)


class SiteProbe:
    """``--diagnostics`` on a user's model: the probe statistics of the input of every actlab activation module in
    it that the model calls (its hidden layers, in the order they run), and the gradient norms, weight norm and
    update ratio of the weights feeding each: those of the last module with a trained ``weight`` that ran before
    the activation (a Linear or convolution, as in actlab's own models — a normalisation between them is passed
    over; none where no such layer precedes it)."""

    def __init__(self, model: nn.Module, x_train: torch.Tensor, config: RunConfig) -> None:
        self.model, self.config = model, config
        index = torch.as_tensor(diagnostics.probe_indices(config.seed, len(x_train)), device=x_train.device)
        self.x = x_train.index_select(0, index)
        self.sites, self.feeding = self._sites_and_weights(x_train[: min(2, len(x_train))])
        weights = [w for w in self.feeding if w is not None]
        steps = -(-len(x_train) // config.batch_size)
        self.meter = diagnostics.GradientMeter([w.unsqueeze(0) for w in weights], 1, steps)
        self._weights = weights

    @torch.no_grad()
    def _sites_and_weights(self, x: torch.Tensor) -> tuple[list[nn.Module], list[nn.Parameter | None]]:
        """The activation modules in the order the model calls them, and the weight that ran last before each."""
        sites: list[nn.Module] = []
        feeding: list[nn.Parameter | None] = []
        last: list[nn.Parameter | None] = [None]

        def weighted(module: nn.Module, args: tuple, output: object) -> None:
            last[0] = module.weight

        def site(module: nn.Module, args: tuple) -> None:
            if all(module is not s for s in sites):
                sites.append(module)
                feeding.append(last[0])

        handles = []
        for module in self.model.modules():
            if isinstance(module, ActivationModule):
                handles.append(module.register_forward_pre_hook(site))
            elif isinstance(module, WEIGHTED) and module.weight is not None and module.weight.requires_grad:
                handles.append(module.register_forward_hook(weighted))
        training = self.model.training
        try:
            self.model.eval()
            self.model(x)
        finally:
            for handle in handles:
                handle.remove()
            self.model.train(training)
        return sites, feeding

    def begin_epoch(self) -> None:
        self.meter.begin_epoch()

    def gradients(self) -> None:
        """After a step's backward: the feeding weights' gradients, on the steps the meter samples."""
        if self.meter.wants():
            for i, weight in enumerate(self._weights):
                if weight.grad is not None:
                    self.meter.add(i, weight.grad.unsqueeze(0))

    @torch.no_grad()
    def measure(self) -> list:
        """The run's layers (one list: this engine trains one model) now."""
        inputs: dict[int, torch.Tensor] = {}

        def record(module: nn.Module, args: tuple) -> None:
            inputs.setdefault(id(module), args[0])

        handles = [site.register_forward_pre_hook(record) for site in self.sites]
        training = self.model.training
        try:
            self.model.eval()
            self.model(self.x)
        finally:
            for handle in handles:
                handle.remove()
            self.model.train(training)
        flow = iter(self.meter.end_epoch()[0] or [(None, None, None)] * len(self._weights))
        statistics, gradients = [], []
        largest = diagnostics.max_slope(self.config.activation_object())
        for site, weight in zip(self.sites, self.feeding, strict=True):
            measured = next(flow) if weight is not None else (None, None, None)
            if id(site) not in inputs:  # not reached by this input
                continue
            z = inputs[id(site)]
            shaped = z.reshape(1, z.shape[0], z.shape[1] if z.dim() > 1 else 1, -1)
            slope = site.derivative(z).reshape(shaped.shape)
            statistics.append(diagnostics.layer_statistics(shaped, slope, [largest], self.config.saturation_threshold))
            gradients.append(measured)
        return diagnostics.assemble(statistics, [gradients]) if statistics else [[]]
