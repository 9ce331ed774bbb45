"""`actlab check`: an activation's forward and derivative verified the way the test suite verifies the built-ins.

1. reference — f and f' in float64 against a high-precision reference on a grid reaching ±9999.5 (mpmath at 400
   digits: the formula itself for a user's formula, an independent transcription for a built-in, the spec's own
   forward evaluated on mpmath numbers for a spec written in Python; f' by numerical differentiation of that
   reference, never from the derivative under test);
2. defined — f is a real number wherever x is (no NaN on the grid: ``log(x)``, ``sqrt(x)`` fail here and say where);
3. autograd — the hand-derived (or exact) derivative against torch autograd of the forward written in torch ops;
4. gradcheck — ``torch.autograd.gradcheck`` of the layer, for x and every learnable parameter;
5. extremes — ±1e4, ±inf, NaN and a dense grid in float16, bfloat16, float32 and float64, through NumPy, the torch
   functional path and the layer (and the fused layer with ``fused``): no NaN or inf where the true value is finite
   (inf where it exceeds the dtype), for 1 ≤ |x| < ∞ no finite value grossly off the reference at x as the dtype
   rounds it (16 units of the dtype's rounding, relative to 1 + |f|: an overflow that turned 1 into 0, say), NaN
   in → NaN out;
6. properties — range, attained ends, monotonicity, smoothness and kinks, zero-centredness measured numerically; a
   built-in's claimed properties must match them.

Each check reports its first failing input. Gated activations (several inputs per output) get checks 3–5.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from actlab.activation import Activation
from actlab.catalog.measure import GRID as DENSE
from actlab.catalog.measure import blow_ups, jumps_at, measure_spec, tail
from actlab.catalog.spec import format_range

# The reference grid (also the catalog tests'): avoids every kink of the catalog (0, ±0.5, ±1, ±2, ±2.5, ±3, ±6,
# -10, 20 …) by more than mp.diff's step.
MAGNITUDES = [
    0.0123,
    0.3183,
    0.7391,
    1.2346,
    1.7321,
    2.618,
    4.9348,
    7.7071,
    13.37,
    27.18,
    66.6,
    123.4,
    512.5,
    2718.3,
    9999.5,
]
GRID = sorted([-v for v in MAGNITUDES] + MAGNITUDES)
DTYPES = ("float16", "bfloat16", "float32", "float64")
FORWARD_RTOL, DERIVATIVE_RTOL = 2e-13, 1e-11


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Report:
    activation: str
    results: tuple[CheckResult, ...]
    measured: dict[str, Any]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "activation": self.activation,
            "passed": self.passed,
            "checks": [r.to_dict() for r in self.results],
            "measured": self.measured,
        }


def check(act: Activation, fused: bool = False) -> Report:
    """Every check of the module docstring on ``act`` (at its parameters)."""
    results: list[CheckResult] = []
    measured: dict[str, Any] = {}
    if not act.spec.gated:
        reference = _reference(act)
        results += [
            _safely("reference", lambda: _against_reference(act, reference)),
            _safely("defined", lambda: _defined(act)),
        ]
    results += [
        _safely("autograd", lambda: _autograd(act)),
        _safely("gradcheck", lambda: _gradcheck(act)),
        _safely("extremes", lambda: _extremes(act, fused)),
    ]
    if not act.spec.gated:
        try:
            result, measured = _properties(act)
        except Exception as error:  # noqa: BLE001 - reported as the check's failure, see _safely
            result = _crashed("properties", error)
        results.append(result)
    return Report(act.label, tuple(results), measured)


def _safely(check_name: str, run) -> CheckResult:
    """``run()``, or a failed result saying how it crashed: a check that cannot be run on an activation is a failure
    of that activation, reported with the others (and in --json), never a traceback."""
    try:
        return run()
    except Exception as error:  # noqa: BLE001
        return _crashed(check_name, error)


def _crashed(check_name: str, error: Exception) -> CheckResult:
    return CheckResult(check_name, False, f"could not be run: {type(error).__name__}: {str(error)[:200]}")


# --- the reference ---------------------------------------------------------------------------------------------
def _reference(act: Activation):
    """f(x) at high precision (an mpmath function), or None where there is none."""
    import mpmath

    from actlab.verify.mp import MPMATH
    from actlab.verify.references import ELEMENTWISE

    spec, params = act.spec, act.params
    if spec.formula_expression is not None:
        from actlab.catalog.expressions import compile_expr

        formula = compile_expr(spec.formula_expression)
        return _undefined_at_poles(lambda t: formula(t, MPMATH, params))
    if spec.name in ELEMENTWISE and not spec.user_defined:
        return lambda t: ELEMENTWISE[spec.name](t, mpmath, **params)
    return lambda t: spec.forward(t, MPMATH, **params)  # a spec written in Python: its own forward, at 400 digits


def _undefined_at_poles(reference):
    """``reference``, giving NaN (undefined) where it divides by zero: a pole of a user's formula such as 1/x at
    x = 0 raises on mpmath numbers, where floats give ±inf."""
    import mpmath

    def at(t):
        try:
            return reference(t)
        except ZeroDivisionError:
            return mpmath.mpf("nan")

    return at


def _close(got: float, want, rtol: float) -> bool:
    import mpmath

    from actlab.verify.mp import as_float

    want_f = as_float(want)
    if math.isnan(want_f):
        return math.isnan(got)
    if math.isinf(want_f):
        return got == want_f
    return abs(got - want_f) <= rtol * abs(float(mpmath.mpf(want))) + 1e-300


def _near_kink(act: Activation, v: float) -> bool:
    return any(abs(v - k) < 1e-3 for k in act.spec.properties.kinks)


def _against_reference(act: Activation, reference) -> CheckResult:
    import mpmath

    name = "forward and derivative against a 400-digit reference (float64, x to ±9999.5)"
    x = np.array(GRID)
    y, d = act(x), act.derivative(x)
    stored = _stored(act)
    if stored is not None:
        return _against_stored(act, name, y, d, stored)
    try:
        reference(mpmath.mpf(0.5))
    except Exception as error:  # a Python spec using something mpmath numbers lack
        return CheckResult(
            name, False, f"the forward cannot be evaluated at high precision ({type(error).__name__}: {error})"
        )
    with mpmath.workdps(400):
        for i, v in enumerate(GRID):
            want = reference(mpmath.mpf(v))
            if not _close(float(y[i]), want, FORWARD_RTOL):
                detail = f"f({v}) = {float(y[i])!r}, reference {mpmath.nstr(want, 17)}"
                return CheckResult(name, False, detail + _stable_form_hint(act))
            if _near_kink(act, v):
                continue
            slope = mpmath.diff(reference, mpmath.mpf(v))
            if not _close(float(d[i]), slope, DERIVATIVE_RTOL):
                return CheckResult(name, False, f"f'({v}) = {float(d[i])!r}, reference {mpmath.nstr(slope, 17)}")
    return CheckResult(name, True, f"{len(GRID)} points, rtol {FORWARD_RTOL:g} (f), {DERIVATIVE_RTOL:g} (f')")


def _stable_form_hint(act: Activation) -> str:
    """For a formula that loses precision to cancellation, the same function without it (√(x²+1) - 1 →
    x²/(√(x²+1) + 1)), as a hint after the failure."""
    expr = act.spec.formula_expression
    if expr is None:
        return ""
    import sympy

    from actlab.catalog.expressions import cancellation_free

    better = cancellation_free(expr)
    return f"; cancellation? the same function in a stable form: {sympy.sstr(better)}" if better is not None else ""


def _stored(act: Activation) -> dict | None:
    """The catalog's stored 400-digit values of ``act`` (:mod:`actlab.verify.stored`), where they are current and
    ``act`` is at the parameters they were computed for."""
    from actlab.verify.stored import record

    if act.spec.user_defined or act.params != act.spec.defaults():
        return None
    return record(act.spec)


def _against_stored(act: Activation, name: str, y: np.ndarray, d: np.ndarray, stored: dict) -> CheckResult:
    import mpmath

    for i, v in enumerate(stored["x"]):
        want, slope = mpmath.mpf(stored["f"][i]), mpmath.mpf(stored["d"][i])
        if not _close(float(y[i]), want, FORWARD_RTOL):
            return CheckResult(name, False, f"f({v}) = {float(y[i])!r}, reference {mpmath.nstr(want, 17)}")
        if not _near_kink(act, v) and not _close(float(d[i]), slope, DERIVATIVE_RTOL):
            return CheckResult(name, False, f"f'({v}) = {float(d[i])!r}, reference {mpmath.nstr(slope, 17)}")
    return CheckResult(
        name, True, f"{len(stored['x'])} points, rtol {FORWARD_RTOL:g} (f), {DERIVATIVE_RTOL:g} (f'); stored values"
    )


def _defined(act: Activation) -> CheckResult:
    name = "a real number for every real x"
    with np.errstate(all="ignore"):
        y = act(DENSE)
    bad = np.flatnonzero(np.isnan(y))
    if len(bad):
        lo, hi = DENSE[bad].min(), DENSE[bad].max()
        return CheckResult(
            name,
            False,
            f"NaN at x = {DENSE[bad[0]]:g} ({len(bad)} grid points in [{lo:g}, {hi:g}]): "
            "the formula is not defined there on the real line",
        )
    poles = blow_ups(act, y[(DENSE >= -50) & (DENSE <= 50)], DENSE[(DENSE >= -50) & (DENSE <= 50)])
    if poles:
        return CheckResult(
            name, False, f"|f| grows without bound near x = {', '.join(f'{c:g}' for c in poles)} (a pole): "
            "the formula is not defined there"
        )
    return CheckResult(name, True, f"{len(DENSE):,} points from -1e8 to 1e8, no poles")


# --- torch -----------------------------------------------------------------------------------------------------
def _inputs(act: Activation, low: float = -20.0, high: float = 20.0, count: int = 201) -> np.ndarray:
    """Points away from the kinks (where a derivative has no single value); gated: an even count per row."""
    x = np.linspace(low, high, count) + 0.0123
    return x[[not _near_kink(act, v) for v in x]][: count - (count % max(act.spec.n_pieces(act.params), 1))]


def _autograd(act: Activation) -> CheckResult:
    import torch

    from actlab.backends.torch_namespace import TORCH, split

    name = "derivative against torch autograd of the forward"
    x_np = _inputs(act)
    x = torch.tensor(x_np, dtype=torch.float64, requires_grad=True)
    params = {k: v for k, v in act.params.items()}
    inputs = split(act.spec, x, params) if act.spec.gated else x
    with torch.enable_grad():
        y = act.spec.forward(inputs, TORCH, **params)
        # a piecewise-constant f (a step) is a tensor that does not depend on x at all: its derivative is 0
        (auto,) = torch.autograd.grad(y.sum(), x, allow_unused=True) if y.requires_grad else (None,)
    if auto is None:
        auto = torch.zeros_like(x)
    given = torch.as_tensor(act.derivative(x_np))
    both = torch.isfinite(auto) & torch.isfinite(given)
    gap = (auto - given).abs() > 1e-9 * (1 + given.abs())
    bad = torch.nonzero(both & gap).flatten()
    if len(bad):
        i = int(bad[0])
        return CheckResult(name, False, f"f'({x_np[i]:.6g}) = {float(given[i])!r}, autograd {float(auto[i])!r}")
    return CheckResult(name, True, f"{len(x_np)} points in [-20, 20], float64")


def _gradcheck(act: Activation) -> CheckResult:
    import torch

    name = "gradcheck (x and every learnable parameter)"
    module = act.module(learnable=True, dtype=torch.float64).eval()  # evaluation mode: no sampled noise
    x = torch.tensor(_inputs(act, -4.0, 4.0, 24), dtype=torch.float64, requires_grad=True)
    learned = [p for p in module.parameters()]
    try:
        ok = torch.autograd.gradcheck(
            lambda t, *_: module(t), (x, *learned), eps=1e-6, atol=1e-6, rtol=1e-4, raise_exception=True
        )
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0].rstrip(",")
        names = ["x", *(n for n, _ in module.named_parameters())]
        found = re.search(r"with respect to input (\d+)", first)
        if found and int(found[1]) < len(names):
            which = names[int(found[1])]
            where = _first_gradient_mismatch(module, x.detach()) if which == "x" else None
            first = f"the derivative with respect to {which} differs from finite differences" + (
                f" at x = {where[0]:g}: {where[1]:.6g} against {where[2]:.6g}" if where else ""
            )
        return CheckResult(name, False, first[:200])
    parameters = ", ".join(n for n, _ in module.named_parameters()) or "none"
    return CheckResult(name, bool(ok), f"learnable: {parameters}")


def _first_gradient_mismatch(module, x) -> tuple[float, float, float] | None:
    """The first x where the layer's autograd derivative and a central difference of it disagree (as gradcheck's
    tolerances judge): (x, autograd's, the difference's)."""
    import torch

    step = 1e-6
    t = x.clone().requires_grad_(True)
    (analytic,) = torch.autograd.grad(module(t).sum(), t)
    with torch.no_grad():
        numeric = (module(x + step) - module(x - step)) / (2 * step)
    for xi, a, n in zip(x.tolist(), analytic.tolist(), numeric.tolist(), strict=True):
        if not abs(a - n) <= 1e-6 + 1e-4 * abs(n):
            return xi, a, n
    return None


def _extremes(act: Activation, fused: bool) -> CheckResult:
    import torch

    name = "extremes (±1e4, ±inf, NaN, a dense grid) in every dtype and path"
    special = np.array([-math.inf, -1e4, -1.0, -1e-3, 0.0, 1e-3, 1.0, 1e4, math.inf, math.nan])
    x64 = np.concatenate([special, np.linspace(-30, 30, 241)])
    if act.spec.gated:  # each chunk sweeps the extremes in turn while the others hold 0.7
        pieces = act.spec.n_pieces(act.params)
        x64 = np.concatenate([np.where(np.arange(pieces)[:, None] == k, x64, 0.7) for k in range(pieces)], axis=1)
        x64 = x64.reshape(-1)
    else:
        reference, known = _reference(act), {}
    paths = _paths(act, fused)
    for dtype in DTYPES:
        limit = float(torch.finfo(getattr(torch, dtype)).max)
        for path, evaluate in paths.items():
            x, y, d, checks_derivative = evaluate(x64, dtype)
            outputs = [("f", y)] + ([("f'", d)] if checks_derivative else [])
            if not act.spec.gated:
                x = _in_dtype(x, dtype)  # the input the path computed with: the reference is taken there
                expected = _values_expected(act, x, reference, known)
            for what, values in outputs:
                if act.spec.gated:
                    problem = _bad_gated(act, x, np.asarray(values, dtype=np.float64), what)
                else:
                    values = np.asarray(values, dtype=np.float64)
                    problem = _bad_value(act, x, values, expected[what], limit, _tolerance(dtype))
                if problem:
                    return CheckResult(
                        name, False, f"{path}, {dtype}: {what}({problem[0]:g}) = {problem[1]} ({problem[2]})"
                    )
    return CheckResult(name, True, f"{', '.join(paths)} × {', '.join(DTYPES)}")


def _in_dtype(x: np.ndarray, dtype: str) -> np.ndarray:
    """``x`` rounded to ``dtype`` (as float64): float16's 1e-3 is 0.0010004, bfloat16's 1e4 is 9984."""
    import torch

    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=getattr(torch, dtype)).double().numpy()


def _tolerance(dtype: str) -> float:
    """How far a finite value at the extremes may stray from the true one, relative to 1 + |true value|: sixteen
    units of the dtype's rounding (so f(x) = 0 where the truth is 1 fails even in bfloat16), and no less than 1e-5,
    since a layer holds its parameters in float32 whatever its dtype and a fused kernel computes in float32 with fast
    approximate functions (serf's is 2e-6 off at x = -16). Gross errors only, such as a term that overflowed and took
    the value with it; precision is the reference check's business (float64, 2e-13)."""
    import torch

    return max(16 * float(torch.finfo(getattr(torch, dtype)).eps), 1e-5)


def _values_expected(act: Activation, x: np.ndarray, reference, known: dict) -> dict[str, np.ndarray]:
    """f and f' at each x (at ±inf: the limit of |f|), NaN where they are undefined (or not checked: f' at ±inf, at
    kinks and where f jumps, anything at ±inf for oscillating activations); ``known`` holds the points already
    evaluated (the dtypes share most of them)."""
    import mpmath

    values, slopes = [], []
    with mpmath.workdps(60):
        for v in x:
            v = float(v)
            if math.isnan(v) or (math.isinf(v) and act.spec.properties.oscillating):
                value, slope = math.nan, math.nan
            elif v in known:
                value, slope = known[v]
            elif math.isinf(v):
                value, slope = _limit_size(act, math.copysign(1.0, v)), math.nan
                known[v] = value, slope
            else:
                at = mpmath.mpf(v)
                value = _float(reference(at))
                slope = math.nan if _near_kink(act, v) else _float(_slope(reference, at))
                known[v] = value, slope
            values.append(value)
            slopes.append(slope)
    return {"f": np.array(values), "f'": np.array(slopes)}


def _slope(reference, at):
    """f'(at) by numerical differentiation of the reference; NaN where f has no derivative at ``at``: where the
    slopes from the left and from the right differ, at a kink (hard_swish's at ±2 when n = 4, away from the claimed
    ones) or a jump (softplus's switch to x at 20), where a central difference is no value of f' at all."""
    import mpmath

    step = mpmath.mpf("1e-20") * (1 + abs(at))
    left, right = (reference(at) - reference(at - step)) / step, (reference(at + step) - reference(at)) / step
    if abs(left - right) > mpmath.mpf("1e-6") * (1 + abs(left) + abs(right)):
        return mpmath.mpf("nan")
    return mpmath.diff(reference, at)


def _limit_size(act: Activation, sign: float) -> float:
    """|f(±∞)| (see :func:`actlab.catalog.measure.tail`): infinite if it keeps growing, NaN if undefined out there."""
    return abs(tail(act, sign))


def _float(value) -> float:
    """``value`` as a float (±inf when beyond any float), NaN when undefined."""
    import mpmath

    from actlab.verify.mp import real

    value = real(value)
    if mpmath.isnan(value):
        return math.nan
    return math.copysign(math.inf, float(mpmath.sign(value))) if abs(value) > 1e300 else float(value)


def _bad_value(act, x, values, expected, limit, tolerance) -> tuple[float, float, str] | None:
    """The first value that is NaN or ±inf where it should not be (NaN in must give NaN out), or, at a finite x
    with |x| ≥ 1, a finite value more than ``tolerance`` × (1 + |true value|) from the true value. (Far out a term
    that overflows or underflows takes the value with it, e^x/(2 + e^x) = 0 at x = 30 in float16; nearer 0 low
    precision loses digits to cancellation instead, sin(x)/x's derivative at 1e-3 in float32, which is a matter of
    precision, the float64 reference check's.)"""
    for xi, yi, ei in zip(x, values, expected, strict=True):
        if math.isnan(xi):
            if not math.isnan(yi):
                return xi, yi, "NaN in should give NaN out"
            continue
        if math.isnan(ei):  # undefined there, or not checked
            continue
        if math.isnan(yi):
            return xi, yi, "the true value is a number"
        if math.isinf(yi) and abs(ei) < 0.5 * limit:
            return xi, yi, f"the true value is finite (about {abs(ei):.3g} in size)"
        comparable = 1 <= abs(xi) < math.inf and math.isfinite(yi) and abs(ei) < 0.5 * limit
        if comparable and abs(yi - ei) > tolerance * (1 + abs(ei)):
            return xi, yi, f"the true value is {ei:.7g}"
    return None


def _bad_gated(act, x, values, what) -> tuple[float, float, str] | None:
    """Gated: an output is NaN exactly where one of its inputs is, and finite where all of them are finite; a partial
    derivative is finite where every input is (with one input NaN, the partials for the others may be numbers)."""
    pieces = act.spec.n_pieces(act.params)
    chunks = x.reshape(pieces, -1)
    finite_in = np.isfinite(chunks).all(0)
    nan_in = np.isnan(chunks).any(0)
    if what == "f'":
        finite_in = np.tile(finite_in, pieces)
    for i, yi in enumerate(values):
        if what == "f" and nan_in[i] != math.isnan(yi):
            return (
                float(chunks[:, i][np.argmax(np.isnan(chunks[:, i]))]),
                float(yi),
                "NaN in, and only NaN in, should give NaN out",
            )
        if finite_in[i] and not math.isfinite(yi):
            return float(x[i]), float(yi), "every input is finite"
    return None


def _paths(act: Activation, fused: bool) -> dict[str, Any]:
    """Each way to evaluate f and f' on float64 input converted to a dtype: ``(x, f, f', f' checked)``, with x
    as the path saw it (layers built on PyTorch's inexact kernels are promised finite inputs only: ±inf becomes NaN
    there, and their derivative is what training uses, checked on finite inputs by gradcheck and autograd)."""
    import torch

    def numpy_path(x, dtype):
        if dtype == "bfloat16":  # NumPy has no bfloat16: its values, through float32
            x = torch.tensor(x, dtype=torch.bfloat16).double().numpy()
            dtype = "float32"
        array = x.astype(dtype)
        return x, act(array), act.derivative(array), True

    def functional(x, dtype):
        t = torch.tensor(x, dtype=getattr(torch, dtype))
        return x, act(t).double().numpy(), act.derivative(t).double().numpy(), True

    native = act.spec.native
    inexact = native is not None and not native.exact and native.applies(act.params)

    def layer(module):
        def evaluate(x, dtype):
            if inexact:
                x = np.where(np.isinf(x), np.nan, x)
            with torch.no_grad():  # a copy: casting the module itself would leave bfloat16's rounding in its parameters
                y = copy.deepcopy(module).to(getattr(torch, dtype))(torch.tensor(x, dtype=getattr(torch, dtype)))
            return x, y.double().numpy(), None, False

        return evaluate

    paths = {"NumPy": numpy_path, "torch functional": functional, "layer": layer(act.module().eval())}
    if fused:
        paths["fused layer"] = layer(act.module(fused=True).eval())
    return paths


# --- properties ------------------------------------------------------------------------------------------------
def _properties(act: Activation) -> tuple[CheckResult, dict[str, Any]]:
    found = measure_spec(act.spec, act.params)
    p = found.properties
    measured = {
        "range": [p.range[0], p.range[1]],
        "range_text": format_range(*p.range, attained=p.attains),
        "attains": list(p.attains),
        "monotonic": p.monotonic,
        "smooth": p.smooth,
        "kinks": list(p.kinks),
        "zero_centred": p.zero_centred,
        "oscillating": p.oscillating,
        "f(0)": found.at_zero,
        "f'(0)": found.slope_at_zero,
    }
    summary = (
        f"range {measured['range_text']}, {'monotonic' if p.monotonic else 'not monotonic'}, "
        f"{'smooth' if p.smooth else 'kinks at ' + ', '.join(f'{k:g}' for k in p.kinks)}, "
        f"{'zero-centred' if p.zero_centred else 'not zero-centred'}, f(0) = {found.at_zero:.6g}, "
        f"f'(0) = {found.slope_at_zero:.6g}"
    )
    name = "properties measured (and, for a built-in, as claimed)"
    if act.spec.user_defined or act.params != act.spec.defaults():
        return CheckResult(name, True, summary), measured
    claimed = act.spec.properties
    differences = []
    smooth = p.smooth and not jumps_at(act.derivative, claimed.kinks)  # kinks too small for the grid, if claimed
    for field, mine, theirs in (
        ("monotonic", p.monotonic, claimed.monotonic),
        ("smooth", smooth, claimed.smooth),
        ("zero-centred", p.zero_centred, claimed.zero_centred),
    ):
        if mine != theirs:
            differences.append(f"{field}: measured {mine}, claimed {theirs}")
    for side in (0, 1):
        finite = math.isfinite(claimed.range[side])
        if (
            finite != math.isfinite(p.range[side])
            or (finite and abs(claimed.range[side] - p.range[side]) > 1e-3)
            or (finite and claimed.attains[side] != p.attains[side])
        ):
            differences.append(
                f"range: measured {measured['range_text']}, claimed "
                f"{format_range(*claimed.range, attained=claimed.attains)}"
            )
            break
    if differences:
        return CheckResult(name, False, "; ".join(differences)), measured
    return CheckResult(name, True, summary), measured
