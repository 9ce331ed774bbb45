"""Extreme inputs in every float dtype, on every path (NumPy, torch functional, autograd, module).

float64 is checked against the high-precision references elsewhere; here it is the reference for the
low-precision dtypes: wherever the float64 value (of the same, rounded input) is representable in the
dtype, the result must be finite and close; where it overflows the dtype, ±inf; NaN exactly where the
input is NaN (or at ±inf for oscillating functions, which have no limit there).
"""

import math

import numpy as np
import pytest
import torch

import actlab
from tests.catalog.helpers import ELEMENTWISE, GATED

INF = math.inf
EXTREMES = [
    -INF,
    -1e4,
    -1e3,
    -300.0,
    -200.0,
    -100.0,
    -89.0,
    -50.0,
    -20.0,
    -12.0,
    -5.0,
    -1.5,
    -1e-3,
    0.0,
    1e-3,
    1.5,
    5.0,
    12.0,
    20.0,
    50.0,
    89.0,
    100.0,
    200.0,
    300.0,
    1e3,
    1e4,
    INF,
    math.nan,
]
GRID = np.array(EXTREMES + list(np.linspace(-10.0, 10.0, 81)))

NUMPY_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64}
TORCH_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}
RTOL = {"float16": 4e-3, "bfloat16": 2e-2, "float32": 2e-5, "float64": 1e-12}
MAX = {
    "float16": 65504.0,
    "bfloat16": float(torch.finfo(torch.bfloat16).max),
    "float32": float(np.finfo(np.float32).max),
    "float64": float(np.finfo(np.float64).max),
}
# Absolute slack: results this small may come through subnormal intermediates (e.g. x·σ(x) at x = -89 in
# float32, where σ(x) ≈ 2e-39) and keep only a few digits; fp16's subnormals start at 6e-5.
TINY = {"float16": 6.2e-5, "bfloat16": 1e-35, "float32": 1e-35, "float64": 1e-300}


def _rounded_inputs(dtype_name: str) -> np.ndarray:
    """The grid as the dtype represents it, in float64."""
    return torch.tensor(GRID, dtype=TORCH_DTYPES[dtype_name]).to(torch.float64).numpy()


def _limit_at_inf(f, sign: float) -> float:
    """f(±inf) should be the limit, read off f(±1e200) and f(±1e300): ±inf if still growing and huge."""
    near, far = (float(v) for v in f(np.array([sign * 1e200, sign * 1e300])))
    return math.copysign(INF, far) if abs(far) > 1e100 and abs(far) > abs(near) else far


def check(
    got: np.ndarray,
    x64: np.ndarray,
    ref: np.ndarray,
    dtype_name: str,
    oscillating: bool,
    what: str,
    rtol: float | None = None,
    floor: float | np.ndarray = 0.0,
) -> None:
    """``rtol`` overrides the dtype's; errors are measured relative to max(|ref|, floor)."""
    got = np.asarray(got, dtype=np.float64)
    rtol = RTOL[dtype_name] if rtol is None else rtol
    floor = np.broadcast_to(np.asarray(floor, dtype=np.float64), got.shape)
    problems = []
    for xi, yi, ri, fi in zip(x64, got, ref, floor, strict=True):
        if math.isnan(xi):
            if not math.isnan(yi):
                problems.append(f"{what}({xi}) = {yi}, want NaN")
            continue
        if math.isnan(ri):
            if not (oscillating and math.isinf(xi)):
                problems.append(f"reference {what}({xi}) is NaN")
            elif not math.isnan(yi) and not math.isinf(xi):
                problems.append(f"{what}({xi}) = {yi}, want NaN")
            continue
        if abs(ri) > MAX[dtype_name]:
            if not (math.isinf(yi) and (yi > 0) == (ri > 0)) and not abs(yi) >= MAX[dtype_name] * 0.99:
                problems.append(f"{what}({xi}) = {yi}, want {math.copysign(INF, ri)}")
            continue
        if not math.isfinite(yi) or abs(yi - ri) > rtol * max(abs(ri), fi) + TINY[dtype_name]:
            problems.append(f"{what}({xi}) = {yi}, want {ri}")
    assert not problems, f"{dtype_name}: " + "; ".join(problems[:12])


def _references(name: str, x64: np.ndarray):
    act = actlab.activation(name)
    return act(x64), act.derivative(x64)


# Rational functions in the monomial basis cancel: PAU's P(-2.25) sums terms of size ~25 to -0.65, so in
# float32 its value and slope there are good to ~1e-7 absolutely, not relatively.
ILL_CONDITIONED_FLOOR = {"pau": 1e-2}


def _local_scale(f, x64: np.ndarray, name: str = "") -> np.ndarray:
    """The largest |f| within ±0.05: where f crosses zero its value is ill-conditioned (gelu'(-0.75) is a
    difference of two terms 500× larger), so the error is measured against the function's size nearby.
    In the tails the neighbours are as small as f (e^0.05 apart), so nothing loosens there."""
    with np.errstate(all="ignore"):
        sides = np.abs(np.stack([f(x64 - 0.05), f(x64), f(x64 + 0.05)]))
        scale = np.nanmax(np.where(np.isfinite(sides), sides, 0.0), axis=0)
    scale = np.maximum(scale, ILL_CONDITIONED_FLOOR.get(name, 0.0))
    return np.where(np.isfinite(x64), scale, 0.0)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float64_limits_at_infinity_and_nan(name):
    act = actlab.activation(name)
    oscillating = act.spec.properties.oscillating
    x = np.array([-INF, INF, math.nan])
    for f, what in ((act, "f"), (act.derivative, "f'")):
        y = f(x)
        assert math.isnan(y[2]), f"{what}(nan) = {y[2]}"
        for i, sign in ((0, -1.0), (1, 1.0)):
            want = _limit_at_inf(f, sign)
            if oscillating and math.isnan(y[i]):
                continue
            assert y[i] == want or abs(y[i] - want) <= 1e-12 * abs(want) + 1e-100, (
                f"{what}({sign}inf) = {y[i]}, limit {want}"
            )
    finite = np.array([v for v in EXTREMES if math.isfinite(v)])
    assert not np.isnan(act(finite)).any() and not np.isnan(act.derivative(finite)).any()


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype_name", ["float16", "float32"])
def test_numpy_low_precision(name, dtype_name):
    act = actlab.activation(name)
    x64 = _rounded_inputs(dtype_name)
    ref, dref = _references(name, x64)
    x = x64.astype(NUMPY_DTYPES[dtype_name])
    y, d = act(x), act.derivative(x)
    assert y.dtype == x.dtype and d.dtype == x.dtype
    oscillating = act.spec.properties.oscillating
    check(y, x64, ref, dtype_name, oscillating, "f", floor=_local_scale(act, x64, name))
    check(d, x64, dref, dtype_name, oscillating, "f'", floor=_local_scale(act.derivative, x64, name))


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype_name", list(TORCH_DTYPES))
def test_torch_functional_and_autograd(name, dtype_name):
    act = actlab.activation(name)
    x64 = _rounded_inputs(dtype_name)
    ref, dref = _references(name, x64)
    x = torch.tensor(x64, dtype=TORCH_DTYPES[dtype_name], requires_grad=True)
    y = act(x)
    assert y.dtype == x.dtype
    (grad,) = torch.autograd.grad(y.sum(), x)
    oscillating = act.spec.properties.oscillating
    floor, dfloor = _local_scale(act, x64, name), _local_scale(act.derivative, x64, name)
    check(y.detach().double().numpy(), x64, ref, dtype_name, oscillating, "f", floor=floor)
    check(act.derivative(x.detach()).double().numpy(), x64, dref, dtype_name, oscillating, "f'", floor=dfloor)
    finite = np.isfinite(x64)  # autograd: the gradient at NaN/±inf inputs is not part of the contract
    check(
        grad.double().numpy()[finite],
        x64[finite],
        dref[finite],
        dtype_name,
        oscillating,
        "autograd f'",
        floor=dfloor[finite],
    )


# Native kernels that are not exact are held to absolute accuracy on the scale of the activation (their
# float64 hardsigmoid backward uses a float32 1/6, hence 1e-7).
NATIVE_RTOL = {"float16": 4e-3, "bfloat16": 2e-2, "float32": 2e-5, "float64": 1e-7}


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype_name", list(TORCH_DTYPES))
def test_torch_module_forward_and_backward(name, dtype_name):
    """Modules may use PyTorch's native kernels; inexact ones are checked on finite inputs, to the
    accuracy training needs."""
    act = actlab.activation(name)
    module = act.module(dtype=torch.float64 if dtype_name == "float64" else None).eval()
    native = act.spec.native
    x64 = _rounded_inputs(dtype_name)
    inexact_native = native is not None and not native.exact and native.applies(act.params)
    if inexact_native:
        x64 = x64[~np.isinf(x64)]
    ref, dref = _references(name, x64)
    floor, dfloor = _local_scale(act, x64, name), _local_scale(act.derivative, x64, name)
    rtol = NATIVE_RTOL[dtype_name] if inexact_native else None
    if inexact_native:
        floor, dfloor = np.maximum(floor, 1.0), np.maximum(dfloor, 1.0)
    x = torch.tensor(x64, dtype=TORCH_DTYPES[dtype_name], requires_grad=True)
    y = module(x)
    assert y.dtype == x.dtype
    (grad,) = torch.autograd.grad(y.sum(), x)
    oscillating = act.spec.properties.oscillating
    check(y.detach().double().numpy(), x64, ref, dtype_name, oscillating, "module f", rtol=rtol, floor=floor)
    finite = np.isfinite(x64)
    check(
        grad.double().numpy()[finite],
        x64[finite],
        dref[finite],
        dtype_name,
        oscillating,
        "module f'",
        rtol=rtol,
        floor=dfloor[finite],
    )


@pytest.mark.parametrize("name", GATED)
@pytest.mark.parametrize("dtype_name", list(TORCH_DTYPES))
def test_gated_extremes(name, dtype_name):
    """Each half sweeps the extremes while the other holds finite values."""
    act = actlab.activation(name)
    sweep = _rounded_inputs(dtype_name)
    fixed = np.resize(np.array([1.5, -2.0, 0.25]), sweep.shape)
    for first, second in ((sweep, fixed), (fixed, sweep)):
        x64 = np.concatenate([first, second])
        ref, dref = _references(name, x64)
        n = len(first)
        nan_rows = np.isnan(first) | np.isnan(second)
        x = torch.tensor(x64, dtype=TORCH_DTYPES[dtype_name], requires_grad=True)
        y = act(x)
        (grad,) = torch.autograd.grad(y.sum(), x)
        y = y.detach().double().numpy()
        assert np.isnan(y[nan_rows]).all()
        rows = ~nan_rows
        check(y[rows], first[rows], ref[rows], dtype_name, False, "f")
        finite = np.isfinite(np.concatenate([first, second]))
        both = np.concatenate([rows, rows]) & finite & np.concatenate([np.isfinite(second), np.isfinite(first)])
        check(grad.double().numpy()[both], x64[both], dref[both], dtype_name, False, "f'")
        assert n == len(second)


# The traps named in the catalog issue, each pinned explicitly.
TRAPS = [
    ("tanhexp", "derivative", torch.float32, 100.0),
    ("tanhexp", "derivative", torch.float16, 12.0),
    ("mish", "forward", torch.float32, -1e4),
    ("mish", "derivative", torch.float32, 1e4),
    ("softplus", "forward", torch.float16, -1e4),
    ("log_sigmoid", "forward", torch.float32, -1e4),
    ("log_sigmoid", "derivative", torch.float32, 1e4),
    ("squareplus", "forward", torch.float16, -300.0),
    ("squareplus", "derivative", torch.float16, -300.0),
    ("sqrt_softplus", "derivative", torch.float32, -200.0),
    ("lisht", "derivative", torch.float32, 1e4),
]


@pytest.mark.parametrize("name,which,dtype,value", TRAPS)
def test_known_traps(name, which, dtype, value):
    act = actlab.activation(name)
    x = torch.tensor([value], dtype=dtype, requires_grad=True)
    y = act(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    got = (y if which == "forward" else grad).double().item()
    ref_fn = act if which == "forward" else act.derivative
    want = float(ref_fn(np.array([float(value)]))[0])
    assert math.isfinite(got)
    assert abs(got - want) <= 4e-3 * abs(want) + 1e-38, (got, want)
    if name == "sqrt_softplus":
        assert want == pytest.approx(math.exp(-100.0) / 2, rel=1e-6)  # not 0/0
