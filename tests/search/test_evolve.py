"""Mutation and crossover always give trees of the space, within its caps, whose formulas parse."""

import numpy as np

from actlab.catalog import expressions
from actlab.search import enumeration
from actlab.search.evolve import crossover, fits, mutate
from actlab.search.space import load_space
from actlab.search.tree import Node, X, formula


def _valid(tree: Node, space) -> None:
    assert fits(tree, space), tree.text()
    for path in tree.paths():
        node = tree.at(path)
        if node.op is not None:
            assert len(node.children) == space.operator(node.op).arity
    form = formula(tree, space)
    expressions.parse(form.text, {n: None for n in form.params} or ())


def test_mutations_and_crossovers_are_valid():
    space = load_space()
    rng = np.random.default_rng(0)
    parents = enumeration.sample(space, 40, seed=3)
    for i, parent in enumerate(parents):
        child = mutate(parent, space, rng)
        _valid(child, space)
        assert child != parent
        _valid(crossover(parent, parents[-1 - i], space, rng), space)


def test_mutation_is_reproducible_by_seed():
    space = load_space()
    tree = Node("mul", (X, Node("sigmoid", (X,))))
    first = [mutate(tree, space, np.random.default_rng(5)) for _ in range(3)]
    assert first[0] == first[1] == first[2]


def test_caps_are_kept_under_repeated_mutation():
    space = load_space()
    rng = np.random.default_rng(1)
    tree = Node("tanh", (X,))
    for _ in range(60):
        tree = mutate(tree, space, rng)
        _valid(tree, space)
    assert tree.size() <= space.max_nodes and tree.depth() <= space.max_depth


def test_crossover_swaps_subtrees():
    space = load_space()
    first = Node("mul", (X, Node("sigmoid", (X,))))
    second = Node("tanh", (Node("softplus", (X,)),))
    children = {crossover(first, second, space, np.random.default_rng(seed)) for seed in range(30)}
    assert Node("mul", (X, Node("softplus", (X,)))) in children
    assert all(fits(c, space) for c in children)
