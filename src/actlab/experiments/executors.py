"""Executors: who trains an experiment's pending runs.

Every executor runs the same worker loop — claim a group of runs from the store, train it (one stacked
network), stream its epochs, complete each run — so any number of workers, in any number of processes or
``actlab run`` invocations, cooperate through the store. An executor is just a way to start workers:
:class:`SerialExecutor` runs one in this process; :class:`ProcessExecutor` starts N processes with
torch threads split so that workers × threads = cores. A cluster engine would start workers elsewhere
against the same store.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Callable
from typing import Protocol

from actlab.errors import ActlabError
from actlab.experiments.store import Store, new_owner

Progress = Callable[[dict[str, int]], None]


def work(store_path: str, experiment: str, group: str = "activation", data_dir: str | None = None,
         threads: int | None = None, on_batch: Callable[[], None] | None = None, on_epoch=None,
         fused: bool = False, data=None) -> int:
    """Train claimable runs of ``experiment`` until none are left; returns how many this worker finished.
    ``on_epoch(config, metrics)`` is called after each epoch is stored; ``fused``: compiled activation
    kernels; ``data``: arrays to train on instead of loading the runs' dataset (see
    :func:`actlab.train.trainer.train_runs`)."""
    import torch

    from actlab.train.trainer import train_runs

    if threads:
        torch.set_num_threads(threads)
    owner = new_owner()
    finished = 0
    with Store(store_path) as store:
        while True:
            batch = store.claim(experiment, owner, group)
            if not batch:
                return finished
            def record(config, metrics) -> None:
                store.record_epoch(config.key(), owner, metrics)
                if on_epoch is not None:
                    on_epoch(config, metrics)

            try:
                results = train_runs(batch, data_dir=data_dir, group="all", on_epoch=record, fused=fused, data=data)
            except KeyboardInterrupt:
                store.release([c.key() for c in batch], owner)
                raise
            except Exception as exception:  # a run that cannot train is recorded as failed; the others go on
                error = describe_failure(exception)
                for config in batch:
                    store.fail(config.key(), owner, error)
                continue
            for result in results:
                finished += store.complete(result, owner)
            if on_batch is not None:
                on_batch()


def describe_failure(exception: BaseException) -> str:
    """What a failed run records: its reason in one line (the message of an actlab error, else the exception's
    type and message), then the traceback for whoever debugs it."""
    message = " ".join(str(exception).split())
    reason = message if isinstance(exception, ActlabError) and message else f"{type(exception).__name__}: {message}"
    return reason + "\n" + "".join(traceback.format_exception(exception, limit=-4))


class Executor(Protocol):
    def run(self, store_path: str, experiment: str, group: str, data_dir: str | None, progress: Progress | None) -> None:
        ...


class SerialExecutor:
    """One worker in this process; ``on_epoch`` sees every epoch as it is stored."""

    def __init__(self, on_epoch=None, fused: bool = False, data=None) -> None:
        self.on_epoch = on_epoch
        self.fused = fused
        self.data = data

    def run(self, store_path, experiment, group="activation", data_dir=None, progress=None) -> None:
        def report() -> None:
            if progress is not None:
                with Store(store_path) as store:
                    progress(store.counts(experiment))

        report()
        work(store_path, experiment, group, data_dir, on_batch=report, on_epoch=self.on_epoch, fused=self.fused,
             data=self.data)
        report()


class ProcessExecutor:
    """``workers`` processes (spawned: no inherited torch state), each with cores/workers threads."""

    def __init__(self, workers: int, cores: int | None = None, fused: bool = False) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.fused = fused
        self.threads = max(1, (cores or os.cpu_count() or 1) // workers)

    def run(self, store_path, experiment, group="activation", data_dir=None, progress=None) -> None:
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=work, args=(str(store_path), experiment, group, data_dir, self.threads),
                                     kwargs={"fused": self.fused},
                                     daemon=False) for _ in range(self.workers)]
        for process in processes:
            process.start()
        try:
            while any(p.is_alive() for p in processes):
                if progress is not None:
                    with Store(store_path) as store:
                        progress(store.counts(experiment))
                time.sleep(0.5)
        except KeyboardInterrupt:
            for process in processes:
                process.terminate()
            raise
        finally:
            for process in processes:
                process.join()
        if progress is not None:
            with Store(store_path) as store:
                progress(store.counts(experiment))
        failed = [p.exitcode for p in processes if p.exitcode not in (0, None)]
        if failed:
            raise RuntimeError(f"{len(failed)} worker process(es) exited with codes {failed}")


def executor_for(workers: int, fused: bool = False) -> Executor:
    return SerialExecutor(fused=fused) if workers <= 1 else ProcessExecutor(workers, fused=fused)

