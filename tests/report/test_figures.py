"""Figures as a reader sees them, checked on the matplotlib objects (never pixels): the summary dot plot (sorted,
95 % CI bars, the baseline and significant differences marked), subtitles that say the setup and what marks mean,
small multiples beyond eight configurations, and the summary first in what `compare --out` and reports write."""

import json

import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex
from typer.testing import CliRunner

from actlab.cli import app
from actlab.report import plots
from actlab.report.experiment_report import write_report
from actlab.report.stats import Estimate
from actlab.report.tables import Row, build_rows
from actlab.train.config import RunConfig
from actlab.train.metrics import EpochMetrics, RunResult, summarize

EPOCHS = 5


def fake_run(activation: str, seed: int, final: float, **setup) -> RunResult:
    """A run whose test accuracy climbs to ``final`` (and whose losses fall), without training anything."""
    config = RunConfig(activation=activation, seed=seed, epochs=EPOCHS, **setup)
    history = [
        EpochMetrics(e, 1.0 / e, final - 0.02 * (EPOCHS - e), 1.2 / e, final - 0.03 * (EPOCHS - e), 0.01 * (1 + seed))
        for e in range(1, EPOCHS + 1)
    ]
    return RunResult(config, history, summarize(history, config.thresholds, None))


def fake_comparison(finals: dict[str, list[float]], **setup) -> list[RunResult]:
    return [fake_run(act, seed, final, **setup) for act, values in finals.items() for seed, final in enumerate(values)]


# relu is the baseline; sigmoid is far (and significantly) worse, gelu about the same, mish a little better.
FINALS = {
    "relu": [0.950, 0.954, 0.952],
    "gelu": [0.951, 0.949, 0.955],
    "mish": [0.960, 0.962, 0.961],
    "sigmoid": [0.700, 0.705, 0.698],
}


def texts(fig) -> list[str]:
    """Every text on the figure: titles, labels, annotations, legends."""
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def error_bars(ax) -> list[tuple[float, float, float]]:
    """(y, low, high) of each horizontal error bar on ``ax``."""
    bars = []
    for container in ax.containers:
        _, _, (lines,) = container.lines
        assert isinstance(lines, LineCollection)
        for (x0, y0), (x1, _) in lines.get_segments():
            bars.append((y0, min(x0, x1), max(x0, x1)))
    return sorted(bars)


def dot_colours(ax) -> dict[float, str]:
    """The colour of each error bar's dot, by its y."""
    return {float(c.lines[0].get_ydata()[0]): to_hex(c.lines[0].get_color()) for c in ax.containers}


def test_summary_sorted_best_first_with_ci_bars_and_the_baseline_marked():
    results = fake_comparison({k: v for k, v in FINALS.items() if k != "sigmoid"})
    rows = build_rows(results, baseline="relu")
    fig = plots.summary_figure(rows, results, baseline="relu")
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == ["mish", "relu", "gelu"]  # by mean final test accuracy, best at the top
    low, high = ax.get_ylim()
    assert low > high  # y grows downwards: the first name is at the top
    by_name = {r.configuration: r.final_test_accuracy for r in rows}
    for (y, lo, hi), name in zip(error_bars(ax), names, strict=True):  # each bar is the 95 % CI, in percent
        assert y == names.index(name) and lo == pytest.approx(100 * by_name[name].ci_low)
        assert hi == pytest.approx(100 * by_name[name].ci_high)
    assert next(t for t in ax.get_yticklabels() if t.get_text() == "relu").get_fontweight() == "bold"
    assert [c.lines[0].get_marker() for c in ax.containers] == ["o", "D", "o"]
    assert [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"] == [
        pytest.approx(100 * by_name["relu"].mean)
    ]
    caption = plots.subtitle(fig)
    assert "95 % confidence interval of the mean" in caption and "Welch's t-test against relu" in caption
    assert "digits · mlp:100,50 · sgd · lr 0.1 · batch 32 · 5 epochs · 3 seeds" in caption
    assert fig.get_suptitle() == "Final test accuracy per activation"


def test_summary_highlights_only_significant_differences():
    results = fake_comparison(FINALS)
    rows = build_rows(results, baseline="relu")
    p = {r.configuration: r.versus_baseline.p_holm for r in rows if r.versus_baseline}
    assert p["sigmoid"] < 0.05 and p["gelu"] > 0.05  # what the data say
    assert p["mish"] < 0.05
    assert {r.configuration: plots.verdict(r, "relu") for r in rows} == {
        "relu": "baseline",
        "gelu": "same",
        "mish": "better",
        "sigmoid": "worse",
    }
    fig = plots.summary_figure(rows, results, baseline="relu")
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    colours = dot_colours(ax)
    assert colours[names.index("gelu")] == to_hex(plots.VERDICTS["same"]["color"])
    assert colours[names.index("mish")] == to_hex(plots.VERDICTS["better"]["color"])
    assert colours[names.index("relu")] == to_hex(plots.VERDICTS["baseline"]["color"])
    legend = [t.get_text() for t in fig.subfigs[0].legends[0].get_texts()]
    assert legend == ["baseline", "better (Holm p < 0.05)", "worse (Holm p < 0.05)", "no significant difference"]
    assert "p (Holm)" in texts(fig)


def test_a_configuration_far_below_the_rest_is_written_at_the_edge():
    results = fake_comparison(FINALS)
    rows = build_rows(results, baseline="relu")
    ax = plots.summary_figure(rows, results, baseline="relu").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "sigmoid"
    assert ax.get_xlim()[0] > 90  # the axis spans the others, not 70 … 96
    assert len(error_bars(ax)) == 3
    sigmoid = next(r for r in rows if r.configuration == "sigmoid").final_test_accuracy
    assert any(t.startswith(f"{100 * sigmoid.mean:.4g} %") and "off the scale" in t for t in texts(ax.figure))
    assert plots.off_scale([(95, 96), (94.5, 96), (94, 95.5), (60, 75)]) == 1
    assert plots.off_scale([(95, 96), (94.5, 96), (94, 95.5), (80, 85), (79, 84)]) == 2
    assert plots.off_scale([(95, 96), (93, 95), (90, 93), (88, 91)]) == 0
    assert plots.off_scale([(95, 96), (94, 95), (60, 70)]) == 0  # at least three are kept


def test_summary_without_a_baseline_tests_nothing_and_says_so():
    results = fake_comparison(FINALS)
    fig = plots.summary_figure(build_rows(results), results)
    ax = fig.axes[0]
    assert set(dot_colours(ax).values()) == {to_hex(plots.VERDICTS["untested"]["color"])}
    assert "no baseline given: nothing is tested for significance" in plots.subtitle(fig)
    assert "p (Holm)" not in texts(fig) and not fig.subfigs[0].legends


def loss_row(name: str, rank: int, mean: float, p: float | None = None, statistic: float = 0.0) -> Row:
    from actlab.report.stats import Test

    loss = Estimate(3, mean, 0.01, mean - 0.02, mean + 0.02)
    empty = Estimate(0, None, None, None, None)
    test = None if p is None else Test(statistic, p, p)
    return Row(name, 3, 0, empty, empty, empty, {}, Estimate(3, 0.1, 0.0, 0.1, 0.1), test, rank, "loss", loss)


def test_regression_summary_shows_the_final_test_loss_lower_first():
    rows = [
        loss_row("relu", 2, 0.30),
        loss_row("gelu", 1, 0.20, p=0.01, statistic=-5.0),
        loss_row("tanh", 3, 0.31, 0.5),
    ]
    fig = plots.summary_figure(rows, [], baseline="relu")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["gelu", "relu", "tanh"]
    assert ax.get_xlabel() == "final test loss" and "lower is better" in fig.get_suptitle()
    assert error_bars(ax)[0][1:] == (pytest.approx(0.18), pytest.approx(0.22))  # losses unscaled
    assert plots.verdict(rows[1], "relu") == "better"  # a lower loss


def test_subtitles_say_the_setup_and_what_marks_mean():
    results = fake_comparison(FINALS, optimizer="momentum", momentum=0.8, schedule="cosine")
    rows = build_rows(results)
    expected = "digits · mlp:100,50 · momentum · μ 0.8 · lr 0.1 · cosine schedule · batch 32 · 5 epochs · 3 seeds"
    assert plots.setup_text(results) == expected
    figures = {
        "accuracy": plots.accuracy_figure(results),
        "loss": plots.loss_figure(results),
        "cost": plots.accuracy_vs_time_figure(rows, results),
        "summary": plots.summary_figure(rows, results),
    }
    for name, fig in figures.items():
        assert expected in plots.subtitle(fig), name
    assert "band: lowest to highest seed" in figures["accuracy"].axes[0].get_title()
    assert "dotted: train loss" in figures["loss"].axes[0].get_title()
    assert "± one standard deviation" in figures["cost"].axes[0].get_title()


def test_settings_away_from_their_defaults_are_in_the_subtitle():
    raw = fake_comparison(FINALS, preprocessing="none", dtype="float64", train_subset=2000)
    text = plots.setup_text(raw)
    assert "preprocessing none" in text and "float64" in text and "2,000 train examples" in text
    assert "preprocessing" not in plots.setup_text(fake_comparison(FINALS))  # minmax, the default, goes unsaid


def test_a_setting_that_varies_is_named_as_swept():
    results = [fake_run("relu", s, 0.95, lr=lr, init=init) for lr in (0.05, 0.2) for s in (0, 1) for init in ("auto",)]
    results += [fake_run("relu", 0, 0.95, lr=0.05, init="he_normal")]
    text = plots.setup_text(results)
    assert "lr swept (0.05, 0.2)" in text and "init swept (auto, he_normal)" in text and "2 seeds" in text
    fig = plots.parameter_figure(results, "lr")
    assert "lr swept (0.05, 0.2)" in plots.subtitle(fig)


def twelve() -> list[RunResult]:
    names = ["relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "tanhexp", "hard_swish", "softplus"]
    names += ["tanh", "sigmoid"]
    return fake_comparison({name: [0.9 + 0.005 * i, 0.9 + 0.005 * i] for i, name in enumerate(names)})


@pytest.mark.parametrize("build", [plots.accuracy_figure, plots.loss_figure])
def test_beyond_eight_configurations_curves_are_small_multiples(build):
    results = twelve()
    fig = build(results, baseline="gelu")
    panels = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 12 and panels[0] == "sigmoid" and panels[-1] == "relu"  # best first
    grey = to_hex(plots.CONTEXT["color"])
    for ax in fig.axes:  # the baseline in grey behind every other panel
        colours = [to_hex(line.get_color()) for line in ax.get_lines()]
        assert colours.count(grey) == (0 if ax.get_title() == "gelu" else 1), ax.get_title()
    assert "grey in every panel: gelu (the baseline)" in plots.subtitle(fig)
    assert "grey in every panel: sigmoid (the best)" in plots.subtitle(build(results))


def test_up_to_eight_configurations_share_one_axes_in_distinct_styles():
    results = [r for r in twelve() if r.config.activation_label() not in ("relu", "elu", "gelu", "mish")]
    fig = plots.accuracy_figure(results)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "sigmoid" and len(labels) == 8  # best first
    styles = {(to_hex(line.get_color()), line.get_linestyle()) for line in ax.get_lines()}
    assert len(styles) == 8


def test_parameter_curves_beyond_eight_lines_are_small_multiples():
    results = [
        fake_run(act, s, 0.9 + 0.001 * i + 0.01 * lr, lr=lr)
        for i, act in enumerate(["relu", "elu", "selu", "gelu", "silu", "mish", "tanh", "sigmoid", "softplus"])
        for lr in (0.05, 0.2)
        for s in (0, 1)
    ]
    fig = plots.parameter_figure(results, "lr")
    assert len(fig.axes) == 9 and fig.axes[0].get_title() == "softplus"


def test_the_summary_comes_first_in_reports_and_comparisons(tmp_path):
    results = fake_comparison(FINALS)
    written = write_report(results, "compare", tmp_path / "cmp", "relu", activations=True)["files"]
    figures = [name for name in written if name.endswith(".png")]
    assert figures[0] == "summary.png" and "p vs relu (Welch, Holm)" in (tmp_path / "cmp" / "report.md").read_text()
    assert "activations.png" in figures
    report = write_report(results, "four", tmp_path / "report", baseline="relu")
    assert next(iter(name for name in report["files"] if name.endswith(".png"))) == "summary.png"
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.index('alt="summary.png"') < page.index('<table id="results"') < page.index('alt="test_accuracy.png"')


def test_compare_baseline_is_checked_before_training_and_normalised(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["compare", "--activations", "relu,gelu", "--baseline", "mish", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "--baseline 'mish' is not one of the activations compared: relu, gelu" in bad.output
    assert not any(tmp_path.iterdir())
    quick = ["--epochs", "2", "--train-subset", "300", "--test-subset", "150", "--seeds", "2"]
    args = ["compare", "--activations", "leaky_relu,gelu", "--baseline", "LeakyReLU", *quick, "--json"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["baseline"] == "leaky_relu" and payload["written"][3].endswith("summary.png")
    gelu = next(row for row in payload["comparison"] if row["configuration"] == "gelu")
    assert gelu["versus_baseline"] is not None


def test_the_demo_batch_leaves_no_tiny_last_batch():
    """A last batch of a few images takes as large a step as a full one from far less data: with digits' 1,347
    training images, RunConfig's batch of 32 leaves 3 at every epoch's end, and that step knocked every network off
    course at once (accuracy dips at the same epochs for every activation). compare's default batch leaves at least
    half a batch; compare tests nothing unless given a baseline."""
    import inspect

    from actlab.cli import compare
    from actlab.data.datasets import load_digits

    defaults = {k: v.default for k, v in inspect.signature(compare).parameters.items()}
    train = len(load_digits().y_train)
    assert train % defaults["batch_size"] >= defaults["batch_size"] // 2
    assert defaults["baseline"] is None
