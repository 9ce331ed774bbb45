"""Test configuration: Keras runs on its torch backend; hypothesis is deterministic and deadline-free."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("KERAS_HOME", os.path.join(os.path.dirname(__file__), "..", ".keras"))

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "actlab", deadline=None, derandomize=True, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("actlab")
