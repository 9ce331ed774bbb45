"""The --diagnostics table of reports: first and last hidden layers, means over seeds, nothing without diagnostics;
and the diagnostics survive a report written again from its report.json."""

from dataclasses import replace

from actlab.report.diagnostics_table import diagnostics_markdown, diagnostics_rows
from actlab.report.experiment_report import report_saved, write_report
from actlab.train.diagnostics_data import LayerDiagnostics
from tests.report.test_figures import fake_run


def layer(number: int, saturated: float, grad: float, mean: float = 0.0) -> LayerDiagnostics:
    return LayerDiagnostics(number, mean, 1.0, -2, 0, 2, saturated, 0.0, 0.5, (0.0, 1.0), (3,), grad, 1.0, 0.01)


def measured(activation: str, seed: int, layers: int, saturated: float) -> object:
    epochs = [[layer(i + 1, saturated * e, 0.1 * (i + 1) * (seed + 1)) for i in range(layers)] for e in (0.5, 1.0)]
    return replace(fake_run(activation, seed, 0.9), diagnostics=epochs)


def test_rows_average_the_seeds_and_show_the_first_and_last_of_many_layers():
    runs = [measured("sigmoid", 0, 10, 0.8), measured("sigmoid", 1, 10, 0.6), measured("relu", 0, 2, 0.2)]
    rows = diagnostics_rows(runs)
    assert [r[:2] for r in rows] == [
        ["sigmoid", "1 of 10"],
        ["sigmoid", "10 of 10"],
        ["relu", "1 of 2"],
        ["relu", "2 of 2"],
    ]
    assert rows[0][2] == "35 → 70"  # saturated: mean of 40 and 30 % after the first epoch, 80 and 60 % after the last
    assert rows[1][5] == "1.5 → 1.5"  # layer 10's gradient norms 1.0 and 2.0, averaged


def test_no_table_without_diagnostics():
    assert diagnostics_markdown([fake_run("relu", 0, 0.9)]) == ""
    assert diagnostics_markdown([measured("relu", 0, 2, 0.1)]).startswith("**Diagnostics**")


def test_a_report_written_again_from_its_json_keeps_the_diagnostics(tmp_path):
    runs = [measured(a, s, 2, 0.5) for a in ("relu", "tanh") for s in (0, 1)]
    write_report(runs, "e", tmp_path / "a", baseline="relu")
    again = report_saved(tmp_path / "a" / "report.json", tmp_path / "b")
    assert again["e"]["baseline"] == "relu"
    assert (tmp_path / "a" / "report.md").read_text() == (tmp_path / "b" / "report.md").read_text()
    assert (tmp_path / "b" / "diagnostics_units.png").exists() and (tmp_path / "b" / "summary.png").exists()


def test_a_file_that_is_no_saved_report_is_one_clear_error(tmp_path):
    import pytest

    bad = tmp_path / "x.json"
    bad.write_text('{"runs": [{"config": {"lr": "fast"}}]}')
    with pytest.raises(ValueError, match="not a report.json or results.json written by actlab"):
        report_saved(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_saturation_threshold_is_said_as_measured():
    strict = replace(measured("relu", 0, 2, 0.1), config=fake_run("relu", 0, 0.9, saturation_threshold=0.01).config)
    assert "below 5 % of the activation" in diagnostics_markdown([measured("relu", 0, 2, 0.1)])
    assert "below 1–5 % of the activation" in diagnostics_markdown([strict, measured("tanh", 0, 2, 0.1)])
