"""One-off experiments: `actlab train` and `actlab compare` train their runs through the machinery of
`actlab run` — registered in a store, trained by the serial executor, read back from the store — in a temporary
store that disappears afterwards. A run that fails raises :class:`RunFailed` with its reason."""

from __future__ import annotations

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
) -> list[RunResult]:
    """Train ``configs`` (each key once) and return their results in the order given; ``data``: arrays to train
    on instead of loading the configurations' dataset."""
    from actlab.experiments.runner import check_devices

    check_devices(list(configs))
    with tempfile.TemporaryDirectory(prefix="actlab-") as folder:
        path = Path(folder) / "runs.db"
        with Store(path) as store:
            store.register(EXPERIMENT, "", configs)
        SerialExecutor(on_epoch, fused, data).run(
            str(path), EXPERIMENT, group, None if data_dir is None else str(data_dir)
        )
        with Store(path, readonly=True) as store:
            failed = store.errors(EXPERIMENT)
            if failed:
                more = f" (and {len(failed) - 1} more failed runs)" if len(failed) > 1 else ""
                raise RunFailed(failure_reason(failed[0]) + more)
            return store.results(EXPERIMENT)
