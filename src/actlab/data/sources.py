"""Where a run's data come from: a built-in dataset by name, or a user's — ``npz:PATH`` (arrays x_train, y_train,
x_test, y_test), ``csv:PATH`` (a header row; the ``target`` column is the label), or ``arrays:DIGEST`` (arrays given to
``actlab.compare`` in this process). A user's dataset is named by its absolute path and identified by a hash of its
bytes, so an edited file is new data (new runs), never silently the old ones.

Parsing and hashing only: nothing heavy is imported here (run configurations and the store use it).
"""

from __future__ import annotations

from pathlib import Path

from actlab.choices import DATASETS
from actlab.data.download import DatasetError

FILE_KINDS = ("npz", "csv")
ARRAYS = "arrays"


def kind(name: str) -> str:
    """``builtin``, ``npz``, ``csv`` or ``arrays``."""
    prefix, sep, _ = name.partition(":")
    return prefix if sep and prefix in (*FILE_KINDS, ARRAYS) else "builtin"


def is_user_data(name: str) -> bool:
    return kind(name) != "builtin"


def canonical(name: str) -> str:
    """The dataset as a run stores it: built-ins by name, files by absolute path (which must exist)."""
    which = kind(name)
    if which == "builtin":
        if name not in DATASETS:
            raise DatasetError(
                f"unknown dataset {name!r}; available: {', '.join(DATASETS)}, or your own as npz:PATH or csv:PATH"
            )
        return name
    body = name.partition(":")[2]
    if which == ARRAYS:
        return name
    path = Path(body).expanduser()
    if not body or not path.is_file():
        raise DatasetError(f"dataset file {body or '(none given)'} does not exist ({which}:PATH names a file)")
    return f"{which}:{path.resolve()}"


def digest(name: str) -> str | None:
    """A hash of a user's data (the file's bytes; an arrays name carries its own), None for a built-in."""
    which = kind(name)
    if which == "builtin":
        return None
    if which == ARRAYS:
        return name.partition(":")[2]
    from actlab.data.user_data import file_digest

    return file_digest(name.partition(":")[2])[:16]
