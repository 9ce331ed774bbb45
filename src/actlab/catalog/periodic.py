"""Periodic and radial (bump-shaped) activations."""

from __future__ import annotations

import math

from actlab.catalog import references as refs
from actlab.catalog.spec import REGISTRY, ActivationSpec, Param, Properties

INF = math.inf
SINC_MIN = -0.21723362821122166  # sin(x)/x at x = 4.4934…, the first root of tan x = x


def _snake_forward(x, xp, a):
    s = xp.sin(a * x)
    return xp.where(xp.isinf(x), x, x + s * s / a)


def _snake_param_derivative(x, xp, a):
    s = xp.sin(a * x)
    return x * xp.sin(2.0 * a * x) / a - s * s / (a * a)


REGISTRY.register(
    ActivationSpec(
        name="snake",
        family="periodic",
        init="glorot_uniform",
        summary="Snake x + sin²(ax)/a: monotonic with a periodic ripple; a is learnable.",
        forward=_snake_forward,
        # 1 + sin 2θ = (sin θ + cos θ)², which does not cancel where sin 2θ ≈ -1.
        derivative=lambda x, xp, a: (xp.sin(a * x) + xp.cos(a * x)) * (xp.sin(a * x) + xp.cos(a * x)),
        formula=r"f(x)=x+\dfrac{\sin^2(a x)}{a}",
        derivative_formula=r"f'(x)=1+\sin(2a x)",
        params=(Param("a", 1.0, "frequency a > 0 (learned by default)", minimum=0.0, exclusive=True, learnable=True),),
        param_derivatives={"a": _snake_param_derivative},
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=True, zero_centred=True, oscillating=True),
        reference=refs.ZIYIN_SNAKE,
        aliases={"tfa": ("snake",)},
        notes="TF Addons names a `frequency`. ∂f/∂a = x sin(2ax)/a - sin²(ax)/a².",
    )
)

# sinc'(x) = -x/3 + x³/30 - x⁵/840 + x⁷/45360 - x⁹/3991680 + … near 0
_SINC_DERIVATIVE_SERIES = (-1 / 3, 1 / 30, -1 / 840, 1 / 45360, -1 / 3991680)


def _sinc_forward(x, xp):
    safe = xp.where(x == 0, xp.ones_like(x), x)
    return xp.where(x == 0, xp.ones_like(x), xp.where(xp.isinf(x), xp.zeros_like(x), xp.sin(safe) / safe))


def _sinc_derivative(x, xp):
    x2 = x * x
    series = _SINC_DERIVATIVE_SERIES[-1]
    for c in reversed(_SINC_DERIVATIVE_SERIES[:-1]):
        series = series * x2 + c
    safe = xp.where(xp.abs(x) < 0.1, xp.ones_like(x), x)
    direct = (xp.cos(safe) - xp.sin(safe) / safe) / safe
    return xp.where(xp.abs(x) < 0.1, series * x, xp.where(xp.isinf(x), xp.zeros_like(x), direct))


REGISTRY.register(
    ActivationSpec(
        name="sinc",
        family="periodic",
        init="glorot_uniform",
        summary="Unnormalised cardinal sine sin(x)/x, 1 at the origin.",
        forward=_sinc_forward,
        derivative=_sinc_derivative,
        formula=r"f(x)=\begin{cases}\dfrac{\sin x}{x} & x\ne 0\\ 1 & x=0\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}\dfrac{\cos x}{x}-\dfrac{\sin x}{x^2} & x\ne 0\\ 0 & x=0\end{cases}",
        properties=Properties(range=(SINC_MIN, 1.0), monotonic=False, smooth=True, zero_centred=False),
        reference=refs.ACTIVATION_TABLE,
        aliases={"other": ("sinc_unnormalized",)},
        notes="torch.sinc and numpy.sinc are the normalised sin(πx)/(πx): this is torch.sinc(x/π).",
    )
)

REGISTRY.register(
    ActivationSpec(
        name="sine",
        family="periodic",
        init="glorot_uniform",
        summary="sin(w0·x), the SIREN activation.",
        forward=lambda x, xp, w0: xp.sin(w0 * x),
        derivative=lambda x, xp, w0: w0 * xp.cos(w0 * x),
        formula=r"f(x)=\sin(\omega_0 x)",
        derivative_formula=r"f'(x)=\omega_0\cos(\omega_0 x)",
        params=(Param("w0", 1.0, "frequency ω0 > 0 (SIREN uses 30 in the first layer)", minimum=0.0, exclusive=True),),
        properties=Properties(range=(-1.0, 1.0), monotonic=False, smooth=True, zero_centred=True, oscillating=True),
        reference=refs.SITZMANN_SIREN,
        aliases={"other": ("sin", "siren")},
    )
)

REGISTRY.register(
    ActivationSpec(
        name="gaussian",
        family="radial",
        init="glorot_uniform",
        summary="Gaussian bump e^{-x²}.",
        forward=lambda x, xp: xp.exp(-x * x),
        derivative=lambda x, xp: xp.gate(-2.0 * x, xp.exp(-x * x)),
        formula=r"f(x)=e^{-x^2}",
        derivative_formula=r"f'(x)=-2x\,e^{-x^2}",
        properties=Properties(
            range=(0.0, 1.0), attains=(False, True), monotonic=False, smooth=True, zero_centred=False
        ),
        reference=refs.ACTIVATION_TABLE,
        aliases={"other": ("gauss",)},
    )
)

REGISTRY.register(
    ActivationSpec(
        name="gcu",
        family="periodic",
        init="glorot_uniform",
        summary="Growing cosine unit x·cos(x).",
        forward=lambda x, xp: x * xp.cos(x),
        derivative=lambda x, xp: xp.cos(x) - x * xp.sin(x),
        formula=r"f(x)=x\cos x",
        derivative_formula=r"f'(x)=\cos x-x\sin x",
        properties=Properties(range=(-INF, INF), monotonic=False, smooth=True, zero_centred=True, oscillating=True),
        reference=refs.NOEL_GCU,
        aliases={"other": ("GCU", "growing_cosine_unit")},
    )
)

LAPLACE_MU = math.sqrt(0.5)
LAPLACE_SIGMA = math.sqrt(1.0 / (4.0 * math.pi))

REGISTRY.register(
    ActivationSpec(
        name="laplace",
        family="radial",
        init="glorot_uniform",
        summary="Mega's Laplace attention function: a Gaussian CDF matched to squared ReLU near the origin.",
        forward=lambda x, xp, mu, sigma: xp.gaussian_cdf((x - mu) / sigma),
        derivative=lambda x, xp, mu, sigma: xp.gaussian_pdf((x - mu) / sigma) / sigma,
        formula=r"f(x)=\tfrac12\left(1+\operatorname{erf}\dfrac{x-\mu}{\sigma\sqrt2}\right),\ \mu=\sqrt{1/2},"
        r"\ \sigma=\sqrt{1/(4\pi)}",
        derivative_formula=r"f'(x)=\dfrac{1}{\sigma\sqrt{2\pi}}e^{-(x-\mu)^2/(2\sigma^2)}",
        params=(
            Param("mu", LAPLACE_MU, "centre μ"),
            Param("sigma", LAPLACE_SIGMA, "width σ > 0", minimum=0.0, exclusive=True),
        ),
        properties=Properties(
            range=(0.0, 1.0), attains=(False, False), monotonic=True, smooth=True, zero_centred=False
        ),
        reference=refs.MA_MEGA,
        aliases={"hf": ("laplace",)},
        notes="Hugging Face's LaplaceActivation rounds the constants to μ = 0.707107, σ = 0.282095; the exact "
        "values are used here.",
    )
)
