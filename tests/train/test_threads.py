"""Thread counts chosen from the work and the free cores."""

import pytest
import torch

from actlab.train import threads


def test_a_dispatch_bound_step_trains_on_one_thread_whatever_is_free():
    assert threads.choose(threads.SERIAL_FLOPS / 2, free=16) == 1
    assert threads.choose(0, free=1) == 1


def test_a_larger_step_takes_a_thread_per_share_of_work_up_to_the_free_cores():
    assert threads.choose(threads.SERIAL_FLOPS, free=16) == 1
    assert threads.choose(3 * threads.FLOPS_PER_THREAD, free=16) == 3
    assert threads.choose(1000 * threads.FLOPS_PER_THREAD, free=2) == 2
    assert threads.choose(1000 * threads.FLOPS_PER_THREAD, free=1) == 1


def test_free_cores_are_those_other_processes_leave(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 4)
    assert threads.free_cores(busy=0) == 4
    assert threads.free_cores(busy=1.4) == 3
    assert threads.free_cores(busy=2.6) == 1
    assert threads.free_cores(busy=9) == 1


@pytest.mark.parametrize("running,busy", [(1, 0.0), (3, 2.0), (7, 6.0)])
def test_busy_cores_count_the_runnable_threads_but_this_one(tmp_path, running, busy):
    source = tmp_path / "loadavg"
    source.write_text(f"0.50 0.40 0.30 {running}/250 12345\n")
    assert threads.busy_cores(samples=3, interval=0, source=str(source)) == busy


def test_step_flops_are_the_products_forward_and_backward():
    layer = torch.nn.Linear(10, 20)
    x = torch.randn(4, 10)
    # forward 2·4·10·20 and the weight gradient as much again (the input needs no gradient)
    assert threads.step_flops(lambda: layer(x).sum().backward()) == 2 * (2 * 4 * 10 * 20)


def test_using_sets_the_threads_within_the_block_only():
    before = torch.get_num_threads()
    with threads.using(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="at least 1"), threads.using(0):
        pass


def test_uncounted_work_takes_every_free_core_up_to_the_cap():
    assert threads.choose(None, free=2) == 2
    assert threads.choose(None, free=4, cap=1) == 1
    assert threads.choose(1000 * threads.FLOPS_PER_THREAD, free=4, cap=2) == 2


def test_a_run_records_the_threads_it_trained_on_and_a_small_model_trains_on_one():
    """A dispatch-bound MLP on digits trains on one thread whatever is free, and says so; the threads torch had
    are restored afterwards."""
    from actlab.train.config import RunConfig
    from actlab.train.trainer import train_runs

    before = torch.get_num_threads()
    configs = [RunConfig(model="mlp:16", epochs=1, seed=s, train_subset=200, test_subset=50) for s in (0, 1)]
    results = train_runs(configs)
    assert [r.summary.threads for r in results] == [1, 1]
    assert torch.get_num_threads() == before


def test_a_count_given_is_the_count_every_group_trains_on():
    from actlab.train.config import RunConfig
    from actlab.train.trainer import train_runs

    config = RunConfig(model="mlp:16", epochs=1, seed=0, train_subset=200, test_subset=50)
    (result,) = train_runs([config], threads=2)
    assert result.summary.threads == 2 and threads.given() is None
    with pytest.raises(ValueError, match="at least 1"), threads.fixed(0):
        pass


def test_a_dispatch_bound_step_does_not_sample_the_cores(monkeypatch):
    def sampled():
        raise AssertionError("the cores were sampled for a step that trains on one thread anyway")

    monkeypatch.setattr(threads, "free_cores", sampled)
    assert threads.choose(threads.SERIAL_FLOPS / 2, cap=8) == 1
