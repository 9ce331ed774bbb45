"""Activations with learnable parameters: each has the hand-derived ∂f/∂param next to ∂f/∂x.

In ``module()`` these parameters are ``nn.Parameter``s; in the functional and NumPy paths they are the
fixed values given (or the defaults, which are the initialisations of the papers).
"""

from __future__ import annotations

import math

from actlab.catalog import references as refs
from actlab.catalog.rectifiers import _leaky_derivative, _leaky_forward
from actlab.catalog.spec import REGISTRY, ActivationSpec, Native, Param, Properties

INF = math.inf

REGISTRY.register(
    ActivationSpec(
        name="prelu",
        family="learnable",
        summary="Parametric ReLU: leaky ReLU whose negative slope is learned.",
        forward=lambda x, xp, a: _leaky_forward(x, xp, a),
        derivative=lambda x, xp, a: _leaky_derivative(x, xp, a),
        formula=r"f(x)=\begin{cases}x & x>0\\ a x & x\le 0\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}1 & x>0\\ a & x\le 0\end{cases},\quad \dfrac{\partial f}{\partial "
        r"a}=\min(x,0)",
        params=(Param("a", 0.25, "negative slope a (learned; initial value)", learnable=True),),
        param_derivatives={"a": lambda x, xp, a: xp.where(x > 0, xp.zeros_like(x), x)},
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=False, kinks=(0.0,), zero_centred=True),
        reference=refs.HE_PRELU,
        aliases={"pytorch": ("PReLU", "prelu"), "keras3": ("PReLU",), "timm": ("prelu",), "hf": ("prelu",)},
        notes="Initial slope 0.25 as in PyTorch and He et al.; Keras' PReLU layer initialises it to 0. "
        "module(num_parameters=C) learns one slope per channel (dimension 1).",
        native=Native(lambda F, x, p: F.prelu(x, p["a"]), learns=("a",), yields_to_fused=True),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="tlu",
        family="learnable",
        summary="Thresholded linear unit max(x, τ) with learned τ (used with filter response normalization).",
        forward=lambda x, xp, tau: xp.maximum(x, xp.ones_like(x) * tau),
        derivative=lambda x, xp, tau: xp.indicator(x > tau, x),
        formula=r"f(x)=\max(x,\tau)",
        derivative_formula=r"f'(x)=\mathbb{1}[x>\tau],\quad \dfrac{\partial f}{\partial\tau}=\mathbb{1}[x\le\tau]",
        params=(Param("tau", 0.0, "learned threshold τ (initial value)", learnable=True),),
        param_derivatives={"tau": lambda x, xp, tau: xp.indicator(x <= tau, x)},
        properties=Properties(range=(0.0, INF), monotonic=True, smooth=False, kinks=(0.0,), zero_centred=False),
        reference=refs.SINGH_TLU,
        aliases={"other": ("TLU", "thresholded_linear_unit")},
    )
)


def _srelu_forward(x, xp, t_left, a_left, t_right, a_right):
    right = t_right + xp.gate(x - t_right, a_right)
    left = t_left + xp.gate(x - t_left, a_left)
    return xp.where(x >= t_right, right, xp.where(x <= t_left, left, x))


def _srelu_derivative(x, xp, t_left, a_left, t_right, a_right):
    one = xp.ones_like(x)
    return xp.where(x >= t_right, one * a_right, xp.where(x <= t_left, one * a_left, one))


def _srelu_check(p):
    if p["t_left"] >= p["t_right"]:
        return f"t_left ({p['t_left']:g}) must be less than t_right ({p['t_right']:g})"
    return None


REGISTRY.register(
    ActivationSpec(
        name="srelu",
        family="learnable",
        summary="S-shaped ReLU: three linear pieces with learned thresholds and outer slopes.",
        forward=_srelu_forward,
        derivative=_srelu_derivative,
        formula=r"f(x)=\begin{cases}t_r+a_r(x-t_r) & x\ge t_r\\ x & t_l<x<t_r\\ t_l+a_l(x-t_l) & x\le t_l\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}a_r & x\ge t_r\\ 1 & t_l<x<t_r\\ a_l & x\le t_l\end{cases}",
        params=(
            Param("t_left", 0.0, "left threshold t_l", learnable=True),
            Param("a_left", 0.01, "slope a_l left of t_l", learnable=True),
            Param("t_right", 1.0, "right threshold t_r", learnable=True),
            Param("a_right", 1.0, "slope a_r right of t_r", learnable=True),
        ),
        param_derivatives={
            "t_left": lambda x, xp, t_left, a_left, t_right, a_right: xp.where(
                x <= t_left, xp.ones_like(x) * (1.0 - a_left), xp.zeros_like(x)
            ),
            "a_left": lambda x, xp, t_left, a_left, t_right, a_right: xp.where(
                x <= t_left, x - t_left, xp.zeros_like(x)
            ),
            "t_right": lambda x, xp, t_left, a_left, t_right, a_right: xp.where(
                x >= t_right, xp.ones_like(x) * (1.0 - a_right), xp.zeros_like(x)
            ),
            "a_right": lambda x, xp, t_left, a_left, t_right, a_right: xp.where(
                x >= t_right, x - t_right, xp.zeros_like(x)
            ),
        },
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=False, kinks=(0.0,), zero_centred=True),
        reference=refs.JIN_SRELU,
        aliases={"other": ("SReLU", "s_relu")},
        notes="Initialised as leaky ReLU (a_l = 0.01, a_r = 1), which is how the paper starts training "
        "('freezing' SReLU into a leaky ReLU for the first epochs).",
        check=_srelu_check,
    )
)


def _apl_forward(x, xp, a, b):
    y = xp.relu(x)
    for a_s, b_s in zip(a, b, strict=True):
        y = y + xp.gate(xp.relu(b_s - x), a_s)
    return y


def _apl_derivative(x, xp, a, b):
    d = xp.indicator(x > 0, x)
    for a_s, b_s in zip(a, b, strict=True):
        d = d - xp.indicator(x < b_s, x) * a_s
    return d


def _apl_check(p):
    if len(p["a"]) != len(p["b"]):
        return f"a and b must have one entry per hinge, got {len(p['a'])} and {len(p['b'])}"
    return None


REGISTRY.register(
    ActivationSpec(
        name="apl",
        family="learnable",
        summary="Adaptive piecewise linear unit: ReLU plus S learned hinges.",
        forward=_apl_forward,
        derivative=_apl_derivative,
        formula=r"f(x)=\max(0,x)+\sum_{s=1}^{S}a_s\max(0,-x+b_s)",
        derivative_formula=r"f'(x)=\mathbb{1}[x>0]-\sum_{s=1}^{S}a_s\mathbb{1}[x<b_s]",
        params=(
            Param("a", (0.0, 0.0), "hinge slopes a_s (learned)", kind="vector", learnable=True),
            Param("b", (0.0, 1.0), "hinge locations b_s (learned)", kind="vector", learnable=True),
        ),
        param_derivatives={
            "a": lambda x, xp, a, b: [xp.relu(b_s - x) for b_s in b],
            "b": lambda x, xp, a, b: [xp.indicator(x < b_s, x) * a_s for a_s, b_s in zip(a, b, strict=True)],
        },
        properties=Properties(range=(0.0, INF), monotonic=True, smooth=False, kinks=(0.0,), zero_centred=False),
        reference=refs.AGOSTINELLI_APL,
        aliases={"other": ("APL", "adaptive_piecewise_linear")},
        notes="S = len(a) hinges (2 by default). The slopes start at 0, so training starts from ReLU.",
        check=_apl_check,
    )
)

# Padé coefficients approximating leaky ReLU, from the authors' code (ml-research/pau,
# `pade_optimized_leakyrelu`): numerator a_0..a_5, denominator b_1..b_4.
PAU_NUMERATOR = (3.35583603e-02, 5.05000375e-01, 1.65343934e00, 2.01001052e00, 9.31901999e-01, 1.52424124e-01)
PAU_DENOMINATOR = (3.30847488e-06, 3.98021568e00, 5.12471206e-07, 3.01830109e-01)
# R(x) = b_1 x + b_2 x² + … changes sign at x ≈ -b_1/b_2 ≈ -8.3e-7, where |R| (and so f') has a small kink.
PAU_KINK = (-PAU_DENOMINATOR[0] / PAU_DENOMINATOR[1],)


def _pau_terms(x, xp, numerator, denominator, shift):
    """P/x^s, P'/x^s, R/x^s, (P·R')/x^(2s) and 1/x^s, with negative powers taken of 1/x.

    P·R' is expanded term by term: with s = n its highest power is x^(m-n-1) = x^0 for the usual m = n + 1,
    whereas the product of the two scaled sums would be inf·0 at x = ±inf.
    """
    safe = xp.where(x == 0, xp.ones_like(x), x)
    z = 1.0 / safe

    def power(e):
        return x**e if e >= 0 else z ** (-e)

    p = sum(a_j * power(j - shift) for j, a_j in enumerate(numerator))
    dp = sum(j * a_j * power(j - 1 - shift) for j, a_j in enumerate(numerator) if j > 0)
    r = sum(b_k * power(k - shift) for k, b_k in enumerate(denominator, start=1))
    p_dr = sum(
        a_j * k * b_k * power(j + k - 1 - 2 * shift)
        for j, a_j in enumerate(numerator)
        for k, b_k in enumerate(denominator, start=1)
    )
    return p, dp, r, p_dr, power(-shift)


def _pau_parts(x, xp, numerator, denominator):
    """P/Q evaluated directly for |x| <= 1 and with numerator and denominator divided by x^n beyond, so
    that no power overflows. Returns P, P', sign(R), P·R' and Q in the scaling chosen per element."""
    n = len(denominator)
    small = xp.abs(x) <= 1
    direct = _pau_terms(x, xp, numerator, denominator, 0)
    scaled = _pau_terms(x, xp, numerator, denominator, n)
    p, dp, r, p_dr, one = (xp.where(small, d, s) for d, s in zip(direct, scaled, strict=True))
    # Q = 1 + |R|; dividing by x^n multiplies |R| by the sign of x^n.
    parity = xp.ones_like(x) if n % 2 == 0 else xp.sign(x)
    parity = xp.where(small, xp.ones_like(x), parity)
    sign_r = xp.sign(r) * parity
    q = one + parity * xp.abs(r)
    return p, dp, sign_r, p_dr, q, small, n


def _pau_forward(x, xp, numerator, denominator):
    p, _, _, _, q, _, _ = _pau_parts(x, xp, numerator, denominator)
    return p / q


def _pau_derivative(x, xp, numerator, denominator):
    p, dp, sign_r, p_dr, q, _, _ = _pau_parts(x, xp, numerator, denominator)
    return (dp * q - sign_r * p_dr) / (q * q)


def _pau_numerator_derivative(x, xp, numerator, denominator):
    _, _, _, _, q, small, n = _pau_parts(x, xp, numerator, denominator)
    safe = xp.where(x == 0, xp.ones_like(x), x)
    return [xp.where(small, x**j, safe ** (j - n)) / q for j in range(len(numerator))]


def _pau_denominator_derivative(x, xp, numerator, denominator):
    p, _, sign_r, _, q, small, n = _pau_parts(x, xp, numerator, denominator)
    safe = xp.where(x == 0, xp.ones_like(x), x)
    scale = -p * sign_r / (q * q)
    return [scale * xp.where(small, x**k, safe ** (k - n)) for k in range(1, len(denominator) + 1)]


REGISTRY.register(
    ActivationSpec(
        name="pau",
        family="learnable",
        summary="Padé activation unit: a learned rational function P(x)/(1 + |R(x)|) ('safe' PAU).",
        forward=_pau_forward,
        derivative=_pau_derivative,
        formula=r"f(x)=\dfrac{\sum_{j=0}^{m}a_jx^j}{1+\left|\sum_{k=1}^{n}b_kx^k\right|}",
        derivative_formula=r"f'(x)=\dfrac{P'(x)Q(x)-P(x)\operatorname{sign}(R(x))R'(x)}{Q(x)^2},\ R=\sum_k b_kx^k,"
        r"\ Q=1+|R|",
        params=(
            Param(
                "numerator", PAU_NUMERATOR, "a_0..a_m (learned; default fits leaky ReLU)", kind="vector", learnable=True
            ),
            Param("denominator", PAU_DENOMINATOR, "b_1..b_n (learned)", kind="vector", learnable=True),
        ),
        param_derivatives={"numerator": _pau_numerator_derivative, "denominator": _pau_denominator_derivative},
        properties=Properties(range=(-INF, INF), monotonic=False, smooth=False, kinks=PAU_KINK, zero_centred=False),
        reference=refs.MOLINA_PAU,
        aliases={"other": ("PAU", "pade", "rational")},
        notes="Degrees (m, n) = (5, 4) by default, initialised to the authors' leaky-ReLU fit; any lengths work. "
        "The fit is within 0.034 of leaky_relu(0.01) on [-3, 3] but dips slightly (f' ≈ -0.06 near x = -0.36) and "
        "grows like (a_5/b_4)·x outside. Evaluated with numerator and denominator divided by x^n for |x| > 1, "
        "so large inputs do not overflow.",
    )
)

STAR_RELU_SCALE = 2.0 / math.sqrt(5.0)  # 1/std of relu(z)^2 for z ~ N(0, 1): makes the output unit-variance
STAR_RELU_BIAS = -1.0 / math.sqrt(5.0)  # -mean/std: makes it zero-mean

REGISTRY.register(
    ActivationSpec(
        name="star_relu",
        family="learnable",
        summary="StarReLU s·relu(x)² + b with learned scale and bias (MetaFormer).",
        forward=lambda x, xp, scale, bias: scale * (xp.relu(x) * xp.relu(x)) + bias,
        derivative=lambda x, xp, scale, bias: 2.0 * scale * xp.relu(x),
        formula=r"f(x)=s\max(0,x)^2+b",
        derivative_formula=r"f'(x)=2s\max(0,x),\quad \dfrac{\partial f}{\partial s}=\max(0,x)^2,\ \dfrac{\partial "
        r"f}{\partial b}=1",
        params=(
            Param("scale", STAR_RELU_SCALE, "scale s (learned; 2/√5 ≈ 0.8944)", learnable=True),
            Param("bias", STAR_RELU_BIAS, "bias b (learned; -1/√5 ≈ -0.4472)", learnable=True),
        ),
        param_derivatives={
            "scale": lambda x, xp, scale, bias: xp.relu(x) * xp.relu(x),
            "bias": lambda x, xp, scale, bias: xp.ones_like(x),
        },
        properties=Properties(range=(STAR_RELU_BIAS, INF), monotonic=True, smooth=True, zero_centred=False),
        reference=refs.YU_METAFORMER,
        aliases={"timm": ("StarReLU",), "other": ("starrelu",)},
        notes="s = 2/√5 and b = -1/√5 (the paper's 0.8944 and -0.4472) normalise relu(z)² for z ~ N(0, 1); "
        "timm initialises s = 1, b = 0.",
    )
)


def _xielu_forward(x, xp, alpha_p, alpha_n, beta, eps):
    positive = alpha_p * x * x + beta * x
    negative = alpha_n * xp.expm1(xp.minimum(x, xp.ones_like(x) * eps)) - (alpha_n - beta) * x
    return xp.where(x > 0, positive, negative)


def _xielu_derivative(x, xp, alpha_p, alpha_n, beta, eps):
    positive = 2.0 * alpha_p * x + beta
    negative = xp.where(x < eps, alpha_n * xp.exp(x), xp.zeros_like(x)) - (alpha_n - beta)
    return xp.where(x > 0, positive, negative)


def _xielu_check(p):
    if p["alpha_n"] <= p["beta"]:
        return f"alpha_n ({p['alpha_n']:g}) must exceed beta ({p['beta']:g}), as xIELU's α_n = β + softplus(·) does"
    return None


# min over x <= 0 of α_n(e^x - 1) - (α_n - β)x at the defaults (α_n = 0.8, β = 0.5): at e^x = (α_n - β)/α_n.
XIELU_MIN = 0.8 * (0.375 - 1.0) - 0.3 * math.log(0.375)

REGISTRY.register(
    ActivationSpec(
        name="xielu",
        family="learnable",
        summary="xIELU: quadratic for x > 0, exponential minus linear below; α_p and α_n are learned.",
        forward=_xielu_forward,
        derivative=_xielu_derivative,
        formula=r"f(x)=\begin{cases}\alpha_p x^2+\beta x & x>0\\ \alpha_n\left(e^{\min(x,\epsilon)}-1\right)"
        r"-\alpha_n x+\beta x & x\le 0\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}2\alpha_p x+\beta & x>0\\ \alpha_n "
        r"e^{x}\mathbb{1}[x<\epsilon]-\alpha_n+\beta & x\le 0\end{cases}",
        params=(
            Param(
                "alpha_p", 0.8, "α_p > 0, curvature for x > 0 (learned)", minimum=0.0, exclusive=True, learnable=True
            ),
            Param("alpha_n", 0.8, "α_n > β, for x <= 0 (learned)", learnable=True),
            Param("beta", 0.5, "β, the slope at 0"),
            Param("eps", -1e-6, "ε <= 0 clamping the exponential", maximum=0.0),
        ),
        param_derivatives={
            "alpha_p": lambda x, xp, alpha_p, alpha_n, beta, eps: xp.where(x > 0, x * x, xp.zeros_like(x)),
            "alpha_n": lambda x, xp, alpha_p, alpha_n, beta, eps: xp.where(
                x > 0, xp.zeros_like(x), xp.expm1(xp.minimum(x, xp.ones_like(x) * eps)) - x
            ),
        },
        properties=Properties(
            range=(XIELU_MIN, INF), monotonic=False, smooth=False, kinks=(-1e-6, 0.0), zero_centred=False
        ),
        reference=refs.HUANG_XIELU,
        aliases={"hf": ("xielu",), "other": ("xIELU",)},
        notes="Hugging Face learns α_p and α_n through softplus reparameterisations (α_p = softplus(·), "
        "α_n = β + softplus(·)) initialised to 0.8; here they are learned directly, with the same values.",
        check=_xielu_check,
    )
)


def _pdelu_log_base(x, xp, t):
    """log [1 + (1-t)x]_+ (−inf where the bracket is 0), so that base^p − 1 = expm1(p·log base) keeps
    its digits near x = 0."""
    u = xp.maximum((1.0 - t) * x, -xp.ones_like(x))
    return xp.log1p(u)


def _pdelu_negative(x, xp, alpha, t):
    return alpha * xp.expm1(_pdelu_log_base(x, xp, t) / (1.0 - t))


REGISTRY.register(
    ActivationSpec(
        name="pdelu",
        family="learnable",
        summary="Parametric deformable ELU: the exponential of ELU replaced by a Tsallis t-exponential.",
        forward=lambda x, xp, alpha, t: xp.where(x > 0, x, _pdelu_negative(x, xp, alpha, t)),
        derivative=lambda x, xp, alpha, t: xp.where(
            x > 0, xp.ones_like(x), alpha * xp.exp(_pdelu_log_base(x, xp, t) * (t / (1.0 - t)))
        ),
        formula=r"f(x)=\begin{cases}x & x>0\\ \alpha\left(\left[1+(1-t)x\right]_+^{1/(1-t)}-1\right) & x\le "
        r"0\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}1 & x>0\\ \alpha\left[1+(1-t)x\right]_+^{t/(1-t)} & x\le 0\end{cases}",
        params=(
            Param("alpha", 1.0, "saturation -α (learned)", minimum=0.0, exclusive=True, learnable=True),
            Param("t", 0.9, "deformation t in (0, 1); t → 1 gives ELU", minimum=0.0, maximum=1.0, exclusive=True),
        ),
        param_derivatives={
            "alpha": lambda x, xp, alpha, t: xp.where(x > 0, xp.zeros_like(x), _pdelu_negative(x, xp, 1.0, t)),
        },
        properties=Properties(range=(-1.0, INF), monotonic=True, smooth=True, zero_centred=True),
        reference=refs.CHENG_PDELU,
        aliases={"other": ("PDELU",)},
        notes="f reaches -α at x = -1/(1-t) (= -10 for t = 0.9) and stays there.",
    )
)


def _srs_negative(x, xp, beta):
    m = xp.exp(xp.minimum(x, xp.zeros_like(x)) / beta)
    return m, xp.gate(x, m)


def _srs_forward(x, xp, alpha, beta):
    _, xm = _srs_negative(x, xp, beta)
    safe = xp.where(x > 0, x, xp.ones_like(x))
    positive = 1.0 / (1.0 / alpha + xp.exp(-safe / beta) / safe)
    return xp.where(x > 0, positive, xm / (xm / alpha + 1.0))


def _srs_derivative(x, xp, alpha, beta):
    m, xm = _srs_negative(x, xp, beta)
    e = xp.exp(-xp.maximum(x, xp.zeros_like(x)) / beta)
    d = x / alpha + e
    positive = xp.gate(1.0 + x / beta, e) / (d * d)
    big_d = xm / alpha + 1.0
    negative = (m + xm / beta) / (big_d * big_d)
    return xp.where(x > 0, positive, negative)


def _srs_alpha_derivative(x, xp, alpha, beta):
    f = _srs_forward(x, xp, alpha, beta)
    return f * f / (alpha * alpha)


def _srs_beta_derivative(x, xp, alpha, beta):
    f = _srs_forward(x, xp, alpha, beta)
    m, xm = _srs_negative(x, xp, beta)
    big_d = xm / alpha + 1.0
    negative = xp.gate(x, xm) / (big_d * big_d)
    positive = f * f * xp.exp(-xp.maximum(x, xp.zeros_like(x)) / beta)
    return -xp.where(x > 0, positive, negative) / (beta * beta)


def _srs_check(p):
    if p["beta"] / p["alpha"] >= math.e:
        return f"beta/alpha ({p['beta'] / p['alpha']:g}) must be below e, else x/alpha + exp(-x/beta) reaches 0"
    return None


REGISTRY.register(
    ActivationSpec(
        name="soft_root_sign",
        family="learnable",
        summary="Soft-Root-Sign x / (x/α + e^{-x/β}), bounded, with learned α and β.",
        forward=_srs_forward,
        derivative=_srs_derivative,
        formula=r"f(x)=\dfrac{x}{\frac{x}{\alpha}+e^{-x/\beta}}",
        derivative_formula=r"f'(x)=\dfrac{\left(1+\frac{x}{\beta}\right)e^{-x/\beta}}{\left(\frac{x}{\alpha}+e^{-x/\beta}\right)^2}",
        params=(
            Param("alpha", 2.0, "α > 0, the upper asymptote (learned)", minimum=0.0, exclusive=True, learnable=True),
            Param(
                "beta",
                3.0,
                "β > 0 (learned); β/α < e keeps the denominator positive",
                minimum=0.0,
                exclusive=True,
                learnable=True,
            ),
        ),
        param_derivatives={"alpha": _srs_alpha_derivative, "beta": _srs_beta_derivative},
        properties=Properties(
            range=(-3.0 / (math.e - 1.5), 2.0), attains=(True, False), monotonic=False, smooth=True, zero_centred=True
        ),
        reference=refs.ZHOU_SRS,
        aliases={"other": ("SRS", "srs")},
        notes="For x < 0 computed as x·e^{x/β} / (x·e^{x/β}/α + 1), which neither overflows nor divides inf by inf. "
        "The minimum is -β/(e - β/α) at x = -β.",
        check=_srs_check,
    )
)
