"""Result tables for the documentation, generated from the files ``actlab compare --out`` writes (and,
where a comparison reproduces a publication, the published numbers stored beside them)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

MARKER = re.compile(r"(<!-- results:(?P<name>[\w-]+):start[^>]*-->)(.*?)(<!-- results:(?P=name):end -->)", re.S)


def results_table(directory: Path) -> str:
    """Markdown table of a comparison directory, rebuilt from its saved runs: per activation,
    the published accuracy (if any), then actlab's final and best test accuracy, epochs to 97/98 %, time."""
    from actlab.report.tables import build_rows, epochs, load_runs, percent

    runs = load_runs(json.loads(_saved_runs(directory).read_text()))
    published_path = directory / "published.json"
    published = json.loads(published_path.read_text())["test_accuracy_percent"] if published_path.exists() else {}
    config = runs[0].config
    seeds = len({r.config.seed for r in runs})
    header = (
        ["activation"]
        + (["published test acc %"] if published else [])
        + [
            f"actlab final test acc % (mean ± std, {seeds} seeds)",
            "best test acc %",
            "epochs to 97%",
            "epochs to 98%",
            "s/epoch",
        ]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in build_rows(runs):
        cells = [f"`{row.configuration}`"]
        if published:
            value = published.get(row.configuration)
            cells.append("—" if value is None else f"{value:.2f}")
        cells += [percent(row.final_test_accuracy), percent(row.best_test_accuracy)]
        cells += ["—" if key not in row.epochs_to else epochs(row.epochs_to[key], row.runs) for key in ("0.97", "0.98")]
        spe = row.seconds_per_epoch.mean
        cells.append("—" if spe is None or not math.isfinite(spe) else f"{spe:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    schedule = "" if config.schedule == "constant" else f" ({config.schedule} schedule)"
    setup = (
        f"{config.dataset}, {config.model}, {config.optimizer} lr {config.lr:g}{schedule}, batch {config.batch_size}, "
        f"{config.epochs} epochs, {config.preprocessing} input, {config.init} init, {config.dtype}"
    )
    return (
        f"Setup: {setup}. Seconds per epoch are per model, with the seeds of an activation trained together.\n\n"
        + "\n".join(lines)
    )


def _saved_runs(directory: Path) -> Path:
    """A comparison's saved runs: report.json (what `compare --out` writes), or results.json (before it did)."""
    older = directory / "results.json"
    return older if older.exists() else directory / "report.json"


def report_table(directory: Path) -> str:
    """The table of an ``actlab report`` directory (its report.md without the title)."""
    lines = (directory / "report.md").read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith("# ")).strip()


def with_results_tables(text: str, results_root: Path) -> str:
    """Replace every ``<!-- results:NAME:start -->…<!-- results:NAME:end -->`` block whose directory
    ``results_root/NAME`` holds a comparison held to published numbers (published.json, or an older comparison's
    results.json) or a report (report.md); other blocks are left alone."""

    def replace(match: re.Match) -> str:
        directory = results_root / match.group("name")
        if (directory / "results.json").exists() or (directory / "published.json").exists():
            table = results_table(directory)
        elif (directory / "report.md").exists():
            table = report_table(directory)
        else:
            return match.group(0)
        return f"{match.group(1)}\n{table}\n{match.group(4)}"

    return MARKER.sub(replace, text)
