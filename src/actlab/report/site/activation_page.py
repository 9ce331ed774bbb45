"""One activation's page: formula and derivative, the plot of f and f′ beside relu and gelu, properties, reference,
aliases, and its results on every task with intervals, significance, diagnostics, speed and the command that
reproduces them. Everything from the records is escaped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from actlab.report.site.pages import _interval, _loss, _pct, esc, is_loss, page, page_name, significance


def _formula(a: dict[str, Any]) -> str:
    rows = []
    for key, title in (("formula", "f"), ("derivative", "f′")):
        f = a[key]
        if f["latex"]:
            rows.append(f"<dt>{title} (LaTeX)</dt><dd><code>{esc(f['latex'])}</code></dd>")
        if f["text"]:
            rows.append(f"<dt>{title}</dt><dd><code>{esc(f['text'])}</code></dd>")
    return f"<dl>{''.join(rows)}</dl>" if rows else "<p>No formula: this activation is not in this catalog.</p>"


def _properties(a: dict[str, Any]) -> str:
    props = a["properties"]
    if props is None:
        return ""
    low, high = props["range"]
    shown = {
        "family": a["family"],
        "class": a["class"],
        "parameters": json.dumps(a["params"]),
        "range": f"{'-∞' if low is None else f'{low:.4g}'} … {'∞' if high is None else f'{high:.4g}'}",
        **{k: "yes" if props[k] else "no" for k in ("monotonic", "smooth", "zero_centred", "stochastic")},
    }
    rows = "".join(f"<tr><td class=name>{esc(k)}</td><td class=name>{esc(str(v))}</td></tr>" for k, v in shown.items())
    return f"<h2>Properties</h2><table>{rows}</table>"


def _reference(a: dict[str, Any]) -> str:
    ref = a["reference"]
    parts = []
    if ref:
        link = ref["url"] if ref["url"] and ref["url"].startswith(("https://", "http://")) else None
        cite = esc(ref["citation"])
        anchor = f' <a href="{esc(link)}">{esc(link)}</a>' if link else ""
        parts.append(f"<h2>Reference</h2><p>{cite}{anchor}</p>")
    if a["aliases"]:
        items = "".join(f"<li>{esc(lib)}: {esc(', '.join(names))}</li>" for lib, names in a["aliases"].items())
        parts.append(f"<h2>Aliases</h2><ul>{items}</ul>")
    return "".join(parts)


def _diagnostics(record: dict[str, Any]) -> str:
    d = record["diagnostics"]
    if not d:
        return ""
    rows = "".join(
        f"<tr><td>{layer['layer']}</td><td>{_pct(layer['saturated'])}</td><td>{_pct(layer['dead'])}</td></tr>"
        for layer in d["layers"]
    )
    ratio = d["gradient_ratio_first_last"]
    return (
        "<table><thead><tr><th>layer</th><th>saturated %</th><th>dead %</th></tr></thead>"
        f"<tbody>{rows}</tbody></table><p>Gradient norm, first ÷ last layer: "
        f"{'—' if ratio is None else f'{ratio:.3g}'}</p>"
    )


def _result(record: dict[str, Any]) -> str:
    s, task = record["summary"], record["task"]
    loss = is_loss(record)
    metric, show, unit = ("loss", _loss, "") if loss else ("accuracy", _pct, " %")
    final, best = s[f"final_test_{metric}"], s[f"best_test_{metric}"]
    sig = significance(s["versus_relu"], loss)
    p = (s["versus_relu"] or {}).get("p_holm")
    spe, rel = s["seconds_per_epoch"]["mean"], s["seconds_per_epoch_vs_relu"]
    seeds = ", ".join(show(x[f"final_test_{metric}"]) for x in record["seeds"])
    return (
        f'<h3><a href="../task-{task["id"]}.html">{esc(task["label"])}</a></h3><ul>'
        f"<li>final test {metric} {show(final['mean'])}{unit} ± {show(final['std'])}, 95% CI "
        f"{_interval(final, show)} over {s['runs']} seeds ({s['diverged']} diverged); per seed: {seeds}</li>"
        f"<li>best test {metric} {show(best['mean'])}{unit}; rank {s['rank']}</li>"
        f'<li class="{sig or ""}">versus relu: p = {"—" if p is None else f"{p:.3g}"} (Welch, Holm)'
        f"{' — ' + sig if sig else ''}</li>"
        f"<li>{'—' if spe is None else f'{spe:.3f}'} s per epoch"
        f"{'' if rel is None else f' ({rel:.2f} × relu)'}</li></ul>"
        + _diagnostics(record)
        + f"<pre>{esc(record['command'])}</pre>"
    )


def activation_page(a: dict[str, Any], records: Sequence[dict[str, Any]], plot: str | None) -> str:
    """``plot``: the figure's file name in ../img, or None where there is none."""
    figure = f'<img class="plot" src="../img/{plot}" alt="f and its derivative beside relu and gelu">' if plot else ""
    family = (
        f'<p>Family: <a href="../family/{page_name(a["family"])}.html">{esc(a["family"])}</a></p>'
        if a["family"]
        else ""
    )
    body = (
        (f"<p>{esc(a['summary'])}</p>" if a["summary"] else "")
        + family
        + _formula(a)
        + figure
        + _properties(a)
        + _reference(a)
        + "<h2>Results</h2>"
        + "".join(_result(r) for r in records)
    )
    return page(a["label"], body, root="../")
