import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The verified MNIST/Fashion-MNIST copies: $ACTLAB_DATA, else ../shared/datasets beside the checkout."""
    path = Path(os.environ.get("ACTLAB_DATA") or ROOT.parent / "shared" / "datasets")
    assert (path / "mnist" / "train-images-idx3-ubyte.gz").is_file(), f"verified datasets not found in {path}"
    return path


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """No test reads or writes the real per-user cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ACTLAB_DATA", raising=False)
