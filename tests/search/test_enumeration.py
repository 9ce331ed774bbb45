"""Enumeration in a fixed order, and samples reproducible by seed."""

import pytest

from actlab.search import enumeration
from actlab.search.space import SearchSpaceError, load_space
from actlab.search.tree import formula


def test_tiny_space_count_and_order(tiny):
    assert enumeration.count(tiny) == 3 + 2 * 3 * 3
    trees = list(enumeration.enumerate_trees(tiny))
    texts = [formula(t, tiny).text for t in trees]
    assert len(set(t.text() for t in trees)) == 21
    assert texts[:4] == ["x", "tanh(x)", "relu(x)", "x + x"]
    assert texts[-1] == "relu(x) * relu(x)"
    assert [enumeration.tree_at(tiny, i) for i in range(21)] == trees
    with pytest.raises(IndexError):
        enumeration.tree_at(tiny, 21)


def test_default_space_count():
    space = load_space()
    unary, binary = len(space.unary), len(space.binary)
    assert enumeration.count(space) == unary + binary * unary**2 + unary * binary * unary**2
    last = enumeration.tree_at(space, enumeration.count(space) - 1)
    assert last.text() == "scaled(pow(scaled(x), scaled(x)))"


def test_samples_are_reproducible_by_seed():
    space = load_space()
    first, again = enumeration.sample(space, 50, seed=7), enumeration.sample(space, 50, seed=7)
    assert first == again
    assert len(set(first)) == 50
    assert enumeration.sample(space, 50, seed=8) != first


def test_sample_of_a_small_space_is_all_of_it(tiny):
    assert enumeration.sample_indices(tiny, 100, seed=1) == list(range(21))


@pytest.mark.parametrize("n", [0, -3, True, 2.5])
def test_bad_sample_sizes(tiny, n):
    with pytest.raises(SearchSpaceError, match="a sample is a positive number"):
        enumeration.sample_indices(tiny, n, seed=0)
