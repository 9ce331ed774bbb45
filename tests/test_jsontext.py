import json
import math

import pytest
from typer.testing import CliRunner

from actlab.cli import app
from actlab.jsontext import dumps, finite_or_null


def strict_loads(text: str):
    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_floats_become_null_at_any_depth():
    value = {"range": (0.0, math.inf), "losses": [1.5, math.nan, -math.inf], "name": "élu", "n": 3}
    assert finite_or_null(value) == {"range": [0.0, None], "losses": [1.5, None, None], "name": "élu", "n": 3}
    assert strict_loads(dumps(value))["range"] == [0.0, None] and "élu" in dumps(value)


@pytest.mark.parametrize("command", [["check", "relu", "--json"], ["show", "sigmoid", "--json"]])
def test_json_output_is_standard_json(command):
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    strict_loads(result.stdout)
