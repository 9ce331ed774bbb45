"""The SQLite store: claims, streaming epochs, atomic completion, stale claims of dead processes, and
real processes killed with SIGKILL or running side by side."""

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from actlab.experiments.store import Store, new_owner
from actlab.train.config import RunConfig
from actlab.train.metrics import EpochMetrics
from actlab.train.trainer import train_runs

TINY = dict(dataset="digits", epochs=2, batch_size=64, train_subset=300, test_subset=100)


def _configs():
    return [RunConfig(**TINY, activation=a, seed=s) for a in ("relu", "mish") for s in (0, 1)]


def test_claim_complete_and_read_back(tmp_path):
    configs = _configs()
    with Store(tmp_path / "s.db") as store:
        store.register("exp", "", configs)
        store.register("exp", "", configs)  # registering again changes nothing
        owner = new_owner()
        batch = store.claim("exp", owner)
        assert [c.activation_label() for c in batch] == ["relu", "relu"]  # one activation's seeds together
        assert store.counts("exp") == {"pending": 2, "running": 2, "done": 0, "diverged": 0, "failed": 0, "held": 2}
        assert store.counts("exp", owner)["held"] == 0  # our own claims are not held by another runner
        results = train_runs(batch, group="all")
        store.record_epoch(batch[0].key(), owner, results[0].history[0])  # streamed epochs are replaced at completion
        assert all(store.complete(r, owner) for r in results)
        back = store.results("exp")
        assert [r.config.key() for r in back] == [c.key() for c in batch]
        assert back[0].history == results[0].history and back[0].summary == results[0].summary
        assert store.claim("exp", owner, group="all") == configs[2:]
        assert store.claim("exp", owner) == []


def test_a_claim_is_exactly_one_training_group(tmp_path):
    """CNNs on the CPU train one at a time, so a worker claims one: a kill then loses only that run, never
    runs it had already finished but not yet completed."""
    cnns = [RunConfig(**TINY, model="cnn:4,p", activation="relu", seed=s) for s in (0, 1, 2)]
    with Store(tmp_path / "s.db") as store:
        store.register("exp", "", cnns)
        assert store.claim("exp", new_owner(), group="all") == cnns[:1]
        assert store.counts("exp")["running"] == 1


def test_claims_never_overlap(tmp_path):
    configs = _configs()
    with Store(tmp_path / "s.db") as a, Store(tmp_path / "s.db") as b:
        a.register("exp", "", configs)
        first = a.claim("exp", new_owner(), group="none")
        second = b.claim("exp", new_owner(), group="none")
        assert first and second and {c.key() for c in first}.isdisjoint(c.key() for c in second)


def _ghost() -> str:
    """The identity of a runner on this host that has exited (its pid is free)."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host, namespace, _, _, _ = new_owner().split("|")
    return f"{host}|{namespace}|{dead.stdout.strip()}|12345|ghost"


def test_a_dead_owner_claim_is_taken_over_and_its_partial_epochs_dropped(tmp_path):
    configs = _configs()[:1]
    ghost = _ghost()
    with Store(tmp_path / "s.db") as store:
        store.register("exp", "", configs)
        assert store.claim("exp", ghost) == configs
        store.record_epoch(configs[0].key(), ghost, EpochMetrics(1, float("nan"), 0.1, 2.3, 0.1, 0.5))
        assert store.claim("exp", new_owner()) == configs  # the owner is gone: claimable again
        rows = store.db.execute("SELECT COUNT(*) FROM epochs").fetchone()[0]
        assert rows == 0
        assert not store.complete(train_runs(configs)[0], ghost)  # the ghost can no longer write


def test_failures_and_release(tmp_path):
    configs = _configs()[:2]
    with Store(tmp_path / "s.db") as store:
        store.register("exp", "", configs)
        owner = new_owner()
        batch = store.claim("exp", owner, group="none")
        store.fail(batch[0].key(), owner, "Traceback: boom")
        second = store.claim("exp", owner, group="none")
        store.release([c.key() for c in second], owner)
        assert store.counts("exp")["failed"] == 1 and store.counts("exp")["pending"] == 1
        error = store.db.execute("SELECT error FROM runs WHERE status = 'failed'").fetchone()[0]
        assert "boom" in error


EXPERIMENT = """
name = "sweep"
[base]
dataset = "digits"
epochs = 10
batch_size = 32
[grid]
activation = ["relu", "mish", "tanh", "elu", "gelu", "selu"]
seed = [0, 1]
"""


def _runner(store, toml, *extra):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "actlab.cli",
            "run",
            str(toml),
            "--store",
            str(store),
            "--group",
            "none",
            "--json",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _state(store):
    """Runs per status; empty while the runner has not created the store or its schema yet."""
    if not store.exists():
        return {}
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
    try:
        return dict(db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
    except sqlite3.OperationalError as error:  # the file exists before its tables do
        if "no such table" in str(error):
            return {}
        raise
    finally:
        db.close()


def _check_complete(store, runs: int, epochs: int):
    db = sqlite3.connect(store)
    try:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM runs").fetchone() == (runs, runs)
        assert db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall() == [("done", runs)]
        per_run = db.execute("SELECT COUNT(*) FROM epochs GROUP BY key").fetchall()
        assert per_run == [(epochs,)] * runs
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()


def test_every_transaction_takes_the_write_lock_first(tmp_path):
    """A read-then-write transaction (streaming an epoch checks ownership first) must hold the write lock
    from its start: upgrading a deferred read fails at once in WAL mode if another process wrote meanwhile."""
    path = tmp_path / "s.db"
    with Store(path) as store:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with store.transaction(), pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # free again once the transaction ends
            other.execute("ROLLBACK")
        finally:
            other.close()


def test_kill_9_then_resume(tmp_path):
    toml = tmp_path / "sweep.toml"
    toml.write_text(EXPERIMENT)
    store = tmp_path / "runs.db"
    process = _runner(store, toml)
    deadline = time.time() + 120
    while time.time() < deadline:
        state = _state(store)
        if state.get("done", 0) >= 2 and state.get("running", 0) >= 1:
            break
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail(f"the runner never got going: {process.communicate()}")
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = _state(store)
    assert killed.get("running", 0) >= 1 and killed.get("done", 0) >= 2  # truthful: it was running when killed
    resumed = _runner(store, toml)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert json.loads(out)["counts"]["done"] == 12
    _check_complete(store, runs=12, epochs=10)


def test_two_runners_share_a_store(tmp_path):
    toml = tmp_path / "sweep.toml"
    toml.write_text(EXPERIMENT.replace("epochs = 10", "epochs = 6"))
    store = tmp_path / "runs.db"
    first, second = _runner(store, toml), _runner(store, toml)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    _check_complete(store, runs=12, epochs=6)
    owners = sqlite3.connect(store).execute("SELECT attempts FROM runs").fetchall()
    assert all(a == (1,) for a in owners)  # nothing was trained twice
