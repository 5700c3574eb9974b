"""Every head zoo builds, in one place: ImageNet classifiers replaced, new N-way softmax heads, an autoencoder's
encoder with a classifier, and the sigmoid (multi-label) and linear (regression) heads of zoo.kaggle.

Decision on ImageNet heads: a backbone loaded with its 1000-class ImageNet classifier gets its new head on the loaded
trunk in memory, cut just below the classifier. Nothing is reloaded: the weights the user loaded (ImageNet's or their
own file) are the ones fine-tuned, and no second weights file (the "notop" variant) or network is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.errors import BadData

if TYPE_CHECKING:
    import keras

    from zoo.entry import Entry
    from zoo.loading.model import ZooModel

DEFAULT_HEAD_DROPOUT = 0.2


def numbered_classes(num_classes: int) -> list[str]:
    """Class names "0" .. "N-1", until the data names them."""
    return [str(i) for i in range(num_classes)]


def replaced_classifier(model: keras.Model, outputs: Any, class_names: list[str] | None, task: str) -> ZooModel:
    """`model`'s inputs to new classifier `outputs` (named "predictions"), keeping its name and entry."""
    from zoo.loading.model import ZooModel

    return ZooModel(
        model.inputs, outputs, name=model.name, class_names=class_names,
        entry_name=getattr(model, "entry_name", None), task=task, classifier="predictions",
    )


def recipe_model(model: keras.Model, entry: Entry, num_classes: int | None) -> ZooModel:
    """A recipe's built layers as a ZooModel that remembers its entry, task, classifier layer and class names."""
    from zoo.loading.model import ZooModel

    names = numbered_classes(num_classes) if entry.task == "classification" and num_classes else None
    return ZooModel(
        model.inputs, model.outputs, name=entry.name, class_names=names, entry_name=entry.name, task=entry.task,
        classifier=entry.classifier,
    )


def softmax_head(features: Any, num_classes: int, dropout: float | None) -> Any:
    """features -> optional Dropout "head_dropout" -> softmax Dense "predictions": the new classifier of every head."""
    import keras

    if dropout:
        features = keras.layers.Dropout(dropout, name="head_dropout")(features)
    return keras.layers.Dense(num_classes, activation="softmax", name="predictions")(features)


def with_new_head(
    model: keras.Model, inputs: Any, features: Any, num_classes: int, learning_rate: float, name: str | None = None
) -> ZooModel:
    """inputs -> features -> Dropout -> new softmax Dense, as a compiled ZooModel keeping `model`'s entry and task."""
    import keras

    from zoo.loading.model import ZooModel

    outputs = softmax_head(features, num_classes, DEFAULT_HEAD_DROPOUT)
    new = ZooModel(
        inputs, outputs, name=name or model.name, class_names=numbered_classes(num_classes),
        entry_name=getattr(model, "entry_name", None), task="classification", classifier="predictions",
    )
    new.compile(  # as zoo.load compiles
        optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return new


def autoencoder_encoder(model: keras.Model) -> keras.Model | None:
    """An autoencoder's encoder (a nested "encoder" model or the cut at its "code" layer); None for other models."""
    from zoo.catalogue import recipe_module

    encoder_of = recipe_module("autoencoder").encoder_of
    if len(model.output_shape) == 2 or model.output_shape != model.input_shape:
        return None
    try:
        return encoder_of(model)
    except ValueError:
        return None


def encoder_classifier(model: keras.Model, encoder: keras.Model, num_classes: int, learning_rate: float) -> ZooModel:
    """Autoencoder -> classifier: its encoder (weights shared, so pretraining carries over), Dropout, softmax Dense."""
    import keras

    inputs = keras.Input(model.input_shape[1:], name="inputs")
    return with_new_head(model, inputs, encoder(inputs), num_classes, learning_rate, f"{model.name}_classifier")


def has_imagenet_head(model: keras.Model) -> bool:
    """A zoo backbone loaded with its ImageNet classifier: image -> preprocess -> trunk ending in the classifier."""
    import keras

    from zoo.layers.preprocess import Preprocess
    from zoo.loading.imagenet import imagenet_class_names

    layers, names = model.layers, getattr(model, "class_names", None)
    structure = len(layers) == 3 and isinstance(layers[1], Preprocess) and isinstance(layers[2], keras.Model)
    return structure and names is not None and tuple(names) == imagenet_class_names()


def replace_imagenet_head(model: keras.Model, num_classes: int, learning_rate: float = 1e-3) -> ZooModel:
    """The loaded trunk cut below its ImageNet classifier, pooled, then Dropout and a new softmax Dense."""
    import keras

    preprocess, topped = model.layers[1], model.layers[2]
    classifier = getattr(model, "classifier", None) or "predictions"
    try:
        features = topped.get_layer(classifier).input
    except ValueError:
        raise BadData(
            f"cannot find {model.name}'s ImageNet classifier {classifier!r} to replace; "
            f"load with zoo.load({model.name!r}, num_classes={num_classes})"
        ) from None
    if len(features.shape) == 4:  # conv classifiers (squeezenet, mobilenet) sit on a feature map
        features = keras.layers.GlobalAveragePooling2D(name="features_pool")(features)
    elif len(features.shape) != 2:
        features = keras.layers.Flatten(name="features_flat")(features)
    trunk = keras.Model(topped.input, features, name=topped.name)
    image = keras.Input(model.input_shape[1:], name="image")
    return with_new_head(model, image, trunk(preprocess(image)), num_classes, learning_rate)


def classifier_input(model: keras.Model) -> Any:
    """The features the model's classifier layer reads (its `classifier` name, "predictions" by default)."""
    return model.get_layer(getattr(model, "classifier", None) or "predictions").input


def sigmoid_head(model: keras.Model, names: Sequence[str]) -> ZooModel:
    """`model` with its softmax classifier replaced by one independent sigmoid per label (multi-label targets)."""
    import keras

    outputs = keras.layers.Dense(len(names), activation="sigmoid", name="predictions")(classifier_input(model))
    return replaced_classifier(model, outputs, list(names), "multilabel")


def regression_head(model: keras.Model, y_train: np.ndarray, outputs: int) -> ZooModel:
    """`model` with its classifier replaced by a linear head whose outputs start at the targets' mean and spread."""
    import keras

    spread = y_train.std(axis=0)
    values = keras.layers.Dense(outputs, name="values")(classifier_input(model))
    scaled = keras.layers.Rescaling(
        scale=np.where(spread > 0, spread, 1.0).tolist(), offset=y_train.mean(axis=0).tolist(), name="predictions"
    )(values)
    return replaced_classifier(model, scaled, None, "regression")
