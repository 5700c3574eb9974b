"""What finetune starts from: the data (loaded, split, weighted) and a model whose head fits the data's classes.

Decision on ImageNet heads: a backbone loaded with its 1000-class ImageNet classifier (`zoo.load("efficientnet_lite0")`)
gets a new head for the data's classes, built on the loaded trunk in memory, cut just below the classifier. Nothing is
reloaded: the weights the user loaded (ImageNet's or their own file) are the ones fine-tuned, and no second weights
file (the "notop" variant) or network is needed. Any other head that does not match raises BadData before training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from zoo.data import LabelledData, class_weights, load_data, stratified_split
from zoo.errors import BadData
from zoo.imagenet import imagenet_class_names
from zoo.model import ZooModel

IMAGENET_CLASSES = 1000
DEFAULT_HEAD_DROPOUT = 0.2


@dataclass(frozen=True)
class LoaderOptions:
    """How load_data reads the source (see zoo.data.load_data); None leaves its own default."""

    labels: Sequence[Any] | np.ndarray | None = None
    id_col: str | None = None
    label_col: str | None = None
    image_dir: Any = None
    extension: str | None = None
    data_dir: Any = None
    split: str | None = None
    validation_split: str | None = None  # the TFDS split of `validation` when it is a TFDS name
    progress: bool = True


def input_spec(model: keras.Model) -> tuple[tuple[int, int] | None, int]:
    """(image size, channels) the data must be fitted to: the model's (height, width, channels), or (None, 3)."""
    shape = model.input_shape
    if len(shape) == 4 and shape[1] and shape[2]:
        return (int(shape[1]), int(shape[2])), int(shape[3])
    return None, 3


def load_split(
    model: keras.Model, data: Any, validation: Any, *, strict: bool, seed: int, fraction: float, loader: LoaderOptions
) -> tuple[LabelledData, LabelledData]:
    """(train, validation): the validation data as given, or a seeded stratified split of `data`."""
    size, channels = input_spec(model)
    common = {"image_size": size, "channels": channels, "strict": strict, "progress": loader.progress}
    options = {key: getattr(loader, key) for key in ("labels", "id_col", "label_col", "image_dir", "extension")}
    train = as_labelled(data, {**common, **options, "data_dir": loader.data_dir, "split": loader.split})
    if validation is None:
        return stratified_split(train, fraction, seed)
    held = {**common, "data_dir": loader.data_dir, "split": loader.validation_split, "class_names": train.class_names}
    return train, as_labelled(validation, held)


def as_labelled(data: Any, options: dict[str, Any]) -> LabelledData:
    return data if isinstance(data, LabelledData) else load_data(data, **options)


def model_inputs(x: np.ndarray, model: keras.Model) -> np.ndarray:
    """Inputs as the model takes them: uint8 images stay uint8 (cast where the model runs), others get its dtype."""
    if x.dtype == np.uint8 and len(model.input_shape) == 4:
        return x
    return np.asarray(x, dtype=str(model.inputs[0].dtype))


def sample_weights(y: np.ndarray, num_classes: int, balanced: bool) -> np.ndarray | None:
    """Per-example weights from balanced class weights (rare classes count as much as common ones), or None."""
    if not balanced:
        return None
    weights = class_weights(y, num_classes)
    return np.asarray([weights[i] for i in range(num_classes)], dtype=np.float32)[y]


def head_for(model: keras.Model, class_names: Sequence[str], say: Any = print) -> keras.Model:
    """`model` when its head has one output per class; a new head on an ImageNet-topped backbone; else BadData."""
    if entry_task(model) == "regression":
        raise BadData(
            f"finetune trains classifiers; {model.name} is a regression model: train it with model.fit, "
            "or use zoo kaggle train, which takes regression targets"
        )
    encoder = model_encoder(model)
    if encoder is not None:
        say(f"finetune: classifying with {model.name}'s encoder: its code feeds a new {len(class_names)}-class head")
        return classifier_on_encoder(model, encoder, len(class_names))
    if len(model.output_shape) != 2:
        raise BadData(
            f"finetune trains classifiers (one probability per class); {model.name} outputs shape "
            f"{tuple(model.output_shape[1:])}: load a classification model"
        )
    outputs, wanted = int(model.output_shape[-1]), len(class_names)
    if outputs == wanted:
        return model
    if has_imagenet_head(model):
        say(f"finetune: replacing {model.name}'s 1000-class ImageNet head with a new {wanted}-class head")
        return replace_imagenet_head(model, wanted)
    name = getattr(model, "entry_name", None) or model.name
    raise BadData(
        f"head has {outputs} outputs but the data has {wanted} classes: "
        f"load with zoo.load({name!r}, num_classes={wanted})"
    )


def entry_task(model: keras.Model) -> str | None:
    """The catalogue task of the entry `model` was loaded from (None for models from elsewhere)."""
    from zoo.catalogue import default_catalogue

    name = getattr(model, "entry_name", None)
    return default_catalogue().get(name).task if name else None


def model_encoder(model: keras.Model) -> keras.Model | None:
    """An autoencoder's encoder (a nested "encoder" model or the cut at its "code" layer); None for other models."""
    from zoo.recipes.autoencoder import encoder_of

    if len(model.output_shape) == 2 or model.output_shape != model.input_shape:
        return None
    try:
        return encoder_of(model)
    except ValueError:
        return None


def classifier_on_encoder(model: keras.Model, encoder: keras.Model, num_classes: int) -> ZooModel:
    """Autoencoder -> classifier: its encoder (weights shared, so pretraining carries over), Dropout, softmax Dense.

    Compiled with the autoencoder's learning rate, which finetune's single from-scratch phase then uses.
    """
    from zoo.phases import compiled_learning_rate

    inputs = keras.Input(model.input_shape[1:], name="inputs")
    rate = compiled_learning_rate(model) or 1e-3
    return with_new_head(model, inputs, encoder(inputs), num_classes, f"{model.name}_classifier", rate)


def with_new_head(
    model: keras.Model, inputs: Any, features: Any, num_classes: int, name: str, learning_rate: float = 1e-3
) -> ZooModel:
    """inputs -> features -> Dropout -> new softmax Dense, as a compiled ZooModel keeping `model`'s entry name."""
    x = keras.layers.Dropout(DEFAULT_HEAD_DROPOUT, name="head_dropout")(features)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    names = [str(i) for i in range(num_classes)]
    new = ZooModel(inputs, outputs, name=name, class_names=names, entry_name=getattr(model, "entry_name", None))
    optimizer = keras.optimizers.Adam(learning_rate)  # as zoo.load compiles
    new.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return new


def has_imagenet_head(model: keras.Model) -> bool:
    """A zoo backbone loaded with its ImageNet classifier: image -> preprocess -> trunk ending in the classifier."""
    from zoo.layers.preprocess import Preprocess

    layers, names = model.layers, getattr(model, "class_names", None)
    structure = len(layers) == 3 and isinstance(layers[1], Preprocess) and isinstance(layers[2], keras.Model)
    return structure and names is not None and tuple(names) == imagenet_class_names()


def replace_imagenet_head(model: keras.Model, num_classes: int) -> ZooModel:
    """The loaded trunk cut below its ImageNet classifier, pooled, then Dropout and a new softmax Dense."""
    from zoo.catalogue import default_catalogue

    preprocess, topped = model.layers[1], model.layers[2]
    entry = default_catalogue().get(model.entry_name) if getattr(model, "entry_name", None) else None
    classifier = entry.classifier if entry is not None else "predictions"
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
    return with_new_head(model, image, trunk(preprocess(image)), num_classes, model.name)
