"""Which runs train together as one stacked network. Kept free of torch, so that the store and the executors can
group runs without loading the engine."""

from __future__ import annotations

from collections.abc import Sequence

from actlab.models.spec import ModelKind, parse_model
from actlab.train.config import RunConfig

GROUPINGS = ("activation", "all", "none")


def on_cpu(device: str) -> bool:
    """Whether a run's ``device`` setting means the CPU on this machine (``auto`` asks torch)."""
    if device == "auto":
        import torch

        return not torch.cuda.is_available()
    return device == "cpu"


def group_runs(configs: Sequence[RunConfig], by: str = "activation") -> list[list[RunConfig]]:
    """Runs to train as one stacked network, in first-seen order.

    ``activation``: the seeds (and inits) of one activation together, so each activation's time per epoch
    is its own; ``all``: everything that can share a network (fastest overall); ``none``: one at a time.
    A user's own model groups the seeds of one configuration (one activation: each stacked model runs the same
    code), which train stacked with ``torch.func`` where the model allows it. NumPy-backend runs are always alone,
    and so are actlab's CNNs on the CPU: convolutions are
    compute-bound, so stacking saves no dispatch time there, while M-fold larger feature maps fall out of cache
    (measured no faster than one at a time; see docs/benchmarks.md), and a run trained alone is stored as soon as it
    ends.
    """
    if by not in GROUPINGS:
        raise ValueError(f"grouping {by!r}: use one of {', '.join(GROUPINGS)}")
    groups: dict[str, list[RunConfig]] = {}
    for i, config in enumerate(configs):
        alone = config.backend != "torch" or by == "none"
        if alone or (
            not config.is_user_model() and parse_model(config.model).kind == ModelKind.CNN and on_cpu(config.device)
        ):
            key = f"alone-{i}"
        elif config.is_user_model():
            key = config.group_key() + config.activation
        else:
            key = config.group_key() + (config.activation if by == "activation" else "")
        groups.setdefault(key, []).append(config)
    return list(groups.values())
