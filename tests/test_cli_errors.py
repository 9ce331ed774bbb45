"""Every bad input is one clear line (exit status 2, no traceback, no internal class path), checked before any
work and leaving nothing half-written; user text and help text print as they are, brackets included."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actlab.cli import app

runner = CliRunner()
QUICK = ["--epochs", "1", "--train-subset", "200", "--test-subset", "100"]
GOOD = 'name = "good"\n[base]\nepochs = 1\ntrain_subset = 200\ntest_subset = 100\n[grid]\nactivation = ["relu"]\n'


def one_error(*args, code=2) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    text = result.output.strip()
    assert "Traceback" not in text and not re.search(r"\bactlab(\.\w+)+\.\w+Error", text), text
    assert text.startswith("error: ") and len(text.splitlines()) == 1, text
    return text


@pytest.mark.parametrize(
    "args,message",
    [
        (["--range", "-inf", "inf"], "--range needs finite LO < HI"),
        (["--range", "-1e308", "1e308"], "whose difference is a finite number"),
        (["--range", "nan", "1"], "--range needs finite LO < HI"),
    ],
)
def test_plot_ranges(tmp_path, args, message):
    assert message in one_error("plot", "relu", *args, "-o", tmp_path / "p.png")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_outputs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "cannot create the folder" in one_error("plot", "relu", "-o", blocker / "sub" / "p.png")
    assert "is a folder" in one_error("plot", "relu", "-o", tmp_path)
    assert "exists and is not a folder" in one_error("compare", "--activations", "relu", *QUICK, "--out", blocker)


def test_compare_checks_its_output_before_training(tmp_path, monkeypatch):
    import actlab.experiments.oneoff as oneoff

    monkeypatch.setattr(oneoff, "train_configs", lambda *a, **k: pytest.fail("trained before checking --out"))
    existing = tmp_path / "results.txt"
    existing.write_text("keep me")
    assert "exists and is not a folder" in one_error("compare", "--out", existing)
    assert existing.read_text() == "keep me"


def test_an_error_after_the_output_check_leaves_no_output_folder(tmp_path):
    """--out is checked first, but created only once there are results: a model that fails to build leaves nothing."""
    model = tmp_path / "boom.py"
    model.write_text("def build(act):\n    raise RuntimeError('kaboom')\n")
    out = tmp_path / "new" / "sub"
    message = one_error("compare", "--activations", "relu", *QUICK, "--model", f"{model}:build", "--out", out)
    assert "fails to build: RuntimeError: kaboom" in message
    assert not (tmp_path / "new").exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "is not a folder" in one_error("compare", "--activations", "relu", *QUICK, "--out", blocker / "sub")


def test_report_and_run_paths(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    store = tmp_path / "s.db"
    runner.invoke(app, ["run", str(good), "--store", str(store)])
    existing = tmp_path / "taken"
    existing.write_text("x")
    assert "exists and is not a folder" in one_error("report", store, "-o", existing)
    assert "no store at" in one_error("report", tmp_path / "missing.db")
    notdb = tmp_path / "notdb.txt"
    notdb.write_text("just text\n")
    assert "not an actlab store" in one_error("report", notdb)
    assert "not an actlab store" in one_error("run", good, "--store", notdb)
    assert notdb.read_text() == "just text\n"
    assert "is a folder, not a store file" in one_error("run", good, "--store", tmp_path)
    assert "is a folder, not an experiment file" in one_error("run", tmp_path, "--store", store)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert "cannot create the folder" in one_error("run", good, "--store", blocker / "sub" / "s.db")


def test_a_toml_file_that_is_not_utf8(tmp_path):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    text = one_error("run", bad, "--store", tmp_path / "s.db")
    assert "not UTF-8 text (byte 0xe9 at position 11)" in text and not (tmp_path / "s.db").exists()


def test_quick_needs_a_quick_table(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert "has no [quick] table" in one_error("run", good, "--quick", "--store", tmp_path / "s.db")
    assert not (tmp_path / "s.db").exists()


def test_messages_print_the_message_alone(tmp_path, monkeypatch):
    assert one_error("train", "--device", "cuda:7", *QUICK) == (
        "error: device 'cuda:7' requested but CUDA is not available on this machine (use cpu or auto)"
    )
    from actlab.data import datasets

    monkeypatch.delenv("ACTLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(
        datasets,
        "MNIST_FILES",
        {k: type(r)(r.name, r.md5, r.size, ("http://127.0.0.1:9/" + r.name,)) for k, r in datasets.MNIST_FILES.items()},
    )
    text = one_error("train", "--dataset", "mnist", "--data-dir", tmp_path / "nothing", *QUICK)
    assert "mnist: train-images-idx3-ubyte.gz not found" in text and "DatasetError" not in text


@pytest.mark.parametrize("model", ["mlp", "mlp:", "mlp:100,,50"])
def test_models_without_an_activation_are_refused(model):
    assert "model" in one_error("compare", "--model", model, *QUICK)


def test_brackets_print_as_they_are():
    assert "unknown activation '[/x]'" in one_error("show", "[/x]")
    assert "unknown activation '[red]relu'" in one_error("show", "[red]relu")
    assert "is not a number, a [list] or none" in one_error("compare", "--activations", "relu:max_value=abc", *QUICK)
    help_text = runner.invoke(app, ["run", "--help"]).output
    assert "[quick]" in help_text and "Apply the file's [quick] overrides" in " ".join(help_text.split())


def test_version_and_help_metavars():
    import actlab

    assert runner.invoke(app, ["--version"]).output.strip() == f"actlab {actlab.__version__}"
    help_text = runner.invoke(app, ["compare", "--help"]).output
    assert "<bool>" not in help_text
    assert "tanh,sigmoid" in " ".join(help_text.split()).replace(" ", "")  # the whole default list


def test_recipes_show_json():
    record = json.loads(runner.invoke(app, ["recipes", "show", "flooding", "--json"]).stdout)
    assert record["name"] == "flooding" and record["runs"] >= record["quick_runs"] > 0 and "flooding" in record["toml"]


def test_a_diverged_run_says_when():
    result = runner.invoke(app, ["train", "--activation", "exponential", "--lr", "1e6", *QUICK, "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert "diverged at epoch 1" in result.output and "(epoch None)" not in result.output


def test_list_shows_open_and_closed_ranges():
    records = {r["name"]: r for r in json.loads(runner.invoke(app, ["list", "--json"]).stdout)}
    assert records["sigmoid"]["properties"]["range_attained"] == [False, False]
    assert records["relu"]["properties"]["range_attained"] == [True, False]
    table = runner.invoke(app, ["list", "--family", "sigmoid"], env={"COLUMNS": "200"}).output
    assert "(0, 1)" in table and "[0, 1]" in table  # sigmoid's open range, hard sigmoid's closed one


def test_the_readme_links_nothing_outside_the_clone():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "](../" not in readme
