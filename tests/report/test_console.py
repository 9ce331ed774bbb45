"""Terminal tables: the key numbers whole at 80 columns, everything at 200 or with --wide, plain text in pipes."""

import io

import pytest
from rich.console import Console

from actlab.report.console import comparison_key_columns, print_table

HEADERS = [
    "rank",
    "configuration",
    "runs",
    "final test acc %",
    "95% CI",
    "best test acc %",
    "final train acc %",
    "epochs to 95%",
    "epochs to 97%",
    "epochs to 98%",
    "s/epoch",
    "diverged",
    "p vs relu (Welch, Holm)",
]
ROWS = [
    [
        "1",
        "hard_swish(n=4), lr=0.5, model=mlp:200,100",
        "5",
        "97.94 ± 0.11",
        "[97.80, 98.08]",
        "98.01 ± 0.09",
        "99.12 ± 0.05",
        "4.2 (5/5)",
        "12.6 (5/5)",
        "never (0/5)",
        "0.512",
        "0/5",
        "0.0312 *",
    ],
    [
        "2",
        "relu",
        "5",
        "97.71 ± 0.14",
        "[97.54, 97.88]",
        "97.80 ± 0.10",
        "98.90 ± 0.07",
        "5.0 (5/5)",
        "15.2 (5/5)",
        "never (0/5)",
        "0.498",
        "0/5",
        "baseline",
    ],
]


def render(width: int, terminal: bool = True, wide: bool = False, headers=HEADERS, rows=ROWS) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
    print_table(console, "a comparison", headers, rows, comparison_key_columns(headers), wide)
    return out.getvalue()


def test_80_columns_show_the_key_numbers_of_a_comparison_whole():
    """`compare`'s table (no baseline): configuration, final and best accuracy, epochs to 97 %, s/epoch."""
    headers, rows = HEADERS[:-1], [["1", "mish", *ROWS[0][2:-1]], ROWS[1][:-1]]
    text = render(80, headers=headers, rows=rows)
    assert max(len(line) for line in text.splitlines()) <= 80
    for cell in ("mish", "97.94 ± 0.11", "98.01 ± 0.09", "12.6 (5/5)", "0.512", "97.71 ± 0.14", "15.2 (5/5)", "0.498"):
        assert cell in text, cell
    assert "…" not in text and "99.12" not in text and "--wide shows them" in text


def test_80_columns_keep_the_most_important_numbers_when_not_all_fit():
    """A long configuration and a p-value column: the least important key columns go, nothing is cut."""
    text = render(80)
    assert max(len(line) for line in text.splitlines()) <= 80
    for cell in ("97.94 ± 0.11", "0.0312 *", "97.71 ± 0.14", "baseline", "hard_swish(n=4),", "model=mlp:200,100"):
        assert cell in text, cell
    assert "…" not in text and "--wide shows them" in text


@pytest.mark.parametrize("args", [dict(width=200), dict(width=80, wide=True), dict(width=80, terminal=False)])
def test_every_column_when_it_fits_is_asked_for_or_is_piped(args):
    text = render(**args)
    for row in ROWS:
        for cell in row:
            assert cell in text, (args, cell)
    assert "…" not in text and "--wide" not in text
    if args["width"] == 200:
        assert max(len(line) for line in text.splitlines()) <= 200
    if not args.get("terminal", True):
        assert "\x1b[" not in text and all(line == line.rstrip() for line in text.splitlines())


def test_key_columns_follow_the_thresholds_and_the_baseline():
    assert comparison_key_columns(HEADERS) == [
        "configuration",
        "final test acc %",
        "rank",
        "p vs relu (Welch, Holm)",
        "best test acc %",
        "epochs to 97%",
        "s/epoch",
    ]
    assert comparison_key_columns(["rank", "configuration", "epochs to 90%", "s/epoch"])[3:5] == [
        "best test acc %",
        "epochs to 90%",
    ]


@pytest.mark.parametrize("terminal", [True, False])
def test_names_with_escapes_newlines_and_markup_are_printed_escaped(terminal):
    """A name read from a store is data: an ANSI escape, a newline, a bidirectional override or rich markup in it
    reaches the terminal written out, never acted on."""
    hostile = "evil\x1b[31mred\x1b[0m\nsecond line\r\u202eright-to-left [bold]x[/bold]"
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=terminal, color_system=None)
    print_table(console, f"title {hostile}", ["rank", "configuration"], [["1", hostile]])
    text = out.getvalue()
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert text.count("\\x1b[31m") == 2 and "\\n" in text and "\\r" in text and "\\u202e" in text
    assert "[bold]x[/bold]" in text
    assert all("second line" not in line or "\\n" in line for line in text.splitlines())


def test_printable_keeps_ordinary_text():
    from actlab.report.console import printable

    assert printable("hard_swish(n=4), lr=0.5 — ± 漢字") == "hard_swish(n=4), lr=0.5 — ± 漢字"
