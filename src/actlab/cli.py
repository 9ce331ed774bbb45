"""The ``actlab`` command line. Every command takes ``--json`` for machine-readable output."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

import actlab
from actlab.activation import activation as parse_activation
from actlab.catalog.spec import ActivationError
from actlab.choices import BACKENDS, DATASETS, DTYPES, INITS, OPTIMIZERS, PREPROCESSINGS, listing
from actlab.errors import ActlabError
from actlab.train.config import RunConfig

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
progress_console = Console(stderr=True)


class _Commands(TyperGroup):
    """Every command's :class:`ActlabError` becomes one line on stderr and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ActlabError as error:
            fail(str(error))


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"actlab {actlab.__version__}\n")
        raise typer.Exit()


# Help and messages are plain text: no rich markup, so "[quick]" or an activation named "[red]" print as they are.
app = typer.Typer(
    cls=_Commands,
    help="actlab — the activation-function laboratory.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """actlab — the activation-function laboratory."""


JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
WideFlag = Annotated[bool, typer.Option("--wide", help="Show every column of the table, however wide.")]

# Training setup options, shared by `train` and `compare` (defaults: RunConfig's, except compare's schedule and batch
# size: see compare).
Dataset = Annotated[
    str,
    typer.Option(
        help=f"{listing(DATASETS)} (digits is bundled), or your own: npz:PATH (arrays x_train, y_train, x_test, "
        "y_test) or csv:PATH (with --target)."
    ),
]
Target = Annotated[str | None, typer.Option(help="The label column of a csv:PATH dataset.")]
TestFraction = Annotated[
    float | None, typer.Option(help="The test share of a csv:PATH dataset (default 0.2; a fixed, stratified split).")
]
Loss = Annotated[str, typer.Option(help="cross_entropy (classes: accuracy) or mse (regression on your own data).")]
Diagnostics = Annotated[
    bool,
    typer.Option(
        "--diagnostics",
        help="Measure each hidden layer every epoch: saturated and dead units, pre-activation statistics, gradient "
        "and weight norms (stored, in --json and in reports).",
    ),
]
SaturationThreshold = Annotated[
    float, typer.Option(help="With --diagnostics: saturated means |f'(z)| below this fraction of the largest |f'|.")
]
DataDir = Annotated[
    Path | None, typer.Option(help="Where to look for dataset files first (then $ACTLAB_DATA, then the cache).")
]
Preprocessing = Annotated[
    str, typer.Option(help=f"{listing(PREPROCESSINGS)}: minmax scales to [0, 1], none keeps the raw values.")
]
Model = Annotated[
    str,
    typer.Option(
        help="mlp:UNITS,… or cnn:CHANNELS|p|dUNITS,… (e.g. cnn:32,p,64,p), or your own: FILE.py:build or "
        "package.module:build, a build(act) function returning an nn.Module with act() where activations go."
    ),
]
Init = Annotated[str, typer.Option(help=f"auto (the activation's own: He, Glorot or LeCun), {listing(INITS)}.")]
Optimizer = Annotated[str, typer.Option(help=f"{listing(OPTIMIZERS)}.")]
Lr = Annotated[float, typer.Option(help="Learning rate.")]
Momentum = Annotated[float, typer.Option(help="μ for momentum and nesterov.")]
WeightDecay = Annotated[float, typer.Option(help="L2 weight decay λ (added to the gradient).")]
Flooding = Annotated[float | None, typer.Option(help="Flood level b: train on |loss - b| + b.")]
Schedule = Annotated[str, typer.Option(help="constant, cosine or step:EVERY:GAMMA.")]
Epochs = Annotated[int, typer.Option(help="Epochs.")]
BatchSize = Annotated[int, typer.Option(help="Minibatch size.")]
Thresholds = Annotated[str, typer.Option(help="Test accuracies to time, comma-separated.")]
TrainSubset = Annotated[int | None, typer.Option(help="Train on a fixed random subset of this size.")]
TestSubset = Annotated[int | None, typer.Option(help="Test on a fixed random subset of this size.")]
Backend = Annotated[
    str,
    typer.Option(help=f"{listing(BACKENDS)}: torch is fast (many models at once), numpy the from-scratch reference."),
]
Device = Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.")]
Dtype = Annotated[
    str,
    typer.Option(
        help=f"{listing(DTYPES)} (bfloat16: mixed precision, float32 weights and bfloat16 products under autocast)."
    ),
]
Fused = Annotated[
    bool,
    typer.Option(
        "--fused",
        help="Compile activations that have no PyTorch kernel into one fused "
        "kernel each (TorchInductor: seconds per activation to compile; "
        "pays on large tensors and long runs).",
    ),
]
Group = Annotated[
    str,
    typer.Option(
        help="Train together: 'activation' (each activation's seeds; fair timing), 'all' "
        "(everything compatible; fastest) or 'none'."
    ),
]
Workers = Annotated[int, typer.Option(help="Worker processes (threads are split so workers × threads = cores).", min=1)]
Quick = Annotated[bool, typer.Option("--quick", help="Apply the file's [quick] overrides (few epochs, small subsets).")]
Plugins = Annotated[
    list[Path] | None,
    typer.Option(
        "--plugins",
        metavar="FILE",
        help="Load user-defined activations from FILE (TOML of [[activation]] "
        "tables, or Python); repeatable. Also: $ACTLAB_PLUGINS and installed entry points.",
    ),
]
AllowUnchecked = Annotated[
    bool,
    typer.Option(
        "--allow-unchecked",
        help="Train user-defined activations even if they fail `actlab check` (the runs record it).",
    ),
]
RetryFailed = Annotated[bool, typer.Option("--retry-failed", help="Train the experiment's failed runs again.")]
TrustStore = Annotated[
    bool,
    typer.Option(
        "--trust-store",
        help="Run the Python plugin files the store's runs name though they were not given with --plugins (a .py "
        "plugin is code that runs: trust only a store you trust).",
    ),
]
DEFAULT_ACTIVATIONS = "relu,leaky_relu,elu,selu,gelu,silu,mish,tanhexp,hard_swish,softplus,tanh,sigmoid"
# A run's settings that are options of `train` and `compare`: every RunConfig field but those a command sets
# otherwise (activation and seed) or that are set automatically; their defaults are RunConfig's (compare's demo
# changes two, below).
AUTOMATIC = ("activation", "seed", "definition", "unchecked", "model_sha256", "data_sha256")
SETUP = tuple(name for name in RunConfig.model_fields if name not in AUTOMATIC)
DEFAULT = {name: RunConfig.model_fields[name].default for name in SETUP}
DEFAULT["thresholds"] = ",".join(f"{t:g}" for t in DEFAULT["thresholds"])  # the option's text


def _setup(arguments: dict[str, Any]) -> dict[str, Any]:
    """The RunConfig fields among a command's arguments."""
    return {name: arguments[name] for name in SETUP}


SAMPLE_PLOT = [
    "relu",
    "leaky_relu:negative_slope=0.1",
    "elu",
    "gelu",
    "silu",
    "mish",
    "tanhexp",
    "hard_swish",
    "softplus",
]


def _plugins(paths: list[Path] | None) -> None:
    """Load the plugin files a command was given."""
    if paths:
        actlab.load_plugins(*paths)


def fail(message: str) -> NoReturn:
    errors.print(Text("error: ", style="bold red") + Text(message), highlight=False)
    raise typer.Exit(2)


def emit_json(data: Any) -> None:
    from actlab.jsontext import dumps

    sys.stdout.write(dumps(data) + "\n")


@app.command("list")
def list_command(
    json_output: JsonFlag = False,
    family: Annotated[str | None, typer.Option(help="Only this family (its name or the survey's slug).")] = None,
    category: Annotated[
        str | None, typer.Option("--class", help="Only this class: fixed or adaptive (trainable parameters).")
    ] = None,
    search: Annotated[
        str | None, typer.Option(help="Only activations whose name, alias, formula or reference contains this text.")
    ] = None,
    wide: WideFlag = False,
    plugins: Plugins = None,
) -> None:
    """Every activation with aliases, parameters and defaults, and properties (user-defined ones marked)."""
    from actlab.report.catalog_doc import format_value, select_specs, spec_record
    from actlab.report.console import print_table

    _plugins(plugins)
    try:
        specs = select_specs([actlab.spec(n) for n in actlab.names()], family, category, search)
    except ValueError as error:
        fail(str(error))
    if json_output:
        emit_json([spec_record(s) for s in specs])
        return
    rows = []
    for s in specs:
        p = s.properties
        flags = [
            f
            for f, on in (
                ("monotonic", p.monotonic),
                ("smooth", p.smooth),
                ("zero-centred", p.zero_centred),
                ("stochastic", p.stochastic),
                ("learnable", bool(s.learnable_params)),
            )
            if on
        ]
        params = ", ".join(f"{q.name}={format_value(q.default)}" for q in s.params) or "—"
        rows.append(
            [
                s.name,
                s.family if not s.user_defined else f"user-defined ({s.source})",
                params,
                p.range_text(),
                ", ".join(flags),
                ", ".join(s.all_aliases()[:6]),
            ]
        )
    headers = ["name", "family", "parameters", "range", "properties", "also known as"]
    print_table(
        console,
        f"{len(specs)} activations",
        headers,
        rows,
        ["name", "family", "parameters", "range"],
        wide,
        text_columns=range(len(headers)),
    )


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Activation name or alias.")],
    json_output: JsonFlag = False,
    plugins: Plugins = None,
) -> None:
    """Formula, derivative (LaTeX), parameters, properties and reference of one activation."""
    from actlab.report.catalog_doc import LIBRARIES, format_value, spec_record

    _plugins(plugins)
    try:
        spec = actlab.spec(name)
    except ActivationError as error:
        fail(str(error))
    matches = _same_as_if_user_defined(spec)
    if json_output:
        emit_json({**spec_record(spec), **({"same_as": matches} if spec.user_defined else {})})
        return
    p = spec.properties
    lines = [
        f"{spec.name} ({spec.family}) — {spec.summary}",
        f"  f(x):   {spec.formula}",
        f"  f'(x):  {spec.derivative_formula}",
    ]
    if spec.params:
        lines.append("  parameters:")
        lines += [
            f"    {q.name} = {format_value(q.default)}  "
            f"{q.doc}{' [learnable]' if q.name in spec.learnable_params else ''}"
            for q in spec.params
        ]
    flags = ", ".join(
        f"{k}={v}"
        for k, v in (
            ("monotonic", p.monotonic),
            ("smooth", p.smooth),
            ("zero_centred", p.zero_centred),
            ("stochastic", p.stochastic),
        )
    )
    lines.append(f"  range {p.range_text()}; {flags}")
    if p.kinks:
        lines.append(f"  kinks at x = {', '.join(f'{k:g}' for k in p.kinks)}")
    lines += [f"  {LIBRARIES.get(lib, lib)}: {', '.join(names)}" for lib, names in spec.aliases.items()]
    if spec.user_defined:
        lines.append(f"  defined in: {spec.source}")
    if spec.notes:
        lines.append(f"  note: {spec.notes}")
    if matches:
        from actlab.catalog.duplicates import describe

        lines.append(f"  note: {describe(matches)}")
    ref = spec.reference
    unreferenced = spec.user_defined and not (ref.venue or ref.link())
    lines.append(
        "  reference: none given" if unreferenced else f"  reference: {ref.cite()} {ref.link() or ''}".rstrip()
    )
    where = "; ".join(w for w in (ref.where, f"survey (arXiv:2402.09092) {ref.survey}" if ref.survey else "") if w)
    if where:
        lines.append(f"  in the paper: {where}")
    lines.insert(1, f"  class: {spec.category}; family: {spec.family}")
    if spec.formula_text:
        lines.insert(2, f"  formula: {spec.formula_text}")
    console.print(Text(lines[0], style="bold"))
    for line in lines[1:]:
        console.print(line, highlight=False, markup=False)


def _same_as_if_user_defined(spec) -> list[str]:
    """The catalog entries a user's activation equals (built-ins are distinct by the catalog's own test)."""
    if not spec.user_defined:
        return []
    from actlab.catalog.duplicates import same_as

    return same_as(spec)


@app.command()
def plot(
    activations: Annotated[list[str], typer.Argument(help="NAME or NAME:param=value[:param=value…], one or more.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG file to write.")] = Path("activations.png"),
    derivative: Annotated[bool, typer.Option("--derivative", help="Add a panel with the derivatives.")] = False,
    x_range: Annotated[tuple[float, float], typer.Option("--range", help="x interval LO HI.")] = (-5.0, 5.0),
    points: Annotated[int, typer.Option(help="Grid points.", min=2, max=1_000_000)] = 1001,
    json_output: JsonFlag = False,
    plugins: Plugins = None,
) -> None:
    """Draw activations (and their derivatives) on one figure."""
    from actlab.notation import label
    from actlab.outputs import output_file
    from actlab.report.plots import plot_activations

    _plugins(plugins)
    lo, hi = x_range
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and math.isfinite(hi - lo)):
        fail(f"--range needs finite LO < HI whose difference is a finite number, got {lo:g} {hi:g}")
    acts = [parse_activation(text) for text in activations]
    path = plot_activations(acts, output_file(output, ".png"), lo, hi, derivative=derivative, points=points)
    if json_output:
        emit_json(
            {"path": str(path), "activations": [label(a) for a in acts], "range": [lo, hi], "derivative": derivative}
        )
    else:
        console.print(f"wrote {path}", highlight=False)


@app.command()
def docs(
    root: Annotated[Path, typer.Option(help="Project root holding README.md and docs/.")] = Path("."),
    check: Annotated[bool, typer.Option("--check", help="Only verify the generated docs are up to date.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Regenerate docs/catalog.md, the README's catalog and results tables, and its sample plot."""
    from actlab.report.catalog_doc import (
        PLOTTED,
        builtin_names,
        catalog_markdown,
        families,
        family_plot,
        with_readme_table,
    )
    from actlab.report.plots import plot_activations
    from actlab.report.results_doc import with_results_tables

    readme_path, catalog_path = root / "README.md", root / "docs" / "catalog.md"
    if not readme_path.exists():
        fail(f"no README.md in {root.resolve()} (pass --root)")
    try:
        readme = with_results_tables(with_readme_table(readme_path.read_text()), root / "docs" / "results")
    except ValueError as error:
        fail(str(error))
    catalog = catalog_markdown()
    stale = [
        str(p)
        for p, text in ((readme_path, readme), (catalog_path, catalog))
        if not p.exists() or p.read_text() != text
    ]
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
    image = plot_activations(
        [parse_activation(t) for t in SAMPLE_PLOT], root / "docs" / "activations.png", -4.0, 4.0, derivative=True
    )
    written = [str(catalog_path), str(readme_path), str(image)]
    for family, members in families(builtin_names()).items():
        path = root / "docs" / family_plot(family)
        path.parent.mkdir(parents=True, exist_ok=True)
        acts = [parse_activation(name) for name in members[:PLOTTED]]
        written.append(str(plot_activations(acts, path, -4.0, 4.0, derivative=True, points=401)))
    if json_output:
        emit_json({"written": written})
    else:
        console.print(f"wrote {', '.join(written)}", highlight=False)


def _thresholds(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        fail(f"--thresholds {text!r}: comma-separated accuracies, e.g. 0.95,0.97,0.98")


def _configs(activations: list[str], seeds: list[int], allow_unchecked: bool = False, **setup: Any):
    """RunConfigs for every activation × seed; one clear error listing every invalid setting; user-defined
    activations checked (:mod:`actlab.experiments.checking`)."""
    from actlab.experiments.config import check_run_count
    from actlab.train.config import ConfigError, make_config

    check_run_count(len(activations) * len(seeds), f"{len(activations)} activations × {len(seeds)} seeds")
    setup["thresholds"] = _thresholds(setup["thresholds"])
    configs = []
    for activation in activations:
        for seed in seeds:
            try:
                configs.append(make_config(activation=activation, seed=seed, **setup))
            except ConfigError as error:
                fail(str(error))
    from actlab.experiments.checking import checked

    return checked(configs, allow_unchecked)


@contextlib.contextmanager
def _progress(description: str, total: int | None, interrupted: str):
    """The progress bar (:func:`actlab.experiments.progress.progress_bar`: ``update(**fields)`` advances it) while
    SIGTERM interrupts like Ctrl-C; an interruption prints ``interrupted`` and exits with 128 + the signal."""
    from actlab.experiments.executors import exit_code, termination_interrupts
    from actlab.experiments.progress import progress_bar

    try:
        with termination_interrupts(), progress_bar(description, total, progress_console) as update:
            yield update
    except KeyboardInterrupt as interrupt:
        errors.print(interrupted, highlight=False, markup=False)
        raise typer.Exit(exit_code(interrupt)) from None


def _train(configs, data_dir: Path | None, group: str = "activation", fused: bool = False):
    """Train ``configs`` (a one-off experiment: :mod:`actlab.experiments.oneoff`) with a progress bar over
    epochs on stderr."""
    from actlab.experiments.oneoff import train_configs
    from actlab.experiments.progress import epoch_callback

    with _progress("epochs", sum(c.epochs for c in configs), "interrupted") as update:
        return train_configs(configs, data_dir, group, fused, epoch_callback(update))


# fmt: off
@app.command()
def train(
    activation: Annotated[str, typer.Option(help="NAME[:param=value…].")] = "relu",
    dataset: Dataset = DEFAULT["dataset"], data_dir: DataDir = None,
    preprocessing: Preprocessing = DEFAULT["preprocessing"], model: Model = DEFAULT["model"],
    init: Init = DEFAULT["init"], optimizer: Optimizer = DEFAULT["optimizer"], lr: Lr = DEFAULT["lr"],
    momentum: Momentum = DEFAULT["momentum"], weight_decay: WeightDecay = DEFAULT["weight_decay"],
    flooding: Flooding = DEFAULT["flooding"], schedule: Schedule = DEFAULT["schedule"],
    epochs: Epochs = DEFAULT["epochs"], batch_size: BatchSize = DEFAULT["batch_size"],
    seed: Annotated[int, typer.Option(help="Seed of the initial weights, data order and noise.")] = 0,
    thresholds: Thresholds = DEFAULT["thresholds"], train_subset: TrainSubset = DEFAULT["train_subset"],
    test_subset: TestSubset = DEFAULT["test_subset"], backend: Backend = DEFAULT["backend"],
    device: Device = DEFAULT["device"], dtype: Dtype = DEFAULT["dtype"], fused: Fused = False,
    loss: Loss = DEFAULT["loss"], target: Target = DEFAULT["target"],
    test_fraction: TestFraction = DEFAULT["test_fraction"], diagnostics: Diagnostics = DEFAULT["diagnostics"],
    saturation_threshold: SaturationThreshold = DEFAULT["saturation_threshold"],
    json_output: JsonFlag = False, plugins: Plugins = None, allow_unchecked: AllowUnchecked = False,
) -> None:
    # fmt: on
    """Train one model and print its per-epoch history and summary."""
    _plugins(plugins)
    (config,) = _configs([activation], [seed], allow_unchecked, **_setup(locals()))
    (result,) = _train([config], data_dir, fused=fused)
    if json_output:
        emit_json(result.to_dict())
        return
    from actlab.report.console import print_table

    title = (
        f"{config.activation_label()} on {config.dataset} ({config.model}, {config.optimizer} lr {config.lr:g}, "
        f"seed {seed})"
    )
    accuracy = not config.regression  # regression: losses only
    rows = [
        [str(h.epoch), f"{h.train_loss:.4g}"]
        + ([f"{100 * h.train_accuracy:.2f}"] if accuracy else [])
        + [f"{h.test_loss:.4g}"]
        + ([f"{100 * h.test_accuracy:.2f}"] if accuracy else [])
        + [f"{h.seconds:.3f}"]
        for h in result.history
    ]
    headers = ["epoch", "train loss", "train acc %", "test loss", "test acc %", "seconds"]
    if not accuracy:
        headers = [h for h in headers if "acc" not in h]
    print_table(console, title, headers, rows, text_columns=())
    console.print(summary_line(result.summary), highlight=False, markup=False)
    _diagnosis({config.activation_label(): [result]})


def _diagnosis(groups: dict[str, list]) -> None:
    """With --diagnostics: each configuration's layers at the last epoch in a line, and a warning (stderr) for a
    layer that is mostly saturated or has many dead units, with what usually helps."""
    from actlab.train.diagnostics import off_half_line
    from actlab.train.diagnostics_data import last_epoch_means, summary_line, warnings_for

    for label, results in groups.items():
        layers = last_epoch_means([r.diagnostics for r in results])
        if not layers:
            continue
        console.print(f"{label}: {summary_line(layers)}", highlight=False, markup=False)
        config = results[0].config
        off_side = off_half_line(config.activation_object(), config.saturation_threshold)
        for warning in warnings_for(layers, off_side):
            errors.print(f"warning: {label}: {warning}", highlight=False, markup=False)


def summary_line(s) -> str:
    """One run's outcome in a sentence; a diverged run says when, and reports only its finite epochs."""
    from actlab.train.metrics import Status

    reached = ", ".join(
        f"{100 * float(t):g}%: {'never' if e is None else f'epoch {e}'}" for t, e in s.epochs_to.items()
    )
    diverged = s.status == Status.DIVERGED
    status = f"diverged at epoch {s.diverged_epoch} (the loss became non-finite)" if diverged else "done"
    if s.best_epoch is None:
        return f"{status}; no epoch finished with a finite loss; {s.total_seconds:.2f} s"
    finite = "last finite epoch" if diverged else "final"
    if s.final_test_accuracy is None and s.final_test_loss is not None:  # regression
        return (
            f"{status}; {finite}: train loss {s.final_train_loss:.4g}, test loss {s.final_test_loss:.4g}; best test "
            f"loss {s.best_test_loss:.4g} (epoch {s.best_epoch}); {s.total_seconds:.2f} s"
        )
    return (
        f"{status}; {finite}: train {_pct(s.final_train_accuracy)}, test {_pct(s.final_test_accuracy)}; best test "
        f"{_pct(s.best_test_accuracy)} (epoch {s.best_epoch}); {reached}; {s.total_seconds:.2f} s"
    )


def _comparison_table(rows, baseline: str | None, wide: bool, title: str) -> None:
    from actlab.report.console import print_comparison

    print_comparison(console, rows, baseline, wide, title)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


CompareBaseline = Annotated[
    str | None,
    typer.Option(
        help="Activation to test the others against (Welch's t-test, Holm-adjusted), e.g. relu: a p column in the "
        "table, significant differences highlighted in summary.png. Default: none (nothing tested)."
    ),
]


def _baseline_of(baseline: str | None, names: list[str]) -> str | None:
    """The baseline as the table labels it (``LeakyReLU`` -> ``leaky_relu``); an error, before anything trains,
    where it is not one of the activations compared."""
    if baseline is None:
        return None
    from actlab.notation import label

    labels = [label(parse_activation(name)) for name in names]
    try:
        wanted = label(parse_activation(baseline))
    except ActivationError as error:
        fail(f"--baseline: {error}")
    if wanted not in labels:
        fail(f"--baseline {baseline!r} is not one of the activations compared: {', '.join(labels)}")
    return wanted


# fmt: off
@app.command()
def compare(
    activations: Annotated[str, typer.Option(help="Comma-separated NAME[:param=value…].")] = DEFAULT_ACTIVATIONS,
    seeds: Annotated[int, typer.Option(help="Seeds per activation (0 … N-1).", min=1)] = 5,
    out: Annotated[Path | None, typer.Option(help="Write the report (md, csv, json, html) and figures here.")] = None,
    group: Group = "activation",
    dataset: Dataset = DEFAULT["dataset"], data_dir: DataDir = None,
    preprocessing: Preprocessing = DEFAULT["preprocessing"], model: Model = DEFAULT["model"],
    init: Init = DEFAULT["init"], optimizer: Optimizer = DEFAULT["optimizer"], lr: Lr = DEFAULT["lr"],
    momentum: Momentum = DEFAULT["momentum"], weight_decay: WeightDecay = DEFAULT["weight_decay"],
    flooding: Flooding = DEFAULT["flooding"], schedule: Schedule = "cosine", epochs: Epochs = DEFAULT["epochs"],
    batch_size: BatchSize = 50, thresholds: Thresholds = DEFAULT["thresholds"],
    train_subset: TrainSubset = DEFAULT["train_subset"], test_subset: TestSubset = DEFAULT["test_subset"],
    backend: Backend = DEFAULT["backend"], device: Device = DEFAULT["device"], dtype: Dtype = DEFAULT["dtype"],
    fused: Fused = False, loss: Loss = DEFAULT["loss"], target: Target = DEFAULT["target"],
    test_fraction: TestFraction = DEFAULT["test_fraction"], diagnostics: Diagnostics = DEFAULT["diagnostics"],
    saturation_threshold: SaturationThreshold = DEFAULT["saturation_threshold"],
    json_output: JsonFlag = False, wide: WideFlag = False, plugins: Plugins = None,
    allow_unchecked: AllowUnchecked = False, baseline: CompareBaseline = None,
) -> None:
    # fmt: on
    """Train the same model with each activation over several seeds and compare them.

    The defaults are the demo's (`make demo`): 5 seeds of plain SGD at lr 0.1 annealed by a cosine schedule, batch
    50, 20 epochs, so that the curves are smooth and the activations differ by how fast and how far they learn
    (seeds train together, so five cost little more than three). `train` and experiment files keep RunConfig's batch
    32 and constant learning rate."""
    _plugins(plugins)
    from actlab.notation import split as split_list

    names = split_list(activations)
    if not names:
        fail("--activations is empty")
    try:
        for name in names:
            parse_activation(name)
    except ActivationError as error:
        fail(str(error))
    baseline = _baseline_of(baseline, names)
    if group not in ("activation", "all", "none"):
        fail(f"--group {group!r}: use activation, all or none")
    if out is not None:
        from actlab.outputs import writable_folder

        writable_folder(out)  # a bad --out is an error now, not after training (created once there is a result)
    comparison = _compare(names, seeds, data_dir, group, fused, allow_unchecked, _setup(locals()))
    written = [str(path) for path in comparison.save(out, baseline).values()] if out is not None else []
    _print_comparison(comparison, baseline, wide, json_output, written)


def _compare(names: list[str], seeds: int, data_dir, group: str, fused: bool, allow_unchecked: bool, setup: dict):
    """``actlab.compare`` with the command's settings (its one progress bar), Ctrl-C and SIGTERM interrupting it
    quietly."""
    from actlab.experiments.compare import compare as compare_models
    from actlab.experiments.executors import exit_code, termination_interrupts

    setup["thresholds"] = _thresholds(setup["thresholds"])
    model, dataset = setup.pop("model"), setup.pop("dataset")
    try:
        with termination_interrupts():
            return compare_models(model, dataset, names, seeds, allow_unchecked=allow_unchecked, data_dir=data_dir,
                                  group=group, fused=fused, **setup)
    except KeyboardInterrupt as interrupt:
        errors.print("interrupted", highlight=False, markup=False)
        raise typer.Exit(exit_code(interrupt)) from None


def _print_comparison(comparison, baseline: str | None, wide: bool, json_output: bool, written: list[str]) -> None:
    """The comparison's table, diagnostics and files written; or all of it as JSON."""
    from actlab.report import tables

    if json_output:
        payload = json.loads(tables.results_json(comparison.rows(baseline), comparison.results))
        emit_json({**payload, "baseline": baseline, "written": written})
        return
    comparison.table(baseline, wide, console)
    _diagnosis(tables.group_by(comparison.results))
    if written:
        console.print(f"wrote {', '.join(written)}", highlight=False)


@app.command()
def report(
    store: Annotated[
        Path,
        typer.Argument(
            help="The SQLite store `actlab run` wrote, or a saved report.json / results.json (of `compare --out`) to "
            "write again with today's tables and figures."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="Report folder: a subfolder per experiment, or the report itself with --experiment."
        ),
    ] = Path("report"),
    experiment: Annotated[
        str | None, typer.Option(help="Only this experiment (default: every one in the store).")
    ] = None,
    baseline: Annotated[str | None, typer.Option(help="Configuration to test the others against, e.g. relu.")] = None,
    earlier: Annotated[
        bool, typer.Option("--earlier", help="Also show the runs of earlier definitions of an experiment, labelled.")
    ] = False,
    json_output: JsonFlag = False,
    wide: WideFlag = False,
    plugins: Plugins = None,
) -> None:
    """Tables (Markdown, CSV, JSON, HTML), statistics and plots for the experiments in a store (read-only)."""
    _plugins(plugins)
    from actlab.report.experiment_report import report_saved, report_store

    try:
        if store.suffix == ".json":
            if experiment is not None or earlier:
                fail("--experiment and --earlier choose from a store; a saved report holds one experiment")
            reports = report_saved(store, output, baseline)
        else:
            reports = report_store(store, output, experiment, baseline, earlier)
    except ValueError as error:  # a baseline that is not a configuration, a bad saved report
        fail(str(error))
    if json_output:
        from dataclasses import asdict

        emit_json(
            {
                name: {
                    "files": r["files"],
                    "rows": [asdict(row) for row in r["rows"]],
                    "incomplete": r["incomplete"].counts,
                }
                for name, r in reports.items()
            }
        )
        return
    from actlab.report.console import printable

    for name, r in reports.items():
        missing = [printable(line) for line in r["incomplete"].lines()]
        name = printable(name)  # noqa: PLW2901 - a store's names are shown escaped
        if not r["rows"]:
            console.print(
                f"{name}: no finished runs yet" + (f" ({'; '.join(missing)})" if missing else ""),
                highlight=False,
                markup=False,
            )
            continue
        _comparison_table(r["rows"], r.get("baseline", baseline), wide, f"{name}: mean ± std over seeds")
        for line in missing:
            errors.print(f"warning: {name}: not in the table (not finished): {line}", highlight=False, markup=False)
        first = r["files"].get("report.html") or next(iter(r["files"].values()))
        console.print(f"wrote {first} and {len(r['files']) - 1} more files", highlight=False, markup=False)


@app.command()
def site(
    store: Annotated[Path, typer.Argument(help="The SQLite store `actlab run` wrote (opened read-only).")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The site's folder (new, empty, or an earlier site: replaced).")
    ] = Path("site"),
    experiment: Annotated[
        str | None, typer.Option(help="Only this experiment (default: every one in the store).")
    ] = None,
    json_output: JsonFlag = False,
    plugins: Plugins = None,
) -> None:
    """A static results site (leaderboards, a page per activation and family) and its records (JSON, CSV)."""
    _plugins(plugins)
    from actlab.report.records import store_records
    from actlab.report.site import write_site

    records = store_records(store, experiment)
    written = write_site(records, output)
    tasks = len({r["task"]["id"] for r in records})
    activations = len({r["activation"]["name"] for r in records})
    if json_output:
        emit_json({"site": str(written), "index": str(written / "index.html"), "records": len(records),
                   "tasks": tasks, "activations": activations})
        return
    console.print(
        f"wrote {written / 'index.html'}: {tasks} task(s), {activations} activation(s), {len(records)} records",
        highlight=False,
        markup=False,
    )


@app.command()
def check(
    activation: Annotated[
        str | None, typer.Argument(help="NAME[:param=value…]: a built-in or a user-defined activation.")
    ] = None,
    all_entries: Annotated[
        bool, typer.Option("--all", help="Check every activation in the catalog (and plugins).")
    ] = False,
    fused: Annotated[bool, typer.Option("--fused", help="Also check the fused (compiled) layer (slower).")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Check again where a result is kept from before.")] = False,
    json_output: JsonFlag = False,
    plugins: Plugins = None,
) -> None:
    """Verify an activation: forward and derivative against a 400-digit reference, autograd, gradcheck, extremes in
    every dtype and path, and its measured properties. Exit status 0 only if every check passes. A result is kept
    (by definition, parameters and code version), so checking again, or `compare`, does not redo it."""
    from actlab.catalog.duplicates import describe, same_as
    from actlab.report.console import print_table
    from actlab.verify.cached import as_record, checked

    _plugins(plugins)
    if (activation is None) == (not all_entries):
        fail("give one activation (NAME[:param=value…]) or --all")
    if all_entries:
        _check_all(fused, refresh, json_output)
        return
    act = parse_activation(activation)
    report, cached = checked(act, fused=fused, refresh=refresh)
    matches = same_as(act.spec, act.params)
    if json_output:
        emit_json({**as_record(report, cached), "same_as": matches})
    else:
        rows = [[r.check, "pass" if r.passed else "FAIL", r.detail] for r in report.results]
        verdict = "passes every check" if report.passed else f"fails {len(report.failures())} check(s)"
        kept = " (kept from an earlier check; --refresh to redo)" if cached else ""
        title = f"{report.activation} {verdict}{kept}"
        print_table(console, title, ["check", "result", "detail (the first failure)"], rows, text_columns=(0, 2))
        if matches:
            console.print(f"note: {act.label} is {describe(matches)}", highlight=False, markup=False)
    if not report.passed:
        raise typer.Exit(1)


def _check_all(fused: bool, refresh: bool, json_output: bool) -> None:
    """`check --all`: every activation, a line of progress each on stderr, then a summary (failures first)."""
    from actlab.report.console import print_table
    from actlab.verify.cached import as_record, checked

    names = actlab.names()
    records = []
    for i, name in enumerate(names, 1):
        report, cached = checked(parse_activation(name), fused=fused, refresh=refresh)
        records.append(as_record(report, cached))
        if not json_output:
            verdict = "pass" if report.passed else "FAIL"
            errors.print(f"[{i}/{len(names)}] {name}: {verdict}{' (kept)' if cached else ''}", highlight=False)
    failed = [r for r in records if not r["passed"]]
    if json_output:
        emit_json({"total": len(records), "passed": len(records) - len(failed), "failed": [r["activation"] for r in
                   failed], "activations": records})
    else:
        rows = [
            [r["activation"], "; ".join(f"{c['check']}: {c['detail']}" for c in r["checks"] if not c["passed"])]
            for r in failed
        ]
        if rows:
            print_table(console, f"{len(failed)} fail", ["activation", "failing checks"], rows, text_columns=(0, 1))
        console.print(f"{len(records) - len(failed)} of {len(records)} activations pass every check", highlight=False)
    if failed:
        raise typer.Exit(1)


@app.command()
def export(
    activation: Annotated[str, typer.Argument(help="NAME[:param=value…]: a formula-defined activation.")],
    to: Annotated[str, typer.Option("--to", help="torch, numpy or jax.")] = "torch",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default NAME_TARGET.py).")
    ] = None,
    json_output: JsonFlag = False,
    plugins: Plugins = None,
) -> None:
    """Write one activation as a self-contained module for torch, NumPy or JAX (forward, exact derivative as an
    autograd Function / custom_vjp, its reference and the check it passed), needing only that framework."""
    from actlab.exporting import TARGETS, export_source, file_name
    from actlab.outputs import output_file
    from actlab.verify.cached import checked

    _plugins(plugins)
    if to not in TARGETS:
        fail(f"--to {to!r}: use one of {', '.join(TARGETS)}")
    act = parse_activation(activation)
    if act.spec.formula_expression is None:
        fail(f"{act.spec.name} is hand-written (its own kernels), not a formula: only formulas export")
    report, _ = checked(act)
    summary = (
        f"passed all {len(report.results)} checks"
        if report.passed
        else "FAILED " + "; ".join(f"{r.check}: {r.detail}" for r in report.failures())
    )
    path = output_file(output or Path(file_name(act, to)), ".py")
    path.write_text(export_source(act, to, summary), encoding="utf-8")
    if json_output:
        emit_json({"path": str(path), "activation": act.label, "to": to, "check_passed": report.passed})
    else:
        console.print(f"wrote {path} ({to}; actlab check: {summary})", highlight=False, markup=False)


recipes_app = typer.Typer(
    help="Experiments shipped with actlab that reproduce classic comparisons.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(recipes_app, name="recipes")


@recipes_app.command("list")
def recipes_list(json_output: JsonFlag = False) -> None:
    """Every recipe with its description and number of runs."""
    from actlab.experiments import recipes
    from actlab.experiments.config import load_experiment

    entries = []
    for name in recipes.names():
        experiment = load_experiment(recipes.path(name))
        entries.append(
            {
                "name": name,
                "description": experiment.description,
                "runs": len(experiment.runs),
                "quick_runs": len(load_experiment(recipes.path(name), quick=True).runs),
            }
        )
    if json_output:
        emit_json(entries)
        return
    from actlab.report.console import print_table

    print_table(
        console,
        "recipes (actlab run recipe:NAME [--quick])",
        ["name", "runs", "description"],
        [[e["name"], str(e["runs"]), e["description"]] for e in entries],
        text_columns=(0, 2),
    )


@recipes_app.command("show")
def recipes_show(name: Annotated[str, typer.Argument(help="Recipe name.")], json_output: JsonFlag = False) -> None:
    """Print a recipe's TOML (copy it to start an experiment of your own)."""
    from actlab.experiments import recipes
    from actlab.experiments.config import load_experiment

    try:
        path = recipes.path(name)
    except KeyError as error:
        fail(str(error.args[0]))
    if not json_output:
        sys.stdout.write(path.read_text())
        return
    experiment, quick = load_experiment(path), load_experiment(path, quick=True)
    emit_json(
        {
            "name": name,
            "description": experiment.description,
            "toml": path.read_text(),
            "runs": len(experiment.runs),
            "quick_runs": len(quick.runs),
            "swept": list(experiment.swept),
        }
    )


search_app = typer.Typer(
    help="Activation search: a grammar of candidate formulas, screened before any training.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(search_app, name="search")


@search_app.command("space")
def search_space(
    space: Annotated[
        Path | None, typer.Option("--space", help="A search space (TOML); default: the space shipped with actlab.")
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(help="Screen this many candidates drawn at random (default: all, or 500 of a larger space)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="The seed of the sample.")] = 0,
    top: Annotated[int, typer.Option(help="How many of the best candidates by proxy to list.")] = 10,
    json_output: JsonFlag = False,
    plugins: Plugins = None,
) -> None:
    """How many candidates a space has, how many survive dedup and each filter (reasons counted), and the best by
    cheap proxies (gradient flow through a deep random network, output distribution under N(0, 1))."""
    from actlab.search.preview import preview_file

    _plugins(plugins)
    record = preview_file(space, sample, seed, top)
    if json_output:
        emit_json(record)
        return
    _print_search_preview(record)


def _print_search_preview(record: dict[str, Any]) -> None:
    say = console.print
    say(f"space {record['space']}: {record['candidates']:,} candidates", highlight=False, markup=False)
    for schema in record["schemas"]:
        say(f"  {schema['schema']}: {schema['candidates']:,}", highlight=False, markup=False)
    how = f"a sample drawn with seed {record['seed']}" if record["sampled"] else "all of them"
    say(f"screened {record['examined']:,} ({how})", highlight=False, markup=False)
    for title, counts in (("refused", record["refused"]), ("filtered", record["filtered"])):
        for reason, n in sorted(counts.items(), key=lambda item: -item[1]):
            example = record["examples"][reason]
            say(f"  {title} {n:,}: {record['reasons'][reason]} (e.g. {example})", highlight=False, markup=False)
    for kind, n in record["duplicates"].items():
        how = "SymPy canonical form" if kind == "symbolic" else "output fingerprint"
        say(f"  duplicates {n:,} by {how} (e.g. {record['examples'][kind]})", highlight=False, markup=False)
    say(f"survivors {record['survivors']:,} ({record['catalog_equal']:,} equal to catalog activations)",
        highlight=False, markup=False)
    from actlab.report.console import print_table

    rows = [
        [str(c["rank"]), c["catalog"] or c["formula"], f"{c['proxies']['gradient_ratio']:.3g}",
         f"{c['proxies']['mean']:.3f}", f"{c['proxies']['variance']:.3f}", f"{c['proxies']['near_zero']:.3f}"]
        for c in record["top"]
    ]
    headers = ["#", "candidate", "grad ratio (first/last)", "mean", "variance", "near 0"]
    print_table(console, "best by proxy", headers, rows, text_columns=(1,))


# The `run` command's executor options (--executor ray: see actlab.experiments.ray_executor).
ExecutorName = Annotated[
    str,
    typer.Option(
        "--executor",
        help="local: this machine (--workers processes); ray: Ray Core tasks on a Ray cluster, or a local Ray runtime "
        'without --address (needs pip install "actlab[ray]").',
    ),
]
RAY_ONLY = "--executor ray: "
Address = Annotated[
    str | None,
    typer.Option(
        help=RAY_ONLY + "the cluster to run on: auto (the one `ray start` runs on this machine) or HOST:PORT of its "
        "head; default: a local Ray runtime for this run."
    ),
]
CpusPerTask = Annotated[
    float | None, typer.Option(help=RAY_ONLY + "CPUs each task reserves (its torch threads); default 1.")
]
GpusPerTask = Annotated[
    float | None, typer.Option(help=RAY_ONLY + "GPUs each task reserves (0.5: two share one); default 0.")
]
MaxInFlight = Annotated[
    int | None,
    typer.Option(help=RAY_ONLY + "tasks outstanding at once; default: the cluster's CPUs / --cpus-per-task."),
]


def _run_executor(
    name: str,
    workers: int,
    fused: bool,
    address: str | None,
    cpus_per_task: float | None,
    gpus_per_task: float | None,
    max_in_flight: int | None,
) -> Any:
    """The executor `run` was asked for ("local" or a RayExecutor, made here so that Ray is imported only for it);
    contradictory options are one clear error."""
    ray_options = {
        "--address": address,
        "--cpus-per-task": cpus_per_task,
        "--gpus-per-task": gpus_per_task,
        "--max-in-flight": max_in_flight,
    }
    given = [option for option, value in ray_options.items() if value is not None]
    if name == "local":
        if given:
            fail(f"{', '.join(given)}: options of --executor ray (this run uses --executor local)")
        return name
    if name != "ray":
        fail(f"--executor {name!r}: use local or ray")
    if workers != 1:
        fail(
            "--workers starts local worker processes; with --executor ray, Ray runs the tasks: size them with "
            "--cpus-per-task and --max-in-flight"
        )
    from actlab.experiments.ray_executor import RayExecutor

    try:
        return RayExecutor(
            address,
            1.0 if cpus_per_task is None else cpus_per_task,
            0.0 if gpus_per_task is None else gpus_per_task,
            max_in_flight,
            fused=fused,
        )
    except ValueError as error:
        fail(str(error))


# fmt: off
@app.command()
def run(
    experiment: Annotated[str, typer.Argument(help="EXPERIMENT.toml or recipe:NAME.")],
    store: Annotated[Path, typer.Option(help="SQLite results store (created if absent).")] = Path("runs.db"),
    workers: Workers = 1, group: Group = "activation", quick: Quick = False, retry_failed: RetryFailed = False,
    data_dir: DataDir = None, fused: Fused = False, json_output: JsonFlag = False, wide: WideFlag = False,
    plugins: Plugins = None, allow_unchecked: AllowUnchecked = False, executor: ExecutorName = "local",
    address: Address = None, cpus_per_task: CpusPerTask = None, gpus_per_task: GpusPerTask = None,
    max_in_flight: MaxInFlight = None, trust_store: TrustStore = False,
) -> None:
    # fmt: on
    """Run an experiment: expand its grid, train what the store does not have yet, keep every result.

    Re-running the same command skips finished runs and redoes interrupted ones; several `actlab run`
    processes can share one store. Ctrl-C or SIGTERM gives the unfinished runs back: rerun to resume.
    With --executor ray, Ray tasks train the runs (on a cluster with --address) and this process alone
    writes the store.
    """
    from actlab.experiments.runner import failed_line, run_experiment
    from actlab.report import tables
    from actlab.train.metrics import FINISHED, Status

    chosen = _run_executor(executor, workers, fused, address, cpus_per_task, gpus_per_task, max_in_flight)
    local = chosen == "local"
    _plugins(plugins)
    if trust_store:
        from actlab.catalog.plugins import trust

        trust(store=True)
    resume = "interrupted: unfinished runs were given back; rerun the same command to resume"
    try:
        with _progress("runs", None, resume) as update:

            def progress(counts: dict[str, int]) -> None:
                update(completed=sum(counts[s] for s in FINISHED), total=sum(counts[s] for s in Status))

            outcome = run_experiment(experiment, store, workers if local else 1, group, quick, data_dir,
                                     fused and local, retry_failed, progress, allow_unchecked, chosen)
    except ValueError as error:
        fail(str(error))
    name, counts = outcome.name, outcome.counts
    rows = tables.build_rows(outcome.results, tables.configuration_label(outcome.experiment.swept))
    failed = [failed_line(config, error) for config, error in outcome.failures]
    if json_output:
        comparison = json.loads(tables.results_json(rows, []))["comparison"]
        emit_json({"experiment": name, "store": str(store), "counts": counts, "failed": failed,
                   "definition_changed": outcome.definition_changed, "changes": outcome.changes,
                   "new_runs": outcome.new_runs,
                   "earlier_runs": outcome.retired_runs, "retried": outcome.retried, "comparison": comparison})
    else:
        _print_run(outcome, rows, failed, wide)
        _diagnosis(tables.group_by(outcome.results, tables.configuration_label(outcome.experiment.swept)))
    if counts["failed"]:
        raise typer.Exit(1)


def _print_run(outcome, rows, failed: list[str], wide: bool) -> None:
    name, counts = outcome.name, outcome.counts
    say = lambda text: console.print(text, highlight=False, markup=False)  # noqa: E731
    if outcome.definition_changed:
        say(
            f"{name}: the definition changed since the last run"
            + (f" ({'; '.join(outcome.changes)})" if outcome.changes else "")
            + f": {outcome.new_runs} new runs; "
            f"{outcome.retired_runs} runs of the earlier definition stay in the store, left out of reports "
            "(`actlab report --earlier` shows them)"
        )
    unfinished = counts["pending"] + counts["running"] - counts["held"]
    parts = [f"{counts['done']} done", f"{counts['diverged']} diverged", f"{counts['failed']} failed"]
    if counts["held"]:
        parts.append(f"{counts['held']} being trained by other runners")
    if unfinished:
        parts.append(f"{unfinished} not finished")
    say(f"{name}: {', '.join(parts)} (store {outcome.store})")
    if rows:
        _comparison_table(rows, None, wide, f"{name}: mean ± std over seeds")
    for line in failed:
        errors.print(f"failed: {line}", highlight=False, markup=False)
    if failed:
        errors.print("rerun with --retry-failed to train the failed runs again", highlight=False, markup=False)


def main() -> None:
    """The ``actlab`` console script. At exit, every object is frozen out of the final garbage collection:
    tearing down torch's module graph otherwise adds ~0.3 s to every command that trained something.

    An interrupted command (Ctrl-C, SIGTERM) has given its runs back and said so when it exits with 128 + the
    signal; it then ends at once, because CPython would otherwise turn a KeyboardInterrupt that reached certain C
    code during imports into death by SIGINT at shutdown, though the interrupt was handled."""
    import gc
    import os

    try:
        app()
    except SystemExit as done:
        if done.code in (130, 143):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(done.code)
        raise
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
