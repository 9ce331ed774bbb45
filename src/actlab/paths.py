"""Where actlab keeps what it can compute again: ``$XDG_CACHE_HOME/actlab`` or ``~/.cache/actlab``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "actlab"
