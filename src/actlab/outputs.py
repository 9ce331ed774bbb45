"""Where commands write: output folders and files checked before any work is done, so that a bad path is one
clear error up front — never a traceback after minutes of training, never a half-written result."""

from __future__ import annotations

import os
from pathlib import Path

from actlab.errors import ActlabError


class OutputError(ActlabError):
    """An output path that cannot be written."""


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def output_folder(path: str | os.PathLike) -> Path:
    """``path`` as a writable folder (:func:`writable_folder`), created (with its parents) if absent."""
    path = writable_folder(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the folder {path}: {_reason(error)}") from None
    return path


def writable_folder(path: str | os.PathLike) -> Path:
    """``path`` checked to be a folder that :func:`output_folder` can create or write into, creating nothing: for a
    check before work whose own checks may still fail (an error then leaves no empty folder behind)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} exists and is not a folder: choose a folder for the output")
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot create the folder {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot {'write into' if existing == path.absolute() else 'create the folder'} {path}: permission denied"
        )
    return path


def output_file(path: str | os.PathLike, suffix: str | None = None) -> Path:
    """``path`` as a file that can be written (its folder created if absent), with ``suffix`` if given."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder: give a file name")
    if suffix is not None and path.suffix.lower() != suffix:
        raise OutputError(f"the output must be a {suffix} file, got {path}")
    output_folder(path.parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write {path}: permission denied")
    return path
