"""A self-contained HTML report: the table and the figures (embedded as base64 PNG). Every string that
comes from the user (experiment and configuration names, activation parameters) is escaped."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th { background: #f3f3f3; } td:nth-child(2) { text-align: left; font-family: monospace; }
figure { display: inline-block; margin: 1rem 1rem 0 0; } img { max-width: 640px; }
figure.lead { display: block; } figure.lead img { max-width: 100%; }
"""


def _figure(name: str, path: Path, css: str = "") -> str:
    """One figure, embedded as base64 PNG, captioned with its file name."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    kind = f' class="{css}"' if css else ""
    return (
        f'<figure{kind}><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
    )


def render(
    experiment: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    figures: Mapping[str, Path],
    baseline: str | None,
    description: str = "",
    notes: Sequence[str] = (),
    lead: str | None = None,
) -> str:
    """The page: title, description, notes, the ``lead`` figure (the summary: the answer at a glance) before the
    table, then the table and the other figures."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    first = _figure(lead, figures[lead], "lead") if lead in figures else ""
    images = "".join(_figure(name, path) for name, path in figures.items() if name != lead)
    note = (
        f"<p>p: Welch's t-test of final test accuracy against <code>{esc(baseline)}</code>, Holm-adjusted; "
        "* marks p &lt; 0.05.</p>"
        if baseline
        else ""
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(experiment)} — actlab report</title>'
        f"<style>{STYLE}</style></head><body><h1>{esc(experiment)}</h1>"
        + (f"<p>{esc(description)}</p>" if description else "")
        + "".join(f'<p class="note"><strong>{esc(n)}</strong></p>' for n in notes)
        + first
        + "<p>Mean ± standard deviation over seeds; 95% confidence interval of the mean from Student's t, clipped "
        "to [0, 100] %; (n=2) marks an interval from fewer than three runs.</p>"
        + note
        + f'<table id="results"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        f"<h2>Figures</h2>{images}</body></html>\n"
    )
