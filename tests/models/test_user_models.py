"""A model file's hash covers the local modules it imports, so an edited helper is a changed model."""

from actlab.models import user_models


def test_a_model_file_s_hash_covers_the_local_modules_it_imports(tmp_path):
    (tmp_path / "helpers.py").write_text("WIDTH = 4\n")
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks" / "__init__.py").write_text("from .layers import Block\n")
    (tmp_path / "blocks" / "layers.py").write_text("Block = None\n")
    model = tmp_path / "net.py"
    model.write_text("import os\nfrom helpers import WIDTH\nimport blocks\n\ndef build(act):\n    return None\n")
    reference = f"{model}:build"
    files = user_models.local_sources(model)
    assert files[0] == model.resolve()
    assert {f.name for f in files[1:]} == {"helpers.py", "__init__.py", "layers.py"}  # not the installed os
    before = user_models.digest(reference)
    (tmp_path / "blocks" / "layers.py").write_text("Block = 1\n")
    edited = user_models.digest(reference)
    assert edited != before
    (tmp_path / "helpers.py").write_text("WIDTH = 256\n")
    assert user_models.digest(reference) not in (before, edited)


def test_a_file_that_imports_nothing_beside_it_hashes_as_its_bytes(tmp_path):
    import hashlib

    model = tmp_path / "alone.py"
    model.write_text("import torch\n\ndef build(act):\n    return None\n")
    assert user_models.digest(f"{model}:build") == hashlib.sha256(model.read_bytes()).hexdigest()[:16]
