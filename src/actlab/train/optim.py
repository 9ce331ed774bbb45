"""Optimizers and learning-rate schedules.

The torch engine uses ``torch.optim``; the NumPy engine uses the classes below, which implement the
same update rules step for step (PyTorch's conventions: weight decay is added to the gradient; the
momentum buffer starts as the first gradient; Adam is bias-corrected). With g the gradient (plus
weight decay λw) and η the learning rate:

- sgd:       w ← w - η g
- momentum:  v ← μ v + g;            w ← w - η v
- nesterov:  v ← μ v + g;            w ← w - η (g + μ v)
  (equal to the form v ← μ v - η g;  w ← w - μ v_old + (1 + μ) v_new, for a constant η)
- adagrad:   s ← s + g²;             w ← w - η g / (√s + 1e-10)
- rmsprop:   s ← 0.99 s + 0.01 g²;   w ← w - η g / (√s + 1e-8)
- adam:      m ← 0.9 m + 0.1 g;  v ← 0.999 v + 0.001 g²;  w ← w - η m̂ / (√v̂ + 1e-8)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from actlab.train.config import RunConfig, parse_schedule


def lr_factor(config: RunConfig, epoch: int) -> float:
    """Multiplier of the base learning rate during ``epoch`` (0-based)."""
    kind, every, gamma = parse_schedule(config.schedule)
    if kind == "step":
        return gamma ** (epoch // int(every))
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))
    return 1.0


def torch_optimizer(config: RunConfig, params) -> torch.optim.Optimizer:
    kind, lr, wd = config.optimizer, config.lr, config.weight_decay
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if kind in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, nesterov=kind == "nesterov", weight_decay=wd)
    if kind == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    raise ValueError(f"unknown optimizer {kind!r}")


class NumpyOptimizer:
    """Updates a list of arrays in place from their gradients; ``lr`` may change between steps."""

    def __init__(self, config: RunConfig, params: Sequence[np.ndarray]) -> None:
        self.kind = config.optimizer
        self.lr = config.lr
        self.mu = config.momentum
        self.weight_decay = config.weight_decay
        self.params = list(params)
        self.state = [dict() for _ in self.params]
        self.steps = 0

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.steps += 1
        t = self.steps
        for w, g, state in zip(self.params, grads, self.state):
            if self.weight_decay:
                g = g + self.weight_decay * w
            if self.kind == "sgd":
                w -= self.lr * g
            elif self.kind in ("momentum", "nesterov"):
                v = state.get("v")
                v = g.copy() if v is None else self.mu * v + g
                state["v"] = v
                w -= self.lr * (g + self.mu * v if self.kind == "nesterov" else v)
            elif self.kind == "adagrad":
                s = state.setdefault("s", np.zeros_like(w))
                s += g * g
                w -= self.lr * g / (np.sqrt(s) + 1e-10)
            elif self.kind == "rmsprop":
                s = state.setdefault("s", np.zeros_like(w))
                s *= 0.99
                s += 0.01 * g * g
                w -= self.lr * g / (np.sqrt(s) + 1e-8)
            elif self.kind == "adam":
                m = state.setdefault("m", np.zeros_like(w))
                v = state.setdefault("v", np.zeros_like(w))
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                m_hat = m / (1 - 0.9**t)
                v_hat = v / (1 - 0.999**t)
                w -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)
            else:
                raise ValueError(f"unknown optimizer {self.kind!r}")
