"""The flops of a step, counted at the dispatcher, equal torch's own flop counter's."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from actlab.train.flops import count


def _torch_count(step) -> float:
    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


def _mlp_step():
    model = torch.nn.Sequential(torch.nn.Linear(30, 20), torch.nn.ReLU(), torch.nn.Linear(20, 5))
    x = torch.randn(8, 30)
    return lambda: model(x).sum().backward()


def _cnn_step():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))
    x = torch.randn(2, 3, 9, 9)
    return lambda: model(x).sum().backward()


def _stacked_step():
    w = torch.randn(4, 30, 20, requires_grad=True)
    x = torch.randn(4, 8, 30)
    return lambda: torch.bmm(x, w).sum().backward()


@pytest.mark.parametrize("make", [_mlp_step, _cnn_step, _stacked_step], ids=["mlp", "cnn", "stacked"])
def test_the_count_equals_torch_s(make):
    step = make()
    assert count(step) == _torch_count(step) > 0


def test_a_grouped_convolution_counts_each_group_s_channels():
    """torch's counter takes a grouped convolution's weight gradient as if ungrouped; each output sees only its
    group's input channels: 2 · outputs · (4 / 2 channels · 9) forward, as much for the weights' gradient."""
    conv = torch.nn.Conv2d(4, 2, 3, groups=2)
    x = torch.randn(2, 4, 9, 9)
    outputs = 2 * 2 * 7 * 7
    assert count(lambda: conv(x).sum().backward()) == 2 * (2 * outputs * 2 * 9)
