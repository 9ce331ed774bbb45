"""`actlab check` results kept by definition: checking is deterministic, so an activation checked once (with these
parameters, by this version of the code) need not be checked again — `compare` reuses what `check` found.

The key hashes what decides the outcome: the activation's definition (a user's formula or plugin; for a built-in, its
name), its parameters, ``fused``, and the source of the code that computes and checks it (``actlab/catalog``,
``actlab/backends``, ``actlab/verify``, the catalog data files). Reports are files in ``~/.cache/actlab/checks``,
each written to a temporary name and renamed (concurrent processes never read half of one).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from actlab.activation import Activation
from actlab.paths import cache_dir, write_json
from actlab.verify.check import CheckResult, Report, check

VERSION = "1"


@functools.cache
def code_digest() -> str:
    """A hash of the source that computes activations and checks them."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(VERSION.encode())
    for folder, pattern in (("catalog", "*.py"), ("catalog/data", "*.toml"), ("backends", "*.py"), ("verify", "*.py")):
        for path in sorted((root / folder).glob(pattern)):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def key(act: Activation, fused: bool) -> str:
    spec = act.spec
    record = [spec.name, spec.definition, json.dumps(act.params, sort_keys=True, default=list), fused, code_digest()]
    return hashlib.sha256(json.dumps(record).encode()).hexdigest()[:32]


def folder() -> Path:
    return cache_dir() / "checks"


def load(digest: str) -> Report | None:
    try:
        record = json.loads((folder() / f"{digest}.json").read_text(encoding="utf-8"))
        results = tuple(CheckResult(r["check"], bool(r["passed"]), r["detail"]) for r in record["checks"])
        return Report(record["activation"], results, record["measured"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(digest: str, report: Report) -> None:
    with contextlib.suppress(OSError):
        folder().mkdir(parents=True, exist_ok=True)
        write_json(folder() / f"{digest}.json", report.to_dict())


def checked(act: Activation, fused: bool = False, refresh: bool = False) -> tuple[Report, bool]:
    """The check report of ``act`` and whether it came from the cache (``refresh``: check again regardless)."""
    digest = key(act, fused)
    if not refresh:
        found = load(digest)
        if found is not None:
            return found, True
    report = check(act, fused=fused)
    save(digest, report)
    return report, False


def as_record(report: Report, cached: bool) -> dict[str, Any]:
    return {**report.to_dict(), "cached": cached}
