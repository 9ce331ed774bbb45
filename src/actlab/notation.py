"""The activation text notation, in one place: as on the command line, in experiment files, in the store's keys,
in reports, and in ``actlab.activation("hard_swish:n=4")``.

``hard_swish:n=4`` is one activation with a parameter; parameters are separated by ':'
(``relu:max_value=6:threshold=0.5``); vector parameters are bracketed (``apl:a=[0.2,-0.1]:b=[0,1]``); ``none`` is
None. A list is comma-separated at the top level: ``relu,mish,hard_swish:n=4``.

Three renderings of a configured activation (anything with a ``spec`` and ``params``, such as
:class:`~actlab.activation.Activation`):

- :func:`canonical` — the canonical name and every parameter in declaration order; the form a run's key hashes;
- :func:`label` — the name and the parameters that differ from the defaults: ``hard_swish(n=4)``, for people;
- :func:`text` — the shortest notation that parses back to it: ``hard_swish:n=4``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actlab.catalog.spec import ActivationError


def parse(text: str) -> tuple[str, dict[str, Any]]:
    """``'name:param=value:…'`` → the name and the raw parameter values (validated later, against the spec)."""
    if not isinstance(text, str):
        raise ActivationError(f"activations are written as text, got {text!r}")
    name, *assignments = [part.strip() for part in text.strip().split(":")]
    if not name:
        raise ActivationError(f"no activation name in {text!r}")
    params: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise ActivationError(f"{text!r}: expected param=value after ':', got {assignment!r}")
        if key.strip() in params:
            raise ActivationError(f"{text!r}: parameter {key.strip()!r} is given twice")
        params[key.strip()] = _value(value, f"{name}: {key.strip()}")
    return name, params


def _value(text: str, where: str) -> Any:
    text = text.strip()
    if text.lower() in ("none", "null"):
        return None
    if text.startswith("[") and text.endswith("]"):
        return tuple(_number(item, where) for item in text[1:-1].replace(",", " ").split())
    return _number(text, where)


def _number(text: str, where: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ActivationError(f"{where}: {text!r} is not a number, a [list] or none") from None


def split(text: str) -> list[str]:
    """A comma-separated list of activations, split on commas outside brackets."""
    items, depth, current = [], 0, []
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def format_value(value: Any, exact: bool = True) -> str:
    """A parameter value as the notation writes it: ``repr`` of floats when ``exact`` (round-trips), else ``:g``."""
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return "[" + ",".join(format_value(v, exact) for v in value) + "]"
    if isinstance(value, float) and not exact:
        return f"{value:g}"
    return repr(value)


def changed(act: Any) -> dict[str, Any]:
    """The parameters of a configured activation that differ from its spec's defaults."""
    return {k: v for k, v in act.params.items() if v != act.spec.param(k).default}


def canonical(act: Any) -> str:
    """``name:p=v:…`` with the canonical name and every parameter, in declaration order."""
    return ":".join([act.spec.name] + [f"{k}={format_value(v)}" for k, v in act.params.items()])


def text(act: Any) -> str:
    """The shortest notation of a configured activation: the name and the parameters that are not defaults."""
    return ":".join([act.spec.name] + [f"{k}={format_value(v)}" for k, v in changed(act).items()])


def label(act: Any) -> str:
    """``hard_swish(n=4)``: the name and the parameters that differ from the defaults, for tables and legends."""
    parts = [f"{k}={label_value(v)}" for k, v in changed(act).items()]
    return f"{act.spec.name}({', '.join(parts)})" if parts else act.spec.name


def label_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def with_params(name: str, overrides: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``name`` (itself possibly ``'name:p=v'``) with keyword ``overrides``; a parameter given both ways is an error."""
    base, params = parse(name)
    both = sorted(set(params) & set(overrides))
    if both:
        raise ActivationError(f"{name!r}: {', '.join(both)} given both in the text and as keywords")
    return base, {**params, **overrides}
