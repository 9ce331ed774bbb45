"""One-off experiments: `actlab train` and `actlab compare` train their runs through the machinery of
`actlab run` — registered in a store, trained by the serial executor, read back from the store — in a temporary
store that disappears afterwards. A run that fails raises :class:`RunFailed` with its reason."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from actlab.data.prepared import PreparedData
from actlab.errors import ActlabError
from actlab.experiments.executors import SerialExecutor
from actlab.experiments.store import Store, failure_reason
from actlab.train.config import RunConfig
from actlab.train.metrics import EpochMetrics, RunResult

EXPERIMENT = "one-off"


class RunFailed(ActlabError):
    """A run could not be trained; the message is its reason (the first failed run's, with a count of the rest)."""


def train_configs(
    configs: Sequence[RunConfig],
    data_dir: str | Path | None = None,
    group: str = "activation",
    fused: bool = False,
    on_epoch: Callable[[RunConfig, EpochMetrics], None] | None = None,
    data: PreparedData | None = None,
    store: str | Path | None = None,
    experiment: str = EXPERIMENT,
    description: str = "",
) -> list[RunResult]:
    """Train ``configs`` (each key once) and return their results in the order given; ``data``: arrays to train
    on instead of loading the configurations' dataset. ``store``: a store to keep the runs in as ``experiment`` (runs it
    holds already are not trained again: an interrupted comparison resumes); default, a temporary one."""
    from actlab.experiments.runner import check_devices, preflight

    check_devices(list(configs))
    preflight(configs, data_dir)
    with contextlib.ExitStack() as stack:
        if store is None:
            path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="actlab-"))) / "runs.db"
        else:
            path = Path(store)
        with Store(path) as opened:
            opened.register(experiment, description, configs)
        SerialExecutor(on_epoch, fused, data).run(
            str(path), experiment, group, None if data_dir is None else str(data_dir)
        )
        with Store(path, readonly=True) as opened:
            failed = opened.errors(experiment)
            if failed:
                more = f" (and {len(failed) - 1} more failed runs)" if len(failed) > 1 else ""
                raise RunFailed(failure_reason(failed[0]) + more)
            results = {r.config.key(): r for r in opened.results(experiment)}
        return [results[c.key()] for c in configs]
