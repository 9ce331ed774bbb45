"""``actlab search space``: how many candidates a space has, what screening leaves of them, and the best by proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actlab.search import enumeration
from actlab.search.screen import REASONS, Screening, screen
from actlab.search.space import SearchSpaceError, Space, load_space

# Screening costs ~10–100 ms a candidate: a space larger than this is previewed on a seeded sample of this size
DEFAULT_SAMPLE = 500


def preview(space: Space, sample: int | None = None, seed: int = 0, top: int = 10) -> dict[str, Any]:
    """Screen ``space`` (all of it, or ``sample`` candidates drawn by ``seed``; a space over :data:`DEFAULT_SAMPLE`
    candidates is sampled to that size when ``sample`` is None) and summarise it as a JSON-ready record."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise SearchSpaceError(f"--top must be a positive number, got {top!r}")
    total = enumeration.count(space)
    size = sample if sample is not None else min(total, DEFAULT_SAMPLE)
    indices = enumeration.sample_indices(space, size, seed)
    result = screen((enumeration.tree_at(space, i) for i in indices), space)
    return _record(space, total, len(indices) < total, seed, result, top)


def _record(space: Space, total: int, sampled: bool, seed: int, result: Screening, top: int) -> dict[str, Any]:
    schemas = [{"schema": s.text, "candidates": enumeration.schema_count(space, s.root)} for s in space.schemas]
    return {
        "space": space.name,
        "candidates": total,
        "schemas": schemas,
        "operators": {"unary": len(space.unary), "binary": len(space.binary)},
        "sampled": sampled,
        "seed": seed if sampled else None,
        **result.as_dict(),
        "reasons": {k: v for k, v in REASONS.items() if k in result.refused or k in result.filtered},
        "top": [{"rank": i + 1, **c.as_dict()} for i, c in enumerate(result.survivors[:top])],
    }


def preview_file(path: str | Path | None, sample: int | None, seed: int, top: int) -> dict[str, Any]:
    """:func:`preview` of the space in ``path`` (the default space when None)."""
    return preview(load_space(path), sample, seed, top)
