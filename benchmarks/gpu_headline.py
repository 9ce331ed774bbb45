"""The GPU headline (issue 20): the whole catalog × 10 seeds on the MNIST MLP for 20 epochs, and ten
CIFAR-10-shaped CNNs, timed on one card.

    python -m benchmarks.gpu_headline -o OUT/headline.md [--data-dir DIR] [--device cuda] [--budget 150]
    python -m benchmarks.gpu_headline -o /tmp/headline.md --device cpu --tiny    # the code path in seconds (CI)

MLP: 784-100-50-10, SGD lr 0.1, batch 100, He init, min-max input; every catalog activation × 10 seeds, trained as
``actlab compare --fused`` trains them (:func:`actlab.experiments.oneoff.train_configs`, ``group="all"``: one stacked
network per set of runs that can share one). First the probe: one epoch of a fifth of the training images (every
model, the whole test set), which also pays the process's one-off start-up (moving the data, compiling the fused
kernels, cuBLAS and the allocator warming up) and bounds what an unexpectedly slow step can cost; then, if 20 full
epochs fit the time left at the probe's pace, the 20-epoch run in the now warm process, timed. If they do not fit,
the 20 epochs are projected from the probe and the report says so: a projection is never passed off as a
measurement. Without the
MNIST files (``--data-dir``, ``$ACTLAB_DATA``) the MLP trains on random MNIST-shaped data, which times the same and
is labelled as such (its accuracies mean nothing).

CNN: ``cnn:32,p,64,p`` (Conv32-Pool-Conv64-Pool-Dense10), Adam lr 1e-3, batch 100, on random 32×32×3 images (50,000
training, 10,000 test: CIFAR-10's shapes): ten seeds of relu as actlab trains them (stacked on a GPU), and the same
ten one at a time for one epoch, in the same process, for the ratio.

Absolute seconds are labelled with the card (``torch.cuda.get_device_name()``); every ratio is of two timings taken
in this process. ``-o FILE.md`` also writes ``FILE.json`` with the same numbers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

import actlab
from actlab.data.datasets import load_mnist
from actlab.data.download import DatasetError
from actlab.data.prepared import PreparedData, prepare
from actlab.experiments.oneoff import train_configs
from actlab.train.config import RunConfig
from actlab.train.grouping import group_runs
from actlab.train.metrics import RunResult
from benchmarks.bench import cpu_name

TARGET_SECONDS = 60.0  # the target for the catalog × 10 seeds × 20 epochs on one H100
MLP_SETUP = dict(dataset="mnist", model="mlp:100,50", batch_size=100, lr=0.1, optimizer="sgd", init="he_normal")
CNN_MODEL = "cnn:32,p,64,p"
CNN_SETUP = dict(dataset="cifar10", model=CNN_MODEL, batch_size=100, lr=1e-3, optimizer="adam")
CNN_RESERVE = 45.0  # seconds of the budget kept for the CNN part on a GPU
PROJECTION_SLACK = 1.15  # a warm 20-epoch call costs its epochs plus set-up (data to the device, building, storing)
PROBE_FRACTION = 0.2  # of the training images in the probe's epoch
TINY_ACTIVATIONS = ("relu", "tanhexp", "prelu", "glu")  # a fixed one, a spec path, a learned one, a gated one


def log(message: str) -> None:
    """Progress on stderr, so that a run stopped by its time limit still says how far it got."""
    print(f"[gpu_headline {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def device_label(device: str) -> str:
    """What absolute times are labelled with: the card's name (and CUDA, torch versions), or the CPU's."""
    if torch.device(device).type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return (
            f"{torch.cuda.get_device_name(device)} ({props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}, "
            f"torch {torch.__version__})"
        )
    return f"CPU {cpu_name()} ({os.cpu_count()} logical cores, torch {torch.__version__})"


def synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


# --- data ----------------------------------------------------------------------------------------------
def _synthetic(image: tuple[int, int, int], train: int, test: int, seed: int) -> PreparedData:
    """Random images of shape ``image`` with pixels in [0, 1] and random labels of 10 classes."""
    rng = np.random.default_rng(seed)
    return PreparedData(
        rng.random((train, *image), dtype=np.float32),
        rng.integers(0, 10, train),
        rng.random((test, *image), dtype=np.float32),
        rng.integers(0, 10, test),
        10,
    )


def synthetic_mnist(train: int, test: int, seed: int = 0) -> PreparedData:
    """Random pixels in [0, 1] and random labels, shaped as MNIST after min-max scaling: times like MNIST, learns
    nothing."""
    return _synthetic((1, 28, 28), train, test, seed)


def synthetic_cifar(train: int, test: int, seed: int = 0) -> PreparedData:
    """Random 32×32×3 images in [0, 1] with random labels: CIFAR-10's shapes, no download."""
    return _synthetic((3, 32, 32), train, test, seed)


def mnist_or_synthetic(data_dir: str | None, synthetic: bool = False) -> tuple[PreparedData, str | None]:
    """MNIST (60,000 / 10,000, min-max) from the files where they are, never downloaded; else random MNIST-shaped
    data. Returns the data and, for synthetic data, why it is synthetic."""
    if synthetic:
        return synthetic_mnist(60_000, 10_000), "synthetic MNIST-shaped data (asked for)"
    try:
        load_mnist(data_dir, download=False)
    except DatasetError as error:
        return synthetic_mnist(60_000, 10_000), f"synthetic MNIST-shaped data: no MNIST files here ({error})"
    return prepare("mnist", "minmax", None, None, data_dir), None


# --- timing --------------------------------------------------------------------------------------------
@dataclass
class Trained:
    """One call of :func:`train_configs`: its results, the call's wall seconds, and each training group's recorded
    epoch seconds (training plus evaluating the test set, the trainer's own timing; start-up excluded)."""

    configs: list[RunConfig]
    results: list[RunResult]  # in the order of ``configs``
    wall: float
    groups: list[dict] = field(default_factory=list)

    @property
    def recorded(self) -> float:
        """Seconds of every group's recorded epochs."""
        return sum(sum(g["epoch_seconds"]) for g in self.groups)

    @property
    def epochs(self) -> int:
        return max((len(g["epoch_seconds"]) for g in self.groups), default=0)


def backprop_kind(configs: Sequence[RunConfig]) -> str:
    """How the trainer differentiates a group: by hand for MLPs whose activations are all fixed and deterministic;
    by autograd where any learns a parameter or draws noise (the whole group then takes that path)."""
    if not configs[0].model.startswith("mlp"):
        return "autograd"
    for config in configs:
        act = config.activation_object()
        if act.learned_params or act.spec.stochastic is not None:
            return "autograd"
    return "hand-written"


def train_timed(configs: list[RunConfig], data: PreparedData, group: str, fused: bool, device: str) -> Trained:
    """Train ``configs`` as `actlab compare` does, timing the whole call; each group's seconds per epoch from the
    runs' histories (a group's epoch is split equally among its runs, so one run's share × the group's size)."""
    synchronize(device)
    started = time.perf_counter()
    results = train_configs(configs, group=group, fused=fused, data=data)
    synchronize(device)
    wall = time.perf_counter() - started
    by_key = {c.key(): r for c, r in zip(configs, results, strict=True)}
    groups = []
    for runs in group_runs(configs, group):
        per_epoch: dict[int, float] = {}
        for config in runs:
            for h in by_key[config.key()].history:
                per_epoch[h.epoch] = h.seconds * len(runs)
        groups.append(
            {
                "models": len(runs),
                "activations": len({c.activation for c in runs}),
                "backprop": backprop_kind(runs),
                "epoch_seconds": [per_epoch[e] for e in sorted(per_epoch)],
            }
        )
    return Trained(list(configs), results, wall, groups)


def host_order_seconds(models: int, examples: int, repeats: int = 3) -> float:
    """Seconds the host takes to draw one epoch's data order for ``models`` runs (a permutation each, as the trainer
    does before every epoch): a floor under every epoch that no GPU shortens."""
    rngs = [np.random.default_rng(s) for s in range(models)]
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.stack([rng.permutation(examples) for rng in rngs])
        best = min(best, time.perf_counter() - started)
    return best


# --- the two parts -------------------------------------------------------------------------------------
@dataclass
class MlpHeadline:
    activations: list[str]
    seeds: int
    epochs: int
    fused: bool
    examples: int
    data_note: str | None
    probe: Trained  # one epoch of ``probe_examples`` training images
    probe_examples: int
    full: Trained | None  # None: the 20 epochs did not fit the budget (projected instead)
    projected: float  # seconds projected for the full run from the probe's epoch, scaled to every image
    host_order: float
    budget_left: float

    @property
    def models(self) -> int:
        return len(self.activations) * self.seeds


def mlp_configs(activations: Sequence[str], seeds: int, epochs: int, device: str) -> list[RunConfig]:
    return [
        RunConfig(**MLP_SETUP, activation=a, seed=s, epochs=epochs, device=device)
        for a in activations
        for s in range(seeds)
    ]


def mlp_headline(
    data: PreparedData,
    data_note: str | None,
    activations: Sequence[str],
    seeds: int,
    epochs: int,
    device: str,
    fused: bool,
    deadline: float,
) -> MlpHeadline:
    """The probe epoch, then the full run if it fits before ``deadline`` (a ``time.perf_counter()`` value). The
    probe's epoch, on a fifth of the images, is scaled to all of them: an upper bound, as its test-set evaluation
    (all of it) is scaled too."""
    activations = list(activations)
    n = max(1, int(PROBE_FRACTION * len(data.x_train)))
    part = PreparedData(data.x_train[:n], data.y_train[:n], data.x_test, data.y_test, data.classes)
    log(f"MLP probe: {len(activations)} activations × {seeds} seeds, 1 epoch of {n:,} images (pays the start-up)")
    probe = train_timed(mlp_configs(activations, seeds, 1, device), part, "all", fused, device)
    per_epoch = probe.recorded * len(data.x_train) / n
    projected = epochs * per_epoch * PROJECTION_SLACK
    left = deadline - time.perf_counter()
    log(f"MLP probe: {probe.wall:.1f} s wall, ≈ {per_epoch:.2f} s per full epoch; {epochs} epochs ≈ {projected:.0f} s")
    full = None
    if projected <= left:
        log(f"MLP: {epochs} epochs")
        full = train_timed(mlp_configs(activations, seeds, epochs, device), data, "all", fused, device)
        log(f"MLP: {full.wall:.1f} s wall, {full.recorded:.1f} s recorded")
    else:
        log(f"MLP: {epochs} epochs would take ≈ {projected:.0f} s, {left:.0f} s left: projected, not run")
    return MlpHeadline(
        activations,
        seeds,
        epochs,
        fused,
        len(data.x_train),
        data_note,
        probe,
        n,
        full,
        projected,
        host_order_seconds(len(activations) * seeds, len(data.x_train)),
        left,
    )


@dataclass
class CnnHeadline:
    seeds: int
    epochs: int
    examples: int
    together: Trained  # as actlab trains them (stacked on a GPU)
    alone: Trained | None  # one at a time, one epoch (None: no time was left for it)
    stacked: bool


def cnn_headline(data: PreparedData, seeds: int, epochs: int, device: str, deadline: float) -> CnnHeadline:
    """Ten seeds of relu as actlab trains them for ``epochs``, then, if the time that took is still left before
    ``deadline``, one at a time for one epoch."""
    together = [RunConfig(**CNN_SETUP, activation="relu", seed=s, epochs=epochs, device=device) for s in range(seeds)]
    stacked = len(group_runs(together, "all")) == 1
    log(f"CNN: {seeds} seeds {'stacked' if stacked else 'one at a time'}, {epochs} epochs")
    first = train_timed(together, data, "all", False, device)
    log(f"CNN: {first.wall:.1f} s wall")
    alone = None
    if deadline - time.perf_counter() >= first.wall:
        alone_configs = [c.model_copy(update={"epochs": 1}) for c in together]
        alone = train_timed(alone_configs, data, "none", False, device)
        log(f"CNN one at a time, 1 epoch: {alone.wall:.1f} s wall")
    else:
        log("CNN one at a time: not run, out of budget")
    return CnnHeadline(seeds, epochs, len(data.x_train), first, alone, stacked)


# --- the report ----------------------------------------------------------------------------------------
def _accuracy_rows(trained: Trained) -> list[str]:
    """Each activation's median final test accuracy over its seeds and how many of them diverged, in training
    order."""
    by_activation: dict[str, list[RunResult]] = {}
    for config, result in zip(trained.configs, trained.results, strict=True):
        by_activation.setdefault(config.activation_label(), []).append(result)
    rows = ["| activation | median final test accuracy | diverged |", "|---|---|---|"]
    for name, results in by_activation.items():
        finals = [r.history[-1].test_accuracy for r in results if r.history]
        diverged = sum(r.summary.status == "diverged" for r in results)
        median = f"{statistics.median(finals):.4f}" if finals else "—"
        rows.append(f"| {name} | {median} | {diverged} of {len(results)} |")
    return rows


def _group_rows(trained: Trained) -> list[str]:
    rows = ["| group | models | activations | backprop | seconds per epoch (median) |", "|---|---|---|---|---|"]
    for i, g in enumerate(trained.groups, 1):
        seconds = statistics.median(g["epoch_seconds"]) if g["epoch_seconds"] else float("nan")
        rows.append(f"| {i} | {g['models']} | {g['activations']} | {g['backprop']} | {seconds:.2f} |")
    return rows


def mlp_markdown(mlp: MlpHeadline, label: str, on_gpu: bool) -> list[str]:
    probe, full = mlp.probe, mlp.full
    data = (
        f"MNIST, {mlp.examples:,} training images"
        if mlp.data_note is None
        else f"**{mlp.data_note}** ({mlp.examples:,} random training images: the times hold, the accuracies mean "
        "nothing)"
    )
    whole = mlp.activations == actlab.names()
    what = f"the catalog ({len(mlp.activations)} activations)" if whole else f"{len(mlp.activations)} activations"
    lines = [
        f"### MNIST MLP: {what} × {mlp.seeds} seeds = {mlp.models} models, {mlp.epochs} epochs",
        "",
        f"784-100-50-10, SGD lr 0.1, batch 100, He init; {data}. Trained as `actlab compare"
        f"{' --fused' if mlp.fused else ''}` trains them (`train_configs`, group `all`): "
        f"{len(probe.groups)} stacked network(s). Seconds on {label}.",
        "",
        "| measured | seconds |",
        "|---|---|",
        f"| probe: the first call, 1 epoch of {mlp.probe_examples:,} images, wall (includes the process's start-up: "
        f"data to the device, compiling fused kernels, first kernel calls) | {probe.wall:.1f} |",
        f"| probe: its recorded epoch (training + test-set evaluation, all models) | {probe.recorded:.2f} |",
        f"| start-up and set-up of the first call (wall − recorded) | {probe.wall - probe.recorded:.1f} |",
    ]
    if full is not None:
        lines += [
            f"| **{mlp.epochs} epochs, wall of the call** (warm process: start-up already paid) | "
            f"**{full.wall:.1f}** |",
            f"| {mlp.epochs} epochs, recorded epochs | {full.recorded:.1f} |",
            f"| {mlp.epochs} epochs, cold: first call's start-up + this call | "
            f"{probe.wall - probe.recorded + full.wall:.1f} |",
        ]
    else:
        lines.append(
            f"| {mlp.epochs} epochs **projected** from the probe's epoch, scaled to {mlp.examples:,} images (not run: "
            f"{mlp.budget_left:.0f} s of the budget left) | ≈ {mlp.projected:.0f} |"
        )
    lines.append(
        f"| host: drawing one epoch's data order for {mlp.models} models (permutations, measured alone; inside "
        f"every epoch) | {mlp.host_order:.2f} |"
    )
    measured = full.wall if full is not None else mlp.projected
    target = f"Target: 20 epochs of the whole catalog × 10 seeds in < {TARGET_SECONDS:.0f} s on one H100"
    if not (whole and mlp.seeds == 10 and mlp.epochs == 20):
        target += ": not judged (not that configuration)."
    elif not on_gpu:
        target += ": not judged (measured on a CPU)."
    else:
        card = "" if "H100" in label else " (the target is set for an H100; this is another card)"
        verdict = "met" if measured < TARGET_SECONDS else "NOT met"
        how = f"{measured:.1f} s measured" if full is not None else f"≈ {measured:.0f} s projected, not measured"
        target += f"{card}: **{verdict}** ({how}, warm process; the first call's start-up is above)."
    lines += [
        "",
        target,
        "",
        "Training groups (`group_runs(configs, 'all')`): a group whose activations are all fixed trains with "
        "hand-written backpropagation and one compiled kernel per layer for all its activations; one learned or "
        "stochastic activation puts its whole group on autograd, each such model's activation a module of its own.",
        "",
        *_group_rows(full if full is not None else probe),
    ]
    if mlp.data_note is None and full is not None:
        lines += [
            "",
            f"Test accuracy after {full.epochs} epochs (each activation's {mlp.seeds} seeds; a check that the GPU path "
            "learns, not a comparison: see `actlab compare` for that):",
            "",
            *_accuracy_rows(full),
        ]
    return lines


def cnn_markdown(cnn: CnnHeadline, label: str) -> list[str]:
    together_epoch = cnn.together.recorded / max(cnn.together.epochs, 1)
    how = "stacked into one network" if cnn.stacked else "one at a time, as CNNs train on a CPU"
    if cnn.alone is None:
        alone = [f"| {cnn.seeds} models one at a time | not run: out of budget |"]
        ratio = "One at a time: not measured (out of budget), so no ratio."
    else:
        alone = [
            f"| {cnn.seeds} models one at a time, 1 epoch, recorded seconds (all {cnn.seeds}) | "
            f"{cnn.alone.recorded:.2f} |"
        ]
        ratio = (
            f"As actlab trains them vs one at a time, same process: **{cnn.alone.recorded / together_epoch:.1f}×** "
            f"(seconds per epoch of all {cnn.seeds})."
        )
    return [
        f"### CIFAR-10-shaped CNN: {cnn.seeds} seeds of relu",
        "",
        f"`{CNN_MODEL}` (Conv32-Pool-Conv64-Pool-Dense10), Adam lr 1e-3, batch 100, {cnn.examples:,} random "
        f"32×32×3 images (synthetic: no download; the times hold). Seconds on {label}.",
        "",
        "| measured | seconds |",
        "|---|---|",
        f"| {cnn.seeds} models as actlab trains them ({how}), {cnn.together.epochs} epoch(s), wall of the call | "
        f"{cnn.together.wall:.1f} |",
        f"| the same, recorded seconds per epoch (all {cnn.seeds} models) | {together_epoch:.2f} |",
        *alone,
        "",
        ratio,
    ]


def markdown(
    mlp: MlpHeadline | None, cnn: CnnHeadline | None, device: str, tiny: bool, command: str, seconds: float
) -> list[str]:
    label = device_label(device)
    on_gpu = torch.device(device).type == "cuda"
    title = "## GPU headline" if on_gpu else "## Headline (on a CPU)"
    lines = [
        f"{title}: {label}",
        "",
        f"Produced by `{command}` on {datetime.date.today().isoformat()} in {seconds:.0f} s. Absolute seconds are "
        f"on {label}; ratios are of timings taken in this one process.",
    ]
    if tiny:
        lines += [
            "",
            "**--tiny**: a few activations, seeds and images, to exercise the code; these are not the headline's "
            "numbers.",
        ]
    if not on_gpu and not tiny:
        lines += ["", "Measured on a CPU: not GPU figures, and not to be set beside them."]
    lines += ["", *(mlp_markdown(mlp, label, on_gpu) if mlp else ["### MNIST MLP: not measured (see the log)"])]
    lines += ["", *(cnn_markdown(cnn, label) if cnn else ["### CIFAR-10-shaped CNN: not measured (see the log)"])]
    return lines


def to_json(mlp: MlpHeadline | None, cnn: CnnHeadline | None, device: str, tiny: bool) -> dict:
    """The numbers of the report, without the per-run results."""

    def trained(t: Trained | None) -> dict | None:
        return None if t is None else {"wall": t.wall, "recorded": t.recorded, "epochs": t.epochs, "groups": t.groups}

    out: dict = {"device": device_label(device), "tiny": tiny, "target_seconds": TARGET_SECONDS}
    if mlp is not None:
        out["mlp"] = {
            **{f.name: getattr(mlp, f.name) for f in fields(mlp) if f.name not in ("probe", "full")},
            "models": mlp.models,
            "probe": trained(mlp.probe),
            "full": trained(mlp.full),
        }
    if cnn is not None:
        out["cnn"] = {
            "seeds": cnn.seeds,
            "epochs": cnn.epochs,
            "examples": cnn.examples,
            "stacked": cnn.stacked,
            "together": trained(cnn.together),
            "alone": trained(cnn.alone),
        }
    return out


def write(path: Path, lines: list[str], numbers: dict) -> None:
    """The Markdown and its JSON beside it, each written whole (a half-written report never stands)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, text in ((path, "\n".join(lines) + "\n"), (path.with_suffix(".json"), json.dumps(numbers, indent=1))):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, required=True, help="Markdown file (JSON beside it)")
    parser.add_argument("--data-dir", default=os.environ.get("ACTLAB_DATA"), help="where the MNIST files are")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--budget", type=float, default=150.0, help="seconds for the whole headline (default 150)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--cnn-epochs", type=int, default=2)
    parser.add_argument("--no-fuse", action="store_true", help="train the MLP without --fused (default: fused)")
    parser.add_argument("--synthetic", action="store_true", help="random MNIST-shaped data even if MNIST is here")
    parser.add_argument(
        "--tiny", action="store_true", help="4 activations × 2 seeds on a few hundred random images: exercises the code"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    deadline = started + args.budget
    device = args.device
    on_gpu = torch.device(device).type == "cuda"
    if on_gpu and not torch.cuda.is_available():
        print("no CUDA device found: use --device cpu (with --tiny to exercise the code)", file=sys.stderr)
        return 2
    command = "python -m benchmarks.gpu_headline " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.tiny:
        activations, seeds, epochs = list(TINY_ACTIVATIONS), 2, 2
        mnist, note = synthetic_mnist(300, 100), "synthetic MNIST-shaped data (--tiny)"
        cifar, cnn_epochs = synthetic_cifar(200, 100), 1
    else:
        activations, seeds, epochs = actlab.names(), args.seeds, args.epochs
        mnist, note = mnist_or_synthetic(args.data_dir, args.synthetic)
        cifar, cnn_epochs = synthetic_cifar(50_000, 10_000), args.cnn_epochs
    fused = not args.no_fuse and not args.tiny
    reserve = CNN_RESERVE if on_gpu and not args.tiny else 0.0
    mlp = cnn = None
    failed = False
    try:  # a failure of one part is reported (traceback in the log) and the other part still runs
        mlp = mlp_headline(mnist, note, activations, seeds, epochs, device, fused, deadline - reserve)
    except Exception:
        traceback.print_exc()
        failed = True
    write(
        args.output,
        markdown(mlp, None, device, args.tiny, command, time.perf_counter() - started),
        to_json(mlp, None, device, args.tiny),
    )
    try:
        cnn = cnn_headline(cifar, seeds, cnn_epochs, device, deadline)
    except Exception:
        traceback.print_exc()
        failed = True
    lines = markdown(mlp, cnn, device, args.tiny, command, time.perf_counter() - started)
    write(args.output, lines, to_json(mlp, cnn, device, args.tiny))
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
