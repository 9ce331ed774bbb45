"""Importing Keras for ``actlab.keras``: one clear error where it is missing, and the backend it runs on.

Keras is an optional extra: ``import actlab`` never imports it, and ``import actlab.keras`` without Keras 3 raises
:class:`KerasMissingError` (an :class:`~actlab.errors.ActlabError` and an ``ImportError``) saying what to install.

The backend: a choice the user made is kept (``KERAS_BACKEND``, Keras already imported, or a backend named in
``keras.json`` whose package is installed). Otherwise actlab picks torch, which it always has. Keras writes
``keras.json`` naming TensorFlow on its first import, so a file naming a backend that is not installed is Keras'
default rather than a choice, and obeying it would only fail the import.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from actlab.errors import ActlabError

INSTALL = 'actlab.keras needs Keras 3: install actlab[keras] (pip install "actlab[keras]")'
DEFAULT_BACKEND = "torch"
# The package each Keras backend imports.
_BACKEND_PACKAGES = {
    "jax": "jax",
    "tensorflow": "tensorflow",
    "torch": "torch",
    "numpy": "numpy",
    "openvino": "openvino",
}


class KerasMissingError(ActlabError, ImportError):
    """Keras 3 (or the backend it was told to use) cannot be imported."""


def config_path(environ: Mapping[str, str]) -> str:
    """Where Keras reads ``keras.json``: ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` if home is read-only)."""
    if "KERAS_HOME" in environ:
        folder = environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        folder = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    return os.path.expanduser(os.path.join(folder, "keras.json"))


def configured_backend(environ: Mapping[str, str]) -> str | None:
    """The backend ``keras.json`` names, or None (no file, unreadable, or no backend in it)."""
    try:
        with open(config_path(environ)) as file:
            backend = json.load(file).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) and backend else None


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def choose_backend(
    environ: Mapping[str, str],
    modules: Mapping[str, Any],
    installed: Callable[[str], bool] = _installed,
) -> str | None:
    """The backend to put in ``KERAS_BACKEND`` before importing Keras, or None to leave Keras' choice alone
    (see the module docstring)."""
    if environ.get("KERAS_BACKEND") or modules.get("keras") is not None:
        return None
    named = configured_backend(environ)
    if named is not None and installed(_BACKEND_PACKAGES.get(named, named)):
        return None
    return DEFAULT_BACKEND


def import_keras() -> ModuleType:
    """``keras``, imported on the chosen backend; :class:`KerasMissingError` if Keras 3 or its backend is missing."""
    backend = choose_backend(os.environ, sys.modules)
    if backend is not None:
        os.environ["KERAS_BACKEND"] = backend
    try:
        keras = importlib.import_module("keras")
    except ImportError as error:
        if error.name in (None, "keras") or not _installed("keras"):
            raise KerasMissingError(INSTALL) from None
        if error.name in _BACKEND_PACKAGES.values():
            raise KerasMissingError(
                f"Keras could not load its backend ({error}); set KERAS_BACKEND to an installed one (actlab has torch)"
            ) from None
        raise KerasMissingError(f"{INSTALL}; importing Keras failed: {error}") from None
    version = getattr(keras, "__version__", "0")
    if int(version.split(".")[0]) < 3:
        raise KerasMissingError(f"{INSTALL}; Keras {version} is installed")
    return keras
