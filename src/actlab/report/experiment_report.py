"""The report of an experiment: per configuration, statistics over seeds, significance against a
baseline, ranking; written as Markdown, CSV, JSON and a self-contained HTML page with the plots."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from actlab.report import plots
from actlab.report.stats import Estimate, Test, compare_to_baseline
from actlab.report.tables import configuration_label
from actlab.train.metrics import RunResult, threshold_key

VARIABLE_SETTINGS = ("lr", "momentum", "flooding", "weight_decay", "batch_size", "epochs")


@dataclass(frozen=True)
class ReportRow:
    configuration: str
    runs: int
    diverged: int
    final_test_accuracy: Estimate
    best_test_accuracy: Estimate
    final_train_accuracy: Estimate
    epochs_to: dict[str, Estimate]
    seconds_per_epoch: Estimate
    versus_baseline: Test | None
    rank: int


def swept_settings(results: Sequence[RunResult]) -> list[str]:
    """Settings (other than the seed) that take more than one value across the runs."""
    configs = [r.config.canonical() for r in results]
    return [k for k in configs[0] if k != "seed" and len({json.dumps(c[k]) for c in configs}) > 1] if configs else []


def build_rows(results: Sequence[RunResult], baseline: str | None = None) -> list[ReportRow]:
    name = configuration_label(swept_settings(results))
    groups: dict[str, list[RunResult]] = {}
    for result in results:
        groups.setdefault(name(result.config), []).append(result)
    finals = {label: [r.summary.final_test_accuracy for r in runs] for label, runs in groups.items()}
    tests: dict[str, Test] = {}
    if baseline is not None:
        if baseline not in groups:
            raise KeyError(f"baseline {baseline!r} is not a configuration of this experiment; configurations: "
                           f"{', '.join(groups)}")
        tests = compare_to_baseline({k: [v for v in vals if v is not None] for k, vals in finals.items()}, baseline)
    means = {label: Estimate.of(vals).mean for label, vals in finals.items()}
    order = sorted(groups, key=lambda label: -(means[label] if means[label] is not None else -math.inf))
    rows = []
    for label, runs in groups.items():
        summaries = [r.summary for r in runs]
        thresholds = runs[0].config.thresholds
        rows.append(ReportRow(
            configuration=label,
            runs=len(runs),
            diverged=sum(s.status == "diverged" for s in summaries),
            final_test_accuracy=Estimate.of(finals[label]),
            best_test_accuracy=Estimate.of([s.best_test_accuracy for s in summaries]),
            final_train_accuracy=Estimate.of([s.final_train_accuracy for s in summaries]),
            epochs_to={threshold_key(t): Estimate.of([s.epochs_to[threshold_key(t)] for s in summaries]) for t in thresholds},
            seconds_per_epoch=Estimate.of([s.seconds_per_epoch for s in summaries]),
            versus_baseline=tests.get(label),
            rank=order.index(label) + 1,
        ))
    return rows


def _pct(e: Estimate) -> str:
    return "—" if e.mean is None else f"{100 * e.mean:.2f} ± {100 * e.std:.2f}"


def _ci(e: Estimate) -> str:
    return "—" if e.ci_low is None else f"[{100 * e.ci_low:.2f}, {100 * e.ci_high:.2f}]"


def _p(test: Test | None) -> str:
    if test is None or test.p_holm is None:
        return "—"
    return f"{test.p_holm:.3g}" + (" *" if test.p_holm < 0.05 else "")


def cells(rows: Sequence[ReportRow], baseline: str | None) -> tuple[list[str], list[list[str]]]:
    thresholds = list(rows[0].epochs_to) if rows else []
    headers = ["rank", "configuration", "runs", "final test acc %", "95% CI", "best test acc %", "final train acc %"]
    headers += [f"epochs to {100 * float(t):g}%" for t in thresholds] + ["s/epoch", "diverged"]
    if baseline:
        headers.append(f"p vs {baseline} (Welch, Holm)")
    out = []
    for row in sorted(rows, key=lambda r: r.rank):
        line = [str(row.rank), row.configuration, str(row.runs), _pct(row.final_test_accuracy), _ci(row.final_test_accuracy),
                _pct(row.best_test_accuracy), _pct(row.final_train_accuracy)]
        line += ["never" if row.epochs_to[t].mean is None else f"{row.epochs_to[t].mean:.1f} ({row.epochs_to[t].n}/{row.runs})"
                 for t in thresholds]
        spe = row.seconds_per_epoch.mean
        line += ["—" if spe is None else f"{spe:.3f}", f"{row.diverged}/{row.runs}"]
        if baseline:
            line.append("baseline" if row.configuration == baseline else _p(row.versus_baseline))
        out.append(line)
    return headers, out


def markdown(rows, baseline) -> str:
    headers, body = cells(rows, baseline)
    return "\n".join(["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
                     + ["| " + " | ".join(line) + " |" for line in body]) + "\n"


def csv_text(rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["configuration", "rank", "runs", "diverged", "final_test_mean", "final_test_std", "final_test_ci_low",
                     "final_test_ci_high", "best_test_mean", "final_train_mean", "seconds_per_epoch", "t_vs_baseline",
                     "p_vs_baseline", "p_holm"])
    for row in rows:
        test = row.versus_baseline or Test(None, None, None)
        e = row.final_test_accuracy
        writer.writerow(["" if v is None else v for v in (
            row.configuration, row.rank, row.runs, row.diverged, e.mean, e.std, e.ci_low, e.ci_high,
            row.best_test_accuracy.mean, row.final_train_accuracy.mean, row.seconds_per_epoch.mean,
            test.statistic, test.p_value, test.p_holm)])
    return out.getvalue()


def write_report(results: Sequence[RunResult], experiment: str, out: Path, baseline: str | None = None) -> dict:
    """Write tables, plots and report.html into ``out``; returns what was written and the rows."""
    from actlab.report.html import render

    out.mkdir(parents=True, exist_ok=True)
    rows = build_rows(results, baseline)
    files = {}
    for name, text in (("report.md", f"# {experiment}\n\n" + markdown(rows, baseline)), ("report.csv", csv_text(rows)),
                       ("report.json", json.dumps({"experiment": experiment, "baseline": baseline,
                                                   "rows": [asdict(r) for r in rows]}, indent=2))):
        (out / name).write_text(text)
        files[name] = out / name
    label = configuration_label(swept_settings(results))
    figures = {
        "test_accuracy.png": plots.plot_accuracy_curves(results, out / "test_accuracy.png", label),
        "loss.png": plots.plot_loss_curves(results, out / "loss.png", label),
        "accuracy_vs_time.png": plots.plot_accuracy_vs_time(rows, out / "accuracy_vs_time.png"),
    }
    for variable, figure in plots.plot_parameter_curves(results, out, label).items():
        figures[f"curve_{variable}.png"] = figure
    files.update(figures)
    headers, body = cells(rows, baseline)
    html_path = out / "report.html"
    html_path.write_text(render(experiment, headers, body, figures, baseline))
    files["report.html"] = html_path
    return {"files": {k: str(v) for k, v in files.items()}, "rows": rows}
