"""Training throughput side by side: ten models, one epoch each, actlab vs what users would otherwise run.

MNIST MLP 784-100-50-10 (batch 100, SGD lr 0.1): actlab's many-models-at-once path (ten seeds; ten
activations) against (a) a straightforward NumPy float64 loop, (b) the PyTorch TensorDataset + DataLoader +
nn.Sequential idiom, (c) Keras 3 ``model.fit`` on its torch backend, (d) actlab one model at a time; plus the
machine's fp32 matmul peak. CIFAR-10 CNN Conv32-Pool-Conv64-Pool-Dense10 on synthetic 32×32×3 images
(Adam, batch 100): actlab ten at once vs the DataLoader idiom (NCHW and channels-last) and one at a time.

Every approach runs once per round, rounds interleaved, and the median is reported: these machines are
shared and their speed drifts over minutes, so ratios of medians taken side by side are what is comparable.

``device`` (default ``cpu``) runs every approach on that device: actlab's runs and the peers alike (the DataLoader
idiom moves each batch there, Keras is placed there), and the matmul peak is that device's. On a GPU the NumPy
loop, a CPU-only program, is left out: a GPU table holds GPU figures only.
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


def synchronize(device: str | torch.device) -> None:
    """Wait for the device's queued kernels (CUDA runs asynchronously; a timing must include them)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: str | torch.device = "cpu") -> float:
    """Wall seconds of ``fn()``, including the kernels it queued on ``device``."""
    synchronize(device)
    started = time.perf_counter()
    fn()
    synchronize(device)
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
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    channels_last: bool = False,
    device: str | torch.device = "cpu",
) -> None:
    """The PyTorch tutorial idiom: TensorDataset, DataLoader(shuffle=True), a module, cross-entropy. On a GPU the
    data stays in host memory, as in the tutorials, and each batch is copied over (pinned, non-blocking: the
    performance guide's advice)."""
    loss_fn = nn.CrossEntropyLoss()
    cuda = torch.device(device).type == "cuda"
    for xb, yb in DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True, pin_memory=cuda):
        if cuda:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()


def torch_mlp(seed: int, device: str | torch.device = "cpu") -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    layers, width = [], 784
    for units in HIDDEN:
        layers += [nn.Linear(width, units), nn.ReLU()]
        width = units
    model = nn.Sequential(*layers, nn.Linear(width, 10)).to(device)
    return model, torch.optim.SGD(model.parameters(), lr=LR)


def torch_cnn(
    seed: int, channels_last: bool, device: str | torch.device = "cpu"
) -> tuple[nn.Module, torch.optim.Optimizer]:
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
    ).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def keras_epoch(x: np.ndarray, y: np.ndarray, seed: int, device: str | torch.device = "cpu") -> None:
    """Keras 3 on its torch backend: Sequential, compile, fit (shuffled, batch 100), placed on ``device`` (left to
    itself Keras takes the GPU whenever there is one, which would put GPU figures into a CPU table)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    with keras.device(torch.device(device).type):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [keras.Input((x.shape[1],))]
            + [keras.layers.Dense(u, activation="relu") for u in HIDDEN]
            + [keras.layers.Dense(10)]
        )
        model.compile(
            optimizer=keras.optimizers.SGD(LR), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
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


PEAK_SIZE = {"cpu": 2048, "cuda": 4096}  # a GPU needs larger products (and several per timing) to reach its peak


def matmul_peak(device: str | torch.device = "cpu") -> float:
    """The device's fp32 matrix-multiply throughput (GFLOP/s), best of several square products (2048² on a CPU,
    timed one at a time; on a GPU 4096², ten per timing, so that launching and synchronising do not count). fp32 as
    PyTorch runs it by default: on NVIDIA GPUs without TF32 tensor cores, as actlab trains."""
    kind = torch.device(device).type
    n = PEAK_SIZE.get(kind, 2048)
    per_timing = 10 if kind == "cuda" else 1
    a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)

    def products() -> None:
        for _ in range(per_timing):
            a @ b

    for _ in range(3):
        products()
    best = min(timed(products, device) for _ in range(10))
    return 2 * n**3 * per_timing / best / 1e9


def matmuls_alone_epoch(examples: int, models: int | None = None, device: str | torch.device = "cpu") -> float:
    """Seconds of only the batched products of one epoch of ``models`` stacked MLPs, in a bare loop on
    random data: per step the forward ``baddbmm`` of every layer, the input-gradient ``bmm`` of every
    layer but the first, and the in-place weight update ``baddbmm_`` of every layer. Training cannot be
    faster than this with these kernels."""
    models = models or MODELS
    sizes = [784, *HIDDEN, 10]
    g = torch.Generator().manual_seed(0)
    weights = [
        (torch.randn(models, b, a, generator=g) * 0.01).to(device) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]  # (out, in)
    biases = [torch.zeros(models, 1, b, device=device) for b in sizes[1:]]
    x = torch.rand(models, BATCH, 784, generator=g).to(device)
    synchronize(device)
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
    synchronize(device)
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


def mlp_section(data: PreparedData, rounds: int, keras: bool = True, device: str = "cpu") -> Section:
    """The MLP throughput table on ``device``; on a GPU without the NumPy loop (a CPU program)."""
    examples = len(data.x_train)
    on_gpu = torch.device(device).type != "cpu"
    x64 = data.x_train.reshape(examples, -1).astype(np.float64)
    x32 = torch.tensor(data.x_train.reshape(examples, -1))
    y = torch.tensor(data.y_train)
    seeds = mlp_configs("relu", MODELS, device=device)
    activations = [mlp_configs(a, 1, device=device)[0] for a in ACTIVATIONS]
    mixed = mlp_configs("relu", MODELS, dtype="bfloat16", device=device)
    reference = REFERENCE
    approaches: dict[str, Callable[[], float]] = {
        reference: lambda: actlab_epoch(seeds, data),
        "actlab, ten models at once (ten activations)": lambda: actlab_epoch(activations, data),
        FUSED_ACTIVATIONS: lambda: actlab_epoch(activations, data, fused=True),
        "actlab, ten models at once (ten seeds, bfloat16 mixed precision)": lambda: actlab_epoch(mixed, data),
        "(d) actlab, one model at a time (ten seeds)": lambda: actlab_epoch(seeds, data, together=False),
        MATMULS_ALONE: lambda: matmuls_alone_epoch(examples, device=device),
    }
    if not on_gpu:
        approaches["(a) NumPy float64 loop, ten runs"] = lambda: sum(
            timed(lambda s=s: numpy_loop_epoch(x64, data.y_train, s)) for s in range(MODELS)
        )
    approaches["(b) PyTorch DataLoader + nn.Sequential, ten runs"] = lambda: sum(
        timed(lambda s=s: dataloader_epoch(*torch_mlp(s, device), x32, y, device=device), device) for s in range(MODELS)
    )
    if keras:
        approaches["(c) Keras 3 model.fit (torch backend), ten runs"] = lambda: sum(
            timed(lambda s=s: keras_epoch(x64.astype(np.float32), data.y_train, s, device), device)
            for s in range(MODELS)
        )
    actlab_epoch(seeds[:2], data)  # warm-up: allocator, thread pool
    actlab_epoch(activations, data, fused=True)  # compiles the fused layers (minutes cold, seconds cached)
    if on_gpu:  # first calls of the peers: CUDA kernels loaded, cuBLAS handles, Keras's graph of the device
        dataloader_epoch(*torch_mlp(0, device), x32[: 2 * BATCH], y[: 2 * BATCH], device=device)
        if keras:
            keras_epoch(x64[: 2 * BATCH].astype(np.float32), data.y_train[: 2 * BATCH], 0, device)
    rows = interleaved(approaches, rounds)
    peak = statistics.median(matmul_peak(device) for _ in range(3))
    flops = MODELS * mlp_flops_per_model_epoch(examples)
    achieved = flops / rows[reference] / 1e9
    ceiling = flops / (peak * 1e9)
    where = "" if not on_gpu else f" ({device}: every approach on the GPU; the NumPy loop, a CPU program, left out)"
    size = PEAK_SIZE.get(torch.device(device).type, 2048)
    lines = [
        f"## Training throughput: ten MNIST MLPs, one epoch each{where}",
        "",
        f"784-100-50-10, batch {BATCH}, SGD lr {LR}, {examples:,} training images per epoch; median of {rounds} "
        "interleaved rounds. actlab's epochs include evaluating the test set, the others' do not.",
        "",
        *_table(rows, reference, "seconds for ten model-epochs"),
        "",
        f"fp32 matrix-multiply peak of this {'GPU' if on_gpu else 'machine'}, measured in the same run "
        f"({size}×{size} products): {peak:.0f} GFLOP/s. "
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


def cnn_section(examples: int, rounds: int, device: str = "cpu") -> Section:
    """The CNN throughput table on ``device``: actlab as it trains them there (stacked on a GPU, one at a time on a
    CPU), the stacked network either way, and the DataLoader idiom in both memory layouts."""
    data = synthetic_images(examples)
    weight_shapes(parse_model(CNN_MODEL), data.input_shape, 10)  # validates the model against the shapes
    setup = dict(
        dataset="cifar10", model=CNN_MODEL, optimizer="adam", lr=1e-3, epochs=1, batch_size=BATCH, device=device
    )
    seeds = [RunConfig(**setup, activation="relu", seed=s) for s in range(MODELS)]
    x, y = torch.tensor(data.x_train), torch.tensor(data.y_train)
    stacks = len(group_runs(seeds, "all")) == 1
    reference = f"actlab as it trains them ({'stacked' if stacks else 'one at a time: CNNs on a CPU'})"
    approaches: dict[str, Callable[[], float]] = {
        reference: lambda: actlab_epoch(seeds, data, together=stacks),
        "actlab, ten models stacked into one network": lambda: stacked_epoch(seeds, data),
        "PyTorch DataLoader + nn.Sequential (NCHW), ten runs": lambda: sum(
            timed(lambda s=s: dataloader_epoch(*torch_cnn(s, False, device), x, y, device=device), device)
            for s in range(MODELS)
        ),
        "PyTorch DataLoader + nn.Sequential (channels-last), ten runs": lambda: sum(
            timed(
                lambda s=s: dataloader_epoch(*torch_cnn(s, True, device), x, y, channels_last=True, device=device),
                device,
            )
            for s in range(MODELS)
        ),
    }
    if stacks:  # the reference row is the stacked network: the same measurement twice would only cost time
        del approaches["actlab, ten models stacked into one network"]
        approaches["actlab, one at a time (ten runs)"] = lambda: actlab_epoch(seeds, data, together=False)
    actlab_epoch(seeds[:2], data)
    if torch.device(device).type != "cpu":  # cuDNN picks its algorithms on first use, outside the timings
        stacked_epoch(seeds, data)
        for channels_last in (False, True):
            model, optimizer = torch_cnn(0, channels_last, device)
            dataloader_epoch(model, optimizer, x[: 2 * BATCH], y[: 2 * BATCH], channels_last, device)
    rows = interleaved(approaches, rounds)
    why = (
        "On a CPU stacking CNNs does not pay (convolutions are compute-bound and ten-fold feature maps fall out of "
        "cache), so actlab trains them one at a time there."
        if not stacks
        else f"On {device} actlab stacks them: one network, one kernel per layer for all ten models."
    )
    lines = [
        f"## Training throughput: ten CIFAR-10 CNNs (synthetic 32×32×3 images), one epoch each"
        f"{'' if device == 'cpu' else f' ({device})'}",
        "",
        f"Conv32-Pool-Conv64-Pool-Dense10, Adam, batch {BATCH}, {examples:,} synthetic images; median of {rounds} "
        "interleaved rounds. actlab keeps convolutions channels-last; stacked, each model's batch slice is convolved "
        f"with its own filters. {why}",
        "",
        *_table(rows, reference, "seconds for ten model-epochs"),
    ]
    return Section(lines, rows)
