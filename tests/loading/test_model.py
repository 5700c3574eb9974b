"""ZooModel.classify / embed: any image kind, grey models get grey input, features from the classifier's input."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

from zoo.loading.model import ZooModel, features_model


def tiny_classifier(channels: int, nested: bool = False) -> ZooModel:
    """A 12x12 CNN with a 3-class "predictions" head; `nested` puts it inside an outer model, as zoo.load does."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, channels))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    if nested:
        inner = keras.Model(inputs, outputs, name="trunk")
        outer_inputs = keras.Input((12, 12, channels), name="image")
        inputs, outputs = outer_inputs, inner(keras.layers.Rescaling(1.0, name="scale")(outer_inputs))
    return ZooModel(inputs, outputs, class_names=["a", "b", "c"], classifier="predictions")


def test_grey_model_classifies_colour_files_and_unit_floats(tmp_path):
    model = tiny_classifier(channels=1)
    path = tmp_path / "photo.png"
    pixels = np.random.default_rng(0).integers(0, 256, (12, 12, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    by_path, by_floats = model.classify([path, pixels / 255.0], top=3)
    assert [label for label, _ in by_path] == [label for label, _ in by_floats]
    np.testing.assert_allclose([p for _, p in by_path], [p for _, p in by_floats], atol=1e-3)
    assert sum(p for _, p in by_path) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested-backbone"])
def test_embed_is_the_classifier_input(nested):
    model = tiny_classifier(channels=3, nested=nested)
    images = np.random.default_rng(1).integers(0, 256, (5, 12, 12, 3)).astype(np.uint8)
    features = model.embed(images, batch_size=2)
    assert features.shape == (5, 4)
    head = model.get_layer("trunk").get_layer("predictions") if nested else model.get_layer("predictions")
    kernel, bias = head.get_weights()
    logits = features @ kernel + bias
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))  # a stable softmax: pixels reach 255
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(expected, model.predict(images.astype("float32"), verbose=0), atol=1e-5)


def test_a_model_without_a_classifier_layer_says_so():
    inputs = keras.Input((4,))
    model = ZooModel(inputs, keras.layers.Dense(2, name="head")(inputs), classifier="predictions")
    with pytest.raises(ValueError, match="no classifier layer 'predictions'"):
        features_model(model)
