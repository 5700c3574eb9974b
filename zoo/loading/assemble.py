"""`load(name, **overrides)`: catalogue entry -> builder -> weights -> head -> compiled ZooModel."""

from __future__ import annotations

import os
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.catalogue import default_catalogue
from zoo.entry import Entry
from zoo.errors import HUB_EXTRA, BadModelFile, BadOverride
from zoo.hardware.devices import DEVICE_ENV

if TYPE_CHECKING:
    import keras

    from zoo.hardware.placement import Placement
    from zoo.loading.model import ZooModel


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


def load_saved(path: str | Path) -> ZooModel:
    """A model saved with `model.save("x.keras")`, reloaded with safe_mode on (zoo's layers registered first).

    A missing, truncated or foreign file raises BadModelFile naming it (Keras itself says "File not found" for a
    truncated archive).
    """
    import keras

    import zoo.layers  # noqa: F401  (registers the custom layers)
    import zoo.loading.model  # noqa: F401  (registers ZooModel)

    path = Path(path)
    check_model_file(path)
    register_keras_hub_if_named(path)
    with warnings.catch_warnings():
        # A model saved before any fit holds an unbuilt optimizer (2 variables); Keras warns it cannot load them into
        # the built one. Nothing is lost: there was no optimizer state to restore.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        try:
            return keras.saving.load_model(path, safe_mode=True)
        except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile) as error:
            reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
            raise BadModelFile(f"{path} cannot be loaded as a Keras model ({reason}): save it again") from None


def register_keras_hub_if_named(path: Path) -> None:
    """Import keras_hub (which registers its layers) when the saved model's config names it; else nothing."""
    with zipfile.ZipFile(path) as archive:
        names_hub = b'"keras_hub' in archive.read("config.json") if "config.json" in archive.namelist() else False
    if names_hub:
        from zoo.loading.hub import import_keras_hub

        import_keras_hub()  # registers KerasHub's layers with Keras


def check_model_file(path: Path) -> None:
    """Refuse a path that is not a complete .keras archive, before Keras reads it."""
    if not path.is_file():
        raise BadModelFile(f"{path}: no such model file (expected a .keras file saved with model.save)")
    if not zipfile.is_zipfile(path):
        raise BadModelFile(f"{path} is truncated or corrupt: not a complete .keras archive; save it again")


def load(
    name: str,
    weights: str | Path | None = "imagenet",
    device: str | None = None,
    precision: str = "auto",
    verify: bool = True,
    **overrides,
) -> ZooModel:
    """Catalogue entry `name` (or a saved `.keras` file) as a compiled model ready to fit and predict.

    `weights`: "imagenet" (default; backbones), None for random initialisation, or a weights file: a backbone's
    published file (hash-checked; `verify=False` takes your own, unverified), or a recipe's .weights.h5/.keras.
    `device` (or $ZOO_DEVICE) and `precision` build the model on that placement (zoo.hardware.placement): under its
    strategy, in its precision, outputs float32; without either, Keras places it as it does by itself.
    """
    placement = None
    if device is not None or precision != "auto" or os.environ.get(DEVICE_ENV):
        from zoo.hardware.placement import place

        placement = place(device, precision=precision)  # first: a multi-worker strategy must precede any model
    if name.endswith(".keras"):
        saved = load_saved(name)
        return on_placement(saved, placement, lambda model: compiled_like(model, saved))
    entry = default_catalogue().get(name)
    hparams = merged_hparams(entry, overrides)
    resolved = None
    if entry.family == "backbone" and weights is not None:
        from zoo.loading.pretrained import resolve_pretrained

        resolved = resolve_pretrained(entry, hparams, overrides, weights, verify)  # before TensorFlow: fails fast
    if entry.family == "hub":
        model = hub_model(entry, hparams, weights)
        return on_placement(model, placement, lambda built: compile_for(built, entry, hparams["learning_rate"]))
    recipe_weights = check_recipe_weights(entry, weights)
    import zoo.layers  # noqa: F401  (builders may use the custom layers)

    if entry.family == "backbone":
        from zoo.loading.backbone import load_backbone

        model = load_backbone(entry, hparams, overrides, resolved)
    else:
        from zoo.loading.heads import recipe_model

        model = recipe_model(entry.build(**hparams), entry, hparams.get("num_classes"))
        if recipe_weights is not None:
            load_recipe_weights(model, entry, recipe_weights)
    return on_placement(model, placement, lambda built: compile_for(built, entry, hparams.get("learning_rate", 1e-3)))


RECIPE_WEIGHTS_SUFFIXES = (".weights.h5", ".keras")


def hub_model(entry: Entry, hparams: dict[str, Any], weights: str | Path | None) -> ZooModel:
    """A KerasHub preset entry: the extra is checked before TensorFlow is imported; `weights` may name a preset
    folder (else the entry's preset: $ZOO_WEIGHTS_DIR/<preset>/ or keras_hub's fetch); None keeps random weights."""
    import importlib.util

    if importlib.util.find_spec("keras_hub") is None:
        raise BadOverride(f"{entry.name} is a KerasHub model: install the extra with {HUB_EXTRA}")
    preset = str(weights) if weights not in (None, "imagenet") else hparams["preset"]
    import zoo.layers  # noqa: F401  (the hub trunk uses zoo's TokenPooling)
    from zoo.loading.hub import load_hub_model

    return load_hub_model(entry, hparams, preset, load_weights=weights is not None)


def check_recipe_weights(entry: Entry, weights: str | Path | None) -> Path | None:
    """A recipe's weights file (zoo ships none, so "imagenet" means none): a .weights.h5 or .keras that exists."""
    if entry.family == "backbone" or weights is None or weights == "imagenet":
        return None
    path = Path(weights)
    if not path.name.endswith(RECIPE_WEIGHTS_SUFFIXES):
        raise BadModelFile(
            f"weights={str(weights)!r}: {entry.name} is a recipe without published weights; pass a .weights.h5 "
            f"(model.save_weights) or .keras file saved from {entry.name}, or weights=None"
        )
    if not path.is_file():
        raise BadModelFile(f"weights={str(weights)!r}: no such file (a .weights.h5 or .keras saved from {entry.name})")
    return path


def load_recipe_weights(model: keras.Model, entry: Entry, path: Path) -> None:
    """Put a recipe's own saved weights into the built model; one that does not fit is refused in one line."""
    from zoo.loading.pretrained import weights_must_fit

    fix = "Pass a file saved from this model with the same hyper-parameters."
    with weights_must_fit(path, f"{entry.name} with these settings", fix):
        model.load_weights(path)


def on_placement(model: ZooModel, placement: Placement | None, compile_model: Callable) -> ZooModel:
    """`model` compiled by `compile_model`; with a placement, first rebuilt there and compiled under its strategy."""
    if placement is None:
        return compile_model(model)
    from zoo.hardware.placement import placed_model

    placed = placed_model(model, placement)
    with placement.scope():  # the optimizer's variables then live where the model's do
        return compile_model(placed)


def compiled_like(model: keras.Model, saved: keras.Model) -> keras.Model:
    """`model` compiled as `saved` was (a copy of a saved model is not compiled); as it is when `saved` was not."""
    config = saved.get_compile_config() if model is not saved else None
    if config:
        model.compile_from_config(config)
    return model
