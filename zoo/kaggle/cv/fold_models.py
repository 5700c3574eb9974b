"""The model one fold trains: a catalogue recipe or backbone sized to the input, with the head the target needs.

Classes keep the catalogue's softmax head (what finetune trains). Multi-label gets a sigmoid Dense, regression a
linear Dense followed by a Rescaling to the training fold's target mean and spread, so the new head starts by
predicting the mean and the saved model outputs values in the target's own units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from zoo.catalogue import default_catalogue
from zoo.entry import Entry
from zoo.errors import BadData
from zoo.kaggle.task.run_config import RunSettings
from zoo.kaggle.task.targets import Target

if TYPE_CHECKING:
    import keras


def check_tabular_model(entry: Entry) -> None:
    if "num_features" not in entry.hparams:
        raise BadData(
            f"{entry.name} does not take a feature vector: tabular data (no --images) trains mlp_tabular "
            "or another model whose hyper-parameters include num_features"
        )


def build_model(
    settings: RunSettings, target: Target, input_shape: tuple[int, ...], y_train: np.ndarray | None = None
) -> keras.Model:
    """A fresh compiled model for one fold; `y_train` (regression) sets the output scaling."""
    from zoo.loading.assemble import load

    entry = default_catalogue().get(settings.model_name)
    if "num_classes" not in entry.hparams:
        raise BadData(f"{entry.name} has no classifier head to replace (it is a {entry.task} model): pick a classifier")
    overrides: dict = {"num_classes": target.outputs}
    if len(input_shape) == 1:  # tabular features (image files and pixel columns are height x width x channels)
        check_tabular_model(entry)
        overrides["num_features"] = int(input_shape[0])
    elif "input_shape" in entry.hparams:
        overrides["input_shape"] = tuple(input_shape)
    if settings.weights is not None and entry.family == "backbone":
        overrides["weights"] = settings.weights
    if settings.zero_shot:
        if not target.classifies or "labels" not in entry.hparams:
            raise BadData(f"zero_shot needs class labels and an image-text hub model (siglip_*, clip_*); got "
                          f"{entry.name} on a {target.kind} target")
        overrides = {key: value for key, value in overrides.items() if key != "num_classes"}
        overrides["labels"] = [str(name) for name in target.names]
    model = load(entry.name, **overrides)
    if target.classifies:
        model.class_names = list(target.names)
        return model
    return with_head(model, target, y_train)


def with_head(model: keras.Model, target: Target, y_train: np.ndarray | None) -> keras.Model:
    """`model` with its softmax classifier replaced by a sigmoid (multi-label) or linear (regression) head."""
    from zoo.loading.heads import regression_head, sigmoid_head

    if target.kind == "multilabel":
        return sigmoid_head(model, target.names)
    if y_train is None:
        raise ValueError("a regression head needs the training targets to scale its outputs")
    return regression_head(model, y_train, target.outputs)
