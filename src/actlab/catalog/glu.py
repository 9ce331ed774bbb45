"""Activations that combine several inputs per output: the GLU family and maxout.

The input is split along ``dim`` into equal chunks, as ``torch.chunk`` does: GLU variants take
(value, gate) = the two halves and return value · g(gate), following PyTorch's ``F.glu`` (the first half
is the value); maxout takes the elementwise maximum of k chunks. Each output element depends on one
element of each chunk, so the partial derivatives with respect to each chunk are the whole Jacobian.
"""

from __future__ import annotations

import math

from actlab.catalog import references as refs
from actlab.catalog.smooth_gated import _gelu_derivative, _scaled_swish, _scaled_swish_derivative
from actlab.catalog.spec import REGISTRY, ActivationSpec, Native, Param, Properties

INF = math.inf
_DIM = Param("dim", -1, "dimension split into chunks", kind="int")


def _register_glu(
    name,
    summary,
    gate_name,
    gate,
    gate_derivative,
    formula,
    derivative_formula,
    reference,
    aliases,
    smooth,
    native=None,
):
    def forward(chunks, xp, dim):
        value, gate_input = chunks
        return xp.gate(value, gate(gate_input, xp))

    def derivative(chunks, xp, dim):
        value, gate_input = chunks
        return [gate(gate_input, xp), xp.gate(value, gate_derivative(gate_input, xp))]

    REGISTRY.register(
        ActivationSpec(
            name=name,
            family="gated linear unit",
            summary=summary,
            forward=forward,
            derivative=derivative,
            formula=formula,
            derivative_formula=derivative_formula,
            params=(_DIM,),
            properties=Properties(range=(-INF, INF), monotonic=False, smooth=smooth, zero_centred=True),
            reference=reference,
            aliases=aliases,
            notes=f"Input [a, b] split in halves along dim; the output a·{gate_name}(b) has half the size. "
            "Some codebases gate the first half instead; swap the halves of the preceding layer to match.",
            native=native,
            pieces=2,
        )
    )


_register_glu(
    "glu",
    "Gated linear unit: one half of the input gated by the sigmoid of the other.",
    "σ",
    lambda b, xp: xp.sigmoid(b),
    lambda b, xp: xp.sigmoid_derivative(b),
    r"f(a,b)=a\,\sigma(b)",
    r"\dfrac{\partial f}{\partial a}=\sigma(b),\ \dfrac{\partial f}{\partial b}=a\,\sigma(b)\sigma(-b)",
    refs.DAUPHIN_GLU,
    {"pytorch": ("GLU", "glu"), "keras3": ("glu",)},
    smooth=True,
    native=Native(lambda F, x, p: F.glu(x, p["dim"]), exact=False),
)
_register_glu(
    "swiglu",
    "GLU with a SiLU (Swish-1) gate, as in PaLM and LLaMA feed-forward layers.",
    "silu",
    lambda b, xp: _scaled_swish(b, xp, 1.0),
    lambda b, xp: _scaled_swish_derivative(b, xp, 1.0),
    r"f(a,b)=a\,\operatorname{silu}(b)",
    r"\dfrac{\partial f}{\partial a}=\operatorname{silu}(b),\ \dfrac{\partial f}{\partial "
    r"b}=a\,\operatorname{silu}'(b)",
    refs.SHAZEER_GLU_VARIANTS,
    {"timm": ("SwiGLU",), "other": ("SwiGLU", "silu_glu")},
    smooth=True,
)
_register_glu(
    "geglu",
    "GLU with a GELU gate.",
    "gelu",
    lambda b, xp: xp.gate(b, xp.gaussian_cdf(b)),
    _gelu_derivative,
    r"f(a,b)=a\,\operatorname{gelu}(b)",
    r"\dfrac{\partial f}{\partial a}=\operatorname{gelu}(b),\ \dfrac{\partial f}{\partial "
    r"b}=a\,\operatorname{gelu}'(b)",
    refs.SHAZEER_GLU_VARIANTS,
    {"timm": ("GEGLU",), "other": ("GEGLU", "gelu_glu")},
    smooth=True,
)
_register_glu(
    "reglu",
    "GLU with a ReLU gate.",
    "relu",
    lambda b, xp: xp.relu(b),
    lambda b, xp: xp.indicator(b > 0, b),
    r"f(a,b)=a\max(0,b)",
    r"\dfrac{\partial f}{\partial a}=\max(0,b),\ \dfrac{\partial f}{\partial b}=a\,\mathbb{1}[b>0]",
    refs.SHAZEER_GLU_VARIANTS,
    {"other": ("ReGLU", "relu_glu")},
    smooth=False,
)


def _maxout_forward(chunks, xp, k, dim):
    out = chunks[0]
    for chunk in chunks[1:]:
        out = xp.maximum(out, chunk)
    return out


def _maxout_derivative(chunks, xp, k, dim):
    """1 for the first chunk attaining the maximum, 0 for the others (ties go to the first)."""
    out = _maxout_forward(chunks, xp, k, dim)
    taken = xp.zeros_like(out)
    parts = []
    for chunk in chunks:
        hit = xp.where(chunk == out, 1.0 - taken, xp.zeros_like(out))
        taken = taken + hit
        parts.append(hit)
    return parts


def _maxout_demo(x, k):
    slopes = [1.0 - 1.5 * i / max(k - 1, 1) for i in range(k)]
    return [x * s for s in slopes]


REGISTRY.register(
    ActivationSpec(
        name="maxout",
        family="gated linear unit",
        summary="Maxout: the maximum of k linear pieces (k chunks of the input).",
        forward=_maxout_forward,
        derivative=_maxout_derivative,
        formula=r"f(z_1,\dots,z_k)=\max_i z_i",
        derivative_formula=r"\dfrac{\partial f}{\partial z_i}=\mathbb{1}[i=\arg\max_j z_j]",
        params=(Param("k", 2, "number of pieces k >= 1", kind="int", minimum=1), _DIM),
        properties=Properties(range=(-INF, INF), monotonic=True, smooth=False, zero_centred=True),
        reference=refs.GOODFELLOW_MAXOUT,
        aliases={"other": ("Maxout",)},
        notes="The input is split into k chunks along dim (the output has 1/k of the size). Ties send the "
        "gradient to the first maximal chunk. Plots show max(x, …) over pieces with slopes 1 … -1/2.",
        pieces="k",
        demo_chunks=_maxout_demo,
    )
)
