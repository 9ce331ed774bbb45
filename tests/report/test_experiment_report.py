"""Experiment reports: statistics, files, escaping, and the HTML page rendered by headless Chromium."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from actlab.experiments.config import parse_experiment
from actlab.report.experiment_report import write_report
from actlab.report.html import render
from actlab.report.tables import BaselineError, build_rows, configuration_label, swept_settings
from actlab.train.trainer import train_runs
from tests.report.browser import CHROMIUM_FLAGS, chromium, dump_dom


@pytest.fixture(scope="module")
def sweep_results():
    experiment = parse_experiment(
        {
            "name": "tiny",
            "base": {"dataset": "digits", "epochs": 3, "batch_size": 64, "train_subset": 400, "test_subset": 150},
            "grid": {"seed": [0, 1, 2], "lr": [0.05, 0.2]},
            "activations": [{"name": "relu"}, {"name": "hard_swish", "n": [3, 6]}],
        }
    )
    return train_runs(experiment.runs)


def test_rows_statistics_and_ranking(sweep_results):
    label = configuration_label(swept_settings(sweep_results))
    rows = build_rows(sweep_results, label, baseline="relu, lr=0.05")
    assert len(rows) == 6 and sorted(r.rank for r in rows) == list(range(1, 7))
    best = min(rows, key=lambda r: r.rank)
    assert best.final_test_accuracy.mean == max(r.final_test_accuracy.mean for r in rows)
    baseline = next(r for r in rows if r.configuration == "relu, lr=0.05")
    assert baseline.versus_baseline is None and all(r.versus_baseline is not None for r in rows if r is not baseline)
    with pytest.raises(BaselineError, match="^baseline 'gelu' is not a configuration"):
        build_rows(sweep_results, label, baseline="gelu")


def test_bad_baseline_writes_nothing(sweep_results, tmp_path):
    with pytest.raises(BaselineError):
        write_report(sweep_results, "tiny", tmp_path / "out", baseline="gelu")
    assert not (tmp_path / "out").exists()


def test_report_files(sweep_results, tmp_path):
    written = write_report(sweep_results, "tiny", tmp_path, baseline="relu, lr=0.05")
    names = set(written["files"])
    assert {
        "report.md",
        "report.csv",
        "report.json",
        "report.html",
        "test_accuracy.png",
        "loss.png",
        "accuracy_vs_time.png",
        "curve_lr.png",
        "curve_hard_swish.n.png",
    } <= names
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["baseline"] == "relu, lr=0.05" and len(data["comparison"]) == 6 and len(data["runs"]) == 18
    assert "p vs relu, lr=0.05 (Welch, Holm)" in (tmp_path / "report.md").read_text()


def test_user_strings_are_escaped(tmp_path):
    image = tmp_path / "x.png"
    image.write_bytes(b"PNG")
    page = render(
        "<script>alert(1)</script>", ["<b>head</b>"], [["<img src=x onerror=alert(2)>"]], {'a"b.png': image}, "<i>"
    )
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and "&lt;b&gt;head" in page and "&lt;i&gt;" in page and 'alt="a&quot;b.png"' in page


def test_html_report_renders_in_headless_chromium(sweep_results, tmp_path):
    browser = chromium()
    write_report(sweep_results, "tiny", tmp_path, baseline="relu, lr=0.05")
    page = (tmp_path / "report.html").read_text()
    probe = (
        "<script>window.addEventListener('load', () => {"
        "const images = [...document.images];"
        "document.body.dataset.images = images.length;"
        "document.body.dataset.decoded = images.filter(i => i.complete && i.naturalWidth > 0).length;"
        "document.body.dataset.rows = document.querySelectorAll('#results tbody tr').length;});</script>"
    )
    (tmp_path / "probe.html").write_text(page.replace("</body>", probe + "</body>"))
    dom = dump_dom(tmp_path / "probe.html")
    assert 'data-rows="6"' in dom, dom[:500]
    images = int(dom.split('data-images="')[1].split('"')[0])
    assert images >= 5 and f'data-decoded="{images}"' in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--screenshot={shot}",
            "--window-size=1400,2000",
            (tmp_path / "report.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    pixels = imread(shot)
    assert pixels.shape[0] >= 1000 and np.std(pixels[..., :3]) > 0.05  # a page with content, not a blank canvas


def test_an_unused_momentum_is_left_out_of_labels_and_curves():
    from actlab.report.plots import _value
    from actlab.train.config import RunConfig

    sgd, momentum = RunConfig(optimizer="sgd"), RunConfig(optimizer="momentum", momentum=0.7)
    label = configuration_label(["optimizer", "momentum"])
    assert label(sgd) == "optimizer=sgd" and label(momentum) == "optimizer=momentum, momentum=0.7"
    assert _value(sgd, "momentum") is None and _value(momentum, "momentum") == 0.7


def test_swept_parameter_curves_never_pool_over_the_other_settings(sweep_results, tmp_path, monkeypatch):
    """Swept: activation × lr × h-swish n. The curve against n has one line per learning rate, the curve against
    lr one per activation (and n); integer parameters get integer ticks."""
    from actlab.report import plots

    figures = {}

    def keep(fig, path):
        figures[Path(path).name] = fig
        return Path(path)

    monkeypatch.setattr(plots, "save_figure", keep)
    plots.plot_parameter_curves(sweep_results, tmp_path, configuration_label(swept_settings(sweep_results)))
    legends = {
        name: sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts()) for name, fig in figures.items()
    }
    assert legends["curve_hard_swish.n.png"] == ["hard_swish, lr=0.05", "hard_swish, lr=0.2"]
    assert legends["curve_lr.png"] == ["hard_swish", "hard_swish(n=3)", "relu"]  # n = 6 is h-swish's default
    ticks = figures["curve_hard_swish.n.png"].axes[0].xaxis.get_major_locator().tick_values(3, 6)
    assert all(float(t).is_integer() for t in ticks)
    assert "± std over seeds" in figures["curve_lr.png"].axes[0].get_title()


def test_one_run_shows_no_spread():
    from actlab.report.stats import Estimate
    from actlab.report.tables import loss_text, percent

    assert percent(Estimate.of([0.9])) == "90.00 ± —" and loss_text(Estimate.of([0.25])) == "0.25 ± —"
    assert percent(Estimate.of([0.9, 0.92])) == "91.00 ± 1.41"
