"""Optimizers and learning-rate schedules.

The torch engine uses torch.optim's functional implementations (:class:`TorchOptimizer`); the NumPy engine
uses :class:`NumpyOptimizer`, which implement the
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


class TorchOptimizer:
    """torch.optim's update rules through PyTorch's functional implementations (``torch.optim.sgd.sgd``,
    ``adagrad``, ``rmsprop``, ``adam``), with torch.optim's defaults and state.

    These functions are what the torch.optim classes call in ``step()``, so the numbers are the classes'
    to the bit; constructing a class instead imports TorchDynamo (over a second of start-up per process),
    which nothing here otherwise needs. ``lr`` may change between steps (schedules).
    """

    def __init__(self, config: RunConfig, params) -> None:
        self.kind = config.optimizer
        self.lr = config.lr
        self.momentum = config.momentum if config.optimizer in ("momentum", "nesterov") else 0.0
        self.weight_decay = config.weight_decay
        self.params = list(params)
        self.state: dict[int, dict[str, torch.Tensor | None]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _state(self, p: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """Per-parameter state, created at its first step as torch.optim creates it."""
        state = self.state.get(id(p))
        if state is None:
            step = torch.tensor(
                0.0, dtype=torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
            )
            zeros = torch.zeros_like(p, memory_format=torch.preserve_format)
            state = {"momentum_buffer": None} if self.kind in ("sgd", "momentum", "nesterov") else {"step": step}
            if self.kind == "adagrad":
                state["sum"] = zeros
            elif self.kind == "rmsprop":
                state["square_avg"] = zeros
            elif self.kind == "adam":
                state["exp_avg"] = zeros
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            self.state[id(p)] = state
        return state

    @torch.no_grad()
    def step(self) -> None:
        from torch.optim import adagrad, adam, rmsprop, sgd

        params = [p for p in self.params if p.grad is not None]
        grads = [p.grad for p in params]
        states = [self._state(p) for p in params]
        common = {"lr": self.lr, "weight_decay": self.weight_decay, "maximize": False}
        if self.kind in ("sgd", "momentum", "nesterov"):
            buffers = [s["momentum_buffer"] for s in states]
            sgd.sgd(
                params,
                grads,
                buffers,
                momentum=self.momentum,
                dampening=0.0,
                nesterov=self.kind == "nesterov",
                **common,
            )
            for state, buffer in zip(states, buffers, strict=True):
                state["momentum_buffer"] = buffer
        elif self.kind == "adagrad":
            adagrad.adagrad(
                params,
                grads,
                [s["sum"] for s in states],
                [s["step"] for s in states],
                lr_decay=0.0,
                eps=1e-10,
                **common,
            )
        elif self.kind == "rmsprop":
            rmsprop.rmsprop(
                params,
                grads,
                [s["square_avg"] for s in states],
                [],
                [],
                [s["step"] for s in states],
                alpha=0.99,
                eps=1e-8,
                momentum=0.0,
                centered=False,
                **common,
            )
        elif self.kind == "adam":
            adam.adam(
                params,
                grads,
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
                [],
                [s["step"] for s in states],
                amsgrad=False,
                beta1=0.9,
                beta2=0.999,
                eps=1e-8,
                **common,
            )
        else:
            raise ValueError(f"unknown optimizer {self.kind!r}")


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
        for w, g, state in zip(self.params, grads, self.state, strict=True):
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
