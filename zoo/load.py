"""`load(name, **overrides)`: catalogue entry -> builder -> compiled, ready Keras model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo.catalogue import default_catalogue
from zoo.entry import Entry
from zoo.errors import BadOverride

if TYPE_CHECKING:
    import keras


def merged_hparams(entry: Entry, overrides: dict[str, Any]) -> dict[str, Any]:
    """The entry's default hyper-parameters with `overrides` applied; an unknown key is refused by name."""
    unknown = sorted(set(overrides) - set(entry.hparams))
    if unknown:
        raise BadOverride(
            f"{entry.name} does not take {', '.join(map(repr, unknown))}; "
            f"it takes: {', '.join(sorted(entry.hparams))} (see `zoo info {entry.name}`)"
        )
    return {**entry.hparams, **overrides}


def compile_for(model: keras.Model, entry: Entry, learning_rate: float) -> keras.Model:
    """Compile with the entry's loss and metrics and Adam, so `fit` works straight away."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=entry.loss,
        metrics=list(entry.metrics) or None,
    )
    return model


def load(name: str, **overrides: Any) -> keras.Model:
    """Build catalogue entry `name` with its default hyper-parameters (or `overrides`), compiled and ready to fit."""
    entry = default_catalogue().get(name)
    hparams = merged_hparams(entry, overrides)
    model = entry.build(**hparams)
    return compile_for(model, entry, hparams.get("learning_rate", 1e-3))
