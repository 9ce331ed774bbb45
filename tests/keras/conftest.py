"""Fixtures of the Keras tests (Keras runs on its torch backend: see tests/conftest.py)."""

import pytest

from actlab.catalog import REGISTRY


@pytest.fixture()
def registry():
    """The registry as it was before the test: user definitions do not leak into other tests."""
    state = REGISTRY.snapshot()
    yield REGISTRY
    REGISTRY.restore(state)
