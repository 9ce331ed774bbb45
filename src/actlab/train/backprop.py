"""Hand-written backpropagation for stacked MLPs: the catalog's hand-derived derivatives instead of autograd.

For M stacked dense networks with weights W_i (out, in), pre-activations z_i = h_i W_iᵀ + b_i, hidden
outputs h_{i+1} = f(z_i) and softmax cross-entropy averaged over the B examples of a batch, the gradients are

    δ_L = (softmax(z_L) - onehot(y)) / B,   ∂W_i = δ_iᵀ h_i,   ∂b_i = Σ_batch δ_i,
    δ_{i-1} = (δ_i W_i) ⊙ f'(z_{i-1}),

each a batched matrix product over the model axis (Rumelhart, Hinton & Williams 1986). With flooding the
loss is |L - b| + b, so δ_L is multiplied by sign(L - b) per model. A gated activation (GLU family, maxout)
combines k chunks of z_{i-1} into each output, so δ_i W_i is repeated k times before the product with f'(z_{i-1}),
which holds the partial derivative with respect to each chunk.

Why not autograd: these networks are small, so a training step is a handful of ~100×784 products and
the engine's bookkeeping is a large share of it. Here nothing is recorded, f'(z) is kept instead of z,
and plain SGD is fused into the weight-gradient product (W ← (1 - ηλ) W - η δ_iᵀ h_i in one ``baddbmm_``),
so no gradient tensor is ever materialised. The autograd path stays for what this does not cover (CNNs,
learnable or stochastic activations), and tests hold the two to equal numbers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from actlab.models.batched import StackedNetwork
from actlab.models.spec import LayerKind


def supports_hand_backprop(net: StackedNetwork) -> bool:
    """Dense layers only, and every hidden activation a fixed function (no learned parameters, no noise)."""
    if any(kind != LayerKind.DENSE for kind in net.kinds):
        return False
    for layer in net.activations:
        for part in layer.parts:
            if part.learned or part.spec.stochastic is not None:
                return False
    return True


class HandBackprop:
    """One training step of a stacked MLP without autograd.

    ``fused_sgd``: update the weights during the backward pass (plain SGD with optional weight decay,
    as ``torch.optim.SGD`` does); otherwise the gradients are left in each parameter's ``.grad`` for a
    ``torch.optim`` optimizer to apply.
    """

    def __init__(self, net: StackedNetwork, fused_sgd: bool, weight_decay: float = 0.0) -> None:
        if not supports_hand_backprop(net):
            raise ValueError("hand-written backpropagation needs an MLP with fixed activations")
        self.net = net
        self.fused_sgd = fused_sgd
        self.weight_decay = weight_decay

    def step(
        self, x: torch.Tensor, targets: torch.Tensor, flood: float | None, lr: float, meter=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward and backward on ``x`` (M, B, features) with ``targets`` (M, B); returns each model's
        mean loss (M,) before the update, and the logits (M, B, classes). ``meter``: a
        :class:`~actlab.train.diagnostics.GradientMeter` that gets this step's weight gradients (computed for it
        alone: the fused update is unchanged, so measuring changes no number)."""
        net = self.net
        weights, biases = list(net.weights), list(net.biases)
        last = len(weights) - 1
        inputs: list[torch.Tensor] = []
        slopes: list[torch.Tensor] = []
        h = x
        with torch.no_grad():
            for i in range(last):
                inputs.append(h)
                z = torch.baddbmm(biases[i], h, weights[i].transpose(1, 2))
                h, slope = net.activations[i].value_and_derivative(z)
                slopes.append(slope)
            inputs.append(h)
            logits = torch.baddbmm(biases[last], h, weights[last].transpose(1, 2))

            # classes along dim 1, (M, classes, B): PyTorch's CPU log-softmax vectorises over the batch
            # there, where along a last dimension of ten classes it runs ~10× slower than this transpose
            # and softmax together; the weight update then reads δᵀ contiguously
            log_p = F.log_softmax(logits.transpose(1, 2).contiguous(), dim=1)
            picked = targets.unsqueeze(1)
            losses = -log_p.gather(1, picked).squeeze(1).mean(1)
            batch = x.shape[1]
            delta_t = log_p.exp_()
            delta_t.scatter_add_(1, picked, torch.full_like(picked, -1, dtype=delta_t.dtype))
            if flood is None:
                delta_t.mul_(1.0 / batch)
            else:
                delta_t.mul_((torch.sign(losses - flood) / batch).view(-1, 1, 1))
            delta = delta_t.transpose(1, 2)

            for i in range(last, -1, -1):
                below = None
                if i > 0:  # before W_i changes
                    below = torch.bmm(delta, weights[i])
                    if net.expansion > 1:  # one copy for each chunk the activation combined
                        below = below.repeat(1, 1, net.expansion)
                    below.mul_(slopes[i - 1])
                if meter is not None:
                    meter.add(i, torch.bmm(delta.transpose(1, 2), inputs[i]))
                self._apply(weights[i], biases[i], inputs[i], delta, lr)
                delta = below
        return losses, logits

    def _apply(self, weight: torch.Tensor, bias: torch.Tensor, h: torch.Tensor, delta: torch.Tensor, lr: float) -> None:
        bias_grad = delta.sum(1, keepdim=True)
        if self.fused_sgd:
            keep = 1.0 - lr * self.weight_decay
            weight.baddbmm_(delta.transpose(1, 2), h, beta=keep, alpha=-lr)
            if keep != 1.0:
                bias.mul_(keep)
            bias.sub_(bias_grad, alpha=lr)
        else:
            weight.grad = torch.bmm(delta.transpose(1, 2), h)
            bias.grad = bias_grad
