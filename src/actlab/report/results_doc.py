"""Result tables for the documentation, generated from the files ``actlab compare --out`` writes (and,
where a comparison reproduces a publication, the published numbers stored beside them)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

MARKER = re.compile(r"(<!-- results:(?P<name>[\w-]+):start[^>]*-->)(.*?)(<!-- results:(?P=name):end -->)", re.S)


def _pct(stat: dict) -> str:
    return "—" if stat["mean"] is None else f"{100 * stat['mean']:.2f} ± {100 * stat['std']:.2f}"


def results_table(directory: Path) -> str:
    """Markdown table of a comparison directory: per activation, published accuracy (if any), then
    actlab's final and best test accuracy, epochs to 97/98 %, time per epoch."""
    data = json.loads((directory / "results.json").read_text())
    published_path = directory / "published.json"
    published = json.loads(published_path.read_text())["test_accuracy_percent"] if published_path.exists() else {}
    runs = data["runs"]
    config = runs[0]["config"]
    seeds = len({r["config"]["seed"] for r in runs})
    header = ["activation"] + (["published test acc %"] if published else []) + [
        f"actlab final test acc % (mean ± std, {seeds} seeds)", "best test acc %", "epochs to 97%", "epochs to 98%", "s/epoch"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in data["comparison"]:
        name = row["activation"]
        cells = [f"`{name}`"]
        if published:
            value = published.get(name)
            cells.append("—" if value is None else f"{value:.2f}")
        cells += [_pct(row["final_test_accuracy"]), _pct(row["best_test_accuracy"])]
        for key in ("0.97", "0.98"):
            stat = row["epochs_to"].get(key)
            cells.append("—" if stat is None or stat["mean"] is None else f"{stat['mean']:.1f} ({stat['n']}/{row['runs']})")
        spe = row["seconds_per_epoch"]["mean"]
        cells.append("—" if spe is None or not math.isfinite(spe) else f"{spe:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    setup = (f"{config['dataset']}, {config['model']}, {config['optimizer']} lr {config['lr']:g}, batch {config['batch_size']}, "
             f"{config['epochs']} epochs, {config['preprocessing']} input, {config['init']} init, {config['dtype']}")
    return f"Setup: {setup}. Seconds per epoch are per model, with the seeds of an activation trained together.\n\n" + "\n".join(lines)


def with_results_tables(text: str, results_root: Path) -> str:
    """Replace every ``<!-- results:NAME:start -->…<!-- results:NAME:end -->`` block whose directory
    ``results_root/NAME`` holds a results.json; other blocks are left alone."""

    def replace(match: re.Match) -> str:
        directory = results_root / match.group("name")
        if not (directory / "results.json").exists():
            return match.group(0)
        return f"{match.group(1)}\n{results_table(directory)}\n{match.group(4)}"

    return MARKER.sub(replace, text)
