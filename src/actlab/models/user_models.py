"""Users' own models: a ``build(act)`` function in a Python file (``my_models.py:build``) or an importable module
(``my_package.models:build``), or — from Python — an ``nn.Module`` to swap the activations of, or a build function,
registered for this process (``python:Net#3f2a…``).

``build(act)`` returns a new ``nn.Module``; ``act()`` returns a new activation module each time it is called, so every
place the model applies an activation gets its own. A run's configuration names the model by a reference and keeps a
hash of its source (the file's bytes and those of the local modules it imports, or a fingerprint of the registered
object: :func:`actlab.models.fingerprint.fingerprint`), so a changed model is a new run.

This module is torch-free until a model is built (run configurations and the store read references only).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import importlib.util
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actlab.models.spec import ModelError

PYTHON = "python:"
_REFERENCE = re.compile(r"^(?P<source>[^:]+(?:\.py)?):(?P<name>[A-Za-z_]\w*)$")
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_BUILT_IN = ("mlp", "cnn")

Builder = Callable[[Any], Any]  # build(activation) -> nn.Module (see ModelSource.build)


def is_user_model(text: str) -> bool:
    """Whether ``text`` names a user's model rather than one of actlab's architectures (mlp:…, cnn:…)."""
    kind = text.strip().partition(":")[0].strip().lower()
    return kind not in _BUILT_IN and (text.startswith(PYTHON) or ":" in text)


@dataclass(frozen=True)
class Reference:
    """A parsed reference: the source (an absolute file path, a module name, or ``python:``) and the attribute."""

    source: str
    name: str

    @property
    def is_file(self) -> bool:
        return self.source.endswith(".py")

    def __str__(self) -> str:
        return f"{self.source}:{self.name}"


def parse_reference(text: str) -> Reference:
    """``my_models.py:build`` (made absolute), ``pkg.models:build`` or ``python:Name#digest``; a clear error else."""
    text = text.strip()
    if text.startswith(PYTHON):
        if text not in _registry:
            raise ModelError(
                f"model {text!r} was given to actlab.compare in another process; pass the model again (or put a "
                "build(act) function in a file and name it FILE.py:build)"
            )
        return Reference("python", text[len(PYTHON) :])
    match = _REFERENCE.match(text)
    if match is None:
        raise ModelError(
            f"model {text!r}: use mlp:UNITS,…, cnn:CHANNELS|p|dUNITS,…, or your own as FILE.py:FUNCTION or "
            "package.module:FUNCTION (a build(act) function)"
        )
    source, name = match["source"], match["name"]
    if source.endswith(".py"):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ModelError(f"model file {source} does not exist")
        return Reference(str(path.resolve()), name)
    if not _MODULE.match(source):
        raise ModelError(f"model {text!r}: {source!r} is neither a .py file nor a module name like package.models")
    return Reference(source, name)


def display(text: str) -> str:
    """A short name for titles: ``Net (given to compare)`` for a registered model or ``arrays:…`` data."""
    if text.startswith(PYTHON):
        return f"{text[len(PYTHON) :].partition('#')[0]} (the model given to compare)"
    if text.startswith("arrays:"):
        return "your arrays"
    return text


def canonical(text: str) -> str:
    """The reference as a run stores it (files by absolute path)."""
    reference = parse_reference(text)
    return PYTHON + reference.name if reference.source == "python" else str(reference)


def digest(text: str) -> str:
    """A hash of what the reference builds: the file's (or the module's file's) bytes and those of the modules beside
    it that it imports (:func:`local_sources`: an edited helper module is a changed model); the registered
    object's. A file that imports nothing beside it hashes as its bytes alone."""
    reference = parse_reference(text)
    if reference.source == "python":
        return reference.name.rpartition("#")[2]
    path = Path(reference.source) if reference.is_file else _module_file(reference.source)
    files = local_sources(path)
    if len(files) == 1:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    hashed = hashlib.sha256()
    for file in files:
        hashed.update(f"{file.relative_to(path.parent) if file.is_relative_to(path.parent) else file}\0".encode())
        hashed.update(hashlib.sha256(file.read_bytes()).digest())
    return hashed.hexdigest()[:16]


def local_sources(path: Path) -> list[Path]:
    """``path`` and the Python files beside it that it imports, and that those import in turn (found by reading the
    import statements, not by running them): ``import helpers``, ``from helpers import WIDTH``, ``from .layers
    import Block`` and ``from . import layers`` where that file (or package ``__init__.py``) is in the folder.
    Installed packages are not followed: their versions are the environment's business."""
    found: list[Path] = []
    todo = [path.resolve()]
    while todo:
        file = todo.pop()
        if file in found:
            continue
        found.append(file)
        try:
            tree = ast.parse(file.read_bytes())
        except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
            continue  # building the model reports what is wrong with it
        for node in ast.walk(tree):
            for name, folder in _imported(node, file.parent):
                for candidate in (
                    folder / f"{name.replace('.', '/')}.py",
                    folder / name.replace(".", "/") / "__init__.py",
                ):
                    if candidate.is_file():
                        todo.append(candidate.resolve())
    return [found[0], *sorted(found[1:])]


def _imported(node: ast.AST, folder: Path) -> list[tuple[str, Path]]:
    """The modules an import statement names, each with the folder it would be found in if it is a local file."""
    if isinstance(node, ast.Import):
        return [(alias.name, folder) for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = folder
    for _ in range(max(0, node.level - 1)):
        base = base.parent
    if node.module:
        names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    else:
        names = [alias.name for alias in node.names]  # from . import layers
    return [(name, base) for name in names]


def _module_file(module: str) -> Path:
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError) as error:
        raise ModelError(f"model module {module!r} cannot be found: {error}") from None
    if found is None or not found.origin or not Path(found.origin).is_file():
        raise ModelError(f"model module {module!r} cannot be found (is it installed, or on PYTHONPATH?)")
    return Path(found.origin)


# --- building --------------------------------------------------------------------------------------------------
_registry: dict[str, Builder] = {}


def register(name: str, builder: Builder, fingerprint: str) -> str:
    """Register ``builder`` for this process as ``python:name#fingerprint``; returns the reference."""
    reference = f"{PYTHON}{name}#{fingerprint}"
    _registry[reference] = builder
    return reference


def builder_for(text: str) -> Builder:
    """The ``build(act)`` function a reference names (a file is executed, a module imported: errors are one line)."""
    reference = parse_reference(text)
    if reference.source == "python":
        return _registry[PYTHON + reference.name]
    if reference.is_file:
        module = _load_file(Path(reference.source))
    else:
        try:
            with _announced(f"model module {reference.source}"):
                module = importlib.import_module(reference.source)
        except Exception as error:
            raise ModelError(
                f"model module {reference.source} fails to import: {type(error).__name__}: {error}"
            ) from None
        except SystemExit as error:  # sys.exit() while importing would end the command without a word
            raise ModelError(f"model module {reference.source} called sys.exit({error.code!r}) while loading") from None
    build = getattr(module, reference.name, None)
    if build is None:
        public = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise ModelError(
            f"{reference.source} has no {reference.name!r}; its functions and classes: {', '.join(public) or 'none'}"
        )
    if not callable(build):
        raise ModelError(f"{reference}: {reference.name} is not a function (it should be build(act) -> nn.Module)")
    return build


def _load_file(path: Path) -> Any:
    """Execute a model file as a module, with its folder importable (as ``python FILE.py`` would have it: the
    modules beside it are part of it, see :func:`digest`), the same in every process that builds it."""
    name = "actlab_user_model_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"model file {path} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # kept: build() may import its neighbours when it is called
    sys.modules[name] = module  # pickling a model whose classes live in the file finds them here
    try:
        with _announced(f"model file {path}"):
            spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise ModelError(f"model file {path} raises on import: {type(error).__name__}: {error}") from None
    except SystemExit as error:  # sys.exit() while loading would end the command without a word
        del sys.modules[name]
        raise ModelError(f"model file {path} called sys.exit({error.code!r}) while loading") from None
    return module


SLOW_LOAD = 5.0  # seconds: a model still loading after this is announced


@contextlib.contextmanager
def _announced(what: str) -> Iterator[None]:
    """Within the block, say on stderr what is loading if it takes more than :data:`SLOW_LOAD` seconds (a model
    file runs its module-level code, which may hang); Ctrl-C stops it."""
    timer = threading.Timer(
        SLOW_LOAD,
        lambda: sys.stderr.write(
            f"still loading {what} after {SLOW_LOAD:g} s (its module-level code runs); Ctrl-C stops\n"
        ),
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
