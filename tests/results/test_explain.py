"""HiResCAM heat maps: they find what decided the class, through a nested trunk as through a flat CNN."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import NotExplainable

SIDE, PATCH = 16, 4


def red_patch_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images with a green patch; class 1 also has a red patch, class 0 a second green one (equally bright).

    Brightness cannot point at the deciding patch, so an untrained net's map lands on either patch (measured: 0, 5
    and 16 of 20 on the red one for three seeds); only a net that learnt "red" peaks there every time.
    Returns images in [0, 255], labels, and each image's red (or second green) patch corner.
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, (n, SIDE, SIDE, 3)).astype("float32")
    y = rng.integers(0, 2, n)
    corners = np.zeros((n, 2), dtype=int)
    for image, label, corner in zip(x, y, corners, strict=True):
        first, second = rng.integers(0, SIDE - PATCH, (2, 2))
        while np.abs(first - second).max() < PATCH:
            second = rng.integers(0, SIDE - PATCH, 2)
        corner[:] = first
        image[second[0] : second[0] + PATCH, second[1] : second[1] + PATCH] = (0, 255, 0)
        image[first[0] : first[0] + PATCH, first[1] : first[1] + PATCH] = (255, 0, 0) if label else (0, 255, 0)
    return x, y, corners


def tiny_cnn(nested: bool = False):
    """Rescaling -> conv -> conv -> global pooling -> softmax; nested: Preprocess -> trunk -> head, as backbones."""
    import keras

    from zoo.layers.preprocess import Preprocess

    trunk_input = keras.Input((SIDE, SIDE, 3))
    x = keras.layers.Rescaling(1 / 255)(trunk_input)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_1")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_2")(x)
    features = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if not nested:
        return keras.Model(trunk_input, keras.layers.Dense(2, activation="softmax", name="predictions")(features))
    trunk = keras.Model(trunk_input, features, name="trunk")
    image = keras.Input((SIDE, SIDE, 3), name="image")
    x = trunk(Preprocess("raw", name="preprocess")(image))
    return keras.Model(image, keras.layers.Dense(2, activation="softmax", name="predictions")(x))


@pytest.fixture(scope="module")
def trained():
    import keras

    keras.utils.set_random_seed(0)
    model = tiny_cnn()
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y, _ = red_patch_images(96, seed=0)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    return model


def test_heat_map_of_the_deciding_class_peaks_on_the_red_patch(trained):
    from zoo.results.explain import heatmaps

    x, y, corners = red_patch_images(40, seed=1)
    assert trained.evaluate(x, y, verbose=0)[1] >= 0.95  # it learnt the task: the maps below mean something
    positive = y == 1
    maps, classes = heatmaps(trained, x[positive], np.ones(positive.sum(), dtype=int))
    assert maps.shape == (positive.sum(), SIDE, SIDE) and maps.min() >= 0 and maps.max() == pytest.approx(1)
    assert (classes == 1).all()
    peaks = [np.unravel_index(np.argmax(heat), heat.shape) for heat in maps]
    inside = [
        r <= row < r + PATCH and c <= col < c + PATCH
        for (row, col), (r, c) in zip(peaks, corners[positive], strict=True)
    ]
    assert np.mean(inside) >= 0.9, inside


def test_nested_trunk_gives_the_flat_models_maps_and_the_predicted_class_by_default(trained):
    from zoo.results.explain import heatmaps

    nested = tiny_cnn(nested=True)
    nested.get_layer("trunk").set_weights(trained.weights[:4])
    nested.get_layer("predictions").set_weights(trained.get_layer("predictions").get_weights())
    x, _, _ = red_patch_images(8, seed=2)
    flat_maps, flat_classes = heatmaps(trained, x)
    nested_maps, nested_classes = heatmaps(nested, x)
    np.testing.assert_array_equal(flat_classes, trained.predict(x, verbose=0).argmax(axis=1))
    np.testing.assert_array_equal(nested_classes, flat_classes)
    np.testing.assert_allclose(nested_maps, flat_maps, atol=1e-5)


def test_models_without_images_or_feature_maps_are_refused():
    import keras

    from zoo.results.explain import heatmaps

    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(NotExplainable, match=r"not images"):
        heatmaps(dense, np.zeros((1, 4)))
    flat = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(NotExplainable, match="no convolutional feature map"):
        heatmaps(flat, np.zeros((1, 4, 4, 1)))


def test_flatten_head_map_shows_the_cell_the_score_uses_not_the_brightest_one():
    """Why HiResCAM: under Flatten -> Dense the score reads one cell; Grad-CAM's averaged gradient would light the
    brightest cell instead (its map is the feature map itself, scaled)."""
    import keras

    from zoo.results.explain import heatmaps

    inputs = keras.Input((4, 4, 1))
    features = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones", name="conv")(inputs)
    dense = keras.layers.Dense(2, activation="softmax", name="predictions")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(features)))
    kernel = np.zeros((16, 2), dtype="float32")
    kernel[0, 1] = 1.0  # class 1's logit is cell (0, 0) alone
    dense.set_weights([kernel, np.zeros(2, dtype="float32")])
    image = np.full((1, 4, 4, 1), 10.0, dtype="float32")
    image[0, 0, 0, 0], image[0, 3, 3, 0] = 100.0, 255.0

    maps, _ = heatmaps(model, image, np.array([1]))
    assert np.unravel_index(np.argmax(maps[0]), (4, 4)) == (0, 0)
    assert maps[0][3, 3] == 0.0
