"""actlab.compare on your own model and data: the Python API, the CLI with npz and CSV files and model files, and
every bad input as one clear error before anything trains."""

import json
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner

import actlab
from actlab.cli import app
from actlab.errors import ActlabError

runner = CliRunner()


def blobs(n_train=240, n_test=80, features=6, classes=3, seed=0):
    """Three separable clusters: a classification task any small MLP learns in a few epochs."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, features))

    def draw(n):
        y = rng.integers(0, classes, n)
        return (centres[y] + rng.normal(0, 1, (n, features))).astype(np.float32), y

    return (*draw(n_train), *draw(n_test))


class Net(nn.Module):
    def __init__(self, features=6, classes=3):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(features, 16), nn.ReLU(), nn.Linear(16, 16))
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


def build(act):
    return nn.Sequential(nn.Linear(6, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, 3))


QUICK = dict(seeds=2, epochs=3, lr=0.01, batch_size=32, device="cpu", progress=False)


def test_compare_a_model_instance_on_arrays():
    data = blobs()
    cmp = actlab.compare(Net(), data, activations=["relu", "mish"], **QUICK)
    assert len(cmp.results) == 4 and {r.config.activation_label() for r in cmp.results} == {"relu", "mish"}
    rows = cmp.rows()
    assert [r.rank for r in sorted(rows, key=lambda r: r.rank)] == [1, 2]
    assert all(r.final_test_accuracy.mean > 0.6 for r in rows)  # it learned
    assert "| mish |" in cmp.markdown() or "| relu |" in cmp.markdown()
    again = actlab.compare(Net(), data, activations=["relu", "mish"], **QUICK)
    for a, b in zip(cmp.results, again.results, strict=True):  # reproducible for the same seeds
        assert [h.test_loss for h in a.history] == [h.test_loss for h in b.history]


def test_compare_a_build_function_with_tensors_and_datasets(tmp_path):
    x_train, y_train, x_test, y_test = blobs()
    tensors = tuple(torch.as_tensor(a) for a in (x_train, y_train, x_test, y_test))
    cmp = actlab.compare(build, tensors, activations=["gelu", "tanhexp"], **QUICK)
    datasets = (
        torch.utils.data.TensorDataset(tensors[0], tensors[1]),
        torch.utils.data.TensorDataset(tensors[2], tensors[3]),
    )
    same = actlab.compare(build, datasets, activations=["gelu", "tanhexp"], **QUICK)
    assert [r.summary for r in cmp.results] != [] and [r.config.key() for r in cmp.results] == [
        r.config.key() for r in same.results
    ]
    files = cmp.save(tmp_path / "out", baseline="gelu")
    assert {"report.md", "report.csv", "report.json", "report.html", "test_accuracy.png", "loss.png"} <= set(files)
    assert "p vs gelu" in (tmp_path / "out" / "report.md").read_text()


def test_regression_reports_losses(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (np.sin(x[:, 0]) + x[:, 1] ** 2).astype(np.float32)

    def regressor(act):
        return nn.Sequential(nn.Linear(4, 32), act(), nn.Linear(32, 1))

    cmp = actlab.compare(
        regressor, (x[:240], y[:240], x[240:], y[240:]), activations=["relu", "silu"], loss="mse", **QUICK
    )
    for result in cmp.results:
        assert result.summary.final_test_accuracy is None and result.summary.final_test_loss > 0
        assert result.summary.epochs_to == {}
    assert "final test loss" in cmp.markdown() and "acc" not in cmp.markdown()
    cmp.save(tmp_path)
    assert (tmp_path / "loss.png").exists() and not (tmp_path / "test_accuracy.png").exists()


def test_a_store_keeps_the_runs_and_a_rerun_resumes(tmp_path):
    store = tmp_path / "runs.db"
    data = blobs()
    first = actlab.compare(build, data, activations=["relu"], store=store, **QUICK)
    again = actlab.compare(build, data, activations=["relu"], store=store, **QUICK)
    assert [r.history for r in first.results] == [r.history for r in again.results]
    result = runner.invoke(app, ["report", str(store), "-o", str(tmp_path / "r"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["compare"]["rows"][0]["configuration"] == "relu"


def test_the_store_of_a_model_given_to_compare_is_read_in_another_process(tmp_path, monkeypatch):
    """A model object lives in the process that gave it to compare; its runs' results are read without it."""
    from actlab.models import user_models

    store = tmp_path / "runs.db"
    actlab.compare(Net(), blobs(), activations=["relu", "tanh"], store=store, **QUICK).save(tmp_path / "saved")
    monkeypatch.setattr(user_models, "_registry", {})  # as in a new process
    for source, out in ((store, "r"), (tmp_path / "saved" / "report.json", "r2")):
        result = runner.invoke(app, ["report", str(source), "-o", str(tmp_path / out), "--json"])
        assert result.exit_code == 0, result.output
        rows = next(iter(json.loads(result.stdout).values()))["rows"]
        assert sorted(r["configuration"] for r in rows) == ["relu", "tanh"]


def test_divergence_is_handled_as_for_built_in_models():
    cmp = actlab.compare(build, blobs(), activations=["relu"], **{**QUICK, "lr": 1e12, "optimizer": "sgd"})
    assert all(r.summary.status == "diverged" for r in cmp.results)


def lazy(act):
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))


def broken(act):
    raise RuntimeError("no such layer")


def seven(act):
    return nn.Sequential(nn.Linear(6, 16), act(), nn.Linear(16, 7))


class Plain(nn.Module):  # nothing to swap
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(6, 3)

    def forward(self, x):
        return self.linear(x)


class Untraceable(nn.Module):  # data-dependent control flow: its functional calls cannot be rewritten
    def __init__(self):
        super().__init__()
        self.body, self.act, self.head = nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)

    def forward(self, x):
        x = self.act(self.body(x))
        if x.abs().mean() > 0:
            x = F.gelu(x)
        return self.head(x)


def test_match_chooses_which_activations_of_a_model_compare_swaps():
    from tests.swap.test_swap import Gated, SiLUByHand

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.gated, self.head = Gated(), nn.Linear(4, 3)

        def forward(self, x):
            return self.head(self.gated(x[:, :4]))

    data = blobs()
    kept = actlab.compare(Classifier(), data, activations=["tanh"], match=[SiLUByHand, "relu"], **QUICK)
    every = actlab.compare(Classifier(), data, activations=["tanh"], **QUICK)
    assert kept.results[0].config.model != every.results[0].config.model  # a different model: other runs
    assert kept.results[0].history != every.results[0].history
    with pytest.raises(ActlabError, match="match='softsign' selects no activation of Classifier"):
        actlab.compare(Classifier(), data, activations=["tanh"], match="softsign", **QUICK)
    with pytest.raises(ActlabError, match="match selects the activations to swap in a model given as an nn.Module"):
        actlab.compare(build, data, activations=["tanh"], match="relu", **QUICK)


@pytest.mark.parametrize(
    "model,data,options,message",
    [
        (build, "blobs", {"activations": ["mishh"]}, "did you mean mish"),
        (lazy, "blobs", {}, "never called act()"),
        (broken, "blobs", {}, "fails to build: RuntimeError: no such layer"),
        (seven, "blobs", {}, "outputs shape (2, 7), but the labels go up to 2: 3 classes need logits of shape (2, 3)"),
        (Plain(), "blobs", {}, "has no activation that actlab recognises"),
        (
            Untraceable(),
            "blobs",
            {},
            "Untraceable: 1 activation site(s) cannot be swapped — <model>: Untraceable.forward line",
        ),
        (build, "labels", {}, "labels go up to 5"),
        (42, "blobs", {}, "give an nn.Module, a build(act) function"),
        (build, "blobs", {"optimizer": "adamw"}, "optimizer"),
    ],
)
def test_bad_input_is_one_clear_error_and_nothing_trains(model, data, options, message, tmp_path):
    x_train, y_train, x_test, y_test = blobs()
    if data == "labels":
        y_train = y_train.copy()
        y_train[0] = 5
        seven_classes = (x_train, y_train, x_test, y_test)
        arrays = seven_classes
        model = build  # 3 outputs, but labels up to 5
    else:
        arrays = (x_train, y_train, x_test, y_test)
    store = tmp_path / "runs.db"
    with pytest.raises(ActlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        actlab.compare(model, arrays, **{**QUICK, "store": store, **options})
    assert not store.exists()


MODELS = textwrap.dedent(
    """
    from torch import nn

    def build(act):
        return nn.Sequential(nn.Linear(6, 16), act(), nn.Linear(16, 3))

    def ignores(act):
        return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    """
)


def test_the_cli_compares_a_model_file_on_npz_and_csv_files(tmp_path):
    (tmp_path / "my_models.py").write_text(MODELS)
    x_train, y_train, x_test, y_test = blobs()
    np.savez(tmp_path / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    quick = ["--activations", "relu,silu", "--seeds", "1", "--epochs", "2", "--optimizer", "adam", "--lr", "0.01"]
    model = ["--model", f"{tmp_path / 'my_models.py'}:build"]
    result = runner.invoke(app, ["compare", *model, "--dataset", f"npz:{tmp_path / 'data.npz'}", *quick, "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["runs"]) == 2
    names = [f"f{i}" for i in range(6)]
    lines = [",".join([*names, "species"])]
    lines += [
        ",".join([*map(str, row), ["setosa", "versicolor", "virginica"][label]])
        for row, label in zip(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]), strict=True)
    ]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    csv = ["--dataset", f"csv:{tmp_path / 'data.csv'}", "--target", "species", "--test-fraction", "0.25"]
    result = runner.invoke(app, ["compare", *model, *csv, *quick, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][0]["config"]["target"] == "species"
    ignored = runner.invoke(app, ["compare", "--model", f"{tmp_path / 'my_models.py'}:ignores", *csv, *quick])
    assert ignored.exit_code == 2 and "never called act()" in ignored.output
    missing = runner.invoke(app, ["compare", *model, "--dataset", f"csv:{tmp_path / 'data.csv'}", *quick])
    assert missing.exit_code == 2 and "target" in missing.output


def test_an_experiment_file_names_its_model_and_data_beside_it(tmp_path):
    (tmp_path / "my_models.py").write_text(MODELS)
    x_train, y_train, x_test, y_test = blobs()
    np.savez(tmp_path / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (tmp_path / "e.toml").write_text(
        'name = "mine"\n[base]\nmodel = "my_models.py:build"\ndataset = "npz:data.npz"\nepochs = 2\n'
        'optimizer = "adam"\nlr = 0.01\n[grid]\nactivation = ["relu", "gelu"]\nseed = [0, 1]\n'
    )
    store = tmp_path / "runs.db"
    result = runner.invoke(app, ["run", str(tmp_path / "e.toml"), "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["done"] == 4
    (tmp_path / "my_models.py").write_text(MODELS + "\n# edited\n")
    again = runner.invoke(app, ["run", str(tmp_path / "e.toml"), "--store", str(store), "--json"])
    assert json.loads(again.stdout)["new_runs"] == 4  # a changed model file is a new experiment definition
    (tmp_path / "my_models.py").rename(tmp_path / "moved.py")
    (tmp_path / "data.npz").rename(tmp_path / "moved.npz")
    report = runner.invoke(app, ["report", str(store), "-o", str(tmp_path / "r"), "--earlier", "--json"])
    assert report.exit_code == 0, report.output  # reading results needs neither the model nor the data any more
    assert len(json.loads(report.stdout)["mine"]["rows"]) == 4
    report_json = tmp_path / "r" / "mine" / "report.json"
    again = runner.invoke(app, ["report", str(report_json), "-o", str(tmp_path / "r2"), "--json"])
    assert again.exit_code == 0, again.output


def test_the_command_line_compare_is_actlab_compare(tmp_path):
    """`actlab compare --out` and `actlab.compare(...).save` with the same settings: the same runs (keys and numbers),
    the same title and the same files."""
    quick = ["--activations", "relu,tanh", "--seeds", "2", "--epochs", "2", "--train-subset", "200"]
    result = runner.invoke(app, ["compare", *quick, "--test-subset", "100", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    cmp = actlab.compare(
        "mlp:100,50",
        "digits",
        activations=["relu", "tanh"],
        seeds=2,
        epochs=2,
        optimizer="sgd",
        lr=0.1,
        batch_size=50,
        schedule="cosine",
        device="cpu",
        train_subset=200,
        test_subset=100,
        progress=False,
    )
    files = cmp.save(tmp_path / "python")
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == sorted(files)
    assert cmp.description in result.stdout.replace("\n", " ") or cmp.description[:60] in result.stdout
    saved = json.loads((tmp_path / "cli" / "report.json").read_text())
    assert saved["description"] == cmp.description
    assert [run["key"] for run in saved["runs"]] == [r.config.key() for r in cmp.results]
    assert [[h["test_loss"] for h in run["history"]] for run in saved["runs"]] == [
        [h.test_loss for h in r.history] for r in cmp.results
    ]
