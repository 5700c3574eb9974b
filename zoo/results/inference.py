"""Images -> labels or features with a model named as `zoo predict` names it (a catalogue name, a .keras file, a
finetune run folder, a kaggle run folder) or a Keras model in memory: `zoo.classify` and `zoo.embed`.

They run where `zoo predict` runs: the fast runtime on a file already converted (a run folder's export, or the
cache), with `runtime="auto"` converting once where none is; Keras otherwise (`runtime="keras"`: always). With a
converted file at hand nothing imports TensorFlow, so a fresh Python answers as fast as the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.decoding.images import image_batches
from zoo.errors import BadData
from zoo.hardware.devices import import_tensorflow_quietly
from zoo.loading.ranking import top_labels
from zoo.results.frozen_trunk import memory_source
from zoo.results.runtime import (
    ModelSource,
    Runner,
    catalogue_source,
    file_source,
    held_conversion,
    keras_runner,
    keras_target,
    open_runner,
)

KAGGLE_CONFIG = "config.json"
RUNTIMES = ("cached", "auto", "keras")


def model_sources(word: str) -> tuple[list[ModelSource], dict | None]:
    """The model(s) MODEL names (a kaggle run: one per fold) and, for a kaggle run, its config."""
    path = Path(word)
    if path.is_dir() and (path / "model.keras").is_file():
        return [file_source(path / "model.keras", path.name)], None
    if path.is_dir():
        config = json.loads((path / KAGGLE_CONFIG).read_text(encoding="utf-8"))
        if config.get("input", {}).get("kind") != "images":
            raise BadData(f"{word} is a kaggle run on tabular data: use `zoo kaggle predict --run {word}`")
        folds = sorted(path.glob("fold_*/model.keras"), key=lambda p: int(p.parent.name.split("_")[-1]))
        if not folds:
            raise BadData(f"{word} has no fold models (fold_K/model.keras): its training did not finish; re-run it")
        return [file_source(fold, f"{path.name}-{fold.parent.name}") for fold in folds], config
    if word.endswith(".keras"):
        return [file_source(path, path.name)], None
    return [catalogue_source(word)], None


def classify(model: Any, images: Any, top: int = 5, batch_size: int = 32, runtime: str = "cached") -> list:
    """The `top` (label, probability) pairs, best first, for each image, averaged over a kaggle run's folds."""
    runners, config = runners_for(model, "predict", runtime)
    outputs = run_images(runners, images, batch_size)
    names = config["target"]["names"] if config else runners[0].class_names
    if names is None or len(names) != outputs.shape[-1]:
        names = [str(index) for index in range(outputs.shape[-1])]
    return top_labels(outputs, list(names), top)


def embed(model: Any, images: Any, batch_size: int = 32, runtime: str = "cached") -> np.ndarray:
    """Pooled trunk features (n, d) of each image: what the classifier layer reads."""
    runners, _ = runners_for(model, "embed", runtime)
    return run_images(runners, images, batch_size)


def run_images(runners: list[Runner], images: Any, batch_size: int) -> np.ndarray:
    """The runners' outputs averaged, over images decoded and fitted batch by batch (the one pixel path)."""
    height, width, channels = runners[0].input_shape
    batches = image_batches(images, (height, width), channels, batch_size)
    return np.concatenate([np.mean([runner.run(batch) for runner in runners], axis=0) for batch in batches])


def runners_for(model: Any, purpose: str, runtime: str) -> tuple[list[Runner], dict | None]:
    """A runner per model (per fold of a kaggle run): the runtime's where `runtime` allows, else Keras."""
    if runtime not in RUNTIMES:
        raise BadData(f"runtime={runtime!r}: choose among {', '.join(RUNTIMES)}")
    if isinstance(model, str | Path):
        sources, config = model_sources(str(model))
    else:
        sources, config = [memory_source(model, getattr(model, "name", "model"))], None
    return [runner_for(source, purpose, runtime) for source in sources], config


def runner_for(source: ModelSource, purpose: str, runtime: str) -> Runner:
    """open_runner's choice when converted already or `runtime="auto"`; Keras for "keras" or a cold "cached"."""
    if runtime == "auto" or (runtime == "cached" and held_conversion(source, purpose) is not None):
        return open_runner(source, purpose)
    import_tensorflow_quietly()
    model = source.load()
    return keras_runner(model, purpose, keras_target(model, purpose).predict_on_batch)
