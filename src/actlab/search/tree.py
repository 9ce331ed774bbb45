"""Candidates as expression trees of a space's operators, and the formula (text and parameters) each one is.

A tree's formula is built from the operators' templates on Python's syntax tree (``u`` and ``v`` replaced by the
children, parentheses placed by ``ast.unparse``), so it is written in the same syntax as a user's activation and is
parsed, differentiated and compiled by the same machinery (:mod:`actlab.catalog.expressions`, :mod:`~actlab.catalog.
formula`). Parameters of operators used more than once are numbered in order of appearance: ``a``, ``a2``, ``a3``.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from actlab.catalog.formula import Definition, ParamDefinition, build_spec
from actlab.catalog.spec import ActivationSpec
from actlab.search.space import ARGUMENTS, Space


@dataclass(frozen=True)
class Node:
    """An operator applied to its children; ``op`` None is the input ``x``."""

    op: str | None
    children: tuple[Node, ...] = ()

    def depth(self) -> int:
        return 0 if self.op is None else 1 + max((c.depth() for c in self.children), default=0)

    def size(self) -> int:
        return 0 if self.op is None else 1 + sum(c.size() for c in self.children)

    def paths(self) -> list[tuple[int, ...]]:
        """Every node's position (the child indices from the root), in pre-order; ``()`` is the root."""
        return [(), *((i, *p) for i, c in enumerate(self.children) for p in c.paths())]

    def at(self, path: tuple[int, ...]) -> Node:
        return self if not path else self.children[path[0]].at(path[1:])

    def replaced(self, path: tuple[int, ...], node: Node) -> Node:
        """This tree with the subtree at ``path`` replaced by ``node``."""
        if not path:
            return node
        children = list(self.children)
        children[path[0]] = children[path[0]].replaced(path[1:], node)
        return Node(self.op, tuple(children))

    def text(self) -> str:
        """The tree in the schema notation: ``mul(identity(x), sigmoid(x))``."""
        return "x" if self.op is None else f"{self.op}({', '.join(c.text() for c in self.children)})"


X = Node(None)


@dataclass(frozen=True)
class Formula:
    """A tree's formula: its text in ``x`` and its parameters (each operator's, renamed apart)."""

    text: str
    params: dict[str, ParamDefinition]

    def definition(self, name: str) -> Definition:
        """The :class:`~actlab.catalog.formula.Definition` a user would write for it."""
        return Definition(name, self.text, dict(self.params), description=f"found by actlab search: {self.text}")

    def spec(self, name: str) -> ActivationSpec:
        """The candidate as an activation like any other (exact derivative, stable code, measured properties)."""
        return build_spec(self.definition(name))


def formula(tree: Node, space: Space) -> Formula:
    """The formula of ``tree`` (whose operators are ``space``'s)."""
    params: dict[str, ParamDefinition] = {}
    body = _render(tree, space, params)
    return Formula(ast.unparse(body), params)


def _render(tree: Node, space: Space, params: dict[str, ParamDefinition]) -> ast.expr:
    if tree.op is None:
        return ast.Name("x", ast.Load())
    operator = space.operator(tree.op)
    renames = {}
    for name, definition in operator.params.items():
        count = 1
        while (renamed := name if count == 1 else f"{name}{count}") in params:
            count += 1
        params[renamed] = definition
        renames[name] = renamed
    arguments = dict(zip(ARGUMENTS[operator.arity], tree.children, strict=True))
    rendered = {a: _render(child, space, params) for a, child in arguments.items()}
    return _Substitute(rendered, renames).visit(operator.tree())


class _Substitute(ast.NodeTransformer):
    """Replaces the arguments ``u``/``v`` by their subtrees and renames parameters."""

    def __init__(self, arguments: dict[str, ast.expr], renames: dict[str, str]) -> None:
        self.arguments, self.renames = arguments, renames

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.arguments:
            return copy.deepcopy(self.arguments[node.id])
        if node.id in self.renames:
            return ast.Name(self.renames[node.id], ast.Load())
        return node
