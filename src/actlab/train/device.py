"""What every torch engine shares about where and in what precision a run trains: the device, the dtype, the data
resident on the device (:class:`DeviceData`) and each run's minibatches gathered by index (:class:`Batches`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from actlab.backends.host_memory import retain_freed_memory
from actlab.data.prepared import PreparedData
from actlab.errors import ActlabError
from actlab.train.config import RunConfig


class DeviceError(ActlabError):
    """A device that this machine does not have."""


def resolve_device(name: str) -> torch.device:
    """The torch device a run's ``device`` setting names here (``auto``: CUDA if there is one)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} requested but CUDA is not available on this machine (use cpu or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r} requested but this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    return device


def placement(config: RunConfig) -> tuple[torch.device, torch.dtype]:
    """The device and the dtype of the weights a run trains in (bfloat16 runs keep float32 weights)."""
    device = resolve_device(config.device)
    if device.type == "cpu":
        retain_freed_memory()
    return device, torch.float64 if config.dtype == "float64" else torch.float32


def precision(device: torch.device, mixed: bool) -> torch.autocast:
    """bfloat16 mixed precision (``dtype="bfloat16"``): products, convolutions and activations in bfloat16,
    weights, gradients and the optimizer in float32 — ``torch.autocast``."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=mixed)


def widened(out: torch.Tensor) -> torch.Tensor:
    """Outputs for the loss: bfloat16 ones in float32, others as they are."""
    return out.float() if out.dtype == torch.bfloat16 else out


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class DeviceData:
    """A run's copy of the (read-only, shared) arrays on the device. Training inputs are rows (N, features), so that
    a batch is one ``index_select`` (8× cheaper than advanced indexing); labels are class indices (int64) or, for
    regression (``loss="mse"``), targets in the inputs' dtype."""

    x_rows: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    sample_shape: tuple[int, ...]
    classes: int
    regression: bool = False

    @classmethod
    def of(cls, data: PreparedData, dtype: torch.dtype, device: torch.device, regression: bool = False) -> DeviceData:
        rows = data.x_train.reshape(len(data.x_train), -1)
        labels = dtype if regression else torch.int64
        return cls(
            torch.tensor(rows, dtype=dtype, device=device),
            torch.tensor(data.y_train, dtype=labels, device=device),
            torch.tensor(data.x_test, dtype=dtype, device=device),
            torch.tensor(data.y_test, dtype=labels, device=device),
            tuple(data.x_train.shape[1:]),
            data.classes,
            regression,
        )

    @property
    def device(self) -> torch.device:
        return self.x_rows.device

    def samples(self) -> torch.Tensor:
        """The training inputs in their own shape (N, *sample_shape): a view of the rows."""
        return self.x_rows.view(len(self.x_rows), *self.sample_shape)


class Batches:
    """One epoch's minibatches of every model: each model's own data order (its seed's), gathered by index into a
    buffer reused from batch to batch (no fresh pages)."""

    def __init__(self, tensors: DeviceData, orders: Sequence[np.random.Generator], batch_size: int) -> None:
        self.tensors, self.orders, self.batch_size = tensors, orders, batch_size
        self.models = len(orders)
        self.buffer = tensors.x_rows.new_empty(self.models * batch_size, tensors.x_rows.shape[1])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(rows (M·B, features), targets (M, B, …)) for each batch of a new epoch."""
        x_rows, y_train = self.tensors.x_rows, self.tensors.y_train
        n = len(x_rows)
        order = torch.as_tensor(np.stack([o.permutation(n) for o in self.orders]), device=x_rows.device)
        for start in range(0, n, self.batch_size):
            flat = order[:, start : start + self.batch_size].reshape(-1)
            b = len(flat) // self.models
            rows = torch.index_select(x_rows, 0, flat, out=self.buffer[: self.models * b])
            yield rows, y_train.index_select(0, flat).view(self.models, b, *y_train.shape[1:])
