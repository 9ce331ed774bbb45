"""Every tree of a space in a fixed order, and seeded samples of them.

Schema by schema (in the file's order), a schema's trees are the mixed-radix numbers whose digits are its slots'
operators (pre-order, each slot's choices in the file's order, the last slot fastest). So the k-th tree of a space
is known without listing the ones before it, and a sample is a set of indices drawn without replacement.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from actlab.search.space import SearchSpaceError, Slot, Space
from actlab.search.tree import Node


def schema_count(space: Space, root: Slot) -> int:
    """The number of trees of one schema."""
    return math.prod(len(space.choices(s)) for s in root.slots())


def count(space: Space) -> int:
    """The number of trees in ``space`` (schemas may share trees: duplicates are removed later, by their values)."""
    return sum(schema_count(space, s.root) for s in space.schemas)


def tree_at(space: Space, index: int) -> Node:
    """The ``index``-th tree of ``space`` in enumeration order."""
    if not 0 <= index < count(space):
        raise IndexError(f"tree {index} of a space of {count(space)}")
    for schema in space.schemas:
        size = schema_count(space, schema.root)
        if index < size:
            return _build(space, schema.root, _digits(space, schema.root, index))
        index -= size
    raise AssertionError("unreachable")


def _digits(space: Space, root: Slot, index: int) -> list[str]:
    """The operators of the slots of ``root`` (pre-order) for the schema's ``index``-th tree."""
    slots = root.slots()
    digits = []
    for slot in reversed(slots):
        choices = space.choices(slot)
        index, digit = divmod(index, len(choices))
        digits.append(choices[digit])
    return digits[::-1]


def _build(space: Space, slot: Slot, digits: list[str]) -> Node:
    """The tree of ``slot`` taking its operators from the front of ``digits`` (consumed)."""
    if slot.choice is None:
        return Node(None)
    op = digits.pop(0)
    return Node(op, tuple(_build(space, child, digits) for child in slot.children))


def enumerate_trees(space: Space) -> Iterator[Node]:
    """Every tree of ``space`` in enumeration order."""
    for index in range(count(space)):
        yield tree_at(space, index)


def sample_indices(space: Space, n: int, seed: int) -> list[int]:
    """``n`` distinct tree indices drawn uniformly by ``seed`` (all of them, in order, when ``n`` ≥ the count), in
    the order drawn: the same seed gives the same sample on every machine (NumPy's PCG64)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SearchSpaceError(f"a sample is a positive number of candidates, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SearchSpaceError(f"a sample's seed is a non-negative integer, got {seed!r}")
    total = count(space)
    if n >= total:
        return list(range(total))
    rng = np.random.default_rng(seed)
    return [int(i) for i in rng.choice(total, size=n, replace=False)]


def sample(space: Space, n: int, seed: int) -> list[Node]:
    """``n`` distinct trees of ``space`` drawn uniformly by ``seed``."""
    return [tree_at(space, i) for i in sample_indices(space, n, seed)]
