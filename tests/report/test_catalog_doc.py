"""The committed documentation is what the specs generate."""

from pathlib import Path

import actlab
from actlab.report.catalog_doc import builtin_names, catalog_markdown, readme_table, with_readme_table
from actlab.report.results_doc import with_results_tables

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_is_up_to_date():
    readme = (ROOT / "README.md").read_text()
    assert with_readme_table(readme) == readme, "run `actlab docs`"
    assert with_results_tables(readme, ROOT / "docs" / "results") == readme, "run `actlab docs`"
    assert (
        readme.startswith("# actlab")
        and "make demo" in readme.split("\n## ")[0]
        and "make test" in readme.split("\n## ")[0]
    )


def test_catalog_doc_is_up_to_date():
    assert (ROOT / "docs" / "catalog.md").read_text() == catalog_markdown(), "run `actlab docs`"


def test_the_docs_describe_the_built_in_catalog_whatever_plugins_are_loaded():
    from actlab.catalog import REGISTRY

    state = REGISTRY.snapshot()
    try:
        actlab.define("docs_plugin_probe", "x * tanh(x)")
        assert "docs_plugin_probe" in actlab.names()
        assert "docs_plugin_probe" not in readme_table() + catalog_markdown()
    finally:
        REGISTRY.restore(state)


def test_tables_cover_every_activation_and_escape_pipes():
    table = readme_table()
    for name in builtin_names():
        assert f"| `{name}` |" in table
    for row in table.splitlines()[2:]:
        assert row.count(" | ") == 3, row  # a '|' inside a formula would add a column


def test_the_survey_entries_left_out_are_listed_with_their_reason(tmp_path, monkeypatch):
    from actlab.catalog import entries

    (tmp_path / "excluded-t1.md").write_text(
        "| survey name | survey § | reason | formula if any |\n|---|---|---|---|\n"
        "| Maxout | §3.9 | vector-valued: the maximum over several inputs | max_i(w_i·x + b_i) |\n"
    )
    monkeypatch.setattr(entries, "DATA", tmp_path)
    text = catalog_markdown()
    assert "## Left out of the catalog" in text
    assert "| Maxout | §3.9 | vector-valued: the maximum over several inputs | max_i(w_i·x + b_i) |" in text
    assert text.count("| survey name") == 1
