"""Tables in the terminal, built in one place for every command.

On a terminal a table that does not fit its width shows only its key columns, under compact two-line headers,
with every number whole (the configuration column wraps instead); ``wide`` shows every column. When standard
output is not a terminal (a pipe, a file) the full table is printed as plain text at its natural width, never
truncated. The files a command writes (CSV, Markdown, JSON) always hold every column.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

# compact headers: the same words in two lines, so that the numbers set each column's width
COMPACT = {
    "final test acc %": "final test\nacc %",
    "best test acc %": "best test\nacc %",
    "final train acc %": "final train\nacc %",
    "train acc %": "train\nacc %",
    "test acc %": "test\nacc %",
    "train loss": "train\nloss",
    "test loss": "test\nloss",
    "configuration": "configuration",
}
UNLIMITED = 100_000


def _compact(header: str) -> str:
    if header in COMPACT:
        return COMPACT[header]
    if header.startswith("epochs to "):
        return "epochs\n" + header.removeprefix("epochs ")
    if header.startswith("p vs "):
        return "p vs\n" + header.removeprefix("p vs ").split(" (")[0]
    return header


BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (ANSI escapes, newlines, carriage returns, …) and the
    bidirectional overrides that reorder what is shown are written as escapes (``\\x1b``, ``\\n``, ``\\u202e``); names
    read from a store or a file are data, never commands to the terminal."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) == "Cc" or ch in BIDI else ch
        for ch in text
    )


TEXT_MIN_WIDTH = 24  # a text column wraps between words, and folds only words longer than this


def build(
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    text_columns: Sequence[int] = (1,),
    compact: bool = False,
) -> Table:
    """A rich table; ``text_columns`` are left-aligned and may wrap, the others are numbers kept whole."""
    headers = [printable(h) for h in headers]
    rows = [[printable(cell) for cell in row] for row in rows]
    shown_title = None if title is None else Text(printable(title))
    table = Table(title=shown_title, box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD, title_justify="left")
    for i, header in enumerate(headers):
        text = i in text_columns
        words = [len(word) for row in rows for word in row[i].split()] + [len(w) for w in header.split()]
        table.add_column(
            Text(_compact(header) if compact else header),
            justify="left" if text else "right",
            overflow="fold" if text else "ignore",
            no_wrap=not text,
            min_width=min(max(words, default=1), TEXT_MIN_WIDTH) if text else None,
        )
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # as text: "[red]" in a name is not markup
    return table


def minimum_width(
    headers: Sequence[str], rows: Sequence[Sequence[str]], text_columns: Sequence[int] = (1,), compact: bool = False
) -> int:
    """The narrowest :func:`build` can print: numbers and their header lines whole, text wrapped between words
    (and words folded beyond ``TEXT_MIN_WIDTH``); one character of padding each side, one per separator."""
    widths = []
    for i, header in enumerate(headers):
        lines = (_compact(header) if compact else header).split("\n")
        cells = [row[i] for row in rows]
        if i in text_columns:
            words = [cell_len(w) for text in [*cells, *lines] for w in text.split()]
            widths.append(min(max(words, default=1), TEXT_MIN_WIDTH))
        else:
            widths.append(max(cell_len(text) for text in [*cells, *lines]))
    return sum(w + 2 for w in widths) + len(widths) + 1


def print_table(
    console: Console,
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    key_columns: Sequence[str] | None = None,
    wide: bool = False,
    text_columns: Sequence[int] = (1,),
) -> None:
    """Print the table so that it can be read: see the module docstring. ``key_columns`` (header names, most
    important first) are those kept when every column does not fit the terminal (default: all)."""
    headers = [printable(h) for h in headers]
    rows = [[printable(cell) for cell in row] for row in rows]
    full = build(title, headers, rows, text_columns)
    natural = Console(width=UNLIMITED).measure(full).maximum
    if not console.is_terminal:
        plain = Console(file=io.StringIO(), width=natural, no_color=True, highlight=False)
        plain.print(full)
        console.file.write("\n".join(line.rstrip() for line in plain.file.getvalue().splitlines()) + "\n")
        return
    if wide and natural > console.width:
        Console(
            file=console.file, width=natural, force_terminal=True, color_system=console.color_system, highlight=False
        ).print(full)
        return
    if wide or key_columns is None or minimum_width(headers, rows, text_columns) <= console.width:
        console.print(full)
        return
    # every column under compact headers; else the key columns, the least important going while they do not fit
    priority = list(headers)
    while True:
        keep = [i for i, header in enumerate(headers) if header in priority]
        shown_text = [keep.index(i) for i in text_columns if i in keep]
        shown_headers, shown_rows = [headers[i] for i in keep], [[row[i] for i in keep] for row in rows]
        if minimum_width(shown_headers, shown_rows, shown_text, compact=True) <= console.width or len(priority) <= 3:
            break
        priority = (
            [c for c in key_columns if c in headers][: len(priority) - 1]
            if len(priority) > len(key_columns)
            else priority[:-1]
        )
    console.print(build(title, shown_headers, shown_rows, shown_text, compact=True))
    if len(keep) < len(headers):
        console.print(
            f"{len(headers) - len(keep)} more columns: --wide shows them (the written CSV, Markdown and JSON "
            "hold every column)",
            style="dim",
            highlight=False,
            markup=False,
        )


def comparison_key_columns(headers: Sequence[str]) -> list[str]:
    """The key numbers of a comparison, most important first: configuration, final test accuracy (mean ± std), the
    p-value against the baseline when there is one, best, epochs to the middle threshold, seconds per epoch."""
    thresholds = [h for h in headers if h.startswith("epochs to ")]
    middle = [thresholds[len(thresholds) // 2]] if thresholds else []
    p_value = [h for h in headers if h.startswith("p vs ")]
    final, best = (
        ("final test loss", "best test loss")
        if "final test loss" in headers
        else ("final test acc %", "best test acc %")
    )
    return ["configuration", final, "rank", *p_value, best, *middle, "s/epoch"]


def print_comparison(console: Console, rows: Sequence, baseline: str | None, wide: bool, title: str | None) -> None:
    """The comparison table of result rows (:func:`actlab.report.tables.cells`), key columns first."""
    from actlab.report.tables import cells

    headers, body = cells(rows, baseline)
    print_table(console, title, headers, body, comparison_key_columns(headers), wide)
