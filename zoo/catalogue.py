"""The catalogue: merges the ENTRIES tables of an explicit list of recipe modules (stdlib only)."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from zoo.entry import FAMILIES, Entry
from zoo.errors import CatalogueError, UnknownModel

# Explicit, ordered: no registration by import side effect.
RECIPE_MODULES = ("ffn", "cnn", "rnn", "autoencoder", "dbn", "bundled_backbones", "backbones", "hub")
RECIPES_PACKAGE = "zoo.recipes"


def _import_recipes_package() -> None:
    """Make the top-level `recipes/` folder importable as `zoo.recipes`.

    Why a shim: the project keeps its recipes at the repository's top level (its design card lays it out so), while
    installed code imports them as `zoo.recipes`. A wheel maps one to the other (package-dir in pyproject.toml) and
    so does setuptools' editable finder, but a plain checkout on sys.path (pytest, notebooks, `python -m zoo`) has no
    zoo/recipes folder. Where zoo/ sits beside recipes/ (a checkout, editable or not), the recipes beside it are the
    ones loaded, so a second checkout never picks up the first one's recipes through an editable install.
    """
    if RECIPES_PACKAGE in sys.modules:
        return
    checkout = Path(__file__).resolve().parent.parent / "recipes"
    if not (checkout / "__init__.py").is_file():
        if importlib.util.find_spec(RECIPES_PACKAGE) is None:
            raise CatalogueError(f"no recipes: {RECIPES_PACKAGE} is not installed and {checkout} is missing")
        return  # a wheel: zoo/recipes is a real package
    spec = importlib.util.spec_from_file_location(
        RECIPES_PACKAGE, checkout / "__init__.py", submodule_search_locations=[str(checkout)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[RECIPES_PACKAGE] = module
    spec.loader.exec_module(module)


class Catalogue:
    """An immutable, name-indexed collection of entries."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            if entry.name in self._entries:
                first = self._entries[entry.name].module or "?"
                raise CatalogueError(
                    f"duplicate catalogue name {entry.name!r}: defined in {first} and in {entry.module or '?'}"
                )
            self._entries[entry.name] = entry

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> Entry:
        """The entry called `name`; an unknown name raises UnknownModel with the closest names."""
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name.lower(), list(self._entries), n=3, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise UnknownModel(
                f"unknown model {name!r}.{hint} Run `zoo list` to see the {len(self)} models in the catalogue."
            ) from None

    def names(self, family: str | None = None, task: str | None = None) -> list[str]:
        """Names in catalogue order, optionally filtered by family and task."""
        if family is not None and family not in FAMILIES:
            raise ValueError(f"family={family!r} is not one of {', '.join(FAMILIES)}")
        return [
            e.name
            for e in self._entries.values()
            if (family is None or e.family == family) and (task is None or e.task == task)
        ]


def recipe_module(module_name: str) -> ModuleType:
    """One recipe module (ffn, cnn, ..., autoencoder), from a checkout or an installed package alike."""
    _import_recipes_package()
    return importlib.import_module(f"{RECIPES_PACKAGE}.{module_name}")


def entries_of(module_name: str) -> list[Entry]:
    """The ENTRIES table of one recipe module, each entry stamped with the module it came from."""
    module = recipe_module(module_name)
    return [_stamped(entry, module.__name__) for entry in module.ENTRIES]


def _stamped(entry: Entry, module: str) -> Entry:
    object.__setattr__(entry, "module", module)
    return entry


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The project's catalogue, built once per process."""
    return Catalogue(entry for name in RECIPE_MODULES for entry in entries_of(name))
