"""What the Ray executor adds to a sweep on one machine: a quick recipe trained once by two local worker processes
and once by Ray Core tasks on a local Ray runtime of as many CPUs, each into a fresh store.

Both train the same runs with one torch thread each, two at a time; the difference is what Ray costs — starting its
runtime, shipping the data and the runs, a task per training group — spread over the runs. (On a cluster the same
costs buy more machines; this measures them where nothing is gained.)
"""

from __future__ import annotations

import logging
import signal
import tempfile
import time
from pathlib import Path

from actlab.experiments.executors import ProcessExecutor
from actlab.experiments.ray_executor import RayExecutor, import_ray
from actlab.experiments.runner import run_experiment

RECIPE = "recipe:mnist-mlp-modern"  # --quick: 5 activations × 3 seeds, 2 epochs of 2,000 MNIST images
CPUS = 2


def ray_vs_process(data_dir: str | None, recipe: str = RECIPE, cpus: int = CPUS) -> dict[str, float | int | str]:
    """Wall seconds of ``recipe --quick`` with ``cpus`` worker processes and with Ray tasks on a local runtime of
    ``cpus`` CPUs (its start and stop timed apart), and the seconds Ray adds per run, start included."""
    ray = import_ray()
    with tempfile.TemporaryDirectory(prefix="actlab-ray-bench-") as folder:
        start = time.perf_counter()
        outcome = run_experiment(
            recipe,
            Path(folder, "process.db"),
            quick=True,
            data_dir=data_dir,
            executor=ProcessExecutor(cpus, cores=cpus),
        )
        process = time.perf_counter() - start
        runs = sum(outcome.counts[s] for s in ("done", "diverged"))

        handler = signal.getsignal(signal.SIGTERM)  # ray.init replaces it
        start = time.perf_counter()
        ray.init(
            address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR
        )
        signal.signal(signal.SIGTERM, handler)
        started = time.perf_counter()
        try:
            outcome = run_experiment(
                recipe, Path(folder, "ray.db"), quick=True, data_dir=data_dir, executor=RayExecutor()
            )
            trained = time.perf_counter()
        finally:
            ray.shutdown()
        stopped = time.perf_counter()
    if sum(outcome.counts[s] for s in ("done", "diverged")) != runs:
        raise RuntimeError(f"the two executors finished different numbers of runs: {outcome.counts}")
    ray_total = stopped - start
    return {
        "recipe": f"{recipe} --quick",
        "runs": runs,
        "cpus": cpus,
        "process_s": process,
        "ray_s": trained - started,
        "ray_start_stop_s": ray_total - (trained - started),
        "ray_total_s": ray_total,
        "overhead_per_run_s": (ray_total - process) / runs,
    }


def markdown(result: dict[str, float | int | str]) -> list[str]:
    """The section of docs/benchmarks.md: one row per executor, and what Ray adds per run."""
    runs = result["runs"]
    return [
        "## Ray executor overhead",
        "",
        f"`actlab run {result['recipe']}` ({runs} runs) on this machine, once with `--workers {result['cpus']}` and "
        f"once with `--executor ray` on a local Ray runtime of {result['cpus']} CPUs; one round, fresh stores.",
        "",
        "| executor | wall s | per run s |",
        "|---|---|---|",
        f"| {result['cpus']} worker processes | {result['process_s']:.2f} | {result['process_s'] / runs:.3f} |",
        f"| Ray tasks (sweep only) | {result['ray_s']:.2f} | {result['ray_s'] / runs:.3f} |",
        f"| Ray tasks, with the runtime's start and stop | {result['ray_total_s']:.2f} | "
        f"{result['ray_total_s'] / runs:.3f} |",
        "",
        f"Ray adds {result['overhead_per_run_s']:+.3f} s per run here, counting the runtime's start and stop "
        f"({result['ray_start_stop_s']:.1f} s, paid once per sweep, and not at all with `--address` to a running "
        "cluster).",
    ]
