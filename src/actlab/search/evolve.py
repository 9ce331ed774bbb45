"""Mutation and crossover on expression trees (for regularised evolution, Real et al. 2019, arXiv:1802.01548).

Both take a :class:`numpy.random.Generator` and always return a tree of the space: every operator is the space's,
of the right arity, and the tree keeps within ``max_depth`` and ``max_nodes`` — so its formula always parses. A
mutation is one of

- **point**: one operator replaced by another of the same arity;
- **insert**: a unary operator put above a node;
- **remove**: an operator replaced by one of its children;
- **grow**: a subtree replaced by a random tree of one or two operators;

chosen uniformly among those that give a tree different from the parent within the caps (the parent itself where
none does, which only a space of one operator can make happen). Crossover puts a random subtree of the second
parent in place of a random subtree of the first, among the pairs that keep the caps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from actlab.search.space import Space
from actlab.search.tree import Node, X

Mutation = Callable[[Node, Space, np.random.Generator], Node | None]


def fits(tree: Node, space: Space) -> bool:
    """Whether ``tree`` keeps within the space's caps (and has an operator)."""
    return 1 <= tree.size() <= space.max_nodes and tree.depth() <= space.max_depth


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


def _point(tree: Node, space: Space, rng: np.random.Generator) -> Node | None:
    paths = [p for p in tree.paths() if tree.at(p).op is not None]
    path = _pick(rng, paths)
    node = tree.at(path)
    others = [o for o in space.of_arity(len(node.children)) if o != node.op]
    return tree.replaced(path, Node(_pick(rng, others), node.children)) if others else None


def _insert(tree: Node, space: Space, rng: np.random.Generator) -> Node | None:
    unary = space.of_arity(1)
    if not unary:
        return None
    path = _pick(rng, tree.paths())
    return tree.replaced(path, Node(_pick(rng, unary), (tree.at(path),)))


def _remove(tree: Node, space: Space, rng: np.random.Generator) -> Node | None:
    paths = [p for p in tree.paths() if tree.at(p).op is not None]
    path = _pick(rng, paths)
    return tree.replaced(path, _pick(rng, list(tree.at(path).children)))


def random_tree(space: Space, rng: np.random.Generator, operators: int) -> Node:
    """A random tree of ``operators`` (1 or 2) operators over ``x``."""
    unary, binary = space.of_arity(1), space.of_arity(2)
    kinds = [k for k, names in ((1, unary), (2, binary)) if names]
    arity = _pick(rng, kinds)
    op = _pick(rng, unary if arity == 1 else binary)
    children = [X] * arity
    if operators > 1 and unary:
        children[int(rng.integers(arity))] = Node(_pick(rng, unary), (X,))
    return Node(op, tuple(children))


def _grow(tree: Node, space: Space, rng: np.random.Generator) -> Node | None:
    path = _pick(rng, tree.paths())
    return tree.replaced(path, random_tree(space, rng, int(rng.integers(1, 3))))


MUTATIONS: dict[str, Mutation] = {"point": _point, "insert": _insert, "remove": _remove, "grow": _grow}


def mutate(tree: Node, space: Space, rng: np.random.Generator, tries: int = 32) -> Node:
    """A random mutation of ``tree`` that stays in the space and differs from it (see the module docstring)."""
    names = list(MUTATIONS)
    for _ in range(tries):
        child = MUTATIONS[_pick(rng, names)](tree, space, rng)
        if child is not None and child != tree and fits(child, space):
            return child
    return tree


def crossover(first: Node, second: Node, space: Space, rng: np.random.Generator) -> Node:
    """``first`` with one of its subtrees replaced by one of ``second``'s, keeping the caps (``first`` itself where
    no pair does)."""
    pairs = []
    for target in first.paths():
        for source in second.paths():
            child = first.replaced(target, second.at(source))
            if fits(child, space) and child != first:
                pairs.append(child)
    return _pick(rng, pairs) if pairs else first
