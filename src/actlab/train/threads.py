"""How many CPU threads a group of runs trains with: chosen from the work and the cores actually free.

Small models are dispatch-bound: a step of a few million floating-point operations spends more time in per-op
overhead than in arithmetic, and splitting each small product across threads adds a synchronisation per op. On a
shared machine it is worse: every parallel op waits for its slowest thread, and a thread that loses its core to
another process stalls the whole step (the demo took 8 s with one thread and 16–64 s with torch's default of one
per core while another job ran). So a step whose products are small trains on one thread; a larger one on as many
threads as the work fills, never more than the cores other processes leave free. ``--threads N`` / ``threads=``
overrides the choice, and each run records the count it used (:attr:`actlab.train.metrics.Summary.threads`).
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator

# Below this many floating-point operations per training step (forward and backward of every model trained at
# once), one thread; above it, a thread for each further FLOPS_PER_THREAD. Measured by `make bench` (the threads row).
SERIAL_FLOPS = 5e7
FLOPS_PER_THREAD = 5e7

_fixed: int | None = None  # a count the user gave (threads=, --threads), in force within fixed()


def cores() -> int:
    """The cores this process may run on (its affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def busy_cores(samples: int = 5, interval: float = 0.01, source: str = "/proc/loadavg") -> float:
    """How many cores other processes keep busy now: the kernel's count of runnable threads (/proc/loadavg's
    fourth field, which counts this reading thread too), the median of a few samples; where that file does not
    exist, the one-minute load average."""
    counts = []
    for i in range(samples):
        try:
            with open(source) as file:
                running = int(file.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            try:
                return os.getloadavg()[0]
            except OSError:  # pragma: no cover - no load average on this system
                return 0.0
        counts.append(running - 1)
        if i + 1 < samples:
            time.sleep(interval)
    return float(statistics.median(counts))


def free_cores(busy: float | None = None) -> int:
    """The cores not kept busy by other processes (at least 1)."""
    busy = busy_cores() if busy is None else busy
    return max(1, min(cores(), math.floor(cores() - busy + 0.5)))


def choose(step_flops: float | None, free: int | None = None, cap: int | None = None) -> int:
    """Threads for a step of ``step_flops`` floating-point operations on ``free`` free cores (measured when None),
    at most ``cap``: 1 for a dispatch-bound step, else one per :data:`FLOPS_PER_THREAD`; every free core where the
    work was not counted (None). A dispatch-bound step needs no look at the cores (sampling them takes ~40 ms)."""
    if step_flops is not None and step_flops < SERIAL_FLOPS:
        return 1
    free = free_cores() if free is None else free
    limit = max(1, min(free, cap) if cap is not None else free)
    if step_flops is None:
        return limit
    return max(1, min(math.ceil(step_flops / FLOPS_PER_THREAD), limit))


def step_flops(step: Callable[[], object]) -> float:
    """The floating-point operations of one call of ``step`` (a training step): its matrix products and
    convolutions, forward and backward, counted as torch dispatches them (torch's own flop counter imports
    TorchDynamo, seconds of start-up that training otherwise never pays)."""
    from actlab.train.flops import count

    return count(step)


@contextlib.contextmanager
def using(threads: int) -> Iterator[int]:
    """Torch's intra-op threads set to ``threads`` within the block, and back afterwards."""
    import torch

    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def fixed(threads: int | None) -> Iterator[None]:
    """Within the block, every group trains on ``threads`` threads instead of the chosen count (None: chosen)."""
    global _fixed
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a whole number of at least 1, got {threads!r}")
    before, _fixed = _fixed, threads if threads is not None else _fixed
    try:
        yield
    finally:
        _fixed = before


def given() -> int | None:
    """The count in force from :func:`fixed`, if any."""
    return _fixed
