"""User-defined activations are checked before anything trains: `compare`, `train` and `run` refuse one that fails
`actlab check`, unless told to train it anyway, and then the runs record that they were not checked."""

from __future__ import annotations

from collections.abc import Sequence

from actlab.errors import ActlabError
from actlab.train.config import RunConfig

_reports: dict[tuple[str, str], object] = {}  # (definition, activation with its parameters) → its check report


class UncheckedActivation(ActlabError):
    """A user-defined activation failed `actlab check`; the message lists the failing checks."""


def report_for(config: RunConfig):
    """The check report of a run's (user-defined) activation with its parameters — each setting is checked, as one
    may pass where another fails — computed once per definition and setting (kept on disk, so `compare` after
    `check` does not check again: :mod:`actlab.verify.cached`)."""
    from actlab.verify.cached import checked as cached_check

    key = (config.definition, config.activation)
    if key not in _reports:
        _reports[key] = cached_check(config.activation_object())[0]
    return _reports[key]


def checked(configs: Sequence[RunConfig], allow_unchecked: bool = False) -> list[RunConfig]:
    """``configs``, each user-defined activation among them having passed `actlab check`; with ``allow_unchecked``,
    the runs of one that failed are marked ``unchecked`` (part of their key) instead of refused."""
    failing: dict[str, tuple[str, list[str]]] = {}  # activation → its label, the checks it fails
    for config in configs:
        if config.definition is None:
            continue
        report = report_for(config)
        if not report.passed:
            problems = [f"{r.check}: {' '.join(r.detail.split())}" for r in report.failures()]
            failing[config.activation] = (config.activation_label(), problems)
    if not failing:
        return list(configs)
    if not allow_unchecked:
        lines = "; ".join(
            f"{name} fails `actlab check` ({' | '.join(problems)})" for name, problems in failing.values()
        )
        raise UncheckedActivation(
            f"{lines}. Fix the definition, or pass --allow-unchecked to train it anyway "
            "(the runs then record that they were not checked)"
        )
    return [
        c.model_copy(update={"unchecked": True}) if c.definition and c.activation in failing else c for c in configs
    ]
