"""Result rows: runs grouped by configuration, statistics over seeds, significance against a baseline,
ranking; and their renderings as text (Markdown, CSV, JSON). Used by `compare`, `run` and `report`."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from actlab import jsontext, notation
from actlab.errors import ActlabError
from actlab.report.stats import Estimate, Test, compare_to_baseline
from actlab.train.config import RunConfig
from actlab.train.diagnostics_data import LayerDiagnostics
from actlab.train.metrics import EpochMetrics, RunResult, Status, Summary, threshold_key

Label = Callable[[RunConfig], str]
ACCURACY = (0.0, 1.0)


def activation_label(config: RunConfig) -> str:
    return config.activation_label()


# Settings that are definitions, named in a label by a short hash: the activation's (a formula, a Python file's
# hash), the model's source and the data's.
DEFINITIONS = {"definition": "definition", "model_sha256": "model", "data_sha256": "data"}


def configuration_label(swept: Sequence[str]) -> Label:
    """Names a run's configuration by the swept settings other than the seed (the activation by its
    label), e.g. 'relu, lr=0.5'; runs of different definitions (an edited formula, model file or data) get a short
    hash of theirs, e.g. 'atan_sp [definition 3f2a9c01]', so that no row pools them."""
    keys = [k for k in swept if k != "seed"]

    def name(config: RunConfig) -> str:
        with_activation = "activation" in keys or "definition" in keys or not keys
        parts = [config.activation_label()] if with_activation else []
        parts += [
            f"{k}={getattr(config, k)}"
            for k in keys
            if k != "activation" and k not in DEFINITIONS and config.applies(k)
        ]
        hashes = [_short(word, getattr(config, k)) for k, word in DEFINITIONS.items() if k in keys]
        text = ", ".join(parts)
        return f"{text} [{', '.join(h for h in hashes if h)}]" if any(hashes) else text

    return name


def _short(word: str, value: str | None) -> str:
    """``definition 3f2a9c01``: a definition named by the first digits of its hash (a hash is shown as it is)."""
    if not value:
        return ""
    digest = value if all(c in "0123456789abcdef" for c in value) else hashlib.sha256(value.encode()).hexdigest()
    return f"{word} {digest[:8]}"


def swept_settings(results: Sequence[RunResult]) -> list[str]:
    """Settings (other than the seed) that take more than one value across the runs; a setting only some runs have
    (a user activation's ``unchecked``) counts as swept. A user activation's definition goes with its name: it
    counts as swept only where one name has runs of several definitions (a formula edited since)."""
    configs = [r.config.canonical() for r in results]
    keys = dict.fromkeys(k for c in configs for k in c)
    swept = [k for k in keys if k not in ("seed", "definition") and len({json.dumps(c.get(k)) for c in configs}) > 1]
    by_name: dict[str, set[str | None]] = {}
    for config in configs:
        by_name.setdefault(notation.parse(config["activation"])[0], set()).add(config.get("definition"))
    return swept + (["definition"] if any(len(d) > 1 for d in by_name.values()) else [])


def group_by(results: Sequence[RunResult], label: Label | None = None) -> dict[str, list[RunResult]]:
    """Runs grouped by ``label(config)`` (default: the activation), in first-seen order."""
    label = label or activation_label
    groups: dict[str, list[RunResult]] = {}
    for result in results:
        groups.setdefault(label(result.config), []).append(result)
    return groups


class BaselineError(ActlabError, ValueError):
    """A baseline that is not one of the configurations compared."""


@dataclass(frozen=True)
class Row:
    configuration: str
    runs: int
    diverged: int
    final_test_accuracy: Estimate
    best_test_accuracy: Estimate
    final_train_accuracy: Estimate
    epochs_to: dict[str, Estimate]  # over the runs that reached the threshold; n says how many did
    seconds_per_epoch: Estimate
    versus_baseline: Test | None
    rank: int
    metric: str = "accuracy"  # "loss" for regression (loss mse): ranked and tested on the final test loss
    final_test_loss: Estimate | None = None
    best_test_loss: Estimate | None = None
    final_train_loss: Estimate | None = None


def build_rows(results: Sequence[RunResult], label: Label | None = None, baseline: str | None = None) -> list[Row]:
    """One row per configuration, in first-seen order; ranked by mean final test accuracy; with
    ``baseline``, Welch's test of every other configuration against it (Holm-corrected)."""
    groups = group_by(results, label)
    regression = bool(results) and results[0].config.regression
    final = "final_test_loss" if regression else "final_test_accuracy"
    finals = {name: [getattr(r.summary, final) for r in runs] for name, runs in groups.items()}
    tests: dict[str, Test] = {}
    if baseline is not None:
        if baseline not in groups:
            raise BaselineError(
                f"baseline {baseline!r} is not a configuration of this experiment; configurations: {', '.join(groups)}"
            )
        tests = compare_to_baseline({k: [v for v in vals if v is not None] for k, vals in finals.items()}, baseline)
    means = {name: Estimate.of(vals).mean for name, vals in finals.items()}
    sign = 1 if regression else -1  # the least loss, or the most accuracy, first
    order = sorted(groups, key=lambda name: sign * means[name] if means[name] is not None else math.inf)
    losses = (0.0, math.inf)
    rows = []
    for name, runs in groups.items():
        summaries = [r.summary for r in runs]
        rows.append(
            Row(
                configuration=name,
                runs=len(runs),
                diverged=sum(s.status == Status.DIVERGED for s in summaries),
                final_test_accuracy=Estimate.of([s.final_test_accuracy for s in summaries], bounds=ACCURACY),
                best_test_accuracy=Estimate.of([s.best_test_accuracy for s in summaries], bounds=ACCURACY),
                final_train_accuracy=Estimate.of([s.final_train_accuracy for s in summaries], bounds=ACCURACY),
                epochs_to={
                    threshold_key(t): Estimate.of(
                        [s.epochs_to[threshold_key(t)] for s in summaries], bounds=(1, runs[0].config.epochs)
                    )
                    for t in (() if regression else runs[0].config.thresholds)
                },
                seconds_per_epoch=Estimate.of([s.seconds_per_epoch for s in summaries], bounds=(0.0, math.inf)),
                versus_baseline=tests.get(name),
                rank=order.index(name) + 1,
                metric="loss" if regression else "accuracy",
                final_test_loss=Estimate.of([s.final_test_loss for s in summaries], bounds=losses),
                best_test_loss=Estimate.of([s.best_test_loss for s in summaries], bounds=losses),
                final_train_loss=Estimate.of([s.final_train_loss for s in summaries], bounds=losses),
            )
        )
    return rows


def _spread(std: float | None, n: int, digits: str) -> str:
    """``± std``; from one run there is no spread to show (a std of 0 would claim one)."""
    return "± —" if n < 2 or std is None else f"± {std:{digits}}"


def percent(e: Estimate) -> str:
    return (
        "—" if e.mean is None else f"{100 * e.mean:.2f} {_spread(None if e.std is None else 100 * e.std, e.n, '.2f')}"
    )


def epochs(e: Estimate, runs: int) -> str:
    return f"never (0/{runs})" if e.mean is None else f"{e.mean:.1f} ({e.n}/{runs})"


def _interval(e: Estimate) -> str:
    """The interval in percent; from fewer than 3 runs flagged with how many (it is very wide)."""
    if e.ci_low is None:
        return "—"
    return f"[{100 * e.ci_low:.2f}, {100 * e.ci_high:.2f}]" + (f" (n={e.n})" if e.few else "")


def loss_text(e: Estimate | None) -> str:
    return "—" if e is None or e.mean is None else f"{e.mean:.4g} {_spread(e.std, e.n, '.2g')}"


def _loss_interval(e: Estimate | None) -> str:
    if e is None or e.ci_low is None:
        return "—"
    return f"[{e.ci_low:.4g}, {e.ci_high:.4g}]" + (f" (n={e.n})" if e.few else "")


def _p(test: Test | None) -> str:
    if test is None or test.p_holm is None:
        return "—"
    return f"{test.p_holm:.3g}" + (" *" if test.p_holm < 0.05 else "")


def cells(rows: Sequence[Row], baseline: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Column headers and formatted cells in rank order, shared by every text rendering."""
    thresholds = list(rows[0].epochs_to) if rows else []
    regression = bool(rows) and rows[0].metric == "loss"
    if regression:
        headers = ["rank", "configuration", "runs", "final test loss", "95% CI", "best test loss", "final train loss"]
    else:
        headers = [
            "rank",
            "configuration",
            "runs",
            "final test acc %",
            "95% CI",
            "best test acc %",
            "final train acc %",
        ]
    headers += [f"epochs to {100 * float(t):g}%" for t in thresholds] + ["s/epoch", "diverged"]
    if baseline:
        headers.append(f"p vs {baseline} (Welch, Holm)")
    body = []
    for row in sorted(rows, key=lambda r: r.rank):
        line = [str(row.rank), row.configuration, str(row.runs)]
        if regression:
            line += [
                loss_text(row.final_test_loss),
                _loss_interval(row.final_test_loss),
                loss_text(row.best_test_loss),
                loss_text(row.final_train_loss),
            ]
        else:
            line += [
                percent(row.final_test_accuracy),
                _interval(row.final_test_accuracy),
                percent(row.best_test_accuracy),
                percent(row.final_train_accuracy),
            ]
        line += [epochs(row.epochs_to[t], row.runs) for t in thresholds]
        spe = row.seconds_per_epoch.mean
        line += ["—" if spe is None else f"{spe:.3f}", f"{row.diverged}/{row.runs}"]
        if baseline:
            line.append("baseline" if row.configuration == baseline else _p(row.versus_baseline))
        body.append(line)
    return headers, body


def markdown_text(text: str, cell: bool = False) -> str:
    """``text`` (names, descriptions: data) shown literally in Markdown, on one line: HTML's special characters
    as entities, Markdown's markup backslash-escaped — in a table ``cell`` only the characters that would end it
    or start HTML."""
    text = " ".join(str(text).split())
    text = re.sub(r"([\\|])" if cell else r"([\\`*_{}\[\]()#+!|~])", r"\\\1", text)
    return html.escape(text, quote=False)


def markdown(rows: Sequence[Row], baseline: str | None = None) -> str:
    headers, body = cells(rows, baseline)
    return (
        "\n".join(
            ["| " + " | ".join(markdown_text(h, cell=True) for h in headers) + " |", "|" + "---|" * len(headers)]
            + ["| " + " | ".join(markdown_text(c, cell=True) for c in line) + " |" for line in body]
        )
        + "\n"
    )


def csv_text(rows: Sequence[Row]) -> str:
    """Unformatted numbers (accuracies as fractions; for regression, ``metric`` loss, the test and train losses), one
    row per configuration."""
    out = io.StringIO()
    writer = csv.writer(out)
    thresholds = list(rows[0].epochs_to) if rows else []
    writer.writerow(
        [
            "configuration",
            "metric",
            "rank",
            "runs",
            "diverged",
            "final_test_mean",
            "final_test_std",
            "final_test_ci_low",
            "final_test_ci_high",
            "best_test_mean",
            "best_test_std",
            "final_train_mean",
            "final_train_std",
            "seconds_per_epoch",
        ]
        + [f"epochs_to_{t}_mean" for t in thresholds]
        + [f"epochs_to_{t}_reached" for t in thresholds]
        + ["t_vs_baseline", "p_vs_baseline", "p_holm"]
    )
    for row in rows:
        test = row.versus_baseline or Test(None, None, None)
        regression = row.metric == "loss"
        e = row.final_test_loss if regression else row.final_test_accuracy
        best = row.best_test_loss if regression else row.best_test_accuracy
        train = row.final_train_loss if regression else row.final_train_accuracy
        values = [
            row.configuration,
            row.metric,
            row.rank,
            row.runs,
            row.diverged,
            e.mean,
            e.std,
            e.ci_low,
            e.ci_high,
            best.mean,
            best.std,
            train.mean,
            train.std,
            row.seconds_per_epoch.mean,
        ]
        values += [row.epochs_to[t].mean for t in thresholds] + [row.epochs_to[t].n for t in thresholds]
        values += [test.statistic, test.p_value, test.p_holm]
        writer.writerow(["" if v is None else v for v in values])
    return out.getvalue()


def results_json(rows: Sequence[Row], results: Sequence[RunResult]) -> str:
    """Rows and every run (configuration, history, summary): enough to rebuild any table later."""
    return jsontext.dumps({"comparison": [asdict(r) for r in rows], "runs": [r.to_dict() for r in results]})


def load_runs(payload: dict[str, Any]) -> list[RunResult]:
    """The runs of a :func:`results_json` document."""
    runs = []
    for run in payload["runs"]:
        history = [EpochMetrics(**{k: (math.nan if v is None else v) for k, v in h.items()}) for h in run["history"]]
        diagnostics = [[LayerDiagnostics.from_dict(d) for d in layers] for layers in run.get("diagnostics", [])]
        config, summary = RunConfig.stored(run["config"]), Summary(**run["summary"])
        runs.append(RunResult(config, history, summary, diagnostics=diagnostics))
    return runs
