"""Plugin files: a plugin's own failure, even sys.exit, is one clear error naming the file."""

import pytest
from typer.testing import CliRunner

from actlab.catalog import plugins
from actlab.cli import app


@pytest.mark.parametrize(
    ("body", "message"),
    [("import sys\nsys.exit(3)\n", r"called sys.exit\(3\) while loading"), ("1 / 0\n", "raised ZeroDivisionError")],
)
def test_a_plugin_that_fails_while_loading_is_one_clear_error(tmp_path, body, message):
    plugin = tmp_path / "bad_plugin.py"
    plugin.write_text(body)
    with pytest.raises(plugins.PluginError, match=message):
        plugins.load(plugin)
    result = CliRunner().invoke(app, ["list", "--plugins", str(plugin)])
    assert result.exit_code == 2 and "bad_plugin.py" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("alpha = { default = 1.0, min = 2.0, max = 0.5 }", "min 2 is greater than max 0.5; swap them"),
        ("alpha = { default = 3.0, min = 0.0, max = 2.0 }", r"the default 3 is outside \[0.0, 2.0\]"),
    ],
)
def test_a_parameter_s_bounds_are_checked_before_its_default(tmp_path, params, message):
    plugin = tmp_path / "acts.toml"
    plugin.write_text(f'[[activation]]\nname = "scaled"\nformula = "alpha * x"\nparams = {{ {params} }}\n')
    with pytest.raises(plugins.ActivationError, match=message):
        plugins.load(plugin)
    result = CliRunner().invoke(app, ["list", "--plugins", str(plugin)])
    assert result.exit_code == 2 and "Traceback" not in result.output
