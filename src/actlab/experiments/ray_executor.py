"""The Ray executor: an experiment's training groups run as Ray Core tasks; the driver alone writes the store.

A sweep that outgrows one machine runs on a Ray cluster, but SQLite must not be shared over a network filesystem, and
Ray Tune's per-trial machinery costs more than many short runs can bear. So the driver — the process running
``actlab run --executor ray`` — does with the store exactly what a local worker does (claims one training group at a
time under a lease that a :class:`~actlab.experiments.store.LeaseKeeper` renews, then completes or fails its runs),
and each claimed group trains in one Ray task on whichever node has the resources:

- a task receives the runs as their stored JSON and rebuilds them there, which defines users' activations again and
  checks users' model files, as a spawned worker does; it trains them as one stacked network
  (:func:`actlab.train.trainer.train_runs`) and returns their histories and summaries — it never touches the store;
- the prepared arrays of a dataset under :data:`SHIP_LIMIT` go to the workers once, through Ray's object store;
  larger ones, and ones the driver cannot read, are loaded by each worker (``--data-dir`` or ``$ACTLAB_DATA`` there);
- a group's results are written in one transaction, in the order the tasks finish, with the progress reported after
  each; at most ``max_in_flight`` tasks are outstanding;
- a task whose worker or node dies is retried by Ray (``max_retries``); if it still fails — or the runs cannot even
  be set up on the node (actlab missing or another version there, a user's file not at its path) — its runs are
  given back (pending) and, once every other task is done, the run ends with :class:`ClusterError`: rerun to resume
  them;
- an exception while training fails the group's runs with its message (as the local executors record it); a
  diverged run is stored as diverged;
- Ctrl-C or SIGTERM gives the outstanding runs back, then cancels their tasks; so does Ray failing under the driver
  (its node marked dead), which ends the run with one :class:`ClusterError`: interrupted, rerun to resume.

Ray is an optional dependency (``actlab[ray]``): nothing here imports it before an executor is made.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import signal
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actlab.catalog import plugins
from actlab.data.prepared import PreparedData, prepare_for
from actlab.errors import ActlabError
from actlab.experiments.executors import Interrupted, Progress, _shielded, describe_failure
from actlab.experiments.store import LEASE_SECONDS, LeaseKeeper, Store, StoreError, new_owner
from actlab.train.config import RunConfig, make_config
from actlab.train.diagnostics_data import LayerDiagnostics
from actlab.train.grouping import group_runs
from actlab.train.metrics import EpochMetrics, RunResult, Status, Summary

SHIP_LIMIT = 200 * 2**20  # bytes: prepared arrays up to this size travel through Ray's object store
INSTALL = 'install actlab[ray] (pip install "actlab[ray]")'
CONNECT_TIMEOUT = 10.0  # seconds to reach a cluster's head before saying it is not there (Ray itself waits minutes)
_ADDRESS = re.compile(r"[A-Za-z0-9_.\-\[\]:]+:\d{1,5}")
_WAIT = 0.5  # seconds between looks at the tasks: how soon Ctrl-C or SIGTERM is acted on
# Ray announces whenever it starts or joins a runtime whether it authenticates with a token: noise on every run.
_TOKEN_NOTICE = "ray._private.authentication.authentication_token_setup"
# Why joining a cluster fails: none is running (auto), or — its head answering (see _reach) — Ray refuses to join.
_HINTS = {None: "", "auto": " (is it running? `ray start --head` starts one; see `ray status`)"}
_HINT = (
    " (its head answers: is it the same Ray version as here, and if it authenticates with a token, is"
    " RAY_AUTH_MODE=token set here and its token — `ray get-auth-token` on the head — in ~/.ray/auth_token?)"
)


class ClusterError(ActlabError):
    """Ray is missing or unreachable, the cluster cannot run the tasks, or tasks failed for good."""


def import_ray() -> Any:
    """The ``ray`` module, or one clear error saying how to install it."""
    try:
        import ray
    except ImportError as error:
        if error.name in (None, "ray"):
            raise ClusterError(f"--executor ray needs Ray: {INSTALL}") from None
        raise ClusterError(f"Ray is installed but does not import ({error}): {INSTALL}") from None
    return ray


# --- what a task does, on a worker -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Trained:
    """One run's outcome, as a task returns it (its configuration stays on the driver)."""

    key: str
    history: list[EpochMetrics]
    summary: Summary
    diagnostics: list[list[LayerDiagnostics]]


@dataclass(frozen=True)
class GroupFailed:
    """The group could not be trained: the error each of its runs records."""

    error: str


def train_group(
    runs: list[tuple[str, dict]],
    data: PreparedData | None,
    data_dir: str | None,
    fused: bool,
    threads: int,
    trusted: tuple[dict[str, str], bool] = ({}, False),
) -> list[Trained] | GroupFailed:
    """A Ray task: train one claimed group of runs (``(key, stored configuration)`` each) as one stacked network on
    ``data`` (or the runs' dataset, loaded here) and return their outcomes.

    An exception while training is the group's failure, returned rather than raised: Ray retries only what a dead
    worker or node interrupted. One while setting the runs up — rebuilding them (:func:`_rebuilt`), loading their
    data — is raised as a :class:`ClusterError`: this node cannot train them, and the driver gives them back rather
    than failing them. ``trusted``: the Python plugin files the driver was given (see
    :func:`actlab.catalog.plugins.trusted`)."""
    import torch

    from actlab.train.trainer import train_runs

    plugins.trust(*trusted)
    torch.set_num_threads(threads)
    configs = [_rebuilt(key, stored) for key, stored in runs]
    if data is None:
        data = _loaded(configs[0], data_dir)  # a group shares its data: everything but seed, init and activation
    try:
        results = train_runs(configs, data_dir=data_dir, group="all", fused=fused, data=data)
    except Exception as exception:
        return GroupFailed(describe_failure(exception))
    return [Trained(r.config.key(), r.history, r.summary, r.diagnostics) for r in results]


def _rebuilt(key: str, stored: dict) -> RunConfig:
    """A run as the store holds it, made again on this node: a user's activation is defined again from its
    definition, a user's model file checked against its hash, and the key must come out the same (the same actlab
    on every node). Any failure is one :class:`ClusterError` naming the node."""
    host = socket.gethostname()
    try:
        config = make_config(**stored)
    except Exception as error:
        raise ClusterError(f"run {key} cannot be set up on {host}: {_one_line(error)}") from None
    if config.key() != key:
        raise ClusterError(
            f"run {key} reads as run {config.key()} on {host}: install the same actlab version on every node"
        )
    if config.is_user_model() and config.model_sha256:
        from actlab.models import user_models

        try:
            same = user_models.digest(config.model) == config.model_sha256
        except (ActlabError, OSError) as error:
            raise ClusterError(f"run {key}: its model cannot be read on {host}: {_one_line(error)}") from None
        if not same:
            raise ClusterError(
                f"run {key}: {config.model} on {host} is not the file it was defined with: copy it to the same path "
                "on every node"
            )
    return config


def _loaded(config: RunConfig, data_dir: str | None) -> PreparedData:
    """The data of ``config``, loaded on this node, or one :class:`ClusterError` saying that the node lacks it."""
    try:
        return prepare_for(config, data_dir)
    except Exception as error:
        raise ClusterError(
            f"{config.dataset} cannot be loaded on {socket.gethostname()} ({_one_line(error)}): give every node the "
            "data (--data-dir or $ACTLAB_DATA there)"
        ) from None


def _one_line(error: BaseException) -> str:
    """An exception in one line: an actlab error's message, else its type and message."""
    text = " ".join(str(error).split())
    return text if isinstance(error, ActlabError) and text else f"{type(error).__name__}: {text}"


# --- the driver ------------------------------------------------------------------------------------------------
class RayExecutor:
    """Train an experiment's runs as Ray Core tasks, one per training group; see the module docstring.

    ``address``: None starts a local Ray runtime for the run (all of this machine's CPUs); ``auto`` joins the cluster
    that ``ray start`` runs on this machine; ``HOST:PORT`` the cluster whose head is there. A Ray runtime this
    process has already initialised is used as it is. ``cpus_per_task`` / ``gpus_per_task``: what each task reserves
    (its torch threads are the whole CPUs it reserves); ``max_in_flight``: tasks outstanding at once (default: the
    cluster's CPUs / ``cpus_per_task``, and no more than its GPUs allow); ``max_retries``: Ray's retries of a task
    whose worker or node died; ``ship_limit``: prepared arrays up to this many bytes go through the object store
    (0: every worker loads its data); ``fused``: compiled activation kernels; ``lease``: seconds a claim lives unless
    renewed. Every bad value is one :class:`ValueError`, and a missing Ray one :class:`ClusterError`, here: before
    anything is written or trained.
    """

    def __init__(
        self,
        address: str | None = None,
        cpus_per_task: float = 1.0,
        gpus_per_task: float = 0.0,
        max_in_flight: int | None = None,
        max_retries: int = 3,
        ship_limit: int = SHIP_LIMIT,
        fused: bool = False,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self.address = _checked_address(address)
        self.cpus_per_task = _checked_quantity("--cpus-per-task", cpus_per_task, zero=False)
        self.gpus_per_task = _checked_quantity("--gpus-per-task", gpus_per_task, zero=True)
        self.max_in_flight = None if max_in_flight is None else _checked_count("--max-in-flight", max_in_flight, 1)
        self.max_retries = _checked_count("max_retries", max_retries, 0)
        self.ship_limit = _checked_count("ship_limit", ship_limit, 0)
        self.fused = fused
        self.lease = lease
        import_ray()

    def run(
        self,
        store_path: str,
        experiment: str,
        group: str = "activation",
        data_dir: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Train every claimable run of ``experiment`` in the store at ``store_path`` (the
        :class:`~actlab.experiments.executors.Executor` protocol); raises :class:`ClusterError` when runs had to be
        given back."""
        ray = import_ray()
        with _Store(store_path, lease=self.lease) as store:
            self._check_devices(store, experiment)
            with self.connected() as in_flight:
                data_dir = None if data_dir is None else str(Path(data_dir).expanduser().resolve())
                _Driver(self, ray, store, experiment, group, data_dir, progress, in_flight).drive()

    @contextlib.contextmanager
    def connected(self) -> Iterator[int]:
        """Within the block, the Ray runtime this executor runs on — started or joined, and shut down after it (see
        :func:`_runtime`) — checked to have a node that can run a task; yields how many tasks may be outstanding.
        :func:`~actlab.experiments.runner.run_experiment` enters it before it writes the store, so that a cluster
        that is not there, or cannot run a task, is one :class:`ClusterError` with nothing written; ``run`` inside
        the block uses the same runtime."""
        ray = import_ray()
        with _runtime(ray, self.address):
            yield self.max_in_flight or _capacity(ray, self.cpus_per_task, self.gpus_per_task)

    def _check_devices(self, store: Store, experiment: str) -> None:
        unfinished = [c for c, status in store.statuses(experiment) if status in (Status.PENDING, Status.RUNNING)]
        self.check_devices(unfinished)

    def check_devices(self, configs: Sequence[RunConfig]) -> None:
        """Runs on a GPU need tasks that reserve one: Ray hides the GPUs from a task that asked for none (checked
        before an experiment is written to the store, and again for what it holds)."""
        cuda = sorted({c.device for c in configs if c.device.startswith("cuda")})
        if cuda and not self.gpus_per_task:
            raise ClusterError(
                f"runs on {', '.join(cuda)} need tasks with a GPU: give --gpus-per-task (e.g. 1, or 0.5 to share one)"
            )


def _shown(value: object) -> str:
    """A value as an error message quotes it: numbers as given on the command line (2, not 2.0)."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return repr(value)


def _checked_address(address: str | None) -> str | None:
    if address is None or address == "auto" or (isinstance(address, str) and _ADDRESS.fullmatch(address)):
        if address is not None and address != "auto" and not 0 < int(address.rpartition(":")[2]) < 65536:
            raise ValueError(f"--address {address!r}: the port must be 1 to 65535")
        return address
    raise ValueError(
        f"--address {address!r}: use auto (the cluster `ray start` runs on this machine), HOST:PORT of a cluster's "
        "head (e.g. 10.0.0.5:6379); leave it out to start a local Ray runtime"
    )


def _checked_quantity(option: str, value: float, zero: bool) -> float:
    """A resource quantity Ray accepts: a finite number, > 0 (or >= 0 where ``zero``), in steps of 0.0001."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value > 0 or (zero and value == 0)) and round(value, 4) == value:
        return float(value)
    least = ">= 0" if zero else "> 0"
    raise ValueError(f"{option} {_shown(value)}: give a number {least}, in steps of 0.0001 (e.g. 1, 2 or 0.5)")


def _checked_count(option: str, value: int, least: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= least:
        return value
    raise ValueError(f"{option} {_shown(value)}: give a whole number >= {least}")


@contextlib.contextmanager
def _runtime(ray: Any, address: str | None) -> Iterator[None]:
    """Ray as this run needs it: a runtime this process already initialised, else one started (``address`` None) or
    joined for the run and shut down after it. Ray's own SIGTERM handler (exit at once) is replaced by the one this
    process had, so that SIGTERM still gives the runs back."""
    if ray.is_initialized():
        yield
        return
    if address not in (None, "auto"):
        _reach(address)
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if main else None
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}  # failures come back as results
    notice = logging.getLogger(_TOKEN_NOTICE)
    level = notice.level
    try:
        notice.setLevel(logging.ERROR)
        if address is None:
            ray.init(address="local", num_cpus=_local_cpus(), include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as error:
        where = "start a local Ray runtime" if address is None else f"connect to the Ray cluster at {address}"
        raise ClusterError(f"cannot {where}: {' '.join(str(error).split())}{_HINTS.get(address, _HINT)}") from None
    finally:
        notice.setLevel(level)
        if main and handler is not None:
            signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        with _shielded():
            ray.shutdown()


def _reach(address: str) -> None:
    """A cluster's head answers at ``address`` (HOST:PORT), or one clear error within
    :data:`CONNECT_TIMEOUT` seconds: Ray itself would keep trying for minutes."""
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise ClusterError(
            f"cannot connect to the Ray cluster at {address}: {reason} (is it running? `ray start --head` on that "
            "machine starts one, and `ray status` there shows it)"
        ) from None


def _local_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _capacity(ray: Any, cpus_per_task: float, gpus_per_task: float) -> int:
    """How many tasks the cluster runs at once; a cluster where no node can run one is an error (Ray would wait for
    such a node forever)."""
    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    if not any(n.get("CPU", 0) >= cpus_per_task and n.get("GPU", 0) >= gpus_per_task for n in nodes):
        largest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
        raise ClusterError(
            f"no node of the Ray cluster has {cpus_per_task:g} CPUs and {gpus_per_task:g} GPUs for a task (the "
            f"largest has {largest.get('CPU', 0):g} CPUs and {largest.get('GPU', 0):g} GPUs): lower --cpus-per-task "
            "or --gpus-per-task, or add nodes"
        )
    total = ray.cluster_resources()
    capacity = int(total.get("CPU", 0) // cpus_per_task)
    if gpus_per_task:
        capacity = min(capacity, int(total.get("GPU", 0) // gpus_per_task))
    return max(1, capacity)


@contextlib.contextmanager
def _noted(signum: int) -> Iterator[list[int]]:
    """Within the block, note each ``signum`` received, then handle it as before (a handler in Python only). Ray
    turns what a handler raises inside its blocking calls into a plain KeyboardInterrupt: the note tells that it was
    SIGTERM (:class:`~actlab.experiments.executors.Interrupted`, exit status 143)."""
    noted: list[int] = []
    before = signal.getsignal(signum) if threading.current_thread() is threading.main_thread() else None
    if not callable(before):
        yield noted
        return

    def note(number: int, frame: Any) -> None:
        noted.append(number)
        before(number, frame)

    signal.signal(signum, note)
    try:
        yield noted
    finally:
        signal.signal(signum, before)


class _Store(Store):
    """The driver's connection to the store, where ``with store.together():`` makes every completion and failure
    inside it one transaction — a group's results are stored all or none."""

    _together = False

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        with super().transaction():
            self._together = True
            try:
                yield
            finally:
                self._together = False

    def transaction(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext(self.db) if self._together else super().transaction()


class _Shipper:
    """Each dataset's prepared arrays, put into Ray's object store once, or None where the workers load them: arrays
    over the limit, and data the driver cannot read (it may live on the workers only)."""

    def __init__(self, ray: Any, data_dir: str | None, limit: int) -> None:
        self.ray, self.data_dir, self.limit = ray, data_dir, limit
        self._shipped: dict[tuple, Any] = {}  # what the data depends on → its object reference (or None)

    def reference(self, config: RunConfig) -> Any:
        if self.limit <= 0:
            return None
        which = (
            config.dataset,
            config.preprocessing,
            config.train_subset,
            config.test_subset,
            config.target,
            config.test_fraction,
            config.loss,
            config.data_sha256,
        )
        if which not in self._shipped:
            try:
                prepared = prepare_for(config, self.data_dir)
            except Exception:  # whatever keeps the driver from reading it, the workers may not have: they say
                prepared = None
            arrays = () if prepared is None else (prepared.x_train, prepared.y_train, prepared.x_test, prepared.y_test)
            small = prepared is not None and sum(a.nbytes for a in arrays) <= self.limit
            self._shipped[which] = self.ray.put(prepared) if small else None
        return self._shipped[which]


class _Driver:
    """One ``RayExecutor.run``: claims groups while fewer than ``in_flight`` tasks are outstanding, stores each
    task's outcome as it finishes, and gives every outstanding claim back if anything interrupts it."""

    def __init__(
        self,
        executor: RayExecutor,
        ray: Any,
        store: _Store,
        experiment: str,
        group: str,
        data_dir: str | None,
        progress: Progress | None,
        in_flight: int,
    ) -> None:
        self.executor, self.ray, self.store, self.experiment = executor, ray, store, experiment
        self.group, self.data_dir, self.progress, self.limit = group, data_dir, progress, in_flight
        self.owner = new_owner()
        self.tasks: dict[Any, list[RunConfig]] = {}  # outstanding task → its claimed runs
        self.held: set[str] = set()  # keys claimed and not yet stored: what an interruption gives back
        self.given_up: dict[str, str] = {}  # run key → why its task failed for good (not claimed again here)
        self.shipper = _Shipper(ray, data_dir, executor.ship_limit)
        self.remote = ray.remote(train_group).options(
            num_cpus=executor.cpus_per_task, num_gpus=executor.gpus_per_task, max_retries=executor.max_retries
        )

    def drive(self) -> None:
        with LeaseKeeper(self.store.path, self.owner, self.executor.lease), _noted(signal.SIGTERM) as terminated:
            self._report()
            try:
                self._loop()
            except self.ray.exceptions.RayError as error:  # Ray itself failed under the driver (its node died)
                self._abandon()
                raise ClusterError(
                    f"interrupted: Ray failed under this run ({_one_line(error)[:300]}); its unfinished runs were "
                    "given back: rerun to resume"
                ) from None
            except BaseException as error:
                self._abandon()
                if terminated and type(error) is KeyboardInterrupt:
                    raise Interrupted(signal.SIGTERM) from None
                raise
            self._report()
        if self.given_up:
            reasons = sorted(set(self.given_up.values()))
            more = f"; and {len(reasons) - 1} other reason(s)" if len(reasons) > 1 else ""
            raise ClusterError(
                f"{len(self.given_up)} run(s) given back untrained: {reasons[0]}{more}. Rerun to resume them"
            )

    def _loop(self) -> None:
        claimable = True
        while True:
            while claimable and len(self.tasks) < self.limit:
                claimed = self.store.claim(self.experiment, self.owner, self._grouping)
                self.held.update(config.key() for config in claimed)  # before submitting, which takes a while
                if claimed:
                    self.tasks[self._submit(claimed)] = claimed
                claimable = bool(claimed)
            if not self.tasks:
                return
            ready, _ = self.ray.wait(list(self.tasks), num_returns=1, timeout=_WAIT)
            for task in ready:
                claimed = self.tasks.pop(task)
                self._store(task, claimed)
                self.held.difference_update(config.key() for config in claimed)
                self._report()

    def _grouping(self, configs: Sequence[RunConfig]) -> list[list[RunConfig]]:
        """The training groups of the claimable runs, leaving out those given back here: an empty group claims
        nothing."""
        return group_runs([c for c in configs if c.key() not in self.given_up], self.group) or [[]]

    def _submit(self, claimed: list[RunConfig]) -> Any:
        runs = [(config.key(), config.canonical()) for config in claimed]
        threads = max(1, int(self.executor.cpus_per_task))
        data = self.shipper.reference(claimed[0])
        return self.remote.remote(runs, data, self.data_dir, self.executor.fused, threads, plugins.trusted())

    def _store(self, task: Any, claimed: list[RunConfig]) -> None:
        """Write a finished task's outcome — every run completed, or every run failed — in one transaction; a task
        that failed for good, or could not set its runs up, gives them back."""
        keys = [config.key() for config in claimed]
        try:
            outcome = self.ray.get(task)
        except self.ray.exceptions.RayError as error:
            self.store.release(keys, self.owner)
            self.given_up.update(dict.fromkeys(keys, self._why(error)))
            return
        with self.store.together():
            if isinstance(outcome, GroupFailed):
                for key in keys:
                    self.store.fail(key, self.owner, outcome.error)
                return
            by_key = {config.key(): config for config in claimed}
            if sorted(t.key for t in outcome) != sorted(by_key):
                raise ClusterError(f"a Ray task returned runs {sorted(t.key for t in outcome)} for {sorted(by_key)}")
            for t in outcome:
                self.store.complete(
                    RunResult(by_key[t.key], t.history, t.summary, diagnostics=t.diagnostics), self.owner
                )

    def _why(self, error: Exception) -> str:
        """Why a task failed for good, in one line: the error a task raised (setting its runs up: see
        :func:`train_group`), or what happened to its worker or node."""
        cause = getattr(error, "cause", None)
        if isinstance(error, self.ray.exceptions.RayTaskError) and isinstance(cause, BaseException):
            return _one_line(cause)
        attempts = self.executor.max_retries + 1
        return f"its Ray task failed {attempts} time(s), the last with {_one_line(error)[:300]}"

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.store.counts(self.experiment))

    def _abandon(self) -> None:
        """Give the runs of every outstanding task back, then cancel the tasks (their workers are killed: a task
        holds nothing that needs a clean exit), deaf to a second Ctrl-C or SIGTERM meanwhile. The store comes first,
        so that it is consistent whatever Ray does next; if even that fails (a full disk), the driver's exit or its
        lease running out frees the runs instead."""
        with _shielded():
            with contextlib.suppress(StoreError):
                self.store.release(sorted(self.held), self.owner)
            self.held.clear()
            for task in self.tasks:
                with contextlib.suppress(Exception):
                    self.ray.cancel(task, force=True)
            self.tasks.clear()
