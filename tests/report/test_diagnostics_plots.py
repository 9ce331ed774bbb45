"""Figures of --diagnostics: series over runs where values are missing."""

import math
from types import SimpleNamespace

import numpy as np

from actlab.report.diagnostics_plots import _layer_series
from actlab.train.diagnostics_data import LayerDiagnostics


def _layer(grad_norm: float | None) -> LayerDiagnostics:
    return LayerDiagnostics(1, 0.0, 1.0, -2.0, 0.0, 2.0, math.nan, 0.0, 0.5, (0.0, 1.0), (1,), grad_norm=grad_norm)


def test_an_epoch_without_a_value_in_any_run_is_nan_quietly():
    """An epoch whose gradients no run sampled (or a measure no run has, such as saturation where f' is unbounded)
    is NaN in the figure: averaging it warned 'Mean of empty slice', an error in `actlab report` (deep-mlp-gradients
    --quick)."""
    runs = [SimpleNamespace(diagnostics=[[_layer(2.0)], [_layer(None)]]) for _ in range(3)]
    epochs, means = _layer_series(runs, 0, "grad_norm")
    np.testing.assert_array_equal(epochs, [1, 2])
    assert means[0] == 2.0 and np.isnan(means[1])
    assert np.isnan(_layer_series(runs, 0, "saturated")[1]).all()
