"""Walking a Keras model's layers: every nested layer, and which of them are BatchNormalization."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras


def is_batchnorm(layer: Any) -> bool:
    """True for a BatchNormalization layer (its statistics are what freezing pins)."""
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def all_layers(model: keras.Model) -> list[Any]:
    """Every layer inside `model`, nested ones included, parents before their children."""
    return list(model._flatten_layers(include_self=False, recursive=True))  # Keras has no public recursive listing
