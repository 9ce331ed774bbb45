"""Shrinkage functions: zero on a dead zone around the origin (hard, soft) and x - tanh x."""

from __future__ import annotations

import math

from actlab.catalog import references as refs
from actlab.catalog.spec import REGISTRY, ActivationSpec, Native, Param, Properties

INF = math.inf
_LAMBDA = Param("lambd", 0.5, "half-width λ >= 0 of the dead zone", minimum=0.0)

REGISTRY.register(
    ActivationSpec(
        name="hardshrink",
        family="shrink",
        summary="Hard thresholding: x outside [-λ, λ], 0 inside.",
        forward=lambda x, xp, lambd: xp.where(xp.abs(x) <= lambd, xp.zeros_like(x), x),
        derivative=lambda x, xp, lambd: xp.indicator(xp.abs(x) > lambd, x),
        formula=r"f(x)=\begin{cases}x & |x|>\lambda\\ 0 & |x|\le\lambda\end{cases}",
        derivative_formula=r"f'(x)=\mathbb{1}[|x|>\lambda]",
        params=(_LAMBDA,),
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=False, kinks=(-0.5, 0.5), zero_centred=True),
        reference=refs.DONOHO_SHRINK,
        aliases={"pytorch": ("Hardshrink", "hardshrink"), "keras3": ("hard_shrink",), "tfa": ("hardshrink",)},
        notes="Keras 3 calls λ `threshold`; TF Addons takes lower/upper bounds (-λ, λ).",
        native=Native(lambda F, x, p: F.hardshrink(x, p["lambd"])),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="softshrink",
        family="shrink",
        summary="Soft thresholding: shrinks x towards 0 by λ, 0 inside [-λ, λ].",
        forward=lambda x, xp, lambd: xp.where(xp.abs(x) <= lambd, xp.zeros_like(x), x - xp.sign(x) * lambd),
        derivative=lambda x, xp, lambd: xp.indicator(xp.abs(x) > lambd, x),
        formula=r"f(x)=\begin{cases}x-\lambda & x>\lambda\\ 0 & |x|\le\lambda\\ x+\lambda & x<-\lambda\end{cases}",
        derivative_formula=r"f'(x)=\mathbb{1}[|x|>\lambda]",
        params=(_LAMBDA,),
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=False, kinks=(-0.5, 0.5), zero_centred=True),
        reference=refs.DONOHO_SHRINK,
        aliases={"pytorch": ("Softshrink", "softshrink"), "keras3": ("soft_shrink",), "tfa": ("softshrink",)},
        notes="Keras 3 calls λ `threshold`; TF Addons takes lower/upper bounds (-λ, λ).",
        native=Native(lambda F, x, p: F.softshrink(x, p["lambd"])),
    )
)

# x - tanh x = x³/3 - 2x⁵/15 + 17x⁷/315 - 62x⁹/2835 + 1382x¹¹/155925 - 21844x¹³/6081075 + …
_TANHSHRINK_SERIES = (1 / 3, -2 / 15, 17 / 315, -62 / 2835, 1382 / 155925, -21844 / 6081075)


def _tanhshrink_forward(x, xp):
    x2 = x * x
    series = _TANHSHRINK_SERIES[-1]
    for c in reversed(_TANHSHRINK_SERIES[:-1]):
        series = series * x2 + c
    return xp.where(xp.abs(x) < 0.1, series * x2 * x, x - xp.tanh(x))


REGISTRY.register(
    ActivationSpec(
        name="tanhshrink",
        family="shrink",
        summary="x - tanh(x): zero slope at the origin, identity-like far away.",
        forward=_tanhshrink_forward,
        derivative=lambda x, xp: xp.tanh(x) * xp.tanh(x),
        formula=r"f(x)=x-\tanh x",
        derivative_formula=r"f'(x)=\tanh^2 x",
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=True, zero_centred=True),
        reference=refs.PYTORCH,
        aliases={"pytorch": ("Tanhshrink", "tanhshrink"), "keras3": ("tanh_shrink",), "tfa": ("tanhshrink",)},
        notes="For |x| < 0.1 a Taylor series replaces x - tanh x, which loses all digits as x → 0.",
        native=Native(lambda F, x, p: F.tanhshrink(x), exact=False, yields_to_fused=True),
    )
)
