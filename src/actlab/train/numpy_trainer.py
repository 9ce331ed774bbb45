"""The NumPy reference engine: the same MLP training written from scratch.

Affine layers, the catalog's hand-derived activation derivatives (and ∂f/∂param for learnable
activation parameters), softmax cross-entropy, the optimizers of :mod:`actlab.train.optim`, flooding
and weight decay. Initial weights and batch order come from the same per-run generators as the torch
engine, so in float64 the two produce the same loss curve.
"""

from __future__ import annotations

import time

import numpy as np

from actlab.activation import Activation
from actlab.catalog.xp import NUMPY
from actlab.data.prepared import PreparedData
from actlab.models.spec import init_weights, on_features, parse_model, run_streams, weight_shapes
from actlab.train.config import RunConfig
from actlab.train.metrics import EpochLog, RunResult
from actlab.train.optim import NumpyOptimizer, lr_factor


class NumpyMLP:
    """An MLP whose hidden layers all use ``activation``; weights W (out, in), biases b (out,)."""

    def __init__(self, weights: list[np.ndarray], activation: Activation, dtype) -> None:
        self.weights = [w.astype(dtype) for w in weights]
        self.biases = [np.zeros(w.shape[0], dtype=dtype) for w in weights]
        self.activation = activation
        self.learned = activation.learned_params
        # one copy of the learned activation parameters per hidden layer, as the torch modules have
        self.act_params = [
            {name: np.asarray(activation.params[name], dtype=dtype) for name in self.learned} for _ in weights[:-1]
        ]

    def parameters(self) -> list[np.ndarray]:
        params = [p for pair in zip(self.weights, self.biases, strict=True) for p in pair]
        return params + [layer[name] for layer in self.act_params for name in self.learned]

    def _layer_params(self, layer: int) -> dict:
        values = dict(self.activation.params)
        for name in self.learned:
            value = self.act_params[layer][name]
            values[name] = tuple(value) if value.ndim else float(value)
        return values

    def forward(self, x: np.ndarray, rng: np.random.Generator | None = None):
        """Logits and what backward needs: each layer's input and pre-activation (and derivative)."""
        spec = self.activation.spec
        h = x.reshape(len(x), -1)
        cache = []
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = h @ w.T + b
            if layer == len(self.weights) - 1:
                cache.append((h, z, None))
                return z, cache
            params = self._layer_params(layer)
            act = Activation(spec, params)
            if rng is not None:
                a, d = act.train_forward(z, rng)
            else:
                a, d = act(z), None
            cache.append((h, z, d))
            h = a
        raise AssertionError("unreachable")

    def backward(self, dlogits: np.ndarray, cache) -> list[np.ndarray]:
        """Gradients in the order of :meth:`parameters`."""
        grads_w, grads_b = [None] * len(self.weights), [None] * len(self.weights)
        grads_act = [dict() for _ in self.act_params]
        dz = dlogits
        for layer in range(len(self.weights) - 1, -1, -1):
            h, _, _ = cache[layer]
            grads_w[layer] = dz.T @ h
            grads_b[layer] = dz.sum(axis=0)
            if layer == 0:
                break
            dh = dz @ self.weights[layer]
            _, z_prev, d_prev = cache[layer - 1]
            params = self._layer_params(layer - 1)
            for name in self.learned:
                with np.errstate(all="ignore"):
                    partial = self.activation.spec.param_derivatives[name](z_prev, NUMPY, **params)
                if isinstance(partial, list):
                    grads_act[layer - 1][name] = np.array([(dh * p).sum() for p in partial])
                else:
                    grads_act[layer - 1][name] = np.asarray((dh * partial).sum())
            if d_prev is None:
                d_prev = Activation(self.activation.spec, params).derivative(z_prev)
            if d_prev.shape != dh.shape:  # a gated activation: one copy of dh for each chunk of z it combined
                dh = np.concatenate([dh] * (d_prev.shape[-1] // dh.shape[-1]), axis=-1)
            dz = dh * d_prev
        grads = [g for pair in zip(grads_w, grads_b, strict=True) for g in pair]
        return grads + [layer[name] for layer in grads_act for name in self.learned]


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean softmax cross-entropy, its gradient with respect to the logits, and the predictions."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    rows = np.arange(len(targets))
    loss = -log_probs[rows, targets].mean()
    grad = np.exp(log_probs)
    grad[rows, targets] -= 1.0
    return float(loss), grad / len(targets), logits.argmax(axis=1)


def train_numpy(config: RunConfig, data: PreparedData, on_epoch=None, record_steps: bool = False) -> RunResult:
    dtype = np.float64 if config.dtype == "float64" else np.float32
    spec = parse_model(config.model)
    shapes = weight_shapes(spec, data.input_shape, data.classes, config.expansion())
    streams = run_streams(config.seed)
    activation = on_features(config.activation_object(), -1)
    net = NumpyMLP(init_weights(shapes, config.init_scheme(), streams.init), activation, dtype)
    optimizer = NumpyOptimizer(config, net.parameters())
    x_train, y_train = data.x_train.astype(dtype), data.y_train
    x_test, y_test = data.x_test.astype(dtype), data.y_test
    n = len(x_train)
    noise = streams.noise if activation.spec.stochastic is not None else None

    log = EpochLog([config], on_epoch)
    step_losses: list[float] = []
    for epoch in range(config.epochs):
        started = time.perf_counter()
        optimizer.lr = config.lr * lr_factor(config, epoch)
        order = streams.order.permutation(n)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, config.batch_size):
            index = order[start : start + config.batch_size]
            logits, cache = net.forward(x_train[index], noise)
            with np.errstate(all="ignore"):
                loss, dlogits, predicted = cross_entropy(logits, y_train[index])
            if config.flooding is not None:
                dlogits = dlogits * np.sign(loss - config.flooding)
            optimizer.step(net.backward(dlogits, cache))
            loss_sum += loss * len(index)
            correct += int((predicted == y_train[index]).sum())
            if record_steps:
                step_losses.append(loss)
        logits, _ = net.forward(x_test)
        with np.errstate(all="ignore"):
            test_loss, _, predicted = cross_entropy(logits, y_test)
        test_accuracy = float((predicted == y_test).mean())
        seconds = time.perf_counter() - started
        log.record(epoch + 1, [loss_sum / n], [correct / n], [test_loss], [test_accuracy], seconds)
        if log.finished:
            break
    return log.results([step_losses])[0]
