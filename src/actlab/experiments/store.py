"""The results store: one SQLite file (WAL) holding every run, its epochs and its status.

Statuses: pending → running → done | diverged | failed. A run is claimed in one transaction
(``BEGIN IMMEDIATE``, so two processes never claim the same run), its epochs may stream in while it
trains, and it is completed in one transaction that writes the whole history and the summary. A run
left 'running' by a process that no longer exists (killed, crashed) is claimable again, and its partial
epochs are discarded when it is, so a resumed experiment never holds duplicates or half-written runs.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from actlab.train.config import RunConfig
from actlab.train.metrics import EpochMetrics, RunResult, Summary

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'diverged')),
    owner TEXT,
    heartbeat REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    finished REAL,
    summary TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS epochs (
    key TEXT NOT NULL REFERENCES runs(key),
    epoch INTEGER NOT NULL,
    train_loss REAL, train_accuracy REAL, test_loss REAL, test_accuracy REAL, seconds REAL,
    PRIMARY KEY (key, epoch)
);
CREATE TABLE IF NOT EXISTS experiments (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS experiment_runs (
    experiment TEXT NOT NULL REFERENCES experiments(name),
    key TEXT NOT NULL REFERENCES runs(key),
    position INTEGER NOT NULL,
    PRIMARY KEY (experiment, key)
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);
"""
FINISHED = ("done", "diverged", "failed")
STALE_AFTER = 600.0  # seconds without a heartbeat before another host's claim is considered dead


def failure_reason(error: str) -> str:
    """The one-line reason of a failed run's recorded error (its first line; a traceback may follow)."""
    return error.strip().splitlines()[0] if error.strip() else "unknown error"


def new_owner() -> str:
    """host:pid:token — who trains a run; the pid lets a process on the same host see the owner died."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_alive(owner: str | None, heartbeat: float | None, now: float) -> bool:
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return heartbeat is not None and now - heartbeat < STALE_AFTER


class Store:
    """A connection to one store file; safe to use from several processes at once."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA busy_timeout = 60000")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.executescript(SCHEMA)  # idempotent: IF NOT EXISTS

    def close(self) -> None:
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
        return _Transaction(self.db)

    # --- registering --------------------------------------------------------------------------------
    def register(self, name: str, description: str, runs: Sequence[RunConfig]) -> None:
        """Record an experiment and its runs (new runs as pending; known runs keep their results)."""
        now = time.time()
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO experiments (name, description, created) VALUES (?, ?, ?)",
                            (name, description, now))
            for position, run in enumerate(runs):
                self.db.execute("INSERT OR IGNORE INTO runs (key, config, status) VALUES (?, ?, 'pending')",
                                (run.key(), json.dumps(run.canonical(), sort_keys=True)))
                self.db.execute("INSERT OR IGNORE INTO experiment_runs (experiment, key, position) VALUES (?, ?, ?)",
                                (name, run.key(), position))

    # --- claiming and finishing ----------------------------------------------------------------------
    def claim(self, experiment: str, owner: str, group: str = "activation", limit: int = 64) -> list[RunConfig]:
        """Atomically take the next runs to train together: the group (as
        :func:`actlab.train.trainer.group_runs` forms it) of the first claimable run of ``experiment``.
        Claiming exactly one training group means a worker killed mid-way loses only the runs in flight."""
        from actlab.train.trainer import group_runs

        now = time.time()
        with self.transaction():
            rows = self.db.execute(
                "SELECT r.key, r.config, r.status, r.owner, r.heartbeat FROM runs r JOIN experiment_runs e ON e.key = r.key "
                "WHERE e.experiment = ? AND r.status IN ('pending', 'running') ORDER BY e.position", (experiment,)).fetchall()
            claimable = [r for r in rows if r["status"] == "pending" or not _owner_alive(r["owner"], r["heartbeat"], now)]
            if not claimable:
                return []
            configs = [RunConfig(**json.loads(r["config"])) for r in claimable]
            chosen = group_runs(configs, group)[0][:limit]
            for config in chosen:
                self.db.execute("DELETE FROM epochs WHERE key = ?", (config.key(),))  # partial epochs of a dead attempt
                self.db.execute("UPDATE runs SET status = 'running', owner = ?, heartbeat = ?, started = ?, "
                                "attempts = attempts + 1, summary = NULL, error = NULL WHERE key = ?",
                                (owner, now, now, config.key()))
            return chosen

    def heartbeat(self, owner: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE runs SET heartbeat = ? WHERE owner = ? AND status = 'running'", (time.time(), owner))

    def record_epoch(self, key: str, owner: str, metrics: EpochMetrics) -> None:
        """Stream one epoch of a running run (ignored if the run is no longer ours)."""
        with self.transaction():
            if self._owns(key, owner):
                self.db.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?)", (key, *_epoch_values(metrics)))
                self.db.execute("UPDATE runs SET heartbeat = ? WHERE key = ?", (time.time(), key))

    def complete(self, result: RunResult, owner: str) -> bool:
        """Write a finished run — every epoch and the summary — in one transaction."""
        key = result.config.key()
        with self.transaction():
            if not self._owns(key, owner):
                return False
            self.db.execute("DELETE FROM epochs WHERE key = ?", (key,))
            self.db.executemany("INSERT INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [(key, *_epoch_values(h)) for h in result.history])
            self.db.execute("UPDATE runs SET status = ?, finished = ?, summary = ?, owner = NULL WHERE key = ?",
                            (result.summary.status, time.time(), json.dumps(asdict(result.summary)), key))
            return True

    def fail(self, key: str, owner: str, error: str) -> None:
        with self.transaction():
            if self._owns(key, owner):
                self.db.execute("UPDATE runs SET status = 'failed', finished = ?, error = ?, owner = NULL WHERE key = ?",
                                (time.time(), error, key))

    def release(self, keys: Iterable[str], owner: str) -> None:
        """Give unfinished claims back (e.g. on Ctrl-C) so they are pending again at once."""
        with self.transaction():
            for key in keys:
                self.db.execute("UPDATE runs SET status = 'pending', owner = NULL WHERE key = ? AND owner = ? "
                                "AND status = 'running'", (key, owner))

    def _owns(self, key: str, owner: str) -> bool:
        row = self.db.execute("SELECT owner, status FROM runs WHERE key = ?", (key,)).fetchone()
        return row is not None and row["owner"] == owner and row["status"] == "running"

    # --- reading -------------------------------------------------------------------------------------
    def experiments(self) -> list[str]:
        return [r["name"] for r in self.db.execute("SELECT name FROM experiments ORDER BY created, name")]

    def counts(self, experiment: str) -> dict[str, int]:
        rows = self.db.execute("SELECT r.status, COUNT(*) AS n FROM runs r JOIN experiment_runs e ON e.key = r.key "
                               "WHERE e.experiment = ? GROUP BY r.status", (experiment,))
        counts = {s: 0 for s in ("pending", "running", "done", "diverged", "failed")}
        counts.update({r["status"]: r["n"] for r in rows})
        return counts

    def errors(self, experiment: str) -> list[str]:
        """The recorded errors of the experiment's failed runs."""
        rows = self.db.execute("SELECT r.error FROM runs r JOIN experiment_runs e ON e.key = r.key "
                               "WHERE e.experiment = ? AND r.status = 'failed' ORDER BY e.position", (experiment,))
        return [r["error"] or "" for r in rows]

    def results(self, experiment: str | None = None, finished_only: bool = True) -> list[RunResult]:
        """Runs (of one experiment, or all) with their histories, in experiment order."""
        query = "SELECT r.* FROM runs r"
        args: tuple[Any, ...] = ()
        if experiment is not None:
            query += " JOIN experiment_runs e ON e.key = r.key WHERE e.experiment = ? ORDER BY e.position"
            args = (experiment,)
        results = []
        for row in self.db.execute(query, args).fetchall():
            if finished_only and row["status"] not in ("done", "diverged"):
                continue
            config = RunConfig(**json.loads(row["config"]))
            epochs = self.db.execute("SELECT * FROM epochs WHERE key = ? ORDER BY epoch", (row["key"],)).fetchall()
            history = [EpochMetrics(e["epoch"], *(_nan(e[c]) for c in ("train_loss", "train_accuracy", "test_loss",
                                                                          "test_accuracy", "seconds"))) for e in epochs]
            summary = Summary(**json.loads(row["summary"])) if row["summary"] else None
            results.append(RunResult(config, history, summary))
        return results


def _epoch_values(h: EpochMetrics) -> tuple:
    return (h.epoch, h.train_loss, h.train_accuracy, h.test_loss, h.test_accuracy, h.seconds)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value  # SQLite stores NaN as NULL


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
