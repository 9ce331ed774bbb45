"""A store may come from anyone: reading its results (`report`, `--json`, `--earlier`, a saved report) never imports or
runs a file its runs name, and `run` runs one only when the user gave it (or passed --trust-store)."""

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actlab.catalog import plugins
from actlab.catalog.spec import REGISTRY
from actlab.cli import app
from actlab.experiments.store import Store
from actlab.train.config import RunConfig
from actlab.train.metrics import EpochMetrics, RunResult, Summary

runner = CliRunner()


@pytest.fixture
def registry(monkeypatch):
    """The registry and what this process trusts as they were before the test."""
    state = REGISTRY.snapshot()
    monkeypatch.setattr(plugins, "_given", {})
    monkeypatch.setattr(plugins, "_trust_store", False)
    yield REGISTRY
    REGISTRY.restore(state)


def _evil_file(path: Path, marker: Path, body: str = "") -> Path:
    path.write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n{body}")
    return path


def _summary(accuracy: float) -> Summary:
    never = {"0.95": None, "0.97": None, "0.98": None}
    return Summary("done", 1, accuracy, accuracy, accuracy, 1, never, 0.1, 0.1, None, 0.5, 0.5, 0.5)


def _done(store: Store, config: RunConfig, accuracy: float) -> None:
    """Store ``config`` as finished without training it (nothing it names is loaded)."""
    store.db.execute("UPDATE runs SET status = 'running', owner = 'me' WHERE key = ?", (config.key(),))
    store.db.commit()
    history = [EpochMetrics(1, 0.5, accuracy, 0.5, accuracy, 0.1)]
    assert store.complete(RunResult(config, history, _summary(accuracy)), "me")


def _crafted(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A store whose runs name a Python plugin and a model file that each write ``marker`` if run; an earlier
    definition of the experiment is in it too. Returns (store, marker, the experiment file that names the plugin's
    activation and nothing else)."""
    marker = tmp_path / "marker"
    plugin = _evil_file(tmp_path / "evil_plugin.py", marker)
    model = _evil_file(tmp_path / "evil_model.py", marker, "def build(act):\n    raise SystemExit\n")
    sha = hashlib.sha256(plugin.read_bytes()).hexdigest()
    definition = json.dumps({"kind": "python", "name": "evil", "file": str(plugin), "sha256": sha}, sort_keys=True)
    base = {"dataset": "digits", "epochs": 1, "definition": definition, "activation": "evil"}
    user_model = {"model": f"{model}:build", "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest()}
    earlier = [RunConfig.stored({**base, "seed": s, "lr": 0.2}) for s in (0, 1)]
    current = [RunConfig.stored({**base, **user_model, "seed": s}) for s in (0, 1)]
    path = tmp_path / "crafted.db"
    with Store(path) as store:
        store.register("exp", "crafted", earlier)
        for i, config in enumerate(earlier):
            _done(store, config, 0.5 + i / 10)
        store.register("exp", "crafted", current)
        for i, config in enumerate(current):
            _done(store, config, 0.6 + i / 10)
    return path, marker, plugin


@pytest.mark.parametrize(
    "options", [[], ["--json"], ["--earlier"], ["--earlier", "--json"], ["--experiment", "exp", "--earlier"]]
)
def test_report_of_a_crafted_store_runs_nothing_it_names(tmp_path, options):
    store, marker, _ = _crafted(tmp_path)
    result = runner.invoke(app, ["report", str(store), "-o", str(tmp_path / "out"), *options])
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    assert "evil" in result.output


def test_a_saved_report_of_a_crafted_store_is_written_again_running_nothing(tmp_path):
    store, marker, _ = _crafted(tmp_path)
    assert runner.invoke(app, ["report", str(store), "-o", str(tmp_path / "out"), "--experiment", "exp"]).exit_code == 0
    again = runner.invoke(app, ["report", str(tmp_path / "out" / "report.json"), "-o", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert not marker.exists()


def test_run_on_a_crafted_store_runs_nothing_it_names_without_trust(tmp_path):
    store, marker, plugin = _crafted(tmp_path)
    experiment = tmp_path / "exp.toml"
    experiment.write_text(
        'name = "exp"\n[base]\ndataset = "digits"\nepochs = 1\ntrain_subset = 64\ntest_subset = 32\n'
        '[grid]\nactivation = ["relu"]\n'
    )
    result = runner.invoke(app, ["run", str(experiment), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert not marker.exists()


def test_a_stored_run_is_defined_from_a_python_file_only_when_given_or_trusted(tmp_path, registry):
    marker = tmp_path / "marker"
    plugin = _evil_file(
        tmp_path / "own.py",
        marker,
        "import actlab\nactlab.define('own', 'x * tanh(x)')\n",
    )
    sha = hashlib.sha256(plugin.read_bytes()).hexdigest()
    definition = json.dumps({"kind": "python", "name": "own", "file": str(plugin), "sha256": sha}, sort_keys=True)
    with pytest.raises(plugins.UntrustedError, match=r"--plugins .*own\.py"):
        plugins.ensure_defined(definition)
    assert not marker.exists()
    plugins.trust(store=True)
    assert plugins.ensure_defined(definition).name == "own" and marker.exists()


def test_a_stored_row_whose_configuration_is_not_its_key_runs_nothing(tmp_path):
    """A crafted row under a genuine run's key (INSERT OR IGNORE keeps the first): the key is checked as stored,
    before anything the configuration names is defined."""
    store, marker, _ = _crafted(tmp_path)
    with Store(store) as opened:
        row = opened.db.execute("SELECT config FROM runs LIMIT 1").fetchone()
        with pytest.raises(Exception, match="key"):
            opened._config("0" * 16, row["config"])
    assert not marker.exists()


def test_unpickling_defines_a_python_activation_a_keras_config_does_not(tmp_path, registry):
    """A pickle runs what it says (its loader chose it): an activation from a plugin file unpickles in a process that
    lacks it. A Keras config is data: it names the file, which runs only where it was given."""
    from actlab.activation import _unpickle
    from actlab.keras.reference import from_config

    marker = tmp_path / "marker"
    plugin = _evil_file(tmp_path / "mine.py", marker, "import actlab\nactlab.define('mine', 'x * tanh(x)')\n")
    sha = hashlib.sha256(plugin.read_bytes()).hexdigest()
    definition = json.dumps({"kind": "python", "name": "mine", "file": str(plugin), "sha256": sha}, sort_keys=True)
    with pytest.raises(plugins.UntrustedError):
        from_config("mine", definition)
    assert not marker.exists()
    assert _unpickle("mine", definition, {}).spec.name == "mine" and marker.exists()
