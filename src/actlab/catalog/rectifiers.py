"""Rectifiers: ReLU and its piecewise-linear and exponential-linear relatives.

Conditions are written ``where(x <= t, low, x)`` rather than ``where(x > t, x, low)`` so that a NaN
input falls into the branch that returns it.
"""

from __future__ import annotations

import math

from actlab.catalog import references as refs
from actlab.catalog.spec import REGISTRY, ActivationSpec, Native, Param, Properties, Stochastic

INF = math.inf

# SELU's fixed point constants (Klambauer et al. 2017, eq. 14), to the precision PyTorch uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _relu_forward(x, xp, negative_slope, max_value, threshold):
    y = xp.where(x <= threshold, xp.gate(x - threshold, negative_slope), x)
    if max_value is not None:
        y = xp.where(x >= max_value, xp.ones_like(x) * max_value, y)
    return y


def _relu_derivative(x, xp, negative_slope, max_value, threshold):
    if negative_slope == 0 and max_value is None:
        return xp.above(x, threshold)
    one = xp.ones_like(x)
    d = xp.where(x > threshold, one, one * negative_slope)
    if max_value is not None:
        d = xp.where(x >= max_value, xp.zeros_like(x), d)
    return d


def _relu_native(F, x, p):
    if p["max_value"] is None:
        return F.relu(x)
    return F.hardtanh(x, 0.0, p["max_value"])


def _relu_check(p):
    if p["max_value"] is not None and p["max_value"] <= p["threshold"]:
        return f"max_value ({p['max_value']:g}) must be greater than threshold ({p['threshold']:g})"
    return None


REGISTRY.register(
    ActivationSpec(
        name="relu",
        family="rectifier",
        summary="Rectified linear unit, with Keras' optional negative slope, ceiling and threshold.",
        forward=_relu_forward,
        derivative=_relu_derivative,
        formula=r"f(x)=\begin{cases}m & x \ge m\\ x & t < x < m\\ s\,(x-t) & x \le t\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}0 & x \ge m\\ 1 & t < x < m\\ s & x \le t\end{cases}",
        params=(
            Param("negative_slope", 0.0, "slope s below the threshold"),
            Param("max_value", None, "ceiling m (None: no ceiling)", kind="optional_float"),
            Param("threshold", 0.0, "threshold t; inputs at or below it take the negative branch"),
        ),
        properties=Properties(range=(0.0, INF), monotonic=True, smooth=False, kinks=(0.0,), zero_centred=False),
        reference=refs.NAIR_HINTON_RELU,
        aliases={
            "pytorch": ("ReLU", "relu"),
            "keras3": ("relu",),
            "keras2": ("relu",),
            "timm": ("relu",),
            "hf": ("relu",),
        },
        notes="Parameters follow keras.activations.relu; the defaults give max(0, x). f'(0) = 0 as in PyTorch.",
        native=Native(_relu_native, applies=lambda p: p["negative_slope"] == 0 and p["threshold"] == 0),
        check=_relu_check,
    )
)

REGISTRY.register(
    ActivationSpec(
        name="relu6",
        family="rectifier",
        summary="ReLU capped at 6.",
        forward=lambda x, xp: xp.clip(x, 0.0, 6.0),
        derivative=lambda x, xp: xp.indicator((x > 0) & (x < 6), x),
        formula=r"f(x)=\min(\max(0,x),6)",
        derivative_formula=r"f'(x)=\mathbb{1}[0<x<6]",
        properties=Properties(range=(0.0, 6.0), monotonic=True, smooth=False, kinks=(0.0, 6.0), zero_centred=False),
        reference=refs.KRIZHEVSKY_RELU6,
        aliases={"pytorch": ("ReLU6", "relu6"), "keras3": ("relu6",), "timm": ("relu6",), "hf": ("relu6",)},
        native=Native(lambda F, x, p: F.relu6(x)),
    )
)


def _leaky_forward(x, xp, negative_slope):
    return xp.where(x <= 0, xp.gate(x, negative_slope), x)


def _leaky_derivative(x, xp, negative_slope):
    one = xp.ones_like(x)
    return xp.where(x > 0, one, one * negative_slope)


REGISTRY.register(
    ActivationSpec(
        name="leaky_relu",
        family="rectifier",
        summary="ReLU with a small fixed slope for negative inputs.",
        forward=_leaky_forward,
        derivative=_leaky_derivative,
        formula=r"f(x)=\begin{cases}x & x>0\\ a x & x\le 0\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}1 & x>0\\ a & x\le 0\end{cases}",
        params=(Param("negative_slope", 0.01, "slope a for x <= 0"),),
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=False, kinks=(0.0,), zero_centred=True),
        reference=refs.MAAS_LEAKY,
        aliases={
            "pytorch": ("LeakyReLU", "leaky_relu"),
            "keras3": ("leaky_relu",),
            "keras2": ("LeakyReLU",),
            "timm": ("leaky_relu",),
            "hf": ("leaky_relu",),
            "other": ("lrelu",),
        },
        notes="Default slopes differ: PyTorch 0.01 (used here), Keras 3 and tf.nn 0.2, Keras 2 LeakyReLU 0.3, "
        "Maas et al. 0.01.",
        native=Native(lambda F, x, p: F.leaky_relu(x, p["negative_slope"])),
    )
)


def _rrelu_check(p):
    if p["lower"] > p["upper"]:
        return f"lower ({p['lower']:g}) must not exceed upper ({p['upper']:g})"
    return None


REGISTRY.register(
    ActivationSpec(
        name="rrelu",
        family="rectifier",
        summary="Randomized leaky ReLU: a random slope per element in training, the mean slope in evaluation.",
        forward=lambda x, xp, lower, upper: _leaky_forward(x, xp, (lower + upper) / 2.0),
        derivative=lambda x, xp, lower, upper: _leaky_derivative(x, xp, (lower + upper) / 2.0),
        formula=r"f(x)=\begin{cases}x & x>0\\ a x & x\le 0\end{cases},\ a\sim U(l,u)\text{ (training)},"
        r"\ a=\tfrac{l+u}{2}\text{ (evaluation)}",
        derivative_formula=r"f'(x)=\begin{cases}1 & x>0\\ a & x\le 0\end{cases}",
        params=(
            Param("lower", 1.0 / 8.0, "lower bound l of the slope", minimum=0.0),
            Param("upper", 1.0 / 3.0, "upper bound u of the slope", minimum=0.0),
        ),
        properties=Properties(
            range=(-INF, INF), monotonic=True, smooth=False, kinks=(0.0,), zero_centred=True, stochastic=True
        ),
        reference=refs.XU_RRELU,
        aliases={"pytorch": ("RReLU", "rrelu"), "tfa": ("rrelu",)},
        notes="Bounds 1/8 and 1/3 as in PyTorch and TF Addons; Xu et al. sample 1/a from U(3, 8).",
        native=Native(lambda F, x, p: F.rrelu(x, p["lower"], p["upper"], training=False)),
        stochastic=Stochastic(
            sample=lambda x, xp, rng, lower, upper: xp.uniform_like(x, lower, upper, rng),
            forward=lambda x, noise, xp, lower, upper: xp.where(x <= 0, x * noise, x),
            derivative=lambda x, noise, xp, lower, upper: xp.where(x > 0, xp.ones_like(x), noise),
            torch_train=lambda F, x, p: F.rrelu(x, p["lower"], p["upper"], training=True),
        ),
        check=_rrelu_check,
    )
)

REGISTRY.register(
    ActivationSpec(
        name="threshold",
        family="rectifier",
        summary="Passes x above a threshold, replaces everything else with a constant.",
        forward=lambda x, xp, threshold, value: xp.where(x <= threshold, xp.ones_like(x) * value, x),
        derivative=lambda x, xp, threshold, value: xp.indicator(x > threshold, x),
        formula=r"f(x)=\begin{cases}x & x>\theta\\ v & x\le\theta\end{cases}",
        derivative_formula=r"f'(x)=\mathbb{1}[x>\theta]",
        params=(Param("threshold", 0.0, "threshold θ"), Param("value", 0.0, "replacement v")),
        properties=Properties(range=(0.0, INF), monotonic=True, smooth=False, kinks=(0.0,), zero_centred=False),
        reference=refs.PYTORCH,
        aliases={"pytorch": ("Threshold", "threshold"), "keras3": ("threshold",)},
        notes="PyTorch's nn.Threshold has no defaults; θ = v = 0 (ReLU) is chosen here.",
        native=Native(lambda F, x, p: F.threshold(x, p["threshold"], p["value"])),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="squared_relu",
        family="rectifier",
        summary="Square of ReLU, found by architecture search for Transformers (Primer).",
        forward=lambda x, xp: xp.relu(x) * xp.relu(x),
        derivative=lambda x, xp: 2.0 * xp.relu(x),
        formula=r"f(x)=\max(0,x)^2",
        derivative_formula=r"f'(x)=2\max(0,x)",
        properties=Properties(range=(0.0, INF), monotonic=True, smooth=True, zero_centred=False),
        reference=refs.SO_PRIMER,
        aliases={"hf": ("relu2",), "other": ("relu_squared", "relu2", "squaredrelu")},
    )
)


def _elu_forward(x, xp, alpha):
    return xp.where(x > 0, x, alpha * xp.expm1(x))


def _elu_derivative(x, xp, alpha):
    return xp.where(x > 0, xp.ones_like(x), alpha * xp.exp(x))


REGISTRY.register(
    ActivationSpec(
        name="elu",
        family="exponential linear",
        summary="Exponential linear unit: identity for x > 0, saturating exponential below.",
        forward=_elu_forward,
        derivative=_elu_derivative,
        formula=r"f(x)=\begin{cases}x & x>0\\ \alpha(e^{x}-1) & x\le 0\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}1 & x>0\\ \alpha e^{x} & x\le 0\end{cases}",
        params=(Param("alpha", 1.0, "saturation value -α for x → -∞ (α >= 0)", minimum=0.0),),
        properties=Properties(range=(-1.0, INF), attains=(False, True), monotonic=True, smooth=True, zero_centred=True),
        reference=refs.CLEVERT_ELU,
        aliases={"pytorch": ("ELU", "elu"), "keras3": ("elu",), "keras2": ("elu",), "timm": ("elu",)},
        notes="Continuously differentiable only for α = 1. Negative α is rejected: it makes ELU non-monotonic, "
        "which is not the function of the paper.",
        native=Native(lambda F, x, p: F.elu(x, p["alpha"]), yields_to_fused=True),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="selu",
        family="exponential linear",
        init="lecun_normal",
        summary="Scaled ELU with the constants that make activations self-normalizing.",
        forward=lambda x, xp: SELU_SCALE * _elu_forward(x, xp, SELU_ALPHA),
        derivative=lambda x, xp: SELU_SCALE * _elu_derivative(x, xp, SELU_ALPHA),
        formula=r"f(x)=\lambda\begin{cases}x & x>0\\ \alpha(e^{x}-1) & x\le 0\end{cases},\ \alpha\approx1.6733,"
        r"\ \lambda\approx1.0507",
        derivative_formula=r"f'(x)=\lambda\begin{cases}1 & x>0\\ \alpha e^{x} & x\le 0\end{cases}",
        properties=Properties(
            range=(-SELU_SCALE * SELU_ALPHA, INF),
            attains=(False, True),
            monotonic=True,
            smooth=False,
            kinks=(0.0,),
            zero_centred=True,
        ),
        reference=refs.KLAMBAUER_SELU,
        aliases={"pytorch": ("SELU", "selu"), "keras3": ("selu",), "keras2": ("selu",), "timm": ("selu",)},
        notes="α = 1.6732632423543772848…, λ = 1.0507009873554804934… (full precision, as in PyTorch); "
        "pair with LeCun-normal initialisation.",
        native=Native(lambda F, x, p: F.selu(x), yields_to_fused=True),
    )
)

REGISTRY.register(
    ActivationSpec(
        name="celu",
        family="exponential linear",
        summary="Continuously differentiable ELU: the exponential is rescaled by α.",
        forward=lambda x, xp, alpha: xp.where(x > 0, x, alpha * xp.expm1(x / alpha)),
        derivative=lambda x, xp, alpha: xp.where(x > 0, xp.ones_like(x), xp.exp(x / alpha)),
        formula=r"f(x)=\begin{cases}x & x>0\\ \alpha(e^{x/\alpha}-1) & x\le 0\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}1 & x>0\\ e^{x/\alpha} & x\le 0\end{cases}",
        params=(Param("alpha", 1.0, "saturation value -α (α > 0)", minimum=0.0, exclusive=True),),
        properties=Properties(range=(-1.0, INF), attains=(False, True), monotonic=True, smooth=True, zero_centred=True),
        reference=refs.BARRON_CELU,
        aliases={"pytorch": ("CELU", "celu"), "keras3": ("celu",), "timm": ("celu",)},
        native=Native(lambda F, x, p: F.celu(x, p["alpha"]), yields_to_fused=True),
    )
)


def _isru(x, xp, alpha):
    return xp.ratio_hypot1(math.sqrt(alpha) * x) / math.sqrt(alpha)


def _isru_derivative(x, xp, alpha):
    r = 1.0 / xp.hypot1(math.sqrt(alpha) * x)
    return r * r * r


REGISTRY.register(
    ActivationSpec(
        name="isrlu",
        family="exponential linear",
        summary="Inverse square root linear unit: identity for x >= 0, x/sqrt(1+αx²) below.",
        forward=lambda x, xp, alpha: xp.where(x >= 0, x, _isru(x, xp, alpha)),
        derivative=lambda x, xp, alpha: xp.where(x >= 0, xp.ones_like(x), _isru_derivative(x, xp, alpha)),
        formula=r"f(x)=\begin{cases}x & x\ge 0\\ \dfrac{x}{\sqrt{1+\alpha x^2}} & x<0\end{cases}",
        derivative_formula=r"f'(x)=\begin{cases}1 & x\ge 0\\ (1+\alpha x^2)^{-3/2} & x<0\end{cases}",
        params=(Param("alpha", 1.0, "α > 0; the negative saturation is -1/√α", minimum=0.0, exclusive=True),),
        properties=Properties(range=(-1.0, INF), attains=(False, True), monotonic=True, smooth=True, zero_centred=True),
        reference=refs.CARLILE_ISRLU,
        aliases={"other": ("ISRLU",)},
    )
)
