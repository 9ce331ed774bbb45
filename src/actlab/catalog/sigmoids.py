"""Sigmoid-shaped and softplus-shaped activations, their hard (piecewise-linear) versions, and the
identity and exponential."""

from __future__ import annotations

import math

from actlab.catalog import references as refs
from actlab.catalog.rectifiers import _isru, _isru_derivative
from actlab.catalog.spec import REGISTRY, ActivationSpec, Native, Param, Properties

INF = math.inf

REGISTRY.register(
    ActivationSpec(
        name="linear",
        family="classic",
        init="glorot_uniform",
        summary="The identity; a network with only linear activations is a linear model.",
        forward=lambda x, xp: x * 1.0,
        derivative=lambda x, xp: xp.ones_like(x),
        formula=r"f(x)=x",
        derivative_formula=r"f'(x)=1",
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=True, zero_centred=True),
        reference=refs.KERAS,
        aliases={
            "pytorch": ("Identity",),
            "keras3": ("linear",),
            "keras2": ("linear",),
            "timm": ("identity",),
            "hf": ("linear",),
        },
        native=Native(lambda F, x, p: x),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="exponential",
        family="classic",
        summary="The exponential function.",
        forward=lambda x, xp: xp.exp(x),
        derivative=lambda x, xp: xp.exp(x),
        formula=r"f(x)=e^{x}",
        derivative_formula=r"f'(x)=e^{x}",
        properties=Properties(range=(0.0, INF), attains=(False, True), monotonic=True, smooth=True, zero_centred=False),
        reference=refs.KERAS,
        aliases={"keras3": ("exponential",), "keras2": ("exponential",), "other": ("exp",)},
    )
)

REGISTRY.register(
    ActivationSpec(
        name="sigmoid",
        family="sigmoid",
        init="glorot_uniform",
        summary="The logistic function.",
        forward=lambda x, xp: xp.sigmoid(x),
        derivative=lambda x, xp: xp.sigmoid_derivative(x),
        formula=r"f(x)=\sigma(x)=\dfrac{1}{1+e^{-x}}",
        derivative_formula=r"f'(x)=\sigma(x)\,\sigma(-x)",
        properties=Properties(
            range=(0.0, 1.0), attains=(False, False), monotonic=True, smooth=True, zero_centred=False
        ),
        reference=refs.LECUN_EFFICIENT_BACKPROP,
        aliases={
            "pytorch": ("Sigmoid", "sigmoid"),
            "keras3": ("sigmoid",),
            "keras2": ("sigmoid",),
            "timm": ("sigmoid",),
            "hf": ("sigmoid",),
            "other": ("logistic",),
        },
        native=Native(lambda F, x, p: F.sigmoid(x), exact=False),
    )
)


def _hard_sigmoid_forward(x, xp, slope):
    return xp.clip(slope * x + 0.5, 0.0, 1.0)


def _hard_sigmoid_derivative(x, xp, slope):
    edge = 0.5 / slope
    return slope * xp.indicator((x > -edge) & (x < edge), x)


_SLOPE_DOC = "slope k; the output is clip(kx + 1/2, 0, 1)"

REGISTRY.register(
    ActivationSpec(
        name="hard_sigmoid",
        family="sigmoid",
        init="glorot_uniform",
        summary="Piecewise-linear sigmoid as in PyTorch and Keras 3: relu6(x + 3) / 6.",
        forward=_hard_sigmoid_forward,
        derivative=_hard_sigmoid_derivative,
        formula=r"f(x)=\min\!\left(\max\!\left(kx+\tfrac12,0\right),1\right),\ k=\tfrac16",
        derivative_formula=r"f'(x)=k\,\mathbb{1}\!\left[|x|<\tfrac{1}{2k}\right]",
        params=(Param("slope", 1.0 / 6.0, _SLOPE_DOC, minimum=0.0, exclusive=True),),
        properties=Properties(range=(0.0, 1.0), monotonic=True, smooth=False, kinks=(-3.0, 3.0), zero_centred=False),
        reference=refs.HOWARD_MOBILENETV3,
        aliases={
            "pytorch": ("Hardsigmoid", "hardsigmoid"),
            "keras3": ("hard_sigmoid",),
            "timm": ("hard_sigmoid",),
            "other": ("h_sigmoid", "hsigmoid"),
        },
        notes="Keras 2 and Theano defined hard_sigmoid as clip(0.2x + 0.5, 0, 1): use hard_sigmoid_classic "
        "(or hard_sigmoid with slope=0.2). f'(±3) = 0 as in PyTorch.",
        native=Native(lambda F, x, p: F.hardsigmoid(x), applies=lambda p: p["slope"] == 1.0 / 6.0, exact=False),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="hard_sigmoid_classic",
        family="sigmoid",
        init="glorot_uniform",
        summary="Keras 2 / Theano hard sigmoid: 0.2x + 0.5 clipped to [0, 1] (0 below -2.5, 1 above 2.5).",
        forward=_hard_sigmoid_forward,
        derivative=_hard_sigmoid_derivative,
        formula=r"f(x)=\min\!\left(\max\!\left(kx+\tfrac12,0\right),1\right),\ k=0.2",
        derivative_formula=r"f'(x)=k\,\mathbb{1}\!\left[|x|<\tfrac{1}{2k}\right]",
        params=(Param("slope", 0.2, _SLOPE_DOC, minimum=0.0, exclusive=True),),
        properties=Properties(range=(0.0, 1.0), monotonic=True, smooth=False, kinks=(-2.5, 2.5), zero_centred=False),
        reference=refs.KERAS,
        aliases={"other": ("keras2_hard_sigmoid", "hard_sigmoid_keras2", "theano_hard_sigmoid")},
        notes="This is what `hard_sigmoid` meant in Keras 2 (keras.backend.hard_sigmoid) and Theano; the same "
        "function as hard_sigmoid with slope=0.2.",
    )
)

REGISTRY.register(
    ActivationSpec(
        name="tanh",
        family="sigmoid",
        init="glorot_uniform",
        summary="Hyperbolic tangent.",
        forward=lambda x, xp: xp.tanh(x),
        derivative=lambda x, xp: xp.sech2(x),
        formula=r"f(x)=\tanh x",
        derivative_formula=r"f'(x)=\operatorname{sech}^2 x",
        properties=Properties(
            range=(-1.0, 1.0), attains=(False, False), monotonic=True, smooth=True, zero_centred=True
        ),
        reference=refs.LECUN_EFFICIENT_BACKPROP,
        aliases={
            "pytorch": ("Tanh", "tanh"),
            "keras3": ("tanh",),
            "keras2": ("tanh",),
            "timm": ("tanh",),
            "hf": ("tanh",),
        },
        native=Native(lambda F, x, p: F.tanh(x), exact=False, yields_to_fused=True),
    )
)


def _hardtanh_check(p):
    if p["min_val"] >= p["max_val"]:
        return f"min_val ({p['min_val']:g}) must be less than max_val ({p['max_val']:g})"
    return None


REGISTRY.register(
    ActivationSpec(
        name="hardtanh",
        family="sigmoid",
        init="glorot_uniform",
        summary="Identity clipped to [min_val, max_val].",
        forward=lambda x, xp, min_val, max_val: xp.clip(x, min_val, max_val),
        derivative=lambda x, xp, min_val, max_val: xp.indicator((x > min_val) & (x < max_val), x),
        formula=r"f(x)=\min(\max(x,a),b)",
        derivative_formula=r"f'(x)=\mathbb{1}[a<x<b]",
        params=(Param("min_val", -1.0, "lower bound a"), Param("max_val", 1.0, "upper bound b")),
        properties=Properties(range=(-1.0, 1.0), monotonic=True, smooth=False, kinks=(-1.0, 1.0), zero_centred=True),
        reference=refs.COLLOBERT_HARDTANH,
        aliases={"pytorch": ("Hardtanh", "hardtanh"), "keras3": ("hard_tanh",)},
        native=Native(lambda F, x, p: F.hardtanh(x, p["min_val"], p["max_val"])),
        check=_hardtanh_check,
    )
)


def _softsign_derivative(x, xp):
    d = 1.0 / (1.0 + xp.abs(x))
    return d * d


REGISTRY.register(
    ActivationSpec(
        name="softsign",
        family="sigmoid",
        init="glorot_uniform",
        summary="Algebraic sigmoid x / (1 + |x|), approaching its asymptotes polynomially.",
        forward=lambda x, xp: xp.softsign(x),
        derivative=_softsign_derivative,
        formula=r"f(x)=\dfrac{x}{1+|x|}",
        derivative_formula=r"f'(x)=\dfrac{1}{(1+|x|)^2}",
        properties=Properties(
            range=(-1.0, 1.0), attains=(False, False), monotonic=True, smooth=True, zero_centred=True
        ),
        reference=refs.GLOROT_SOFTSIGN,
        aliases={"pytorch": ("Softsign", "softsign"), "keras3": ("softsign",), "keras2": ("softsign",)},
        native=Native(lambda F, x, p: F.softsign(x), exact=False, yields_to_fused=True),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="elliott",
        family="sigmoid",
        init="glorot_uniform",
        summary="Elliott's algebraic logistic sigmoid, (softsign(x) + 1) / 2.",
        # 1/2 + x/(2(1+|x|)) rewritten per side so that nothing cancels: 1/(2(1-x)) for x < 0.
        forward=lambda x, xp: xp.where(x < 0, 0.5 / (1.0 - x), 1.0 - 0.5 / (1.0 + x)),
        derivative=lambda x, xp: 0.5 * _softsign_derivative(x, xp),
        formula=r"f(x)=\dfrac{x}{2(1+|x|)}+\dfrac12",
        derivative_formula=r"f'(x)=\dfrac{1}{2(1+|x|)^2}",
        properties=Properties(
            range=(0.0, 1.0), attains=(False, False), monotonic=True, smooth=True, zero_centred=False
        ),
        reference=refs.ELLIOTT,
        aliases={"other": ("elliot", "elliott_sigmoid")},
        notes="The symmetric Elliott function x/(1+|x|) is softsign.",
    )
)

REGISTRY.register(
    ActivationSpec(
        name="arctan",
        family="sigmoid",
        init="glorot_uniform",
        summary="Inverse tangent.",
        forward=lambda x, xp: xp.atan(x),
        derivative=lambda x, xp: 1.0 / (1.0 + x * x),
        formula=r"f(x)=\arctan x",
        derivative_formula=r"f'(x)=\dfrac{1}{1+x^2}",
        properties=Properties(
            range=(-math.pi / 2, math.pi / 2), attains=(False, False), monotonic=True, smooth=True, zero_centred=True
        ),
        reference=refs.ACTIVATION_TABLE,
        aliases={"other": ("atan", "arc_tan")},
    )
)

REGISTRY.register(
    ActivationSpec(
        name="isru",
        family="sigmoid",
        init="glorot_uniform",
        summary="Inverse square root unit x / sqrt(1 + αx²), a cheap sigmoid-shaped function.",
        forward=_isru,
        derivative=_isru_derivative,
        formula=r"f(x)=\dfrac{x}{\sqrt{1+\alpha x^2}}",
        derivative_formula=r"f'(x)=(1+\alpha x^2)^{-3/2}",
        params=(Param("alpha", 1.0, "α > 0; the range is (-1/√α, 1/√α)", minimum=0.0, exclusive=True),),
        properties=Properties(
            range=(-1.0, 1.0), attains=(False, False), monotonic=True, smooth=True, zero_centred=True
        ),
        reference=refs.CARLILE_ISRLU,
        aliases={"other": ("ISRU",)},
    )
)

REGISTRY.register(
    ActivationSpec(
        name="log_sigmoid",
        family="sigmoid",
        init="glorot_uniform",
        summary="Logarithm of the logistic function, -softplus(-x).",
        forward=lambda x, xp: xp.log_sigmoid(x),
        derivative=lambda x, xp: xp.sigmoid(-x),
        formula=r"f(x)=\log\sigma(x)=-\log(1+e^{-x})",
        derivative_formula=r"f'(x)=\sigma(-x)",
        properties=Properties(
            range=(-INF, 0.0), attains=(True, False), monotonic=True, smooth=True, zero_centred=False
        ),
        reference=refs.PYTORCH,
        aliases={"pytorch": ("LogSigmoid", "logsigmoid"), "keras3": ("log_sigmoid",), "jax": ("log_sigmoid",)},
        native=Native(lambda F, x, p: F.logsigmoid(x), yields_to_fused=True),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="sparse_sigmoid",
        family="sigmoid",
        init="glorot_uniform",
        summary="Piecewise-linear sigmoid reaching 0 at x = -1 and 1 at x = 1 (derivative of sparse_plus).",
        forward=lambda x, xp: 0.5 * xp.clip(x + 1.0, 0.0, 2.0),
        derivative=lambda x, xp: 0.5 * xp.indicator((x > -1) & (x < 1), x),
        formula=r"f(x)=\begin{cases}0 & x\le -1\\ \tfrac12(x+1) & -1<x<1\\ 1 & x\ge 1\end{cases}",
        derivative_formula=r"f'(x)=\tfrac12\,\mathbb{1}[-1<x<1]",
        properties=Properties(range=(0.0, 1.0), monotonic=True, smooth=False, kinks=(-1.0, 1.0), zero_centred=False),
        reference=refs.JAX,
        aliases={"keras3": ("sparse_sigmoid",), "jax": ("sparse_sigmoid",)},
    )
)


def _softplus_forward(x, xp, beta, threshold):
    z = beta * x
    y = xp.softplus(z) / beta
    return y if threshold is None else xp.where(z > threshold, x, y)


def _softplus_derivative(x, xp, beta, threshold):
    z = beta * x
    d = xp.sigmoid(z)
    return d if threshold is None else xp.where(z > threshold, xp.ones_like(x), d)


REGISTRY.register(
    ActivationSpec(
        name="softplus",
        family="softplus",
        summary="Smooth ReLU log(1 + e^{βx})/β, linear above βx > threshold as in PyTorch.",
        forward=_softplus_forward,
        derivative=_softplus_derivative,
        formula=r"f(x)=\begin{cases}\tfrac{1}{\beta}\log(1+e^{\beta x}) & \beta x\le\tau\\ x & \beta x>\tau\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}\sigma(\beta x) & \beta x\le\tau\\ 1 & \beta x>\tau\end{cases}",
        params=(
            Param("beta", 1.0, "sharpness β > 0", minimum=0.0, exclusive=True),
            Param("threshold", 20.0, "τ: above βx > τ the function is x (None: never)", kind="optional_float"),
        ),
        properties=Properties(range=(0.0, INF), attains=(False, True), monotonic=True, smooth=True, zero_centred=False),
        reference=refs.DUGAS_SOFTPLUS,
        aliases={
            "pytorch": ("Softplus", "softplus"),
            "keras3": ("softplus",),
            "keras2": ("softplus",),
            "jax": ("softplus",),
        },
        notes="Keras and JAX have no threshold (threshold=None here). With PyTorch's τ = 20 the switch to x "
        "changes the value by less than 2.1e-9.",
        native=Native(
            lambda F, x, p: F.softplus(x, p["beta"], p["threshold"]),
            applies=lambda p: p["threshold"] is not None,
        ),
    )
)


def _sqrt_softplus_parts(x, xp):
    """For x < 0 write softplus(x) = e^x q with q = log1p(e^x)/e^x → 1, so neither factor underflows."""
    e = xp.exp(xp.minimum(x, xp.zeros_like(x)))
    q = xp.where(e < 1e-8, 1.0 - 0.5 * e, xp.log1p(e) / e)
    return e, q


def _sqrt_softplus_forward(x, xp):
    e, q = _sqrt_softplus_parts(x, xp)
    return xp.where(x >= 0, xp.sqrt(xp.softplus(x)), xp.exp(0.5 * x) * xp.sqrt(q))


def _sqrt_softplus_derivative(x, xp):
    e, q = _sqrt_softplus_parts(x, xp)
    positive = xp.sigmoid(x) / (2.0 * xp.sqrt(xp.softplus(x)))
    negative = xp.exp(0.5 * x) / (2.0 * (1.0 + e) * xp.sqrt(q))
    return xp.where(x >= 0, positive, negative)


REGISTRY.register(
    ActivationSpec(
        name="sqrt_softplus",
        family="softplus",
        summary="Square root of softplus: grows like sqrt(x), decays like e^{x/2}.",
        forward=_sqrt_softplus_forward,
        derivative=_sqrt_softplus_derivative,
        formula=r"f(x)=\sqrt{\log(1+e^{x})}",
        derivative_formula=r"f'(x)=\dfrac{\sigma(x)}{2\sqrt{\log(1+e^{x})}}",
        properties=Properties(range=(0.0, INF), attains=(False, True), monotonic=True, smooth=True, zero_centred=False),
        reference=refs.DUGAS_SOFTPLUS,
        aliases={"other": ("softplus_sqrt",)},
        notes="A composition without a paper of its own (the reference is softplus'). The derivative at "
        "x = -200 is e^{-100}/2 ≈ 1.9e-44: computed from e^{x/2}, never as 0/0.",
    )
)


def _squareplus_forward(x, xp, b):
    s = math.sqrt(b) * xp.hypot1(x / math.sqrt(b))
    return xp.where(x >= 0, 0.5 * (x + s), b / (2.0 * (s - x)))


def _squareplus_derivative(x, xp, b):
    s = math.sqrt(b) * xp.hypot1(x / math.sqrt(b))
    positive = 0.5 * (1.0 + xp.ratio_hypot1(x / math.sqrt(b)))
    return xp.where(x >= 0, positive, b / (2.0 * s * (s - x)))


REGISTRY.register(
    ActivationSpec(
        name="squareplus",
        family="softplus",
        summary="Algebraic softplus (x + sqrt(x² + b)) / 2.",
        forward=_squareplus_forward,
        derivative=_squareplus_derivative,
        formula=r"f(x)=\dfrac{x+\sqrt{x^2+b}}{2}",
        derivative_formula=r"f'(x)=\dfrac12\left(1+\dfrac{x}{\sqrt{x^2+b}}\right)",
        params=(Param("b", 4.0, "smoothness b > 0 (b → 0 gives ReLU)", minimum=0.0, exclusive=True),),
        properties=Properties(range=(0.0, INF), attains=(False, True), monotonic=True, smooth=True, zero_centred=False),
        reference=refs.BARRON_SQUAREPLUS,
        aliases={"keras3": ("squareplus",), "jax": ("squareplus",)},
        notes="For x < 0 computed as b / (2(sqrt(x²+b) - x)), which does not cancel (e.g. x = -300 in fp16).",
    )
)

REGISTRY.register(
    ActivationSpec(
        name="sparse_plus",
        family="softplus",
        summary="Piecewise-quadratic softplus: 0 below -1, (x+1)²/4 between, x above 1.",
        forward=lambda x, xp: xp.where(x <= -1, xp.zeros_like(x), xp.where(x < 1, 0.25 * (x + 1.0) * (x + 1.0), x)),
        derivative=lambda x, xp: xp.where(x <= -1, xp.zeros_like(x), xp.where(x < 1, 0.5 * (x + 1.0), xp.ones_like(x))),
        formula=r"f(x)=\begin{cases}0 & x\le -1\\ \tfrac14(x+1)^2 & -1<x<1\\ x & x\ge 1\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}0 & x\le -1\\ \tfrac12(x+1) & -1<x<1\\ 1 & x\ge 1\end{cases}",
        properties=Properties(range=(0.0, INF), monotonic=True, smooth=True, zero_centred=False),
        reference=refs.JAX,
        aliases={"keras3": ("sparse_plus",), "jax": ("sparse_plus",)},
    )
)


def _bent_identity_forward(x, xp):
    h = xp.hypot1(x)
    h_minus_1 = xp.where(xp.abs(x) <= 1, x * x / (h + 1.0), h - 1.0)
    return xp.where(xp.isinf(x), x, x + 0.5 * h_minus_1)


REGISTRY.register(
    ActivationSpec(
        name="bent_identity",
        family="softplus",
        summary="Identity bent smoothly: x + (sqrt(x² + 1) - 1)/2.",
        forward=_bent_identity_forward,
        derivative=lambda x, xp: 1.0 + 0.5 * xp.ratio_hypot1(x),
        formula=r"f(x)=\dfrac{\sqrt{x^2+1}-1}{2}+x",
        derivative_formula=r"f'(x)=\dfrac{x}{2\sqrt{x^2+1}}+1",
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=True, zero_centred=True),
        reference=refs.ACTIVATION_TABLE,
        aliases={"other": ("bentid", "bent_id")},
    )
)
