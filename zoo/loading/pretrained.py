"""Put pretrained weights into an architecture: Keras files as they are, package pickles via a cached conversion."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from zoo.entry import Entry
from zoo.errors import CacheNotWritable, WeightsNotFound
from zoo.weights.manifest import load_manifest
from zoo.weights.resolve import cache_dir, resolve_weights
from zoo.weights.verify import digest_file

KERAS_FORMATS = ("keras-h5", "keras-weights")


def load_pretrained(entry: Entry, variant: str, model: keras.Model, path: Path | None = None) -> None:
    """Load `entry`'s `variant` ("top" / "notop") weights into `model`.

    Where only the with-top file exists (the bundled backbones), it is loaded into a with-top build and the
    shared layers are copied over by name.
    """
    key = f"{entry.name}.{variant}"
    if key in entry.weights:
        load_weights_file(entry, key, model, path)
        return
    if variant == "notop" and f"{entry.name}.top" in entry.weights:
        full = entry.build(**{**entry.hparams, "input_shape": model.input_shape[1:], "include_top": True})
        load_weights_file(entry, f"{entry.name}.top", full, path)
        copy_shared_layers(full, model)
        return
    raise WeightsNotFound(f"{entry.name} has no pretrained weights ({variant}); load it with weights=None")


def load_weights_file(entry: Entry, key: str, model: keras.Model, path: Path | None) -> None:
    """Resolve the manifest file `key` and load it: Keras formats as they are, package pickles converted once."""
    record = load_manifest().get(key)
    source = resolve_weights(key, path)
    if record.format in KERAS_FORMATS:
        model.load_weights(source)
        return
    load_converted(entry, key, source, model)


def load_converted(entry: Entry, key: str, source: Path, model: keras.Model) -> None:
    """Convert a package's pickle to a cached `.weights.h5` once (its sha256 kept beside it), then load that."""
    from zoo.loading.converted import convert, convert_and_save

    source_digest = digest_file(source)["sha256"]
    converted = cache_dir() / "converted" / f"{key}-{source_digest[:12]}.weights.h5"
    digest_file_path = converted.with_name(converted.name + ".sha256")
    if converted.is_file() and digest_file_path.is_file():
        if digest_file(converted)["sha256"] == digest_file_path.read_text().strip():
            model.load_weights(converted)
            return
    try:
        converted.parent.mkdir(parents=True, exist_ok=True)
        digest = convert_and_save(entry.name, source, model, converted)
    except (OSError, CacheNotWritable):
        convert(entry.name, source, model)  # cache read-only: convert in memory, every time
        return
    temporary = digest_file_path.with_suffix(".tmp")
    temporary.write_text(digest + "\n")
    os.replace(temporary, digest_file_path)


def copy_shared_layers(source: keras.Model, target: keras.Model) -> None:
    """Copy weights layer by layer, by name, for every layer of `target` that has weights."""
    names = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(names[layer.name].get_weights())
