"""A formula that is a catalog entry (at the entry's defaults or at fitted parameters) is said to be one."""

import json

import pytest
from typer.testing import CliRunner

import actlab
from actlab.activation import DuplicateWarning
from actlab.catalog import REGISTRY
from actlab.catalog.duplicates import same_as
from actlab.cli import app


@pytest.fixture()
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    state = REGISTRY.snapshot()
    yield
    REGISTRY.restore(state)


def test_telu_is_tanhexp_and_aptx_1_1_is_swish_beta_2(registry):
    with pytest.warns(DuplicateWarning, match="tanhexp"):
        telu = actlab.define("telu_dup", "x*tanh(exp(x))")
    assert same_as(telu.spec) == ["tanhexp"]
    with pytest.warns(DuplicateWarning, match="swish:beta=2"):
        actlab.define("aptx_dup", "(1 + tanh(x))*x/2")


def test_a_new_function_is_not_a_duplicate(registry, recwarn):
    act = actlab.define("fresh_dup", "x*atan(exp(x))")
    assert same_as(act.spec) == []
    assert not [w for w in recwarn if issubclass(w.category, DuplicateWarning)]


def test_a_built_in_at_other_parameters_is_found_by_fitting():
    assert "swish:beta=2" in same_as(actlab.spec("aptx"))
    assert same_as(actlab.spec("golu")) == []


def test_show_and_check_say_so(registry, tmp_path):
    plugin = tmp_path / "d.toml"
    plugin.write_text('[[activation]]\nname = "telu_cli"\nformula = "x*tanh(exp(x))"\n')
    shown = CliRunner().invoke(app, ["show", "telu_cli", "--plugins", str(plugin)])
    assert "the same function as catalog entry tanhexp" in shown.stdout
    assert json.loads(CliRunner().invoke(app, ["show", "telu_cli", "--plugins", str(plugin), "--json"]).stdout)[
        "same_as"
    ] == ["tanhexp"]
    checked = CliRunner().invoke(app, ["check", "telu_cli", "--plugins", str(plugin), "--json"])
    assert json.loads(checked.stdout)["same_as"] == ["tanhexp"]
