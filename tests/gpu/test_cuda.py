"""The CUDA path held to the CPU's references (issue 20): every test here runs on a GPU and is skipped without one.

What CUDA changes is checked against what the CPU suite already trusts:
- the catalog on CUDA tensors (functional forward, hand-derived derivative, autograd, modules with PyTorch's native
  kernels) in every float dtype, at the extremes (±1e4, ±inf, NaN, the float tails) and at random points, against the
  float64 NumPy reference with the CPU suite's tolerances per dtype (:mod:`tests.catalog.test_numerics`);
- gradcheck in float64 on CUDA: input, learnable and channel-wise parameters, gated activations, modules;
- the fused kernels (TorchInductor emits Triton on CUDA, C++ on the CPU) against the un-fused spec evaluation on the
  same card: every activation whose fused layer runs the spec in float32, the dtype GPUs train in, and a few in every
  float dtype; a layer of different activations compiled as one graph, in float64;
- training: many models at once == one at a time (MLP and stacked CNN, float64), the torch engine on CUDA == the
  NumPy engine (float64, first epoch), fused training == plain training, bfloat16 autocast close to float32, and
  no host synchronisation per step (one per epoch, whatever the number of steps).

Tolerances are per dtype and stated where used. Reductions on the GPU (cuBLAS, cuDNN) add in other orders than
the CPU's, so float64 training is held to 1e-9 relative, not the 1e-10 of the CPU suite's same-device comparisons.
"""

import math
import warnings

import numpy as np
import pytest
import torch

import actlab
from actlab.train.config import RunConfig
from actlab.train.grouping import group_runs
from actlab.train.trainer import train_runs
from tests.backends.test_torch import GRADCHECK_PARAMS, _points
from tests.catalog.helpers import ALL, ELEMENTWISE, GATED
from tests.catalog.test_numerics import (
    GRID,
    NATIVE_RTOL,
    TORCH_DTYPES,
    _local_scale,
    check,
)
from tests.train.test_trainer import MIXED_RUNS, _histories
from tests.train.test_trainer import QUICK as CPU_QUICK

CUDA = "cuda"
pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA device: the CUDA checks run on a GPU (bash benchmarks/gpu_check.sh OUT_DIR)",
)

QUICK = {**CPU_QUICK, "device": CUDA}
TRAINING_RTOL = 1e-9


def _inputs(dtype_name: str, random: int = 1000) -> np.ndarray:
    """The CPU suite's grid of extremes and ordinary values, plus ``random`` normal(0, 4) points, as the dtype
    represents them (in float64): large tensors take the GPU's vectorised code paths, the grid its tails."""
    values = np.concatenate([GRID, np.random.default_rng(7).normal(0.0, 4.0, random)])
    return torch.tensor(values, dtype=TORCH_DTYPES[dtype_name]).to(torch.float64).numpy()


# PAU's rational function in the monomial basis cancels terms of size ~25 near x = -2: in float32 its slope there is
# good to ~3e-7 absolutely, more than the CPU suite's floor of 1e-2 allows at 2e-5 relative; the random points find it.
RANDOM_POINT_FLOOR = {"pau": 0.1}


# --- the catalog on CUDA tensors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype_name", list(TORCH_DTYPES))
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_on_cuda_match_the_float64_reference(name, dtype_name):
    """Functional forward, hand-derived derivative and autograd's gradient on CUDA, then the module (which may take
    PyTorch's native kernels: the inexact ones on finite inputs, to the accuracy training needs), each against the
    NumPy float64 reference at the dtype's tolerance (float16 4e-3, bfloat16 2e-2, float32 2e-5, float64 1e-12,
    relative to the function's size within ±0.05; ±inf where the value overflows the dtype; NaN exactly at NaN)."""
    act = actlab.activation(name)
    oscillating = act.spec.properties.oscillating
    dtype = TORCH_DTYPES[dtype_name]
    x64 = _inputs(dtype_name)
    ref, dref = act(x64), act.derivative(x64)
    floor, dfloor = _local_scale(act, x64, name), _local_scale(act.derivative, x64, name)
    extra = RANDOM_POINT_FLOOR.get(name, 0.0) * np.isfinite(x64)
    floor, dfloor = np.maximum(floor, extra), np.maximum(dfloor, extra)

    x = torch.tensor(x64, dtype=dtype, device=CUDA, requires_grad=True)
    y = act(x)
    assert y.device == x.device and y.dtype == dtype
    (grad,) = torch.autograd.grad(y.sum(), x)
    finite = np.isfinite(x64)  # the gradient at NaN/±inf inputs is not part of the contract (as on the CPU)
    check(y.detach().cpu().double().numpy(), x64, ref, dtype_name, oscillating, "cuda f", floor=floor)
    derivative = act.derivative(x.detach()).cpu().double().numpy()
    check(derivative, x64, dref, dtype_name, oscillating, "cuda f'", floor=dfloor)
    got = grad.cpu().double().numpy()[finite]
    check(got, x64[finite], dref[finite], dtype_name, oscillating, "cuda autograd f'", floor=dfloor[finite])

    native = act.spec.native
    inexact = native is not None and not native.exact and native.applies(act.params)
    keep = ~np.isinf(x64) if inexact else np.ones(len(x64), dtype=bool)
    rtol = NATIVE_RTOL[dtype_name] if inexact else None
    mfloor, mdfloor = (np.maximum(floor, 1.0), np.maximum(dfloor, 1.0)) if inexact else (floor, dfloor)
    module = act.module(dtype=torch.float64 if dtype_name == "float64" else None, device=CUDA).eval()
    xm = torch.tensor(x64[keep], dtype=dtype, device=CUDA, requires_grad=True)
    ym = module(xm)
    assert ym.dtype == dtype
    (gm,) = torch.autograd.grad(ym.sum(), xm)
    check(
        ym.detach().cpu().double().numpy(),
        x64[keep],
        ref[keep],
        dtype_name,
        oscillating,
        "cuda module f",
        rtol=rtol,
        floor=mfloor[keep],
    )
    fin = np.isfinite(x64[keep])
    check(
        gm.cpu().double().numpy()[fin],
        x64[keep][fin],
        dref[keep][fin],
        dtype_name,
        oscillating,
        "cuda module f'",
        rtol=rtol,
        floor=mdfloor[keep][fin],
    )


@pytest.mark.parametrize("dtype_name", list(TORCH_DTYPES))
@pytest.mark.parametrize("name", GATED)
def test_gated_on_cuda_match_the_float64_reference(name, dtype_name):
    """Each half sweeps the extremes and random values while the other holds finite ones (as on the CPU)."""
    act = actlab.activation(name)
    sweep = _inputs(dtype_name, random=200)
    fixed = np.resize(np.array([1.5, -2.0, 0.25]), sweep.shape)
    for first, second in ((sweep, fixed), (fixed, sweep)):
        x64 = np.concatenate([first, second])
        ref, dref = act(x64), act.derivative(x64)
        nan_rows = np.isnan(first) | np.isnan(second)
        x = torch.tensor(x64, dtype=TORCH_DTYPES[dtype_name], device=CUDA, requires_grad=True)
        y = act(x)
        (grad,) = torch.autograd.grad(y.sum(), x)
        y = y.detach().cpu().double().numpy()
        assert np.isnan(y[nan_rows]).all()
        rows = ~nan_rows
        check(y[rows], first[rows], ref[rows], dtype_name, False, "cuda f")
        finite = np.isfinite(x64)
        both = np.concatenate([rows, rows]) & finite & np.concatenate([np.isfinite(second), np.isfinite(first)])
        check(grad.cpu().double().numpy()[both], x64[both], dref[both], dtype_name, False, "cuda f'")


@pytest.mark.parametrize("name", ALL)
def test_every_activation_agrees_with_the_cpu_in_float64(name):
    """The module on CUDA against the same module on the CPU, float64, 4,096 random points (gated: pairs) in train
    mode where it is deterministic: values and input gradients within 1e-12 relative to the values' size (1e-7 for
    PyTorch's inexact native kernels, as in the CPU suite: their float64 backward may use float32 constants)."""
    act = actlab.activation(name)
    if act.spec.stochastic is not None:
        pytest.skip(f"{name} samples noise in training; its evaluation mode is checked above")
    native = act.spec.native
    rtol = 1e-12 if native is None or native.exact or not native.applies(act.params) else NATIVE_RTOL["float64"]
    x = 3 * torch.randn(64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    out = {}
    for device in ("cpu", CUDA):
        module = act.module(dtype=torch.float64, device=device)
        leaf = x.to(device).requires_grad_()
        y = module(leaf)
        (g,) = torch.autograd.grad(y, leaf, torch.ones_like(y))
        out[device] = (y.detach().cpu(), g.cpu())
    for got, want in zip(out[CUDA], out["cpu"], strict=True):
        torch.testing.assert_close(got, want, rtol=rtol, atol=rtol * max(1.0, want.abs().max().item()))


# --- gradcheck in float64 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradcheck_input_and_learnable_parameters_on_cuda(name):
    """The spec's autograd Function on CUDA: finite differences against the hand-derived backward, the input and
    every learnable parameter (gradcheck's default tolerances, atol 1e-5 / rtol 1e-3, in float64)."""
    from actlab.backends.torch_function import SpecEvaluator, SpecFunction

    spec = actlab.spec(name)
    params = spec.resolve(GRADCHECK_PARAMS.get(name, {}))
    learned = spec.learnable_params
    static = {k: v for k, v in params.items() if k not in learned}
    evaluator = SpecEvaluator(spec, static, learned)
    tensors = [torch.tensor(params[k], dtype=torch.float64, device=CUDA, requires_grad=True) for k in learned]
    x = _points(name, params).detach().to(CUDA).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, *ps: SpecFunction.apply(evaluator, x, *ps), (x, *tensors))


@pytest.mark.parametrize("name", GATED)
def test_gradcheck_gated_on_cuda(name):
    from actlab.backends.torch_function import SpecEvaluator, SpecFunction

    spec = actlab.spec(name)
    params = spec.defaults()
    x = _points(name, params, n=24).reshape(4, 6).detach().to(CUDA).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: SpecFunction.apply(SpecEvaluator(spec, params), x), (x,))


@pytest.mark.parametrize("name", ["prelu", "srelu", "snake", "star_relu"])
def test_gradcheck_channel_wise_parameters_on_cuda(name):
    act = actlab.activation(name, **GRADCHECK_PARAMS.get(name, {}))
    module = act.module(learnable=True, num_parameters=3, dtype=torch.float64, device=CUDA)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.linspace(-0.05, 0.05, p.numel(), dtype=torch.float64, device=CUDA).reshape(p.shape))
    x = _points(name, act.params, n=24).reshape(2, 3, 4).detach().to(CUDA).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, *ps: module(x), (x, *module.parameters()))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradcheck_modules_on_cuda(name):
    """The module as training uses it (PyTorch's native CUDA kernel where actlab picks one), evaluation mode."""
    act = actlab.activation(name, **GRADCHECK_PARAMS.get(name, {}))
    module = act.module(dtype=torch.float64, device=CUDA).eval()
    x = _points(name, act.params).detach().to(CUDA).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, *ps: module(x), (x, *module.parameters()))


# --- fused (Triton) kernels against the un-fused spec -------------------------------------------------------------
def _fused_spec_activations() -> list[str]:
    """Every activation whose fused layer runs the compiled spec (the rest keep PyTorch's kernels when fused)."""
    probe = torch.zeros(2, 4)
    return [n for n in ALL if not actlab.activation(n).module(fused=True).uses_native(probe)]


def _fused_pair(name: str, dtype: torch.dtype) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The default layer forced onto the spec's un-fused Function, and the fused layer, sharing parameters (moved
    off their defaults so that every parameter's gradient is non-trivial)."""
    act = actlab.activation(name)
    plain = act.module(dtype=dtype, device=CUDA)
    fused = act.module(dtype=dtype, device=CUDA, fused=True)
    with torch.no_grad():
        for p in plain.parameters():
            p.uniform_(0.5, 1.5)
    fused.load_state_dict(plain.state_dict())
    return plain, fused


def _spec_forward(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The un-fused spec evaluation (its autograd Function), even where the module would take a native kernel."""
    from actlab.backends.torch_function import SpecFunction

    return SpecFunction.apply(module.evaluator, x, *module.parameters())


FUSED_EXTREMES = [0.0, -0.0, 1e-30, -1e-30, 1.0, -1.0, 30.0, -30.0, 89.0, -89.0, 1e4, -1e4]
FUSED_SPECIAL = [math.inf, -math.inf, math.nan, 2.5]


def _finite_inputs(x: torch.Tensor, pieces: int) -> torch.Tensor:
    """Where the input gradient is part of the contract: finite inputs, and for a gated activation (``pieces``
    chunks along the last dimension) only where every input that meets at the same output is finite."""
    finite = torch.isfinite(x)
    if pieces == 1:
        return finite
    together = finite.unflatten(-1, (pieces, -1)).all(-2, keepdim=True)
    return together.expand(*x.shape[:-1], pieces, x.shape[-1] // pieces).flatten(-2)


@pytest.mark.parametrize("name", _fused_spec_activations())
def test_fused_kernels_equal_the_spec_on_cuda_float32(name):
    """Forward and backward compiled by TorchInductor (Triton kernels) against the un-fused spec on the same card,
    float32, rank-2 inputs (as the benchmark and the trainer call them, so that their compiled kernels are these).
    Random normal(0, 3) values: outputs and the gradients of the input and of the learned parameters. The extremes
    (±1e4, ±89, ±inf, NaN, tiny): outputs everywhere (NaN and ±inf where the spec has them), input gradients where
    the inputs are finite. Tolerance 1e-4 relative and absolute: values are of order 1 to 1e5; the compiled kernel
    may contract multiply-adds and flush float32 subnormals, the eager one rounds after every op."""
    act = actlab.activation(name)
    plain, fused = _fused_pair(name, torch.float32)
    random = 3 * torch.randn(64, 64, device=CUDA, generator=torch.Generator(CUDA).manual_seed(0))
    extremes = torch.tensor([FUSED_EXTREMES + FUSED_SPECIAL] * 2, device=CUDA)
    extremes[1] = extremes[1].flip(0)
    assert not fused.uses_native(random) and "fused" in repr(fused)
    for x in (random, extremes):
        leaf = x.clone().requires_grad_()
        y_plain, y_fused = _spec_forward(plain, leaf), fused(leaf)
        torch.testing.assert_close(y_fused, y_plain, rtol=1e-4, atol=1e-4, equal_nan=True)
        g = torch.randn(y_plain.shape, device=CUDA, generator=torch.Generator(CUDA).manual_seed(1))
        if x is random:
            want = torch.autograd.grad(y_plain, [leaf, *plain.parameters()], g)
            got = torch.autograd.grad(y_fused, [leaf, *fused.parameters()], g)
            for a, b in zip(got, want, strict=True):
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
        else:  # a parameter's gradient sums over every element, the non-finite ones too: inputs only
            (want,) = torch.autograd.grad(y_plain, leaf, g)
            (got,) = torch.autograd.grad(y_fused, leaf, g)
            keep = _finite_inputs(x, act.spec.n_pieces(act.params))
            torch.testing.assert_close(got[keep], want[keep], rtol=1e-4, atol=1e-4, equal_nan=True)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64], ids=str)
@pytest.mark.parametrize("name", ["tanhexp", "mish", "log_sigmoid", "softsign"])
def test_fused_kernels_equal_the_spec_in_every_dtype(name, dtype):
    """A long element-wise chain (tanhexp), a native kernel's formula (mish), a tail trap (log_sigmoid) and a
    rational one (softsign), fused in the other dtypes: low precision within two of the dtype's ulps (both round
    once from float32), float64 within 1e-12 / 1e-11 (values / gradients); value_and_derivative (what hand-written
    backpropagation calls) too."""
    plain, fused = _fused_pair(name, dtype if dtype == torch.float64 else None)
    eps = torch.finfo(dtype).eps
    tol = {"rtol": 1e-12, "atol": 1e-13} if dtype == torch.float64 else {"rtol": 2 * eps, "atol": eps}
    gtol = {"rtol": 1e-11, "atol": 1e-12} if dtype == torch.float64 else tol
    values = FUSED_EXTREMES + FUSED_SPECIAL + list(np.linspace(-8, 8, 44))
    x = torch.tensor([values, values[::-1]], dtype=dtype, device=CUDA).requires_grad_()
    y_plain, y_fused = _spec_forward(plain, x), fused(x)
    assert y_fused.dtype == dtype
    torch.testing.assert_close(y_fused, y_plain, equal_nan=True, **tol)
    (g_plain,) = torch.autograd.grad(y_plain.sum(), x)
    (g_fused,) = torch.autograd.grad(y_fused.sum(), x)
    finite = torch.isfinite(x.detach())
    torch.testing.assert_close(g_fused[finite], g_plain[finite], **gtol)
    value, slope = fused.value_and_derivative(x.detach())
    torch.testing.assert_close(value, y_plain.detach(), equal_nan=True, **tol)
    torch.testing.assert_close(slope[finite], plain.derivative(x.detach())[finite], **gtol)


def test_fused_layer_of_different_activations_compiles_as_one_on_cuda():
    """A stacked network's layer of five models' activations as one compiled graph (float64), against each part
    evaluated on its own, for two batch sizes (one graph serves both)."""
    from actlab.models.batched import ModelActivations

    acts = [actlab.activation(n) for n in ("relu", "relu", "tanhexp", "mish", "elu")]
    plain = ModelActivations(acts, torch.float64, CUDA)
    fused = ModelActivations(acts, torch.float64, CUDA, fused=True)
    assert fused._compiled_value_and_derivative is not None
    for rows in (3, 7):
        x = 3 * torch.randn(len(acts) * rows, 6, dtype=torch.float64, device=CUDA)
        for got, want in zip(fused.value_and_derivative(x, rows), plain.value_and_derivative(x, rows), strict=True):
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)


# --- training ----------------------------------------------------------------------------------------------------
def test_mlp_many_at_once_equals_one_at_a_time_on_cuda():
    """Different activations (a learned parameter, a native kernel, a spec path), seeds and inits as one stacked
    network on the GPU: each run's step losses and history as it gets them alone, within 1e-9 (float64)."""
    configs = [RunConfig(**QUICK, dtype="float64", activation=a, seed=s, init=i) for a, s, i in MIXED_RUNS]
    assert len(group_runs(configs, "all")) == 1
    together = train_runs(configs, record_steps=True, group="all")
    alone = train_runs(configs, group="none", record_steps=True)
    for t, a in zip(together, alone, strict=True):
        np.testing.assert_allclose(t.step_losses, a.step_losses, rtol=TRAINING_RTOL)
        np.testing.assert_allclose(_histories([t]), _histories([a]), rtol=TRAINING_RTOL)


def test_cnn_stacked_on_cuda_equals_one_at_a_time():
    """On a GPU CNNs of different activations are stacked into one network (grouped convolutions): each run as it
    trains alone, within 1e-9 (float64), and learning (chance is 0.1)."""
    configs = [
        RunConfig(**QUICK, model="cnn:8,p,d16", dtype="float64", activation=a, seed=s)
        for a, s in [("relu", 0), ("elu", 1), ("prelu", 2)]
    ]
    assert len(group_runs(configs, "all")) == 1  # stacked on the GPU (one at a time on a CPU)
    together = train_runs(configs, record_steps=True, group="all")
    alone = train_runs(configs, group="none", record_steps=True)
    for t, a in zip(together, alone, strict=True):
        np.testing.assert_allclose(t.step_losses, a.step_losses, rtol=TRAINING_RTOL)
    assert together[0].summary.final_test_accuracy > 0.25


@pytest.mark.parametrize(
    "optimizer,activation,extra",
    [
        ("sgd", "tanhexp", {}),
        ("momentum", "tanhexp", {"weight_decay": 1e-3}),
        ("adam", "tanhexp", {"lr": 0.001}),
        ("sgd", "prelu", {}),
        ("sgd", "relu", {}),
    ],
)
def test_torch_engine_on_cuda_equals_the_numpy_engine(optimizer, activation, extra):
    """Same initial weights and batch order, float64, the first epoch: the CUDA engine's loss at every step and its
    epoch metrics as the NumPy engine's, within 1e-9 (hand-written backprop for fixed activations, autograd for a
    learned one)."""
    setup = dict(QUICK, epochs=1, dtype="float64", optimizer=optimizer, activation=activation, seed=4, **extra)
    cuda_run = train_runs([RunConfig(**setup)], record_steps=True)[0]
    numpy_run = train_runs([RunConfig(**{**setup, "device": "cpu"}, backend="numpy")], record_steps=True)[0]
    assert len(cuda_run.step_losses) == len(numpy_run.step_losses) == math.ceil(600 / 64)
    np.testing.assert_allclose(cuda_run.step_losses, numpy_run.step_losses, rtol=TRAINING_RTOL, atol=1e-12)
    np.testing.assert_allclose(_histories([cuda_run]), _histories([numpy_run]), rtol=TRAINING_RTOL)


def test_fused_training_on_cuda_equals_plain_training():
    """--fused on the GPU (Triton kernels; hand-written backprop for the MLP, autograd for the CNN, one compiled
    graph per layer for a mixed group): the same step losses as the un-fused spec, within 1e-9 (float64)."""
    mlp = RunConfig(**QUICK, dtype="float64", activation="tanhexp", seed=1)
    cnn = RunConfig(**dict(QUICK, epochs=1), model="cnn:4,p,d8", dtype="float64", activation="tanhexp", seed=2)
    for config in (mlp, cnn):
        (fused,) = train_runs([config], fused=True, record_steps=True)
        (plain,) = train_runs([config], record_steps=True)
        np.testing.assert_allclose(fused.step_losses, plain.step_losses, rtol=TRAINING_RTOL)
    mixed = [RunConfig(**QUICK, dtype="float64", activation=a, seed=3) for a in ("relu", "tanhexp", "mish")]
    fused, plain = (train_runs(mixed, group="all", fused=f, record_steps=True) for f in (True, False))
    for f, p in zip(fused, plain, strict=True):
        np.testing.assert_allclose(f.step_losses, p.step_losses, rtol=TRAINING_RTOL)


def test_bfloat16_autocast_on_cuda_trains_close_to_float32():
    """dtype=bfloat16 on the GPU: float32 weights, bfloat16 products and activations under CUDA autocast; not the
    float32 numbers, but within 0.08 of their final test accuracy and learning (MLP and CNN)."""
    for model in ("mlp:100,50", "cnn:4,p,d8"):
        full, mixed = (
            train_runs([RunConfig(**QUICK, model=model, activation="tanhexp", seed=3, dtype=d)])[0]
            for d in ("float32", "bfloat16")
        )
        assert mixed.summary.status == "done"
        assert _histories([mixed]) != _histories([full])
        assert abs(mixed.summary.final_test_accuracy - full.summary.final_test_accuracy) < 0.08
        assert mixed.history[-1].train_loss < mixed.history[0].train_loss


def _synchronisations(fn) -> int:
    """How many synchronising CUDA operations ``fn()`` performs, as PyTorch's sync debug mode reports them."""
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    return sum("synchroniz" in str(w.message) for w in caught)


@pytest.mark.parametrize("activation,model", [("relu", "mlp:100,50"), ("prelu", "mlp:100,50"), ("relu", "cnn:4,p")])
def test_no_host_synchronisation_per_step(activation, model):
    """Data resident on the device, batches gathered there: the host waits for the GPU a fixed number of times per
    epoch, never per step. Two runs of two epochs whose epochs have 10 and 19 steps synchronise equally often
    (hand-written backprop, autograd, a CNN)."""
    if _synchronisations(lambda: torch.ones(1, device=CUDA).item()) == 0:
        pytest.skip("this PyTorch build's sync debug mode reports nothing: synchronisations cannot be counted")
    counts = []
    for examples in (600, 1200):
        config = RunConfig(**dict(QUICK, epochs=2, train_subset=examples), model=model, activation=activation)
        train_runs([config])  # data prepared and kernels warm: the counted run does only its own work
        counts.append(_synchronisations(lambda config=config: train_runs([config])))
    assert counts[1] <= counts[0] + 1, f"synchronisations: {counts[0]} with 10 steps per epoch, {counts[1]} with 19"
