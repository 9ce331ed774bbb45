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


def csv_file(tmp_path) -> str:
    rows = ["a,b,label"] + [f"{i},{i % 3},{'cat' if i % 2 else 'dog'}" for i in range(30)]
    path = tmp_path / "table.csv"
    path.write_text("\n".join(rows) + "\n")
    return str(path)


@pytest.mark.parametrize(
    "base",
    [
        'dataset = "csv:{csv}"\ntarget = "label"',
        'dataset = "csv:{csv}"\ntarget = "label"\ntest_fraction = 0.3',
        'dataset = "npz:{npz}"\nloss = "mse"\nmodel = "{model}:build"',
    ],
)
def test_settings_of_users_data_are_validated_together(tmp_path, base):
    from actlab.experiments.config import load_experiment

    model = tmp_path / "regressor.py"
    model.write_text(
        "import torch\n\ndef build(act):\n    return torch.nn.Sequential(torch.nn.Linear(3, 8), act(), "
        "torch.nn.Linear(8, 1))\n"
    )
    text = base.format(csv=csv_file(tmp_path), npz=npz(tmp_path, y_train=np.linspace(0, 1, 40)), model=model)
    runs = load_experiment(experiment(tmp_path, text)).runs
    assert len(runs) == 2
    result = runner.invoke(app, ["run", experiment(tmp_path, text), "--store", str(tmp_path / "runs.db")])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "base, expected",
    [
        ('target = "label"', "target and test_fraction are settings of a CSV dataset"),
        ('dataset = "csv:{csv}"', "name the label column with target"),
        ('loss = "mse"', "loss mse is for regression on your own data"),
    ],
)
def test_a_contradiction_of_settings_is_one_error(tmp_path, base, expected):
    from actlab.experiments.config import ExperimentError, load_experiment

    with pytest.raises(ExperimentError) as caught:
        load_experiment(experiment(tmp_path, base.format(csv=csv_file(tmp_path), npz=npz(tmp_path))))
    assert str(caught.value).count(expected) == 1 and "problems" not in str(caught.value)


def test_mse_on_users_data_is_a_setting_of_actlab_s_own_models_too(tmp_path):
    """One loop trains every model with either loss: a built-in MLP regresses an npz's targets."""
    from actlab.experiments.config import load_experiment

    text = f'loss = "mse"\ndataset = "npz:{npz(tmp_path, y_train=np.linspace(0, 1, 40))}"'
    assert all(run.loss == "mse" for run in load_experiment(experiment(tmp_path, text)).runs)


def test_a_csv_dataset_swept_with_its_target_in_the_grid(tmp_path):
    from actlab.experiments.config import load_experiment

    path = tmp_path / "grid.toml"
    path.write_text(
        f'name = "g"\n[base]\nepochs = 1\n[grid]\ndataset = ["csv:{csv_file(tmp_path)}"]\ntarget = ["label"]\n'
        'activation = ["relu"]\n'
    )
    assert len(load_experiment(path).runs) == 1


def model_file(tmp_path, body: str, name: str = "net.py") -> str:
    path = tmp_path / name
    path.write_text(body)
    return f"{path}:build"


NET = (
    "import torch\nfrom helper import HIDDEN\n\n"
    "def build(act):\n    return torch.nn.Sequential(torch.nn.Linear(3, HIDDEN), act(), torch.nn.Linear(HIDDEN, 2))\n"
)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_model_file_imports_a_module_beside_it(tmp_path, monkeypatch, workers):
    """Without PYTHONPATH, in this process and in spawned workers alike."""
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.chdir(tmp_path.parent)
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "helper.py").write_text("HIDDEN = 8\n")
    model = model_file(folder, NET)
    path = experiment(tmp_path, f'dataset = "npz:{npz(tmp_path)}"\nmodel = "{model}"')
    result = runner.invoke(app, ["run", path, "--store", str(tmp_path / "runs.db"), "--workers", workers])
    assert result.exit_code == 0, result.output
    assert stored_runs(tmp_path / "runs.db") == 2


@pytest.mark.parametrize("code", ["0", "3", "'bye'"])
def test_a_model_file_that_exits_while_loading_is_one_clear_error(tmp_path, code):
    model = model_file(tmp_path, f"import sys\nsys.exit({code})\ndef build(act):\n    pass\n")
    store = tmp_path / "runs.db"
    path = experiment(tmp_path, f'dataset = "npz:{npz(tmp_path)}"\nmodel = "{model}"')
    result = runner.invoke(app, ["run", path, "--store", str(store)])
    assert result.exit_code == 2, result.output
    assert f"called sys.exit({code})" in result.output and stored_runs(store) == 0


def test_a_model_file_that_hangs_says_what_is_loading_and_ctrl_c_ends_it(tmp_path):
    """The message is awaited (not timed), then SIGINT: the command ends at once, saying so, with nothing stored."""
    import signal
    import subprocess
    import sys

    model = model_file(tmp_path, "import time\nwhile True:\n    time.sleep(0.1)\n")
    store = tmp_path / "runs.db"
    path = experiment(tmp_path, f'dataset = "npz:{npz(tmp_path)}"\nmodel = "{model}"')
    command = [sys.executable, "-m", "actlab.cli", "run", path, "--store", str(store)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in process.stderr:
            seen.append(line)
            if "still loading model file" in line:
                break
        assert any(f"still loading model file {tmp_path / 'net.py'}" in line for line in seen), seen
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=120) == 130
    finally:
        process.kill()
    assert "interrupted" in rest and "Traceback" not in rest
    assert stored_runs(store) == 0


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            "    return torch.nn.Sequential(torch.nn.Linear(3, 2), act()).requires_grad_(False)\n",
            "has no trainable parameters",
        ),
        (
            "    net = torch.nn.Sequential(torch.nn.Linear(3, 2), act())\n"
            "    torch.nn.init.constant_(net[0].weight, float('nan'))\n    return net\n",
            "outputs NaN or inf before any update",
        ),
    ],
)
def test_a_model_that_cannot_train_is_one_clear_error(tmp_path, body, expected):
    model = model_file(tmp_path, "import torch\n\ndef build(act):\n" + body)
    store = tmp_path / "runs.db"
    path = experiment(tmp_path, f'dataset = "npz:{npz(tmp_path)}"\nmodel = "{model}"')
    result = runner.invoke(app, ["run", path, "--store", str(store)])
    assert result.exit_code == 2, result.output
    assert expected in result.output and stored_runs(store) == 0


def test_too_many_runs_are_refused_before_any_is_made(tmp_path):
    from actlab.experiments.compare import compare
    from actlab.experiments.config import MAX_RUNS, ExperimentError, TooManyRuns, load_experiment

    path = tmp_path / "big.toml"
    path.write_text(f'name = "big"\n[grid]\nactivation = ["relu", "tanh"]\nseed = {list(range(MAX_RUNS // 2 + 1))}\n')
    with pytest.raises(ExperimentError, match=f"make {MAX_RUNS + 2:,} runs; at most {MAX_RUNS:,}"):
        load_experiment(path)
    result = runner.invoke(app, ["compare", "--activations", "relu,tanh", "--seeds", "100000"])
    assert result.exit_code == 2 and "2 activations × 100000 seeds make 200,000 runs" in result.output
    with pytest.raises(TooManyRuns, match="200,000 runs"):
        compare("mlp:8", "digits", activations=["relu", "tanh"], seeds=100_000)


def test_every_bad_value_of_a_sweep_is_said(tmp_path):
    from actlab.experiments.config import ExperimentError, load_experiment

    path = tmp_path / "sweep.toml"
    path.write_text('name = "s"\n[grid]\nlr = [-1, 0.1, -2]\nactivation = ["relu"]\n')
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    assert "grid.lr[0]: Input should be greater than 0" in str(caught.value)
    assert "grid.lr[2]: Input should be greater than 0" in str(caught.value)
