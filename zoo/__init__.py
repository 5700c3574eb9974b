"""zoo: a Keras 3 model zoo and transfer-learning toolkit.

Importing this package does not import TensorFlow: listing and inspecting the catalogue stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo.catalogue import default_catalogue
from zoo.entry import Entry
from zoo.errors import (
    BadData,
    BadOverride,
    CacheNotWritable,
    CatalogueError,
    CorruptWeights,
    ManifestError,
    UnknownModel,
    UnknownWeightsFile,
    WeightsNotFound,
    ZooError,
)

if TYPE_CHECKING:
    import keras

__all__ = [
    "BadData",
    "CacheNotWritable",
    "CorruptWeights",
    "UnknownWeightsFile",
    "BadOverride",
    "CatalogueError",
    "Entry",
    "ManifestError",
    "UnknownModel",
    "WeightsNotFound",
    "ZooError",
    "info",
    "list_models",
    "load",
    "load_saved",
]
__version__ = "0.1.0"


def list_models(family: str | None = None, task: str | None = None) -> list[str]:
    """Catalogue names, optionally of one family (ffn, cnn, rnn, autoencoder, dbn, backbone) or one task."""
    return default_catalogue().names(family=family, task=task)


def info(name: str) -> Entry:
    """The catalogue entry `name`: family, task, input spec, hyper-parameters, parameter count, reference result."""
    return default_catalogue().get(name)


def load(name: str, **overrides: Any) -> keras.Model:
    """A ready, compiled Keras model of catalogue entry `name`; `overrides` replace default hyper-parameters."""
    from zoo.loading import load as load_model

    return load_model(name, **overrides)


def load_saved(path: str) -> keras.Model:
    """A model saved by this toolkit (`model.save("x.keras")`), reloaded with safe_mode on."""
    from zoo.loading import load_saved as reload

    return reload(path)
