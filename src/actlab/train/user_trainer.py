"""Training a user's own model (``FILE.py:build``, or a model given to ``actlab.compare``): one run at a time, with the
same data order, optimizers, schedules, flooding, precision, divergence handling and epoch bookkeeping as actlab's
own models (:mod:`actlab.train.trainer`), and cross-entropy (accuracy) or mean squared error (regression)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from actlab.activation import Activation
from actlab.activation import activation as activation_by_name
from actlab.data.prepared import PreparedData
from actlab.errors import ActlabError
from actlab.models import user_models
from actlab.models.spec import ModelError, run_streams
from actlab.swap import swap
from actlab.train.config import RunConfig
from actlab.train.metrics import EpochLog, RunResult
from actlab.train.optim import TorchOptimizer, lr_factor
from actlab.train.trainer import EVAL_CHUNK, EpochCallback, _precision, _synchronize, _widened, resolve_device


class ActivationFactory:
    """What ``build(act)`` receives: ``act()`` is a new module of the run's activation each time; ``act.activation``
    is the :class:`~actlab.activation.Activation` itself."""

    def __init__(self, activation: Activation, fused: bool = False) -> None:
        self.activation = activation
        self.fused = fused
        self.calls = 0

    def __call__(self, **options: Any) -> nn.Module:
        """A new activation module (``options`` go to :meth:`Activation.module`, e.g. ``num_parameters=64``)."""
        self.calls += 1
        return self.activation.module(fused=self.fused, **options)


def from_template(template: nn.Module, match: Any = None) -> user_models.Builder:
    """``build(act)`` for a model given as an instance: its activations (those ``match`` selects: see
    :func:`actlab.swap`) swapped for ``act.activation`` (a copy; the template is untouched) and every module that has
    ``reset_parameters`` re-initialised from the run's seed (parameters a module holds without one keep the
    template's values, the same in every run)."""

    def build(act: ActivationFactory) -> nn.Module:
        model, report = swap(template, act.activation, match=match)
        if not report.replaced and match is not None:
            raise ModelError(f"match={match!r} selects no activation of {type(template).__name__} to swap")
        if not report.replaced:
            raise ModelError(
                f"{type(template).__name__} has no activation that actlab recognises to swap (nn.ReLU, F.relu, … ); "
                "give match= its own activation class, or pass a build(act) function that puts act() where the "
                "activation goes"
            )
        if report.unreachable:  # training it would compare models that keep some of their own activations
            where = "; ".join(f"{u.site}: {u.old} ({u.reason})" for u in report.unreachable)
            raise ModelError(
                f"{type(template).__name__}: {len(report.unreachable)} activation site(s) cannot be swapped — {where}; "
                "pass a build(act) function that puts act() where each activation goes"
            )
        act.calls += len(report.replaced)
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
        return model

    return build


def build_model(config: RunConfig, fused: bool = False) -> nn.Module:
    """The run's model, built with the run's seed; ``build`` must use ``act`` (else every activation would train
    the same model) and return an ``nn.Module``."""
    build, name = user_models.builder_for(config.model), user_models.display(config.model)
    if config.model_sha256 and user_models.digest(config.model) != config.model_sha256:
        raise ModelError(f"{name} has changed since this run was defined: run it as a new experiment")
    factory = ActivationFactory(config.activation_object(), fused)
    torch.manual_seed(config.seed)
    try:
        model = build(factory)
    except ActlabError:
        raise
    except Exception as error:
        raise ModelError(f"{name} fails to build: {type(error).__name__}: {error}") from None
    if not isinstance(model, nn.Module):
        raise ModelError(f"{name} returned {type(model).__name__}, not an nn.Module")
    if factory.calls == 0:
        raise ModelError(
            f"{name} never called act(): the model would be the same whatever the activation; build it "
            "with act() where the activation goes"
        )
    return model


def check_output(model: nn.Module, sample: torch.Tensor, data: PreparedData, config: RunConfig) -> None:
    """One clear error if the model's output cannot be scored against the labels."""
    try:
        with torch.no_grad():
            out = model(sample)
    except Exception as error:
        raise ModelError(
            f"{user_models.display(config.model)} fails on an input batch of shape {tuple(sample.shape)}: "
            f"{type(error).__name__}: {error}"
        ) from None
    if not isinstance(out, torch.Tensor):
        raise ModelError(f"{user_models.display(config.model)} returns {type(out).__name__}; it should return a tensor")
    b, name = len(sample), user_models.display(config.model)
    if config.regression:
        want = (b, *data.y_train.shape[1:])
        if tuple(out.shape) != want and not (data.y_train.ndim == 1 and tuple(out.shape) == (b, 1)):
            raise ModelError(f"{name} outputs shape {tuple(out.shape)}; the targets need {want}")
    elif tuple(out.shape) != (b, data.classes):
        raise ModelError(
            f"{name} outputs shape {tuple(out.shape)}, but the labels go up to {data.classes - 1}: "
            f"{data.classes} classes need logits of shape ({b}, {data.classes}) (softmax is in the loss)"
        )
    _check_trainable(model, out, name, config)


def _check_trainable(model: nn.Module, out: torch.Tensor, name: str, config: RunConfig) -> None:
    """A model that has nothing to train, or whose output is NaN or infinite before any update, is one clear error
    (not an autograd error, nor a run merely 'diverged')."""
    if not any(p.requires_grad for p in model.parameters()):
        raise ModelError(
            f"{name} has no trainable parameters (none, or every one with requires_grad=False): nothing to train"
        )
    if not bool(torch.isfinite(out).all()):
        raise ModelError(
            f"{name} with {config.activation_label()} outputs NaN or inf before any update (its initial weights, on "
            "the first examples): check its initialisation and forward"
        )


def _loss(out: torch.Tensor, y: torch.Tensor, regression: bool) -> torch.Tensor:
    if regression:
        return F.mse_loss(out.reshape(y.shape), y)
    return F.cross_entropy(out, y)


def train_user_run(
    config: RunConfig, data: PreparedData, on_epoch: EpochCallback | None = None, fused: bool = False
) -> RunResult:
    """Train one run of a user's model; its result, as actlab's own models give it."""
    device = resolve_device(config.device)
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    label_dtype = dtype if config.regression else torch.int64
    x_train = torch.tensor(data.x_train, dtype=dtype, device=device)  # copies: the prepared arrays are read-only
    y_train = torch.tensor(data.y_train, dtype=label_dtype, device=device)
    x_test = torch.tensor(data.x_test, dtype=dtype, device=device)
    y_test = torch.tensor(data.y_test, dtype=label_dtype, device=device)
    model = build_model(config, fused).to(device=device, dtype=dtype)
    check_output(model.eval(), x_train[: min(2, len(x_train))], data, config)
    optimizer = TorchOptimizer(config, [p for p in model.parameters() if p.requires_grad])
    mixed = config.dtype == "bfloat16"
    order = run_streams(config.seed)[1]
    probe = SiteProbe(model, x_train, config) if config.diagnostics else None  # before the seed: it draws nothing
    torch.manual_seed(config.seed)  # dropout and stochastic activations
    log = EpochLog([config], on_epoch)
    n = len(x_train)
    for epoch in range(config.epochs):
        started = time.perf_counter()
        optimizer.lr = config.lr * lr_factor(config, epoch)
        model.train()
        if probe is not None:
            probe.meter.begin_epoch()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        permutation = torch.as_tensor(order.permutation(n), device=device)
        for start in range(0, n, config.batch_size):
            index = permutation[start : start + config.batch_size]
            xb, yb = x_train.index_select(0, index), y_train.index_select(0, index)
            with _precision(device, mixed):
                out = _widened(model(xb))
            loss = _loss(out, yb, config.regression)
            objective = (loss - config.flooding).abs() + config.flooding if config.flooding is not None else loss
            optimizer.zero_grad()
            objective.backward()
            if probe is not None:
                probe.gradients()
            optimizer.step()
            with torch.no_grad():
                loss_sum += loss.detach().double() * len(index)
                if not config.regression:
                    correct += (out.argmax(-1) == yb).sum()
        test_loss, test_correct = _evaluate(model, x_test, y_test, config.regression, device, mixed)
        _synchronize(device)
        seconds = time.perf_counter() - started
        nan = float("nan")
        log.record(
            epoch + 1,
            [float(loss_sum) / n],
            [nan if config.regression else float(correct) / n],
            [test_loss],
            [nan if config.regression else test_correct / len(x_test)],
            seconds,
            [probe.measure()] if probe is not None else None,
        )
        if log.finished:
            break
    return log.results()[0]


# the layers whose weights feed an activation, as in actlab's own models (not a normalisation's scale γ, an embedding)
WEIGHTED = (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd)


class SiteProbe:
    """``--diagnostics`` on a user's model: the probe statistics of the input of every actlab activation module in
    it that the model calls (its hidden layers, in the order they run), and the gradient norms, weight norm and
    update ratio of the weights feeding each: those of the last module with a trained ``weight`` that ran before
    the activation (a Linear or convolution, as in actlab's own models — a normalisation between them is passed
    over; none where no such layer precedes it)."""

    def __init__(self, model: nn.Module, x_train: torch.Tensor, config: RunConfig) -> None:
        from actlab.train import diagnostics

        self.diagnostics, self.model, self.config = diagnostics, model, config
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
        from actlab.backends.torch_module import ActivationModule

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

    def gradients(self) -> None:
        """After a step's backward: the feeding weights' gradients, on the steps the meter samples."""
        if self.meter.wants():
            for i, weight in enumerate(self._weights):
                if weight.grad is not None:
                    self.meter.add(i, weight.grad.unsqueeze(0))

    @torch.no_grad()
    def measure(self) -> list:
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
        largest = self.diagnostics.max_slope(self.config.activation_object())
        for site, weight in zip(self.sites, self.feeding, strict=True):
            measured = next(flow) if weight is not None else (None, None, None)
            if id(site) not in inputs:  # not reached by this input
                continue
            z = inputs[id(site)]
            shaped = z.reshape(1, z.shape[0], z.shape[1] if z.dim() > 1 else 1, -1)
            slope = site.derivative(z).reshape(shaped.shape)
            statistics.append(
                self.diagnostics.layer_statistics(shaped, slope, [largest], self.config.saturation_threshold)
            )
            gradients.append(measured)
        return self.diagnostics.assemble(statistics, [gradients])[0] if statistics else []


@torch.no_grad()
def _evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, regression: bool, device: torch.device, mixed: bool
) -> tuple[float, int]:
    """Mean test loss and the number correct (0 for regression), in chunks."""
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, len(x), EVAL_CHUNK):
        xb, yb = x[start : start + EVAL_CHUNK], y[start : start + EVAL_CHUNK]
        with _precision(device, mixed):
            out = _widened(model(xb))
        if regression:
            total += F.mse_loss(out.reshape(yb.shape), yb, reduction="sum").double() / max(1, yb[0].numel())
        else:
            total += F.cross_entropy(out, yb, reduction="sum").double()
            correct += (out.argmax(-1) == yb).sum()
    return float(total) / len(x), int(correct)


def fingerprint(builder: user_models.Builder) -> str:
    """What a model given to ``actlab.compare`` trains, as a hash (the reference's ``#…``): equal for the same model
    in every process, different when anything it trains changes.

    ``builder`` — a build function, or a template's (:func:`from_template`) — is called as a run calls it, with one
    fixed activation under a fixed seed, and the model hashed: its structure, the source of its own classes and every
    parameter and buffer (so a width from a global variable, an initialisation, a parameter that ``reset_parameters``
    does not reach all count; a template's random initial weights, which every run draws again, do not). The
    builder's own source, defaults, closure and the plain values it reads from its globals count too. Where the
    model does not build, only the code is hashed: running it reports why."""
    import hashlib

    digest = hashlib.sha256()
    _hash_code(digest, builder)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = builder(ActivationFactory(activation_by_name("relu")))
    except Exception:
        model = None
    if isinstance(model, nn.Module):
        _hash_model(digest, model)
    return digest.hexdigest()[:16]


_PLAIN = (int, float, complex, str, bytes, bool, type(None))


def _plain(value: Any) -> bool:
    return isinstance(value, _PLAIN) or (isinstance(value, tuple | list) and all(_plain(v) for v in value))


def _hash_code(digest: Any, function: Any) -> None:
    """A function's (or callable's) source — else its bytecode —, defaults, closure and the plain global values its
    code names."""
    import inspect

    plain_callable = not (inspect.isfunction(function) or inspect.ismethod(function) or inspect.isclass(function))
    target = type(function) if plain_callable else function
    digest.update(getattr(target, "__qualname__", type(target).__name__).encode())
    try:
        digest.update(inspect.getsource(target).encode())
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        if code is not None:
            digest.update(code.co_code + repr(code.co_consts).encode())
    if inspect.isclass(target):
        functions = [v for v in vars(target).values() if inspect.isfunction(v)]
    else:
        functions = [getattr(target, "__func__", target)]
    for fn in functions:
        digest.update(repr([d for d in (fn.__defaults__ or ()) if _plain(d)]).encode())
        digest.update(repr([c for c in _cells(fn) if _plain(c)]).encode())
        names = sorted(n for n in fn.__code__.co_names if n in fn.__globals__ and _plain(fn.__globals__[n]))
        digest.update(repr([(n, fn.__globals__[n]) for n in names]).encode())


def _cells(function: Any) -> list[Any]:
    """The values of a function's closure (an empty cell, a name not yet bound, is left out)."""
    values = []
    for cell in function.__closure__ or ():
        with contextlib.suppress(ValueError):
            values.append(cell.cell_contents)
    return values


def _hash_model(digest: Any, model: nn.Module) -> None:
    """A built model: its printed structure, the code of its classes that are not torch's or actlab's, and every
    parameter and buffer."""
    digest.update(repr(model).encode())
    seen: set[type] = set()
    for module in model.modules():
        kind = type(module)
        if kind in seen or kind.__module__.split(".")[0] in ("torch", "actlab"):
            continue
        seen.add(kind)
        _hash_code(digest, kind)
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())


def preflight(configs: Sequence[RunConfig], data_dir: str | os.PathLike | None = None) -> None:
    """Build each activation's model of the user-model runs once and score one batch: a model that does not build,
    ignores ``act`` or whose output does not fit the labels is one clear error before anything trains or is stored."""
    from actlab.data.prepared import prepare_for

    seen: set[tuple[str, str, str]] = set()
    for config in configs:
        if not config.is_user_model() or (config.model, config.activation, config.dataset) in seen:
            continue
        seen.add((config.model, config.activation, config.dataset))
        data = prepare_for(config, data_dir)
        if not config.regression:
            top = max(int(data.y_train.max(initial=0)), int(data.y_test.max(initial=0)))
            if top >= data.classes:
                raise ModelError(f"labels go up to {top}, but {config.dataset} has {data.classes} classes")
        dtype = torch.float64 if config.dtype == "float64" else torch.float32
        sample = torch.tensor(data.x_train[:2], dtype=dtype)
        check_output(build_model(config).to(dtype=dtype).eval(), sample, data, config)
