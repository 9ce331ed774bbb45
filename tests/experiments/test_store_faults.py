"""The store and its runners under faults: keys that never drift, leases renewed while training, runners in other
PID namespaces, signals, foreign and damaged files, read-only places, a full disk, crafted names."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import actlab
from actlab.cli import app
from actlab.experiments.executors import Interrupted, interrupt_once, work
from actlab.experiments.store import Store, StoreError, new_owner
from actlab.train.config import RunConfig

runner = CliRunner()
TINY = dict(dataset="digits", epochs=1, batch_size=64, train_subset=200, test_subset=100)
SWEEP = """
name = "sweep"
[base]
dataset = "digits"
epochs = {epochs}
batch_size = 32
train_subset = {subset}
[grid]
activation = ["relu", "mish", "tanh", "elu"]
seed = [0, 1]
"""


def invoke(*args, code=0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def _statuses(path) -> dict[str, int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
    finally:
        db.close()


def _sweep(tmp_path, epochs=1, subset=200) -> Path:
    toml = tmp_path / "sweep.toml"
    toml.write_text(SWEEP.format(epochs=epochs, subset=subset))
    return toml


# --- keys ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", [None, *actlab.names()])
def test_every_default_and_every_activation_round_trips_through_the_store(tmp_path, activation):
    """A configuration's key is a function of its normalised form however it was built: from defaults, from a
    name, or rebuilt from the store's JSON; claiming it gives back the same key."""
    config = RunConfig() if activation is None else RunConfig(activation=activation)
    assert RunConfig(**json.loads(config.model_dump_json())).key() == config.key()
    with Store(tmp_path / "s.db") as store:
        store.register("exp", "", [config])
        (claimed,) = store.claim("exp", new_owner())
        assert claimed.key() == config.key() and claimed == config


def test_an_experiment_without_an_activation_finishes(tmp_path):
    toml = tmp_path / "e.toml"
    toml.write_text('name = "e"\n[base]\nepochs = 1\ntrain_subset = 100\ntest_subset = 50\n[grid]\nseed = [0, 1]\n')
    payload = json.loads(invoke("run", toml, "--store", tmp_path / "s.db", "--json").stdout)
    assert payload["counts"]["done"] == 2
    assert _statuses(tmp_path / "s.db") == {"done": 2}
    wal = tmp_path / "s.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # the runner folded its log back in when it ended


def test_a_claim_that_could_complete_nothing_is_an_error(tmp_path):
    """A stored configuration that no longer hashes to its key is refused at the claim, never retrained forever."""
    config = RunConfig(**TINY)
    with Store(tmp_path / "s.db") as store:
        store.register("exp", "", [config])
        store.db.execute("PRAGMA foreign_keys = OFF")
        store.db.execute("UPDATE runs SET key = 'drifted' WHERE key = ?", (config.key(),))
        store.db.execute("UPDATE experiment_runs SET key = 'drifted'")
        with pytest.raises(StoreError, match="now has the key"):
            store.claim("exp", new_owner())
        from actlab.train.metrics import RunResult, summarize

        with pytest.raises(StoreError, match="not in"):
            store.complete(RunResult(config, [], summarize([], (), None)), new_owner())


# --- names from a store are data ------------------------------------------------------------------------------
def _crafted_store(path: Path, names: list[str]) -> None:
    """A store holding one finished run under each experiment name (written directly, as a crafted file could be)."""
    from actlab.train.trainer import train_runs

    config = RunConfig(**TINY)
    (result,) = train_runs([config])
    owner = new_owner()
    with Store(path) as store:
        store.register("ok", "fine", [config])
        store.claim("ok", owner)
        store.complete(result, owner)
        for name in names:
            store.db.execute(
                "INSERT INTO experiments (name, description, created) VALUES (?, ?, ?)",
                (name, "# <img src=x onerror=alert(1)>", time.time()),
            )
            store.db.execute(
                "INSERT INTO experiment_runs (experiment, key, position) VALUES (?, ?, 0)", (name, config.key())
            )


def test_experiment_names_never_leave_the_report_folder(tmp_path):
    names = ["../../escaped", str(tmp_path / "absolute"), "x" * 300, "<img src=x onerror=alert(1)>"]
    _crafted_store(tmp_path / "s.db", names)
    out = tmp_path / "out" / "report"
    reports = json.loads(invoke("report", tmp_path / "s.db", "-o", out, "--json").stdout)
    assert set(reports) == {"ok", *names}  # every experiment reported, the long name included
    written = [Path(f) for r in reports.values() for f in r["files"].values()]
    assert written and all(out.resolve() in f.resolve().parents for f in written)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "absolute").exists()
    markdown = "\n".join(p.read_text() for p in out.rglob("report.md"))
    assert "<img" not in markdown and "&lt;img src=x onerror=alert\\(1\\)&gt;" in markdown
    with Store(tmp_path / "s.db") as store, pytest.raises(StoreError, match="experiment name '../x'"):
        store.register("../x", "", [RunConfig(**TINY)])


# --- liveness ------------------------------------------------------------------------------------------------
def test_leases_are_renewed_while_a_run_trains(tmp_path, monkeypatch):
    """A run whose training outlasts the lease (3 s against 1 s, with no epoch streamed meanwhile) keeps its claim:
    another runner finds nothing to take, and every run is trained exactly once."""
    from actlab.train import trainer

    original = trainer.train_runs

    def slow(*args, **kwargs):
        time.sleep(3.0)
        return original(*args, **kwargs)

    monkeypatch.setattr(trainer, "train_runs", slow)
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.register("exp", "", [RunConfig(**TINY, seed=s) for s in (0, 1)])
    first = threading.Thread(target=work, args=(str(path), "exp"), kwargs={"group": "all", "lease": 1.0})
    first.start()
    time.sleep(1.8)
    with Store(path, lease=1.0) as store:
        assert store.claim("exp", new_owner()) == []  # still held: the lease was renewed
        assert store.counts("exp")["held"] == 2
    first.join()
    db = sqlite3.connect(path)
    assert db.execute("SELECT status, attempts FROM runs").fetchall() == [("done", 1), ("done", 1)]


def test_a_reused_pid_does_not_keep_a_dead_runner_s_runs(tmp_path):
    """A runner identity whose pid now belongs to another process (a later start time) is known to be gone."""
    host, namespace, pid, start, _ = new_owner().split("|")
    impostor = f"{host}|{namespace}|{pid}|{int(start) - 1 if start else 0}|gone"  # this pid, an earlier process
    with Store(tmp_path / "s.db") as store:
        store.register("exp", "", [RunConfig(**TINY)])
        assert store.claim("exp", impostor)
        assert store.claim("exp", new_owner())  # taken over at once, without waiting for the lease


def _can_unshare() -> bool:
    try:
        return (
            subprocess.run(
                ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=20
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_runners_in_separate_pid_namespaces_never_train_a_run_twice(tmp_path):
    """Two runners with the same host name but their own PID namespaces (as containers are) cannot see each other's
    processes: each judges the other by its lease, which is renewed, so nothing is taken over."""
    if not _can_unshare():
        pytest.skip("needs `unshare --pid --fork --mount-proc` (util-linux, and the right to create namespaces)")
    toml, store = _sweep(tmp_path, epochs=4, subset=400), tmp_path / "s.db"
    command = [
        "unshare",
        "--pid",
        "--fork",
        "--mount-proc",
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
    ]
    runners = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [r.communicate(timeout=300) for r in runners]
    assert all(r.returncode == 0 for r in runners), outputs
    db = sqlite3.connect(store)
    assert db.execute("SELECT status, attempts, COUNT(*) FROM runs GROUP BY status, attempts").fetchall() == [
        ("done", 1, 8)
    ]


# --- signals -------------------------------------------------------------------------------------------------
def _start(tmp_path, *extra, epochs=30):
    toml, store = _sweep(tmp_path, epochs=epochs, subset=400), tmp_path / "s.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "actlab.cli", "run", str(toml), "--store", str(store), "--group", "none", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_as_from_a_terminal,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if store.exists() and _statuses_safe(store).get("running", 0) >= len(extra) // 2 + 1:
            return process, store
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"the runner never started: {process.communicate()}")


def _signal_state(pid: int) -> str:
    """The blocked, ignored and caught signal masks of a process (Linux), for a failure's message."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "unknown"
    return " ".join(line.replace("\t", " ") for line in lines if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


def _as_from_a_terminal() -> None:
    """Default signal dispositions in the runner, and neither signal blocked, as a shell gives them: a process started
    with SIGINT ignored or blocked (by a parent that does so; Ray blocks SIGINT in the processes it starts) rightly
    keeps ignoring Ctrl-C, and what the test process inherited from whoever started it must not decide the test."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _statuses_safe(path):
    try:
        return _statuses(path)
    except sqlite3.OperationalError:
        return {}


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_gives_the_runs_back(tmp_path, signum, code):
    process, store = _start(tmp_path)
    state = _signal_state(process.pid)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, f"{err}\n(the runner's signal state when signalled: {state})"
    assert "interrupted" in err and "rerun the same command to resume" in err and "Traceback" not in err
    assert "running" not in _statuses(store)  # given back: pending again at once


def test_ctrl_c_with_worker_processes_exits_quietly(tmp_path):
    process, store = _start(tmp_path, "--workers", "2")
    state = _signal_state(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # the terminal sends Ctrl-C to the whole process group
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, f"{err}\n(the runner's signal state when signalled: {state})"
    assert "Process SpawnProcess" not in err and "Traceback" not in err and "rerun the same command" in err
    assert "running" not in _statuses(store)


def test_a_worker_is_interrupted_once_and_is_deaf_to_the_signals_that_follow():
    """Ctrl-C reaches a worker, then its parent's SIGTERM does while the worker gives its runs back: that second
    signal raised again inside the worker's exit path, and it printed a traceback."""
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        interrupt_once()
        with pytest.raises(Interrupted) as caught:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs before this returns; the sleep only bounds a failure
        assert caught.value.exit_code == 130
        os.kill(os.getpid(), signal.SIGTERM)  # ignored now: nothing is raised
        os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGTERM) is signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_workers_stop_and_give_their_runs_back_when_the_parent_is_killed(tmp_path):
    process, store = _start(tmp_path, "--workers", "2")
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    assert children, "no worker processes"
    process.kill()
    process.wait()
    deadline = time.time() + 60
    alive = children
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = [
            pid
            for pid in children
            if Path(f"/proc/{pid}").exists()
            and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        ]
    assert not alive, f"orphaned workers still running: {alive}"
    assert "running" not in _statuses(store)


# --- files that are not ours, or not writable ------------------------------------------------------------------
def _foreign(path: Path) -> bytes:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.execute("INSERT INTO notes (text) VALUES ('mine')")
    db.commit()
    db.close()
    return path.read_bytes()


def test_a_foreign_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "app.db"
    before = _foreign(path)
    toml = _sweep(tmp_path)
    for args in (["report", path, "-o", tmp_path / "r"], ["run", toml, "--store", path]):
        output = invoke(*args, code=2).output
        assert "not an actlab store (a SQLite database of another application)" in output and "Traceback" not in output
        assert len(output.strip().splitlines()) == 1
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("app")) == [
        "app.db"
    ]


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: p.write_bytes(os.urandom(5000)), "not an actlab store (not a SQLite database)"),
        (lambda p: p.write_text("hello"), "not an actlab store (not a SQLite database)"),
        (lambda p: p.mkdir(), "is a folder, not a store file"),
    ],
)
def test_damaged_files_and_folders_are_one_line(tmp_path, make, message):
    path = tmp_path / "s.db"
    make(path)
    toml = _sweep(tmp_path)
    for args in (["report", path, "-o", tmp_path / "r"], ["run", toml, "--store", path]):
        output = invoke(*args, code=2).output
        assert message in output and "Traceback" not in output and len(output.strip().splitlines()) == 1


def test_a_truncated_store_is_one_line(tmp_path):
    path = tmp_path / "s.db"
    invoke("run", _sweep(tmp_path), "--store", path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    output = invoke("report", path, "-o", tmp_path / "r", code=2).output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1


@pytest.fixture()
def read_only_mount(tmp_path):
    """A read-only view (a bind mount; read-only even for root) of a folder ``src``; skipped where mounts are not
    allowed."""
    source, view = tmp_path / "src", tmp_path / "view"
    source.mkdir()
    view.mkdir()
    if (
        shutil.which("mount") is None
        or subprocess.run(["mount", "--bind", str(source), str(view)], capture_output=True).returncode != 0
    ):
        pytest.skip("needs the right to bind-mount a folder read-only")
    try:
        yield source, view
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)


def _remount_read_only(view: Path) -> None:
    done = subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only: {done.stderr.strip()}")


def test_a_store_in_a_read_only_folder_is_reported_and_run_when_nothing_is_left(tmp_path, read_only_mount):
    source, view = read_only_mount
    toml = _sweep(tmp_path)
    invoke("run", toml, "--store", source / "s.db")
    _remount_read_only(view)
    report = json.loads(invoke("report", view / "s.db", "-o", tmp_path / "r", "--json").stdout)
    assert len(report["sweep"]["rows"]) == 4
    again = json.loads(invoke("run", toml, "--store", view / "s.db", "--json").stdout)
    assert again["counts"]["done"] == 8  # nothing to do: nothing written
    more = tmp_path / "more.toml"
    more.write_text(SWEEP.format(epochs=1, subset=200).replace("seed = [0, 1]", "seed = [0, 1, 2]"))
    assert "is read-only" in invoke("run", more, "--store", view / "s.db", code=2).output


def test_a_full_disk_is_one_line_and_the_store_stays_consistent(tmp_path):
    """On a small tmpfs filled up: the runner says the disk is full; after space is freed, rerunning completes."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("needs the right to mount a tmpfs")

    def run(toml, code=0):  # separate processes, as a user runs them: a runner that stops frees its claims
        done = subprocess.run(
            [sys.executable, "-m", "actlab.cli", "run", str(toml), "--store", str(store), "--group", "none", "--json"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == code, done.stderr
        return done

    try:
        toml, store = _sweep(tmp_path, epochs=3), disk / "s.db"
        run(toml)
        filler = disk / "filler"
        try:  # leave almost nothing free
            with open(filler, "wb") as handle:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
        except OSError:
            pass
        more = tmp_path / "more.toml"
        more.write_text(SWEEP.format(epochs=3, subset=200).replace("seed = [0, 1]", "seed = [0, 1, 2, 3, 4, 5]"))
        output = run(more, code=2).stderr
        assert "disk full" in output and "rerun the same command to resume" in output and "Traceback" not in output
        assert len(output.strip().splitlines()) == 1
        filler.unlink()
        payload = json.loads(run(more).stdout)
        assert payload["counts"]["done"] == 24
        db = sqlite3.connect(store)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM epochs").fetchone() == (24 * 3,)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_runner_that_finishes_early_says_who_holds_the_rest(tmp_path):
    toml, store = _sweep(tmp_path), tmp_path / "s.db"
    from actlab.experiments.config import load_experiment

    runs = load_experiment(toml).runs
    with Store(store) as db:
        db.register("sweep", "", runs)
        held = db.claim("sweep", new_owner(), group="none")  # another runner's live claim
    output = invoke("run", toml, "--store", store).output
    assert f"{len(runs) - len(held)} done" in output and f"{len(held)} being trained by other runners" in output
