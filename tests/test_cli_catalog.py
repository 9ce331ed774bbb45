"""The catalog commands at scale: list's filters (family, class, search), show's reference and class, check --all
with its summary, and check results kept by definition."""

import json

import pytest
from typer.testing import CliRunner

import actlab
from actlab.cli import app


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def names(*args: str) -> list[str]:
    done = invoke("list", *args, "--json")
    assert done.exit_code == 0, done.output
    return [record["name"] for record in json.loads(done.stdout)]


def test_list_filters_by_family_slug_or_name_class_and_search():
    assert "golu" in names("--family", "sigmoid_weighted") and "gelu" in names("--family", "sigmoid_weighted")
    assert "gelu" in names("--family", "smooth gated") and "golu" not in names("--family", "smooth gated")
    adaptive = names("--class", "adaptive")
    assert "prelu" in adaptive and "relu" not in adaptive
    assert names("--search", "2502.03654") == ["golu"]
    assert names("--search", "x*exp(-exp(-x))") == ["golu"]
    assert names("--search", "TeLU") == ["tanhexp"]
    assert names("--family", "sigmoid_weighted", "--class", "fixed", "--search", "gompertz") == ["golu"]


@pytest.mark.parametrize("args, message", [(["--family", "nope"], "no family 'nope'"), (["--class", "x"], "no class")])
def test_list_filter_errors(args, message):
    done = invoke("list", *args)
    assert done.exit_code == 2 and message in done.output


def test_list_json_has_class_and_structured_reference():
    record = next(r for r in json.loads(invoke("list", "--json").stdout) if r["name"] == "golu")
    assert record["class"] == "fixed"
    assert record["reference"]["arxiv"] == "2502.03654" and record["reference"]["where"] == "eq. 1"
    assert record["reference"]["year"] == 2025


def test_show_prints_class_formula_and_where_the_reference_defines_it():
    out = invoke("show", "GoLU").stdout
    assert "class: fixed; family: sigmoid_weighted" in out and "formula: x*exp(-exp(-x))" in out
    assert "in the paper: eq. 1" in out and "arXiv:2502.03654" in out


def test_check_needs_one_activation_or_all():
    assert invoke("check").exit_code == 2
    assert invoke("check", "relu", "--all").exit_code == 2


def test_check_all_summarises_and_keeps_results(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(actlab, "names", lambda: ["relu", "golu"])
    done = invoke("check", "--all", "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert (summary["total"], summary["passed"], summary["failed"]) == (2, 2, [])
    assert [r["cached"] for r in summary["activations"]] == [False, False]
    again = json.loads(invoke("check", "--all", "--json").stdout)
    assert [r["cached"] for r in again["activations"]] == [True, True]
    assert len(list((tmp_path / "actlab" / "checks").glob("*.json"))) == 2
    text = invoke("check", "--all")
    assert "2 of 2 activations pass every check" in text.stdout
