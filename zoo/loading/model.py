"""`ZooModel`: the Keras model `zoo.load` returns: a plain functional model plus class names and `classify`.

A registered subclass (never a patched Keras class) so saved models reload with safe_mode on and keep their
class names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from zoo.loading.ranking import labels_over, top_labels


@keras.saving.register_keras_serializable(package="zoo")
class ZooModel(keras.Model):
    """A functional Keras model that remembers its class names and what training needs of its catalogue entry:
    the entry's name, its task and the name of its classifier layer (so training never looks the entry up again);
    a multi-label model also its per-label thresholds (chosen on validation data by finetune)."""

    REMEMBERED = ("class_names", "entry_name", "task", "classifier", "weights_files", "thresholds")

    def __init__(
        self,
        *args: Any,
        class_names: Sequence[str] | None = None,
        entry_name: str | None = None,
        task: str | None = None,
        classifier: str | None = None,
        weights_files: dict | None = None,
        thresholds: Sequence[float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.class_names = list(class_names) if class_names is not None else None
        self.entry_name = entry_name
        self.task = task  # classification, regression, reconstruction, ... (None: not from the catalogue)
        self.classifier = classifier  # the head layer's name ("predictions"; ConvNeXt's differs)
        self.weights_files = weights_files  # hub presets: the preset and its files' sha256 (for the run card)
        self.thresholds = list(thresholds) if thresholds is not None else None  # multi-label: one per class name

    def get_config(self) -> dict:
        return {**super().get_config(), **{key: getattr(self, key) for key in self.REMEMBERED}}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> ZooModel:
        config = dict(config)
        remembered = {key: config.pop(key, None) for key in cls.REMEMBERED}
        model = super().from_config(config, custom_objects=custom_objects)
        for key, value in remembered.items():
            setattr(model, key, value)
        return model

    def classify(
        self, images: Any, top: int = 5, batch_size: int = 32, labels: Sequence[str] | str | None = None
    ) -> list[list[tuple[str, float]]]:
        """The `top` (label, probability) pairs, best first, for each image (see `image_batches` for what is accepted:
        paths, PIL images, arrays in [0, 255] or floats in [0, 1], batches; decoded and run `batch_size` at a time).

        `labels` (image-text hub models loaded in this session: siglip_*, clip_*): zero-shot, scored against these
        label texts by the preset's text tower (zoo.load(name, labels=...) builds the same classifier to keep). A
        multi-label model gives every label at or over its threshold instead (`top` not used)."""
        if labels is not None:
            relabel = getattr(self, "relabel", None)  # set in memory by zoo.loading.hub_zero_shot (never saved)
            if relabel is None:
                raise ValueError(f"{self.name} cannot score label texts: load an image-text hub model (siglip_*, "
                                 "clip_*) with zoo.load(name) or zoo.load(name, labels=[...]) in this session")
            return relabel(labels).classify(images, top=top, batch_size=batch_size)
        if self.class_names is None:
            raise ValueError(f"{self.name} has no class names: it is not a classifier (see zoo.info)")
        outputs = self.run_on_images(self, images, batch_size)
        if self.task == "multilabel":
            return labels_over(outputs, self.class_names, self.thresholds)
        return top_labels(outputs, self.class_names, top)

    def embed(self, images: Any, batch_size: int = 32) -> np.ndarray:
        """Pooled trunk features (n, d) of `images` (as `classify` takes them, `batch_size` at a time): what the
        classifier layer reads, for scikit-learn or kNN."""
        return self.run_on_images(features_model(self), images, batch_size)

    def run_on_images(self, model: keras.Model, images: Any, batch_size: int) -> np.ndarray:
        """`model`'s outputs on images fitted to this model's input size and channel count, batch by batch."""
        from zoo.data.decoding.images import image_batches

        height, width, channels = self.input_shape[1:4]
        batches = image_batches(images, (height, width), channels, batch_size)
        return np.concatenate([model.predict_on_batch(batch) for batch in batches])

    def finetune(self, data: Any, **options: Any) -> Any:
        """Fine-tune this model on `data` the careful way; `options`: every keyword option of zoo.finetune (the
        guide: docs/finetune.md). Returns a FinetuneResult."""
        from zoo.training.run import finetune

        return finetune(self, data, **options)

    def lr_find(self, data: Any, **options: Any) -> Any:
        """Learning-rate range test on `data`; `options`: every keyword option of zoo.lr_find. The model is left as
        it was."""
        from zoo.training.lr_find import lr_find

        return lr_find(self, data, **options)


def features_model(model: keras.Model) -> keras.Model:
    """`model` cut at the input of its classifier layer (average-pooled if spatial): its pooled trunk features.

    The classifier may sit in a nested backbone (input -> preprocess -> backbone, as `zoo.load` builds them).
    """
    name = getattr(model, "classifier", None) or "predictions"
    inputs = keras.Input(model.input_shape[1:], dtype=model.inputs[0].dtype, name="image")
    features = features_on(model, name, inputs)
    if features is None:
        raise ValueError(f"{model.name} has no classifier layer {name!r} to take its features from")
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="zoo_embedding_pool")(features)
    return keras.Model(inputs, features, name=f"{model.name}_features")


def outputs_and_features(model: keras.Model) -> keras.Model | None:
    """`model` with a second output, its pooled trunk features (what `features_model` gives), computed in one pass:
    the one file the fast runtime converts serves both predict and embed. None when it has no classifier layer."""
    name = getattr(model, "classifier", None) or "predictions"
    inputs = keras.Input(model.input_shape[1:], dtype=model.inputs[0].dtype, name="image")
    found = outputs_and_features_on(model, name, inputs)
    if found is None:
        return None
    outputs, features = found
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="zoo_embedding_pool")(features)
    return keras.Model(inputs, [outputs, features], name=f"{model.name}_runtime")


def outputs_and_features_on(model: keras.Model, name: str, x: Any) -> tuple[Any, Any] | None:
    """(`model`'s output, its classifier's input) computed from `x` (a chain of layers where nested); None if absent."""
    if name in {layer.name for layer in model.layers}:
        both = keras.Model(model.inputs, [model.outputs[0], model.get_layer(name).input])(x)
        return both[0], both[1]
    features = None
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if features is None and isinstance(layer, keras.Model):
            found = outputs_and_features_on(layer, name, x)
            if found is not None:
                x, features = found
                continue
        x = layer(x)
    return None if features is None else (x, features)


def features_on(model: keras.Model, name: str, x: Any) -> Any:
    """The classifier's input computed from `x` through `model` (a chain of layers where nested); None if absent."""
    if name in {layer.name for layer in model.layers}:
        return keras.Model(model.inputs, model.get_layer(name).input)(x)
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            found = features_on(layer, name, x)
            if found is not None:
                return found
        x = layer(x)
    return None
