"""A small CNN written the way real ones are — one nn.ReLU(inplace=True) module called twice, F.relu inside
forward — for the README's "Your own model" section: `actlab.swap` replaces every one of them, and
`python examples/compare_my_model.py` compares activations on it."""

from collections.abc import Callable

import torch.nn.functional as F
from torch import nn


class SmallCNN(nn.Module):
    """8×8 digit images (1 channel) → 10 classes. ``act``: a factory of the activation modules (one per site, as
    ``build`` below gives them); without it, the activations are written as real models write them."""

    def __init__(self, act: Callable[[], nn.Module] | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True) if act is None else act()  # one module, two call sites
        self.relu_again = self.relu if act is None else act()
        self.relu_pooled = F.relu if act is None else act()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.GELU() if act is None else act())
        self.head.append(nn.Linear(32, 10))

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu_again(self.bn(self.conv2(x)) + x)
        x = F.max_pool2d(self.relu_pooled(x), 2)
        return self.head(x)


def build(act):
    """The same network for `actlab compare --model examples/my_model.py:build`: act() at each of its four
    activation sites (where swap puts the new activation)."""
    return SmallCNN(act)
