"""Catalog entries as data: the built-in activations defined by a formula, one TOML file per family in
``actlab/catalog/data/`` (the format: docs/catalog-data.md).

Each ``[[activation]]`` table is a user's formula definition (:mod:`actlab.catalog.definition`) plus what the catalog
knows about it — aliases, family, class (fixed or adaptive, as Kunc & Kléma's survey, arXiv:2402.09092, classes
it), a structured reference, the survey's section, a note — and goes through the same machinery as users' formulas
(:func:`actlab.catalog.formula.build_spec`). ``[[alias]]`` tables give a built-in more names (``builtin = "tanhexp",
add = ["TeLU"]``): one function is one entry, however many names the literature gives it.

Reading the files is cheap (no SymPy): names and aliases are registered when ``actlab`` is imported, and each spec is
built when first asked for, from its stored derivation (:mod:`actlab.catalog.derived`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actlab.catalog.definition import DEFINITION_KEYS, Definition, Entry, parse_definition
from actlab.catalog.spec import CATEGORIES, REGISTRY, ActivationError, ActivationSpec, Reference, Registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DATA = Path(__file__).parent / "data"
CATALOG_KEYS = {"aliases", "family", "class", "survey", "note"}
REFERENCE_KEYS = {"authors", "year", "title", "id", "where", "venue", "url"}
ALIAS_KEYS = {"builtin", "add", "note"}
FAMILIES = (
    "binary", "sigmoid", "tanh", "softsign_like", "rectifier", "leaky_rectifier", "exponential_linear", "softplus",
    "sigmoid_weighted", "gated", "square_based", "polynomial", "rational", "periodic", "radial", "chaotic", "shrink",
    "logarithmic", "other",
)
# the hand-written built-ins' families, as the survey's family slugs
BUILTIN_FAMILIES = {
    "smooth gated": "sigmoid_weighted",
    "sigmoid": "sigmoid",
    "learnable": "other",
    "rectifier": "rectifier",
    "softplus": "softplus",
    "gated linear unit": "gated",
    "exponential linear": "exponential_linear",
    "periodic": "periodic",
    "shrink": "shrink",
    "classic": "other",
    "radial": "radial",
}


class CatalogDataError(ActivationError):
    """A catalog data file that does not follow the format."""


def family_slug(family: str) -> str:
    """The survey family slug of a spec's family (a data entry's own; a hand-written built-in's mapped)."""
    return BUILTIN_FAMILIES.get(family, family)


def parse_entry(table: Mapping[str, Any], where: str) -> tuple[Definition, Entry]:
    """One ``[[activation]]`` table of a data file → the formula definition and the catalog's fields."""
    if not isinstance(table, Mapping):
        raise CatalogDataError(f"{where}: must be a table")
    unknown = sorted(set(table) - DEFINITION_KEYS - CATALOG_KEYS)
    if unknown:
        raise CatalogDataError(f"{where}: unknown keys {', '.join(unknown)}")
    definition = parse_definition({k: v for k, v in table.items() if k in DEFINITION_KEYS and k != "reference"}, where)
    family, category = table.get("family"), table.get("class")
    if family not in FAMILIES:
        raise CatalogDataError(f"{where}.family: {family!r}; use one of {', '.join(FAMILIES)}")
    if category not in CATEGORIES:
        raise CatalogDataError(f"{where}.class: {category!r}; use fixed or adaptive")
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise CatalogDataError(f"{where}.aliases: a list of names")
    survey = str(table.get("survey", ""))
    entry = Entry(
        family=family,
        category=category,
        aliases={"other": tuple(dict.fromkeys(a.strip() for a in aliases))} if aliases else {},
        reference=_reference(table.get("reference"), survey, f"{where}.reference"),
        notes=str(table.get("note", "")),
    )
    return definition, entry


def _reference(raw: Any, survey: str, where: str) -> Reference:
    """``{authors, year, title, id = "arXiv:…" | "doi:…", where}`` → a :class:`Reference`."""
    if not isinstance(raw, Mapping):
        raise CatalogDataError(f"{where}: a table {{authors, year, title, id, where}}")
    unknown = sorted(set(raw) - REFERENCE_KEYS)
    missing = [k for k in ("authors", "year", "title") if not raw.get(k)]
    if unknown or missing:
        raise CatalogDataError(
            f"{where}: " + (f"unknown keys {', '.join(unknown)}" if unknown else f"needs {', '.join(missing)}")
        )
    if not isinstance(raw["year"], int) or not 1900 <= raw["year"] <= 2100:
        raise CatalogDataError(f"{where}.year: a year, got {raw['year']!r}")
    ident = str(raw.get("id", "")).strip()
    arxiv = re.fullmatch(r"arXiv:\s*([0-9]{4}\.[0-9]{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7})(v[0-9]+)?", ident, re.I)
    doi = re.fullmatch(r"doi:\s*(10\.[0-9]{4,9}/\S+)", ident, re.I)
    if ident and not (arxiv or doi):
        raise CatalogDataError(f'{where}.id: "arXiv:NNNN.NNNNN" or "doi:10.…", got {ident!r}')
    return Reference(
        title=str(raw["title"]),
        authors=str(raw["authors"]),
        year=raw["year"],
        venue=str(raw.get("venue", "")),
        arxiv=arxiv.group(1) if arxiv else None,
        doi=doi.group(1) if doi else None,
        url=raw.get("url"),
        where=str(raw.get("where", "")),
        survey=survey,
    )


def read(path: Path) -> tuple[list[tuple[Definition, Entry]], list[Mapping[str, Any]]]:
    """The entries and the ``[[alias]]`` tables of one data file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CatalogDataError(f"{path.name}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - {"activation", "alias"})
    if unknown:
        raise CatalogDataError(f"{path.name}: unknown tables {', '.join(unknown)} (use [[activation]], [[alias]])")
    entries = [parse_entry(t, f"{path.name}: activation[{i}]") for i, t in enumerate(data.get("activation", []))]
    for i, table in enumerate(data.get("alias", [])):
        extra = sorted(set(table) - ALIAS_KEYS)
        if extra or not isinstance(table.get("builtin"), str) or not isinstance(table.get("add"), list):
            raise CatalogDataError(f'{path.name}: alias[{i}]: builtin = "name", add = ["Other", …], note = "…"')
    return entries, data.get("alias", [])


def files(folder: Path = DATA) -> list[Path]:
    return sorted(folder.glob("*.toml"))


def register_all(folder: Path = DATA, registry: Registry = REGISTRY) -> list[str]:
    """Register every entry of the data files in ``folder`` (lazily) in ``registry``, and their aliases; returns the
    names."""
    names, aliases = [], []
    for path in files(folder):
        entries, alias_tables = read(path)
        for definition, entry in entries:
            registry.register_lazy(definition.name, entry.aliases.get("other", ()), _builder(definition, entry))
            names.append(definition.name)
        aliases += [(path, table) for table in alias_tables]
    for path, table in aliases:  # after every entry: an alias may name an entry of a later file
        builtin = registry.get_name(table["builtin"])
        if builtin is None:
            raise CatalogDataError(f"{path.name}: alias of {table['builtin']!r}, which is not in the catalog")
        registry.add_aliases(builtin, "other", [str(a) for a in table["add"]], str(table.get("note", "")))
    return names


def _builder(definition: Definition, entry: Entry):
    def build() -> ActivationSpec:
        from actlab.catalog.formula import build_spec

        return build_spec(definition, None, entry)

    return build
