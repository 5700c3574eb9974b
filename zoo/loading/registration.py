"""Make `keras.saving.load_model("m.keras")` find zoo's classes after a plain `import zoo`, without importing Keras.

Keras finds custom classes by name in its registry, filled when the module defining each class runs. `import zoo`
must stay TensorFlow-free, so it cannot import them itself: if Keras is already imported it registers them at once,
otherwise a one-shot import hook registers them right after Keras finishes importing. No Keras class is patched.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

KERAS = "keras"


def register_serializables(modules: Sequence[str]) -> None:
    """Import `modules` (each registers its classes with Keras) now if Keras is loaded, else once it loads."""
    if KERAS in sys.modules:
        import_all(modules)
    elif not any(isinstance(finder, AfterKerasImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, AfterKerasImport(modules, KERAS))


def import_all(modules: Sequence[str]) -> None:
    for name in modules:
        importlib.import_module(name)


def import_after_keras(modules: Sequence[str]) -> None:
    """Import `modules` as Keras finishes importing. When zoo's own code imported Keras, half-imported zoo modules
    may stand in the way (ImportError on a partial module): those are skipped, since zoo's own loaders import what
    they need (zoo.loading.assemble.load_saved)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            if not any(is_initializing(module) for key, module in list(sys.modules.items()) if key.startswith("zoo.")):
                raise


def is_initializing(module: ModuleType | None) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


class AfterKerasImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for `package` (Keras) it wraps the real loader so `modules` are imported after it."""

    def __init__(self, modules: Sequence[str], package: str) -> None:
        self.modules, self.package = tuple(modules), package
        self.searching = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.package or self.searching:
            return None
        self.searching = True  # find_spec below asks every finder, this one included
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self.searching = False
        if spec is not None and spec.loader is not None:
            spec.loader = RegisteringLoader(spec.loader, self.modules)
        return spec


class RegisteringLoader(importlib.abc.Loader):
    """Keras' own loader, then zoo's serializable modules; everything else is the wrapped loader's."""

    def __init__(self, loader: importlib.abc.Loader, modules: Sequence[str]) -> None:
        self.loader, self.modules = loader, modules

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, AfterKerasImport)]
        import_after_keras(self.modules)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)
