"""A time limit on a block of the main thread."""

import signal
import time

import pytest

from actlab.timelimit import time_limit


class Late(Exception):
    pass


def test_a_block_past_its_limit_is_interrupted_and_the_alarm_is_cleared():
    with pytest.raises(Late), time_limit(0.01, Late):
        time.sleep(5)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with time_limit(5, Late):  # a block within its limit runs to its end
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_inner_limit_keeps_the_outer_one():
    with pytest.raises(Late, match="outer"), time_limit(0.3, lambda: Late("outer")):
        with time_limit(5, lambda: Late("inner")):
            pass
        time.sleep(5)  # the outer limit still runs out here
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
