"""`actlab check` passes for every built-in: the checks a user runs are the ones the catalog meets."""

import json

import pytest
from typer.testing import CliRunner

import actlab
from actlab.cli import app
from actlab.verify.check import check

BUILT_IN = [n for n in actlab.names() if not actlab.spec(n).user_defined]


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_passes_every_check(name):
    report = check(actlab.activation(name))
    assert report.passed, [f"{r.check}: {r.detail}" for r in report.failures()]
    assert len(report.results) == (3 if actlab.spec(name).gated else 6)


def test_the_command_prints_a_table_and_exits_by_the_verdict():
    runner = CliRunner()
    passed = runner.invoke(app, ["check", "hard_swish:n=4"], env={"COLUMNS": "200"})
    assert passed.exit_code == 0 and "hard_swish(n=4) passes every check" in passed.output
    record = json.loads(runner.invoke(app, ["check", "relu", "--json"]).stdout)
    assert record["passed"] and record["measured"]["range_text"] == "[0, ∞)" and record["measured"]["f'(0)"] == 0.0
    assert "unknown activation" in runner.invoke(app, ["check", "relux"]).output
