"""Running an experiment file against a store: what `actlab run` does, minus the printing.

Validate the file and the devices, and reach the cluster of an executor that runs on one, before anything is
written; record the experiment's definition (saying when it changed since the last run); optionally make failed runs
pending again; train what is claimable with an executor; read back the counts, the results and the failures. A store
that needs no write (every run finished) may be read-only.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from actlab.experiments import recipes
from actlab.experiments.config import Experiment, load_experiment
from actlab.experiments.executors import Executor, Progress, executor_for
from actlab.experiments.ray_executor import RayExecutor
from actlab.experiments.store import Store, failure_reason, readable
from actlab.train.config import RunConfig
from actlab.train.metrics import RunResult


@dataclass
class RunOutcome:
    """Where an experiment stands after a run: counts per status (``held``: running under other runners' live
    leases), the finished results, each failed run's one-line reason, and what changed."""

    name: str
    experiment: Experiment
    store: Path
    counts: dict[str, int]
    results: list[RunResult]
    failures: list[tuple[RunConfig, str]] = field(default_factory=list)
    new_runs: int = 0
    retired_runs: int = 0
    retried: int = 0
    definition_changed: bool = False
    changes: list[str] = field(default_factory=list)  # what differs from the earlier definition, a phrase each


def load(source: str, quick: bool = False) -> tuple[str, Experiment]:
    """The experiment of ``source`` (a TOML path or ``recipe:NAME``) and the name it is stored under."""
    path = recipes.path(source) if source.startswith(recipes.PREFIX) else Path(source)
    experiment = load_experiment(path, quick=quick)
    return (f"{experiment.name}-quick" if quick else experiment.name), experiment


def check_devices(runs: list[RunConfig]) -> None:
    """Every device the runs name exists here (raises :class:`~actlab.train.trainer.DeviceError`)."""
    devices = {run.device for run in runs}
    if devices - {"cpu", "auto"}:
        from actlab.train.trainer import resolve_device

        for device in sorted(devices):
            resolve_device(device)


def run_experiment(
    source: str,
    store_path: str | Path,
    workers: int = 1,
    group: str = "activation",
    quick: bool = False,
    data_dir: str | Path | None = None,
    fused: bool = False,
    retry_failed: bool = False,
    progress: Progress | None = None,
    allow_unchecked: bool = False,
    executor: str | Executor = "local",
) -> RunOutcome:
    """Train what the store does not have yet of the experiment ``source``; see the module docstring. ``executor``:
    see :func:`choose_executor`."""
    from actlab.train.grouping import GROUPINGS

    if group not in GROUPINGS:
        raise ValueError(f"--group {group!r}: use one of {', '.join(GROUPINGS)}")
    from actlab.experiments.checking import checked

    chosen = choose_executor(executor, workers, fused)
    name, experiment = load(source, quick)
    experiment = replace(experiment, runs=tuple(checked(experiment.runs, allow_unchecked)))
    if isinstance(chosen, RayExecutor):  # on a cluster, the devices are the workers' (there, a task checks its own)
        chosen.check_devices(experiment.runs)
    else:
        check_devices(list(experiment.runs))
    preflight(experiment.runs, data_dir)
    store_path = Path(store_path)
    connected = getattr(chosen, "connected", None)  # an executor that reaches a cluster does so before any write
    with connected() if connected is not None else contextlib.nullcontext():
        with readable(store_path), Store(store_path) as store:
            known = name in store.experiments()
            earlier = [config for config, _ in store.statuses(name)] if known else []
            new_runs, retired = store.register(name, experiment.description, experiment.runs)
            retried = store.retry_failed(name) if retry_failed and store.counts(name)["failed"] else 0
            counts = store.counts(name)
        if counts["pending"] or counts["running"] > counts["held"]:
            chosen.run(str(store_path), name, group, None if data_dir is None else str(data_dir), progress)
    with readable(store_path), Store(store_path, readonly=True) as store:
        counts = store.counts(name)
        outcome = RunOutcome(
            name,
            experiment,
            store_path,
            counts,
            store.results(name),
            store.failures(name),
            new_runs,
            retired,
            retried,
            known and (new_runs > 0 or retired > 0),
            describe_changes(earlier, experiment.runs) if known and (new_runs or retired) else [],
        )
    return outcome


_SOURCES = {
    "model_sha256": "the model's source changed",
    "data_sha256": "the data file changed",
    "definition": "an activation's definition changed",
}


def describe_changes(earlier: list[RunConfig], now: Sequence[RunConfig]) -> list[str]:
    """What differs between an experiment's earlier runs and its runs now, a phrase per setting: ``epochs 2 → 1``,
    ``activation + gelu − tanh``, ``the model's source changed``."""
    before, after = _values(earlier), _values(now)
    changes = []
    for setting in sorted(set(before) | set(after)):
        old, new = before.get(setting, set()), after.get(setting, set())
        if old == new:
            continue
        if setting in _SOURCES:
            changes.append(_SOURCES[setting])
        elif len(old) == 1 and len(new) == 1:
            changes.append(f"{setting} {next(iter(old))} → {next(iter(new))}")
        else:
            added = " ".join(f"+ {v}" for v in sorted(new - old))
            removed = " ".join(f"− {v}" for v in sorted(old - new))
            changes.append(f"{setting} {' '.join(p for p in (added, removed) if p)}")
    return changes


def _values(runs: Sequence[RunConfig]) -> dict[str, set[str]]:
    values: dict[str, set[str]] = {}
    for run in runs:
        for setting, value in json.loads(run.model_dump_json()).items():
            values.setdefault(setting, set()).add(value if isinstance(value, str) else json.dumps(value))
    return values


def choose_executor(executor: str | Executor, workers: int = 1, fused: bool = False) -> Executor:
    """Who trains: ``local`` — one worker in this process, or ``workers`` processes (:func:`executor_for`); ``ray`` —
    Ray Core tasks on a local Ray runtime (:class:`RayExecutor`; for a cluster and other settings, give a
    ``RayExecutor`` object); or an executor object, used as it is. Contradictions are one :class:`ValueError`."""
    if not isinstance(executor, str):
        if workers != 1 or fused:
            raise ValueError("an executor object carries its own settings: give workers and fused to it, not here")
        return executor
    if executor == "ray":
        if workers != 1:
            raise ValueError(
                "workers starts local worker processes; with the ray executor Ray runs the tasks (size them with "
                "RayExecutor's cpus_per_task and max_in_flight)"
            )
        return RayExecutor(fused=fused)
    if executor != "local":
        raise ValueError(f"executor {executor!r}: use local or ray, or give an executor object")
    return executor_for(workers, fused)


def preflight(configs, data_dir: str | Path | None = None) -> None:
    """Users' data read and checked once (each file, as each run reads it), and users' models built once per
    activation and scored on one batch (see :func:`actlab.models.user_build.preflight`), before anything is trained or
    stored: a malformed file is one clear error, not runs stored as failed. Nothing is loaded for actlab's own
    datasets and models."""
    from actlab.data import sources

    users_data = {
        (c.dataset, c.preprocessing, c.target, c.test_fraction, c.loss, c.data_sha256): c
        for c in configs
        if sources.kind(c.dataset) != "builtin"
    }
    if users_data:
        from actlab.data.prepared import prepare_for

        for config in users_data.values():
            prepare_for(config, data_dir)
    if any(config.is_user_model() for config in configs):
        from actlab.models.user_build import preflight as check_models

        check_models(configs, data_dir)


def failed_line(config: RunConfig, error: str) -> str:
    """One failed run in one line: what it was and why it failed."""
    return f"{config.activation_label()}, seed {config.seed} (run {config.key()}): {failure_reason(error)}"
