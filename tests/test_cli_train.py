"""`actlab train` and `actlab compare`."""

import csv
import json

import pytest
from typer.testing import CliRunner

from actlab.cli import app

runner = CliRunner()
QUICK = ["--epochs", "2", "--batch-size", "64", "--train-subset", "400", "--test-subset", "200"]


def test_train_json():
    result = runner.invoke(app, ["train", "--activation", "hard_swish:n=4", *QUICK, "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["config"]["activation"] == "hard_swish:n=4.0" and len(record["history"]) == 2
    assert record["summary"]["status"] == "done" and 0 < record["summary"]["final_test_accuracy"] <= 1


def test_train_table():
    result = runner.invoke(app, ["train", *QUICK, "--backend", "numpy", "--optimizer", "adam", "--lr", "0.01"])
    assert result.exit_code == 0, result.output
    assert "test acc %" in result.stdout and "done; final: train" in result.stdout


def test_compare_writes_tables_and_plots(tmp_path):
    result = runner.invoke(
        app,
        [
            "compare",
            "--activations",
            "relu,mish,hard_swish:n=4",
            "--seeds",
            "2",
            *QUICK,
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [row["configuration"] for row in payload["comparison"]] == ["relu", "mish", "hard_swish(n=4)"]
    assert sorted(row["rank"] for row in payload["comparison"]) == [1, 2, 3]
    assert len(payload["runs"]) == 6
    for name in ("report.csv", "report.md", "report.json", "report.html", "test_accuracy.png", "loss.png"):
        assert (tmp_path / name).stat().st_size > 100, name
    assert (tmp_path / "activations.png").stat().st_size > 100
    rows = list(csv.DictReader((tmp_path / "report.csv").open()))
    assert rows[0]["configuration"] == "relu" and rows[0]["runs"] == "2" and float(rows[0]["final_test_ci_low"]) < 1
    assert "| relu |" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "--lr", "-1"], "lr: Input should be greater than 0"),
        (["train", "--activation", "relux"], "unknown activation"),
        (["compare", "--activations", "relu,swishh"], "did you mean swish"),
        (["train", "--model", "cnn:8,p", "--backend", "numpy"], "numpy backend trains MLPs only"),
        (["train", "--thresholds", "a,b"], "comma-separated accuracies"),
        (["train", "--device", "cuda:7", *QUICK], "CUDA"),
    ],
)
def test_bad_setups_are_one_clear_error(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_train_fused_compiles_the_activation(monkeypatch):
    import actlab.backends.fused as fused

    built = []
    original = fused.fused_evaluator
    monkeypatch.setattr(fused, "fused_evaluator", lambda *a, **k: built.append(a[0].name) or original(*a, **k))
    runs = [
        runner.invoke(app, ["train", "--activation", "tanhexp", *QUICK, "--json", *flag]) for flag in ([], ["--fused"])
    ]
    assert all(r.exit_code == 0 for r in runs), runs[1].output
    assert set(built) == {"tanhexp"}  # one per hidden layer, all sharing one compiled evaluator
    plain, compiled = (json.loads(r.stdout)["history"] for r in runs)
    for a, b in zip(plain, compiled, strict=True):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-4 * a["train_loss"]


def test_train_and_compare_take_their_run_options_and_defaults_from_run_config():
    """Every setting of a run is an option of both commands, with RunConfig's default (compare's demo changes the
    schedule and the batch size); a field added to RunConfig is an option without a second list to update."""
    import inspect

    from actlab import cli
    from actlab.train.config import RunConfig

    settings = [n for n in RunConfig.model_fields if n not in cli.AUTOMATIC]
    assert list(cli.SETUP) == settings
    demo = {"schedule": "cosine", "batch_size": 50}
    for command, changed in ((cli.train, {}), (cli.compare, demo)):
        parameters = inspect.signature(command).parameters
        for name in settings:
            default = RunConfig.model_fields[name].default
            if name == "thresholds":
                default = ",".join(f"{t:g}" for t in default)
            assert parameters[name].default == changed.get(name, default), (command.__name__, name)
