"""Candidates screened before any training: derived (with bounded cost), deduplicated, filtered and ranked.

For each tree, in order:

1. its formula is parsed by the formula machinery of users' activations; one too long (more than
   :data:`MAX_TEXT` characters or :data:`MAX_OPS` SymPy operations), one that does not parse, or whose SymPy work
   runs past ``time_limit`` seconds is refused, with the reason counted;
2. duplicates by **SymPy canonical form**: the parsed expression, expanded (SymPy orders sums and products and
   evaluates what it can: ``sigmoid(x)*x`` ≡ ``x*sigmoid(x)``, ``abs(abs(x))`` ≡ ``abs(x)``, ``x*(x + 1)`` ≡
   ``x**2 + x``). ``sympy.simplify`` is not used: it takes ~0.1–1 s a formula, and the fingerprints below find
   what it would;
3. **filters**, evaluating the formula compiled as it is written, and, where that is not finite or explodes,
   compiled again in the stable forms of :func:`actlab.catalog.expressions.stabilise` (which cost ~0.1 s a
   formula, so only where they can change the verdict), on :data:`GRID` (``−100 … 100``, dense near 0, with 0
   itself) and the N(0, 1) samples: ``constant``, ``not_finite`` (NaN anywhere, or ±∞ at |x| ≤ 1, a pole),
   ``linear`` (a·x + b: no activation), ``explodes`` (|f(x)| above ``GROWTH_SCALE · (1 + |x|)^GROWTH_DEGREE``
   somewhere, or overflowing to ±∞ farther out);
4. duplicates by **output fingerprint**: the values on :data:`SAMPLES` fixed N(0, 1) samples (and, with
   parameters, again with each moved off its default), rounded to 1e-8 — ``x*sigmoid(x)`` ≡ ``silu(x)``;
   a parameter-free candidate equal to a catalog activation on :data:`actlab.recognise.GRID` is reported as that
   entry (:func:`actlab.recognise.recognise`);
5. the **proxies** (:mod:`actlab.search.proxies`), with the exact derivative; ``unstable`` where the deep network's
   values are not finite. The survivors are ranked by :meth:`~actlab.search.proxies.Proxies.rank_key`.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from actlab.catalog import expressions
from actlab.catalog.formula import ParamDefinition
from actlab.catalog.spec import ActivationError
from actlab.catalog.xp import NUMPY
from actlab.recognise import GRID as CATALOG_GRID
from actlab.recognise import recognise
from actlab.search import proxies
from actlab.search.space import Space
from actlab.search.tree import Formula, Node, formula
from actlab.timelimit import time_limit

MAX_TEXT = 400
MAX_OPS = 80
TIME_LIMIT = 5.0
SAMPLES = 1024
FINGERPRINT_SEED = 1729
GROWTH_SCALE, GROWTH_DEGREE = 10.0, 3
_SIDE = np.unique(np.concatenate([np.logspace(-6, 2, 321), np.linspace(0.01, 8.0, 800)]))
GRID = np.concatenate([-_SIDE[::-1], [0.0], _SIDE])

REASONS = {
    "formula_error": "does not parse as a formula",
    "too_large": f"too large to derive (over {MAX_TEXT} characters or {MAX_OPS} SymPy operations)",
    "timed_out": "SymPy ran past the time limit",
    "constant": "constant",
    "not_finite": "NaN or ±inf at some real x",
    "linear": "linear (a·x + b)",
    "explodes": f"grows faster than {GROWTH_SCALE:g}·(1 + |x|)^{GROWTH_DEGREE}",
    "unstable": "not finite in a deep random network at initialisation",
}


@dataclass
class Candidate:
    """A screened candidate: its tree, formula, the catalog entry it equals (if any) and its proxies."""

    tree: Node
    formula: Formula
    catalog: str | None = None
    proxies: proxies.Proxies | None = None
    duplicates: int = 0

    @property
    def label(self) -> str:
        """The catalog entry's name where it equals one, else its formula."""
        return self.catalog or self.formula.text

    def as_dict(self) -> dict[str, Any]:
        return {
            "formula": self.formula.text,
            "params": {n: p.default for n, p in self.formula.params.items()},
            "learnable": [n for n, p in self.formula.params.items() if p.learnable],
            "tree": self.tree.text(),
            "catalog": self.catalog,
            "duplicates": self.duplicates,
            "proxies": self.proxies.as_dict() if self.proxies else None,
        }


@dataclass
class Screening:
    """What became of the trees screened: counts by outcome, an example of each, and the ranked survivors."""

    examined: int = 0
    refused: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)
    filtered: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    survivors: list[Candidate] = field(default_factory=list)

    def note(self, counter: Counter, reason: str, text: str) -> None:
        counter[reason] += 1
        self.examples.setdefault(reason, text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "examined": self.examined,
            "refused": dict(self.refused),
            "duplicates": dict(self.duplicates),
            "filtered": dict(self.filtered),
            "examples": dict(self.examples),
            "survivors": len(self.survivors),
            "catalog_equal": sum(c.catalog is not None for c in self.survivors),
        }


class SympyTimeout(Exception):
    """SymPy's work on one candidate ran past its time limit."""


def sympy_limit(seconds: float | None) -> contextlib.AbstractContextManager[None]:
    """Raise :class:`SympyTimeout` in the block after ``seconds`` (see :func:`actlab.timelimit.time_limit`)."""
    return time_limit(seconds, SympyTimeout)


class Refused(Exception):
    """A candidate refused before screening (``reason``: a key of :data:`REASONS`)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def derive(form: Formula, seconds: float | None = TIME_LIMIT) -> tuple[sympy.Expr, str]:
    """The parsed expression of ``form`` and its canonical key, within the caps (:class:`Refused` otherwise)."""
    if len(form.text) > MAX_TEXT:
        raise Refused("too_large")
    try:
        with sympy_limit(seconds):
            expr = expressions.parse(form.text, {n: None for n in form.params} or (), "candidate")
            if not isinstance(expr, sympy.Expr) or sympy.count_ops(expr) > MAX_OPS:
                raise Refused("too_large" if isinstance(expr, sympy.Expr) else "formula_error")
            return expr, sympy.srepr(sympy.expand(expr))
    except SympyTimeout:
        raise Refused("timed_out") from None
    except RecursionError:
        raise Refused("too_large") from None
    except ActivationError:
        raise Refused("formula_error") from None


def fingerprint_samples() -> np.ndarray:
    """The fixed N(0, 1) samples of the output fingerprint (and of the output-distribution proxy)."""
    return np.random.default_rng(FINGERPRINT_SEED).normal(size=SAMPLES)


def _moved(param: ParamDefinition) -> float:
    """A value of ``param`` off its default (within its bounds), where the fingerprint looks again."""
    step = 0.29 * (1.0 + abs(param.default))
    for value in (param.default + step, param.default - step):
        if (param.minimum is None or value >= param.minimum) and (param.maximum is None or value <= param.maximum):
            return value
    return ((param.minimum or 0.0) + (param.maximum or 0.0)) / 2


@dataclass(frozen=True)
class Compiled:
    """A candidate's forward and derivative as NumPy functions of x, at given parameter values. The derivative
    is derived on first use (most candidates are filtered or found duplicates before it is needed)."""

    expr: sympy.Expr
    stable: bool
    forward: expressions.Compiled
    params: dict[str, float]

    @functools.cached_property
    def slope(self) -> expressions.Compiled:
        """The exact derivative: of the stable form as the formula machinery derives it, or as SymPy does."""
        slope = expressions.derivative(self.expr) if self.stable else sympy.diff(self.expr, expressions.X)
        return expressions.compile_expr(slope)

    def f(self, x: np.ndarray, params: dict[str, float] | None = None) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(self.forward(x, NUMPY, params or self.params), np.shape(x)).astype(np.float64)

    def df(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(self.slope(x, NUMPY, self.params), np.shape(x)).astype(np.float64)


def compile_candidate(expr: sympy.Expr, form: Formula, stable: bool = False) -> Compiled:
    """Forward and exact derivative of ``expr`` as written, or (``stable``) in the stable forms that the formula
    machinery compiles any activation in."""
    defaults = {n: p.default for n, p in form.params.items()}
    if stable:
        expr = expressions.stabilise(expr)
    return Compiled(expr, stable, expressions.compile_expr(expr), defaults)


def value_filter(compiled: Compiled, samples: np.ndarray) -> str | None:
    """The filter ``compiled`` fails (see the module docstring), or None."""
    values, at_samples = compiled.f(GRID), compiled.f(samples)
    infinite = np.isinf(values)
    if np.any(np.isnan(values)) or np.any(infinite & (np.abs(GRID) <= 1.0)) or not np.all(np.isfinite(at_samples)):
        return "not_finite"
    if np.any(infinite):  # only far from 0: an overflow, eˣ of eˣ
        return "explodes"
    if np.ptp(values) <= 1e-12 * max(1.0, float(np.max(np.abs(values)))):
        return "constant"
    slope, intercept = np.polyfit(GRID, values, 1)
    if np.max(np.abs(values - (slope * GRID + intercept))) <= 1e-9 * max(1.0, float(np.max(np.abs(values)))):
        return "linear"
    if np.any(np.abs(values) > GROWTH_SCALE * (1.0 + np.abs(GRID)) ** GROWTH_DEGREE):
        return "explodes"
    return None


def fingerprint(compiled: Compiled, form: Formula, samples: np.ndarray) -> bytes:
    """The rounded values on ``samples`` at the defaults and with each parameter moved (see the module docstring)."""
    settings = [compiled.params]
    for name, param in form.params.items():
        settings.append({**compiled.params, name: _moved(param)})
    rows = np.stack([compiled.f(samples, s) for s in settings])  # finite at the defaults; maybe not when moved
    rows = np.clip(np.nan_to_num(rows, nan=0.0, posinf=1e10, neginf=-1e10), -1e10, 1e10)
    return np.round(rows * 1e8).astype(np.int64).tobytes() + len(form.params).to_bytes(2, "little")


def catalog_entry(compiled: Compiled, form: Formula) -> str | None:
    """The catalog activation a parameter-free candidate computes, or None."""
    if form.params:
        return None
    return recognise(compiled.f(CATALOG_GRID))


def screen(trees: Iterable[Node], space: Space, seconds: float | None = TIME_LIMIT) -> Screening:
    """Screen ``trees`` of ``space`` (see the module docstring); the survivors come ranked, best first."""
    result, samples, net = Screening(), fingerprint_samples(), proxies.deep_net()
    by_key: dict[str, Candidate] = {}
    by_values: dict[bytes, Candidate] = {}
    for tree in trees:
        result.examined += 1
        form = formula(tree, space)
        try:
            expr, key = derive(form, seconds)
        except Refused as refused:
            result.note(result.refused, refused.reason, form.text)
            continue
        if key in by_key:
            by_key[key].duplicates += 1
            result.note(result.duplicates, "symbolic", f"{form.text} ≡ {by_key[key].formula.text}")
            continue
        candidate = Candidate(tree, form)
        by_key[key] = candidate
        _examine(candidate, expr, result, by_values, samples, net, seconds)
    result.survivors.sort(key=lambda c: c.proxies.rank_key())
    return result


def _examine(
    candidate: Candidate,
    expr: sympy.Expr,
    result: Screening,
    by_values: dict[bytes, Candidate],
    samples: np.ndarray,
    net: proxies.DeepNet,
    seconds: float | None,
) -> None:
    """Filters, fingerprint, catalog match and proxies of one candidate new by its canonical form."""
    text = candidate.formula.text
    if expressions.X not in expr.free_symbols:
        result.note(result.filtered, "constant", text)
        return
    try:
        compiled, reason = _compiled(expr, candidate.formula, samples, seconds)
    except Refused as refused:
        result.note(result.refused, refused.reason, text)
        return
    if reason is not None:
        result.note(result.filtered, reason, text)
        return
    mark = fingerprint(compiled, candidate.formula, samples)
    if mark in by_values:
        by_values[mark].duplicates += 1
        result.note(result.duplicates, "values", f"{text} ≡ {by_values[mark].label}")
        return
    by_values[mark] = candidate
    candidate.catalog = catalog_entry(compiled, candidate.formula)
    try:
        with _bounded(seconds):
            compiled.slope  # noqa: B018 - derived here, within the time limit
    except Refused as refused:
        result.note(result.refused, refused.reason, text)
        return
    ratio = proxies.gradient_ratio(compiled.f, compiled.df, net)
    if not math.isfinite(ratio):
        result.note(result.filtered, "unstable", text)
        return
    candidate.proxies = proxies.Proxies(*proxies.output_stats(compiled.f(samples)), ratio)
    result.survivors.append(candidate)


def _compiled(
    expr: sympy.Expr, form: Formula, samples: np.ndarray, seconds: float | None
) -> tuple[Compiled, str | None]:
    """The candidate compiled and the filter it fails (None): as written, then in stable form where that is not
    finite or explodes (:class:`Refused` where it cannot be compiled)."""
    with _bounded(seconds):
        compiled = compile_candidate(expr, form)
    reason = value_filter(compiled, samples)
    if reason in ("not_finite", "explodes") and _stabilisable(expr):
        with _bounded(seconds):
            stable = compile_candidate(expr, form, stable=True)
        if value_filter(stable, samples) is None:
            return stable, None
    return compiled, reason


@contextlib.contextmanager
def _bounded(seconds: float | None) -> Iterator[None]:
    """SymPy work on a candidate within ``seconds``; running past them, or failing, as :class:`Refused`."""
    try:
        with sympy_limit(seconds):
            yield
    except SympyTimeout:
        raise Refused("timed_out") from None
    except (ActivationError, RecursionError):
        raise Refused("formula_error") from None


def _stabilisable(expr: sympy.Expr) -> bool:
    """Whether :func:`~actlab.catalog.expressions.stabilise` can change ``expr``'s values: only its patterns of
    exp, log, erf, tanh and square roots have stable forms."""
    return bool(expr.atoms(sympy.exp, sympy.log, sympy.erf, sympy.tanh)) or any(
        p.exp == sympy.Rational(1, 2) for p in expr.atoms(sympy.Pow)
    )
