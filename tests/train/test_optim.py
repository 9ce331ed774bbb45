"""Both engines' optimizers take torch.optim's steps exactly; the Nesterov form of the issue is the same."""

import numpy as np
import pytest
import torch

from actlab.train.config import RunConfig
from actlab.train.optim import NumpyOptimizer, TorchOptimizer, lr_factor


def _gradient(w: np.ndarray) -> np.ndarray:
    """Gradient of a fixed non-quadratic function, so that every optimizer takes varied steps."""
    return np.sin(3 * w) + 0.5 * w**3


@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_optimizers_match_torch_optim(kind, weight_decay):
    """NumpyOptimizer to rounding, TorchOptimizer bit for bit (in float32 too), with a learning rate that changes."""
    config = RunConfig(optimizer=kind, lr=0.05, momentum=0.8, weight_decay=weight_decay)
    w0 = np.random.default_rng(0).normal(size=(5, 3))
    mine = w0.copy()
    numpy_opt = NumpyOptimizer(config, [mine])
    theirs = torch.nn.Parameter(torch.tensor(w0))
    reference = _torch_optim(config, [theirs])
    ours = [torch.nn.Parameter(torch.tensor(w0, dtype=dtype)) for dtype in (torch.float64, torch.float32)]
    ours_opt = [TorchOptimizer(config, [w]) for w in ours]
    single = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float32))
    single_reference = _torch_optim(config, [single])
    for step in range(25):
        lr = 0.05 if step < 10 else 0.02
        numpy_opt.lr = lr
        numpy_opt.step([_gradient(mine)])
        for optimizer, w in ((reference, theirs), (single_reference, single), *zip(ours_opt, ours, strict=True)):
            w.grad = torch.tensor(_gradient(w.detach().double().numpy()), dtype=w.dtype)
            if isinstance(optimizer, TorchOptimizer):
                optimizer.lr = lr
            else:
                optimizer.param_groups[0]["lr"] = lr
            optimizer.step()
    np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert torch.equal(ours[0], theirs) and torch.equal(ours[1], single)


def _torch_optim(config, params):
    """torch.optim's own class for ``config`` (the reference; the engines never construct one)."""
    kind, lr, wd = config.optimizer, config.lr, config.weight_decay
    if kind in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, nesterov=kind == "nesterov", weight_decay=wd)
    classes = {
        "sgd": torch.optim.SGD,
        "adagrad": torch.optim.Adagrad,
        "rmsprop": torch.optim.RMSprop,
        "adam": torch.optim.Adam,
    }
    return classes[kind](params, lr=lr, weight_decay=wd)


def test_nesterov_equals_the_velocity_form():
    """v ← μv - ηg; w ← w - μ v_old + (1 + μ) v_new gives PyTorch's nesterov=True trajectory."""
    lr, mu = 0.05, 0.9
    config = RunConfig(optimizer="nesterov", lr=lr, momentum=mu)
    w_torch = np.array([1.3, -0.7])
    optimizer = NumpyOptimizer(config, [w_torch])
    w, v = w_torch.copy(), np.zeros(2)
    for _ in range(30):
        optimizer.step([_gradient(w_torch)])
        v_old = v
        v = mu * v - lr * _gradient(w)
        w = w - mu * v_old + (1 + mu) * v
    np.testing.assert_allclose(w, w_torch, rtol=1e-12)


def test_schedules():
    assert [lr_factor(RunConfig(schedule="step:2:0.5", epochs=6), e) for e in range(6)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    cosine = [lr_factor(RunConfig(schedule="cosine", epochs=4), e) for e in range(4)]
    np.testing.assert_allclose(cosine, [1.0, 0.853553, 0.5, 0.146447], atol=1e-6)
    assert lr_factor(RunConfig(), 9) == 1.0
