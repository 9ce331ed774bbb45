"""What defines a formula activation, read and validated without SymPy: a user's ``[[activation]]`` table (or
``actlab.define``'s arguments) and what a catalog data entry adds (family, class, aliases, reference)."""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actlab.catalog.spec import ActivationError, Reference
from actlab.choices import INITS

DEFINITION_KEYS = {"name", "formula", "params", "description", "reference", "derivative", "init"}
PARAM_KEYS = {"default", "min", "max", "learnable", "doc"}


@dataclass(frozen=True)
class ParamDefinition:
    default: float
    minimum: float | None = None
    maximum: float | None = None
    learnable: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Definition:
    """What a user writes to define an activation."""

    name: str
    formula: str
    params: dict[str, ParamDefinition] = field(default_factory=dict)
    description: str = ""
    reference: str = ""
    derivative: str | None = None
    init: str = "he_normal"

    def canonical(self) -> str:
        """The definition as canonical JSON: what a run stores and what defines it again."""
        params = {
            k: {"default": p.default, "min": p.minimum, "max": p.maximum, "learnable": p.learnable}
            for k, p in sorted(self.params.items())
        }
        record = {
            "kind": "formula",
            "name": self.name,
            "formula": self.formula,
            "params": params,
            "derivative": self.derivative,
            "init": self.init,
        }
        return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ActivationError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    """A true/false setting, which must be written as one: bool("false") is True, so a string is refused."""
    if not isinstance(value, bool):
        raise ActivationError(f"{where} must be true or false, got {value!r}")
    return value


def parse_params(raw: Any, where: str) -> dict[str, ParamDefinition]:
    """``{alpha = 1.0}`` or ``{alpha = {default = 1.0, min = 0, learnable = true}}`` → parameter definitions."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ActivationError(f"{where}.params must be a table of name = default (or name = {{default = …}})")
    params = {}
    for name, value in raw.items():
        at = f"{where}.params.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in ("x", "pi", "E"):
            raise ActivationError(f"{at}: a parameter needs a name other than x, pi and E")
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - PARAM_KEYS)
            if unknown:
                raise ActivationError(f"{at}: unknown keys {', '.join(unknown)} (use {', '.join(sorted(PARAM_KEYS))})")
            if "default" not in value:
                raise ActivationError(f"{at}: needs a default value (default = …)")
            minimum = None if value.get("min") is None else _number(value["min"], f"{at}.min")
            maximum = None if value.get("max") is None else _number(value["max"], f"{at}.max")
            params[name] = ParamDefinition(
                _number(value["default"], f"{at}.default"),
                minimum,
                maximum,
                value.get("learnable") is not None and _flag(value["learnable"], f"{at}.learnable"),
                str(value.get("doc", "")),
            )
        else:
            params[name] = ParamDefinition(_number(value, f"{at} (its default)"))
        p = params[name]
        if p.minimum is not None and p.maximum is not None and p.minimum > p.maximum:
            raise ActivationError(f"{at}: min {p.minimum:g} is greater than max {p.maximum:g}; swap them")
        if (p.minimum is not None and p.default < p.minimum) or (p.maximum is not None and p.default > p.maximum):
            raise ActivationError(f"{at}: the default {p.default:g} is outside [{p.minimum}, {p.maximum}]")
    return params


def parse_definition(table: Mapping[str, Any], where: str = "activation") -> Definition:
    """A ``[[activation]]`` table (or the same as keyword arguments) → a :class:`Definition`."""
    if not isinstance(table, Mapping):
        raise ActivationError(f"{where}: must be a table with name and formula")
    unknown = sorted(set(table) - DEFINITION_KEYS)
    if unknown:
        raise ActivationError(f"{where}: unknown keys {', '.join(unknown)} (use {', '.join(sorted(DEFINITION_KEYS))})")
    for key in ("name", "formula"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise ActivationError(f'{where}: needs {key} = "…"')
    init = table.get("init", "he_normal")
    if init not in INITS:
        raise ActivationError(f"{where}.init: {init!r}; use one of {', '.join(INITS)}")
    derivative = table.get("derivative")
    if derivative is not None and not isinstance(derivative, str):
        raise ActivationError(f"{where}.derivative must be a formula (a string)")
    return Definition(
        table["name"].strip(),
        table["formula"].strip(),
        parse_params(table.get("params"), where),
        str(table.get("description", "")),
        str(table.get("reference", "")),
        derivative.strip() if derivative else None,
        init,
    )


def from_canonical(text: str) -> Definition:
    """The :class:`Definition` of :meth:`Definition.canonical` text."""
    record = json.loads(text)
    params = {
        k: {"default": v["default"], "min": v["min"], "max": v["max"], "learnable": v["learnable"]}
        for k, v in record["params"].items()
    }
    return parse_definition(
        {
            "name": record["name"],
            "formula": record["formula"],
            "params": params,
            "derivative": record.get("derivative"),
            "init": record.get("init", "he_normal"),
        }
    )


def user_reference(text: str, description: str, name: str) -> Reference:
    """Where a user's activation comes from: an arXiv id or a URL in ``text``, else the text itself."""
    year = datetime.date.today().year
    arxiv = re.search(r"arXiv:\s*([0-9]{4}\.[0-9]{4,5})", text or "", re.I)
    url = re.search(r"https?://\S+", text or "")
    venue = "" if arxiv or url else text
    return Reference(
        title=description or f"{name} (user-defined)",
        authors="user-defined",
        year=year,
        venue=venue,
        arxiv=arxiv.group(1) if arxiv else None,
        url=url.group(0) if url else None,
    )


@dataclass(frozen=True)
class Entry:
    """What a catalog data entry adds to its :class:`Definition` (see :mod:`actlab.catalog.entries`)."""

    family: str
    category: str
    aliases: dict[str, tuple[str, ...]]
    reference: Reference
    notes: str = ""
