"""Small search spaces shared by the search tests."""

import pytest

from actlab.search.space import parse_space

TINY = {
    "space": {"name": "tiny", "schemas": ["unary(x)", "binary(unary(x), unary(x))"]},
    "unary": {"identity": "u", "tanh": "tanh(u)", "relu": "relu(u)"},
    "binary": {"add": "u + v", "mul": "u * v"},
}

TINY_TOML = """
[space]
name = "tiny"
schemas = ["unary(x)", "binary(unary(x), unary(x))"]

[unary]
identity = "u"
tanh = "tanh(u)"
relu = "relu(u)"

[binary]
add = "u + v"
mul = "u * v"
"""


@pytest.fixture
def tiny():
    return parse_space(TINY, "tiny")
