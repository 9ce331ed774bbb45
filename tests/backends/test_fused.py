"""Fused (compiled) activation kernels against the un-fused spec evaluation they are compiled from.

Each compilation takes seconds, so a few activations stand for the kinds of spec: a long element-wise
chain (tanhexp), learnable channel-wise parameters (snake), a gated split (swiglu) and a piecewise one
with parameters (srelu). The benchmark compiles every spec-path activation."""

import pytest
import torch

import actlab
from actlab.backends.fused import FusedEvaluator, fused_evaluator

EXTREMES = [0.0, -0.0, 1e-30, -1e-30, 1.0, -1.0, 30.0, -30.0, 1e4, -1e4, float("inf"), float("-inf"), float("nan")]


def _pair(name: str, **kwargs):
    act = actlab.activation(name)
    plain = act.module(dtype=torch.float64, **kwargs)
    fused = act.module(dtype=torch.float64, fused=True, **kwargs)
    with torch.no_grad():
        for p in plain.parameters():
            p.uniform_(0.5, 1.5)
    fused.load_state_dict(plain.state_dict())
    return plain, fused


@pytest.mark.parametrize(
    "name, kwargs, shape",
    [
        ("tanhexp", {}, (7, 33)),
        ("snake", {"num_parameters": 5}, (4, 5, 6)),
        ("swiglu", {}, (6, 10)),
        ("srelu", {"learnable": True}, (50,)),
    ],
)
def test_fused_equals_the_spec_evaluation(name, kwargs, shape):
    plain, fused = _pair(name, **kwargs)
    x = (3 * torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))).requires_grad_()
    assert not fused.uses_native(x) and "fused" in repr(fused)
    y_plain, y_fused = plain(x), fused(x)
    torch.testing.assert_close(y_fused, y_plain, rtol=1e-13, atol=1e-14)
    g = torch.randn_like(y_plain)
    want = torch.autograd.grad(y_plain, [x, *plain.parameters()], g)
    got = torch.autograd.grad(y_fused, [x, *fused.parameters()], g)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-13)
    if not actlab.spec(name).gated:
        value, slope = fused.value_and_derivative(x.detach())
        torch.testing.assert_close(value, y_plain.detach(), rtol=1e-13, atol=1e-14)
        torch.testing.assert_close(slope, plain.derivative(x.detach()), rtol=1e-11, atol=1e-13)
        torch.testing.assert_close(fused.derivative(x.detach()), slope)


def test_fused_gradcheck():
    _, fused = _pair("tanhexp")
    x = torch.linspace(-4, 3, 23, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fused, (x,))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_fused_extremes_match_in_every_dtype(dtype):
    act = actlab.activation("tanhexp")
    plain, fused = act.module(), act.module(fused=True)
    x = torch.tensor(EXTREMES, dtype=dtype, requires_grad=True)
    y_plain, y_fused = plain(x), fused(x)
    assert y_fused.dtype == dtype
    tol = {"rtol": 1e-6, "atol": 1e-6} if dtype in (torch.float32, torch.float64) else {"rtol": 0.0, "atol": 0.0}
    torch.testing.assert_close(y_fused, y_plain, equal_nan=True, **tol)
    (g_plain,) = torch.autograd.grad(y_plain.sum(), x)
    (g_fused,) = torch.autograd.grad(y_fused.sum(), x)
    torch.testing.assert_close(g_fused, g_plain, equal_nan=True, **tol)


def test_fused_saves_only_the_input_and_shares_compiled_kernels():
    act = actlab.activation("tanhexp")
    a, b = act.module(fused=True), act.module(fused=True)
    assert isinstance(a.evaluator, FusedEvaluator) and a.evaluator is b.evaluator
    assert fused_evaluator(act.spec, act.params) is a.evaluator
    assert actlab.activation("tanhexp").module(fused=False).evaluator is not a.evaluator

    saved: list[torch.Tensor] = []
    x = torch.randn(1000, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        a(x)
    assert len(saved) == 1 and saved[0].data_ptr() == x.data_ptr()


def test_native_kernels_stay_native_when_fused_unless_they_yield():
    relu = actlab.activation("relu").module(fused=True)
    x = torch.randn(10)
    assert relu.uses_native(x)
    value, slope = relu.value_and_derivative(x)
    torch.testing.assert_close(value, torch.relu(x))
    torch.testing.assert_close(slope, (x > 0).to(x.dtype))
    yielding = [name for name in actlab.names() if (native := actlab.spec(name).native) and native.yields_to_fused]
    assert {
        "softsign",
        "tanhshrink",
        "tanh",
        "log_sigmoid",
        "mish",
        "prelu",
        "gelu_tanh",
        "elu",
        "selu",
        "celu",
    } <= set(yielding)
    for name in yielding:
        assert actlab.activation(name).module().uses_native(x) and not actlab.activation(name).module(
            fused=True
        ).uses_native(x)


def _fused_spec_activations() -> list[str]:
    """Every activation whose fused layer runs the compiled spec."""
    probe = torch.zeros(2, 4, dtype=torch.float64)
    return [
        name
        for name in actlab.names()
        if not actlab.activation(name).module(dtype=torch.float64, fused=True).uses_native(probe)
    ]


@pytest.mark.parametrize("name", _fused_spec_activations())
def test_every_fused_spec_compiles_to_the_same_numbers(name):
    """fullgraph compilation of every formula in the catalog: a new spec that TorchDynamo cannot trace
    fails here rather than in a user's `--fused` run."""
    learnable = bool(actlab.spec(name).learnable_params)
    plain, fused = _pair(name, learnable=learnable)
    x = (2 * torch.randn(6, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))).requires_grad_()
    y_plain, y_fused = plain(x), fused(x)
    torch.testing.assert_close(y_fused, y_plain, rtol=1e-12, atol=1e-13)
    want = torch.autograd.grad(y_plain.sum(), [x, *plain.parameters()])
    got = torch.autograd.grad(y_fused.sum(), [x, *fused.parameters()])
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_many_dtypes_and_ranks_never_hit_the_recompile_limit():
    """Each dtype/rank/grad-mode variant is its own compiled kernel: with fullgraph, TorchDynamo's limit of
    recompilations per code object (8 by default) would otherwise be a hard error in a long session. The limit
    is lowered to 1 here so that four variants exceed it, as dozens would in a real session."""
    import torch._dynamo.config

    layer = actlab.activation("tanhexp").module(fused=True)
    with torch._dynamo.config.patch(recompile_limit=1):
        for dtype in (torch.float32, torch.float64):
            for shape in ((5,), (2, 3, 5)):
                x = torch.randn(*shape).to(dtype).requires_grad_()
                layer(x).sum().backward()
                layer.value_and_derivative(x.detach())
                assert x.grad is not None and x.grad.dtype == dtype
