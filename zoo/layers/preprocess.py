"""`Preprocess`: a backbone's ImageNet input normalisation as a layer, so it travels inside the saved model.

Keeping it in the graph (as keras.applications.EfficientNet does) means nobody can forget or mismatch it at
prediction time. Inputs are RGB pixel values in [0, 255].
"""

from __future__ import annotations

import keras
from keras import ops

IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# mode -> (flip RGB to BGR, per-channel offset, per-channel scale): out = (x - offset) / scale, RGB order.
MODES: dict[str, tuple[bool, tuple[float, ...], tuple[float, ...]]] = {
    "caffe": (True, CAFFE_MEAN_BGR[::-1], (1.0, 1.0, 1.0)),
    "torch": (False, tuple(255.0 * m for m in IMAGENET_MEAN_RGB), tuple(255.0 * s for s in IMAGENET_STD_RGB)),
    "tf": (False, (127.5,) * 3, (127.5,) * 3),
    "efficientnet_lite": (False, (127.0,) * 3, (128.0,) * 3),
    "efficientnet_v2": (False, (128.0,) * 3, (128.0,) * 3),
    # EfficientNet v1 keeps Rescaling(1/255) + Normalization inside; with ImageNet weights Keras appends
    # Rescaling(1/sqrt(std)) after them (tensorflow/tensorflow#49930), which a weights=None build lacks.
    # Scaling (x - 255 m) by 1/sqrt(std) before the model's own layers gives exactly the same result.
    "efficientnet_v1": (
        False,
        tuple(255.0 * m * (1.0 - s**0.5) for m, s in zip(IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, strict=True)),
        tuple(s**0.5 for s in IMAGENET_STD_RGB),
    ),
    "raw": (False, (0.0,) * 3, (1.0,) * 3),
}


def channel_stats(values: tuple[float, ...], channels: int) -> list[float]:
    """Per-channel constants for `channels` inputs: grey takes the RGB mean, extra channels repeat it."""
    mean = sum(values) / 3
    if channels == 1:
        return [mean]
    return list(values) + [mean] * (channels - 3)


@keras.saving.register_keras_serializable(package="zoo")
class Preprocess(keras.layers.Layer):
    """Normalises [0, 255] RGB (or 1- or 4-channel) images the way the backbone was trained."""

    def __init__(self, mode: str, channels: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"Preprocess mode {mode!r} is not one of {', '.join(MODES)}")
        if channels not in (1, 3, 4):
            raise ValueError(f"Preprocess takes 1, 3 or 4 channels, got {channels}")
        self.mode = mode
        self.channels = channels
        self.flip_to_bgr, offset, scale = MODES[mode]
        self.offset = channel_stats(offset, channels)
        self.scale = channel_stats(scale, channels)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        x = (x - ops.convert_to_tensor(self.offset, x.dtype)) / ops.convert_to_tensor(self.scale, x.dtype)
        if self.flip_to_bgr and self.channels >= 3:
            x = ops.concatenate([ops.flip(x[..., :3], axis=-1), x[..., 3:]], axis=-1)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode, "channels": self.channels}
