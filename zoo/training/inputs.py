"""What finetune starts from: the data (loaded, split, weighted) and a model whose head fits the data's classes.

The heads themselves are built in zoo.loading.heads; a head that matches nothing raises BadData before training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from zoo.data import LabelledData, class_weights, load_data, stratified_split
from zoo.data.listings.table import TableOptions
from zoo.errors import BadData
from zoo.loading.heads import (
    autoencoder_encoder,
    encoder_classifier,
    has_imagenet_head,
    replace_imagenet_head,
    sigmoid_head,
)
from zoo.training.phases import compiled_learning_rate


@dataclass(frozen=True)
class LoaderOptions(TableOptions):
    """How load_data reads the source (see zoo.data.load_data): a table's columns and folder, and the rest; None
    leaves its own default."""

    labels: Sequence[Any] | np.ndarray | None = None
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
    model: keras.Model, data: Any, validation: Any, *, strict: bool, holdout: tuple[float, int], loader: LoaderOptions
) -> tuple[LabelledData, LabelledData]:
    """(train, validation): the validation data as given, or a stratified split of `data` (holdout: its fraction
    and seed)."""
    size, channels = input_spec(model)
    common = {"image_size": size, "channels": channels, "strict": strict, "progress": loader.progress}
    options = {"labels": loader.labels, **loader.keywords()}
    train = as_labelled(data, {**common, **options, "data_dir": loader.data_dir, "split": loader.split})
    if validation is None:
        return stratified_split(train, *holdout)
    held = {**common, "data_dir": loader.data_dir, "split": loader.validation_split, "class_names": train.class_names}
    if train.multilabel:  # the validation table's labels are read as the training table's were
        held |= {"label_col": loader.label_col, "multi_label": loader.multi_label}
    val = as_labelled(validation, held)
    if val.multilabel != train.multilabel or val.class_names != train.class_names:
        raise BadData(
            f"the validation data's labels {list(val.class_names)} differ from the training data's "
            f"{list(train.class_names)}: give both the same label columns (or tags)"
        )
    return train, val


def as_labelled(data: Any, options: dict[str, Any]) -> LabelledData:
    return data if isinstance(data, LabelledData) else load_data(data, **options)


def model_inputs(x: np.ndarray, model: keras.Model) -> np.ndarray:
    """Inputs as the model takes them: uint8 images stay uint8 (cast where the model runs), others get its dtype."""
    if x.dtype == np.uint8 and len(model.input_shape) == 4:
        return x
    return np.asarray(x, dtype=str(model.inputs[0].dtype))


def class_weight_vector(y: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes,) float32 balanced class weights (rare classes count as much as common ones): each example's
    weight is its class's, looked up per batch (an array of one weight per example would grow with the data)."""
    weights = class_weights(y, num_classes)
    return np.asarray([weights[i] for i in range(num_classes)], dtype=np.float32)


def head_for(
    model: keras.Model, class_names: Sequence[str], say: Any = print, *, multilabel: bool = False
) -> keras.Model:
    """`model` when its head has one output per class; a new head on an ImageNet-topped backbone or on an
    autoencoder's encoder (zoo.loading.heads); else BadData before anything trains. `multilabel`: the head's
    softmax becomes one sigmoid per label."""
    classifier = class_head(model, class_names, say)
    if not multilabel or getattr(classifier, "task", None) == "multilabel":
        return classifier
    say(f"finetune: multi-label: one sigmoid per label ({len(class_names)}) instead of the softmax")
    labelled = sigmoid_head(classifier, class_names)
    rate = compiled_learning_rate(classifier) or 1e-3  # a scratch plan trains at the rate the model was compiled with
    labelled.compile(optimizer=keras.optimizers.Adam(rate), loss="binary_crossentropy")
    return labelled


def class_head(model: keras.Model, class_names: Sequence[str], say: Any = print) -> keras.Model:
    """head_for's softmax classifier: the model as it is, or with a new head that fits the classes."""
    if getattr(model, "task", None) == "regression":
        raise BadData(
            f"finetune trains classifiers; {model.name} is a regression model: train it with model.fit, "
            "or use zoo kaggle train, which takes regression targets"
        )
    encoder = autoencoder_encoder(model)
    if encoder is not None:
        say(f"finetune: classifying with {model.name}'s encoder: its code feeds a new {len(class_names)}-class head")
        return encoder_classifier(model, encoder, len(class_names), compiled_learning_rate(model) or 1e-3)
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
