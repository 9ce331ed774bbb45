"""Keras stays optional: `import actlab` never imports it, `import actlab.keras` without it is one clear error; and
the backend is the user's choice where they made one, torch otherwise."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from actlab.keras import loader

MISSING = """
import sys
import actlab
assert "keras" not in sys.modules, "import actlab imported keras"
sys.modules["keras"] = None  # as if Keras were not installed
try:
    import actlab.keras
except actlab.errors.ActlabError as error:
    print(isinstance(error, ImportError), error)
"""


def test_without_keras_the_import_says_what_to_install():
    done = subprocess.run([sys.executable, "-c", MISSING], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == [
        'True actlab.keras needs Keras 3: install actlab[keras] (pip install "actlab[keras]")'
    ]


def _home(tmp_path, config: object = None, text: str | None = None) -> dict[str, str]:
    if config is not None or text is not None:
        (tmp_path / "keras.json").write_text(text if text is not None else json.dumps(config))
    return {"KERAS_HOME": str(tmp_path)}


def _installed(*packages: str):
    return lambda package: package in packages


@pytest.mark.parametrize(
    "config,installed,chosen",
    [
        (None, (), "torch"),  # no keras.json: Keras would pick TensorFlow
        ({"floatx": "float32"}, ("tensorflow",), "torch"),  # a file that names no backend
        ({"backend": "tensorflow"}, ("torch",), "torch"),  # Keras' own default file, TensorFlow not installed
        ({"backend": "tensorflow"}, ("tensorflow", "torch"), None),  # the user's choice, installed: kept
        ({"backend": "jax"}, ("jax", "torch"), None),
        ({"backend": "torch"}, ("torch",), None),
    ],
)
def test_the_backend_is_torch_unless_the_user_chose_one(tmp_path, config, installed, chosen):
    environ = _home(tmp_path, config)
    assert loader.choose_backend(environ, {}, _installed(*installed)) == chosen


def test_an_explicit_backend_or_an_imported_keras_is_left_alone(tmp_path):
    environ = _home(tmp_path, {"backend": "tensorflow"})
    assert loader.choose_backend({**environ, "KERAS_BACKEND": "jax"}, {}, _installed()) is None
    assert loader.choose_backend(environ, {"keras": object()}, _installed()) is None
    assert loader.choose_backend(environ, {"keras": None}, _installed()) == "torch"  # blocked, not imported


def test_an_unreadable_config_is_no_choice(tmp_path):
    assert loader.choose_backend(_home(tmp_path, text="{not json"), {}, _installed("jax")) == "torch"
    assert loader.configured_backend(_home(tmp_path, text='["a list"]')) is None


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None, reason="TensorFlow is installed here")
def test_a_backend_that_is_not_installed_is_named_in_the_error():
    script = (
        "import actlab\ntry:\n    import actlab.keras\nexcept actlab.errors.ActlabError as error:\n    print(error)"
    )
    environ = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=environ)
    assert done.stdout.strip() == (
        "Keras could not load its backend (No module named 'tensorflow'); "
        "set KERAS_BACKEND to an installed one (actlab has torch)"
    )
