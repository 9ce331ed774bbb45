"""A search space as a grammar, read from TOML: operators written as formulas, and schemas that combine them.

    [space]
    name = "tiny"
    schemas = ["binary(unary(x), unary(x))", "unary(x)"]   # x, unary(…), binary(…, …) or an operator's name
    max_depth = 3          # operator levels a tree may have (mutation and crossover keep to it; default: the schemas')
    max_nodes = 5          # operators a tree may have (default: the schemas' largest, plus one)

    [unary]                # operators of one argument, written in u
    identity = "u"
    tanh = "tanh(u)"
    scaled = { formula = "a * u", params = { a = { default = 1.0, learnable = true } } }   # a learnable constant

    [binary]               # operators of two arguments, written in u and v
    mul = "u * v"
    max = "max(u, v)"

Operators are written in the formula syntax of users' activations (:mod:`actlab.catalog.expressions`: elementary
functions and catalog activations by name), so a candidate is a formula like any other. Parameters follow
:func:`actlab.catalog.definition.parse_params` (PANGAEA-style learnable constants: Bingham & Miikkulainen 2022).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from actlab.catalog import expressions
from actlab.catalog.definition import ParamDefinition, parse_params
from actlab.errors import ActlabError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ARGUMENTS = {1: ("u",), 2: ("u", "v")}
CATEGORIES = {"unary": 1, "binary": 2}
SPACE_KEYS = {"name", "description", "schemas", "max_depth", "max_nodes"}
OPERATOR_KEYS = {"formula", "params"}
NAME = re.compile(r"[a-z][a-z0-9_]*")
PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z]*")  # no digits or underscores: renamed copies (a, a2, a3) stay unique


class SearchSpaceError(ActlabError):
    """A search space file that is missing, not TOML, or not a valid grammar."""


@dataclass(frozen=True)
class Operator:
    """One operator of the grammar: ``template`` is a formula in ``u`` (and ``v`` for a binary one)."""

    name: str
    arity: int
    template: str
    params: Mapping[str, ParamDefinition]

    def tree(self) -> ast.expr:
        """The template's syntax tree (a fresh copy each call: callers substitute into it)."""
        return ast.parse(self.template, mode="eval").body


@dataclass(frozen=True)
class Slot:
    """A position in a schema: ``choice`` is a category (``unary``/``binary``) or one operator's name; ``None`` with
    no children is the input ``x``."""

    choice: str | None
    children: tuple[Slot, ...] = ()

    def depth(self) -> int:
        """Operator levels below and including this slot (``x`` has 0)."""
        return 0 if self.choice is None else 1 + max((c.depth() for c in self.children), default=0)

    def size(self) -> int:
        """The number of operators in this slot's subtree."""
        return 0 if self.choice is None else 1 + sum(c.size() for c in self.children)

    def slots(self) -> list[Slot]:
        """This slot's operator slots in pre-order (the order of enumeration's digits)."""
        if self.choice is None:
            return []
        return [self, *(s for c in self.children for s in c.slots())]


@dataclass(frozen=True)
class Schema:
    text: str
    root: Slot


@dataclass(frozen=True)
class Space:
    """A parsed grammar. Operators keep the file's order, which fixes the order of enumeration."""

    name: str
    description: str
    unary: Mapping[str, Operator]
    binary: Mapping[str, Operator]
    schemas: tuple[Schema, ...]
    max_depth: int
    max_nodes: int

    def operator(self, name: str) -> Operator:
        return self.unary[name] if name in self.unary else self.binary[name]

    def of_arity(self, arity: int) -> list[str]:
        """The operators' names with ``arity`` arguments, in the file's order."""
        return list(self.unary if arity == 1 else self.binary)

    def choices(self, slot: Slot) -> list[str]:
        """The operators a schema's slot may take."""
        if slot.choice in CATEGORIES:
            return self.of_arity(CATEGORIES[slot.choice])
        return [slot.choice]


def default_path() -> Path:
    """The default search space shipped with actlab."""
    return Path(str(resources.files("actlab.search").joinpath("default_space.toml")))


def load_space(path: str | Path | None = None) -> Space:
    """The space in the TOML file ``path`` (the default space when None)."""
    path = default_path() if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SearchSpaceError(f"{path}: cannot read the search space ({error.strerror or error})") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SearchSpaceError(f"{path}: not valid TOML ({error})") from None
    return parse_space(table, str(path))


def parse_space(table: Mapping[str, Any], where: str = "space") -> Space:
    """A grammar from its TOML tables (see the module docstring); every error names where it is."""
    unknown = sorted(set(table) - {"space", *CATEGORIES})
    if unknown:
        raise SearchSpaceError(f"{where}: unknown tables {', '.join(unknown)} (use space, unary, binary)")
    head = table.get("space", {})
    if not isinstance(head, Mapping):
        raise SearchSpaceError(f"{where}: [space] must be a table")
    unknown = sorted(set(head) - SPACE_KEYS)
    if unknown:
        keys = ", ".join(sorted(SPACE_KEYS))
        raise SearchSpaceError(f"{where}: [space]: unknown keys {', '.join(unknown)} (use {keys})")
    operators = {category: _operators(table, category, where) for category in CATEGORIES}
    clash = sorted(set(operators["unary"]) & set(operators["binary"]))
    if clash:
        raise SearchSpaceError(f"{where}: {', '.join(clash)} named both as unary and as binary operators")
    raw = head.get("schemas")
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        example = '["binary(unary(x), unary(x))"]'
        raise SearchSpaceError(f"{where}: [space].schemas must be a non-empty list such as {example}")
    schemas = tuple(Schema(s.strip(), _schema(s, operators, where)) for s in raw)
    depth = max(s.root.depth() for s in schemas)
    nodes = max(s.root.size() for s in schemas) + 1
    return Space(
        name=str(head.get("name", Path(where).stem)),
        description=str(head.get("description", "")),
        unary=operators["unary"],
        binary=operators["binary"],
        schemas=schemas,
        max_depth=_limit(head, "max_depth", depth, where),
        max_nodes=_limit(head, "max_nodes", nodes, where),
    )


def _limit(head: Mapping[str, Any], key: str, smallest: int, where: str) -> int:
    """A cap on trees' size, at least what the schemas need (``smallest``); ``smallest`` when not given."""
    value = head.get(key, smallest)
    if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
        raise SearchSpaceError(f"{where}: [space].{key} must be an integer ≥ {smallest} (what the schemas need)")
    return value


def _operators(table: Mapping[str, Any], category: str, where: str) -> dict[str, Operator]:
    raw = table.get(category, {})
    if not isinstance(raw, Mapping):
        raise SearchSpaceError(f"{where}: [{category}] must be a table of name = formula")
    arity = CATEGORIES[category]
    return {name: _operator(name, value, arity, f"{where}: [{category}].{name}") for name, value in raw.items()}


def _operator(name: str, value: Any, arity: int, where: str) -> Operator:
    if not NAME.fullmatch(name) or name in (*CATEGORIES, "x"):
        raise SearchSpaceError(f"{where}: an operator's name is lower-case letters, digits and _, not unary/binary/x")
    if isinstance(value, str):
        value = {"formula": value}
    if not isinstance(value, Mapping) or not isinstance(value.get("formula"), str):
        raise SearchSpaceError(f'{where}: write a formula ("tanh(u)") or {{ formula = "…", params = {{…}} }}')
    unknown = sorted(set(value) - OPERATOR_KEYS)
    if unknown:
        raise SearchSpaceError(f"{where}: unknown keys {', '.join(unknown)} (use formula, params)")
    params = parse_params(value.get("params"), where)
    for param in params:
        if not PARAM_NAME.fullmatch(param) or param in ("u", "v", "x", "pi", "E"):
            raise SearchSpaceError(f"{where}: parameter {param!r}: a parameter's name is letters only, not u, v, x")
    template = value["formula"].strip()
    names = {*ARGUMENTS[arity], *params}
    expr = expressions.parse(template, {n: None for n in names} if names else (), where)
    used = {s.name for s in getattr(expr, "free_symbols", ())}
    if "x" in used:
        raise SearchSpaceError(f"{where}: an operator is written in {' and '.join(ARGUMENTS[arity])}, not x")
    missing = [a for a in ARGUMENTS[arity] if a not in used]
    if missing:
        raise SearchSpaceError(f"{where}: {template!r} does not use {' and '.join(missing)}")
    return Operator(name, arity, template, params)


def _schema(text: str, operators: Mapping[str, Mapping[str, Operator]], where: str) -> Slot:
    """``binary(unary(x), unary(x))`` → its slots; each position is a category, an operator's name or ``x``."""
    at = f"{where}: schema {text!r}"
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise SearchSpaceError(f"{at}: not a schema such as binary(unary(x), unary(x))") from None
    root = _slot(tree, operators, at)
    if root.choice is None:
        raise SearchSpaceError(f"{at}: a schema needs at least one operator")
    return root


def _slot(node: ast.expr, operators: Mapping[str, Mapping[str, Operator]], at: str) -> Slot:
    if isinstance(node, ast.Name) and node.id == "x":
        return Slot(None)
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.keywords:
        raise SearchSpaceError(f"{at}: {ast.unparse(node)!r} is not x, unary(…), binary(…, …) or an operator(…)")
    name = node.func.id
    if name in CATEGORIES:
        arity = CATEGORIES[name]
        if arity == 1 and not operators["unary"] or arity == 2 and not operators["binary"]:
            raise SearchSpaceError(f"{at}: uses {name}(…) but the space has no [{name}] operators")
    elif name in operators["unary"]:
        arity = 1
    elif name in operators["binary"]:
        arity = 2
    else:
        raise SearchSpaceError(f"{at}: {name!r} is neither unary, binary nor an operator of the space")
    if len(node.args) != arity:
        raise SearchSpaceError(f"{at}: {name} takes {arity} argument{'s' if arity > 1 else ''}")
    return Slot(name, tuple(_slot(a, operators, at) for a in node.args))
