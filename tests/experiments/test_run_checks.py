"""`actlab run` checks users' data and models once, before any run is registered (as compare does): a bad file is
one clear error, exit status 2, and nothing in the store; users' settings are validated together."""

import sqlite3

import numpy as np
import pytest
from typer.testing import CliRunner

from actlab.cli import app

runner = CliRunner()


def experiment(tmp_path, base: str, name: str = "exp") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\n[base]\n{base}\nepochs = 1\n[grid]\nactivation = ["relu", "tanh"]\n')
    return str(path)


def stored_runs(store) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def npz(tmp_path, **overrides) -> str:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.normal(size=(40, 3)),
        "y_train": np.arange(40) % 2,
        "x_test": rng.normal(size=(20, 3)),
        "y_test": np.arange(20) % 2,
        **overrides,
    }
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"y_train": np.arange(40) * 0.5}, "is not an integer class label"),
        ({"x_test": np.zeros((20, 4))}, "both sets need the same features"),
        ({"y_train": np.zeros(40, dtype=int), "y_test": np.zeros(20, dtype=int)}, "needs at least two classes"),
        ({"y_train": np.full(40, 10**9)}, "is not a class index"),
    ],
)
def test_bad_data_through_run_stores_nothing_and_exits_2(tmp_path, overrides, expected):
    store = tmp_path / "runs.db"
    path = npz(tmp_path, **overrides)
    result = runner.invoke(app, ["run", experiment(tmp_path, f'dataset = "npz:{path}"'), "--store", str(store)])
    assert result.exit_code == 2, result.output
    assert expected in result.output and "error: " in result.output
    assert stored_runs(store) == 0


def test_good_data_through_run_trains(tmp_path):
    store = tmp_path / "runs.db"
    result = runner.invoke(
        app, ["run", experiment(tmp_path, f'dataset = "npz:{npz(tmp_path)}"'), "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    assert stored_runs(store) == 2
