"""Executors: who trains an experiment's pending runs.

Every executor runs the same worker loop — claim a group of runs from the store, train it (one stacked
network), stream its epochs, complete each run — so any number of workers, in any number of processes or
``actlab run`` invocations, cooperate through the store. An executor is just a way to start workers:
:class:`SerialExecutor` runs one in this process; :class:`ProcessExecutor` starts N processes with
torch threads split so that workers × threads = cores.

While a worker trains, a :class:`~actlab.experiments.store.LeaseKeeper` renews its claims. On Ctrl-C or SIGTERM a
worker gives its unfinished runs back before it exits (:class:`Interrupted`); worker processes also exit, giving
their runs back, when the process that started them dies.
"""

from __future__ import annotations

import _thread
import contextlib
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from typing import Protocol

from actlab.errors import ActlabError
from actlab.experiments.store import LEASE_SECONDS, LeaseKeeper, Store, StoreError, new_owner

Progress = Callable[[dict[str, int]], None]


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) received: the worker gives its runs back and stops. ``exit_code`` is 128 + the signal."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.exit_code = 128 + signum


def _interrupt(signum, frame) -> None:
    raise Interrupted(signum)


def _interrupt_once(signum, frame) -> None:
    """A worker process's handler of SIGINT and SIGTERM: interrupt it, and stay deaf to both from then on. Ctrl-C
    reaches every process of the terminal's group and the parent then sends SIGTERM too: a second signal arriving
    while the worker gives its runs back and exits raised a second Interrupted there, with a traceback."""
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, _deaf)
    raise Interrupted(signum)


def _deaf(signum, frame) -> None:
    """A handler that does nothing. Not SIG_IGN: a signal already received but not yet handled when the handler
    changes to SIG_IGN is reported as 'ignored due to race condition', with a traceback."""


def interrupt_once() -> None:
    """Make SIGINT and SIGTERM interrupt this (worker) process once, as :class:`Interrupted`; main thread only."""
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, _interrupt_once)


def on_termination() -> None:
    """Make SIGTERM interrupt this process like Ctrl-C (as :class:`Interrupted`); main thread only."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


@contextlib.contextmanager
def termination_interrupts():
    """Within the block, SIGTERM interrupts like Ctrl-C (:class:`Interrupted`); the previous handler afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_code(interrupt: KeyboardInterrupt) -> int:
    return interrupt.exit_code if isinstance(interrupt, Interrupted) else 128 + signal.SIGINT


def describe_failure(exception: BaseException) -> str:
    """What a failed run records: its reason in one line (the message of an actlab error, else the exception's
    type and message), then the traceback for whoever debugs it."""
    message = " ".join(str(exception).split())
    reason = message if isinstance(exception, ActlabError) and message else f"{type(exception).__name__}: {message}"
    return reason + "\n" + "".join(traceback.format_exception(exception, limit=-4))


def work(
    store_path: str,
    experiment: str,
    group: str = "activation",
    data_dir: str | None = None,
    threads: int | None = None,
    on_group: Callable[[], None] | None = None,
    on_epoch=None,
    fused: bool = False,
    data=None,
    lease: float = LEASE_SECONDS,
) -> int:
    """Train claimable runs of ``experiment`` until none are left; returns how many this worker finished.
    ``on_epoch(config, metrics)`` is called after each epoch is stored; ``fused``: compiled activation
    kernels; ``data``: arrays to train on instead of loading the runs' dataset (see
    :func:`actlab.train.trainer.train_runs`); ``lease``: seconds a claim lives without renewal."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    owner = new_owner()
    with Store(store_path, lease=lease) as store, LeaseKeeper(store_path, owner, lease):
        try:
            return _claim_and_train(store, owner, experiment, group, data_dir, on_group, on_epoch, fused, data)
        except KeyboardInterrupt:  # also between a claim's commit and its training: nothing stays claimed
            with _shielded(), contextlib.suppress(StoreError):
                store.release(store.held_by(owner), owner)
            raise


def _claim_and_train(
    store: Store,
    owner: str,
    experiment: str,
    group: str,
    data_dir: str | None,
    on_group: Callable[[], None] | None,
    on_epoch,
    fused: bool,
    data,
) -> int:
    """:func:`work`'s loop: claim a group, train it, store its results, until nothing is left to claim."""
    from actlab.train.grouping import group_runs
    from actlab.train.trainer import train_runs

    finished = 0
    while True:
        claimed = store.claim(experiment, owner, lambda configs: group_runs(configs, group))
        if not claimed:
            return finished
        keys = [c.key() for c in claimed]

        def record(config, metrics) -> None:
            store.record_epoch(config.key(), owner, metrics)
            if on_epoch is not None:
                on_epoch(config, metrics)

        try:
            results = train_runs(claimed, data_dir=data_dir, group="all", on_epoch=record, fused=fused, data=data)
        except (KeyboardInterrupt, StoreError):
            _give_back(store, keys, owner)
            raise
        except Exception as exception:  # a run that cannot train is recorded as failed; the others go on
            error = describe_failure(exception)
            for key in keys:
                store.fail(key, owner, error)
            continue
        for result in results:
            finished += store.complete(result, owner)
        if on_group is not None:
            on_group()


def _give_back(store: Store, keys: list[str], owner: str) -> None:
    """Release claims on the way out, deaf to a second Ctrl-C or SIGTERM meanwhile; if even that fails (a full
    disk), the runner's exit or its lease running out frees them instead."""
    with _shielded(), contextlib.suppress(StoreError):
        store.release(keys, owner)


@contextlib.contextmanager
def _shielded():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Executor(Protocol):
    def run(
        self, store_path: str, experiment: str, group: str, data_dir: str | None, progress: Progress | None
    ) -> None: ...


class SerialExecutor:
    """One worker in this process; ``on_epoch`` sees every epoch as it is stored."""

    def __init__(self, on_epoch=None, fused: bool = False, data=None, lease: float = LEASE_SECONDS) -> None:
        self.on_epoch = on_epoch
        self.fused = fused
        self.data = data
        self.lease = lease

    def run(self, store_path, experiment, group="activation", data_dir=None, progress=None) -> None:
        def report() -> None:
            if progress is not None:
                with Store(store_path, readonly=True) as store:
                    progress(store.counts(experiment))

        report()
        work(
            store_path,
            experiment,
            group,
            data_dir,
            on_group=report,
            on_epoch=self.on_epoch,
            fused=self.fused,
            data=self.data,
            lease=self.lease,
        )
        report()


def _watch_parent(parent: int) -> None:
    """Interrupt this (worker) process's main thread when its parent is gone (killed with -9, crashed)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            _thread.interrupt_main()
            return


def _worker(
    store_path: str,
    experiment: str,
    group: str,
    data_dir: str | None,
    threads: int,
    fused: bool,
    lease: float,
    trusted: tuple[dict[str, str], bool] = ({}, False),
) -> None:
    """A worker process: trains until nothing is claimable; on SIGINT, SIGTERM or its parent's death it gives its
    runs back and exits quietly with 128 + the signal (no traceback). ``trusted``: the Python plugin files its parent
    was given (see :func:`actlab.catalog.plugins.trusted`)."""
    from actlab.catalog import plugins

    plugins.trust(*trusted)
    interrupt_once()
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        work(store_path, experiment, group, data_dir, threads, fused=fused, lease=lease)
    except KeyboardInterrupt as interrupt:
        raise SystemExit(exit_code(interrupt)) from None
    except StoreError as error:
        os.write(2, f"error: {error}\n".encode())
        raise SystemExit(2) from None


class ProcessExecutor:
    """``workers`` processes (spawned: no inherited torch state), each with cores/workers threads."""

    def __init__(
        self, workers: int, cores: int | None = None, fused: bool = False, lease: float = LEASE_SECONDS
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.fused = fused
        self.lease = lease
        self.threads = max(1, (cores or os.cpu_count() or 1) // workers)

    def run(self, store_path, experiment, group="activation", data_dir=None, progress=None) -> None:
        from actlab.catalog import plugins

        context = multiprocessing.get_context("spawn")
        settings = (str(store_path), experiment, group, data_dir, self.threads, self.fused, self.lease)
        processes = [
            context.Process(
                target=_worker,
                args=(*settings, plugins.trusted()),
                daemon=False,
            )
            for _ in range(self.workers)
        ]
        for process in processes:
            process.start()
        try:
            while any(p.is_alive() for p in processes):
                if progress is not None:
                    with Store(store_path, readonly=True) as store:
                        progress(store.counts(experiment))
                time.sleep(0.5)
        except KeyboardInterrupt:
            _stop(processes)
            raise
        for process in processes:
            process.join()
        if progress is not None:
            with Store(store_path, readonly=True) as store:
                progress(store.counts(experiment))
        failed = [p.exitcode for p in processes if p.exitcode not in (0, None)]
        if failed:
            raise StoreError(f"{len(failed)} worker process(es) stopped with exit codes {failed}; rerun to resume")


def _stop(processes) -> None:
    """Ask every worker to give its runs back and exit (SIGTERM; Ctrl-C reached them already), then wait."""
    for process in processes:
        if process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    deadline = time.time() + 30
    for process in processes:
        process.join(max(0.0, deadline - time.time()))
        if process.is_alive():
            process.kill()
            process.join()


def executor_for(workers: int, fused: bool = False) -> Executor:
    return SerialExecutor(fused=fused) if workers <= 1 else ProcessExecutor(workers, fused=fused)
