"""The stacked network's memory layout: CNN activations and their gradients stay channels-last."""

import torch

import actlab
from actlab.models.batched import FlattenChannelsLast, StackedNetwork
from actlab.models.spec import init_weights, parse_model, run_streams, weight_shapes


def test_flatten_keeps_nchw_order_and_sends_the_gradient_back_channels_last():
    x = torch.randn(4, 3, 5, 6, dtype=torch.float64).contiguous(memory_format=torch.channels_last).requires_grad_()
    y = FlattenChannelsLast.apply(x)
    torch.testing.assert_close(y, x.detach().contiguous().reshape(4, -1))
    (grad,) = torch.autograd.grad(y, x, torch.randn_like(y))
    assert grad.is_contiguous(memory_format=torch.channels_last)
    assert torch.autograd.gradcheck(FlattenChannelsLast.apply, (x,))


def test_cnn_gradients_stay_channels_last():
    """A gradient arriving in NCHW would make every pooling and activation backward convert layouts."""
    spec = parse_model("cnn:4,p,6,p,d8")
    shapes = weight_shapes(spec, (3, 16, 16), 10)
    for models in (1, 3):
        weights = [init_weights(shapes, "he_normal", run_streams(s).init) for s in range(models)]
        net = StackedNetwork(spec, shapes, [actlab.activation("relu")] * models, weights)
        seen = []
        original = torch.nn.functional.max_pool2d

        def pool(h, k, original=original, seen=seen):  # the gradient each pooling's backward receives
            out = original(h, k)
            out.register_hook(lambda g: seen.append(g.is_contiguous(memory_format=torch.channels_last)))
            return out

        torch.nn.functional.max_pool2d = pool
        try:
            net(torch.rand(models, 5, 3, 16, 16)).sum().backward()
        finally:
            torch.nn.functional.max_pool2d = original
        assert seen == [True, True]
        assert all(
            w.grad.is_contiguous(memory_format=torch.channels_last)
            for w, kind in zip(net.weights, net.kinds, strict=True)
            if kind == "conv"
        )


def test_fused_layer_of_different_activations_compiles_as_one_and_matches():
    from actlab.models.batched import ModelActivations

    acts = [actlab.activation(n) for n in ("relu", "relu", "tanhexp", "mish", "elu")]
    plain = ModelActivations(acts, torch.float64, "cpu")
    fused = ModelActivations(acts, torch.float64, "cpu", fused=True)
    assert plain._compiled_value_and_derivative is None and fused._compiled_value_and_derivative is not None
    assert ModelActivations(acts[:2], torch.float64, "cpu", fused=True)._compiled_value_and_derivative is None
    again = ModelActivations(acts, torch.float64, "cpu", fused=True)  # the next network's layer
    assert again._compiled_value_and_derivative is fused._compiled_value_and_derivative
    for rows in (3, 7):  # one compiled graph serves every batch size
        x = 3 * torch.randn(len(acts) * rows, 6, dtype=torch.float64)
        for got, want in zip(fused.value_and_derivative(x, rows), plain.value_and_derivative(x, rows), strict=True):
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)
