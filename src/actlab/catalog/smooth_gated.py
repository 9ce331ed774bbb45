"""Self-gated activations x·g(x): GELU, SiLU/Swish, Mish, TanhExp and relatives, and their hard forms.

Every product x·g(x) with g → 0 as x → -inf is written ``xp.gate(x, g)`` so that -inf gives the limit 0
instead of -inf·0 = NaN, and every derivative term x·g'(x) the same way.
"""

from __future__ import annotations

import math

from actlab.catalog import references as refs
from actlab.catalog.spec import REGISTRY, ActivationSpec, Native, Param, Properties

INF = math.inf
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_TANH_CUBIC = 0.044715
QUICK_GELU_SCALE = 1.702

# Global minima at the default parameters (bounded minimisation in float64; the property tests check each
# one is attained and never undercut).
GELU_MIN = -0.16997120747990369
GELU_TANH_MIN = -0.17004075057125406
QUICK_GELU_MIN = -0.16361018963635357
SILU_MIN = -0.2784645427610738
MISH_MIN = -0.30884341301725043
TANHEXP_MIN = -0.3532857778482113
SERF_MIN = -0.34843745875960647
SMISH_MIN = -0.2499936636601295
LOGISH_MIN = -0.25276881678944035
ELISH_MIN = -0.1715728752538099
HARD_ELISH_MIN = -0.09967315152874262


def _gated_properties(minimum: float, kinks: tuple[float, ...] = ()) -> Properties:
    return Properties(range=(minimum, INF), monotonic=False, smooth=not kinks, zero_centred=True, kinks=kinks)


def _gelu_derivative(x, xp):
    return xp.gaussian_cdf(x) + xp.gate(x, xp.gaussian_pdf(x))


REGISTRY.register(
    ActivationSpec(
        name="gelu",
        family="smooth gated",
        summary="Gaussian error linear unit x·Φ(x) (exact, with erf).",
        forward=lambda x, xp: xp.gate(x, xp.gaussian_cdf(x)),
        derivative=_gelu_derivative,
        formula=r"f(x)=x\,\Phi(x)=\dfrac{x}{2}\left(1+\operatorname{erf}\dfrac{x}{\sqrt2}\right)",
        derivative_formula=r"f'(x)=\Phi(x)+x\,\varphi(x)",
        properties=_gated_properties(GELU_MIN),
        reference=refs.HENDRYCKS_GELU,
        aliases={
            "pytorch": ("GELU", "gelu"),
            "keras3": ("gelu",),
            "timm": ("gelu",),
            "hf": ("gelu", "gelu_python"),
            "other": ("gelu_erf", "gelu_exact"),
        },
        notes="PyTorch's and keras.activations.gelu's default is the exact form (used here); keras.ops.gelu defaults "
        "to approximate=True, which is gelu_tanh. Φ is computed as erfc(-x/√2)/2, accurate in the left tail.",
        native=Native(lambda F, x, p: F.gelu(x), exact=False),
    )
)


def _gelu_tanh_parts(x, xp):
    inner = 2.0 * SQRT_2_OVER_PI * x * (1.0 + GELU_TANH_CUBIC * x * x)  # 2u; 0.5(1 + tanh u) = σ(2u)
    return inner, xp.sigmoid(inner)


def _gelu_tanh_derivative(x, xp):
    inner, s = _gelu_tanh_parts(x, xp)
    slope = 2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_CUBIC * x * x)
    return s + xp.gate(x * slope, xp.sigmoid_derivative(inner))


REGISTRY.register(
    ActivationSpec(
        name="gelu_tanh",
        family="smooth gated",
        summary="GELU with the tanh approximation of Φ (GPT-2, BERT).",
        forward=lambda x, xp: xp.gate(x, _gelu_tanh_parts(x, xp)[1]),
        derivative=_gelu_tanh_derivative,
        formula=r"f(x)=\dfrac{x}{2}\left(1+\tanh u\right),\ u=\sqrt{2/\pi}\,(x+0.044715x^3)",
        derivative_formula=r"f'(x)=\tfrac12(1+\tanh u)+\tfrac{x}{2}\operatorname{sech}^2(u)"
        r"\,\sqrt{2/\pi}\,(1+0.134145x^2)",
        properties=_gated_properties(GELU_TANH_MIN),
        reference=refs.HENDRYCKS_GELU,
        aliases={
            "pytorch": ("gelu_tanh",),
            "keras2": ("gelu_approximate",),
            "timm": ("gelu_tanh",),
            "hf": ("gelu_new", "gelu_fast", "gelu_pytorch_tanh"),
            "other": ("approximate_gelu", "gelu_approx"),
        },
        notes="PyTorch: F.gelu(x, approximate='tanh'); Keras 3: gelu(x, approximate=True). Computed as x·σ(2u), "
        "since 1 + tanh u cancels for x < 0.",
        native=Native(lambda F, x, p: F.gelu(x, approximate="tanh"), exact=False, yields_to_fused=True),
    )
)


def _scaled_swish(x, xp, beta):
    return xp.gate(x, xp.sigmoid(beta * x))


def _scaled_swish_derivative(x, xp, beta):
    bx = beta * x
    return xp.sigmoid(bx) + xp.gate(bx, xp.sigmoid_derivative(bx))


REGISTRY.register(
    ActivationSpec(
        name="quick_gelu",
        family="smooth gated",
        summary="GELU approximated by x·σ(1.702x) (CLIP).",
        forward=lambda x, xp: _scaled_swish(x, xp, QUICK_GELU_SCALE),
        derivative=lambda x, xp: _scaled_swish_derivative(x, xp, QUICK_GELU_SCALE),
        formula=r"f(x)=x\,\sigma(1.702x)",
        derivative_formula=r"f'(x)=\sigma(1.702x)+1.702x\,\sigma(1.702x)\,\sigma(-1.702x)",
        properties=_gated_properties(QUICK_GELU_MIN),
        reference=refs.HENDRYCKS_GELU,
        aliases={"timm": ("quick_gelu",), "hf": ("quick_gelu",), "other": ("QuickGELU",)},
    )
)

REGISTRY.register(
    ActivationSpec(
        name="silu",
        family="smooth gated",
        summary="Sigmoid-weighted linear unit x·σ(x) (Swish with β = 1).",
        forward=lambda x, xp: _scaled_swish(x, xp, 1.0),
        derivative=lambda x, xp: _scaled_swish_derivative(x, xp, 1.0),
        formula=r"f(x)=x\,\sigma(x)",
        derivative_formula=r"f'(x)=\sigma(x)+x\,\sigma(x)\,\sigma(-x)",
        properties=_gated_properties(SILU_MIN),
        reference=refs.ELFWING_SILU,
        aliases={
            "pytorch": ("SiLU", "silu"),
            "keras3": ("silu",),
            "timm": ("silu",),
            "hf": ("silu",),
            "other": ("swish1", "swish_1"),
        },
        native=Native(lambda F, x, p: F.silu(x), exact=False),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="swish",
        family="smooth gated",
        summary="Swish x·σ(βx); β can be learned (Swish-β).",
        forward=lambda x, xp, beta: _scaled_swish(x, xp, beta),
        derivative=lambda x, xp, beta: _scaled_swish_derivative(x, xp, beta),
        formula=r"f(x)=x\,\sigma(\beta x)",
        derivative_formula=r"f'(x)=\sigma(\beta x)+\beta x\,\sigma(\beta x)\,\sigma(-\beta x)",
        params=(Param("beta", 1.0, "gate sharpness β (learnable with module(learnable=True))"),),
        param_derivatives={"beta": lambda x, xp, beta: xp.gate(x * x, xp.sigmoid_derivative(beta * x))},
        properties=_gated_properties(SILU_MIN),
        reference=refs.RAMACHANDRAN_SWISH,
        aliases={"keras3": ("swish",), "timm": ("swish",), "hf": ("swish",), "other": ("swish_beta",)},
        notes="Keras, timm and Hugging Face use `swish` for SiLU, which is this function at β = 1. ∂f/∂β = x² σ'(βx).",
        native=Native(lambda F, x, p: F.silu(x), applies=lambda p: p["beta"] == 1.0, exact=False),
    )
)


def _hard_swish_forward(x, xp, n):
    half = 0.5 * n
    middle = x * (x + half) / n
    return xp.where(x > half, x, xp.where(x <= -half, xp.zeros_like(x), middle))


def _hard_swish_derivative(x, xp, n):
    half = 0.5 * n
    middle = (2.0 * x + half) / n
    return xp.where(x <= -half, xp.zeros_like(x), xp.where(x < half, middle, xp.ones_like(x)))


REGISTRY.register(
    ActivationSpec(
        name="hard_swish",
        family="smooth gated",
        summary="Piecewise-quadratic Swish; n = 6 is MobileNetV3's x·relu6(x + 3)/6.",
        forward=_hard_swish_forward,
        derivative=_hard_swish_derivative,
        formula=r"f(x)=\begin{cases}x & x>\tfrac n2\\ \dfrac{x\,(x+\tfrac n2)}{n} & -\tfrac n2< x\le\tfrac n2\\ 0 & "
        r"x\le-\tfrac n2\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}1 & x\ge\tfrac n2\\ \dfrac{2x+\tfrac n2}{n} & -\tfrac n2< x<\tfrac "
        r"n2\\ 0 & x\le-\tfrac n2\end{cases}",
        params=(Param("n", 6.0, "size n > 0 of the quadratic region [-n/2, n/2]", minimum=0.0, exclusive=True),),
        properties=Properties(
            range=(-6.0 / 16.0, INF), monotonic=False, smooth=False, kinks=(-3.0, 3.0), zero_centred=True
        ),
        reference=refs.HOWARD_MOBILENETV3,
        aliases={
            "pytorch": ("Hardswish", "hardswish"),
            "keras3": ("hard_silu",),
            "timm": ("hard_swish",),
            "other": ("h_swish", "hswish"),
        },
        notes="The minimum is -n/16 at x = -n/4. At the edges f'(-n/2) = 0 and f'(n/2) = 1, as in PyTorch.",
        native=Native(lambda F, x, p: F.hardswish(x), applies=lambda p: p["n"] == 6.0, exact=False),
    )
)


# e^x is capped here: beyond it tanh(softplus x) rounds to 1 in float64, and e^(2x) stays finite in float32.
_MISH_CAP = 40.0


def _mish_terms(x, xp):
    """(c, n, w, w + 2) with c = min(x, 40), n = e^c, w = n(n + 2), so tanh(softplus x) = w / (w + 2).

    With u = 1 + e^x, tanh(log u) = (u² - 1)/(u² + 1) and u² - 1 = e^x(e^x + 2): one exp instead of the
    exp, log1p and tanh of the literal formula, and no cancellation for any x."""
    c = xp.minimum(x, xp.full_like(x, _MISH_CAP))
    n = xp.exp(c)
    w = n * (n + 2.0)
    return c, n, w, w + 2.0


def _mish_forward(x, xp):
    _, _, w, d = _mish_terms(x, xp)
    return xp.gate(x, w / d)


def _mish_derivative(x, xp):
    """tanh(sp) + x σ(x) sech²(sp) with sech²(sp) = 4(w + 1)/(w + 2)², w + 1 = (n + 1)², σ(x) = n/(n + 1)."""
    c, n, w, d = _mish_terms(x, xp)
    return w / d + xp.gate(4.0 * c, n * (n + 1.0) / (d * d))


REGISTRY.register(
    ActivationSpec(
        name="mish",
        family="smooth gated",
        summary="Mish x·tanh(softplus(x)).",
        forward=_mish_forward,
        derivative=_mish_derivative,
        formula=r"f(x)=x\tanh(\operatorname{softplus}(x))",
        derivative_formula=r"f'(x)=\tanh(\operatorname{softplus}(x))+x\,\sigma(x)\operatorname{sech}^2(\operatorname{softplus}(x))",
        properties=_gated_properties(MISH_MIN),
        reference=refs.MISRA_MISH,
        aliases={
            "pytorch": ("Mish", "mish"),
            "keras3": ("mish",),
            "tfa": ("mish",),
            "timm": ("mish",),
            "hf": ("mish",),
        },
        native=Native(lambda F, x, p: F.mish(x), exact=False, yields_to_fused=True),
        notes="Evaluated as x·w/(w + 2) with w = eˣ(eˣ + 2), which equals x·tanh(softplus(x)) with one exp.",
    )
)

REGISTRY.register(
    ActivationSpec(
        name="hard_mish",
        family="smooth gated",
        summary="Piecewise-quadratic Mish: x/2 · clip(x + 2, 0, 2).",
        forward=lambda x, xp: xp.gate(0.5 * x, xp.clip(x + 2.0, 0.0, 2.0)),
        derivative=lambda x, xp: xp.where(x < -2, xp.zeros_like(x), xp.where(x <= 0, x + 1.0, xp.ones_like(x))),
        formula=r"f(x)=\tfrac{x}{2}\min(\max(x+2,0),2)",
        derivative_formula=r"f'(x)=\begin{cases}0 & x<-2\\ x+1 & -2\le x\le 0\\ 1 & x>0\end{cases}",
        properties=Properties(range=(-0.5, INF), monotonic=False, smooth=False, kinks=(-2.0,), zero_centred=True),
        reference=refs.TIMM,
        aliases={"timm": ("hard_mish",), "other": ("h_mish", "hmish")},
        notes="Defined in timm after notes by Mish's author; derivative conventions follow timm's hard_mish_bwd.",
    )
)


def _tanhexp_derivative(x, xp):
    e = xp.exp(x)
    return xp.tanh(e) + xp.gate(xp.gate(x, e), xp.sech2(e))


REGISTRY.register(
    ActivationSpec(
        name="tanhexp",
        family="smooth gated",
        summary="TanhExp x·tanh(e^x).",
        forward=lambda x, xp: xp.gate(x, xp.tanh(xp.exp(x))),
        derivative=_tanhexp_derivative,
        formula=r"f(x)=x\tanh(e^{x})",
        derivative_formula=r"f'(x)=\tanh(e^{x})+x\,e^{x}\operatorname{sech}^2(e^{x})",
        properties=_gated_properties(TANHEXP_MIN),
        reference=refs.LIU_TANHEXP,
        aliases={"other": ("tanh_exp",)},
        notes="The x·e^x·sech²(e^x) term is formed so that it is 0, not inf·0 = NaN, once e^x overflows "
        "(x ≥ 89 in fp32, x ≥ 12 in fp16 without upcasting).",
    )
)


def _serf_derivative(x, xp):
    sp = xp.softplus(x)
    return xp.erf(sp) + xp.gate(x, (2.0 / math.sqrt(math.pi)) * xp.exp(-sp * sp) * xp.sigmoid(x))


REGISTRY.register(
    ActivationSpec(
        name="serf",
        family="smooth gated",
        summary="SERF x·erf(softplus(x)).",
        forward=lambda x, xp: xp.gate(x, xp.erf(xp.softplus(x))),
        derivative=_serf_derivative,
        formula=r"f(x)=x\operatorname{erf}(\log(1+e^{x}))",
        derivative_formula=r"f'(x)=\operatorname{erf}(\operatorname{softplus}x)+\dfrac{2x}{\sqrt\pi}e^{-\operatorname{softplus}(x)^2}\sigma(x)",
        properties=_gated_properties(SERF_MIN),
        reference=refs.NAG_SERF,
        aliases={"other": ("SERF",)},
    )
)


def _smish_terms(x, xp):
    """(s, w, w + 2) with s = σ(x), w = s(s + 2), so tanh(log(1 + s)) = w / (w + 2), as for Mish."""
    s = xp.sigmoid(x)
    w = s * (s + 2.0)
    return s, w, w + 2.0


def _smish_forward(x, xp):
    _, w, d = _smish_terms(x, xp)
    return xp.gate(x, w / d)


def _smish_derivative(x, xp):
    """tanh(log(1 + s)) + x sech²(log(1 + s)) σ'(x)/(1 + s), with sech² = 4(1 + s)²/(w + 2)²."""
    s, w, d = _smish_terms(x, xp)
    return w / d + xp.gate(x, 4.0 * (1.0 + s) * xp.sigmoid_derivative(x) / (d * d))


REGISTRY.register(
    ActivationSpec(
        name="smish",
        family="smooth gated",
        summary="Smish x·tanh(log(1 + σ(x))).",
        forward=_smish_forward,
        derivative=_smish_derivative,
        formula=r"f(x)=x\tanh(\log(1+\sigma(x)))",
        derivative_formula=r"f'(x)=\tanh(\log(1+\sigma(x)))+x\,\dfrac{\operatorname{sech}^2(\log(1+\sigma(x)))\,\sigma(x)\sigma(-x)}{1+\sigma(x)}",
        properties=_gated_properties(SMISH_MIN),
        reference=refs.WANG_SMISH,
        aliases={"other": ("Smish",)},
        notes="The paper's general form αx·tanh(log(1 + σ(βx))) is used with α = β = 1, as in its experiments. "
        "Evaluated as x·w/(w + 2) with w = σ(x)(σ(x) + 2), which equals x·tanh(log(1 + σ(x))).",
    )
)

REGISTRY.register(
    ActivationSpec(
        name="logish",
        family="smooth gated",
        summary="Logish x·log(1 + σ(x)).",
        forward=lambda x, xp: xp.gate(x, xp.log1p(xp.sigmoid(x))),
        derivative=lambda x, xp: xp.log1p(xp.sigmoid(x)) + xp.gate(x, xp.sigmoid_derivative(x) / (1.0 + xp.sigmoid(x))),
        formula=r"f(x)=x\log(1+\sigma(x))",
        derivative_formula=r"f'(x)=\log(1+\sigma(x))+\dfrac{x\,\sigma(x)\sigma(-x)}{1+\sigma(x)}",
        properties=_gated_properties(LOGISH_MIN),
        reference=refs.ZHU_LOGISH,
        aliases={"other": ("Logish",)},
    )
)

REGISTRY.register(
    ActivationSpec(
        name="lisht",
        family="smooth gated",
        summary="Linearly scaled hyperbolic tangent x·tanh(x); non-negative and even.",
        forward=lambda x, xp: x * xp.tanh(x),
        derivative=lambda x, xp: xp.tanh(x) + xp.gate(x, xp.sech2(x)),
        formula=r"f(x)=x\tanh x",
        derivative_formula=r"f'(x)=\tanh x+x\operatorname{sech}^2 x",
        properties=Properties(range=(0.0, INF), monotonic=False, smooth=True, zero_centred=False),
        reference=refs.ROY_LISHT,
        aliases={"tfa": ("lisht",), "other": ("LiSHT",)},
    )
)


def _elish_forward(x, xp):
    s = xp.sigmoid(x)
    return xp.where(x >= 0, xp.gate(x, s), xp.expm1(x) * s)


def _elish_derivative(x, xp):
    s = xp.sigmoid(x)
    ds = xp.sigmoid_derivative(x)
    return xp.where(x >= 0, s + xp.gate(x, ds), xp.exp(x) * s + xp.expm1(x) * ds)


REGISTRY.register(
    ActivationSpec(
        name="elish",
        family="smooth gated",
        summary="ELiSH: x·σ(x) for x >= 0, (e^x - 1)·σ(x) below.",
        forward=_elish_forward,
        derivative=_elish_derivative,
        formula=r"f(x)=\begin{cases}x\,\sigma(x) & x\ge 0\\ (e^{x}-1)\,\sigma(x) & x<0\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}\sigma(x)+x\,\sigma'(x) & x\ge 0\\ e^{x}\sigma(x)+(e^{x}-1)"
        r"\,\sigma'(x) & x<0\end{cases}",
        properties=_gated_properties(ELISH_MIN),
        reference=refs.BASIRAT_ELISH,
        aliases={"other": ("ELiSH",)},
    )
)


def _hard_elish_parts(x, xp):
    h = xp.clip(0.5 * (x + 1.0), 0.0, 1.0)
    dh = 0.5 * xp.indicator((x > -1) & (x < 1), x)
    return h, dh


def _hard_elish_forward(x, xp):
    h, _ = _hard_elish_parts(x, xp)
    return xp.where(x >= 0, x * h, xp.expm1(x) * h)


def _hard_elish_derivative(x, xp):
    h, dh = _hard_elish_parts(x, xp)
    return xp.where(x >= 0, h + xp.gate(x, dh), xp.exp(x) * h + xp.expm1(x) * dh)


REGISTRY.register(
    ActivationSpec(
        name="hard_elish",
        family="smooth gated",
        summary="HardELiSH: ELiSH with the hard sigmoid clip((x+1)/2, 0, 1) as gate.",
        forward=_hard_elish_forward,
        derivative=_hard_elish_derivative,
        formula=r"f(x)=\begin{cases}x\,h(x) & x\ge 0\\ (e^{x}-1)\,h(x) & x<0\end{cases},\ h(x)"
        r"=\min(\max(\tfrac{x+1}{2},0),1)",
        derivative_formula=r"f'(x)=\begin{cases}h(x)+x\,h'(x) & x\ge 0\\ e^{x}h(x)+(e^{x}-1)\,h'(x) & x<0\end{cases},"
        r"\ h'(x)=\tfrac12\mathbb{1}[|x|<1]",
        properties=_gated_properties(HARD_ELISH_MIN, kinks=(-1.0, 1.0)),
        reference=refs.BASIRAT_ELISH,
        aliases={"other": ("HardELiSH",)},
    )
)
