"""Every benchmark of the performance issue in one run; writes docs/benchmarks.md (and the scaling plot).

    python -m benchmarks.bench [--quick] [--no-fuse] [--data-dir DIR] [-o docs/benchmarks.md] [--device cpu|cuda]

--quick: a 10,000-image MNIST subset, 500 synthetic CIFAR images, 1M-element kernels, one round, no
Keras — a few minutes on 2 cores (compiling the fused kernels takes most of it the first time; --no-fuse
skips them). The full run uses 60,000 MNIST and 2,000 synthetic images, three interleaved rounds and 16M-element
kernels.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
from pathlib import Path

import numpy as np
import torch

from actlab.data.prepared import prepare
from benchmarks import (
    activation_kernels,
    command_cost,
    diagnostics_cost,
    ray_overhead,
    scaling,
    threads,
    train_throughput,
    user_models,
)


def cpu_name() -> str:
    """The processor's model name (Linux's /proc/cpuinfo), else what the platform module says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    cpu = cpu_name()
    gpu = f"; GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "; no GPU"
    return (
        f"{cpu}; {os.cpu_count()} logical cores{gpu}; torch {torch.__version__} ({torch.get_num_threads()} threads); "
        f"numpy {np.__version__}; Python {platform.python_version()}"
    )


def command_section(
    data, rounds: int, train_subset: int | None, test_subset: int | None, data_dir: str | None
) -> list[str]:
    """`actlab compare` (ten seeds of relu) and `actlab train` (one model) as a user runs them, against the
    throughput table's rows for the same setup measured in the same rounds."""
    setup = command_cost.options(train_subset, test_subset, data_dir)
    models = train_throughput.MODELS
    compare_argv = ["compare", "--activations", "relu", "--seeds", str(models), *setup]
    train_argv = ["train", "--activation", "relu", *setup]
    seeds = train_throughput.mlp_configs("relu", models)
    rows = train_throughput.interleaved(
        {
            "compare": lambda: train_throughput.actlab_epoch(seeds, data),
            "train": lambda: train_throughput.actlab_epoch(seeds[:1], data),
            "compare 1": lambda: command_cost.wall([*compare_argv, "--epochs", "1"]),
            "compare 3": lambda: command_cost.wall([*compare_argv, "--epochs", "3"]),
            "train 1": lambda: command_cost.wall([*train_argv, "--epochs", "1"]),
            "train 3": lambda: command_cost.wall([*train_argv, "--epochs", "3"]),
            "help": lambda: command_cost.wall(["--help"]),
            "torch": command_cost.import_wall,
        },
        rounds,
    )
    compare = command_cost.CommandCost("actlab " + " ".join(compare_argv), rows["compare 1"], rows["compare 3"])
    train = command_cost.CommandCost("actlab " + " ".join(train_argv), rows["train 1"], rows["train 3"])
    return command_cost.markdown(
        compare,
        train,
        (train_throughput.REFERENCE, rows["compare"]),
        ("one model (relu, seed 0)", rows["train"]),
        rounds,
        rows["help"],
        rows["torch"],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", default=os.environ.get("ACTLAB_DATA"))
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument(
        "--device", default="cpu", help="cpu or cuda: where the MLP, CNN, kernel and scaling sections run"
    )
    parser.add_argument("--no-fuse", action="store_true", help="skip the fused (compiled) activation kernels")
    parser.add_argument(
        "--sections",
        default="command,mlp,diagnostics,cnn,users,threads,kernels,scaling,ray",
        help="comma-separated subset to run",
    )
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    rounds = 1 if args.quick else 3
    train_subset, test_subset = (10_000 if args.quick else None), 1000
    data = prepare("mnist", "minmax", train_subset, test_subset, args.data_dir)

    command = "python -m benchmarks.bench" + (" --quick" if args.quick else "")
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` (`make bench{' BENCH_FLAGS=--quick' if args.quick else ''}`) on "
        f"{datetime.date.today().isoformat()}. Machine: {machine()}.",
        "",
        "Every figure is a ratio of medians measured side by side in one run; absolute times on these shared "
        "machines drift.",
        "",
    ]
    if "command" in sections:
        lines += command_section(data, rounds, train_subset, test_subset, args.data_dir) + [""]
    if "mlp" in sections:
        keras = not args.quick and train_throughput.keras_backend_ok()
        lines += train_throughput.mlp_section(data, rounds, keras=keras, device=args.device).lines + [""]
    if "diagnostics" in sections:
        lines += diagnostics_cost.markdown(diagnostics_cost.measure(data, rounds), len(data.x_train)) + [""]
    if "cnn" in sections:
        lines += train_throughput.cnn_section(500 if args.quick else 2_000, rounds, device=args.device).lines + [""]
    if "users" in sections:
        epochs = 3 if args.quick else 5
        lines += user_models.markdown(user_models.measure(rounds, epochs), rounds, epochs) + [""]
    if "threads" in sections:
        lines += threads.markdown(args.data_dir, rounds, args.quick) + [""]
    if "kernels" in sections:
        elements, device = 1 << 20 if args.quick else 1 << 24, torch.device(args.device)
        results = activation_kernels.run(elements, device, fuse=not args.no_fuse)
        exp_copies = activation_kernels.exp_cost(elements, device)
        draw_copies = activation_kernels.draw_cost(elements, device)
        lines += activation_kernels.markdown(results, args.device, exp_copies=exp_copies, draw_copies=draw_copies) + [
            ""
        ]
    if "scaling" in sections:
        by_models, by_size = scaling.measure(data, rounds, device=args.device)
        image = args.output.with_name(args.output.stem + "-scaling.png")
        scaling.plot(by_models, by_size, image)
        lines += scaling.markdown(by_models, by_size, len(data.x_train), rounds, image.name, args.device) + [""]
    if "ray" in sections:
        lines += ray_overhead.markdown(ray_overhead.ray_vs_process(args.data_dir)) + [""]
    on_gpu = torch.device(args.device).type == "cuda"
    lines += [
        "## GPU",
        "",
        (
            f"The MLP, CNN, kernel and scaling sections above ran on {torch.cuda.get_device_name(args.device)} "
            f"(`--device {args.device}`): their figures are ratios measured side by side on that card, or seconds "
            "on it. Sections that take no device (the user's command, diagnostics, Ray), where present, ran on the "
            "CPU. The headline (catalog × 10 seeds, 20 epochs, target < 60 s on one H100) is "
            "`benchmarks/gpu_headline.py`; `benchmarks/gpu_check.sh` runs it with the CUDA correctness tests and "
            "these sections."
            if on_gpu
            else (
                f"This file was measured on the CPU{' of a machine with a GPU' if torch.cuda.is_available() else ''}. "
                "GPU figures come from `bash benchmarks/gpu_check.sh OUT_DIR` on a GPU machine (these sections with "
                "`--device cuda`, and the headline: catalog × 10 seeds, 20 epochs, target < 60 s on one H100); they "
                "are not mixed into this file."
            )
        ),
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, args.output)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
