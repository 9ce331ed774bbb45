"""`actlab run`, `actlab report` and `actlab recipes`: every recipe runs in its quick form."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actlab.cli import app
from actlab.experiments import recipes

runner = CliRunner()


def invoke(*args, code=0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


@pytest.fixture()
def cifar_dir(tmp_path, monkeypatch):
    """A small CIFAR-10 archive in the official binary format, registered as the one to expect."""
    from actlab.data import datasets
    from actlab.data.download import md5sum
    from actlab.data.prepared import prepare
    from tests.data.test_datasets import _cifar_batches, write_binary_archive

    path = write_binary_archive(tmp_path / "cifar", _cifar_batches(per_batch=100))
    remote = datasets.CIFAR_BINARY
    monkeypatch.setattr(
        datasets, "CIFAR_BINARY", type(remote)(remote.name, md5sum(path), path.stat().st_size, remote.urls)
    )
    prepare.cache_clear()
    yield tmp_path / "cifar"
    prepare.cache_clear()


@pytest.mark.parametrize("name", recipes.names())
def test_every_recipe_runs_quick(name, tmp_path, cifar_dir, idx_data_dir):
    data_dir = str(cifar_dir) if name.startswith("cifar10") else str(idx_data_dir)
    out = invoke(
        "run",
        f"recipe:{name}",
        "--quick",
        "--store",
        str(tmp_path / "runs.db"),
        "--data-dir",
        data_dir,
        "--group",
        "all",
        "--json",
    ).stdout
    payload = json.loads(out)
    assert payload["experiment"] == f"{name}-quick"
    counts = payload["counts"]
    assert counts["failed"] == 0 and counts["pending"] == counts["running"] == 0
    assert counts["done"] + counts["diverged"] == len(recipes_runs(name))
    report = json.loads(invoke("report", str(tmp_path / "runs.db"), "-o", str(tmp_path / "report"), "--json").stdout)
    assert Path(report[f"{name}-quick"]["files"]["report.html"]).exists()


def recipes_runs(name):
    from actlab.experiments.config import load_experiment

    return load_experiment(recipes.path(name), quick=True).runs


def test_run_is_resumable_and_reports(tmp_path):
    toml = tmp_path / "e.toml"
    toml.write_text(
        'name = "e"\n[base]\nepochs = 2\ntrain_subset = 300\ntest_subset = 100\n'
        '[grid]\nactivation = ["relu", "mish"]\nseed = [0, 1]\n'
    )
    store = str(tmp_path / "runs.db")
    first = json.loads(invoke("run", str(toml), "--store", store, "--json").stdout)
    again = json.loads(invoke("run", str(toml), "--store", store, "--json").stdout)
    assert first["counts"]["done"] == again["counts"]["done"] == 4
    invoke("report", store, "-o", str(tmp_path / "r"), "--baseline", "relu")
    report_dir = tmp_path / "r" / "e"  # one folder per experiment unless --experiment names one
    assert "p vs relu (Welch, Holm)" in (report_dir / "report.md").read_text() and (report_dir / "report.html").exists()
    assert "no experiment 'x'" in invoke("report", store, "--experiment", "x", code=2).output
    untouched = tmp_path / "never"
    bad_baseline = invoke("report", store, "-o", str(untouched), "--baseline", "gelu", code=2).output
    assert "baseline 'gelu' is not a configuration" in bad_baseline and not untouched.exists()
    toml.write_text(
        'name = "e"\n[base]\nepochs = 1\ntrain_subset = 300\ntest_subset = 100\n'
        '[grid]\nactivation = ["relu", "gelu"]\nseed = [0, 1]\n'
    )
    changed = json.loads(invoke("run", str(toml), "--store", store, "--json").stdout)
    assert changed["changes"] == ["activation + gelu − mish", "epochs 2 → 1"] and changed["new_runs"] == 4
    said = invoke("run", str(toml), "--store", store).output
    assert "changed" not in said  # the definition is the one recorded now
    toml.write_text(toml.read_text().replace("epochs = 1", "epochs = 2"))
    said = " ".join(invoke("run", str(toml), "--store", store).output.split())
    assert "e: the definition changed since the last run (epochs 1 → 2): 4 new runs; 4 runs of the earlier" in said


def test_run_reports_every_problem_of_a_bad_file(tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text('name = "bad"\n[base]\nlr = -1\n[grid]\nactivation = ["relux"]\n')
    output = invoke("run", str(toml), "--store", str(tmp_path / "s.db"), code=2).output
    assert "2 problems" in output and "base.lr" in output and "grid.activation[0]" in output
    assert not (tmp_path / "s.db").exists()  # nothing was written
    assert "unknown recipe 'nope'" in invoke("run", "recipe:nope", code=2).output


def test_recipes_commands():
    listing = json.loads(invoke("recipes", "list", "--json").stdout)
    assert [r["name"] for r in listing] == recipes.names()
    assert 'name = "flooding"' in invoke("recipes", "show", "flooding").stdout


def test_worker_processes_share_the_work(tmp_path):
    toml = tmp_path / "w.toml"
    toml.write_text(
        'name = "w"\n[base]\nepochs = 2\ntrain_subset = 300\ntest_subset = 100\n'
        '[grid]\nactivation = ["relu", "mish", "tanh", "elu"]\nseed = [0, 1]\n'
    )
    store = tmp_path / "runs.db"
    payload = json.loads(invoke("run", str(toml), "--store", str(store), "--workers", "2", "--json").stdout)
    import sqlite3

    errors = sqlite3.connect(store).execute("SELECT status, error FROM runs WHERE status != 'done'").fetchall()
    assert payload["counts"]["done"] == 8, (payload["counts"], errors)
    owners = sqlite3.connect(store).execute("SELECT attempts, owner FROM runs").fetchall()
    assert all(attempts == 1 and owner is None for attempts, owner in owners)  # each trained once, all released


def test_fused_workers_train_like_the_plain_serial_run(tmp_path, monkeypatch):
    """``--fused`` reaches spawned worker processes and the in-process worker alike, with the same losses."""
    import sqlite3

    import actlab.backends.fused as fused
    from actlab.experiments.config import load_experiment
    from actlab.experiments.executors import work
    from actlab.experiments.store import Store

    toml = tmp_path / "f.toml"
    toml.write_text(
        'name = "f"\n[base]\nepochs = 1\ntrain_subset = 300\ntest_subset = 100\n'
        '[grid]\nactivation = ["tanhexp", "elish"]\nseed = [0]\n'
    )

    def losses(store):
        rows = sqlite3.connect(store).execute("SELECT key, train_loss, test_loss FROM epochs ORDER BY key").fetchall()
        assert len(rows) == 2
        return rows

    plain, spawned, inline = (str(tmp_path / f"{name}.db") for name in ("plain", "spawned", "inline"))
    invoke("run", str(toml), "--store", plain, "--json")
    counts = json.loads(invoke("run", str(toml), "--store", spawned, "--workers", "2", "--fused", "--json").stdout)
    assert counts["counts"]["done"] == 2

    built = []
    original = fused.fused_evaluator
    monkeypatch.setattr(fused, "fused_evaluator", lambda *a, **k: built.append(a[0].name) or original(*a, **k))
    experiment = load_experiment(toml)
    with Store(inline) as store:
        store.register("f", "", experiment.runs)
    assert work(inline, "f", fused=True) == 2
    assert set(built) == {"tanhexp", "elish"}

    for other in (spawned, inline):
        for (key, *reference), (same_key, *measured) in zip(losses(plain), losses(other), strict=True):
            assert key == same_key
            assert measured == pytest.approx(reference, rel=1e-4)


def test_an_edited_formula_is_a_new_run_and_the_earlier_runs_still_report(tmp_path):
    """The README's "edit the file, rerun, report --earlier": a stored run of an earlier definition of a name is
    read back as stored, beside the runs of the definition registered now."""
    from actlab.catalog import REGISTRY

    state = REGISTRY.snapshot()
    toml, store = tmp_path / "e.toml", tmp_path / "s.db"
    base = '[base]\nepochs = 1\ntrain_subset = 200\ntest_subset = 100\n[grid]\nactivation = ["softclip_e"]\n'
    try:
        for formula in ("x / (1 + abs(x))", "x / (1 + 2 * abs(x))"):
            REGISTRY.restore(state)  # each run in a fresh process
            toml.write_text(f'name = "e"\n[[activation]]\nname = "softclip_e"\nformula = "{formula}"\n{base}')
            invoke("run", str(toml), "--store", str(store))
        reported = invoke("report", str(store), "-o", str(tmp_path / "r"), "--earlier", "--json")
        assert len(json.loads(reported.stdout)["e"]["rows"]) == 2
    finally:
        REGISTRY.restore(state)
