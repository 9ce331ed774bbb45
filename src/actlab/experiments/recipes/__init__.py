"""Recipes: experiment files shipped with actlab that reproduce the classic published comparisons."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from actlab.errors import ActlabError

PREFIX = "recipe:"


class UnknownRecipe(ActlabError, KeyError):
    """A recipe name that is not shipped."""

    def __str__(self) -> str:
        return self.args[0]


def names() -> list[str]:
    return sorted(p.name.removesuffix(".toml") for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def path(name: str) -> Path:
    """The file of recipe ``name`` (with or without the 'recipe:' prefix)."""
    name = name.removeprefix(PREFIX)
    if name not in names():
        raise UnknownRecipe(f"unknown recipe {name!r}; recipes: {', '.join(names())}")
    return Path(str(resources.files(__name__) / f"{name}.toml"))
