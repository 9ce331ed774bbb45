"""--diagnostics: hand-built cases where the answer is known, gradient norms against autograd, no number of the
training changed by measuring, and the diagnostics through the store, the CLI and users' models."""

import json
import sqlite3

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import actlab
from actlab import jsontext
from actlab.cli import app
from actlab.train import diagnostics
from actlab.train.config import RunConfig
from actlab.train.diagnostics_data import LayerDiagnostics, warnings_for
from actlab.train.trainer import train_runs

QUICK = dict(epochs=2, train_subset=300, test_subset=100, batch_size=32)


def statistics(name: str, z: torch.Tensor, threshold: float = 0.05) -> dict:
    act = actlab.activation(name)
    slope = act.derivative(z)
    shaped = z.reshape(1, z.shape[0], z.shape[1], 1)
    return diagnostics.layer_statistics(shaped, slope.reshape(shaped.shape), [diagnostics.max_slope(act)], threshold)[0]


def test_a_sigmoid_layer_fed_huge_inputs_is_saturated():
    z = 1000 * torch.randn(500, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert statistics("sigmoid", z)["saturated"] > 0.99
    assert statistics("sigmoid", z / 1000)["saturated"] < 0.01


def test_a_relu_layer_with_a_large_negative_bias_is_dead():
    z = torch.randn(500, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) - 100
    found = statistics("relu", z)
    assert found["dead"] == 1.0 and found["saturated"] == 1.0 and found["mean_slope"] == 0
    some = z.clone()
    some[:, :5] += 200  # five units alive
    assert statistics("relu", some)["dead"] == pytest.approx(15 / 20)


def test_a_linear_activation_is_never_saturated_or_dead():
    z = 1e4 * torch.randn(200, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    found = statistics("linear", z)
    assert found["saturated"] == 0 and found["dead"] == 0 and found["mean_slope"] == 1


def test_the_statistics_are_those_of_the_pre_activations():
    z = torch.arange(1000, dtype=torch.float64).reshape(100, 10)
    found = statistics("tanh", z)
    assert found["mean"] == pytest.approx(499.5) and found["std"] == pytest.approx(z.std(correction=0).item())
    assert found["p50"] == pytest.approx(499.5) and found["p1"] < found["p50"] < found["p99"]
    assert sum(found["histogram_counts"]) == 1000 and len(found["histogram_edges"]) == 41


def test_the_threshold_is_a_setting():
    with pytest.raises(ValueError, match="saturation_threshold"):
        RunConfig(diagnostics=True, saturation_threshold=1.5)
    with pytest.raises(ValueError, match="torch engine"):
        RunConfig(diagnostics=True, backend="numpy")


@pytest.mark.parametrize("setup", [dict(activation="tanh"), dict(activation="prelu"), dict(model="cnn:4,p")])
def test_measuring_changes_no_number(setup):
    """The hand-written backpropagation path (tanh), autograd (learnable prelu) and a CNN."""
    configs = [RunConfig(**QUICK, **setup, seed=s, dtype="float64") for s in (0, 1)]
    plain = train_runs(configs)
    measured = train_runs([c.model_copy(update={"diagnostics": True}) for c in configs])
    for a, b in zip(plain, measured, strict=True):
        assert [(h.train_loss, h.test_loss, h.test_accuracy) for h in a.history] == [
            (h.train_loss, h.test_loss, h.test_accuracy) for h in b.history
        ]
        hidden = 1 if "model" in setup else 2
        assert not a.diagnostics and len(b.diagnostics) == 2 and len(b.diagnostics[0]) == hidden


def test_gradient_norms_equal_autograd():
    """The hand-written backpropagation's measured gradients against autograd's for the same step."""
    from actlab.data.prepared import prepare_for
    from actlab.train.backprop import HandBackprop
    from actlab.train.device import DeviceData
    from actlab.train.stacked import build_network

    config = RunConfig(**QUICK, activation="tanh", dtype="float64", model="mlp:16,8")
    data = prepare_for(config)
    net = build_network([config, config], data, torch.float64, torch.device("cpu"), False)
    tensors = DeviceData.of(data, torch.float64, torch.device("cpu"))
    x = tensors.x_rows[:32].expand(2, -1, -1).contiguous()
    y = tensors.y_train[:32].expand(2, -1)
    meter = diagnostics.GradientMeter(list(net.weights), 2, steps_per_epoch=1)
    meter.begin_epoch()
    assert meter.wants()
    logits = net(x)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 10), y.reshape(-1), reduction="none").view(2, 32)
    grads = torch.autograd.grad(loss.mean(1).sum(), list(net.weights))
    HandBackprop(net, fused_sgd=True).step(x, y, None, lr=0.0, meter=meter)
    (model0, model1) = meter.end_epoch()
    for layer, g in enumerate(grads):
        want = torch.linalg.vector_norm(g.reshape(2, -1), dim=1)
        assert model0[layer][0] == pytest.approx(want[0].item(), rel=1e-12)
        assert model1[layer][0] == pytest.approx(want[1].item(), rel=1e-12)
        assert model0[layer][2] == 0  # lr 0: no update


def test_warnings_say_what_usually_helps():
    layer = LayerDiagnostics(1, 0, 1, -1, 0, 1, 0.97, 0.12, 0.01, (), ())
    calm = LayerDiagnostics(2, 0, 1, -1, 0, 1, 0.2, 0.0, 0.5, (), ())
    saturated, dead = warnings_for([layer, calm])
    assert saturated.startswith("saturated units (layer 1 97 %)") and "normalise the input" in saturated
    assert dead.startswith("dead units (layer 1 12 %)") and "learning rate" in dead
    assert warnings_for([calm]) == []


def test_the_store_keeps_them_and_the_cli_shows_them(tmp_path):
    toml = tmp_path / "e.toml"
    toml.write_text(
        'name = "e"\n[base]\nepochs = 2\ntrain_subset = 300\ntest_subset = 100\ndiagnostics = true\n'
        'preprocessing = "none"\n[grid]\nactivation = ["sigmoid", "relu"]\nseed = [0, 1]\n'
    )
    store = tmp_path / "s.db"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(toml), "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    from actlab.experiments.store import Store

    with Store(store, readonly=True) as opened:
        results = opened.results("e")
    assert all(len(r.diagnostics) == 2 and len(r.diagnostics[-1]) == 2 for r in results)
    assert all(r.diagnostics[-1][0].grad_norm > 0 for r in results)
    report = runner.invoke(app, ["report", str(store), "-o", str(tmp_path / "r")])
    assert report.exit_code == 0, report.output
    figures = {p.name for p in (tmp_path / "r" / "e").iterdir()}
    assert {"diagnostics_units.png", "diagnostics_gradients.png", "diagnostics_histograms.png"} <= figures
    assert "diagnostics_units.png" in (tmp_path / "r" / "e" / "report.html").read_text()
    assert "**Diagnostics**" in (tmp_path / "r" / "e" / "report.md").read_text()

    def train(activation: str, *extra: str):
        options = ["--preprocessing", "none", "--diagnostics", "--epochs", "1", "--train-subset", "300", *extra]
        return runner.invoke(app, ["train", "--activation", activation, *options])

    trained = train("sigmoid", "--json")
    assert json.loads(trained.stdout)["diagnostics"][0][0]["layer"] == 1
    shown = train("relu")
    assert "layer 1:" in shown.stdout and "dead" in shown.stdout


def test_a_schema_1_store_is_upgraded_and_read(tmp_path):
    from actlab.experiments.store import Store

    path = tmp_path / "old.db"
    with Store(path) as store:
        store.register("e", "", [RunConfig(**QUICK)])
    db = sqlite3.connect(path)
    db.execute("DROP TABLE diagnostics")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store(path, readonly=True) as store:  # a schema-1 store reads without diagnostics
        assert store.results("e", finished_only=False)[0].diagnostics == []
    with Store(path) as store:
        pass
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'diagnostics'").fetchone()


def test_users_models_get_probe_statistics_per_activation_site():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)

    def build(act):
        return torch.nn.Sequential(torch.nn.Linear(6, 8), act(), torch.nn.Linear(8, 8), act(), torch.nn.Linear(8, 2))

    def compare(**settings):
        data = (x[:150], y[:150], x[150:], y[150:])
        return actlab.compare(
            build, data, activations=["tanh"], seeds=1, epochs=2, progress=False, device="cpu", **settings
        )

    (result,) = compare(diagnostics=True).results
    assert len(result.diagnostics) == 2 and [d.layer for d in result.diagnostics[-1]] == [1, 2]
    for layer in result.diagnostics[-1]:  # the weights feeding each site: the Linear before it
        assert layer.grad_norm > 0 and layer.weight_norm > 0 and 0 < layer.update_ratio < 1
    plain = compare()
    assert plain.results[0].history[-1].train_loss == result.history[-1].train_loss  # measuring changed nothing
    assert plain.results[0].history[-1].test_loss == result.history[-1].test_loss


def test_the_weights_feeding_a_site_are_its_linear_or_convolution_not_a_normalisation():
    from actlab.activation import activation
    from actlab.models.user_build import ActivationFactory
    from actlab.train.config import make_config
    from actlab.train.user_engine import SiteProbe

    act = ActivationFactory(activation("tanh"))
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), act(), nn.Flatten(), nn.Linear(64, 8), nn.LayerNorm(8), act()
    )
    probe = SiteProbe(model, torch.randn(40, 1, 6, 6), make_config(diagnostics=True, batch_size=10))
    assert probe.feeding == [model[0].weight, model[4].weight]


def test_an_activation_whose_slope_grows_without_bound_has_no_saturation_to_measure():
    import math

    from actlab.activation import activation
    from actlab.train.diagnostics_data import summary_line

    assert diagnostics.max_slope(activation("squared_relu")) == math.inf
    assert diagnostics.max_slope(activation("exponential")) == math.inf
    assert diagnostics.max_slope(activation("sigmoid")) == pytest.approx(0.25)
    assert diagnostics.max_slope(activation("softplus")) == pytest.approx(1.0)  # approached far out, but bounded
    z = torch.randn(2, 50, 8, 1)
    slope = 2 * z.clamp(min=0)
    sat = [row["saturated"] for row in diagnostics.layer_statistics(z, slope, [math.inf, 1.0], 0.05)]
    assert math.isnan(sat[0]) and 0.3 < sat[1] < 0.7  # the second model's bounded slope is measured
    layer = LayerDiagnostics(1, 0.0, 1.0, -2.0, 0.0, 2.0, math.nan, 0.0, 1.0, (0.0, 1.0), (5,))
    assert warnings_for([layer]) == [] and "— saturated (f′ unbounded)" in summary_line([layer])
    stored = json.loads(jsontext.dumps(layer.to_dict()))
    assert stored["saturated"] is None and math.isnan(LayerDiagnostics.from_dict(stored).saturated)


def test_a_rectifier_s_off_side_is_no_warning_until_nearly_every_unit_is_off():
    from actlab.activation import activation

    assert diagnostics.off_half_line(activation("relu"), 0.05) and diagnostics.off_half_line(
        activation("leaky_relu"), 0.05
    )
    assert not diagnostics.off_half_line(activation("sigmoid"), 0.05) and not diagnostics.off_half_line(
        activation("elu"), 0.05
    )
    half = LayerDiagnostics(1, 0.0, 1.0, -2.0, 0.0, 2.0, 0.55, 0.0, 0.5, (0.0, 1.0), (5,))
    nearly_all = LayerDiagnostics(2, -5.0, 1.0, -7.0, -5.0, -3.0, 0.95, 0.0, 0.05, (0.0, 1.0), (5,))
    assert len(warnings_for([half])) == 1  # a sigmoid half saturated: worth saying
    (warning,) = warnings_for([half, nearly_all], off_side=True)
    assert "layer 2 95 %" in warning and "layer 1" not in warning
