"""Catalog entries as data: the TOML files in actlab/catalog/data, loaded lazily as built-ins through the formula
machinery, with class, family, aliases and a structured reference; their derivations cached by definition."""

import json
import subprocess
import sys

import numpy as np
import pytest

import actlab
from actlab.catalog import derived, entries
from actlab.catalog.definition import parse_definition
from actlab.catalog.entries import CatalogDataError, family_slug, parse_entry, register_all
from actlab.catalog.expressions import FormulaError, from_srepr
from actlab.catalog.spec import CATEGORIES, Registry
from actlab.catalog.xp import NUMPY
from tests.catalog.helpers import ALL

ENTRY = {
    "name": "golu_test",
    "aliases": ["GoLUTest"],
    "family": "sigmoid_weighted",
    "class": "fixed",
    "formula": "x*exp(-exp(-x))",
    "reference": {"authors": "A, B", "year": 2025, "title": "T", "id": "arXiv:2502.03654", "where": "eq. 1"},
    "survey": "§3.1",
    "note": "a note",
}


def test_data_entries_are_builtins_with_class_family_aliases_and_reference():
    spec = actlab.spec("GoLU")
    assert spec.name == "golu" and not spec.user_defined and actlab.spec("golu") is spec
    assert (spec.family, spec.category) == ("sigmoid_weighted", "fixed")
    assert spec.reference.arxiv == "2502.03654" and spec.reference.where == "eq. 1"
    assert spec.reference.link() == "https://arxiv.org/abs/2502.03654"
    assert actlab.spec("sqnl").reference.link() == "https://doi.org/10.1109/IJCNN.2018.8489043"
    assert "GompertzLinearUnit" in spec.all_aliases()


def test_an_alias_table_names_an_existing_builtin_instead_of_a_second_entry():
    assert actlab.spec("TeLU").name == "tanhexp"
    assert "TeLU" in actlab.spec("tanhexp").all_aliases() and "arXiv:2412.20269" in actlab.spec("tanhexp").notes
    assert "telu" not in actlab.names()


def test_data_entry_values_and_derivative():
    golu = actlab.activation("golu")
    x = np.array([-100.0, -1.0, 0.0, 2.0])
    np.testing.assert_allclose(golu(x), x * np.exp(-np.exp(-x)), rtol=1e-14, atol=1e-300)
    slope = np.exp(-np.exp(-x)) * (1 + x * np.exp(-x))
    np.testing.assert_allclose(golu.derivative(x), slope, rtol=1e-13, atol=1e-300)
    import torch

    assert torch.isfinite(golu.derivative(torch.tensor([-100.0], dtype=torch.float32))).all()


def test_every_builtin_has_a_class_and_adaptive_means_a_learnable_parameter():
    for name in ALL:
        spec = actlab.spec(name)
        assert spec.category in CATEGORIES, name
        assert (spec.category == "adaptive") == any(p.learnable for p in spec.params), name
    assert actlab.spec("prelu").category == "adaptive" and actlab.spec("relu").category == "fixed"


def test_every_family_maps_to_a_survey_slug():
    for name in ALL:
        assert family_slug(actlab.spec(name).family) in entries.FAMILIES, name


@pytest.mark.parametrize(
    "change, message",
    [
        ({"family": "nope"}, "family"),
        ({"class": "learned"}, "class"),
        ({"colour": "red"}, "unknown keys colour"),
        ({"reference": {"authors": "A", "year": 2025, "title": "T", "id": "1234"}}, "id"),
        ({"reference": {"authors": "A", "title": "T"}}, "needs year"),
        ({"aliases": "GoLU"}, "aliases"),
    ],
)
def test_a_malformed_entry_is_one_clear_error(change, message):
    with pytest.raises(CatalogDataError, match=message):
        parse_entry({**ENTRY, **change}, "f.toml: activation[0]")


def test_register_all_is_lazy_and_adds_alias_tables(tmp_path):
    (tmp_path / "one.toml").write_text(
        '[[activation]]\nname = "lazy_one"\nfamily = "other"\nclass = "fixed"\nformula = "x*tanh(x) + x"\n'
        'aliases = ["LazyOne"]\nreference = { authors = "A", year = 2020, title = "T" }\n'
        '[[alias]]\nbuiltin = "lazy_one"\nadd = ["LO"]\nnote = "also LO"\n'
    )
    registry = Registry()
    assert register_all(tmp_path, registry) == ["lazy_one"]
    assert registry.is_pending("lazy_one") and registry.names() == ["lazy_one"]
    spec = registry.get("LO")
    assert not registry.is_pending("lazy_one") and spec.name == "lazy_one" and "also LO" in spec.notes
    assert spec.all_aliases() == ["LazyOne", "LO"]


def test_an_alias_of_an_unknown_entry_is_an_error(tmp_path):
    (tmp_path / "a.toml").write_text('[[alias]]\nbuiltin = "no_such"\nadd = ["X"]\n')
    with pytest.raises(CatalogDataError, match="no_such"):
        register_all(tmp_path, Registry())


def test_a_name_taken_twice_is_an_error(tmp_path):
    table = '[[activation]]\nname = "relu"\nfamily = "other"\nclass = "fixed"\nformula = "x"\n'
    (tmp_path / "a.toml").write_text(table + 'reference = { authors = "A", year = 2020, title = "T" }\n')
    registry = Registry()
    registry.register_lazy("relu", [], lambda: None)
    with pytest.raises(actlab.ActivationError, match="taken"):
        register_all(tmp_path, registry)


def test_import_actlab_reads_the_data_without_sympy_or_deriving():
    code = (
        "import sys, actlab; from actlab.catalog import REGISTRY; "
        "print(REGISTRY.is_pending('golu'), 'sympy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False"]


def test_derivations_are_cached_by_definition(tmp_path, monkeypatch):
    from actlab.catalog import formula

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    definition = parse_definition({"name": "cached_one", "formula": "x*atan(x)"})
    digest = derived.key(definition.canonical())
    first = formula.build_spec(definition)
    assert (tmp_path / "actlab" / "derived" / f"{digest}.json").is_file()
    monkeypatch.setattr(formula, "derive", lambda d: pytest.fail("derived again"))
    again = formula.build_spec(definition)
    x = np.linspace(-5, 5, 11)
    np.testing.assert_array_equal(first.forward(x, NUMPY), again.forward(x, NUMPY))
    assert again.properties == first.properties and again.formula == first.formula


def test_a_corrupt_cache_file_is_derived_again(tmp_path, monkeypatch):
    from actlab.catalog import formula

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    definition = parse_definition({"name": "cached_two", "formula": "x*atan(2*x)"})
    folder = tmp_path / "actlab" / "derived"
    folder.mkdir(parents=True)
    (folder / f"{derived.key(definition.canonical())}.json").write_text('{"expression": 1')
    assert formula.build_spec(definition).properties.monotonic is False
    assert json.loads((folder / f"{derived.key(definition.canonical())}.json").read_text())["forward"]


def test_every_data_entry_ships_its_derivation():
    for path in entries.files():
        for definition, _ in entries.read(path)[0]:
            assert derived.key(definition.canonical()) in derived.packaged(), (
                f"{definition.name}: run `make catalog-data`"
            )


def test_stored_expressions_are_read_without_running_code():
    with pytest.raises(FormulaError):
        from_srepr("__import__('os').system('true')")
    with pytest.raises(FormulaError):
        from_srepr("Symbol('x').__class__")
