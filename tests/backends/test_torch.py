"""The torch backend: gradcheck of every derivative (input and learnable parameters), memory (what
autograd saves), modules (parameters, channel-wise, train/eval, native dispatch) and errors."""

import numpy as np
import pytest
import torch

import actlab
from actlab.backends.torch_function import SpecEvaluator, SpecFunction
from actlab.catalog.spec import ActivationError
from tests.catalog.helpers import ALL, ELEMENTWISE, GATED

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# Non-default parameters that make every parameter's gradient non-trivial.
GRADCHECK_PARAMS = {
    "apl": {"a": (0.3, -0.2), "b": (0.5, -1.0)},
    "srelu": {"t_left": -1.0, "a_left": 0.1, "t_right": 1.5, "a_right": 0.5},
    "tlu": {"tau": 0.2},
    "swish": {"beta": 1.3},
    "snake": {"a": 1.7},
    "star_relu": {"scale": 0.7, "bias": 0.1},
    "prelu": {"a": 0.3},
}


def _kinks(name: str, params: dict) -> list[float]:
    spec = actlab.spec(name)
    points = list(spec.properties.kinks) + [0.0]
    for key in ("t_left", "t_right", "tau", "eps", "threshold", "lambd", "min_val", "max_val"):
        if isinstance(params.get(key), float):
            points += [params[key], -params[key]]
    if isinstance(params.get("b"), tuple):  # APL's hinges
        points += list(params["b"])
    return points


def _points(name: str, params: dict, n: int = 24, seed: int = 0) -> torch.Tensor:
    """Random float64 inputs kept 1e-2 away from every kink of this configuration."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 3.0, size=4 * n)
    kinks = np.array(_kinks(name, params))
    x = x[np.min(np.abs(x[:, None] - kinks[None, :]), axis=1) > 1e-2][:n]
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradcheck_input_and_learnable_parameters(name):
    spec = actlab.spec(name)
    params = spec.resolve(GRADCHECK_PARAMS.get(name, {}))
    learned = spec.learnable_params
    static = {k: v for k, v in params.items() if k not in learned}
    evaluator = SpecEvaluator(spec, static, learned)
    tensors = [torch.tensor(params[k], dtype=torch.float64, requires_grad=True) for k in learned]
    x = _points(name, params)
    assert torch.autograd.gradcheck(lambda x, *ps: SpecFunction.apply(evaluator, x, *ps), (x, *tensors))


@pytest.mark.parametrize("name", GATED)
def test_gradcheck_gated(name):
    spec = actlab.spec(name)
    params = spec.defaults()
    x = _points(name, params, n=24).reshape(4, 6).detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda x: SpecFunction.apply(SpecEvaluator(spec, params), x), (x,))


@pytest.mark.parametrize("name", ["prelu", "srelu", "snake", "star_relu"])
def test_gradcheck_channel_wise_parameters(name):
    act = actlab.activation(name, **GRADCHECK_PARAMS.get(name, {}))
    module = act.module(learnable=True, num_parameters=3, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.linspace(-0.05, 0.05, p.numel(), dtype=torch.float64).reshape(p.shape))
    x = _points(name, act.params, n=24).reshape(2, 3, 4).detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda x, *ps: module(x), (x, *module.parameters()))
    assert all(p.shape == (3,) for p in module.parameters())


@pytest.mark.parametrize("name", ["prelu", "snake"])
def test_channel_wise_parameters_along_the_last_axis(name):
    """channel_axis=-1: one parameter per feature of (batch, tokens, features), the same function as along dimension 1
    of the transposed input, and gradients to each."""
    act = actlab.activation(name)
    last = act.module(learnable=True, num_parameters=3, dtype=torch.float64, channel_axis=-1)
    first = act.module(learnable=True, num_parameters=3, dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(last.parameters(), first.parameters(), strict=True):
            a.copy_(torch.tensor([0.1, 0.5, 2.0], dtype=torch.float64))
            b.copy_(a)
    x = torch.linspace(-3, 3, 24, dtype=torch.float64).reshape(2, 4, 3).requires_grad_()
    torch.testing.assert_close(last(x), first(x.transpose(1, 2)).transpose(1, 2))
    assert torch.autograd.gradcheck(lambda x, *ps: last(x), (x, *last.parameters()))
    state = last.__getstate__()
    del state["channel_axis"]  # a module pickled before channel_axis existed broadcasts along dimension 1
    old = type(last).__new__(type(last))
    old.__setstate__(state)
    torch.testing.assert_close(old(x.transpose(1, 2)), first(x.transpose(1, 2)))


def _saved_tensors(fn, x):
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x).sum().backward()
    return saved


@pytest.mark.parametrize("name", ALL)
def test_spec_function_saves_only_the_input(name):
    """The autograd Function keeps the input (and learned parameters), never intermediate results."""
    spec = actlab.spec(name)
    module = actlab.activation(name).module().eval()
    x = torch.randn(8, 6, requires_grad=True)  # applied through the Function even where a native kernel exists
    saved = _saved_tensors(lambda t: SpecFunction.apply(module.evaluator, t, *module.parameters()), x)
    activation_sized = [t for t in saved if t.numel() == x.numel()]
    assert len(activation_sized) == 1 and activation_sized[0] is x
    assert len(saved) == 1 + len(list(module.parameters()))
    assert spec.name == module.name


def test_functional_path_uses_native_kernel_only_when_exact():
    x = torch.randn(5, requires_grad=True)
    assert type(actlab.activation("elu")(x).grad_fn).__name__ == "EluBackward0"
    assert type(actlab.activation("gelu")(x).grad_fn).__name__ == "SpecFunctionBackward"
    assert type(actlab.activation("hard_swish", n=4)(x).grad_fn).__name__ == "SpecFunctionBackward"


def test_module_uses_native_kernels_where_they_apply():
    x = torch.randn(5, requires_grad=True)
    assert type(actlab.activation("gelu").module()(x).grad_fn).__name__ == "GeluBackward0"
    assert type(actlab.activation("hard_swish").module()(x).grad_fn).__name__ == "HardswishBackward0"
    assert type(actlab.activation("hard_swish", n=4).module()(x).grad_fn).__name__ == "SpecFunctionBackward"
    assert type(actlab.activation("prelu").module()(x).grad_fn).__name__ == "PreluKernelBackward0"
    # a learned beta is not something F.silu can differentiate
    assert type(actlab.activation("swish").module(learnable=True)(x).grad_fn).__name__ == "SpecFunctionBackward"
    assert type(actlab.activation("swish").module()(x).grad_fn).__name__ == "SiluBackward0"
    # uses_native says which of the two paths forward takes
    for act, native in [
        (actlab.activation("gelu"), True),
        (actlab.activation("hard_swish", n=4), False),
        (actlab.activation("tanhexp"), False),
        (actlab.activation("prelu"), True),
    ]:
        module = act.module()
        assert module.uses_native(x) is native
        assert (type(module(x).grad_fn).__name__ == "SpecFunctionBackward") is not native
    assert actlab.activation("swish").module(learnable=True).uses_native(x) is False


def test_module_parameters_and_repr():
    prelu = actlab.activation("prelu").module()
    assert [n for n, _ in prelu.named_parameters()] == ["a"] and prelu.a.item() == pytest.approx(0.25)
    assert "a=learned" in repr(prelu)
    swish = actlab.activation("swish", beta=2.0).module()
    assert list(swish.parameters()) == [] and "beta=2.0" in repr(swish)
    assert [n for n, _ in actlab.activation("swish").module(learnable=True).named_parameters()] == ["beta"]
    assert sorted(n for n, _ in actlab.activation("pau").module().named_parameters()) == ["denominator", "numerator"]
    assert "Activation[hard_swish]" in repr(actlab.activation("hard_swish", n=4).module())
    with pytest.raises(ActivationError, match="cannot learn"):
        actlab.activation("relu").module(learnable=["negative_slope"])
    with pytest.raises(ActivationError, match="num_parameters"):
        actlab.activation("relu").module(num_parameters=4)


def test_learned_parameters_train():
    torch.manual_seed(0)
    module = actlab.activation("snake").module()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    x = torch.linspace(-3, 3, 64)
    target = actlab.activation("snake", a=2.0)(x)
    for _ in range(200):
        optimizer.zero_grad()
        loss = ((module(x) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
    assert module.a.item() == pytest.approx(2.0, abs=1e-3)


def test_rrelu_honours_train_and_eval():
    act = actlab.activation("rrelu")
    module = act.module()
    x = -torch.rand(10_000) - 0.5
    slopes = module.train()(x) / x
    assert slopes.min() >= 1 / 8 - 1e-6 and slopes.max() <= 1 / 3 + 1e-6 and slopes.std() > 0.04
    assert torch.allclose(module.eval()(x), x * (1 / 8 + 1 / 3) / 2)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(act(x, training=True, rng=g1), act(x, training=True, rng=g2))
    positive = torch.rand(100) + 0.1
    assert torch.equal(module.train()(positive), positive)


@pytest.mark.parametrize("device", DEVICES)
def test_runs_on_every_available_device(device):
    x = torch.randn(4, 6, device=device, requires_grad=True)
    for name in ALL:
        module = actlab.activation(name).module(device=device).eval()
        y = module(x)
        y.sum().backward()
        assert y.device == x.device
        assert actlab.activation(name)(x).device == x.device


def test_bad_tensor_inputs():
    with pytest.raises(ActivationError, match="floating-point"):
        actlab.activation("relu")(torch.arange(3))
    with pytest.raises(ActivationError, match="equal chunks"):
        actlab.activation("glu")(torch.randn(3))
    with pytest.raises(ActivationError, match="equal chunks"):
        actlab.activation("maxout", k=3)(torch.randn(2, 4))
    assert actlab.activation("maxout", k=3)(torch.randn(2, 6)).shape == (2, 2)
    assert actlab.activation("glu", dim=0)(torch.randn(4, 3)).shape == (2, 3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["expm1", "tanh"])
def test_compiled_expm1_and_tanh_stay_accurate(name, dtype):
    """Compiled on CPU, the namespace builds expm1 and tanh from exp (Inductor's own expm1 is exp(x) - 1,
    which returns 0 for |x| < 1e-8 in float32): a few ulp everywhere, and the same special values."""
    from actlab.backends.torch_namespace import TORCH

    magnitudes = torch.logspace(-30, 2.3, 3000, dtype=torch.float64)
    x = torch.cat([magnitudes, -magnitudes]).to(dtype)
    compiled = torch.compile(getattr(TORCH, name), dynamic=True, fullgraph=True)
    exact = getattr(torch, name)(x.to(torch.float64))
    got = compiled(x)
    comparable = exact.abs() < torch.finfo(dtype).max
    error = ((got.to(torch.float64) - exact) / exact)[comparable].abs().max().item()
    assert error < 4 * torch.finfo(dtype).eps, error
    special = torch.tensor([0.0, -0.0, 1e4, -1e4, float("inf"), float("-inf"), float("nan")], dtype=dtype)
    torch.testing.assert_close(compiled(special), getattr(torch, name)(special), rtol=0, atol=0, equal_nan=True)
    assert torch.equal(torch.signbit(compiled(special[:2])), torch.tensor([False, True]))
