"""A time limit on a block of this process's main thread, by a real-time alarm (SIGALRM): SymPy's work on a formula
cannot otherwise be stopped. Elsewhere (another thread, a system without ``setitimer``) the block runs unbounded.
A limit inside another keeps the outer one: its time left is set again when the inner block ends."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def time_limit(seconds: float | None, expired: Callable[[], BaseException]) -> Iterator[None]:
    """Raise ``expired()`` in the block once it has run ``seconds`` (None: no limit)."""
    main = threading.current_thread() is threading.main_thread()
    if seconds is None or not main or not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum, frame):
        raise expired()

    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))
