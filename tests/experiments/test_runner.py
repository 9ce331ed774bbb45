"""`actlab run` and `report` say everything: why a run failed and how to retry it, which configurations are missing
from a report and why, and when an experiment's definition changed between runs."""

import json

from typer.testing import CliRunner

from actlab.cli import app
from actlab.experiments.config import load_experiment
from actlab.experiments.store import Store, new_owner
from actlab.train.trainer import train_runs

runner = CliRunner()
BASE = "[base]\nepochs = {epochs}\ntrain_subset = 200\ntest_subset = 100\n"


def invoke(*args, code=0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def _file(tmp_path, body: str, epochs: int = 1, name: str = "e"):
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\n' + BASE.format(epochs=epochs) + body)
    return path


def test_failed_runs_are_listed_with_their_reason_and_can_be_retried(tmp_path):
    # digits are 8×8: a fourth 3×3 convolution has nothing left to convolve, which only training can find out
    toml = _file(tmp_path, '[grid]\nactivation = ["relu"]\nmodel = ["mlp:16", "cnn:4,4,4,4"]\n')
    store = tmp_path / "s.db"
    result = invoke("run", toml, "--store", store, code=1)
    assert "1 done, 0 diverged, 1 failed" in result.output
    failed = [line for line in result.output.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and "relu, seed 0" in failed[0] and "the image is too small" in failed[0]
    assert "rerun with --retry-failed" in result.output
    payload = json.loads(invoke("run", toml, "--store", store, "--json", code=1).stdout)
    assert len(payload["failed"]) == 1 and "too small" in payload["failed"][0] and payload["retried"] == 0
    retried = json.loads(invoke("run", toml, "--store", store, "--json", "--retry-failed", code=1).stdout)
    assert retried["retried"] == 1 and retried["counts"]["failed"] == 1
    with Store(store, readonly=True) as db:
        attempts = db.db.execute("SELECT attempts FROM runs WHERE status = 'failed'").fetchone()[0]
    assert attempts == 2


def test_a_report_says_which_configurations_are_missing_runs(tmp_path):
    toml = _file(tmp_path, '[grid]\nactivation = ["relu", "mish", "tanh", "elu"]\nseed = [0, 1]\n')
    store = tmp_path / "s.db"
    runs = load_experiment(toml).runs
    owner = new_owner()
    with Store(store) as db:  # an interrupted sweep: relu and mish finished, tanh running, elu pending
        db.register("e", "", runs)
        for result in train_runs(runs[:4]):
            db.claim("e", owner, group="none")
            db.complete(result, owner)
        db.claim("e", owner, group="activation")
    result = invoke("report", store, "-o", tmp_path / "r")
    assert "tanh: 2 running" in result.output and "elu: 2 pending" in result.output
    report = json.loads(invoke("report", store, "-o", tmp_path / "r", "--json").stdout)["e"]
    assert report["incomplete"] == {"tanh": {"running": 2}, "elu": {"pending": 2}}
    markdown = (tmp_path / "r" / "e" / "report.md").read_text()
    assert "Not in the statistics" in markdown and "tanh: 2 running; elu: 2 pending." in markdown
    assert "not finished" in (tmp_path / "r" / "e" / "report.html").read_text()


def test_an_edited_experiment_reports_its_current_definition(tmp_path):
    body = '[grid]\nactivation = ["relu", "mish"]\n'
    store = tmp_path / "s.db"
    first = json.loads(invoke("run", _file(tmp_path, body, epochs=1), "--store", store, "--json").stdout)
    assert first["counts"]["done"] == 2 and not first["definition_changed"]
    result = invoke("run", _file(tmp_path, body, epochs=2), "--store", store)
    said = "the definition changed since the last run (epochs 1 → 2): 2 new runs; 2 runs of the earlier definition"
    assert said in result.output
    assert "e: 2 done" in result.output
    report = json.loads(invoke("report", store, "-o", tmp_path / "r", "--json").stdout)["e"]
    assert [row["runs"] for row in report["rows"]] == [1, 1]
    both = json.loads(invoke("report", store, "-o", tmp_path / "r2", "--earlier", "--json").stdout)["e"]
    names = sorted(row["configuration"] for row in both["rows"])
    assert names == [
        "mish, epochs=1 (earlier definition)",
        "mish, epochs=2",
        "relu, epochs=1 (earlier definition)",
        "relu, epochs=2",
    ]
    again = json.loads(invoke("run", _file(tmp_path, body, epochs=2), "--store", store, "--json").stdout)
    assert not again["definition_changed"] and again["new_runs"] == 0


def test_intervals_are_clipped_and_flagged_when_from_few_runs(tmp_path):
    from actlab.report.stats import Estimate
    from actlab.report.tables import _interval

    wide = Estimate.of([0.70, 0.99], bounds=(0.0, 1.0))
    assert wide.ci_high == 1.0 and wide.ci_low >= 0.0 and wide.few
    assert _interval(wide).endswith("(n=2)") and "100.00]" in _interval(wide)
    assert not _interval(Estimate.of([0.9, 0.91, 0.92], bounds=(0.0, 1.0))).endswith(")")
