"""Activations written as text, as on the command line and in experiment files.

``hard_swish:n=4`` is one activation with a parameter; parameters are separated by ':'
(``relu:max_value=6:threshold=0.5``); vector parameters are bracketed (``apl:a=[0.2,-0.1]:b=[0,1]``);
``none`` is None. A list is comma-separated at the top level: ``relu,mish,hard_swish:n=4``.
"""

from __future__ import annotations

from typing import Any

from actlab.activation import Activation, activation
from actlab.catalog.spec import ActivationError


def _value(text: str, where: str) -> Any:
    text = text.strip()
    if text.lower() in ("none", "null"):
        return None
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].replace(",", " ").split()
        return tuple(_number(item, where) for item in inner)
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


def parse_activation(text: str) -> Activation:
    """``'name:param=value:...'`` → a validated :class:`Activation`."""
    name, *assignments = [part.strip() for part in text.strip().split(":")]
    if not name:
        raise ActivationError(f"no activation name in {text!r}")
    params: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise ActivationError(f"{text!r}: expected param=value after ':', got {assignment!r}")
        params[key.strip()] = _value(value, f"{name}: {key.strip()}")
    return activation(name, **params)


def split_list(text: str) -> list[str]:
    """Split on commas outside brackets."""
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


def parse_activation_list(text: str) -> list[Activation]:
    return [parse_activation(item) for item in split_list(text)]


def label(act: Activation) -> str:
    """``hard_swish(n=4)``: the name and the parameters that differ from the defaults."""
    changed = [
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in act.params.items()
        if v != act.spec.param(k).default
    ]
    return f"{act.name}({', '.join(changed)})" if changed else act.name
