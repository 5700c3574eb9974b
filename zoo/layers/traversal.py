"""Walking a Keras model's layers: every nested layer, which of them are BatchNormalization, and setting `trainable`
on a layer and all inside it."""

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


def set_trainable_flag(layer: Any, value: bool) -> None:
    """`trainable = value` on `layer` and on every layer inside it, their variables included.

    Plain assignment is not enough: Keras' TensorFlow backend skips assigning an attribute the value it already holds
    (its trackable `__setattr__` short-circuits `self.x = self.x`), so a layer that says True does not pass True down
    to layers frozen inside it. Each layer's own property setter is called instead.
    """
    import keras

    setter = keras.layers.Layer.trainable.fset
    for sub in [layer, *all_layers(layer)]:
        setter(sub, value)
