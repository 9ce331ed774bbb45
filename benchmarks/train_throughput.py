"""Training throughput side by side: ten models, one epoch each, actlab vs what users would otherwise run.

MNIST MLP 784-100-50-10 (batch 100, SGD lr 0.1): actlab's many-models-at-once path (ten seeds; ten
activations) against (a) a straightforward NumPy float64 loop, (b) the PyTorch TensorDataset + DataLoader +
nn.Sequential idiom, (c) Keras 3 ``model.fit`` on its torch backend, (d) actlab one model at a time; plus the
machine's fp32 matmul peak. CIFAR-10 CNN Conv32-Pool-Conv64-Pool-Dense10 on synthetic 32×32×3 images
(Adam, batch 100): actlab ten at once vs the DataLoader idiom (NCHW and channels-last) and one at a time.

Every approach runs once per round, rounds interleaved, and the median is reported: these machines are
shared and their speed drifts over minutes, so ratios of medians taken side by side are what is comparable.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from actlab.data.prepared import PreparedData
from actlab.experiments.oneoff import train_configs
from actlab.models.spec import parse_model, weight_shapes
from actlab.train.config import RunConfig
from actlab.train.trainer import group_runs, train_group

MODELS = 10
HIDDEN = (100, 50)
BATCH = 100
LR = 0.1
ACTIVATIONS = ["relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "tanhexp", "hard_swish", "softplus"]
CNN_MODEL = "cnn:32,p,64,p"


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def interleaved(approaches: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Median seconds of each approach over ``rounds`` rounds, each round running every approach once."""
    samples: dict[str, list[float]] = {name: [] for name in approaches}
    for _ in range(rounds):
        for name, fn in approaches.items():
            samples[name].append(fn())
    return {name: statistics.median(values) for name, values in samples.items()}


# --- what users would otherwise write -------------------------------------------------------------------
def numpy_loop_epoch(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The from-scratch float64 MLP people write: matrices, ReLU, softmax cross-entropy, plain SGD.
    Returns the trained weights and biases."""
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1], *HIDDEN, 10]
    weights = [rng.normal(0, np.sqrt(2 / a), size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [np.zeros(b) for b in sizes[1:]]
    order = rng.permutation(len(x))
    for start in range(0, len(x), BATCH):
        idx = order[start : start + BATCH]
        h, inputs, pre = x[idx], [], []
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            inputs.append(h)
            z = h @ w + b
            pre.append(z)
            h = np.maximum(z, 0) if i < len(weights) - 1 else z
        p = np.exp(h - h.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(idx)), y[idx]] -= 1
        d = p / len(idx)
        for i in range(len(weights) - 1, -1, -1):
            gw, gb = inputs[i].T @ d, d.sum(0)
            if i:
                d = (d @ weights[i].T) * (pre[i - 1] > 0)
            weights[i] -= LR * gw
            biases[i] -= LR * gb
    return weights, biases


def dataloader_epoch(
    model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, channels_last: bool = False
) -> None:
    """The PyTorch tutorial idiom: TensorDataset, DataLoader(shuffle=True), a module, cross-entropy."""
    loss_fn = nn.CrossEntropyLoss()
    for xb, yb in DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True):
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()


def torch_mlp(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    layers, width = [], 784
    for units in HIDDEN:
        layers += [nn.Linear(width, units), nn.ReLU()]
        width = units
    model = nn.Sequential(*layers, nn.Linear(width, 10))
    return model, torch.optim.SGD(model.parameters(), lr=LR)


def torch_cnn(seed: int, channels_last: bool) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 6 * 6, 10),
    )
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def keras_epoch(x: np.ndarray, y: np.ndarray, seed: int) -> None:
    """Keras 3 on its torch backend: Sequential, compile, fit (shuffled, batch 100)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((x.shape[1],))]
        + [keras.layers.Dense(u, activation="relu") for u in HIDDEN]
        + [keras.layers.Dense(10)]
    )
    model.compile(optimizer=keras.optimizers.SGD(LR), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=True, verbose=0)


def keras_backend_ok() -> bool:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        return False
    return keras.backend.backend() == "torch"


# --- actlab ---------------------------------------------------------------------------------------------
def actlab_epoch(configs: list[RunConfig], data: PreparedData, together: bool = True, fused: bool = False) -> float:
    """Seconds of one epoch (training plus evaluating the test set, as each run records it) for ``configs``,
    trained by the function `actlab compare` calls (:func:`actlab.experiments.oneoff.train_configs`): all in one
    stacked network, or one at a time. Start-up (and compiling fused kernels) is outside the recorded epochs."""
    results = train_configs(configs, group="all" if together else "none", fused=fused, data=data)
    return sum(h.seconds for r in results for h in r.history)


def stacked_epoch(configs: list[RunConfig], data: PreparedData) -> float:
    """Seconds of one epoch of ``configs`` forced into one stacked network (``train_group``), which `actlab
    compare` does not do for CNNs on a CPU: the measurement behind that choice."""
    return sum(h.seconds for r in train_group(configs, data) for h in r.history)


def matmul_peak() -> float:
    """This machine's fp32 matrix-multiply throughput (GFLOP/s), best of several 2048² products."""
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    for _ in range(3):
        a @ b
    best = min(timed(lambda: a @ b) for _ in range(10))
    return 2 * 2048**3 / best / 1e9


def matmuls_alone_epoch(examples: int, models: int | None = None) -> float:
    """Seconds of only the batched products of one epoch of ``models`` stacked MLPs, in a bare loop on
    random data: per step the forward ``baddbmm`` of every layer, the input-gradient ``bmm`` of every
    layer but the first, and the in-place weight update ``baddbmm_`` of every layer. Training cannot be
    faster than this with these kernels."""
    models = models or MODELS
    sizes = [784, *HIDDEN, 10]
    g = torch.Generator().manual_seed(0)
    weights = [
        torch.randn(models, b, a, generator=g) * 0.01 for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]  # (out, in)
    biases = [torch.zeros(models, 1, b) for b in sizes[1:]]
    x = torch.rand(models, BATCH, 784, generator=g)
    started = time.perf_counter()
    with torch.no_grad():
        for _ in range(examples // BATCH):
            inputs, h = [], x
            for w, b in zip(weights, biases, strict=True):
                inputs.append(h)
                h = torch.baddbmm(b, h, w.transpose(1, 2))
            delta = h
            for i in range(len(weights) - 1, -1, -1):
                below = torch.bmm(delta, weights[i]) if i > 0 else None
                weights[i].baddbmm_(delta.transpose(1, 2), inputs[i], alpha=-1e-6)
                delta = below
    return time.perf_counter() - started


def mlp_flops_per_model_epoch(examples: int) -> float:
    """Multiply-adds ×2 of one epoch: the forward pass, the weight gradients, and the input gradients of
    every layer but the first (nothing needs the gradient of the images)."""
    sizes = [784, *HIDDEN, 10]
    forward = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    backward = forward + sum(a * b for a, b in zip(sizes[1:-1], sizes[2:], strict=True))
    return 2.0 * (forward + backward) * examples


@dataclass
class Section:
    lines: list[str]
    rows: dict[str, float]


def _table(rows: dict[str, float], reference: str, unit: str) -> list[str]:
    lines = [f"| approach | {unit} | {reference.split(',')[0]} is faster by |", "|---|---|---|"]
    for name, seconds in rows.items():
        lines.append(f"| {name} | {seconds:.2f} | {seconds / rows[reference]:.1f}× |")
    return lines


FUSED_ACTIVATIONS = "actlab, ten models at once (ten activations, --fused: each layer one compiled graph)"
MATMULS_ALONE = "the same batched matmuls alone, bare loop (ten models)"


TARGETS = {
    "(a) NumPy float64 loop, ten runs": 2.5,
    "(b) PyTorch DataLoader + nn.Sequential, ten runs": 8.0,
    "(c) Keras 3 model.fit (torch backend), ten runs": 10.0,
}
PEAK_TARGET = 0.8


@dataclass(frozen=True)
class Target:
    """One MLP target: what was measured against the goal, and, when missed, what bounds it — ``products`` (even the
    batched products alone are too slow) or ``rest`` (the rest of the epoch) — with ``needed`` the seconds for ten
    model-epochs that a ratio target would take."""

    name: str
    measured: float
    goal: float
    met: bool
    bound: str | None = None
    needed: float | None = None


def targets(rows: dict[str, float], reference: str, peak: float, flops: float) -> list[Target]:
    """Each MLP target, met or not, against the batched products alone (``rows[MATMULS_ALONE]``), the floor of any
    epoch built on these kernels."""
    epoch, alone = rows[reference], rows[MATMULS_ALONE]
    fraction, alone_fraction = flops / epoch / 1e9 / peak, flops / alone / 1e9 / peak
    met = fraction >= PEAK_TARGET
    found = [
        Target(
            "matmul peak",
            fraction,
            PEAK_TARGET,
            met,
            None if met else ("products" if alone_fraction < PEAK_TARGET else "rest"),
        )
    ]
    for name, goal in TARGETS.items():
        if name in rows:
            ratio, needed = rows[name] / epoch, rows[name] / goal
            met = ratio >= goal
            found.append(
                Target(name, ratio, goal, met, None if met else ("products" if needed < alone else "rest"), needed)
            )
    return found


def target_lines(rows: dict[str, float], reference: str, peak: float, flops: float) -> list[str]:
    """:func:`targets` in words, each missed one with what it would take."""
    epoch, alone = rows[reference], rows[MATMULS_ALONE]
    alone_percent = 100 * flops / alone / 1e9 / peak
    lines = []
    for t in targets(rows, reference, peak, flops):
        if t.name == "matmul peak":
            line = f"- ≥ {100 * t.goal:.0f} % of matmul peak: {100 * t.measured:.0f} % — "
            why = {
                None: "met",
                "products": f"NOT met: at these shapes the products alone, with nothing else, run at "
                f"{alone_percent:.0f} % of peak, so no epoch built on them reaches it",
                "rest": f"NOT met: the products alone run at {alone_percent:.0f} % of peak; the rest of the epoch "
                f"(gathering batches, activations, softmax, evaluation) takes {epoch - alone:.2f} s",
            }
        else:
            line = f"- ≥ {t.goal:g}× vs {t.name}: {t.measured:.1f}× — "
            why = {
                None: "met",
                "products": f"NOT met: it needs ten model-epochs in ≤ {t.needed:.2f} s, less than the batched "
                f"products alone take here ({alone:.2f} s): out of reach in float32 on this machine",
                "rest": f"NOT met: it needs ten model-epochs in ≤ {t.needed:.2f} s; the products alone take "
                f"{alone:.2f} s and the rest of the epoch {epoch - alone:.2f} s",
            }
        lines.append(line + why[t.bound])
    return lines


def mlp_configs(activation: str, seeds: int, **changes) -> list[RunConfig]:
    """The MNIST MLP setup of this table (and of the user's-command section) for ``seeds`` seeds."""
    setup = dict(
        dataset="mnist",
        model="mlp:" + ",".join(map(str, HIDDEN)),
        epochs=1,
        batch_size=BATCH,
        lr=LR,
        init="he_normal",
        **changes,
    )
    return [RunConfig(**setup, activation=activation, seed=s) for s in range(seeds)]


REFERENCE = "actlab, ten models at once (ten seeds, relu)"


def mlp_section(data: PreparedData, rounds: int, keras: bool = True) -> Section:
    examples = len(data.x_train)
    x64 = data.x_train.reshape(examples, -1).astype(np.float64)
    x32 = torch.tensor(data.x_train.reshape(examples, -1))
    y = torch.tensor(data.y_train)
    seeds = mlp_configs("relu", MODELS)
    activations = [mlp_configs(a, 1)[0] for a in ACTIVATIONS]
    mixed = mlp_configs("relu", MODELS, dtype="bfloat16")
    reference = REFERENCE
    approaches: dict[str, Callable[[], float]] = {
        reference: lambda: actlab_epoch(seeds, data),
        "actlab, ten models at once (ten activations)": lambda: actlab_epoch(activations, data),
        FUSED_ACTIVATIONS: lambda: actlab_epoch(activations, data, fused=True),
        "actlab, ten models at once (ten seeds, bfloat16 mixed precision)": lambda: actlab_epoch(mixed, data),
        "(d) actlab, one model at a time (ten seeds)": lambda: actlab_epoch(seeds, data, together=False),
        MATMULS_ALONE: lambda: matmuls_alone_epoch(examples),
        "(a) NumPy float64 loop, ten runs": lambda: sum(
            timed(lambda s=s: numpy_loop_epoch(x64, data.y_train, s)) for s in range(MODELS)
        ),
        "(b) PyTorch DataLoader + nn.Sequential, ten runs": lambda: sum(
            timed(lambda s=s: dataloader_epoch(*torch_mlp(s), x32, y)) for s in range(MODELS)
        ),
    }
    if keras:
        approaches["(c) Keras 3 model.fit (torch backend), ten runs"] = lambda: sum(
            timed(lambda s=s: keras_epoch(x64.astype(np.float32), data.y_train, s)) for s in range(MODELS)
        )
    actlab_epoch(seeds[:2], data)  # warm-up: allocator, thread pool
    actlab_epoch(activations, data, fused=True)  # compiles the fused layers (minutes cold, seconds cached)
    rows = interleaved(approaches, rounds)
    peak = statistics.median(matmul_peak() for _ in range(3))
    flops = MODELS * mlp_flops_per_model_epoch(examples)
    achieved = flops / rows[reference] / 1e9
    ceiling = flops / (peak * 1e9)
    lines = [
        "## Training throughput: ten MNIST MLPs, one epoch each",
        "",
        f"784-100-50-10, batch {BATCH}, SGD lr {LR}, {examples:,} training images per epoch; median of {rounds} "
        "interleaved rounds. actlab's epochs include evaluating the test set, the others' do not.",
        "",
        *_table(rows, reference, "seconds for ten model-epochs"),
        "",
        f"fp32 matrix-multiply peak of this machine, measured in the same run (2048×2048 products): {peak:.0f} "
        f"GFLOP/s. "
        f"Ten model-epochs are {flops / 1e9:.0f} GFLOP (forward, weight gradients, hidden-layer input gradients), so "
        f"actlab's ten-at-once epoch runs at {achieved:.0f} GFLOP/s, {100 * achieved / peak:.0f} % of that peak; at "
        f"100 % it would take {ceiling:.2f} s. The same batched products alone, in a bare loop with nothing else "
        f"(*{MATMULS_ALONE}*), take {rows[MATMULS_ALONE]:.2f} s: {100 * rows[MATMULS_ALONE] / rows[reference]:.0f} % "
        "of actlab's epoch is those products, and they run at "
        f"{100 * flops / rows[MATMULS_ALONE] / 1e9 / peak:.0f} % of peak at these shapes.",
        "",
        "Targets (harness and performance issues):",
        *target_lines(rows, reference, peak, flops),
    ]
    return Section(lines, {**rows, "peak GFLOP/s": peak, "achieved GFLOP/s": achieved})


def synthetic_images(examples: int, seed: int = 0) -> PreparedData:
    """Random 32×32×3 images in [0, 1] with random labels: the CIFAR-10 CNN's shapes, no download."""
    rng = np.random.default_rng(seed)
    x = rng.random((examples, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, examples)
    return PreparedData(x, y, x[:BATCH], y[:BATCH], 10)


def cnn_section(examples: int, rounds: int) -> Section:
    data = synthetic_images(examples)
    weight_shapes(parse_model(CNN_MODEL), data.input_shape, 10)  # validates the model against the shapes
    setup = dict(dataset="cifar10", model=CNN_MODEL, optimizer="adam", lr=1e-3, epochs=1, batch_size=BATCH)
    seeds = [RunConfig(**setup, activation="relu", seed=s) for s in range(MODELS)]
    x, y = torch.tensor(data.x_train), torch.tensor(data.y_train)
    stacks = len(group_runs(seeds, "all")) == 1
    reference = f"actlab as it trains them ({'stacked' if stacks else 'one at a time: CNNs on a CPU'})"
    approaches: dict[str, Callable[[], float]] = {
        reference: lambda: actlab_epoch(seeds, data, together=stacks),
        "actlab, ten models stacked into one network": lambda: stacked_epoch(seeds, data),
        "PyTorch DataLoader + nn.Sequential (NCHW), ten runs": lambda: sum(
            timed(lambda s=s: dataloader_epoch(*torch_cnn(s, False), x, y)) for s in range(MODELS)
        ),
        "PyTorch DataLoader + nn.Sequential (channels-last), ten runs": lambda: sum(
            timed(lambda s=s: dataloader_epoch(*torch_cnn(s, True), x, y, channels_last=True)) for s in range(MODELS)
        ),
    }
    actlab_epoch(seeds[:2], data)
    rows = interleaved(approaches, rounds)
    lines = [
        "## Training throughput: ten CIFAR-10 CNNs (synthetic 32×32×3 images), one epoch each",
        "",
        f"Conv32-Pool-Conv64-Pool-Dense10, Adam, batch {BATCH}, {examples:,} synthetic images; median of {rounds} "
        "interleaved rounds. actlab keeps convolutions channels-last; stacked, each model's batch slice is convolved "
        "with its own filters. On a CPU stacking CNNs does not pay (convolutions are compute-bound and ten-fold "
        "feature maps fall out of cache), so actlab trains them one at a time there.",
        "",
        *_table(rows, reference, "seconds for ten model-epochs"),
    ]
    return Section(lines, rows)
