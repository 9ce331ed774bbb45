"""The results store: one SQLite file (WAL) holding every run, its epochs and its status.

Statuses: pending → running → done | diverged | failed. A run is claimed in one transaction (``BEGIN IMMEDIATE``,
so two runners never claim the same run), its epochs may stream in while it trains, and it is completed in one
transaction that writes the whole history and the summary.

A runner holds its claims under a lease that it renews while it trains (:class:`LeaseKeeper`). A run whose lease ran
out — its runner was killed, crashed, lost its machine — can be claimed by another runner, and its partial epochs are
discarded then; so is a run whose runner is known to be gone (a process on this host, in this PID namespace, that no
longer exists). A resumed experiment never holds duplicates or half-written runs.

A store identifies itself (SQLite's ``application_id``, a schema version in ``user_version``): any other file is
refused before anything is written to it, and commands that only read open it read-only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from actlab import jsontext
from actlab.errors import ActlabError
from actlab.train.config import RunConfig, make_config
from actlab.train.diagnostics_data import LayerDiagnostics
from actlab.train.grouping import group_runs
from actlab.train.metrics import TRAINED, EpochMetrics, RunResult, Status, Summary

APPLICATION_ID = 0x6163746C  # "actl"
SCHEMA_VERSION = 2
LEASE_SECONDS = 120.0  # a claim lives this long unless renewed; runners renew it every quarter of that

TABLES = """
CREATE TABLE runs (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({statuses})),
    owner TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    finished REAL,
    summary TEXT,
    error TEXT
);
CREATE TABLE epochs (
    key TEXT NOT NULL REFERENCES runs(key),
    epoch INTEGER NOT NULL,
    train_loss REAL, train_accuracy REAL, test_loss REAL, test_accuracy REAL, seconds REAL,
    PRIMARY KEY (key, epoch)
);
CREATE TABLE experiments (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
CREATE TABLE experiment_runs (
    experiment TEXT NOT NULL REFERENCES experiments(name),
    key TEXT NOT NULL REFERENCES runs(key),
    position INTEGER NOT NULL,
    current INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (experiment, key)
);
CREATE INDEX runs_by_status ON runs(status);
CREATE TABLE diagnostics (
    key TEXT NOT NULL REFERENCES runs(key),
    epoch INTEGER NOT NULL,
    layer INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (key, epoch, layer)
);
""".format(statuses=", ".join(f"'{s}'" for s in Status))
# Stores written before the schema had a version (round 1): the same tables, a heartbeat instead of a lease,
# no notion of an experiment's current definition.
MIGRATE_FROM_0 = """
ALTER TABLE runs ADD COLUMN lease_until REAL;
ALTER TABLE experiment_runs ADD COLUMN current INTEGER NOT NULL DEFAULT 1;
"""
# Schema 1 → 2: per-layer diagnostics (--diagnostics), written with a run's epochs when it completes.
MIGRATE_FROM_1 = """
CREATE TABLE IF NOT EXISTS diagnostics (
    key TEXT NOT NULL REFERENCES runs(key),
    epoch INTEGER NOT NULL,
    layer INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (key, epoch, layer)
);
"""
ACTLAB_TABLES = {"runs", "epochs", "experiments", "experiment_runs"}
EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


class StoreError(ActlabError):
    """A store that cannot be used: not an actlab store, not writable, a full disk, an inconsistent run."""


def failure_reason(error: str) -> str:
    """The one-line reason of a failed run's recorded error (its first line; a traceback may follow)."""
    return error.strip().splitlines()[0] if error.strip() else "unknown error"


@contextlib.contextmanager
def readable(path: str | os.PathLike):
    """Within the block, SQLite's complaint about a damaged file (truncated, overwritten) is one :class:`StoreError`
    naming it."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        if isinstance(error, sqlite3.OperationalError) and "malformed" not in str(error):
            raise
        raise StoreError(f"{path} is damaged ({error}): restore it from a copy, or start a new store") from None


# --- who trains a run ---------------------------------------------------------------------------------------
def _process_start(pid: int | str) -> str:
    """When process ``pid`` started (clock ticks since boot, from /proc), or '' where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def new_owner() -> str:
    """A runner's identity, ``host|pid-namespace|pid|start|token``. The random token makes it unique; the rest
    lets a runner on the same host and in the same PID namespace see at once that another one is gone."""
    pid = os.getpid()
    return f"{socket.gethostname()}|{_pid_namespace()}|{pid}|{_process_start(pid)}|{uuid.uuid4().hex}"


def _known_dead(owner: str) -> bool:
    """Whether ``owner`` is a process of this host and PID namespace that has exited (its pid is free, or now
    belongs to a process that started later). Anything else — another host, another namespace, an identity this
    cannot read — is judged by its lease alone."""
    parts = owner.split("|")
    if len(parts) != 5:
        return False
    host, namespace, pid, start, _ = parts
    if host != socket.gethostname() or not namespace or namespace != _pid_namespace() or not start:
        return False
    return _process_start(pid) != start


def _claimable(status: str, owner: str | None, lease_until: float | None, now: float) -> bool:
    if status == Status.PENDING:
        return True
    return lease_until is None or lease_until < now or owner is None or _known_dead(owner)


# --- opening ------------------------------------------------------------------------------------------------
def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error)


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection that creates nothing (no journal, no -wal or -shm where the folder forbids it)."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    for suffix in ("", "&immutable=1"):  # immutable: a WAL store in a read-only folder, read as a snapshot
        db = sqlite3.connect(uri + suffix, uri=True, timeout=60.0, isolation_level=None)
        try:
            db.execute("PRAGMA user_version").fetchone()
            db.execute("SELECT name FROM sqlite_master").fetchall()
            return db
        except sqlite3.DatabaseError as error:
            db.close()
            if "not a database" in str(error) or "malformed" in str(error):
                raise StoreError(f"{path} is not an actlab store (not a SQLite database)") from None
            if suffix:
                raise StoreError(f"cannot read {path}: {error}") from None
    raise AssertionError("unreachable")


def _open_writable(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the folder {path.parent} for the store: {_reason(error)}") from None
    if not path.exists() and not os.access(path.parent, os.W_OK | os.X_OK):
        raise StoreError(f"cannot create the store {path}: the folder {path.parent} is not writable")
    try:
        db = sqlite3.connect(path, timeout=60.0, isolation_level=None)
        db.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as error:
        if "not a database" in str(error):
            raise StoreError(f"{path} is not an actlab store (not a SQLite database)") from None
        raise StoreError(f"cannot open the store {path}: {error}") from None
    return db


class Store:
    """A connection to one store file; several processes may use the same file at once.

    ``readonly``: open without writing anything (``report``); a store that cannot be written (a read-only file or
    folder) is also opened read-only, and only an attempt to write then fails, with one clear error.
    """

    def __init__(self, path: str | os.PathLike, readonly: bool = False, lease: float = LEASE_SECONDS) -> None:
        self.path = Path(path)
        self.lease = lease
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a store file (give a file such as runs.db)")
        if readonly and not self.path.is_file():
            raise StoreError(f"no store at {self.path}")
        writable = not readonly and (
            not self.path.exists() or (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK | os.X_OK))
        )
        self.writable = writable
        self.db = _open_writable(self.path) if writable else _open_readonly(self.path)
        self.db.row_factory = sqlite3.Row
        try:
            self._prepare()
        except BaseException:
            self.db.close()
            raise

    def _identify(self) -> tuple[int, int, set[str]]:
        application = self.db.execute("PRAGMA application_id").fetchone()[0]
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return application, version, tables

    def _prepare(self) -> None:
        """Check that the file is an actlab store of a schema this code reads; create or upgrade it if writable."""
        application, version, tables = self._identify()
        if application == APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer actlab (store schema {version}; this one reads "
                    f"{SCHEMA_VERSION}): upgrade actlab"
                )
            if version < SCHEMA_VERSION and self.writable:
                with self.transaction():
                    if self._identify()[1] == 1:  # another runner may have upgraded it meanwhile
                        self._run(MIGRATE_FROM_1)
                        self._stamp()
        elif application == 0 and (not tables or (version == 0 and tables >= ACTLAB_TABLES)):
            if not self.writable:
                what = (
                    "an empty database"
                    if not tables
                    else "an actlab store from an earlier version; open it once "
                    "writable (e.g. `actlab run` on it) to upgrade it"
                )
                raise StoreError(f"{self.path} is not a store this can read ({what})")
            with self.transaction():
                application, version, tables = self._identify()  # another runner may have done it meanwhile
                if application != APPLICATION_ID:
                    self._run(TABLES if not tables else MIGRATE_FROM_0 + MIGRATE_FROM_1)
                    self._stamp()
        else:
            raise StoreError(f"{self.path} is not an actlab store (a SQLite database of another application)")
        if self.writable:
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA busy_timeout = 60000")

    def _run(self, script: str) -> None:
        for statement in script.split(";"):
            if statement.strip():
                self.db.execute(statement)

    def _stamp(self) -> None:
        self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        """Close; a writer also folds the write-ahead log back into the file (so it never stays large)."""
        if self.writable:
            with contextlib.suppress(sqlite3.Error):  # another process is using it: it will checkpoint later
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self) -> _Transaction:
        """``with store.transaction():`` — commit on success, roll back on error.

        Every transaction here writes, so each takes the write lock at once (BEGIN IMMEDIATE), waiting up to
        the busy timeout for it. A deferred transaction that reads and then writes fails at once with
        "database is locked" in WAL mode when another process committed in between — the busy timeout does
        not apply to that upgrade — which turned a concurrently streamed epoch into a failed run."""
        return _Transaction(self)

    # --- registering --------------------------------------------------------------------------------
    def definition_changes(self, name: str, runs: Sequence[RunConfig]) -> tuple[int, int]:
        """(runs new to the experiment's current definition, runs of it no longer in ``runs``)."""
        current = {
            r["key"]
            for r in self.db.execute("SELECT key FROM experiment_runs WHERE experiment = ? AND current = 1", (name,))
        }
        keys = {run.key() for run in runs}
        return len(keys - current), len(current - keys)

    def register(self, name: str, description: str, runs: Sequence[RunConfig]) -> tuple[int, int]:
        """Record an experiment's definition: its runs (new ones pending; known ones keep their results) become its
        current runs; runs of an earlier definition stay in the store but are no longer current. Returns
        :meth:`definition_changes`. Nothing is written when the definition is the one already recorded."""
        if not isinstance(name, str) or not EXPERIMENT_NAME.fullmatch(name):
            raise StoreError(
                f"experiment name {name!r}: 1 to 200 letters, digits, '-', '_' and '.', starting with a letter or digit"
            )
        changes = self.definition_changes(name, runs)
        known = self.db.execute("SELECT 1 FROM experiments WHERE name = ?", (name,)).fetchone() is not None
        if known and changes == (0, 0):
            return changes
        now = time.time()
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO experiments (name, description, created) VALUES (?, ?, ?)",
                (name, description, now),
            )
            self.db.execute("UPDATE experiments SET description = ? WHERE name = ?", (description, name))
            self.db.execute("UPDATE experiment_runs SET current = 0 WHERE experiment = ?", (name,))
            for position, run in enumerate(runs):
                self.db.execute(
                    "INSERT OR IGNORE INTO runs (key, config, status) VALUES (?, ?, 'pending')",
                    (run.key(), json.dumps(run.canonical(), sort_keys=True)),
                )
                self.db.execute(
                    "INSERT INTO experiment_runs (experiment, key, position, current) VALUES (?, ?, ?, 1) "
                    "ON CONFLICT (experiment, key) DO UPDATE SET position = excluded.position, current = 1",
                    (name, run.key(), position),
                )
        return changes

    def retry_failed(self, experiment: str) -> int:
        """Make the experiment's failed runs pending again; returns how many."""
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE runs SET status = 'pending', error = NULL, owner = NULL, lease_until = NULL WHERE "
                "status = 'failed' AND key IN (SELECT key FROM experiment_runs WHERE experiment = ? AND current = 1)",
                (experiment,),
            )
            return cursor.rowcount

    # --- claiming and finishing ----------------------------------------------------------------------
    def claim(
        self,
        experiment: str,
        owner: str,
        group: str | Callable[[Sequence[RunConfig]], list[list[RunConfig]]] = "activation",
        limit: int = 64,
    ) -> list[RunConfig]:
        """Atomically take the next runs to train together: the first training group (``group``: a grouping of
        :func:`actlab.train.grouping.group_runs`, or a function forming groups) of the claimable runs of
        ``experiment``. Claiming exactly one training group means a worker killed mid-way loses only the runs in
        flight."""
        grouping = _grouping(group)
        now = time.time()
        with self.transaction():
            rows = self.db.execute(
                "SELECT r.key, r.config, r.status, r.owner, r.lease_until FROM runs r JOIN experiment_runs e "
                "ON e.key = r.key WHERE e.experiment = ? AND e.current = 1 AND r.status IN ('pending', 'running') "
                "ORDER BY e.position",
                (experiment,),
            ).fetchall()
            claimable = [r for r in rows if _claimable(r["status"], r["owner"], r["lease_until"], now)]
            if not claimable:
                return []
            configs = [self._config(r["key"], r["config"]) for r in claimable]
            chosen = grouping(configs)[0][:limit]
            for config in chosen:
                self.db.execute("DELETE FROM epochs WHERE key = ?", (config.key(),))  # partial epochs of a dead attempt
                self.db.execute(
                    "UPDATE runs SET status = 'running', owner = ?, lease_until = ?, started = ?, "
                    "attempts = attempts + 1, summary = NULL, error = NULL WHERE key = ?",
                    (owner, now + self.lease, now, config.key()),
                )
            return chosen

    def _config(self, key: str, text: str) -> RunConfig:
        """A stored run's configuration, to train; its key must still be the hash of its canonical form — checked as
        stored, before its activation is defined again (which may load the Python file it names, if trusted: see
        :mod:`actlab.catalog.plugins`), so that a row whose configuration is not the run its key names runs nothing."""
        data = json.loads(text)
        config = RunConfig.stored(data)
        if config.key() == key:
            config = make_config(**data)
        if config.key() != key:
            raise StoreError(
                f"run {key} in {self.path}: its stored configuration now has the key {config.key()} "
                "(it was stored by another version of actlab); it cannot be completed"
            )
        return config

    def renew(self, owner: str) -> int:
        """Extend the lease of every run ``owner`` is training; returns how many."""
        with self.transaction():
            return self.db.execute(
                "UPDATE runs SET lease_until = ? WHERE owner = ? AND status = 'running'",
                (time.time() + self.lease, owner),
            ).rowcount

    def record_epoch(self, key: str, owner: str, metrics: EpochMetrics) -> None:
        """Stream one epoch of a running run (ignored if the run is no longer ours); renews its lease."""
        with self.transaction():
            if self._owns(key, owner):
                self.db.execute(
                    "INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?)", (key, *_epoch_values(metrics))
                )
                self.db.execute("UPDATE runs SET lease_until = ? WHERE key = ?", (time.time() + self.lease, key))

    def complete(self, result: RunResult, owner: str) -> bool:
        """Write a finished run — every epoch and the summary — in one transaction. False if the run is no longer
        ours (its lease ran out and another runner took it); a run that is not in the store is an error."""
        key = result.config.key()
        with self.transaction():
            if self.db.execute("SELECT 1 FROM runs WHERE key = ?", (key,)).fetchone() is None:
                raise StoreError(f"run {key} is not in {self.path}: nothing to complete")
            if not self._owns(key, owner):
                return False
            self.db.execute("DELETE FROM epochs WHERE key = ?", (key,))
            self.db.executemany(
                "INSERT INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?)", [(key, *_epoch_values(h)) for h in result.history]
            )
            self.db.execute("DELETE FROM diagnostics WHERE key = ?", (key,))
            self.db.executemany(
                "INSERT INTO diagnostics VALUES (?, ?, ?, ?)",
                [
                    (key, epoch, d.layer, jsontext.dumps(d.to_dict(), indent=None))
                    for epoch, layers in enumerate(result.diagnostics, start=1)
                    for d in layers
                ],
            )
            self.db.execute(
                "UPDATE runs SET status = ?, finished = ?, summary = ?, owner = NULL, lease_until = NULL WHERE key = ?",
                (result.summary.status, time.time(), json.dumps(asdict(result.summary)), key),
            )
            return True

    def fail(self, key: str, owner: str, error: str) -> None:
        with self.transaction():
            if self._owns(key, owner):
                self.db.execute(
                    "UPDATE runs SET status = 'failed', finished = ?, error = ?, owner = NULL, "
                    "lease_until = NULL WHERE key = ?",
                    (time.time(), error, key),
                )

    def release(self, keys: Iterable[str], owner: str) -> None:
        """Give unfinished claims back (on Ctrl-C, SIGTERM) so that they are pending again at once."""
        with self.transaction():
            for key in keys:
                self.db.execute(
                    "UPDATE runs SET status = 'pending', owner = NULL, lease_until = NULL WHERE key = ? "
                    "AND owner = ? AND status = 'running'",
                    (key, owner),
                )
                self.db.execute(
                    "DELETE FROM epochs WHERE key = ? AND (SELECT status FROM runs WHERE key = ?) = 'pending'",
                    (key, key),
                )

    def held_by(self, owner: str) -> list[str]:
        """The keys of the runs ``owner`` holds (claimed, unfinished)."""
        rows = self.db.execute("SELECT key FROM runs WHERE owner = ? AND status = 'running'", (owner,)).fetchall()
        return [row["key"] for row in rows]

    def _owns(self, key: str, owner: str) -> bool:
        row = self.db.execute("SELECT owner, status FROM runs WHERE key = ?", (key,)).fetchone()
        return row is not None and row["owner"] == owner and row["status"] == "running"

    # --- reading -------------------------------------------------------------------------------------
    def experiments(self) -> list[str]:
        return [r["name"] for r in self.db.execute("SELECT name FROM experiments ORDER BY created, name")]

    def description(self, experiment: str) -> str:
        row = self.db.execute("SELECT description FROM experiments WHERE name = ?", (experiment,)).fetchone()
        return row["description"] if row else ""

    def counts(self, experiment: str, owner: str | None = None) -> dict[str, int]:
        """Runs of the experiment's current definition per status; ``held``: those running under a live lease of
        another runner than ``owner``."""
        rows = self.db.execute(
            "SELECT r.status, r.owner, r.lease_until FROM runs r JOIN experiment_runs e ON e.key = r.key "
            "WHERE e.experiment = ? AND e.current = 1",
            (experiment,),
        ).fetchall()
        counts = {str(s): 0 for s in Status} | {"held": 0}
        now = time.time()
        for row in rows:
            counts[row["status"]] += 1
            if (
                row["status"] == Status.RUNNING
                and row["owner"] != owner
                and not _claimable(Status.RUNNING, row["owner"], row["lease_until"], now)
            ):
                counts["held"] += 1
        return counts

    def errors(self, experiment: str) -> list[str]:
        """The recorded errors of the failed runs of the experiment's current definition."""
        return [error for _, error in self.failures(experiment)]

    def failures(self, experiment: str) -> list[tuple[RunConfig, str]]:
        """Each failed run of the experiment's current definition with its recorded error."""
        rows = self.db.execute(
            "SELECT r.key, r.config, r.error FROM runs r JOIN experiment_runs e ON e.key = r.key WHERE e.experiment "
            "= ? "
            "AND e.current = 1 AND r.status = 'failed' ORDER BY e.position",
            (experiment,),
        ).fetchall()
        return [(RunConfig.stored(json.loads(r["config"])), r["error"] or "") for r in rows]

    def statuses(self, experiment: str, current: bool = True) -> list[tuple[RunConfig, str]]:
        """Every run of the experiment (its current definition, or its earlier ones) with its status."""
        rows = self.db.execute(
            "SELECT r.config, r.status FROM runs r JOIN experiment_runs e ON e.key = r.key WHERE e.experiment = ? "
            "AND e.current = ? ORDER BY e.position",
            (experiment, int(current)),
        ).fetchall()
        return [(RunConfig.stored(json.loads(r["config"])), r["status"]) for r in rows]

    def results(
        self, experiment: str | None = None, finished_only: bool = True, current: bool = True
    ) -> list[RunResult]:
        """Runs (of one experiment's current definition — or, with ``current=False``, of its earlier ones — or of
        the whole store) with their histories, in experiment order, read as stored (:meth:`RunConfig.stored`)."""
        query, args = "SELECT r.* FROM runs r", ()
        if experiment is not None:
            query += (
                " JOIN experiment_runs e ON e.key = r.key WHERE e.experiment = ? AND e.current = ? ORDER BY e.position"
            )
            args = (experiment, int(current))
        results = []
        with_diagnostics = "diagnostics" in self._identify()[2]  # not in a schema-1 store opened read-only
        for row in self.db.execute(query, args).fetchall():
            if finished_only and row["status"] not in TRAINED:
                continue
            config = RunConfig.stored(json.loads(row["config"]))
            epochs = self.db.execute("SELECT * FROM epochs WHERE key = ? ORDER BY epoch", (row["key"],)).fetchall()
            history = [
                EpochMetrics(
                    e["epoch"],
                    *(_nan(e[c]) for c in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds")),
                )
                for e in epochs
            ]
            summary = Summary(**json.loads(row["summary"])) if row["summary"] else None
            results.append(
                RunResult(config, history, summary, diagnostics=self._diagnostics(row["key"], config, with_diagnostics))
            )
        return results

    def _diagnostics(self, key: str, config: RunConfig, stored: bool) -> list[list[LayerDiagnostics]]:
        """A run's per-epoch layer diagnostics (none where it was trained without them)."""
        if not config.diagnostics or not stored:
            return []
        by_epoch: dict[int, list[LayerDiagnostics]] = {}
        for row in self.db.execute("SELECT * FROM diagnostics WHERE key = ? ORDER BY epoch, layer", (key,)):
            by_epoch.setdefault(row["epoch"], []).append(LayerDiagnostics.from_dict(json.loads(row["data"])))
        return [by_epoch[e] for e in sorted(by_epoch)]


def _grouping(group: str | Callable[[Sequence[RunConfig]], list[list[RunConfig]]]):
    return group if callable(group) else lambda configs: group_runs(configs, group)


def _epoch_values(h: EpochMetrics) -> tuple:
    return (h.epoch, h.train_loss, h.train_accuracy, h.test_loss, h.test_accuracy, h.seconds)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value  # SQLite stores NaN as NULL


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error; SQLite's errors that the user must act on (a read-only
    store, a full disk) become one :class:`StoreError`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        if not self.store.writable:
            raise StoreError(
                f"{self.store.path} is read-only: it cannot record runs (copy it, or make it and its folder writable)"
            )
        try:
            self.store.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise _store_error(self.store.path, error) from None
        return self.store.db

    def __exit__(self, exc_type, exc, tb) -> bool:
        db = self.store.db
        if exc_type is None:
            try:
                db.execute("COMMIT")
                return False
            except sqlite3.OperationalError as error:
                exc = error
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError):
            raise _store_error(self.store.path, exc) from None
        return False


def _store_error(path: Path, error: sqlite3.Error) -> StoreError:
    text = str(error)
    if "disk is full" in text or "disk I/O error" in text:
        return StoreError(
            f"disk full while writing {path}: free some space, then rerun the same command to resume "
            "(finished runs are kept)"
        )
    if "readonly" in text:
        return StoreError(f"{path} is read-only: it cannot record runs")
    return StoreError(f"{path}: {text}")


class LeaseKeeper:
    """Renews ``owner``'s leases from a background thread (its own connection) every quarter lease, while a
    runner trains: an epoch that takes longer than the lease does not let another runner take the run over."""

    def __init__(self, path: str | os.PathLike, owner: str, lease: float = LEASE_SECONDS) -> None:
        self.path, self.owner, self.lease = path, owner, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="actlab-lease", daemon=True)

    def _run(self) -> None:
        with Store(self.path, lease=self.lease) as store:
            while not self._stop.wait(self.lease / 4):
                # a full disk or a busy store: the next attempt may succeed; the lease has slack
                with contextlib.suppress(StoreError, sqlite3.Error):
                    store.renew(self.owner)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
