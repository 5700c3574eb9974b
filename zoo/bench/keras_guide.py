"""The baseline of the fine-tuning benchmark: the plain Keras script of the transfer-learning guide, on a folder.

Written as https://keras.io/guides/transfer_learning/ does it (image_dataset_from_directory, augmentation layers at
the model's input, base_model.trainable = False, base_model(x, training=False), GlobalAveragePooling2D, Dropout,
Dense; fit the head; then base_model.trainable = True, recompile with Adam(1e-5), fit again). Only the base comes
from zoo (`include_top=False`): the same pretrained weights as the zoo path, with the guide's "scale to the
backbone's range" step already inside it as its preprocessing layer, so the script feeds [0, 255] pixels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from zoo.training.plan import Augmentation

GUIDE_DROPOUT = 0.2  # the guide's Dropout before the classifier
GUIDE_FINETUNE_LR = 1e-5  # the guide's "low learning rate" for the second fit


@dataclass(frozen=True)
class GuideRun:
    """What the guide's script measured: validation accuracy and wall seconds per stage (total included)."""

    val_accuracy: float
    seconds: dict[str, float]
    head_val_accuracy: float | None = None  # after the frozen-base fit: shows what the unfrozen fit changed
    images_per_second: dict[str, float] | None = None  # training images / fit seconds, per phase (head, all)


class GuideSetting(Protocol):
    """What the guide's script is run with (zoo.bench.finetune.Setting is one): both paths share these."""

    backbone: str
    image_size: int
    epochs: tuple[int, int]  # (head, fine-tune)
    batch_size: int
    seed: int


def augmentation_layers(augmentation: Augmentation | None, seed: int) -> list:
    """The same kinds and amounts of augmentation the zoo path uses, as the guide's Keras preprocessing layers."""
    import keras

    if augmentation is None:
        return []
    layers = [keras.layers.RandomFlip(augmentation.flip, seed=seed)] if augmentation.flip else []
    layers += [keras.layers.RandomRotation(augmentation.rotation, seed=seed)] if augmentation.rotation else []
    layers += [keras.layers.RandomZoom(augmentation.zoom, seed=seed)] if augmentation.zoom else []
    layers += [keras.layers.RandomContrast(augmentation.contrast, seed=seed)] if augmentation.contrast else []
    return layers


def guide_datasets(train_dir: Path, val_dir: Path, image_size: int, batch_size: int, seed: int) -> tuple:
    """(train, validation) tf.data pipelines read from the class folders by image_dataset_from_directory.

    The training set is not cached: image_dataset_from_directory shuffles file order each epoch and a cache would
    freeze it; decoding these small PNGs costs well under a second an epoch. Validation is cached as in the guide.
    """
    import keras
    import tensorflow as tf

    common = {"image_size": (image_size, image_size), "batch_size": batch_size, "label_mode": "int"}
    train = keras.utils.image_dataset_from_directory(train_dir, shuffle=True, seed=seed, verbose=False, **common)
    val = keras.utils.image_dataset_from_directory(val_dir, shuffle=False, verbose=False, **common)
    return train.prefetch(tf.data.AUTOTUNE), val.cache().prefetch(tf.data.AUTOTUNE), len(train.class_names)


def guide_model(backbone: str, image_size: int, num_classes: int, augmentation: list) -> tuple:
    """(model, base_model): the guide's head on the frozen base, augmentation at the input."""
    import keras

    import zoo

    base_model = zoo.load(backbone, include_top=False, input_shape=(image_size, image_size, 3))
    base_model.trainable = False
    inputs = keras.Input(shape=(image_size, image_size, 3))
    x = inputs
    for layer in augmentation:  # the guide's data_augmentation: active in fit only
        x = layer(x)
    x = base_model(x, training=False)  # the guide: keep the base in inference mode, also once unfrozen
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(GUIDE_DROPOUT)(x)
    outputs = keras.layers.Dense(num_classes)(x)  # logits, as the guide's Dense(1) with from_logits=True
    return keras.Model(inputs, outputs), base_model


def compile_guide(model, learning_rate: float | None) -> None:
    """The guide's compile: Adam (default rate, or the low fine-tuning rate), cross-entropy on logits, accuracy."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam() if learning_rate is None else keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def run_keras_guide(
    setting: GuideSetting, train_dir: Path, val_dir: Path, augmentation: Augmentation | None
) -> GuideRun:
    """Folder -> guide's two fits -> accuracy on the validation folder, timed stage by stage."""
    import keras

    seed, image_size, epochs = setting.seed, setting.image_size, setting.epochs
    keras.utils.set_random_seed(seed)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    train, val, num_classes = guide_datasets(train_dir, val_dir, image_size, setting.batch_size, seed)
    model, base_model = guide_model(setting.backbone, image_size, num_classes, augmentation_layers(augmentation, seed))
    seconds["load_and_build"] = time.perf_counter() - clock
    mark = time.perf_counter()
    compile_guide(model, None)
    head = model.fit(train, epochs=epochs[0], validation_data=val, verbose=0).history.get("val_accuracy", [None])
    seconds["fit_head"], mark = time.perf_counter() - mark, time.perf_counter()
    if epochs[1]:
        base_model.trainable = True  # the guide: unfreeze everything, recompile with a low learning rate
        compile_guide(model, GUIDE_FINETUNE_LR)
        model.fit(train, epochs=epochs[1], validation_data=val, verbose=0)
    seconds["fit_all"], mark = time.perf_counter() - mark, time.perf_counter()
    accuracy = float(model.evaluate(val, verbose=0, return_dict=True)["accuracy"])
    seconds["evaluate"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - clock
    images = sum(1 for path in train_dir.rglob("*") if path.is_file())
    rates = {"head": images * epochs[0] / seconds["fit_head"], "all": images * epochs[1] / seconds["fit_all"]}
    rounded = {key: round(value, 2) for key, value in seconds.items()}
    return GuideRun(accuracy, rounded, head[-1], {phase: round(rate, 1) for phase, rate in rates.items() if rate})
