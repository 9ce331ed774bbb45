"""The report of an experiment as files: tables (Markdown, CSV, JSON), plots, and a self-contained HTML
page with both; and the report of every experiment in a store. The rows and their statistics come from
:mod:`actlab.report.tables`.

Names and descriptions read from a store are data: they are escaped in Markdown and HTML, and an experiment's
folder name is made safe (never a path that leaves the output folder). Runs that are not finished are counted
per configuration and said, never silently left out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from actlab import jsontext
from actlab.activation import activation
from actlab.report import plots
from actlab.report.diagnostics_plots import diagnostics_figures
from actlab.report.diagnostics_table import diagnostics_markdown
from actlab.report.tables import (
    Label,
    build_rows,
    cells,
    configuration_label,
    csv_text,
    markdown,
    markdown_text,
    results_json,
    swept_settings,
)
from actlab.train.config import RunConfig
from actlab.train.metrics import TRAINED, RunResult

SUMMARY = "summary.png"  # the figure that answers the question at a glance: shown first
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
EARLIER = " (earlier definition)"


def safe_folder_name(name: str) -> str:
    """A folder name for ``name`` that stays inside the output folder: the name itself when it is a plain one
    (letters, digits, '-', '_', '.'; at most 80), else its safe characters and a hash of the whole."""
    if SAFE_NAME.fullmatch(name) and name not in (".", ".."):
        return name
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:60] or "experiment"
    return f"{cleaned}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


@dataclass
class Incomplete:
    """Runs of a configuration that are not in the report, by status (pending, running, failed)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, statuses: Sequence[tuple[RunConfig, str]], label: Label) -> Incomplete:
        by_configuration: dict[str, Counter] = {}
        for config, status in statuses:
            if status not in TRAINED:
                by_configuration.setdefault(label(config), Counter())[status] += 1
        return cls({name: dict(counter) for name, counter in by_configuration.items()})

    def lines(self) -> list[str]:
        return [
            f"{name}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            for name, counts in self.counts.items()
        ]


def write_report(
    results: Sequence[RunResult],
    experiment: str,
    out: Path,
    baseline: str | None = None,
    description: str = "",
    incomplete: Incomplete | None = None,
    earlier: Sequence[RunResult] = (),
    activations: bool = False,
) -> dict:
    """Write report.{md,csv,json,html} and the figures into ``out``; returns the files and the rows.

    ``incomplete``: runs left out, said in every rendering; ``earlier``: runs of earlier definitions of the
    experiment, included and labelled as such; ``activations``: add a figure of the activations compared and their
    derivatives (``activations.png``: a comparison's)."""
    from actlab.outputs import output_folder
    from actlab.report.html import render

    every = [*results, *earlier]
    old = {r.config.key() for r in earlier}
    plain = configuration_label(swept_settings(every))

    def label(config: RunConfig) -> str:
        return plain(config) + (EARLIER if config.key() in old else "")

    rows = build_rows(every, label, baseline)  # a bad baseline raises before anything is written
    incomplete = incomplete or Incomplete()
    output_folder(out)
    files: dict[str, Path] = {}
    notes = _notes(incomplete, earlier)
    header = f"# {markdown_text(experiment)}\n\n" + (f"{markdown_text(description)}\n\n" if description else "")
    header += "".join(f"> {markdown_text(note)}\n" for note in notes) + ("\n" if notes else "")
    payload = {
        "experiment": experiment,
        "description": description,
        "baseline": baseline,
        "incomplete": incomplete.counts,
        **json.loads(results_json(rows, every)),
    }
    for name, text in (
        ("report.md", header + markdown(rows, baseline) + _diagnostics_section(every, label)),
        ("report.csv", csv_text(rows)),
        ("report.json", jsontext.dumps(payload)),
    ):
        (out / name).write_text(text)
        files[name] = out / name
    figures = _report_figures(every, rows, out, label, baseline)
    # read back as stored: only activations this process defines as the runs did are drawn (nothing is defined)
    compared = [activation(a) for a in dict.fromkeys(r.config.activation for r in every if r.config.defined_here())]
    if activations and compared:
        figures["activations.png"] = plots.plot_activations(compared, out / "activations.png", derivative=True)
    files.update(figures)
    headers, body = cells(rows, baseline)
    page = render(experiment, headers, body, figures, baseline, description, notes, lead=SUMMARY)
    (out / "report.html").write_text(page)
    files["report.html"] = out / "report.html"
    return {"files": {k: str(v) for k, v in files.items()}, "rows": rows, "incomplete": incomplete}


def _diagnostics_section(results: Sequence[RunResult], label: Label | None = None) -> str:
    """The ``--diagnostics`` table after the comparison, where runs were measured."""
    table = diagnostics_markdown(results, label)
    return f"\n{table}" if table else ""


def _report_figures(
    results: Sequence[RunResult], rows, out: Path, label: Label, baseline: str | None
) -> dict[str, Path]:
    """The figures of a report, the summary first: the final test accuracy per configuration with its confidence
    interval, then the curves per epoch, accuracy against cost and one figure per swept numeric setting (regression:
    the summary of final test losses and the loss curves)."""
    figures = {SUMMARY: plots.plot_summary(rows, results, out / SUMMARY, label, baseline)}
    if results and results[0].config.regression:  # no accuracies: the losses tell it
        figures["loss.png"] = plots.plot_loss_curves(results, out / "loss.png", label, baseline)
        figures.update(diagnostics_figures(results, out, label))
        return figures
    figures["test_accuracy.png"] = plots.plot_accuracy_curves(results, out / "test_accuracy.png", label, baseline)
    figures["loss.png"] = plots.plot_loss_curves(results, out / "loss.png", label, baseline)
    figures["accuracy_vs_time.png"] = plots.plot_accuracy_vs_time(rows, out / "accuracy_vs_time.png", results)
    for variable, figure in plots.plot_parameter_curves(results, out, label).items():
        figures[f"curve_{variable}.png"] = figure
    figures.update(diagnostics_figures(results, out, label))
    return figures


def _notes(incomplete: Incomplete, earlier: Sequence[RunResult]) -> list[str]:
    notes = []
    if incomplete.counts:
        notes.append("Not in the statistics (not finished): " + "; ".join(incomplete.lines()) + ".")
    if earlier:
        notes.append(f"Includes {len(earlier)} runs of earlier definitions of the experiment, labelled{EARLIER}.")
    return notes


def report_saved(path: str | Path, output: Path, baseline: str | None = None) -> dict[str, dict]:
    """A report written again from what a report or comparison saved: ``report.json`` (of `actlab report`) or
    ``results.json`` (of `compare --out`), with today's tables and figures. The baseline is the one saved unless
    one is given; the report of a comparison is a comparison again."""
    from actlab.report.tables import load_runs

    path = Path(path)
    try:
        payload = json.loads(path.read_text())
        results = load_runs(payload)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a report.json or results.json written by actlab ({error})") from None
    if not results:
        raise ValueError(f"{path}: holds no runs")
    baseline = baseline if baseline is not None else payload.get("baseline")
    incomplete = Incomplete(payload.get("incomplete", {}))
    name = payload.get("experiment", "compare")  # a results.json of an earlier `compare --out` names none
    compared = name == "compare"
    written = write_report(results, name, output, baseline, payload.get("description", ""), incomplete, (), compared)
    return {name: {**written, "baseline": baseline}}


def report_store(
    store_path: str | Path,
    output: Path,
    experiment: str | None = None,
    baseline: str | None = None,
    earlier: bool = False,
) -> dict[str, dict]:
    """Report every experiment of a store (or one) into ``output`` (a folder per experiment unless one is named);
    the store is opened read-only."""
    from actlab.experiments.store import Store, StoreError, readable
    from actlab.outputs import output_folder

    with readable(store_path), Store(store_path, readonly=True) as store:
        names = store.experiments()
        if experiment is not None and experiment not in names:
            raise StoreError(f"no experiment {experiment!r} in {store_path}; experiments: {', '.join(names) or 'none'}")
        chosen = [experiment] if experiment else names
        if not chosen:
            raise StoreError(f"{store_path} holds no experiments yet (run `actlab run` first)")
        inputs = {}
        for name in chosen:
            results = store.results(name)
            previous = store.results(name, current=False) if earlier else []
            statuses = store.statuses(name)
            inputs[name] = (results, previous, statuses, store.description(name))
    if baseline is not None:  # a bad baseline is an error before any folder or file is written
        for results, previous, _, _ in inputs.values():
            if results or previous:
                build_rows([*results, *previous], configuration_label(swept_settings([*results, *previous])), baseline)
    output_folder(output)
    reports = {}
    for name, (results, previous, statuses, description) in inputs.items():
        label = configuration_label(swept_settings([*results, *previous]) if results or previous else [])
        incomplete = Incomplete.of(statuses, label)
        if not results and not previous:
            reports[name] = {"files": {}, "rows": [], "incomplete": incomplete}
            continue
        target = output / safe_folder_name(name) if experiment is None else output
        reports[name] = write_report(results, name, target, baseline, description, incomplete, previous)
    return reports
