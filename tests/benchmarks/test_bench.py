"""The benchmarks run end to end on tiny inputs (their timings are not asserted: see docs/benchmarks.md)."""

import numpy as np
import pytest
import torch

from actlab import names
from actlab.data.prepared import PreparedData
from benchmarks import activation_kernels, bench, command_cost, scaling, train_throughput


def _tiny_mnist(n=300):
    rng = np.random.default_rng(0)
    x = rng.random((n, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return PreparedData(x, y, x[:100], y[:100], 10)


def test_interleaved_reports_the_median_of_rounds():
    values = iter([3.0, 10.0, 1.0, 20.0, 2.0, 30.0])
    rows = train_throughput.interleaved({"a": lambda: next(values), "b": lambda: next(values)}, rounds=3)
    assert rows == {"a": 2.0, "b": 20.0}


def test_targets_say_what_bounds_a_missed_one():
    ref, alone = "actlab", train_throughput.MATMULS_ALONE
    numpy_, loader, keras = train_throughput.TARGETS
    # 100 GFLOP at 100 GFLOP/s peak: the products alone take 1.5 s (67 % of peak), the epoch 2 s (50 %)
    rows = {ref: 2.0, alone: 1.5, numpy_: 6.0, loader: 8.0, keras: 30.0}
    found = {t.name: t for t in train_throughput.targets(rows, ref, peak=100.0, flops=100e9)}
    peak = found["matmul peak"]
    assert (peak.measured, peak.met, peak.bound) == (pytest.approx(0.5), False, "products")
    assert found[numpy_].met and found[numpy_].measured == pytest.approx(3.0)
    assert (found[loader].met, found[loader].bound, found[loader].needed) == (False, "products", pytest.approx(1.0))
    assert found[keras].met and found[keras].measured == pytest.approx(15.0)
    rows = {ref: 2.0, alone: 1.0, loader: 12.0}  # products alone at 100 % of peak; 1.50 s needed vs 8×
    found = {t.name: t for t in train_throughput.targets(rows, ref, peak=100.0, flops=100e9)}
    assert found["matmul peak"].bound == "rest" and found[loader].bound == "rest" and numpy_ not in found
    lines = train_throughput.target_lines(rows, ref, peak=100.0, flops=100e9)
    assert len(lines) == 2 and all("NOT met" in line for line in lines) and "1.50 s" in lines[1]


def test_mlp_and_cnn_sections_compare_every_approach(monkeypatch):
    monkeypatch.setattr(train_throughput, "MODELS", 2)
    mlp = train_throughput.mlp_section(_tiny_mnist(), rounds=1, keras=train_throughput.keras_backend_ok())
    assert (
        "(a) NumPy float64 loop, ten runs" in mlp.rows
        and "(b) PyTorch DataLoader + nn.Sequential, ten runs" in mlp.rows
    )
    assert all(v > 0 for v in mlp.rows.values())
    assert any("% of matmul peak" in line for line in mlp.lines)
    assert mlp.rows[train_throughput.MATMULS_ALONE] > 0 and any("bare loop" in line for line in mlp.lines)
    cnn = train_throughput.cnn_section(200, rounds=1)
    assert len(cnn.rows) == 4 and all(v > 0 for v in cnn.rows.values())


def _separable(n=3000):
    """Ten classes, each lighting its own block of 78 pixels over faint noise."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, n)
    x = 0.1 * rng.random((n, 784))
    for c in range(10):
        x[y == c, 78 * c : 78 * (c + 1)] += 1.0
    return x, y


def test_numpy_loop_learns():
    """The NumPy baseline is a real training loop: after one epoch it separates separable data."""
    x, y = _separable()
    weights, biases = train_throughput.numpy_loop_epoch(x, y, 0)
    h = x
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        h = np.maximum(h @ w + b, 0)
    accuracy = ((h @ weights[-1] + biases[-1]).argmax(1) == y).mean()
    assert accuracy > 0.8


def test_dataloader_idiom_learns():
    x, y = _separable()
    model, optimizer = train_throughput.torch_mlp(0)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    train_throughput.dataloader_epoch(model, optimizer, xt, yt)
    assert (model(xt).argmax(1) == yt).float().mean() > 0.8


def test_kernels_cover_the_catalog_and_count_saved_tensors():
    results = activation_kernels.run(4096, torch.device("cpu"), repeats=1, fuse=False)
    by_name = {r.name: r for r in results}
    assert len(results) == len(names()) and all(r.fused_seconds is None for r in results)
    assert by_name["tanhexp"].path == "spec" and by_name["tanhexp"].saved == 1 and by_name["tanhexp"].saved_composed > 1
    assert by_name["relu"].path == "native"
    text = "\n".join(activation_kernels.markdown(results, "cpu"))
    assert "| tanhexp | spec |" in text and "of copy bandwidth" in text and "{" not in text


def test_kernels_time_the_fused_layer_where_it_runs_the_spec():
    results = activation_kernels.run(4096, torch.device("cpu"), only=["tanhexp", "relu", "softsign"], repeats=1)
    tanhexp, relu, softsign = results
    assert tanhexp.fused_gbs > 0 and relu.fused_gbs is None
    assert softsign.path == "native" and softsign.fused_gbs > 0  # its native kernel yields to the fused spec
    assert tanhexp.best_fraction_of_copy >= tanhexp.fraction_of_copy
    text = "\n".join(activation_kernels.markdown(results, "cpu"))
    assert "fusion: 2 activations compiled" in text


def test_exp_cost_explains_what_misses_the_target():
    cost = activation_kernels.exp_cost(1 << 16, torch.device("cpu"), rounds=1)
    assert 0 < cost < 100
    slow = activation_kernels.KernelResult("tanhexp", "spec", 1.0, None, 1000, 1, 4, 10.0)
    text = "\n".join(activation_kernels.markdown([slow], "cpu", exp_copies=0.5))
    assert "one exp per element costs 0.50 of a copy's time" in text and "about 10 exp-class evaluations" in text
    assert "Why:" not in "\n".join(activation_kernels.markdown([slow], "cpu"))


def test_draw_cost_explains_a_slow_stochastic_activation():
    cost = activation_kernels.draw_cost(1 << 16, torch.device("cpu"), rounds=1)
    assert 0 < cost < 1000
    rrelu = activation_kernels.KernelResult("rrelu", "native", 1.0, None, 1000, 2, 1, 10.0)
    tanhexp = activation_kernels.KernelResult("tanhexp", "spec", 1.0, None, 1000, 1, 4, 10.0)
    text = "\n".join(activation_kernels.markdown([rrelu, tanhexp], "cpu", exp_copies=0.5, draw_copies=10.0))
    assert "rrelu draws a uniform random number per element" in text and "costs 10.0 copies' time" in text
    assert "draws a uniform" not in "\n".join(
        activation_kernels.markdown([tanhexp], "cpu", exp_copies=0.5, draw_copies=10.0)
    )


def test_scaling_measures_and_plots(tmp_path, monkeypatch):
    monkeypatch.setattr(scaling, "MODEL_COUNTS", (1, 3))
    monkeypatch.setattr(scaling, "SIZE_MODELS", 2)
    by_models, by_size = scaling.measure(_tiny_mnist(), rounds=1)
    assert set(by_models) == {1, 3} and len(by_size) == len(scaling.FRACTIONS)
    image = scaling.plot(by_models, by_size, tmp_path / "s.png")
    assert image.read_bytes()[:4] == b"\x89PNG"
    assert "| 3 |" in "\n".join(scaling.markdown(by_models, by_size, 300, 1, "s.png"))


def test_bench_writes_the_document(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "prepare", lambda *a, **k: _tiny_mnist())
    monkeypatch.setattr(scaling, "MODEL_COUNTS", (1, 2))
    out = tmp_path / "docs" / "benchmarks.md"
    bench.main(["--quick", "--sections", "scaling", "-o", str(out)])
    text = out.read_text()
    assert text.startswith("# Benchmarks") and "## Scaling" in text and "## GPU" in text
    assert (tmp_path / "docs" / "benchmarks-scaling.png").exists()


def test_the_user_s_command_is_timed_as_the_user_runs_it(monkeypatch):
    """`actlab compare`/`train` in fresh processes with 1 and 3 epochs, against the rows measured in-process through
    the function the command calls (here on digits, to be quick)."""
    monkeypatch.setattr(command_cost, "options", lambda *a: ["--train-subset", "200", "--test-subset", "100"])
    monkeypatch.setattr(train_throughput, "MODELS", 2)
    lines = bench.command_section(_tiny_mnist(), 1, None, None, None)
    text = "\n".join(lines)
    assert "## The user's command" in text
    assert "| `actlab compare --activations relu --seeds 2 --train-subset 200 --test-subset 100` |" in text
    assert "`compare` fixed cost < 3 s" in text and "`train` epoch within 15 % of its row" in text
    assert "`actlab --help` < 1 s" in text


def test_command_cost_targets():
    fast = command_cost.CommandCost("actlab compare x", one_epoch=3.0, three_epochs=5.0)  # 1 s/epoch, 2 s fixed
    slow = command_cost.CommandCost("actlab train x", one_epoch=6.0, three_epochs=8.0)  # 1 s/epoch, 5 s fixed
    assert (fast.per_epoch, fast.fixed) == (1.0, 2.0)
    text = "\n".join(command_cost.markdown(fast, slow, ("row a", 1.1), ("row b", 0.5), rounds=1))
    assert (
        "`compare` fixed cost < 3 s: 2.00 s — met" in text
        and "`compare` epoch within 15 % of its row: 0.91× — met" in text
    )
    assert (
        "`train` fixed cost < 3 s: 5.00 s — NOT met" in text
        and "`train` epoch within 15 % of its row: 2.00× — NOT met" in text
    )


def test_diagnostics_cost_times_the_probe_and_restores_the_trainer(monkeypatch):
    from actlab.train import stacked
    from benchmarks import diagnostics_cost

    monkeypatch.setattr(diagnostics_cost, "MODELS", 2)
    original = stacked.Probe.measure
    result = diagnostics_cost.measure(_tiny_mnist(), rounds=1)
    assert stacked.Probe.measure is original
    assert result["probe"] > 0 and result["plain"] > 0 and result["epoch"] > 0
    text = "\n".join(diagnostics_cost.markdown(result, 300))
    assert "## Diagnostics cost" in text and "% of an epoch (target under 10 %" in text


def test_the_users_models_row_times_the_plain_loop_one_at_a_time_and_stacked(monkeypatch):
    from benchmarks import user_models

    monkeypatch.setattr(user_models, "MODELS", {"MLP": user_models.mlp})
    (row,) = user_models.measure(rounds=1, epochs=1, seeds=2)
    assert row["path"] == "stacked with torch.func (2 runs)" and 0 < row["accuracy"] <= 1
    assert all(row[key] > 0 for key in ("plain", "alone", "stacked"))
    text = "\n".join(user_models.markdown([row], rounds=1, epochs=1, seeds=2))
    assert "## Users' models: 2 seeds at once" in text and "| MLP |" in text and "stacked with torch.func" in text


def test_the_threads_row_measures_each_count_idle_and_busy(monkeypatch):
    from actlab.data.prepared import prepare
    from actlab.train.config import RunConfig
    from benchmarks import threads as bench_threads

    config = RunConfig(model="mlp:16", epochs=1, seed=0, train_subset=200, test_subset=50)
    tiny = bench_threads.Setup("tiny", [config], prepare("digits", "standardize", 200, 50, None))
    monkeypatch.setattr(bench_threads, "setups", lambda data_dir, quick: [tiny])
    rows = [line for line in bench_threads.markdown(None, 1, quick=True) if line.startswith("| tiny")]
    assert [row.split(" | ")[1] for row in rows] == ["idle", "busy"]
    assert all(row.endswith("(1) |") for row in rows)  # a dispatch-bound step: one thread chosen, idle or busy
