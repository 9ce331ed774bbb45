"""Where actlab keeps what it can compute again (``$XDG_CACHE_HOME/actlab`` or ``~/.cache/actlab``), and how such a
file is written: whole or not at all, so that processes sharing it never read half of one."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "actlab"


def write_json(path: Path, data: Any, **options: Any) -> None:
    """``data`` as JSON (``json.dump``'s ``options``) at ``path``, atomically: a temporary file beside it, renamed."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, **options)
            out.write("\n")
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
