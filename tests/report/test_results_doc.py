"""Result tables generated from `actlab compare --out` files, next to published numbers."""

import json

from typer.testing import CliRunner

from actlab.cli import app
from actlab.report.results_doc import results_table, with_results_tables


def test_results_table_from_a_comparison(tmp_path):
    out = tmp_path / "results" / "tiny"
    result = CliRunner().invoke(
        app,
        [
            "compare",
            "--activations",
            "relu,mish",
            "--seeds",
            "2",
            "--epochs",
            "2",
            "--train-subset",
            "300",
            "--test-subset",
            "100",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    (out / "published.json").write_text(json.dumps({"source": "test", "test_accuracy_percent": {"relu": 97.85}}))
    table = results_table(out)
    assert "| `relu` | 97.85 |" in table and "| `mish` | — |" in table and "2 seeds" in table
    assert "Setup: digits, mlp:100,50, sgd lr 0.1 (cosine schedule), batch 50, 2 epochs" in table
    text = (
        "a\n<!-- results:tiny:start -->\nSTALE\n<!-- results:tiny:end -->\n<!-- results:other:start "
        "-->\nkeep\n<!-- results:other:end -->\n"
    )
    updated = with_results_tables(text, tmp_path / "results")
    assert "STALE" not in updated and "| `relu` |" in updated and "keep" in updated


def test_report_directories_are_embedded(tmp_path):
    folder = tmp_path / "results" / "rec"
    folder.mkdir(parents=True)
    (folder / "report.md").write_text("# rec\n\n| rank | configuration |\n|---|---|\n| 1 | relu |\n")
    text = "<!-- results:rec:start -->\n<!-- results:rec:end -->"
    assert with_results_tables(text, tmp_path / "results") == (
        "<!-- results:rec:start -->\n| rank | configuration |\n|---|---|\n| 1 | relu |\n<!-- results:rec:end -->"
    )
