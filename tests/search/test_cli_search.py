"""actlab search space: counts, reasons, the best candidates, --json, and bad input as one clear line."""

import json
import re

from typer.testing import CliRunner

from actlab.cli import app

from .conftest import TINY_TOML

runner = CliRunner()


def test_space_preview_json(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    result = runner.invoke(app, ["search", "space", "--space", str(path), "--json", "--top", "3"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["candidates"] == 21 and record["examined"] == 21 and not record["sampled"]
    assert record["filtered"]["linear"] == 2  # x, and x + x (2·x: not a duplicate of x, but linear too)
    assert record["duplicates"]["symbolic"] >= 1  # x * tanh(x) and tanh(x) * x
    assert len(record["top"]) == 3 and record["top"][0]["rank"] == 1
    counted = sum(record["refused"].values()) + sum(record["duplicates"].values()) + sum(record["filtered"].values())
    assert counted + record["survivors"] == record["examined"]


def test_space_preview_text_sample(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    result = runner.invoke(app, ["search", "space", "--space", str(path), "--sample", "8", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "space tiny: 21 candidates" in result.output
    assert "screened 8 (a sample drawn with seed 2)" in result.output
    assert "best by proxy" in result.output


def _one_error(*args) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert text.startswith("error: ") and len(text.splitlines()) == 1 and "Traceback" not in text, text
    assert not re.search(r"\bactlab(\.\w+)+\.\w+Error", text)
    return text


def test_bad_input_is_one_line(tmp_path):
    assert "cannot read the search space" in _one_error("search", "space", "--space", str(tmp_path / "none.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text('[space]\nschemas = ["unary(x)"]\n[unary]\nodd = "frobnicate(u)"\n')
    assert "unknown function 'frobnicate'" in _one_error("search", "space", "--space", str(bad))
    assert "a sample is a positive number" in _one_error("search", "space", "--sample", "0")
    assert "seed is a non-negative integer" in _one_error("search", "space", "--sample", "3", "--seed", "-1")
    assert "--top must be a positive number" in _one_error("search", "space", "--top", "0")
