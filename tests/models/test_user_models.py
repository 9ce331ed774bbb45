"""References to users' models: files, modules and objects registered for a process; one clear error each."""

import pytest

from actlab.models import user_models
from actlab.models.spec import ModelError


def test_references_are_recognised_and_made_absolute(tmp_path, monkeypatch):
    (tmp_path / "nets.py").write_text("def build(act):\n    return act()\n")
    monkeypatch.chdir(tmp_path)
    assert user_models.is_user_model("nets.py:build") and user_models.is_user_model("pkg.nets:build")
    assert not user_models.is_user_model("mlp:100,50") and not user_models.is_user_model("cnn:32,p")
    assert user_models.canonical("nets.py:build") == f"{tmp_path / 'nets.py'}:build"
    first = user_models.digest("nets.py:build")
    (tmp_path / "nets.py").write_text("def build(act):\n    return act()  # changed\n")
    assert user_models.digest("nets.py:build") != first


@pytest.mark.parametrize(
    "text,content,message",
    [
        ("missing.py:build", None, "model file missing.py does not exist"),
        ("nets.py:build", "raise ImportError('no torch here')", "raises on import: ImportError: no torch here"),
        ("nets.py:build", "x = 1\ndef other(act):\n    pass\n", "has no 'build'; its functions and classes: other"),
        ("nets.py:build", "build = 3\n", "is not a function"),
        ("nets.py:build", "def build(:\n", "raises on import: SyntaxError"),
        ("no_such_package_xyz.models:build", None, "cannot be found"),
        ("python:Net#abc", None, "was given to actlab.compare in another process"),
        ("a b:c", None, "neither a .py file nor a module name"),
        ("nets.py:", None, "use mlp:UNITS"),
    ],
)
def test_bad_references_are_one_clear_error(tmp_path, monkeypatch, text, content, message):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / "nets.py").write_text(content)
    with pytest.raises(ModelError, match=message.replace("(", r"\(")):
        user_models.builder_for(text) if content is not None else user_models.digest(text)


def test_a_registered_object_is_found_by_its_reference():
    def build(act):
        return act()

    reference = user_models.register("build", build, "0123abcd")
    assert reference == "python:build#0123abcd" and user_models.builder_for(reference) is build
    assert user_models.digest(reference) == "0123abcd" and user_models.display(reference).startswith("build")
