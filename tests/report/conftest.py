"""A small real store for the records and site tests: four activations (relu, gelu, tanh, learnable prelu) × two
learning rates (two tasks) × two seeds on digits, 2 epochs of an MLP with 16 units, with diagnostics."""

import pytest

from actlab.experiments.runner import run_experiment

EXPERIMENT = """name = "bench"
[base]
dataset = "digits"
model = "mlp:16"
epochs = 2
batch_size = 64
train_subset = 300
test_subset = 120
diagnostics = true
[grid]
seed = [0, 1]
lr = [0.1, 0.3]
activation = ["relu", "gelu", "tanh", "prelu"]
"""


@pytest.fixture(scope="session")
def bench_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    (folder / "bench.toml").write_text(EXPERIMENT)
    run_experiment(str(folder / "bench.toml"), folder / "store.db")
    return folder / "store.db"


HOSTILE = '<img src=x onerror="alert(1)">&amp;</script>'


@pytest.fixture(scope="session")
def hostile_store(bench_store, tmp_path_factory):
    """The bench store with the tanh runs renamed to markup, as a crafted store could hold them."""
    import shutil
    import sqlite3

    path = tmp_path_factory.mktemp("hostile") / "store.db"
    shutil.copy(bench_store, path)
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE runs SET config = json_set(config, '$.activation', ?) "
            "WHERE json_extract(config, '$.activation') = 'tanh'",
            (HOSTILE,),
        )
    return path
