"""Test configuration: Keras runs on its torch backend; hypothesis is deterministic and deadline-free; the
datasets the tests train on (see tests/idx_data.py)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("KERAS_HOME", os.path.join(os.path.dirname(__file__), "..", ".keras"))

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from tests import idx_data  # noqa: E402

settings.register_profile(
    "actlab", deadline=None, derandomize=True, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("actlab")


@pytest.fixture(scope="session")
def real_datasets():
    """The folder holding the original MNIST and Fashion-MNIST files. Absent: skipped with the reason, or a
    failure under ACTLAB_REQUIRE_DATA=1 (CI must run every data test)."""
    if idx_data.REAL_DATA is None:
        if idx_data.required():
            pytest.fail(f"ACTLAB_REQUIRE_DATA=1 but {idx_data.missing_reason()}")
        pytest.skip(idx_data.missing_reason())
    return idx_data.REAL_DATA


@pytest.fixture(scope="session")
def _synthetic_idx_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("idx")
    for name in idx_data.IDX_DATASETS:
        idx_data.write_synthetic(root, name)
    return root


@pytest.fixture()
def idx_data_dir(_synthetic_idx_root, monkeypatch):
    """A data folder with small MNIST and Fashion-MNIST in the real IDX format, registered as the files to
    expect; pass it as ``data_dir`` / ``--data-dir``."""
    from actlab.data.prepared import prepare

    idx_data.expect_files(_synthetic_idx_root, monkeypatch)
    prepare.cache_clear()
    yield _synthetic_idx_root
    prepare.cache_clear()
