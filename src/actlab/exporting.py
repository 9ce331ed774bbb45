"""`actlab export NAME[:params] --to torch|numpy|jax`: one activation as a self-contained Python module that needs
only that framework — forward, the exact derivative (a ``torch.autograd.Function`` / ``jax.custom_vjp``), the
parameters fixed at their exported values, its reference and the result of `actlab check` — for pasting into a
paper's code. Formula-defined activations (catalog data entries and users' formulas) are exported from their stable
forms; hand-written built-ins have their own kernels and are not.
"""

from __future__ import annotations

import re

from actlab.activation import Activation
from actlab.catalog.spec import ActivationError

TARGETS = ("torch", "numpy", "jax")
IMPORTS = {"numpy": "import math\n\nimport numpy as np\n", "torch": "import torch\n",
           "jax": "import jax\nimport jax.numpy as jnp\nimport jax.scipy.special\n"}


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def export_source(act: Activation, target: str, check_summary: str) -> str:
    """The module text exporting ``act`` (at its parameters) for ``target``."""
    from actlab.catalog.expressions import from_srepr
    from actlab.catalog.source import HELPERS, NAMES, SQRT_SUM, to_source

    spec = act.spec
    if target not in TARGETS:
        raise ActivationError(f"export --to {target!r}: use one of {', '.join(TARGETS)}")
    if spec.formula_expression is None:
        raise ActivationError(
            f"{spec.name} is hand-written (its own kernels), not a formula: only formula-defined activations export"
        )
    texts = [getattr(f, "stored_expression", None) for f in (spec.forward, spec.derivative)]
    if None in texts:
        raise ActivationError(f"{spec.name}: not defined by a formula; only formula-defined activations export")
    values = {k: float(v) for k, v in act.params.items()}
    forward, slope = (to_source(from_srepr(text), target, values) for text in texts)
    params = ", ".join(f"{k} = {v!r}" for k, v in values.items())
    names = NAMES[target]
    helpers = HELPERS[target] + (SQRT_SUM.format(lib=names["lib"], where=names["where"]) if "_sqrt_sum" in forward +
                                 slope else "")
    ref = spec.reference
    header = (
        f'"""{spec.name}: {spec.summary}\n\n'
        f"f(x) = {spec.formula_text or spec.formula}\n"
        f"parameters (fixed at export): {params or 'none'}\n"
        f"reference: {ref.cite()} {ref.link() or ''}".rstrip()
        + (f"\ndefined in: {ref.where}" if ref.where else "")
        + f"\nactlab check: {check_summary}\n\n"
        "Exported by actlab (`actlab export`): forward and exact derivative in actlab's numerically stable form.\n"
        '"""\n\n'
    )
    body = f"""

def forward(x):
    \"\"\"f(x).\"\"\"
    return {forward}


def derivative(x):
    \"\"\"f'(x), exact.\"\"\"
    return {slope}
"""
    return header + IMPORTS[target] + "\n\n" + helpers + body + _wrapper(target, spec.name)


def _wrapper(target: str, name: str) -> str:
    camel = _camel(name)
    if target == "torch":
        return f"""

class {camel}Function(torch.autograd.Function):
    \"\"\"f with its exact derivative as backward (saves only x).\"\"\"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return forward(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * derivative(x)


def {name}(x):
    return {camel}Function.apply(x)


class {camel}(torch.nn.Module):
    def forward(self, x):
        return {name}(x)
"""
    if target == "jax":
        return f"""

@jax.custom_vjp
def {name}(x):
    return forward(x)


def _{name}_forward(x):
    return forward(x), x


def _{name}_backward(x, grad):
    return (grad * derivative(x),)


{name}.defvjp(_{name}_forward, _{name}_backward)
"""
    return f"""

{name} = forward
"""


def file_name(act: Activation, target: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", act.spec.name) + f"_{target}.py"
