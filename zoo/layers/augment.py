"""Augmentation recipes: the presets ("light", "strong") and explicit lists, as Keras 3.15 layers.

Two kinds of change, applied at two places (zoo.training.phase_fit):
- per image (flip, rotation, zoom, contrast, RandAugment): a keras.Sequential that runs where the images enter,
  so it is baked into each cached view while the trunk is frozen, or runs inside the trainer every step otherwise;
- per batch (MixUp, CutMix): pairs of training examples and their labels mixed in the training pipeline, after the
  cache, so every epoch draws new pairs even from cached views. On cached features MixUp mixes the features (the
  linear "manifold mixup" of the frozen trunk's output); CutMix needs a spatial map and mixes pooled features as
  MixUp. Not while only the head trains when a later phase trains more (FinetunePlan.mix_in). Validation data is
  never changed.
Labels are one-hot floats (the loss is categorical cross-entropy), so mixed labels are soft labels; label smoothing
then applies on top of them (y * (1 - e) + e / classes), and an example's class weight is mixed with the same share
as its label, so a rare class keeps its weight in expectation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import keras

from zoo.errors import BadOverride

MIXUP_ALPHA = 0.2  # Beta(alpha, alpha) mixing share: timm's and Keras' default for MixUp
RANDAUGMENT_OPS = 1  # operations per image: TrivialAugment's one, at a random strength (2 cost more on digits)
OPERATION_SHARE = 0.5  # share of images that get the operation (the rest keep light's changes only)
ROTATION_TURNS = 15 / 360  # top magnitudes, half timm's rand-m10 for geometry (objects that fill their frame):
SHEAR = 0.15  # rotation 15 degrees, shear 0.15,
TRANSLATION = 0.1  # shifts of 10% of the side (timm's translate_pct is 0.45 at m10; small objects leave the frame),
COLOUR = 0.4  # brightness, contrast, saturation and sharpness changed by up to 40% (timm: 0.9 at m10)
MIXES = ("mixup", "cutmix")


@dataclass(frozen=True)
class Augmentation:
    """Random changes to training images (Keras layers, training only, never in the exported model)."""

    flip: str | None = "horizontal"
    rotation: float = 0.05  # fraction of a full turn: 0.05 = up to 18 degrees either way
    zoom: float = 0.1
    contrast: float = 0.1
    randaugment: int = 0  # RandAugment operations per image (0: off; RandomOperations); values as RGB in [0, 255]
    mix: str | None = None  # "mixup" or "cutmix": pairs of examples and their labels mixed per batch

    def describe(self) -> str:
        parts = [f"RandomFlip({self.flip})"] if self.flip else []
        parts += [f"RandomRotation({self.rotation})"] if self.rotation else []
        parts += [f"RandomZoom({self.zoom})"] if self.zoom else []
        parts += [f"RandomContrast({self.contrast})"] if self.contrast else []
        ops = f"{self.randaugment} op{'s' if self.randaugment > 1 else ''} on {OPERATION_SHARE:.0%} of images"
        parts += [f"RandAugment({ops}, geometric + colour)"] if self.randaugment else []
        parts += [f"MixUp(alpha {MIXUP_ALPHA}) per batch"] if self.mix == "mixup" else []
        parts += ["CutMix per batch"] if self.mix == "cutmix" else []
        return ", ".join(parts) or "none"


LIGHT = Augmentation()
STRONG = replace(LIGHT, randaugment=RANDAUGMENT_OPS)  # no MixUp: it cost on digits (docs/benchmarks.md)
NAMES = ("flip", "rotation", "zoom", "contrast", "randaugment", *MIXES)  # what an explicit list may name


def augmentation_named(augment: str | list[str] | tuple[str, ...]) -> Augmentation:
    """The preset ("light", "strong") or the explicit list (each at its light/strong strength, the rest off)."""
    if isinstance(augment, str) and augment in ("light", "strong"):
        return LIGHT if augment == "light" else STRONG
    names = [name.strip() for name in augment.split(",")] if isinstance(augment, str) else list(augment)
    unknown = [name for name in names if name not in NAMES]
    if unknown or not names or len(set(names) & set(MIXES)) > 1:
        raise BadOverride(
            f"augment={augment!r}: use 'light', 'strong', or a list of {', '.join(NAMES)} (one of mixup, cutmix)"
        )
    off = Augmentation(flip=None, rotation=0.0, zoom=0.0, contrast=0.0)
    chosen = {name: getattr(STRONG, name) for name in NAMES[:5] if name in names}
    mix = next((name for name in names if name in MIXES), None)
    return replace(off, **chosen, mix=mix)


def augmenter_for(augmentation: Augmentation | None, seed: int) -> keras.Sequential | None:
    """The per-image changes as Keras preprocessing layers (active with training=True only), seeded."""
    if augmentation is None:
        return None
    layers = []
    if augmentation.flip:
        layers.append(keras.layers.RandomFlip(augmentation.flip, seed=seed))
    if augmentation.rotation:
        layers.append(keras.layers.RandomRotation(augmentation.rotation, seed=seed + 1))
    if augmentation.zoom:
        layers.append(keras.layers.RandomZoom(augmentation.zoom, seed=seed + 2))
    if augmentation.contrast:
        layers.append(keras.layers.RandomContrast(augmentation.contrast, seed=seed + 3))
    if augmentation.randaugment:
        layers.append(RandomOperations(augmentation.randaugment, OPERATION_SHARE, seed=seed + 4))
    return keras.Sequential(layers, name="augmentation") if layers else None


def randaugment_operations(seed: int, channels: int) -> list[keras.Layer]:
    """RandAugment's geometric and mild colour operations (geometry at half timm's rand-m10 tops), each drawn per
    image between none and that top; solarize, posterize, equalize and invert are left out (see RandomOperations)."""
    colour = {"value_range": (0, 255)}
    chosen = [
        (keras.layers.RandomRotation, (ROTATION_TURNS,), {}),
        (keras.layers.RandomShear, (SHEAR, SHEAR), {}),
        (keras.layers.RandomTranslation, (TRANSLATION, TRANSLATION), {}),
        (keras.layers.RandomBrightness, (COLOUR,), colour),
        (keras.layers.RandomContrast, (COLOUR,), colour),
        (keras.layers.RandomSharpness, ((0.5 - COLOUR / 2, 0.5 + COLOUR / 2),), colour),  # 0.5: unchanged
        *([(keras.layers.RandomColorDegeneration, (COLOUR,), colour)] if channels == 3 else []),  # saturation
    ]
    return [kind(*args, **kwargs, seed=seed + index) for index, (kind, args, kwargs) in enumerate(chosen)] + [
        keras.layers.AutoContrast((0, 255))
    ]


class RandomOperations(keras.layers.Layer):
    """RandAugment done per image: a `share` of the images gets `count` operations, each drawn from
    randaugment_operations (or none), each at a random magnitude. Keras' own RandAugment draws one choice per batch,
    not per image, and reads its factor as turns and image fractions (0.5: rotations up to 180 degrees)."""

    def __init__(self, count: int, share: float = 1.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count, self.share, self.seed = count, share, seed
        self.operations: list[keras.Layer] = []
        self.generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape: tuple) -> None:
        self.operations = randaugment_operations(self.seed or 0, input_shape[-1])

    def call(self, images: Any, training: bool = False) -> Any:
        if not training:
            return images
        ops = keras.ops
        images = ops.cast(images, self.compute_dtype)
        for _ in range(self.count):
            choice = keras.random.randint(ops.shape(images)[:1], 0, len(self.operations) + 1, seed=self.generator)
            skipped = keras.random.uniform(ops.shape(images)[:1], seed=self.generator) >= self.share
            choice = ops.where(skipped, len(self.operations), choice)
            changed = images  # choice == len(operations): this image unchanged by this draw
            for index, operation in enumerate(self.operations):
                chosen = ops.reshape(ops.equal(choice, index), (-1, 1, 1, 1))
                changed = ops.where(chosen, ops.cast(operation(images, training=True), self.compute_dtype), changed)
            images = changed
        return images

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "count": self.count, "share": self.share, "seed": self.seed}


def pasted_share_labels(layer: keras.layers.CutMix, batch: dict[str, Any]) -> dict[str, Any]:
    """Keras' CutMix with each label weighted by the share of pixels its box really pasted (Yun et al. 2019).

    Keras 3.15 weights labels by the box's real-valued area, while its mask takes whole pixels: up to 0.062 apart at
    32 px. Its own random box and images are used; only the labels' weights are counted off the mask.
    """
    import tensorflow as tf

    change = layer.get_random_transformation(batch, training=True)
    images = layer.transform_images(batch["images"], change, training=True)
    pasted = tf.reduce_mean(tf.cast(change["batch_masks"][..., :1], tf.float32), axis=[1, 2])  # (n, 1)
    labels = tf.cast(batch["labels"], tf.float32)
    partner = tf.gather(labels, change["permutation_order"])
    return {"images": images, "labels": (1.0 - pasted) * labels + pasted * partner}


def mixed_batches(dataset: Any, mix: str | None, seed: int) -> Any:
    """`dataset`'s (x, one-hot y[, weights]) training batches with pairs mixed (MixUp or CutMix), or as it is.

    The weights travel as one more label column, so they are mixed with exactly the labels' shares.
    """
    if mix is None:
        return dataset
    import tensorflow as tf

    shape = tuple(dataset.element_spec[0].shape[1:])
    spatial = mix == "cutmix" and len(shape) == 3
    layer = keras.layers.CutMix(seed=seed) if spatial else keras.layers.MixUp(alpha=MIXUP_ALPHA, seed=seed)
    cut_mixed = partial(pasted_share_labels, layer)
    as_images = shape if len(shape) == 3 else (1, 1, math.prod(shape))  # MixUp's mixing is the same at any shape

    def mixed(x: Any, y: Any, *weights: Any) -> tuple:
        labels = tf.concat([y, weights[0][:, None]], axis=1) if weights else y
        out = (cut_mixed if spatial else layer)({"images": tf.reshape(x, (-1, *as_images)), "labels": labels})
        images, labels = tf.reshape(out["images"], (-1, *shape)), out["labels"]
        return (images, labels[:, :-1], labels[:, -1]) if weights else (images, labels)

    return dataset.map(mixed, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
