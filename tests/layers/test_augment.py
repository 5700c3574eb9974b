"""Augmentation recipes: presets and lists, the per-image layers, and batch mixing that carries labels and weights."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import BadOverride
from zoo.layers.augment import (
    LIGHT,
    STRONG,
    Augmentation,
    RandomOperations,
    augmentation_named,
    augmenter_for,
    mixed_batches,
)


def test_presets_and_lists_name_their_layers():
    assert augmentation_named("light") == LIGHT == Augmentation()
    assert STRONG.randaugment and STRONG.mix is None and STRONG.flip == LIGHT.flip  # MixUp cost on digits
    assert "1 op on 50% of images" in STRONG.describe()
    chosen = augmentation_named("flip, randaugment,cutmix")
    assert (chosen.flip, chosen.rotation, chosen.zoom, chosen.randaugment, chosen.mix) == (
        "horizontal",
        0,
        0,
        1,
        "cutmix",
    )
    assert "CutMix per batch" in chosen.describe() and "RandomRotation" not in chosen.describe()
    for bad in ("heavy", ["flip", "blur"], "mixup,cutmix", []):
        with pytest.raises(BadOverride, match="use 'light', 'strong'"):
            augmentation_named(bad)


def test_the_augmenter_holds_randaugment_when_asked():
    names = [type(layer).__name__ for layer in augmenter_for(STRONG, seed=0).layers]
    assert names == ["RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast", "RandomOperations"]
    assert augmenter_for(None, seed=0) is None


def ramps(count: int, channels: int = 3) -> np.ndarray:
    """`count` copies of one image whose values span 0..255 (so AutoContrast leaves it as it is)."""
    image = np.linspace(0, 255, 16 * 16 * channels, dtype=np.float32).reshape(16, 16, channels)
    return np.repeat(image[np.newaxis], count, axis=0)


def test_randaugment_draws_its_operations_per_image_and_stays_in_range():
    images = ramps(64)
    out = np.asarray(RandomOperations(1, seed=3)(images, training=True))
    unchanged = np.abs(out - images).reshape(64, -1).max(axis=1) < 1e-3
    assert 0 < unchanged.sum() < 32  # Keras' RandAugment draws per batch: all of them or none would be unchanged
    assert out.min() >= 0 and out.max() <= 255
    np.testing.assert_array_equal(out, np.asarray(RandomOperations(1, seed=3)(images, training=True)))  # seeded
    np.testing.assert_array_equal(RandomOperations(2, seed=3)(images, training=False), images)


def test_randaugment_changes_only_its_share_of_the_images():
    images = ramps(256)

    def changed(share: float) -> int:
        out = np.asarray(RandomOperations(1, share, seed=5)(images, training=True))
        return int((np.abs(out - images).reshape(256, -1).max(axis=1) >= 1e-3).sum())

    assert changed(0.0) == 0
    assert 60 < changed(0.5) < 150 < changed(1.0)  # about 8/9 of the images: the draw holds "none" too


def test_randaugment_keeps_to_label_preserving_operations_at_bounded_strength():
    layer = RandomOperations(2, seed=0)
    layer(ramps(2, channels=1), training=True)  # one channel: no saturation change
    kinds = {type(operation).__name__: operation for operation in layer.operations}
    geometric = {"RandomRotation", "RandomShear", "RandomTranslation"}
    colour = {"RandomBrightness", "RandomContrast", "RandomSharpness", "AutoContrast"}
    assert set(kinds) == geometric | colour  # no solarize, posterize, equalize or invert
    assert max(abs(f) for f in kinds["RandomRotation"].factor) * 360 <= 15  # digits and objects that fill the frame
    assert kinds["RandomTranslation"].height_upper <= 0.1 and kinds["RandomTranslation"].width_lower >= -0.1


def two_class_batches(shape: tuple[int, ...]) -> tf.data.Dataset:
    """Class 0 examples are all 0, class 1 all 1; class weights 1 and 3: every mixed part is traceable."""
    y = np.arange(64) % 2
    x = np.broadcast_to(y.reshape(-1, *[1] * len(shape)), (64, *shape)).astype(np.float32)
    labels, weights = np.eye(2, dtype=np.float32)[y], np.array([1.0, 3.0], np.float32)[y]
    return tf.data.Dataset.from_tensor_slices((x, labels, weights)).batch(32)


@pytest.mark.parametrize(
    ("mix", "shape", "tolerance"), [("mixup", (8, 8, 3), 1e-4), ("cutmix", (32, 32, 3), 1e-4), ("cutmix", (5,), 1e-4)]
)
def test_mixing_moves_images_labels_and_weights_together(mix, shape, tolerance):
    x, y, w = (np.concatenate(part) for part in zip(*mixed_batches(two_class_batches(shape), mix, seed=1), strict=True))
    assert x.shape == (64, *shape) and y.shape == (64, 2)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)
    assert ((y > 0.01) & (y < 0.99)).any()  # some examples are mixed
    share = x.reshape(64, -1).mean(axis=1)  # the part of each example taken from class 1
    np.testing.assert_allclose(share, y[:, 1], atol=tolerance)  # CutMix: the pasted pixels' share (Keras': +-0.062)
    np.testing.assert_allclose(w, y[:, 0] * 1.0 + y[:, 1] * 3.0, atol=1e-4)


def test_no_mix_leaves_the_batches_alone():
    data = two_class_batches((4,))
    assert mixed_batches(data, None, seed=0) is data
