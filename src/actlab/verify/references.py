"""Independent, deliberately naive transcriptions of every built-in activation, for mpmath at high precision: the
references `actlab check` and the test suite hold the catalog to.

Each is written from the paper or the library docs, not from the catalog code, and uses no stability
tricks: at 50 significant digits none are needed. ``m`` is the mpmath module; parameters arrive as the
spec's values (floats) and are converted here. Gated activations take their chunks as arguments.
"""

from __future__ import annotations


def _clip(m, v, lo, hi):
    return min(max(v, m.mpf(lo)), m.mpf(hi))


def _relu(m, v):
    return max(v, m.mpf(0))


def _sigmoid(m, v):
    return 1 / (1 + m.exp(-v))


def _gelu(m, v):
    return v / 2 * (1 + m.erf(v / m.sqrt(2)))


SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"


def relu(x, m, negative_slope, max_value, threshold):
    if max_value is not None and x >= max_value:
        return m.mpf(max_value)
    return x if x > threshold else m.mpf(negative_slope) * (x - m.mpf(threshold))


def leaky(x, m, a):
    return x if x > 0 else m.mpf(a) * x


def elu(x, m, alpha):
    return x if x > 0 else m.mpf(alpha) * (m.exp(x) - 1)


def isru(x, m, alpha):
    return x / m.sqrt(1 + m.mpf(alpha) * x * x)


def pau(x, m, numerator, denominator):
    p = sum(m.mpf(a) * x**j for j, a in enumerate(numerator))
    r = sum(m.mpf(b) * x**k for k, b in enumerate(denominator, start=1))
    return p / (1 + abs(r))


def srelu(x, m, t_left, a_left, t_right, a_right):
    t_l, a_l, t_r, a_r = map(m.mpf, (t_left, a_left, t_right, a_right))
    if x >= t_r:
        return t_r + a_r * (x - t_r)
    if x <= t_l:
        return t_l + a_l * (x - t_l)
    return x


def xielu(x, m, alpha_p, alpha_n, beta, eps):
    # Hugging Face XIELUActivation with its parameters already passed through the softplus maps.
    if x > 0:
        return m.mpf(alpha_p) * x * x + m.mpf(beta) * x
    return (m.expm1(min(x, m.mpf(eps))) - x) * m.mpf(alpha_n) + m.mpf(beta) * x


def pdelu(x, m, alpha, t):
    if x > 0:
        return x
    base = max(1 + (1 - m.mpf(t)) * x, m.mpf(0))
    return m.mpf(alpha) * (base ** (1 / (1 - m.mpf(t))) - 1)


def hard_elish(x, m):
    h = _clip(m, (x + 1) / 2, 0, 1)
    return x * h if x >= 0 else (m.exp(x) - 1) * h


ELEMENTWISE = {
    "linear": lambda x, m: x,
    "exponential": lambda x, m: m.exp(x),
    "relu": relu,
    "relu6": lambda x, m: _clip(m, x, 0, 6),
    "leaky_relu": lambda x, m, negative_slope: leaky(x, m, negative_slope),
    "prelu": lambda x, m, a: leaky(x, m, a),
    "rrelu": lambda x, m, lower, upper: leaky(x, m, (m.mpf(lower) + m.mpf(upper)) / 2),
    "threshold": lambda x, m, threshold, value: x if x > threshold else m.mpf(value),
    "squared_relu": lambda x, m: _relu(m, x) ** 2,
    "elu": elu,
    "selu": lambda x, m: m.mpf(SELU_SCALE) * elu(x, m, m.mpf(SELU_ALPHA)),
    "celu": lambda x, m, alpha: _relu(m, x) + min(m.mpf(0), m.mpf(alpha) * (m.exp(x / m.mpf(alpha)) - 1)),
    "isrlu": lambda x, m, alpha: x if x >= 0 else isru(x, m, alpha),
    "sigmoid": lambda x, m: _sigmoid(m, x),
    "hard_sigmoid": lambda x, m, slope: _clip(m, m.mpf(slope) * x + m.mpf(0.5), 0, 1),
    "hard_sigmoid_classic": lambda x, m, slope: _clip(m, m.mpf(slope) * x + m.mpf(0.5), 0, 1),
    "tanh": lambda x, m: m.tanh(x),
    "hardtanh": lambda x, m, min_val, max_val: _clip(m, x, min_val, max_val),
    "softsign": lambda x, m: x / (1 + abs(x)),
    "elliott": lambda x, m: x / (2 * (1 + abs(x))) + m.mpf(0.5),
    "arctan": lambda x, m: m.atan(x),
    "isru": isru,
    "log_sigmoid": lambda x, m: m.log(_sigmoid(m, x)),
    "sparse_sigmoid": lambda x, m: _clip(m, x + 1, 0, 2) / 2,
    "softplus": lambda x, m, beta, threshold: (
        x if threshold is not None and beta * x > threshold else m.log(1 + m.exp(m.mpf(beta) * x)) / m.mpf(beta)
    ),
    "sqrt_softplus": lambda x, m: m.sqrt(m.log(1 + m.exp(x))),
    "squareplus": lambda x, m, b: (x + m.sqrt(x * x + m.mpf(b))) / 2,
    "sparse_plus": lambda x, m: m.mpf(0) if x <= -1 else ((x + 1) ** 2 / 4 if x < 1 else x),
    "bent_identity": lambda x, m: (m.sqrt(x * x + 1) - 1) / 2 + x,
    "gelu": lambda x, m: _gelu(m, x),
    "gelu_tanh": lambda x, m: x / 2 * (1 + m.tanh(m.sqrt(2 / m.pi) * (x + m.mpf("0.044715") * x**3))),
    "quick_gelu": lambda x, m: x * _sigmoid(m, m.mpf("1.702") * x),
    "silu": lambda x, m: x * _sigmoid(m, x),
    "swish": lambda x, m, beta: x * _sigmoid(m, m.mpf(beta) * x),
    "hard_swish": lambda x, m, n: x * _clip(m, x + m.mpf(n) / 2, 0, n) / m.mpf(n),
    "mish": lambda x, m: x * m.tanh(m.log(1 + m.exp(x))),
    "hard_mish": lambda x, m: x / 2 * _clip(m, x + 2, 0, 2),
    "tanhexp": lambda x, m: x * m.tanh(m.exp(x)),
    "serf": lambda x, m: x * m.erf(m.log(1 + m.exp(x))),
    "smish": lambda x, m: x * m.tanh(m.log(1 + _sigmoid(m, x))),
    "logish": lambda x, m: x * m.log(1 + _sigmoid(m, x)),
    "lisht": lambda x, m: x * m.tanh(x),
    "elish": lambda x, m: x * _sigmoid(m, x) if x >= 0 else (m.exp(x) - 1) * _sigmoid(m, x),
    "hard_elish": hard_elish,
    "hardshrink": lambda x, m, lambd: x if abs(x) > lambd else m.mpf(0),
    "softshrink": lambda x, m, lambd: x - m.mpf(lambd) if x > lambd else (x + m.mpf(lambd) if x < -lambd else m.mpf(0)),
    "tanhshrink": lambda x, m: x - m.tanh(x),
    "snake": lambda x, m, a: x + m.sin(m.mpf(a) * x) ** 2 / m.mpf(a),
    "sinc": lambda x, m: m.sin(x) / x if x != 0 else m.mpf(1),
    "sine": lambda x, m, w0: m.sin(m.mpf(w0) * x),
    "gaussian": lambda x, m: m.exp(-x * x),
    "gcu": lambda x, m: x * m.cos(x),
    "laplace": lambda x, m, mu, sigma: (1 + m.erf((x - m.mpf(mu)) / (m.mpf(sigma) * m.sqrt(2)))) / 2,
    "star_relu": lambda x, m, scale, bias: m.mpf(scale) * _relu(m, x) ** 2 + m.mpf(bias),
    "tlu": lambda x, m, tau: max(x, m.mpf(tau)),
    "srelu": srelu,
    "apl": lambda x, m, a, b: (
        _relu(m, x) + sum(m.mpf(a_s) * _relu(m, -x + m.mpf(b_s)) for a_s, b_s in zip(a, b, strict=True))
    ),
    "pau": pau,
    "xielu": xielu,
    "pdelu": pdelu,
    "soft_root_sign": lambda x, m, alpha, beta: x / (x / m.mpf(alpha) + m.exp(-x / m.mpf(beta))),
}

GATED = {
    "glu": lambda a, b, m: a * _sigmoid(m, b),
    "swiglu": lambda a, b, m: a * b * _sigmoid(m, b),
    "geglu": lambda a, b, m: a * _gelu(m, b),
    "reglu": lambda a, b, m: a * _relu(m, b),
}
