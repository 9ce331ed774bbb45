"""The proxies on known activations."""

import numpy as np

from actlab.catalog import expressions
from actlab.search import proxies, screen
from actlab.search.tree import Formula


def _compiled(text: str) -> screen.Compiled:
    form = Formula(text, {})
    return screen.compile_candidate(expressions.parse(text), form)


def test_sigmoid_gradient_vanishes_where_relu_flows():
    net = proxies.deep_net()
    ratios = {
        name: proxies.gradient_ratio(_compiled(f).f, _compiled(f).df, net)
        for name, f in {"relu": "relu(x)", "sigmoid": "sigmoid(x)", "tanh": "tanh(x)"}.items()
    }
    assert 0.2 < ratios["relu"] < 5
    assert ratios["sigmoid"] < 1e-6 * ratios["relu"]
    assert ratios["sigmoid"] < ratios["tanh"]


def test_gradient_ratio_is_nan_where_the_network_overflows():
    net = proxies.deep_net()
    assert np.isnan(proxies.gradient_ratio(lambda x: x**3, lambda x: 3 * x**2, net))


def test_output_distribution_of_relu():
    samples = screen.fingerprint_samples()
    mean, variance, near_zero = proxies.output_stats(_compiled("relu(x)").f(samples))
    assert abs(mean - 1 / np.sqrt(2 * np.pi)) < 0.05  # E[relu(z)] = 1/√(2π)
    assert abs(variance - (0.5 - 1 / (2 * np.pi))) < 0.05
    assert 0.45 < near_zero < 0.56  # half the inputs are negative, and |z| < 0.01 adds ~0.4 %


def test_rank_prefers_gradient_flow():
    good = proxies.Proxies(0.0, 1.0, 0.0, 1.1)
    vanishing = proxies.Proxies(0.0, 1.0, 0.0, 1e-6)
    assert good.rank_key() < vanishing.rank_key()
