"""The search space grammar: the default space, a small one in TOML, and every kind of bad grammar."""

import copy

import pytest

from actlab.catalog import expressions
from actlab.errors import ActlabError
from actlab.search.space import SearchSpaceError, default_path, load_space, parse_space

from .conftest import TINY, TINY_TOML


def test_default_space_is_shipped_and_valid():
    space = load_space()
    assert default_path().name == "default_space.toml"
    assert space.name == "default"
    assert {
        "identity",
        "negative",
        "abs",
        "square",
        "exp",
        "erf",
        "tanh",
        "sigmoid",
        "softplus",
        "relu",
        "elu",
        "selu",
        "silu",
        "gelu",
    } <= set(space.unary)
    assert {"add", "sub", "mul", "div", "max", "min", "pow"} == set(space.binary)
    assert [s.text for s in space.schemas][1:] == ["binary(unary(x), unary(x))", "unary(binary(unary(x), unary(x)))"]
    assert space.unary["scaled"].params["alpha"].learnable
    for operator in [*space.unary.values(), *space.binary.values()]:  # every template is a formula in u (and v)
        expressions.parse(operator.template, {"u": None, "v": None, **operator.params})


def test_tiny_space_from_toml(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    space = load_space(path)
    assert list(space.unary) == ["identity", "tanh", "relu"] and list(space.binary) == ["add", "mul"]
    assert space.max_depth == 2 and space.max_nodes == 4  # the schemas' depth, their largest size plus one


def test_schema_may_name_an_operator(tiny):
    table = copy.deepcopy(TINY)
    table["space"]["schemas"] = ["mul(x, unary(x))"]
    space = parse_space(table)
    (schema,) = space.schemas
    assert [space.choices(s) for s in schema.root.slots()] == [["mul"], ["identity", "tanh", "relu"]]


def _broken(**changes):
    table = copy.deepcopy(TINY)
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if value is None:
            del table[section][name]
        elif name:
            table[section][name] = value
        else:
            table[section] = value
    return table


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"extra": {}}, "unknown tables extra"),
        ({"space__colour": "red"}, "unknown keys colour"),
        ({"space__schemas": None}, "schemas must be a non-empty list"),
        ({"space__schemas": []}, "schemas must be a non-empty list"),
        ({"space__schemas": ["ternary(x)"]}, "'ternary' is neither unary, binary nor an operator"),
        ({"space__schemas": ["binary(x)"]}, "binary takes 2 arguments"),
        ({"space__schemas": ["x"]}, "needs at least one operator"),
        ({"space__schemas": ["unary(x"]}, "not a schema such as"),
        ({"space__schemas": ["unary(y)"]}, "'y' is not x, unary"),
        ({"space__max_depth": 1}, "max_depth must be an integer ≥ 2"),
        ({"space__max_nodes": "many"}, "max_nodes must be an integer"),
        ({"unary__twice": "x + u"}, "written in u, not x"),
        ({"unary__nothing": "1.5"}, "does not use u"),
        ({"binary__left": "u * 2"}, "does not use v"),
        ({"unary__odd": "frobnicate(u)"}, "unknown function 'frobnicate'"),
        ({"unary__Bad": "u"}, "an operator's name is lower-case"),
        ({"unary__unary": "u"}, "an operator's name is lower-case"),
        ({"unary__p": {"formula": "a2 * u", "params": {"a2": 1.0}}}, "a parameter's name is letters only"),
        ({"unary__p": {"formula": "a * u", "params": {"a": "one"}}}, "must be a finite number"),
        ({"unary__p": {"formula": "a * u", "colour": 1}}, "unknown keys colour"),
        ({"unary__p": 3}, "write a formula"),
        ({"binary__add": None, "binary__mul": None}, "uses binary(…) but the space has no [binary] operators"),
    ],
)
def test_bad_grammars_are_one_clear_error(changes, message):
    with pytest.raises(ActlabError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_space(_broken(**changes), "bad.toml")


def test_operator_named_twice():
    table = copy.deepcopy(TINY)
    table["binary"]["tanh"] = "u * tanh(v)"
    with pytest.raises(SearchSpaceError, match="tanh named both as unary and as binary"):
        parse_space(table)


def test_bad_files(tmp_path):
    with pytest.raises(SearchSpaceError, match="cannot read the search space"):
        load_space(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[space\n")
    with pytest.raises(SearchSpaceError, match="not valid TOML"):
        load_space(tmp_path / "bad.toml")
