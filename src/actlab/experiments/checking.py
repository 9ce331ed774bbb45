"""User-defined activations are checked before anything trains: `compare`, `train` and `run` refuse one that fails
`actlab check`, unless told to train it anyway, and then the runs record that they were not checked."""

from __future__ import annotations

from collections.abc import Sequence

from actlab.errors import ActlabError
from actlab.train.config import RunConfig

_reports: dict[str, object] = {}  # definition → its check report, once per process


class UncheckedActivation(ActlabError):
    """A user-defined activation failed `actlab check`; the message lists the failing checks."""


def report_for(config: RunConfig):
    """The check report of a run's (user-defined) activation, computed once per definition in this process."""
    from actlab.verify.check import check

    if config.definition not in _reports:
        _reports[config.definition] = check(config.activation_object())
    return _reports[config.definition]


def checked(configs: Sequence[RunConfig], allow_unchecked: bool = False) -> list[RunConfig]:
    """``configs``, each user-defined activation among them having passed `actlab check`; with ``allow_unchecked``,
    the runs of one that failed are marked ``unchecked`` (part of their key) instead of refused."""
    failing: dict[str, list[str]] = {}
    for config in configs:
        if config.definition is None:
            continue
        report = report_for(config)
        if not report.passed:
            failing[config.activation_object().name] = [f"{r.check}: {r.detail}" for r in report.failures()]
    if not failing:
        return list(configs)
    if not allow_unchecked:
        lines = "; ".join(f"{name} fails `actlab check` ({' | '.join(problems)})" for name, problems in failing.items())
        raise UncheckedActivation(
            f"{lines}. Fix the definition, or pass --allow-unchecked to train it anyway "
            "(the runs then record that they were not checked)"
        )
    return [
        c.model_copy(update={"unchecked": True}) if c.definition and c.activation_object().name in failing else c
        for c in configs
    ]
