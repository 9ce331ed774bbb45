"""The progress bar of training on stderr (rich), the one ``actlab train``, ``actlab compare``, ``actlab run`` and
``actlab.compare`` show: transient, so that only the results stay on the terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from actlab.train.config import RunConfig


@contextlib.contextmanager
def progress_bar(description: str, total: int | None, console: Any = None) -> Iterator[Callable[..., None]]:
    """A bar with ``description`` out of ``total`` (None: not known yet) on ``console`` (default: a stderr console);
    yields ``update(**fields)`` (rich's ``Progress.update``: ``advance=1``, ``completed=…``, ``description=…``)."""
    from rich import progress
    from rich.console import Console

    columns = [
        progress.TextColumn("{task.description}"),
        progress.BarColumn(),
        progress.MofNCompleteColumn(),
        progress.TimeElapsedColumn(),
        progress.TimeRemainingColumn(),
    ]
    with progress.Progress(*columns, console=console or Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda **fields: bar.update(task, **fields)


def epoch_callback(update: Callable[..., None]) -> Callable[[RunConfig, Any], None]:
    """An ``on_epoch`` callback that advances the bar by one epoch and names the run it came from."""

    def on_epoch(config: RunConfig, metrics: Any) -> None:
        update(advance=1, description=f"{config.activation_label()} seed {config.seed}")

    return on_epoch
