"""When Ray itself fails under the driver (the node it runs on is marked dead), the driver gives every claimed run
back, cancels what it submitted and says so in one line: interrupted, rerun to resume. Ray is faked here: the
failure is the exception Ray raises, not a node killed under a test."""

import sqlite3

import pytest

from actlab.experiments import ray_executor
from actlab.experiments.ray_executor import ClusterError, RayExecutor
from actlab.experiments.store import Store
from actlab.train.config import make_config

pytest.importorskip("ray", reason="Ray is not installed: pip install 'actlab[ray]'")


class FakeRay:
    """What the driver calls of Ray: tasks are submitted, and waiting on them raises as Ray does when its node
    died."""

    class exceptions:  # noqa: N801 - as Ray spells its module
        class RayError(Exception):
            pass

        class RayTaskError(RayError):
            pass

    def __init__(self) -> None:
        self.submitted: list[str] = []
        self.cancelled: list[str] = []

    def remote(self, function):
        fake = self

        class Remote:
            def options(self, **settings):
                return self

            def remote(self, *arguments):
                fake.submitted.append(f"task-{len(fake.submitted)}")
                return fake.submitted[-1]

        return Remote()

    def put(self, value):
        return value

    def wait(self, tasks, num_returns, timeout):
        raise self.exceptions.RayError("The node with node id 3f2a has been marked dead because the detector missed")

    def cancel(self, task, force):
        self.cancelled.append(task)


def test_ray_failing_under_the_driver_gives_the_runs_back_and_says_rerun(tmp_path):
    path = tmp_path / "runs.db"
    configs = [make_config(activation=a, seed=s, epochs=1) for a in ("relu", "tanh") for s in (0, 1)]
    with Store(path) as store:
        store.register("exp", "", configs)
    fake = FakeRay()
    executor = RayExecutor(ship_limit=0)
    with ray_executor._Store(path) as store:
        driver = ray_executor._Driver(executor, fake, store, "exp", "activation", None, None, 2)
        with pytest.raises(ClusterError, match=r"^interrupted: Ray failed under this run \(.*marked dead.*rerun to"):
            driver.drive()
    assert len(fake.submitted) == 2 and sorted(fake.cancelled) == sorted(fake.submitted)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT status, owner, lease_until FROM runs").fetchall()
    assert rows == [("pending", None, None)] * 4
