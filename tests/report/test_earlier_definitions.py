"""`report --earlier` never pools runs of different definitions (a formula, a model file, data edited since) as if
they were seeds: each definition is its own configuration, labelled apart."""

import hashlib
import json

import pytest
from typer.testing import CliRunner

from actlab.cli import app
from actlab.experiments.store import Store
from actlab.train.config import RunConfig
from tests.report.test_untrusted_store import _done

runner = CliRunner()


def _formula(name: str, formula: str) -> str:
    record = {
        "kind": "formula",
        "name": name,
        "formula": formula,
        "params": {},
        "derivative": None,
        "init": "he_normal",
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _store_of(tmp_path, definitions: list[dict]) -> str:
    """One experiment defined again for each of ``definitions`` (settings of its one seed-0 run), every run done."""
    path = tmp_path / "runs.db"
    with Store(path) as store:
        for i, settings in enumerate(definitions):
            config = RunConfig.stored({"dataset": "digits", "epochs": 1, "seed": 0, **settings})
            store.register("exp", "", [config])
            _done(store, config, 0.5 + i / 10)
    return str(path)


def _rows(tmp_path, store: str) -> list[dict]:
    result = runner.invoke(app, ["report", store, "-o", str(tmp_path / "out"), "--earlier", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["exp"]["rows"]


def test_three_definitions_of_a_formula_are_three_configurations(tmp_path):
    formulas = ["x * atan(softplus(x))", "x * atan(softplus(2*x))", "x * tanh(softplus(x))"]
    store = _store_of(tmp_path, [{"activation": "atan_sp", "definition": _formula("atan_sp", f)} for f in formulas])
    rows = _rows(tmp_path, store)
    assert len(rows) == 3 and all(r["runs"] == 1 for r in rows)
    assert len({r["configuration"] for r in rows}) == 3
    assert all(r["configuration"].startswith("atan_sp [definition ") for r in rows)
    assert sum(r["configuration"].endswith("(earlier definition)") for r in rows) == 2
    assert sorted(r["final_test_accuracy"]["mean"] for r in rows) == pytest.approx([0.5, 0.6, 0.7])


@pytest.mark.parametrize("setting, word", [("model_sha256", "model"), ("data_sha256", "data")])
def test_runs_of_an_edited_model_or_data_file_are_not_pooled(tmp_path, setting, word):
    hashes = [hashlib.sha256(bytes([i])).hexdigest() for i in range(3)]
    extra = {"model": f"{tmp_path / 'm.py'}:build"} if word == "model" else {"dataset": f"npz:{tmp_path / 'd.npz'}"}
    store = _store_of(tmp_path, [{**extra, setting: h} for h in hashes])
    rows = _rows(tmp_path, store)
    assert len(rows) == 3 and all(r["runs"] == 1 for r in rows)
    labels = {r["configuration"] for r in rows}
    assert {h[:8] for h in hashes} == {label.split(f"{word} ")[1][:8] for label in labels}


def test_one_definition_of_several_seeds_is_still_one_row(tmp_path):
    path = tmp_path / "runs.db"
    definition = _formula("atan_sp", "x * atan(softplus(x))")
    configs = [
        RunConfig.stored({"dataset": "digits", "epochs": 1, "seed": s, "activation": a, "definition": d})
        for s in (0, 1)
        for a, d in (("atan_sp", definition), ("relu", None))
    ]
    with Store(path) as store:
        store.register("exp", "", configs)
        for config in configs:
            _done(store, config, 0.5)
    rows = _rows(tmp_path, str(path))
    assert sorted((r["configuration"], r["runs"]) for r in rows) == [("atan_sp", 2), ("relu", 2)]
