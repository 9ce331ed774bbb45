"""``actlab.compare``: would another activation help *my* model? Your model and data, trained with each activation and
seed through the machinery of ``actlab compare`` and ``actlab run`` — run configurations, the store, the executor,
statistics over seeds, tables, plots and the HTML report.

>>> cmp = actlab.compare(model, (x_train, y_train, x_test, y_test), activations=["relu", "gelu", "mish"],
...                      seeds=3, epochs=10, optimizer="adam", lr=1e-3, batch_size=128)
>>> cmp.table()            # mean ± std over seeds, 95 % CI, best, epochs to thresholds, s/epoch
>>> cmp.save("out/")       # report.{md,csv,json,html} and the figures
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError
from actlab.experiments.config import check_run_count
from actlab.experiments.progress import epoch_callback, progress_bar
from actlab.models.user_models import display
from actlab.train.config import RunConfig, make_config
from actlab.train.metrics import RunResult

EXPERIMENT = "compare"


@dataclass
class Comparison:
    """The results of :func:`compare`, with the renderings ``actlab compare`` and ``actlab report`` give."""

    results: list[RunResult]
    description: str = ""

    def rows(self, baseline: str | None = None) -> list:
        """One :class:`~actlab.report.tables.Row` per activation: statistics over seeds, ranked; with ``baseline``
        (an activation label), Welch's test of the others against it, Holm-corrected."""
        from actlab.report.tables import build_rows

        return build_rows(self.results, None, baseline)

    def table(self, baseline: str | None = None, wide: bool = True, console: Any = None) -> None:
        """Print the comparison table (``actlab compare`` prints this one) on ``console`` (default: stdout's)."""
        from rich.console import Console

        from actlab.report.console import print_comparison

        title = f"{self.description}: mean ± std" if self.description else None
        print_comparison(console or Console(), self.rows(baseline), baseline, wide, title)

    def markdown(self, baseline: str | None = None) -> str:
        from actlab.report.tables import markdown

        return markdown(self.rows(baseline), baseline)

    def _repr_markdown_(self) -> str:  # notebooks show the table
        return self.markdown()

    def save(self, out: str | Path, baseline: str | None = None) -> dict[str, Path]:
        """Write report.{md,csv,json,html}, the figures and the activations compared into ``out`` as ``actlab report``
        does (``actlab compare --out`` writes these); returns the files by name."""
        from actlab.report.experiment_report import write_report

        written = write_report(self.results, EXPERIMENT, Path(out), baseline, self.description, activations=True)
        return written["files"]


def _model_reference(model: Any, match: Any = None) -> str:
    """The run configurations' name for ``model``: a string as it is (``mlp:100``, ``FILE.py:build``), an
    ``nn.Module`` (its ``match``-selected activations swapped) or a ``build(act)`` function registered for this
    process."""
    from torch import nn

    if match is not None and not isinstance(model, nn.Module):
        raise ActlabError(
            "match selects the activations to swap in a model given as an nn.Module; a build(act) function or a "
            "model file puts act() where it wants it"
        )
    if isinstance(model, str):
        return model
    from actlab.models import user_models
    from actlab.models.fingerprint import fingerprint
    from actlab.models.user_build import from_template

    if isinstance(model, nn.Module):
        build = from_template(model, match)
        return user_models.register(type(model).__name__, build, fingerprint(build))
    if callable(model):
        name = getattr(model, "__name__", type(model).__name__)
        return user_models.register(name, model, fingerprint(model))
    raise ActlabError(
        f"model: give an nn.Module, a build(act) function or a model string such as FILE.py:build, not "
        f"{type(model).__name__}"
    )


def _data_reference(data: Any, loss: str) -> str:
    if isinstance(data, str):
        return data
    from actlab.data.user_data import register_arrays

    return register_arrays(data, loss)


def compare(
    model: Any,
    data: Any,
    activations: Sequence[str] = ("relu", "gelu", "mish"),
    seeds: int | Sequence[int] = 3,
    epochs: int = 10,
    optimizer: str = "adam",
    lr: float = 1e-3,
    batch_size: int = 128,
    loss: str = "cross_entropy",
    match: Any = None,
    store: str | Path | None = None,
    device: str = "auto",
    progress: bool = True,
    allow_unchecked: bool = False,
    data_dir: str | Path | None = None,
    group: str = "activation",
    fused: bool = False,
    **settings: Any,
) -> Comparison:
    """Train ``model`` on ``data`` with each activation and seed; returns a :class:`Comparison`.

    ``model``: an ``nn.Module`` (its activations — those ``match`` selects, as in :func:`actlab.swap`: default
    every one swap recognises, gates and squashing calls beside other activations kept — swapped for each
    activation, and its modules that have ``reset_parameters`` re-initialised for each seed; parameters a module
    holds without one keep the model's
    values), a ``build(act)`` function returning a new model in which ``act()`` gives each activation module, or a
    model string (``mlp:100,50``, ``FILE.py:build``). ``data``: ``(x_train, y_train, x_test, y_test)`` as arrays or
    tensors, ``(train_dataset, test_dataset)`` as torch Datasets, or a dataset name (``mnist``, ``npz:PATH``,
    ``csv:PATH`` with ``target=``). ``loss``: ``cross_entropy``
    (classification: accuracies and epochs to thresholds) or ``mse`` (regression: test losses). ``store``: a store
    file that keeps the runs (rerunning resumes; ``actlab report`` reads it); default, a temporary one.
    ``settings``: any other run setting (``weight_decay``, ``schedule``, ``flooding``, ``dtype``,
    ``preprocessing`` — default ``none`` for arrays given here, which are taken as they are …). ``group``: which
    runs train together (``activation``, ``all``, ``none``: see :func:`actlab.train.grouping.group_runs`);
    ``fused``: compiled kernels for activations without a native one. ``actlab compare`` calls this.

    Nothing is trained unless everything is valid: settings, activations (user-defined ones must pass
    ``actlab check`` unless ``allow_unchecked``), the model's build and its output shape against the labels.
    """
    from actlab.experiments.oneoff import train_configs

    if isinstance(seeds, int):
        check_run_count(len(activations) * seeds, f"{len(activations)} activations × {seeds} seeds")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list or not activations:
        raise ActlabError("compare needs at least one activation and one seed")
    check_run_count(len(activations) * len(seed_list), f"{len(activations)} activations × {len(seed_list)} seeds")
    dataset = _data_reference(data, loss)
    if not isinstance(data, str):
        settings.setdefault("preprocessing", "none")
    setup = {"epochs": epochs, "optimizer": optimizer, "lr": lr, "batch_size": batch_size, "device": device}
    setup.update(model=_model_reference(model, match), dataset=dataset, loss=loss, **settings)
    configs = _checked_configs(activations, seed_list, setup, allow_unchecked)
    description = title(configs, len(activations), len(seed_list))
    total = sum(c.epochs for c in configs)
    with progress_bar("epochs", total) if progress else contextlib.nullcontext() as update:
        on_epoch = epoch_callback(update) if update is not None else None
        results = train_configs(
            configs, data_dir, group, fused, on_epoch, store=store, experiment=EXPERIMENT, description=description
        )
    return Comparison(results, description)


def _checked_configs(
    activations: Sequence[str], seeds: list[int], setup: dict[str, Any], allow_unchecked: bool
) -> list[RunConfig]:
    """A run for every activation × seed; users' activations checked (:mod:`actlab.experiments.checking`)."""
    from actlab.experiments.checking import checked

    return checked([make_config(activation=a, seed=s, **setup) for a in activations for s in seeds], allow_unchecked)


def title(configs: Sequence[RunConfig], activations: int, seeds: int) -> str:
    """What a comparison is, in a line: its title in the terminal, the report and the store."""
    first = configs[0]
    schedule = "" if first.schedule == "constant" else f" ({first.schedule} schedule)"
    return (
        f"{activations} activations × {seeds} seeds: {display(first.model)} on {display(first.dataset)} "
        f"({first.optimizer} lr {first.lr:g}{schedule}, batch {first.batch_size}, {first.epochs} epochs)"
    )
