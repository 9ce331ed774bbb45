"""`actlab run --executor ray` on a local Ray runtime (2 CPUs, one for the module's tests): a quick recipe's numbers
exactly as the serial executor's, users' activations and models defined again on the workers, a killed worker's task
retried, a run failing in training recorded as failed while the others finish, runs a node cannot set up given back, a
SIGKILLed driver resumed, a SIGTERMed one giving its runs back, and every bad option — Ray missing included — one
clear error before anything trains.

The runs that must still be training when a driver is killed wait for a file (the gate) that the test creates only
afterwards: no test depends on how fast anything runs."""

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from actlab.cli import app
from actlab.experiments import ray_executor
from actlab.experiments.ray_executor import ClusterError, RayExecutor
from actlab.experiments.runner import failed_line, run_experiment
from actlab.experiments.store import Store
from actlab.train.config import make_config

runner = CliRunner()
PATIENCE = 180  # seconds a test waits for something that takes a second or two on an idle machine
BASE = '[base]\ndataset = "digits"\nepochs = {epochs}\ntrain_subset = 300\ntest_subset = 100\n{extra}'
SOFTSIGN = '[[activation]]\nname = "ray_softsign"\nformula = "x / (1 + abs(x))"\n'
# A user's model whose training misbehaves on purpose, by activation (only in training: the driver builds and scores
# the model once in eval mode before anything trains). {kill}: the first training step anywhere kills its own Ray
# worker; tanh raises; elu's output is NaN (the run diverges); the activations in {gated} mark that they started,
# then wait for the gate.
USER_MODEL = """
import os
import signal
import time
from pathlib import Path

from torch import nn

HERE = Path({here!r})


class Net(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.name = act.activation.name
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), act(), nn.Linear(16, 10))

    def forward(self, x):
        if self.training:
            if {kill} and not (HERE / "killed").exists():
                (HERE / "killed").touch()
                os.kill(os.getpid(), signal.SIGKILL)
            if self.name == "tanh":
                raise RuntimeError("tanh trains nowhere")
            if self.name == "elu":
                return self.body(x) * float("nan")
            if self.name in {gated!r}:
                (HERE / f"started-{{self.name}}").touch()
                while not (HERE / "gate").exists():
                    time.sleep(0.05)
        return self.body(x)


def build(act):
    return Net(act)
"""


@pytest.fixture(scope="module")
def ray_runtime():
    """One local Ray runtime for the module's tests (executors use a runtime this process already initialised),
    shut down after them; its processes go with it."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'actlab[ray]'")
    handler = signal.getsignal(signal.SIGTERM)  # ray.init replaces it with its own
    ray.init(
        address="local",
        num_cpus=2,
        object_store_memory=100 * 2**20,  # the tests ship a few MB; Ray's default takes 30 % of the machine's memory
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    signal.signal(signal.SIGTERM, handler)
    yield ray
    ray.shutdown()


def invoke(*args: object, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def _experiment(tmp_path: Path, name: str, grid: str, epochs: int = 2, extra: str = "") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\n' + BASE.format(epochs=epochs, extra=extra) + "[grid]\n" + grid)
    return path


def _user_model(tmp_path: Path, kill: bool = False, gated: tuple[str, ...] = ()) -> Path:
    path = tmp_path / "my_models.py"
    path.write_text(USER_MODEL.format(here=str(tmp_path), kill=kill, gated=gated))
    return path


def _histories(store: Path) -> dict[str, list[tuple]]:
    with Store(store, readonly=True) as opened:
        return {
            r.config.key(): [(h.epoch, h.train_loss, h.train_accuracy, h.test_loss, h.test_accuracy) for h in r.history]
            for r in opened.results()
        }


def _runs(store: Path) -> dict[str, tuple]:
    """Each run's (status, attempts, owner, finished, stored epochs, activation's name)."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return {
            key: (status, attempts, owner, finished, epochs, json.loads(config)["activation"].partition(":")[0])
            for key, status, attempts, owner, finished, epochs, config in db.execute(
                "SELECT key, status, attempts, owner, finished, (SELECT COUNT(*) FROM epochs e WHERE e.key = r.key), "
                "config FROM runs r"
            )
        }
    finally:
        db.close()


def _by_activation(store: Path) -> dict[str, tuple]:
    return {run[5]: run for run in _runs(store).values()}


def test_a_quick_recipe_gives_the_serial_executor_s_numbers(tmp_path, ray_runtime, idx_data_dir, monkeypatch):
    """recipe:mnist-mlp-modern --quick (5 activations × 3 seeds, on small MNIST files): the same histories as the
    serial executor, each run trained once, one task per activation, the prepared arrays shipped to the workers
    once (the workers could not even load them: only this process knows the test files' hashes)."""
    serial, distributed = tmp_path / "serial.db", tmp_path / "ray.db"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a task of one CPU trains: more threads may sum some reductions in another order
    try:
        reference = run_experiment("recipe:mnist-mlp-modern", serial, quick=True, data_dir=idx_data_dir)
    finally:
        torch.set_num_threads(threads)
    assert len(reference.results) == 15
    shipped, submitted = [], []
    put, submit = ray_runtime.put, ray_executor._Driver._submit
    monkeypatch.setattr(ray_runtime, "put", lambda value: shipped.append(value) or put(value))
    monkeypatch.setattr(
        ray_executor._Driver, "_submit", lambda self, runs: submitted.append(runs) or submit(self, runs)
    )
    options = ["--quick", "--data-dir", idx_data_dir, "--store", distributed, "--executor", "ray", "--json"]
    payload = json.loads(invoke("run", "recipe:mnist-mlp-modern", *options).stdout)
    assert payload["counts"]["done"] + payload["counts"]["diverged"] == 15 and payload["failed"] == []
    assert len(shipped) == 1 and sorted(len(runs) for runs in submitted) == [3] * 5
    assert _histories(distributed) == _histories(serial)
    assert all(r[:3] == (r[0], 1, None) and r[0] in ("done", "diverged") for r in _runs(distributed).values())


def test_a_killed_worker_s_task_is_retried_and_every_run_stored_once(tmp_path, ray_runtime):
    """The first training step anywhere kills its Ray worker (SIGKILL): Ray runs the task again, and both runs — a
    user's model with a built-in activation and with one the file defines by a formula — are stored once, done."""
    model = _user_model(tmp_path, kill=True)
    grid = f'activation = ["relu", "ray_softsign"]\nmodel = ["{model}:build"]\n'
    toml = _experiment(tmp_path, "killed", grid, extra=SOFTSIGN)
    outcome = run_experiment(str(toml), tmp_path / "s.db", executor=RayExecutor(max_retries=2))
    assert (tmp_path / "killed").exists()  # a worker was killed mid-run
    assert outcome.counts["done"] == 2 and len(outcome.results) == 2
    assert sorted(r[:3] + r[4:] for r in _runs(tmp_path / "s.db").values()) == [
        ("done", 1, None, 2, "ray_softsign"),
        ("done", 1, None, 2, "relu"),
    ]


def test_a_task_failing_every_retry_gives_its_runs_back(tmp_path, ray_runtime):
    """Without retries, the killed worker's run goes back to pending (the other finishes), the run ends with one
    clear error, and a rerun completes it."""
    model = _user_model(tmp_path, kill=True)
    toml = _experiment(tmp_path, "lost", f'activation = ["relu", "mish"]\nmodel = ["{model}:build"]\n')
    with pytest.raises(ClusterError, match=r"^1 run\(s\) given back untrained: its Ray task failed 1 time\(s\)"):
        run_experiment(str(toml), tmp_path / "s.db", executor=RayExecutor(max_retries=0, max_in_flight=1))
    assert sorted(r[:3] for r in _runs(tmp_path / "s.db").values()) == [("done", 1, None), ("pending", 1, None)]
    assert run_experiment(str(toml), tmp_path / "s.db", executor="ray").counts["done"] == 2


def test_a_run_failing_in_training_is_failed_with_its_message_and_the_others_finish(tmp_path, ray_runtime):
    """A user's model that raises while training with tanh and puts out NaN with elu: tanh's run is failed with the
    message, elu's diverged, relu's done; every worker loads the data itself (``ship_limit=0``); the progress
    callback sees the counts from the start to the end."""
    model = _user_model(tmp_path)
    toml = _experiment(tmp_path, "failing", f'activation = ["relu", "tanh", "elu"]\nmodel = ["{model}:build"]\n')
    seen = []
    outcome = run_experiment(
        str(toml), tmp_path / "s.db", progress=seen.append, executor=RayExecutor(cpus_per_task=1, ship_limit=0)
    )
    assert (outcome.counts["done"], outcome.counts["diverged"], outcome.counts["failed"]) == (1, 1, 1)
    ((config, error),) = outcome.failures
    assert config.activation == "tanh"
    assert "tanh trains nowhere" in failed_line(config, error) and "RuntimeError" in error
    runs = _by_activation(tmp_path / "s.db")
    assert runs["elu"][0] == "diverged" and runs["relu"][0] == "done" and runs["relu"][4] == 2
    assert seen[0]["pending"] == 3 and (seen[-1]["done"], seen[-1]["diverged"], seen[-1]["failed"]) == (1, 1, 1)


def test_runs_a_node_cannot_set_up_are_given_back_not_failed(tmp_path, ray_runtime, monkeypatch):
    """A task that cannot set its runs up (here: a node without tanh's definition, simulated) gives them back with
    the node's reason; the others are trained; a rerun on a node that can trains them."""
    real = ray_executor.train_group

    def elsewhere(runs, *rest):
        if runs[0][1]["activation"] == "tanh":
            raise ClusterError(f"run {runs[0][0]} cannot be set up on node-7: activation 'tanh' is unknown there")
        return real(runs, *rest)

    toml = _experiment(tmp_path, "setup", 'activation = ["relu", "tanh"]\n')
    monkeypatch.setattr(ray_executor, "train_group", elsewhere)
    with pytest.raises(ClusterError, match=r"^1 run\(s\) given back untrained: run \w+ cannot be set up on node-7"):
        run_experiment(str(toml), tmp_path / "s.db", executor="ray")
    assert {a: r[0] for a, r in _by_activation(tmp_path / "s.db").items()} == {"relu": "done", "tanh": "pending"}
    monkeypatch.setattr(ray_executor, "train_group", real)
    assert run_experiment(str(toml), tmp_path / "s.db", executor="ray").counts["done"] == 2


def test_a_task_checks_that_its_runs_are_the_driver_s(tmp_path):
    """A run that reads differently on a node (another actlab version there) is not trained under its old key; a
    user's model that is not on the node, or not as it was, is said to be so."""
    config = make_config(dataset="digits", epochs=1, activation="relu")
    with pytest.raises(ClusterError, match=r"reads as run \w+ on .*: install the same actlab version on every node"):
        ray_executor._rebuilt("0123456789abcdef", config.canonical())
    model = _user_model(tmp_path)
    config = make_config(dataset="digits", epochs=1, activation="relu", model=f"{model}:build")
    assert ray_executor._rebuilt(config.key(), config.canonical()) == config
    model.write_text(model.read_text() + "# edited\n")
    with pytest.raises(ClusterError, match=r"my_models.py:build on .* is not the file it was defined with"):
        ray_executor._rebuilt(config.key(), config.canonical())
    model.unlink()
    with pytest.raises(ClusterError, match=r"cannot be set up on .*my_models.py does not exist"):
        ray_executor._rebuilt(config.key(), config.canonical())


def _session(leader: int) -> list[int]:
    """The processes of the session ``leader`` started: the driver and the Ray runtime it started."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            # the fields after the command's ")": state, ppid, pgrp, session
            if entry.name.isdigit() and int((entry / "stat").read_text().rpartition(")")[2].split()[3]) == leader:
                found.append(int(entry.name))
    return found


def _driver(toml: Path, store: Path, *options: str) -> subprocess.Popen:
    """`actlab run TOML --executor ray` in a session of its own (a local Ray runtime it starts joins it); its
    stderr goes to a file next to the store (a pipe nobody reads could fill and block it)."""
    command = [sys.executable, "-m", "actlab.cli", "run", str(toml), "--store", str(store), "--executor", "ray"]
    with open(store.with_suffix(".stderr"), "wb") as stderr:
        return subprocess.Popen([*command, *options], start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr)


def _stderr(store: Path) -> str:
    return store.with_suffix(".stderr").read_text()


def _training(driver: subprocess.Popen, store: Path, here: Path) -> None:
    """Wait until relu's run is stored and a gated run is training: the driver is mid-sweep, and stays so."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline and driver.poll() is None:
        with contextlib.suppress(sqlite3.Error):  # a store whose tables are still being created
            done = store.exists() and _by_activation(store).get("relu", ("",))[0] == "done"
            if done and any(here.glob("started-*")):
                return
        time.sleep(0.1)
    driver.kill()
    pytest.fail(f"the driver did not get to train (exit code {driver.wait()}): {_stderr(store)}")


def _end_session(driver: subprocess.Popen) -> None:
    """Kill whatever is left of the driver's session (a local Ray runtime outlives a SIGKILLed driver)."""
    for pid in _session(driver.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        driver.wait(timeout=PATIENCE)


GATED = ("mish", "gelu", "silu")
FOUR = 'activation = ["relu", "mish", "gelu", "silu"]\n'


def test_a_sigkilled_driver_resumes_without_training_anything_twice(tmp_path, ray_runtime):
    """A driver joins the tests' runtime by its address (--address HOST:PORT) and is killed with SIGKILL mid-sweep:
    its claims stay in the store; a rerun takes them over at once (their owner is dead) and trains the rest, the
    finished run left as it was."""
    model = _user_model(tmp_path, gated=GATED)
    toml, store = _experiment(tmp_path, "resume", FOUR + f'model = ["{model}:build"]\n'), tmp_path / "s.db"
    address = ray_runtime.get_runtime_context().gcs_address
    driver = _driver(toml, store, "--address", address, "--max-in-flight", "2")
    try:
        _training(driver, store, tmp_path)
        driver.kill()  # no chance to give anything back
        driver.wait()
    finally:
        _end_session(driver)
    before = _by_activation(store)
    assert before["relu"][:3] == ("done", 1, None) and before["mish"][0] == "running"  # mish waits at the gate
    assert all(before[a][0] in ("pending", "running") and before[a][4] == 0 for a in GATED)
    (tmp_path / "gate").touch()
    assert run_experiment(str(toml), store, executor="ray").counts["done"] == 4
    after = _by_activation(store)
    assert after["relu"] == before["relu"]  # not trained again
    assert all(run[0] == "done" and run[2] is None and run[4] == 2 for run in after.values())


def test_sigterm_gives_the_runs_back_and_stops_the_tasks(tmp_path, ray_runtime):
    """A driver with a local Ray runtime of its own, sent SIGTERM mid-sweep: it says so and exits with 128 + 15 like
    the other executors, every claim given back (pending, no epochs), its runtime stopped; a rerun resumes."""
    model = _user_model(tmp_path, gated=GATED)
    toml, store = _experiment(tmp_path, "stop", FOUR + f'model = ["{model}:build"]\n'), tmp_path / "s.db"
    driver = _driver(toml, store, "--max-in-flight", "2")
    try:
        _training(driver, store, tmp_path)
        driver.send_signal(signal.SIGTERM)
        assert driver.wait(timeout=PATIENCE) == 143, _stderr(store)
        deadline = time.monotonic() + 60  # ray.shutdown stopped the runtime; its last processes may take a moment
        while _session(driver.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _session(driver.pid) == []
    finally:
        _end_session(driver)
    assert "interrupted: unfinished runs were given back; rerun the same command to resume" in _stderr(store)
    runs = _by_activation(store)
    assert runs["relu"][0] == "done" and all(runs[a][0] == "pending" and runs[a][4] == 0 for a in GATED)
    assert all(run[2] is None for run in runs.values()) and runs["mish"][1] == 1  # mish was claimed, then given back
    (tmp_path / "gate").touch()
    assert run_experiment(str(toml), store, executor="ray").counts["done"] == 4


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--executor", "ray", "--cpus-per-task", "0"], "--cpus-per-task 0: give a number > 0"),
        (["--executor", "ray", "--cpus-per-task", "-2"], "--cpus-per-task -2: give a number > 0"),
        (["--executor", "ray", "--cpus-per-task", "0.00001"], "--cpus-per-task 1e-05: give a number > 0, in steps"),
        (["--executor", "ray", "--gpus-per-task", "-0.5"], "--gpus-per-task -0.5: give a number >= 0"),
        (["--executor", "ray", "--gpus-per-task", "nan"], "--gpus-per-task nan: give a number >= 0"),
        (["--executor", "ray", "--max-in-flight", "0"], "--max-in-flight 0: give a whole number >= 1"),
        (["--executor", "ray", "--address", "head-node"], "--address 'head-node': use auto"),
        (["--executor", "ray", "--address", "10.0.0.5:70000"], "the port must be 1 to 65535"),
        (["--executor", "ray", "--workers", "2"], "--workers starts local worker processes"),
        (["--address", "auto"], "--address: options of --executor ray"),
        (["--workers", "2", "--cpus-per-task", "2", "--max-in-flight", "2"], "--cpus-per-task, --max-in-flight: opt"),
        (["--executor", "spark"], "--executor 'spark': use local or ray"),
    ],
)
def test_bad_options_are_one_clear_error_before_anything_is_written(tmp_path, options, message):
    toml = _experiment(tmp_path, "bad", 'activation = ["relu"]\n')
    output = invoke("run", toml, "--store", tmp_path / "s.db", *options, code=2).output
    assert message in output and output.count("error:") == 1
    assert not (tmp_path / "s.db").exists()


def test_what_the_cluster_cannot_run_is_one_clear_error_before_anything_is_written(tmp_path, ray_runtime):
    toml = _experiment(tmp_path, "big", 'activation = ["relu"]\n')
    with pytest.raises(ClusterError, match="no node of the Ray cluster has 3 CPUs and 0 GPUs"):
        run_experiment(str(toml), tmp_path / "s.db", executor=RayExecutor(cpus_per_task=3))
    on_gpu = _experiment(tmp_path, "gpu", 'activation = ["relu"]\n', extra='device = "cuda"\n')
    with pytest.raises(ClusterError, match="runs on cuda need tasks with a GPU: give --gpus-per-task"):
        run_experiment(str(on_gpu), tmp_path / "s.db", executor="ray")
    with pytest.raises(ValueError, match="workers starts local worker processes"):
        run_experiment(str(toml), tmp_path / "s.db", workers=2, executor="ray")
    assert not (tmp_path / "s.db").exists()
    assert run_experiment(str(toml), tmp_path / "s.db", executor="ray").counts["done"] == 1


def test_a_cluster_that_is_not_there_is_one_clear_error_with_nothing_written(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'actlab[ray]'")
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # the module's runtime would be used as it is
    toml = _experiment(tmp_path, "far", 'activation = ["relu"]\n')
    with pytest.raises(ClusterError, match=r"cannot connect to the Ray cluster at 127\.0\.0\.1:1: "):
        run_experiment(str(toml), tmp_path / "s.db", executor=RayExecutor(address="127.0.0.1:1"))
    assert not (tmp_path / "s.db").exists()


def test_a_cluster_that_does_not_answer_is_one_clear_error_at_once():
    """Ray would try to reach a head that is not there for minutes; the executor says so within seconds."""
    with pytest.raises(ClusterError, match=r"cannot connect to the Ray cluster at 127\.0\.0\.1:1: .*ray start --head"):
        ray_executor._reach("127.0.0.1:1")


MISSING_RAY = """
import sys
sys.modules["ray"] = None  # as if Ray were not installed
from actlab.cli import main
sys.argv = ["actlab", "run", sys.argv[1], "--store", sys.argv[2], "--executor", "ray"]
main()
"""


def test_without_ray_the_ray_executor_says_how_to_install_it(tmp_path):
    toml = _experiment(tmp_path, "noray", 'activation = ["relu"]\n')
    done = subprocess.run(
        [sys.executable, "-c", MISSING_RAY, str(toml), str(tmp_path / "s.db")], capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == 'error: --executor ray needs Ray: install actlab[ray] (pip install "actlab[ray]")'
    assert not (tmp_path / "s.db").exists()


def test_actlab_and_its_help_do_not_import_ray_or_torch():
    probe = (
        "import sys\nimport actlab, actlab.experiments.runner\nfrom actlab.cli import main\nsys.argv = ['actlab', "
        "'run', '--help']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(str(sorted({'ray', 'torch'} & set(sys.modules))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "--executor" in done.stdout and done.stderr.strip() == "[]"
