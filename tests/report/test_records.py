"""Benchmark records from a small real store: one per activation × task, statistics as report/stats.py gives them,
the CSV, the reproducing command, errors."""

import csv
import io
import json
import shlex

import pytest
import typer
from typer.testing import CliRunner

from actlab.activation import activation
from actlab.cli import app
from actlab.experiments.store import StoreError
from actlab.report.records import (
    CSV_COLUMNS,
    SCHEMA_VERSION,
    RecordsError,
    records_csv,
    records_json,
    store_records,
)
from actlab.report.stats import Estimate

runner = CliRunner()


@pytest.fixture(scope="module")
def records(bench_store):
    return store_records(bench_store)


def _by(records, base, lr):
    return next(r for r in records if r["activation"]["base"] == base and r["task"]["settings"]["lr"] == lr)


def test_one_record_per_activation_and_task(records):
    assert len(records) == 8 and {r["schema_version"] for r in records} == {SCHEMA_VERSION}
    tasks = {r["task"]["id"]: r["task"]["settings"]["lr"] for r in records}
    assert sorted(tasks.values()) == [0.1, 0.3]
    for record in records:
        settings = record["task"]["settings"]
        assert "activation" not in settings and "seed" not in settings and settings["model"] == "mlp:16"
        assert [s["seed"] for s in record["seeds"]] == [0, 1]
        assert record["task"]["metric"] == "accuracy"
    for task in tasks:
        ranks = sorted(r["summary"]["rank"] for r in records if r["task"]["id"] == task)
        assert ranks == [1, 2, 3, 4]


def test_catalog_fields(records):
    prelu, gelu = _by(records, "prelu", 0.1), _by(records, "gelu", 0.1)
    assert prelu["activation"]["class"] == "adaptive" and gelu["activation"]["class"] == "fixed"
    assert gelu["activation"]["family"] == activation("gelu").spec.family
    assert gelu["activation"]["formula"]["latex"] == activation("gelu").spec.formula
    assert gelu["activation"]["properties"]["monotonic"] is False and "pytorch" in gelu["activation"]["aliases"]
    assert prelu["activation"]["params"] == {"a": 0.25}


def test_summary_is_the_statistics_of_the_seeds(records):
    for record in records:
        finals = [s["final_test_accuracy"] for s in record["seeds"]]
        expected = Estimate.of(finals, bounds=(0.0, 1.0))
        got = record["summary"]["final_test_accuracy"]
        assert got["n"] == 2 and got["mean"] == pytest.approx(expected.mean) and got["ci_low"] == expected.ci_low
        assert record["summary"]["diverged"] == sum(s["diverged"] for s in record["seeds"])


def test_relu_is_the_baseline_of_significance_and_speed(records):
    relu, tanh = _by(records, "relu", 0.3), _by(records, "tanh", 0.3)
    assert relu["summary"]["versus_relu"] is None and relu["summary"]["seconds_per_epoch_vs_relu"] == 1.0
    assert set(tanh["summary"]["versus_relu"]) == {"statistic", "p_value", "p_holm"}
    ratio = tanh["summary"]["seconds_per_epoch"]["mean"] / relu["summary"]["seconds_per_epoch"]["mean"]
    assert tanh["summary"]["seconds_per_epoch_vs_relu"] == pytest.approx(ratio)


def test_diagnostics_are_summarised(records):
    d = _by(records, "gelu", 0.1)["diagnostics"]
    assert len(d["layers"]) == 1 and 0 <= d["layers"][0]["saturated"] <= 1 and d["layers"][0]["grad_norm"] > 0
    assert d["gradient_ratio_first_last"] == pytest.approx(1.0)


def test_the_command_is_a_valid_compare_command(records):
    compare = typer.main.get_command(app).commands["compare"]
    for record in records:
        words = shlex.split(record["command"])
        assert words[:2] == ["actlab", "compare"]
        params = compare.make_context("compare", words[2:]).params
        assert params["lr"] == record["task"]["settings"]["lr"] and params["seeds"] == 2
        assert params["schedule"] == "constant" and params["batch_size"] == 64 and params["diagnostics"] is True


def test_json_and_csv(records):
    payload = json.loads(records_json(records))
    assert payload["schema_version"] == SCHEMA_VERSION and len(payload["records"]) == 8
    rows = list(csv.DictReader(io.StringIO(records_csv(records))))
    thresholds = ("0.95", "0.97", "0.98")
    extra = tuple(f"epochs_to_{t}_mean" for t in thresholds) + tuple(f"epochs_to_{t}_reached" for t in thresholds)
    assert len(rows) == 8 and tuple(rows[0]) == CSV_COLUMNS + extra
    for row, record in zip(rows, records, strict=True):
        assert row["activation"] == record["activation"]["name"]
        reached = record["summary"]["epochs_to"]["0.95"]
        assert (
            int(row["epochs_to_0.95_reached"])
            == reached["n"]
            == sum(x["epochs_to"]["0.95"] is not None for x in record["seeds"])
        )
        assert float(row["final_test_accuracy_mean"]) == pytest.approx(record["summary"]["final_test_accuracy"]["mean"])


def test_one_experiment_and_errors(bench_store, tmp_path):
    assert len(store_records(bench_store, "bench")) == 8
    with pytest.raises(StoreError, match="no experiment 'nope'"):
        store_records(bench_store, "nope")
    with pytest.raises(RecordsError, match="no store at"):
        store_records(tmp_path / "missing.db")


def test_an_unknown_activation_keeps_its_name_and_null_catalog_fields(hostile_store):
    from tests.report.conftest import HOSTILE

    record = next(r for r in store_records(hostile_store) if r["activation"]["name"] == HOSTILE)
    assert record["activation"]["known"] is False and record["activation"]["family"] is None
    assert record["activation"]["properties"] is None and len(record["seeds"]) == 2


def test_cli_site_json_and_bad_input(bench_store, tmp_path):
    result = runner.invoke(app, ["site", str(bench_store), "-o", str(tmp_path / "site"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["records"] == 8 and payload["tasks"] == 2 and payload["activations"] == 4
    again = runner.invoke(app, ["site", str(bench_store), "-o", str(tmp_path / "site"), "--experiment", "bench"])
    assert again.exit_code == 0 and (tmp_path / "site" / "index.html").is_file()
    bad = runner.invoke(app, ["site", str(tmp_path / "missing.db"), "-o", str(tmp_path / "other")])
    assert bad.exit_code == 2 and "no store at" in bad.output and not (tmp_path / "other").exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    busy = runner.invoke(app, ["site", str(bench_store), "-o", str(tmp_path / "busy")])
    assert busy.exit_code == 2 and "other files" in busy.output
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]
    notdb = tmp_path / "notes.db"
    notdb.write_bytes(b"not a database at all" * 100)
    foreign = runner.invoke(app, ["site", str(notdb), "-o", str(tmp_path / "other")])
    assert foreign.exit_code == 2 and "not an actlab store" in foreign.output and not (tmp_path / "other").exists()
    file_out = runner.invoke(app, ["site", str(bench_store), "-o", str(notdb)])
    assert file_out.exit_code == 2 and "exists and is not a folder" in file_out.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_reading_never_runs_a_plugin_file_a_store_names(bench_store, tmp_path):
    """A crafted store can name any Python file as the plugin that defines an activation (with its hash): reading
    records must not execute it."""
    import hashlib
    import shutil
    import sqlite3

    marker = tmp_path / "ran"
    plugin = tmp_path / "evil.py"
    plugin.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n")
    digest = hashlib.sha256(plugin.read_bytes()).hexdigest()
    definition = json.dumps({"name": "evil", "kind": "python", "file": str(plugin), "sha256": digest})
    store = tmp_path / "store.db"
    shutil.copy(bench_store, store)
    with sqlite3.connect(store) as db:
        db.execute(
            "UPDATE runs SET config = json_set(config, '$.activation', 'evil', '$.definition', ?) "
            "WHERE json_extract(config, '$.activation') = 'gelu'",
            (definition,),
        )
    records = store_records(store)
    assert not marker.exists()
    evil = [r for r in records if r["activation"]["name"] == "evil"]
    assert len(evil) == 2 and all(r["activation"]["known"] is False for r in evil)


def test_a_task_spread_over_experiments_is_one_task_and_a_shared_run_counts_once(bench_store, tmp_path):
    import shutil
    import sqlite3
    import time

    store = tmp_path / "store.db"
    shutil.copy(bench_store, store)
    with sqlite3.connect(store) as db:
        db.execute("INSERT INTO experiments (name, description, created) VALUES ('second', '', ?)", (time.time(),))
        gelu = "SELECT key FROM runs WHERE json_extract(config, '$.activation') = 'gelu'"
        db.execute(f"UPDATE experiment_runs SET experiment = 'second' WHERE key IN ({gelu})")
        db.execute(  # and every relu run in both experiments
            "INSERT INTO experiment_runs (experiment, key, position, current) SELECT 'second', key, position, 1 "
            "FROM experiment_runs WHERE experiment = 'bench' AND key IN "
            "(SELECT key FROM runs WHERE json_extract(config, '$.activation') LIKE 'relu%')"
        )
    records = store_records(store)
    assert len(records) == 8
    for task in {r["task"]["id"] for r in records}:
        mine = [r for r in records if r["task"]["id"] == task]
        assert sorted(r["summary"]["rank"] for r in mine) == [1, 2, 3, 4]
        assert all(len(r["seeds"]) == 2 for r in mine)
