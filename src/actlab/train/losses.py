"""The losses every engine trains and evaluates with, for M models at once: outputs are (M, B, C), targets (M, B)
class indices or (M, B[, k]) regression targets.

- cross_entropy: ℓ = -log softmax(z)_y per example (accuracy: argmax z = y);
- mse: ℓ = mean over the k outputs of (z - t)² per example (targets of shape (N,) take one output);

a batch's loss is the mean of ℓ over its examples. Flooding (Ishida et al. 2020, "Do we need zero training loss after
achieving zero training error?") trains on |L - b| + b instead of L: the same gradient above the flood level b, the
opposite below it."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def example_losses(out: torch.Tensor, targets: torch.Tensor, regression: bool) -> torch.Tensor:
    """ℓ of each example, (M, B), in the outputs' dtype."""
    models, batch = targets.shape[:2]
    if regression:
        return (out.reshape(targets.shape) - targets).square().reshape(models, batch, -1).mean(-1)
    return F.cross_entropy(out.reshape(models * batch, -1), targets.reshape(-1), reduction="none").view(models, batch)


def batch_losses(out: torch.Tensor, targets: torch.Tensor, regression: bool) -> torch.Tensor:
    """Each model's mean loss over its batch, (M,)."""
    return example_losses(out, targets, regression).mean(1)


def flooded(losses: torch.Tensor, flood: float | None) -> torch.Tensor:
    """What is minimised: |L - b| + b with flooding at level b, else L."""
    return (losses - flood).abs() + flood if flood is not None else losses


def correct(out: torch.Tensor, targets: torch.Tensor, regression: bool) -> torch.Tensor:
    """Each model's number of examples classified right, (M,) int64 (none for regression)."""
    if regression:
        return torch.zeros(targets.shape[0], dtype=torch.int64, device=targets.device)
    return (out.argmax(-1) == targets).sum(1)
