"""Images -> labels or features with a model named as `zoo predict` names it (a catalogue name, a .keras file, a
finetune or kaggle run folder, a blend; resolved by zoo.kaggle.submit.sources, the one model-source path) or a Keras
model in memory: `zoo.classify` and `zoo.embed`.

They run where `zoo predict` runs: the fast runtime on a file already converted (a run folder's export, or the
cache), with `runtime="auto"` converting once where none is; Keras otherwise (`runtime="keras"`: always). With a
converted file at hand nothing imports TensorFlow, so a fresh Python answers as fast as the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.decoding.images import image_batches
from zoo.errors import BadData
from zoo.hardware.devices import quiet_tensorflow_when_imported
from zoo.kaggle.submit.blend_weights import combine
from zoo.kaggle.submit.sources import RunPart, Source, calibrated, resolve
from zoo.loading.ranking import top_labels
from zoo.results.frozen_trunk import memory_source
from zoo.results.runtime import ModelSource, Runner, conversion_state, loaded_runner, open_runner

RUNTIMES = ("cached", "auto", "keras")


def classify(model: Any, images: Any, top: int = 5, batch_size: int = 32, runtime: str = "cached") -> list:
    """The `top` (label, probability) pairs, best first, for each image: a kaggle run's folds averaged and
    calibrated, a blend's runs combined, as `zoo predict` does."""
    source = source_of(model)
    outputs, first = source_images(source, "predict", images, batch_size, runtime)
    names = source.config["target"]["names"] if source.config else first.class_names
    if names is None or len(names) != outputs.shape[-1]:
        names = [str(index) for index in range(outputs.shape[-1])]
    return top_labels(outputs, list(names), top)


def embed(model: Any, images: Any, batch_size: int = 32, runtime: str = "cached") -> np.ndarray:
    """Pooled trunk features (n, d) of each image: what the classifier layer reads."""
    source = source_of(model)
    if len(source.parts) > 1:
        raise BadData(f"{source.word} blends {len(source.parts)} runs: embed with one of them (their features differ)")
    return source_images(source, "embed", images, batch_size, runtime)[0]


def source_of(model: Any) -> Source:
    """What `model` names (sources.resolve), or a Keras model in memory as a one-model source."""
    if isinstance(model, str | Path):
        return resolve(str(model))
    loaded = memory_source(model, getattr(model, "name", "model"))
    return Source(loaded.label, [RunPart(loaded.label, [loaded], None)])


def source_images(
    source: Source, purpose: str, images: Any, batch_size: int, runtime: str
) -> tuple[np.ndarray, Runner]:
    """(outputs, the first runner): each part's models averaged over `images` (decoded batch by batch, the one pixel
    path), calibrated for predict, the parts combined by the blend's weights."""
    if runtime not in RUNTIMES:
        raise BadData(f"runtime={runtime!r}: choose among {', '.join(RUNTIMES)}")
    results, first = [], None
    for part in source.parts:
        runners = [runner_for(model, purpose, runtime) for model in part.models]
        first = first or runners[0]
        height, width, channels = runners[0].input_shape
        batches = image_batches(images, (height, width), channels, batch_size)
        outputs = np.concatenate([np.mean([runner.run(batch) for runner in runners], axis=0) for batch in batches])
        results.append(calibrated(part, outputs) if purpose == "predict" else outputs)
    if len(results) == 1:
        return results[0], first
    return combine(results, [part.weight for part in source.parts], source.method), first


def runner_for(source: ModelSource, purpose: str, runtime: str) -> Runner:
    """open_runner's choice when converted already (a damaged entry: rebuilt once) or `runtime="auto"`; Keras for
    "keras" or a cold "cached"."""
    if runtime == "auto" or (runtime == "cached" and conversion_state(source, purpose) != "none"):
        return open_runner(source, purpose)
    quiet_tensorflow_when_imported()
    return loaded_runner(source.load(), purpose)
