"""Experiment files: a base setup plus a grid, expanded into runs, validated before any training.

```toml
name = "hard-swish-n"                 # required: names the experiment in the store and reports
description = "h-swish size sweep"    # optional

[base]                                # any run setting (see `actlab train --help`)
dataset = "mnist"
model = "mlp:100,50"
epochs = 50

[grid]                                # settings to sweep: every combination of these lists
seed = [0, 1, 2]
lr = [0.1, 0.5]
activation = ["relu", "mish"]         # activations with fixed parameters, as on the command line

[[activations]]                       # an activation with its own parameter grid
name = "hard_swish"
n = [1, 2, 3, 4]                      # lists are swept, scalars fixed

[quick]                               # overrides applied by --quick (few epochs, small subset)
epochs = 2
train_subset = 2000

[[activation]]                        # an activation of the file's own, by its formula (actlab.catalog.formula)
name = "atan_softplus"
formula = "x * atan(softplus(x))"
```

Every problem (unknown keys, unknown activations, invalid values, wrong types) is reported at once, each
with its place in the file (``grid.lr[1]``, ``activations[0].n[2]``).
"""

from __future__ import annotations

import itertools
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from actlab import notation
from actlab.activation import activation as make_activation
from actlab.catalog.spec import ActivationError
from actlab.data import sources
from actlab.errors import ActlabError
from actlab.models import user_models
from actlab.train.config import RunConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TOP_LEVEL = {"name", "description", "base", "grid", "activations", "quick", "activation"}
SETTINGS = set(RunConfig.model_fields)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


MAX_RUNS = 10_000  # runs one experiment or comparison defines: each is a configuration, a row and a result in memory


class TooManyRuns(ActlabError, ValueError):
    """More runs than :data:`MAX_RUNS` asked for at once."""


def check_run_count(count: int, what: str) -> None:
    """Refuse ``count`` runs over :data:`MAX_RUNS`, before any is made (``what`` says how they were asked for)."""
    if count > MAX_RUNS:
        raise TooManyRuns(
            f"{what} make {count:,} runs; at most {MAX_RUNS:,} are trained and compared at once (fewer seeds or "
            "settings, or split them into several experiments in one store)"
        )


class ExperimentError(ActlabError, ValueError):
    """An experiment file with problems; ``problems`` lists each as 'location: message'."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"{source}: {problems[0]}")
        else:
            listing = "\n".join(f"  {p}" for p in problems)
            super().__init__(f"{source}: {len(problems)} problems:\n{listing}")


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    runs: tuple[RunConfig, ...]
    swept: tuple[str, ...] = field(default=())  # settings that vary across runs (for reports)


# Settings that are valid only together (a CSV dataset and its target, the mse loss, the user's data and model):
# each is validated with the others of its section, so that one missing from the check is not a contradiction.
TOGETHER = ("dataset", "target", "test_fraction", "loss", "model")


def _setting_error(
    location: str, name: str, value: Any, companions: dict[str, Any] | None = None, combined: bool = True
) -> tuple[str | None, list[str]]:
    """Validate one setting with its ``companions`` (the settings of :data:`TOGETHER` it goes with; others at their
    defaults): the problem with the setting itself, and those with the combination (``combined``; not where a
    companion is swept: every combination is checked as a run)."""
    together = {k: v for k, v in (companions or {}).items() if k in TOGETHER and k != name}
    try:
        RunConfig(**{**together, name: value})
    except ValidationError as error:
        own = [e["msg"].removeprefix("Value error, ") for e in error.errors() if tuple(e["loc"]) == (name,)]
        both = [e["msg"].removeprefix("Value error, ") for e in error.errors() if combined and not e["loc"]]
        return (f"{location}: {'; '.join(own)}" if own else None), both
    return None, []


def _note(problems: list[str], location: str, found: tuple[str | None, list[str]]) -> None:
    """Add a setting's problems; a contradiction of settings, found at each of them, is said once."""
    own, both = found
    if own is not None:
        problems.append(own)
    said = {p.partition(": ")[2] for p in problems}
    problems.extend(f"{location}: {message}" for message in both if message not in said)


def _activation_variants(entries: Any, problems: list[str]) -> list[str]:
    """``[[activations]]`` tables → canonical activation strings, one per parameter combination."""
    if not isinstance(entries, list):
        problems.append("activations: must be an array of tables ([[activations]])")
        return []
    variants = []
    for i, entry in enumerate(entries):
        where = f"activations[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(f'{where}: needs name = "ACTIVATION"')
            continue
        name = entry["name"]
        try:
            spec = make_activation(name).spec
        except ActivationError as error:
            problems.append(f"{where}.name: {error}")
            continue
        sweeps: dict[str, list[Any]] = {}
        valid = True
        for key, value in entry.items():
            if key == "name":
                continue
            # a list sweeps the parameter, except for vector parameters, where a list of lists does
            vector = any(p.name == key and p.kind == "vector" for p in spec.params)
            values = (
                value if isinstance(value, list) and (not vector or (value and isinstance(value[0], list))) else [value]
            )
            for j, item in enumerate(values):
                try:
                    spec.param(key).validate(spec.name, item)  # this value alone; cross-parameter rules below
                except ActivationError as error:
                    problems.append(
                        f"{where}.{key}{f'[{j}]' if len(values) > 1 or isinstance(value, list) else ''}: {error}"
                    )
                    valid = False
            sweeps[key] = values
        if not valid:
            continue
        keys = list(sweeps)
        for combination in itertools.product(*(sweeps[k] for k in keys)):
            params = dict(zip(keys, combination, strict=True))
            try:
                act = make_activation(name, **params)
            except ActivationError as error:
                problems.append(f"{where} with {params}: {error}")
                continue
            variants.append(notation.canonical(act))
    return variants


def parse_experiment(data: dict[str, Any], source: str = "<experiment>", quick: bool = False) -> Experiment:
    """Validate and expand an experiment given as a dict (the parsed TOML); every problem is reported at once."""
    problems: list[str] = []
    name, description = _identity(data, problems)
    _define_activations(data.get("activation"), source, problems)
    sections = _sections(data, problems)
    grid = _grid(sections["grid"], problems, sections["base"])
    activations = list(grid.pop("activation", []))
    if "activations" in data:
        activations += _activation_variants(data["activations"], problems)
    if activations and "activation" in sections["base"]:
        problems.append("base.activation: give the activation in base or sweep it, not both")
    if problems:
        raise ExperimentError(source, problems)
    base = {**sections["base"], **(sections["quick"] if quick else {})}
    if activations:  # outermost, so that each activation's runs are contiguous
        grid = {"activation": list(dict.fromkeys(notation.canonical(make_activation(a)) for a in activations)), **grid}
    try:
        check_run_count(math.prod(len(values) for values in grid.values()), "the grid's combinations")
    except TooManyRuns as error:
        raise ExperimentError(source, [str(error)]) from None
    runs = _expand(base, grid, problems)
    if problems:
        raise ExperimentError(source, problems)
    if quick and sections["quick"]:
        overrides = ", ".join(f"{k} = {v}" for k, v in sections["quick"].items())
        quick_note = f"Quick variant: {overrides} (overriding the setup described)."
        description = f"{description} {quick_note}" if description else quick_note
    return Experiment(name, description, tuple(runs), tuple(k for k in grid if len(grid[k]) > 1))


def _define_activations(tables: Any, source: str, problems: list[str]) -> None:
    """The file's own ``[[activation]]`` definitions (formulas), registered so that its runs can use them."""
    if tables is None:
        return
    if not isinstance(tables, list):
        problems.append("activation: must be an array of tables ([[activation]] with name and formula)")
        return
    from actlab.catalog.plugins import define_table

    for i, table in enumerate(tables):
        try:
            define_table(table, f"activation[{i}]", source)
        except ActivationError as error:
            problems.append(str(error))


def _identity(data: dict[str, Any], problems: list[str]) -> tuple[str, str]:
    """The experiment's name and description (and any unknown top-level key)."""
    for key in sorted(set(data) - TOP_LEVEL):
        problems.append(f"{key}: unknown key (expected one of {', '.join(sorted(TOP_LEVEL))})")
    name = data.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problems.append("name: required; letters, digits, '-', '_' and '.'")
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append("description: must be a string")
    return name, description


def _sections(data: dict[str, Any], problems: list[str]) -> dict[str, dict[str, Any]]:
    """The [base], [grid] and [quick] tables, restricted to known settings; base and quick values validated."""
    sections: dict[str, dict[str, Any]] = {}
    for section in ("base", "grid", "quick"):
        value = data.get(section, {})
        if not isinstance(value, dict):
            problems.append(f"{section}: must be a table ([{section}])")
            value = {}
        for key in sorted(set(value) - SETTINGS):
            problems.append(f"{section}.{key}: unknown setting (settings: {', '.join(sorted(SETTINGS))})")
        sections[section] = {k: v for k, v in value.items() if k in SETTINGS}
    combined = {**sections["base"], **sections["quick"]}
    swept = set(TOGETHER) & set(sections["grid"])
    for section, companions in (("base", sections["base"]), ("quick", combined)):
        for key, value in sections[section].items():
            where = f"{section}.{key}"
            _note(problems, where, _setting_error(where, key, value, companions, combined=not swept))
    return sections


def _grid(table: dict[str, Any], problems: list[str], base: dict[str, Any] | None = None) -> dict[str, list[Any]]:
    """The swept settings, each a non-empty list of valid values (with the base's settings it goes with)."""
    grid: dict[str, list[Any]] = {}
    swept = set(TOGETHER) & set(table)
    for key, values in table.items():
        if not isinstance(values, list) or not values:
            problems.append(f"grid.{key}: must be a non-empty list of values to sweep")
            continue
        for j, value in enumerate(values):
            combined = not (swept - {key})
            where = f"grid.{key}[{j}]"
            _note(problems, where, _setting_error(where, key, value, base, combined))
        grid[key] = values
    return grid


def _expand(base: dict[str, Any], grid: dict[str, list[Any]], problems: list[str]) -> list[RunConfig]:
    """Every combination of the grid over the base, each run once (runs that differ only in an unused setting,
    such as μ for plain SGD, are one run)."""
    keys = list(grid)
    runs: list[RunConfig] = []
    seen: set[str] = set()
    for combination in itertools.product(*(grid[k] for k in keys)):
        values = {**base, **dict(zip(keys, combination, strict=True))}
        try:
            config = RunConfig(**values)
        except ValidationError as error:
            where = ", ".join(f"{k}={v}" for k, v in zip(keys, combination, strict=True)) or "base"
            messages = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
            problems.append(f"run with {where}: {messages}")
            continue
        if config.key() not in seen:
            seen.add(config.key())
            runs.append(config)
    return runs


def load_experiment(path: str | Path, quick: bool = False) -> Experiment:
    """Read and validate a TOML experiment file (``quick``: with its ``[quick]`` overrides, which it must have)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ExperimentError(str(path), ["file not found"]) from None
    except IsADirectoryError:
        raise ExperimentError(str(path), ["is a folder, not an experiment file (EXPERIMENT.toml)"]) from None
    except PermissionError:
        raise ExperimentError(str(path), ["permission denied"]) from None
    except UnicodeDecodeError as error:
        raise ExperimentError(
            str(path),
            [f"not UTF-8 text (byte {error.object[error.start]:#04x} at position {error.start}); TOML files are UTF-8"],
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ExperimentError(str(path), [f"not valid TOML: {error}"]) from None
    if quick and "quick" not in data:
        raise ExperimentError(
            str(path),
            [
                "--quick asks for the file's [quick] overrides, but it has no [quick] table "
                "(add one, e.g. [quick] epochs = 2, train_subset = 2000)"
            ],
        )
    return parse_experiment(_paths_from(data, path.parent), str(path), quick)


def _paths_from(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The file's own model and data files (``model = "my_models.py:build"``, ``dataset = "npz:data.npz"``) found
    relative to the experiment file's folder, as a reader of the file expects."""

    def resolve(setting: str, value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(setting, v) for v in value]
        if not isinstance(value, str):
            return value
        if setting == "model" and user_models.is_user_model(value) and ".py:" in value:
            file, _, name = value.rpartition(":")
            return f"{_beside(folder, file)}:{name}" if file else value
        if setting == "dataset" and sources.kind(value) in sources.FILE_KINDS:
            kind, _, file = value.partition(":")
            return f"{kind}:{_beside(folder, file)}"
        return value

    resolved = dict(data)
    for section in ("base", "grid", "quick"):
        if isinstance(data.get(section), dict):
            resolved[section] = {k: resolve(k, v) for k, v in data[section].items()}
    return resolved


def _beside(folder: Path, file: str) -> str:
    path = Path(file).expanduser()
    return str(path if path.is_absolute() else folder / path)
