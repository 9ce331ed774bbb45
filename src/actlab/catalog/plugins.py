"""Where user-defined activations come from, and how a run's stored definition defines one again.

- TOML files of ``[[activation]]`` tables (:mod:`actlab.catalog.formula`), and the same tables inside experiment files;
- Python files that register specs written against the array namespace like the built-ins
  (``actlab.register(ActivationSpec(...))``) or call ``actlab.define(...)``;
- ``--plugins FILE`` on every command, the ``ACTLAB_PLUGINS`` environment variable (files separated by ``os.pathsep``),
  and installed packages' entry points in the group ``actlab.activations`` (each a callable that registers them).

A spec registered here carries its definition's text: a formula's canonical JSON, or a Python file's path and
content hash. A run stores it, so a worker process (or another machine) defines the activation again from the run
alone, and a changed formula is a new run.

A Python plugin is code that runs. A stored run's definition names its file, but a store may come from anyone: a run
is defined again from a Python file only when this process was given that file (loaded it as a plugin — ``--plugins``,
``ACTLAB_PLUGINS``, an entry point — or was handed the trust of the process that did, see :func:`trusted`), or was
told to trust the store (:func:`trust`, ``--trust-store``). Reading results never defines anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from actlab.catalog.spec import REGISTRY, ActivationError, ActivationSpec
from actlab.errors import ActlabError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ENTRY_POINTS = "actlab.activations"
ENVIRONMENT = "ACTLAB_PLUGINS"


class PluginError(ActlabError):
    """A plugin file that does not exist, is not TOML or Python, or fails to load."""


class UntrustedError(ActivationError):
    """A stored run names a Python file that this process was not given: it is not run."""


_loading: list[Path] = []  # the Python plugin files being executed (innermost last)
_installed_loaded = False
_given: dict[str, str] = {}  # Python plugin files this process was given (resolved path → content hash when given)
_trust_store = False  # --trust-store: run the Python files stored runs name


def trusted() -> tuple[dict[str, str], bool]:
    """What this process may run of what stored runs name: the Python plugin files it was given (path → hash) and
    whether it trusts the store; handed to worker processes and Ray tasks (:func:`trust`)."""
    return dict(_given), _trust_store


def trust(files: Mapping[str, str] = {}, store: bool = False) -> None:  # noqa: B006 - read only
    """Allow this process to define stored runs' activations from ``files`` (path → content hash) and, with
    ``store``, from any Python file a stored run names."""
    global _trust_store
    _given.update(files)
    _trust_store = _trust_store or store


def define_table(table: Mapping[str, Any], where: str = "activation", source: str | None = None) -> ActivationSpec:
    """Register the activation of an ``[[activation]]`` table (or keyword arguments); returns its spec."""
    from actlab.catalog.formula import build_spec, parse_definition

    definition = parse_definition(table, where)
    existing = _registered(definition.name)
    if existing is not None and existing.definition == definition.canonical():
        return existing
    REGISTRY.check_free(definition.name)  # before the (slower) derivation: a taken name is the first thing to say
    return REGISTRY.register(build_spec(definition, source))


def _registered(name: str) -> ActivationSpec | None:
    try:
        return REGISTRY.get(name)
    except ActivationError:
        return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def register_python(spec: ActivationSpec) -> ActivationSpec:
    """Register a spec written in Python. Inside a plugin file it is defined by that file (path and content hash, so
    that other processes load the file again); elsewhere by a hash of its code, for this process alone."""
    if _loading:
        path = _loading[-1]
        definition = {"kind": "python", "name": spec.name, "file": str(path), "sha256": _sha256(path)}
        source = str(path)
    else:
        code = [getattr(f, "__code__", None) for f in (spec.forward, spec.derivative)]
        digest = hashlib.sha256(b"".join(c.co_code + repr(c.co_consts).encode() for c in code if c)).hexdigest()
        definition = {"kind": "python", "name": spec.name, "file": None, "sha256": digest}
        source = "python"
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return REGISTRY.register(replace(spec, definition=text, source=source))


def load(path: str | os.PathLike) -> list[str]:
    """Load a plugin file (TOML or Python); returns the names of the activations it defines."""
    path = Path(path)
    if not path.is_file():
        raise PluginError(f"plugin file {path} does not exist" if not path.exists() else f"plugin {path} is not a file")
    before = set(REGISTRY.names())
    if path.suffix == ".toml":
        _load_toml(path)
    elif path.suffix == ".py":
        _load_python(path)
    else:
        raise PluginError(f"plugin {path}: a plugin is a .toml file of [[activation]] tables or a .py file")
    return sorted(set(REGISTRY.names()) - before) or _defined_in(path)


def _defined_in(path: Path) -> list[str]:
    return [n for n in REGISTRY.names() if REGISTRY.get(n).source == str(path.resolve())]


def _load_toml(path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise PluginError(f"plugin {path}: not valid TOML ({error})") from None
    tables = data.get("activation", [])
    unknown = sorted(set(data) - {"activation"})
    if unknown or not isinstance(tables, list) or not tables:
        raise PluginError(
            f"plugin {path}: expected [[activation]] tables (name, formula, params, …)"
            + (f"; unknown keys {', '.join(unknown)}" if unknown else "")
        )
    define_tables(tables, str(path.resolve()), where=f"{path}: activation")


def define_tables(tables: list, source: str, where: str = "activation") -> list[ActivationSpec]:
    """Register every ``[[activation]]`` table; each problem names its table."""
    return [define_table(table, f"{where}[{i}]", source) for i, table in enumerate(tables)]


def _load_python(path: Path) -> None:
    resolved = path.resolve()
    if any(
        REGISTRY.get(n).definition
        and json.loads(REGISTRY.get(n).definition).get("file") == str(resolved)
        and json.loads(REGISTRY.get(n).definition).get("sha256") == _sha256(resolved)
        for n in REGISTRY.names()
    ):
        return  # already loaded, unchanged
    _loading.append(resolved)
    _given[str(resolved)] = _sha256(resolved)
    try:
        runpy.run_path(str(resolved), run_name=f"actlab_plugin_{resolved.stem}")
    except ActlabError:
        raise
    except Exception as error:  # the plugin's own code failed: say which file and how
        raise PluginError(f"plugin {path} raised {type(error).__name__}: {error}") from None
    except SystemExit as error:  # sys.exit() in a plugin would end the command without a word
        raise PluginError(f"plugin {path} called sys.exit({error.code!r}) while loading") from None
    finally:
        _loading.pop()


def load_installed() -> None:
    """Once per process: the files named by ``ACTLAB_PLUGINS`` and the installed packages' entry points."""
    global _installed_loaded
    if _installed_loaded:
        return
    _installed_loaded = True
    for entry in filter(None, os.environ.get(ENVIRONMENT, "").split(os.pathsep)):
        load(entry)
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=ENTRY_POINTS):
        try:
            target = entry_point.load()
            if callable(target):
                target()
        except ActlabError:
            raise
        except Exception as error:
            raise PluginError(
                f"entry point {entry_point.name} ({entry_point.value}) raised {type(error).__name__}: {error}"
            ) from None


def spec_named(name: str, definition: str | None, chosen: bool = True) -> ActivationSpec:
    """The spec of a pickled activation: a built-in by name, a user's by its definition (defined again in a process
    that lacks it, from its Python file too: unpickling runs what the pickle says, which its loader ``chosen``; a
    config read as data — a Keras file — passes False, see :func:`ensure_defined`)."""
    return ensure_defined(definition, chosen=chosen) if definition else REGISTRY.get(name)


def ensure_defined(definition: str, chosen: bool = False) -> ActivationSpec:
    """The activation a run's stored ``definition`` defines, registered now if this process lacks it; an error if
    this process knows the name under another definition. A Python file is run only if this process was given it,
    trusts the store, or the caller ``chosen`` the definition itself (an object it unpickles)."""
    try:
        record = json.loads(definition)
        name, kind = record["name"], record["kind"]
    except (ValueError, KeyError, TypeError):
        raise ActivationError(f"not an activation definition: {definition[:80]!r}") from None
    existing = _registered(name)
    if existing is not None:
        if existing.definition != definition:
            raise ActivationError(
                f"activation {name!r} is defined differently here ({existing.source or 'built in'}) than in the run"
            )
        return existing
    if kind == "formula":
        from actlab.catalog.formula import build_spec, from_canonical

        return REGISTRY.register(build_spec(from_canonical(definition), "a stored run"))
    if kind == "python" and record.get("file"):
        path = Path(record["file"])
        if not (chosen or _trust_store or str(path) in _given):
            raise UntrustedError(
                f"activation {name!r} of a stored run is defined by the Python file {path}, which this command was "
                f"not given: a .py plugin is code that runs, so actlab does not run one a store names. If you trust "
                f"it, load it with --plugins {path} (or pass --trust-store)"
            )
        if not path.is_file() or _sha256(path) != record["sha256"]:
            raise ActivationError(
                f"activation {name!r} comes from {path}, which is not here as it was when the run "
                "was defined (missing or changed)"
            )
        load(path)
        return REGISTRY.get(name)
    raise ActivationError(
        f"activation {name!r} was defined in Python outside a plugin file; only the process that "
        "defined it can train it (put it in a plugin file, or train in one process)"
    )
