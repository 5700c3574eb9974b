"""`Preprocess` reproduces each backbone family's own ImageNet preprocessing, inside the graph."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo.layers.preprocess import IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, MODES, Preprocess

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 255, size=(2, 5, 5, 3)).astype("float32")


@pytest.mark.parametrize("mode", ["caffe", "torch", "tf"])
def test_matches_keras_preprocess_input(mode):
    expected = keras.applications.imagenet_utils.preprocess_input(IMAGES.copy(), mode=mode)
    np.testing.assert_allclose(Preprocess(mode)(IMAGES), expected, rtol=1e-5, atol=1e-4)


def test_efficientnet_v1_mode_equals_the_imagenet_chain_keras_builds():
    """Keras' ImageNet EfficientNet: Rescaling(1/255), Normalization, then Rescaling(1/sqrt(std))."""
    variance = np.square(IMAGENET_STD_RGB)
    normalise = keras.layers.Normalization(mean=IMAGENET_MEAN_RGB, variance=variance)
    keras_chain = keras.layers.Rescaling(1 / np.sqrt(IMAGENET_STD_RGB))(normalise(IMAGES / 255.0))
    ours = normalise(keras.layers.Rescaling(1 / 255.0)(Preprocess("efficientnet_v1")(IMAGES)))
    np.testing.assert_allclose(ours, keras_chain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("channels", [1, 4])
def test_other_channel_counts_use_the_mean_statistics(channels):
    images = RNG.uniform(0, 255, size=(1, 3, 3, channels)).astype("float32")
    out = np.asarray(Preprocess("torch", channels=channels)(images))
    mean, std = 255 * np.mean(IMAGENET_MEAN_RGB), 255 * np.mean(IMAGENET_STD_RGB)
    np.testing.assert_allclose(out[..., -1], (images[..., -1] - mean) / std, rtol=1e-5)


def test_refuses_unknown_mode_and_channels():
    with pytest.raises(ValueError, match="mode 'bgr'"):
        Preprocess("bgr")
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        Preprocess("tf", channels=2)


def test_every_mode_round_trips_through_config():
    for mode in MODES:
        layer = Preprocess.from_config(Preprocess(mode, channels=4).get_config())
        np.testing.assert_allclose(
            layer(IMAGES[..., :1].repeat(4, -1)), Preprocess(mode, 4)(IMAGES[..., :1].repeat(4, -1))
        )
