"""JSON that people and other tools read (``--json`` output, report.json, results.json): standard JSON, where a
non-finite float (a diverged loss, an unbounded range end) is null — Python's ``Infinity``/``NaN`` extensions are not
JSON, and jq, browsers and most parsers reject them. The store keeps its own JSON, read back by Python alone."""

from __future__ import annotations

import json
import math
from typing import Any


def finite_or_null(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth of dicts, lists and tuples, replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    return value


def dumps(value: Any, indent: int | None = 2) -> str:
    """Standard JSON text of ``value`` (non-finite floats as null), non-ASCII characters kept."""
    return json.dumps(finite_or_null(value), indent=indent, ensure_ascii=False, allow_nan=False)
