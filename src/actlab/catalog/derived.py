"""What SymPy derives from a formula definition, computed once and kept.

Deriving an activation from its formula (stable rewrites, the exact derivative and ∂f/∂parameter, LaTeX, measured
properties) takes SymPy a second or more; a catalog of hundreds of formula entries cannot pay that at every start.
So the result is stored, keyed by a hash of the definition's canonical text and of :data:`MACHINERY` (the version of
the derivation itself):

- in the package, ``catalog/data/derived.json``, for every catalog data entry (written by ``make catalog-data``);
- in the user's cache, ``~/.cache/actlab/derived/KEY.json``, for everything else (users' formulas, a data entry
  edited since): each file written whole to a temporary name and renamed, so concurrent processes never read half a
  file and at worst derive the same thing twice.

Expressions are kept as SymPy's ``srepr`` text and read back by :func:`actlab.catalog.expressions.from_srepr`, which
accepts only the node types a formula can contain: a cache file can never run code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actlab.catalog.spec import Properties
from actlab.paths import cache_dir, write_json

MACHINERY = "4"  # bump when the rewrites, differentiation or measurement change what is derived
PACKAGED = Path(__file__).parent / "data" / "derived.json"


@dataclass(frozen=True)
class Derived:
    """A formula's derivation: ``srepr`` texts of the formula as written (``expression``), its stable form
    (``forward``), its derivative and the partials of learnable parameters, LaTeX of f and f′, and its properties."""

    expression: str
    forward: str
    derivative: str
    formula_tex: str
    derivative_tex: str
    properties: Properties
    partials: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record["properties"] = {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self.properties).items()
        }
        record["properties"]["range"] = [_finite_or_text(v) for v in self.properties.range]
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Derived:
        props = dict(record["properties"])
        props["range"] = tuple(float(v) for v in props["range"])
        props["kinks"] = tuple(props.get("kinks", ()))
        props["attains"] = tuple(props.get("attains", (True, True)))
        props["poles"] = tuple(props.get("poles", ()))
        return cls(**{**record, "properties": Properties(**props), "partials": dict(record.get("partials", {}))})


def _finite_or_text(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)  # "inf"/"-inf": float() reads them back; JSON stays valid


def key(canonical: str) -> str:
    """The cache key of a definition's canonical text."""
    return hashlib.sha256(f"actlab-derived:{MACHINERY}:{canonical}".encode()).hexdigest()[:32]


@functools.cache
def packaged() -> dict[str, dict[str, Any]]:
    """The derivations shipped with the package (empty where the file is absent)."""
    try:
        return json.loads(PACKAGED.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def user_cache() -> Path:
    return cache_dir() / "derived"


def lookup(digest: str) -> Derived | None:
    """The stored derivation under ``digest``: shipped, else cached; None where there is none (or it is unreadable)."""
    record = packaged().get(digest)
    if record is None:
        try:
            record = json.loads((user_cache() / f"{digest}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
    try:
        return Derived.from_json(record)
    except (KeyError, TypeError, ValueError):
        return None  # a file from another version of this format: derive again


def store(digest: str, derived: Derived) -> None:
    """Keep ``derived`` in the user's cache, atomically (a temporary file renamed); a cache that cannot be written
    (a read-only home) only costs the next process the derivation."""
    folder = user_cache()
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / f"{digest}.json", derived.to_json())
