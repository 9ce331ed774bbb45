"""The site's pages as HTML text: the index, a leaderboard shell per task (its rows come from a small data file), a
page per activation and per family. Every name, formula and setting is data read from records (a store may hold
hostile names): it is escaped here, and file names are made safe by :func:`page_name`."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from importlib import resources
from string import Template
from typing import Any

from actlab.report.experiment_report import safe_folder_name

esc = html.escape
SIGNIFICANCE = 0.05


def template(name: str) -> str:
    return resources.files("actlab.report.site").joinpath("templates", name).read_text(encoding="utf-8")


def page(title: str, body: str, root: str = "") -> str:
    """A whole page: ``root`` leads from the page's folder back to the site's (``""`` or ``"../"``)."""
    return Template(template("page.html")).substitute(title=esc(title), body=body, root=root)


def page_name(name: str) -> str:
    """A file name (without suffix) for ``name`` that never leaves its folder and needs no escaping in a URL."""
    return safe_folder_name(name).replace("%", "_")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def _loss(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def is_loss(record: dict[str, Any]) -> bool:
    """Whether the record's task is a regression, ranked and tested on the final test loss (else on accuracy)."""
    return record["task"]["metric"] == "loss"


def _interval(e: dict[str, Any], show=_pct) -> str:
    return "—" if e["ci_low"] is None else f"[{show(e['ci_low'])}, {show(e['ci_high'])}]"


def significance(test: dict[str, Any] | None, loss: bool = False) -> str | None:
    """Better or worse than relu where Holm's adjusted p is below 0.05, else None. Welch's statistic is of the
    activation minus relu: more accuracy is better, more loss is worse."""
    if not test or test["p_holm"] is None or test["p_holm"] >= SIGNIFICANCE or test["statistic"] is None:
        return None
    return "better" if (test["statistic"] > 0) != loss else "worse"


def _bounded(properties: dict[str, Any] | None) -> bool | None:
    return None if properties is None else properties["bounded_below"] and properties["bounded_above"]


def leaderboard_row(record: dict[str, Any]) -> dict[str, Any]:
    """What the leaderboard script shows and sorts of one record."""
    a, s = record["activation"], record["summary"]
    props = a["properties"]
    loss = is_loss(record)
    final = s["final_test_loss"] if loss else s["final_test_accuracy"]
    best = s["best_test_loss"] if loss else s["best_test_accuracy"]
    return {
        "name": a["name"],
        "label": a["label"],
        "href": f"act/{page_name(a['name'])}.html",
        "family": a["family"],
        "class": a["class"],
        "rank": s["rank"],
        "monotonic": None if props is None else props["monotonic"],
        "smooth": None if props is None else props["smooth"],
        "bounded": _bounded(props),
        "final": final["mean"],
        "std": final["std"],
        "ci_low": final["ci_low"],
        "ci_high": final["ci_high"],
        "best": best["mean"],
        "runs": s["runs"],
        "diverged": s["diverged"],
        "spe_relu": s["seconds_per_epoch_vs_relu"],
        "p_holm": (s["versus_relu"] or {}).get("p_holm"),
        "significance": significance(s["versus_relu"], loss),
    }


def task_data(task: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    """The task's data file: a script that sets ``window.ACTLAB_TASK`` (a script, not JSON, so that it loads from
    file://); ``<``, ``>`` and ``&`` are escaped so that no text in it can close or open markup."""
    data = {"task": task, "percent": task["metric"] == "accuracy", "rows": [leaderboard_row(r) for r in records]}
    text = json.dumps(data, ensure_ascii=True, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.ACTLAB_TASK = {text};\n"


LEADERBOARD_COLUMNS = (
    ("rank", "rank"),
    ("label", "activation"),
    ("family", "family"),
    ("class", "class"),
    ("final", "final test acc % (± std)"),
    ("ci_low", "95% CI"),
    ("best", "best test acc %"),
    ("runs", "runs"),
    ("spe_relu", "s/epoch ÷ relu"),
    ("p_holm", "p vs relu (Welch, Holm)"),
)


def _select(name: str, label: str, options: Sequence[tuple[str, str]] = ()) -> str:
    choices = "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in options)
    return f'<label>{esc(label)} <select id="{name}"><option value="">any</option>{choices}</select></label>'


def task_page(task: dict[str, Any]) -> str:
    """The leaderboard's shell: filters, an empty table and the scripts that fill it."""
    yes_no = (("true", "yes"), ("false", "no"))
    filters = (
        _select("family", "family")
        + _select("class", "class")
        + "".join(_select(p, p, yes_no) for p in ("monotonic", "smooth", "bounded"))
    )
    renamed = {"final": "final test loss (± std)", "best": "best test loss"} if task["metric"] == "loss" else {}
    heads = "".join(
        f'<th data-key="{key}" class="{"name" if key in ("label", "family", "class") else ""}">'
        f'<button type="button">{esc(renamed.get(key, text))}</button></th>'
        for key, text in LEADERBOARD_COLUMNS
    )
    settings = "".join(
        f"<tr><td class=name>{esc(k)}</td><td class=name>{esc(json.dumps(v))}</td></tr>"
        for k, v in task["settings"].items()
    )
    body = (
        f"<p>Experiment <code>{esc(task['experiment'])}</code>. Mean ± std over seeds, 95% CI of the mean "
        f"(Student's t); ranked by the final test {task['metric']}; ▲/▼: better/worse than relu at p &lt; 0.05 "
        "(Welch's t-test, Holm-adjusted over the task).</p>"
        f'<div class="filters">{filters}</div><p id="count"></p>'
        f'<table id="board"><thead><tr>{heads}</tr></thead><tbody></tbody></table>'
        '<div class="pager"><button id="prev" type="button">previous</button> <span id="page"></span> '
        '<button id="next" type="button">next</button></div>'
        f"<h2>Settings</h2><table>{settings}</table>"
        f'<script src="data/task-{task["id"]}.js"></script><script src="assets/leaderboard.js"></script>'
    )
    return page(task["label"], body)


def index_page(tasks: Sequence[dict[str, Any]], families: Sequence[str], activations: Sequence[dict[str, Any]]) -> str:
    """Links to every leaderboard, family and activation (``activations``: their records' ``activation`` fields)."""
    task_links = "".join(
        f'<li><a href="task-{t["id"]}.html">{esc(t["label"])}</a> (<code>{esc(t["experiment"])}</code>)</li>'
        for t in tasks
    )
    family_links = "".join(f'<li><a href="family/{page_name(f)}.html">{esc(f)}</a></li>' for f in families)
    act_links = ", ".join(f'<a href="act/{page_name(a["name"])}.html">{esc(a["label"])}</a>' for a in activations)
    body = (
        f"<h2>Leaderboards</h2><ul>{task_links}</ul><h2>Families</h2><ul>{family_links}</ul>"
        f"<h2>Activations</h2><p>{act_links}</p>"
        '<p>Data: <a href="records.json">records.json</a>, <a href="records.csv">records.csv</a> '
        "(schema: docs/records.md).</p>"
    )
    return page("actlab results", body)


def family_page(family: str, activations: Sequence[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a href="../act/{page_name(a["name"])}.html">{esc(a["label"])}</a> — {esc(a["summary"] or "")}</li>'
        for a in activations
    )
    return page(f"family: {family}", f"<ul>{items}</ul>", root="../")
