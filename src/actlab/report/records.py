"""Benchmark records: one JSON record per activation × task from a store's finished runs (schema in
docs/records.md), and the same records flattened to CSV.

A task is a run configuration without its activation and seed (and the activation's own ``definition`` and
``unchecked`` flag): the runs of one task differ only in what is compared. The statistics over seeds (mean ± std,
the 95 % interval, Welch's test against relu with Holm's correction over the task) come from
:func:`actlab.report.tables.build_rows` and :mod:`actlab.report.stats`; this module only arranges them.

The store is opened read-only and read as ``actlab report`` reads it (:meth:`Store.results`), except that reading
never runs code: a user activation defined in a Python plugin file is not loaded from the file a run names (it is
described only if this process defined it, e.g. with ``--plugins``; else its catalog fields are null).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import shlex
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from actlab import jsontext, notation
from actlab.activation import activation
from actlab.catalog.spec import ActivationError
from actlab.errors import ActlabError
from actlab.report.catalog_doc import spec_record
from actlab.report.stats import Estimate
from actlab.report.tables import Row, build_rows, group_by
from actlab.train.config import RunConfig
from actlab.train.metrics import RunResult, Status

SCHEMA_VERSION = 1
BASELINE = "relu"
NOT_TASK = ("activation", "seed", "definition", "unchecked")
# Settings `actlab compare` has no option for (set automatically), left out of the reproducing command.
AUTOMATIC = ("model_sha256", "data_sha256")


class RecordsError(ActlabError, ValueError):
    """A store or experiment that holds no records to write."""


def task_settings(result: RunResult) -> dict[str, Any]:
    """The run's configuration without what the runs of one task differ in."""
    return {k: v for k, v in result.config.canonical().items() if k not in NOT_TASK}


def task_id(settings: dict[str, Any]) -> str:
    """A short stable name of a task: a hash of its settings."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def task_label(settings: dict[str, Any]) -> str:
    """``digits · mlp:100,50 · 20 epochs``: what a reader tells tasks apart by."""
    return f"{settings.get('dataset')} · {settings.get('model')} · {settings.get('epochs')} epochs"


def _activation_name(config: RunConfig) -> str:
    return config.activation


def known_activation(name: str):
    """The catalog's activation for a stored name, or None where this process does not know it (an earlier or
    missing user definition)."""
    try:
        return activation(name)
    except ActivationError:
        return None


def activation_record(name: str) -> dict[str, Any]:
    """Name, canonical parameters, formula, family, class and properties of a stored activation name; fields the
    catalog does not have here are null."""
    act = known_activation(name)
    if act is None:
        base = name.split(":", 1)[0]
        return {
            "name": name,
            "base": base,
            "label": name,
            "params": {},
            "known": False,
            "family": None,
            "class": None,
            "formula": {"latex": None, "text": None},
            "derivative": {"latex": None, "text": None},
            "properties": None,
            "reference": None,
            "aliases": {},
            "summary": None,
            "user_defined": None,
        }
    spec = act.spec
    described = spec_record(spec)
    expression = getattr(spec, "expression", None)
    learnable = any(p.learnable for p in spec.params)  # the catalog's own ``category`` where it has one
    return {
        "name": name,
        "base": spec.name,
        "label": notation.label(act),
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in act.params.items()},
        "known": True,
        "family": getattr(spec, "family", None),
        "class": getattr(spec, "category", None) or ("adaptive" if learnable else "fixed"),
        "formula": {"latex": spec.formula or None, "text": None if expression is None else str(expression)},
        "derivative": {"latex": spec.derivative_formula or None, "text": None},
        "properties": described["properties"],
        "reference": described["reference"],
        "aliases": described["aliases"],
        "summary": described["summary"],
        "user_defined": spec.user_defined,
    }


def _seed_record(result: RunResult) -> dict[str, Any]:
    s = result.summary
    return {
        "seed": result.config.seed,
        "status": s.status,
        "diverged": s.status == Status.DIVERGED,
        "diverged_epoch": s.diverged_epoch,
        "epochs": s.epochs,
        "final_test_accuracy": s.final_test_accuracy,
        "best_test_accuracy": s.best_test_accuracy,
        "best_epoch": s.best_epoch,
        "final_train_accuracy": s.final_train_accuracy,
        "final_test_loss": s.final_test_loss,
        "final_train_loss": s.final_train_loss,
        "best_test_loss": s.best_test_loss,
        "epochs_to": dict(s.epochs_to),
        "seconds_per_epoch": s.seconds_per_epoch,
    }


def _estimate(e: Estimate | None) -> dict[str, Any] | None:
    return None if e is None else asdict(e)


def _summary(row: Row, relu: Row | None) -> dict[str, Any]:
    spe, base = row.seconds_per_epoch.mean, relu.seconds_per_epoch.mean if relu else None
    test = row.versus_baseline
    return {
        "runs": row.runs,
        "diverged": row.diverged,
        "rank": row.rank,
        "final_test_accuracy": _estimate(row.final_test_accuracy),
        "best_test_accuracy": _estimate(row.best_test_accuracy),
        "final_train_accuracy": _estimate(row.final_train_accuracy),
        "final_test_loss": _estimate(row.final_test_loss),
        "final_train_loss": _estimate(row.final_train_loss),
        "best_test_loss": _estimate(row.best_test_loss),
        "epochs_to": {t: _estimate(e) for t, e in row.epochs_to.items()},
        "seconds_per_epoch": _estimate(row.seconds_per_epoch),
        "seconds_per_epoch_vs_relu": spe / base if spe is not None and base else None,
        "versus_relu": None if test is None else asdict(test),
    }


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else None


def diagnostics_summary(runs: Sequence[RunResult]) -> list[dict[str, Any]] | None:
    """Per hidden layer after the last epoch, means over the seeds that measured it: saturated and dead fractions,
    mean |f′|, gradient norm; and the ratio of the first layer's gradient norm to the last's. None without
    diagnostics."""
    measured = [r for r in runs if r.diagnostics]
    if not measured:
        return None
    layers = max(len(r.diagnostics[-1]) for r in measured)
    summary = []
    for layer in range(layers):
        picked = [r.diagnostics[-1][layer] for r in measured if layer < len(r.diagnostics[-1])]
        summary.append(
            {
                "layer": layer + 1,
                "saturated": _mean([d.saturated for d in picked]),
                "dead": _mean([d.dead for d in picked]),
                "mean_slope": _mean([d.mean_slope for d in picked]),
                "grad_norm": _mean([d.grad_norm for d in picked]),
            }
        )
    return summary


def _gradient_ratio(layers: list[dict[str, Any]] | None) -> float | None:
    if not layers or layers[0]["grad_norm"] is None or not layers[-1]["grad_norm"]:
        return None
    return layers[0]["grad_norm"] / layers[-1]["grad_norm"]


def reproduce_command(name: str, settings: dict[str, Any], seeds: int) -> str:
    """The `actlab compare` command that trains this activation on this task (seeds 0 … seeds-1)."""
    parts = ["actlab", "compare", "--activations", name, "--seeds", str(seeds)]
    for key, value in settings.items():
        if key in AUTOMATIC or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif isinstance(value, list | tuple):
            parts += [flag, ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def task_records(results: Sequence[RunResult], experiment: str) -> list[dict[str, Any]]:
    """The records of one task's runs, one per activation, in rank order."""
    settings = task_settings(results[0])
    groups = group_by(results, _activation_name)
    relu = notation.canonical(activation(BASELINE))  # relu at its defaults, as a store names it
    baseline = relu if relu in groups else None
    rows = {r.configuration: r for r in build_rows(results, _activation_name, baseline)}
    metric = "loss" if results[0].config.regression else "accuracy"  # what the rank and the tests are of
    task = {
        "id": task_id(settings),
        "label": task_label(settings),
        "experiment": experiment,
        "metric": metric,
        "settings": settings,
    }
    records = []
    for name, runs in groups.items():
        diagnostics = diagnostics_summary(runs)
        records.append(
            {
                "schema_version": SCHEMA_VERSION,
                "task": task,
                "activation": activation_record(name),
                "seeds": [_seed_record(r) for r in sorted(runs, key=lambda r: r.config.seed)],
                "summary": _summary(rows[name], rows.get(relu)),
                "diagnostics": None
                if diagnostics is None
                else {"layers": diagnostics, "gradient_ratio_first_last": _gradient_ratio(diagnostics)},
                "command": reproduce_command(name, settings, len(runs)),
            }
        )
    return sorted(records, key=lambda r: r["summary"]["rank"])


def _tasks(by_experiment: dict[str, list[RunResult]]) -> dict[str, tuple[str, list[RunResult]]]:
    """The finished runs by task, each task with the first experiment that holds it; a run in several experiments
    counts once, and a task in several experiments is one task."""
    tasks: dict[str, tuple[str, list[RunResult]]] = {}
    seen: set[str] = set()
    for name, results in by_experiment.items():
        for result in results:
            key = result.config.key()
            if result.summary is None or key in seen:
                continue
            seen.add(key)
            tasks.setdefault(task_id(task_settings(result)), (name, []))[1].append(result)
    return tasks


def store_records(store_path: str | Path, experiment: str | None = None) -> list[dict[str, Any]]:
    """Every record of a store's finished runs (of one experiment, or all), task by task."""
    from actlab.experiments.store import Store, StoreError, readable

    if not Path(store_path).is_file():
        raise RecordsError(f"no store at {store_path}")
    with readable(store_path), Store(store_path, readonly=True) as store:
        names = store.experiments()
        if experiment is not None and experiment not in names:
            raise StoreError(f"no experiment {experiment!r} in {store_path}; experiments: {', '.join(names) or 'none'}")
        by_experiment = {name: store.results(name) for name in ([experiment] if experiment else names)}
    records = []
    for name, runs in _tasks(by_experiment).values():
        records += task_records(runs, name)
    if not records:
        raise RecordsError(f"{store_path} holds no finished runs" + (f" in {experiment!r}" if experiment else ""))
    return records


def records_json(records: Sequence[dict[str, Any]]) -> str:
    return jsontext.dumps({"schema_version": SCHEMA_VERSION, "records": list(records)})


CSV_COLUMNS = (
    "task_id",
    "task",
    "activation",
    "family",
    "class",
    "runs",
    "diverged",
    "rank",
    "final_test_accuracy_mean",
    "final_test_accuracy_std",
    "final_test_accuracy_ci_low",
    "final_test_accuracy_ci_high",
    "best_test_accuracy_mean",
    "best_test_accuracy_std",
    "final_test_loss_mean",
    "final_train_loss_mean",
    "seconds_per_epoch",
    "seconds_per_epoch_vs_relu",
    "p_vs_relu_holm",
)


def _csv_row(record: dict[str, Any]) -> list[Any]:
    s, a = record["summary"], record["activation"]
    final, best = s["final_test_accuracy"], s["best_test_accuracy"]
    test = s["versus_relu"] or {}
    return [
        record["task"]["id"],
        record["task"]["label"],
        a["name"],
        a["family"],
        a["class"],
        s["runs"],
        s["diverged"],
        s["rank"],
        final["mean"],
        final["std"],
        final["ci_low"],
        final["ci_high"],
        best["mean"],
        best["std"],
        (s["final_test_loss"] or {}).get("mean"),
        (s["final_train_loss"] or {}).get("mean"),
        s["seconds_per_epoch"]["mean"],
        s["seconds_per_epoch_vs_relu"],
        test.get("p_holm"),
    ]


def records_csv(records: Sequence[dict[str, Any]]) -> str:
    """One row per record (accuracies as fractions), the summary columns, then per accuracy threshold the mean epoch
    that reached it and how many seeds did; per-seed values are in the JSON."""
    thresholds = list(dict.fromkeys(t for r in records for t in r["summary"]["epochs_to"]))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [*CSV_COLUMNS, *(f"epochs_to_{t}_mean" for t in thresholds), *(f"epochs_to_{t}_reached" for t in thresholds)]
    )
    for record in records:
        reached = [record["summary"]["epochs_to"].get(t) or {} for t in thresholds]
        values = [*_csv_row(record), *(e.get("mean") for e in reached), *(e.get("n") for e in reached)]
        writer.writerow(["" if v is None else v for v in values])
    return out.getvalue()
