"""The check before training: every setting of a user-defined activation is checked on its own."""

import pytest

import actlab
from actlab.catalog import REGISTRY
from actlab.experiments.checking import UncheckedActivation, checked
from actlab.train.config import make_config


@pytest.fixture
def sqc():
    """sqrt(x² + b): defined on the real line for b > 0 (its default, 1), not for b = -1."""
    state = REGISTRY.snapshot()
    actlab.define("sqc_check", "sqrt(x**2 + b)", b=1.0)
    yield
    REGISTRY.restore(state)


@pytest.mark.parametrize("order", [("sqc_check", "sqc_check:b=-1"), ("sqc_check:b=-1", "sqc_check")])
def test_each_setting_of_an_activation_is_checked_on_its_own(sqc, order):
    configs = [make_config(activation=name, epochs=1) for name in order]
    with pytest.raises(UncheckedActivation) as refused:
        checked(configs)
    message = str(refused.value)
    assert message.count("fails `actlab check`") == 1 and "sqc_check(b=-1) fails" in message, message
    marked = {c.activation_label(): c.unchecked for c in checked(configs, allow_unchecked=True)}
    assert marked == {"sqc_check": False, "sqc_check(b=-1)": True}
    assert checked(configs[order.index("sqc_check") : order.index("sqc_check") + 1]) is not None  # the default passes


def test_formulas_with_constant_derivatives_are_checked_not_crashed(tmp_path, monkeypatch):
    """alpha*x and exp(b)*x crashed the check with a traceback before training (compare --allow-unchecked too)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    state = REGISTRY.snapshot()
    try:
        actlab.define("lin_check", "alpha*x", alpha={"default": 1.5, "learnable": True})
        actlab.define("expb_check", "exp(b)*x + tanh(x)", b={"default": 0.5, "learnable": True})
        configs = [make_config(activation=name, epochs=1) for name in ("lin_check", "expb_check")]
        assert [c.unchecked for c in checked(configs, allow_unchecked=True)] == [False, False]
        assert len(list((tmp_path / "actlab" / "checks").glob("*.json"))) == 2  # kept: compare does not check again
    finally:
        REGISTRY.restore(state)
