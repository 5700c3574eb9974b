"""Put pretrained weights into an architecture: Keras files as they are, package pickles via a cached conversion.

The file is resolved (`resolve_pretrained`) before TensorFlow is imported or anything is built, so a missing file
fails in a fraction of a second; this module imports Keras only through the models it is handed.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.entry import Entry
from zoo.errors import BadOverride, BrokenSeal, CacheNotWritable, WeightsDoNotFit, WeightsNotFound
from zoo.sealed import check_sealed, remove_sealed
from zoo.weights.manifest import Manifest, load_manifest
from zoo.weights.resolve import ResolvedWeights, cache_dir, converted_dir, resolve_checked
from zoo.weights.verify import digest_file

if TYPE_CHECKING:
    import keras

KERAS_FORMATS = ("keras-h5", "keras-weights")
KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")  # a user's own file in these loads as Keras weights, whatever the record
IMAGENET_CLASSES = 1000
SKIPPED_LAYERS = r"(?s).*(Skipping|could not be loaded|freshly-initialized)"


def wants_new_head(entry: Entry, hparams: dict[str, Any], overrides: dict[str, Any]) -> bool:
    """A new N-way head replaces ImageNet's when num_classes is overridden; both at once is refused."""
    new_classes = "num_classes" in overrides and overrides["num_classes"] != IMAGENET_CLASSES
    if new_classes and overrides.get("include_top") is True:
        raise BadOverride(
            f"{entry.name}: include_top=True keeps ImageNet's 1000-class head but num_classes="
            f"{overrides['num_classes']} asks for a new one; pass only num_classes for a new head"
        )
    return new_classes


def resolve_pretrained(
    entry: Entry, hparams: dict[str, Any], overrides: dict[str, Any], weights: str | Path, verify: bool = True
) -> ResolvedWeights:
    """The weights file `load` will put into `entry`: "imagenet" (the manifest's, found or downloaded) or a path.

    Where only the with-top file exists (the bundled backbones), that is the one for a headless build too.
    """
    include_top = bool(hparams["include_top"]) and not wants_new_head(entry, hparams, overrides)
    key = f"{entry.name}.{'top' if include_top else 'notop'}"
    if key not in entry.weights and f"{entry.name}.top" in entry.weights:
        key = f"{entry.name}.top"
    if key not in entry.weights:
        raise WeightsNotFound(f"{entry.name} has no pretrained weights ({key}); load it with weights=None")
    path = None if weights == "imagenet" else Path(weights)
    resolved = resolve_checked(key, path, verify=verify)
    if resolved.unverified:
        print(f"zoo: unverified weights for {key}: {resolved.path}: {resolved.unverified}", file=sys.stderr)
    return resolved


def load_pretrained(entry: Entry, model: keras.Model, weights: ResolvedWeights, include_top: bool) -> None:
    """Load the resolved file into `model`; a with-top file into a headless model goes through a with-top build
    whose shared layers are copied over by name."""
    if include_top or not weights.key.endswith(".top"):
        load_weights_file(entry, model, weights)
        return
    full = entry.build(**{**entry.hparams, "input_shape": model.input_shape[1:], "include_top": True})
    load_weights_file(entry, full, weights)
    copy_shared_layers(full, model)


def load_weights_file(entry: Entry, model: keras.Model, weights: ResolvedWeights) -> None:
    """Keras formats as they are, package pickles converted once; a file that does not fit, layer by layer, is
    refused in one line naming it."""
    record = load_manifest().get(weights.key)
    own_keras_file = weights.unverified and weights.path.name.endswith(KERAS_SUFFIXES)
    fix = f"Pass a file saved from this architecture ({record.file} or model.save_weights)."
    if weights.unverified and weights.path.parent == cache_dir():
        fix = (
            f"It is your own file, imported into zoo's cache: `zoo weights remove {weights.key}` removes it (zoo then "
            f"uses the published file again); `zoo weights import FILE --as {weights.key} --trust` replaces it."
        )
    with weights_must_fit(weights.path, f"{entry.name} ({weights.key})", fix):
        if record.format in KERAS_FORMATS or own_keras_file:
            model.load_weights(weights.path)
        else:
            load_converted(entry, weights.key, weights.path, model)


def check_own_weights(key: str, source: Path, manifest: Manifest | None = None) -> None:
    """Before `zoo weights import SOURCE --as KEY --trust` stores SOURCE: it must load into KEY's architecture as zoo
    will load it from the cache (under the record's file name), else WeightsDoNotFit naming the file and the fix."""
    from zoo.catalogue import default_catalogue

    record = (manifest or load_manifest()).get(key)
    entry = default_catalogue().get(key.rsplit(".", 1)[0])
    include_top = key.endswith(".top")
    options = {**entry.hparams, "input_shape": entry.input_shape, "include_top": include_top}
    model = entry.build(**(options | {"num_classes": IMAGENET_CLASSES} if include_top else options))
    with tempfile.TemporaryDirectory(prefix="zoo-trust-") as scratch:
        staged = Path(scratch) / record.file  # the name decides how the file is read (Keras, or a package pickle)
        staged.symlink_to(Path(source).resolve())
        fix = f"Nothing was imported: pass weights saved from {entry.name} ({record.file}, or model.save_weights)."
        with weights_must_fit(Path(source), f"{entry.name} ({key})", fix):
            if record.format in KERAS_FORMATS or staged.name.endswith(KERAS_SUFFIXES):
                model.load_weights(staged)
            else:
                from zoo.loading.converted import convert

                convert(entry.name, staged, model)


@contextmanager
def weights_must_fit(path: Path, target: str, fix: str) -> Iterator[None]:
    """Keras' loaders check a file layer by layer (count, names, shapes); their errors become one line here, and so
    do the warnings Keras 3.15 gives instead of an error for layers it skips (left randomly initialised)."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=SKIPPED_LAYERS, category=UserWarning)
            yield
    except (ValueError, KeyError, TypeError, OSError, UserWarning, pickle.UnpicklingError) as error:
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise WeightsDoNotFit(f"weights file {path} does not load into {target}: {reason}. {fix}") from None


def load_converted(entry: Entry, key: str, source: Path, model: keras.Model) -> None:
    """Convert a package's pickle to a cached, sealed `.weights.h5` once, then load that. Its name holds the
    package file's digest and zoo's conversion code's (zoo.loading.converted), so other code converts anew; a
    damaged file is one line and converted again; a read-only cache converts in memory each time."""
    from zoo.loading.converted import conversion_digest, convert, convert_and_save

    source_digest = digest_file(source)["sha256"]
    converted = converted_dir() / f"{key}-{source_digest[:12]}-{conversion_digest()[:8]}.weights.h5"
    if converted.exists():
        try:
            check_sealed(converted)
            model.load_weights(converted)
            return
        except BrokenSeal as error:
            print(f"zoo: the converted weights are damaged ({error}): converting again", file=sys.stderr)
            remove_sealed(converted)
    try:
        converted.parent.mkdir(parents=True, exist_ok=True)
        convert_and_save(entry.name, source, model, converted)
    except (OSError, CacheNotWritable):
        convert(entry.name, source, model)  # cache read-only: convert in memory, every time


def copy_shared_layers(source: keras.Model, target: keras.Model) -> None:
    """Copy weights layer by layer, by name, for every layer of `target` that has weights."""
    names = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(names[layer.name].get_weights())
