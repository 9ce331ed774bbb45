"""The ``actlab`` command line. Every command takes ``--json`` for machine-readable output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

import actlab
from actlab.catalog.parse import parse_activation
from actlab.catalog.spec import ActivationError

app = typer.Typer(help="actlab — the activation-function laboratory.", no_args_is_help=True, add_completion=False)
console = Console()
errors = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
SAMPLE_PLOT = ["relu", "leaky_relu:negative_slope=0.1", "elu", "gelu", "silu", "mish", "tanhexp", "hard_swish", "softplus"]


def fail(message: str) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command("list")
def list_command(json_output: JsonFlag = False,
                 family: Annotated[str | None, typer.Option(help="Only this family.")] = None) -> None:
    """Every activation with aliases, parameters and defaults, and properties."""
    from actlab.report.catalog_doc import format_range, format_value, spec_record

    specs = [actlab.spec(n) for n in actlab.names()]
    if family:
        specs = [s for s in specs if s.family == family]
        if not specs:
            fail(f"no family {family!r}; families: {', '.join(sorted({actlab.spec(n).family for n in actlab.names()}))}")
    if json_output:
        emit_json([spec_record(s) for s in specs])
        return
    table = Table(title=f"{len(specs)} activations", show_lines=False)
    for column in ("name", "family", "parameters", "range", "properties", "also known as"):
        table.add_column(column, overflow="fold")
    for s in specs:
        p = s.properties
        flags = [f for f, on in (("monotonic", p.monotonic), ("smooth", p.smooth), ("zero-centred", p.zero_centred),
                                 ("stochastic", p.stochastic), ("learnable", bool(s.learnable_params))) if on]
        params = ", ".join(f"{q.name}={format_value(q.default)}" for q in s.params) or "—"
        table.add_row(s.name, s.family, params, format_range(*p.range), ", ".join(flags), ", ".join(s.all_aliases()[:6]))
    console.print(table)


@app.command()
def show(name: Annotated[str, typer.Argument(help="Activation name or alias.")], json_output: JsonFlag = False) -> None:
    """Formula, derivative, parameters, properties and reference of one activation."""
    from actlab.report.catalog_doc import LIBRARIES, format_range, format_value, spec_record

    try:
        spec = actlab.spec(name)
    except ActivationError as error:
        fail(str(error))
    if json_output:
        emit_json(spec_record(spec))
        return
    p = spec.properties
    console.print(f"[bold]{spec.name}[/] ({spec.family}) — {spec.summary}", highlight=False)
    console.print(f"  f(x):   {spec.formula}", highlight=False, markup=False)
    console.print(f"  f'(x):  {spec.derivative_formula}", highlight=False, markup=False)
    if spec.params:
        console.print("  parameters:")
        for q in spec.params:
            learn = " [learnable]" if q.name in spec.learnable_params else ""
            console.print(f"    {q.name} = {format_value(q.default)}  {q.doc}{learn}", highlight=False, markup=False)
    flags = ", ".join(f"{k}={v}" for k, v in (("monotonic", p.monotonic), ("smooth", p.smooth),
                                               ("zero_centred", p.zero_centred), ("stochastic", p.stochastic)))
    console.print(f"  range {format_range(*p.range)}; {flags}", highlight=False)
    if p.kinks:
        console.print(f"  kinks at x = {', '.join(f'{k:g}' for k in p.kinks)}", highlight=False)
    for lib, names in spec.aliases.items():
        console.print(f"  {LIBRARIES.get(lib, lib)}: {', '.join(names)}", highlight=False, markup=False)
    if spec.notes:
        console.print(f"  note: {spec.notes}", highlight=False, markup=False)
    console.print(f"  reference: {spec.reference.cite()} {spec.reference.link() or ''}", highlight=False, markup=False)


@app.command()
def plot(
    activations: Annotated[list[str], typer.Argument(help="NAME or NAME:param=value[:param=value…], one or more.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG file to write.")] = Path("activations.png"),
    derivative: Annotated[bool, typer.Option("--derivative", help="Add a panel with the derivatives.")] = False,
    x_range: Annotated[tuple[float, float], typer.Option("--range", help="x interval LO HI.")] = (-5.0, 5.0),
    points: Annotated[int, typer.Option(help="Grid points.", min=2, max=1_000_000)] = 1001,
    json_output: JsonFlag = False,
) -> None:
    """Draw activations (and their derivatives) on one figure."""
    from actlab.catalog.parse import label
    from actlab.report.plots import plot_activations

    lo, hi = x_range
    if not lo < hi:
        fail(f"--range needs LO < HI, got {lo:g} {hi:g}")
    if output.suffix.lower() != ".png":
        fail(f"the output must be a .png file, got {output}")
    try:
        acts = [parse_activation(text) for text in activations]
    except ActivationError as error:
        fail(str(error))
    path = plot_activations(acts, output, lo, hi, derivative=derivative, points=points)
    if json_output:
        emit_json({"path": str(path), "activations": [label(a) for a in acts], "range": [lo, hi], "derivative": derivative})
    else:
        console.print(f"wrote {path}", highlight=False)


@app.command()
def docs(
    root: Annotated[Path, typer.Option(help="Project root holding README.md and docs/.")] = Path("."),
    check: Annotated[bool, typer.Option("--check", help="Only verify the generated docs are up to date.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Regenerate docs/catalog.md, the README's catalog table and the README's sample plot."""
    from actlab.report.catalog_doc import catalog_markdown, with_readme_table
    from actlab.report.plots import plot_activations

    readme_path, catalog_path = root / "README.md", root / "docs" / "catalog.md"
    if not readme_path.exists():
        fail(f"no README.md in {root.resolve()} (pass --root)")
    try:
        readme = with_readme_table(readme_path.read_text())
    except ValueError as error:
        fail(str(error))
    catalog = catalog_markdown()
    stale = [str(p) for p, text in ((readme_path, readme), (catalog_path, catalog))
             if not p.exists() or p.read_text() != text]
    if check:
        if json_output:
            emit_json({"up_to_date": not stale, "stale": stale})
        if stale:
            if not json_output:
                errors.print(f"out of date: {', '.join(stale)} (run `actlab docs`)", highlight=False)
            raise typer.Exit(1)
        if not json_output:
            console.print("docs are up to date")
        return
    catalog_path.parent.mkdir(parents=True, exist_ok=True)
    catalog_path.write_text(catalog)
    readme_path.write_text(readme)
    image = plot_activations([parse_activation(t) for t in SAMPLE_PLOT], root / "docs" / "activations.png",
                             -4.0, 4.0, derivative=True)
    written = [str(catalog_path), str(readme_path), str(image)]
    if json_output:
        emit_json({"written": written})
    else:
        console.print(f"wrote {', '.join(written)}", highlight=False)


if __name__ == "__main__":
    app()
