"""The report of an experiment as files: tables (Markdown, CSV, JSON), plots, and a self-contained HTML
page with both. The rows and their statistics come from :mod:`actlab.report.tables`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from actlab.report import plots
from actlab.report.tables import build_rows, cells, configuration_label, csv_text, markdown, results_json, swept_settings
from actlab.train.metrics import RunResult


def write_report(results: Sequence[RunResult], experiment: str, out: Path, baseline: str | None = None) -> dict:
    """Write report.{md,csv,json,html} and the figures into ``out``; returns the files and the rows."""
    from actlab.report.html import render

    label = configuration_label(swept_settings(results))
    rows = build_rows(results, label, baseline)  # a bad baseline raises before anything is written
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, text in (("report.md", f"# {experiment}\n\n" + markdown(rows, baseline)), ("report.csv", csv_text(rows)),
                       ("report.json", json.dumps({"experiment": experiment, "baseline": baseline,
                                                   **json.loads(results_json(rows, results))}, indent=2))):
        (out / name).write_text(text)
        files[name] = out / name
    figures = {
        "test_accuracy.png": plots.plot_accuracy_curves(results, out / "test_accuracy.png", label),
        "loss.png": plots.plot_loss_curves(results, out / "loss.png", label),
        "accuracy_vs_time.png": plots.plot_accuracy_vs_time(rows, out / "accuracy_vs_time.png"),
    }
    for variable, figure in plots.plot_parameter_curves(results, out, label).items():
        figures[f"curve_{variable}.png"] = figure
    files.update(figures)
    headers, body = cells(rows, baseline)
    (out / "report.html").write_text(render(experiment, headers, body, figures, baseline))
    files["report.html"] = out / "report.html"
    return {"files": {k: str(v) for k, v in files.items()}, "rows": rows}
