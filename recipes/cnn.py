"""Convolutional recipes: LeNet-5, a small VGG-style net and a small (CIFAR-style) ResNet.

Every builder takes `input_shape` and `num_classes`, so the same rows serve 32x32 colour images and 8x8 digits
(e.g. `zoo.load("resnet_small", input_shape=(8, 8, 1))`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo.entry import Entry, Reference

if TYPE_CHECKING:
    import keras

BENCH_COMMAND = "python -m zoo.bench recipes --family cnn"
# Keras' default 0.99 leaves the moving statistics far behind the weights after the few hundred steps that small
# datasets give; 0.9 (PyTorch's default) tracks them, so evaluation-mode accuracy matches training-mode accuracy.
BN_MOMENTUM = 0.9
LENET_CANVAS = 32  # LeNet-5's 5x5 'valid' convolutions and pools need a 32x32 input to end at 1x1 before C5


def _classifier_head(x: keras.KerasTensor, num_classes: int, dropout: float) -> keras.KerasTensor:
    """[Dropout] -> Dense softmax named "predictions"."""
    import keras

    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout={dropout!r} must be in [0, 1)")
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)


def build_lenet5(
    name: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    activation: str = "tanh",
    dropout: float = 0.0,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """LeNet-5 (LeCun et al. 1998): C1 conv6 5x5 -> S2 avg-pool -> C3 conv16 5x5 -> S4 -> C5 conv120 5x5 -> F6 84.

    An input that is not 32x32 is first resized (bilinear) to 32x32, in the graph, so 8x8 digits or 28x28
    MNIST feed the classic layer sizes unchanged.
    """
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    image = keras.Input(tuple(input_shape), name="image")
    x = image
    if tuple(input_shape[:2]) != (LENET_CANVAS, LENET_CANVAS):
        x = keras.layers.Resizing(LENET_CANVAS, LENET_CANVAS, interpolation="bilinear", name="resize")(x)
    x = keras.layers.Conv2D(6, 5, activation=activation, name="c1")(x)
    x = keras.layers.AveragePooling2D(2, name="s2")(x)
    x = keras.layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = keras.layers.AveragePooling2D(2, name="s4")(x)
    x = keras.layers.Conv2D(120, 5, activation=activation, name="c5")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(84, activation=activation, name="f6")(x)
    return keras.Model(image, _classifier_head(x, num_classes, dropout), name=name)


def _conv_bn_relu(x: keras.KerasTensor, filters: int, name: str, strides: int = 1) -> keras.KerasTensor:
    """3x3 'same' conv (no bias: BN's beta replaces it) -> BatchNorm -> ReLU."""
    import keras

    x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def build_vgg_small(
    name: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    filters: tuple[int, ...] = (32, 64, 128),
    convs_per_block: int = 2,
    dense_units: int = 256,
    dropout: float = 0.5,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """VGG-style: per block, `convs_per_block` 3x3 conv-BN-ReLU then 2x2 max-pool; Flatten -> Dense -> softmax.

    Pools use 'same' padding so an 8x8 input survives three blocks (8 -> 4 -> 2 -> 1).
    """
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    image = keras.Input(tuple(input_shape), name="image")
    x = image
    for block, width in enumerate(filters, start=1):
        for conv in range(1, convs_per_block + 1):
            x = _conv_bn_relu(x, width, f"block{block}_{conv}")
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"block{block}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense_units, activation="relu", name="fc")(x)
    return keras.Model(image, _classifier_head(x, num_classes, dropout), name=name)


def _residual_block(x: keras.KerasTensor, filters: int, strides: int, name: str) -> keras.KerasTensor:
    """Basic block (He et al. 2016): conv-BN-ReLU -> conv-BN, plus a shortcut (1x1 conv-BN where the shape changes)."""
    import keras

    y = _conv_bn_relu(x, filters, f"{name}_1", strides)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    y = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_2_bn")(y)
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=strides, use_bias=False, name=f"{name}_proj_conv")(x)
        shortcut = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_proj_bn")(shortcut)
    x = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.Activation("relu", name=f"{name}_out")(x)


def build_resnet_small(
    name: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    filters: tuple[int, ...] = (16, 32, 64),
    blocks_per_stage: int = 3,
    dropout: float = 0.0,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """CIFAR-style ResNet (6n+2 layers; n=3 is ResNet-20): 3x3 stem, stages of basic blocks, each later stage
    halving the resolution and widening; global average pool -> softmax.
    """
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    image = keras.Input(tuple(input_shape), name="image")
    x = _conv_bn_relu(image, filters[0], "stem")
    for stage, width in enumerate(filters, start=1):
        for block in range(1, blocks_per_stage + 1):
            strides = 2 if stage > 1 and block == 1 else 1
            x = _residual_block(x, width, strides, f"stage{stage}_block{block}")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(image, _classifier_head(x, num_classes, dropout), name=name)


def _digits_accuracy(value: float) -> Reference:
    """A test-accuracy result measured by `zoo.bench` on sklearn digits (mean of 3 seeds), loaded for 8x8x1 input."""
    return Reference("sklearn digits (input_shape=(8, 8, 1))", "test accuracy", value, BENCH_COMMAND)


def _cnn(name: str, build: Any, params: int, summary: str, reference: Reference | None = None, **hparams: Any) -> Entry:
    """A CNN row: the defaults (32x32x3 input, 10 classes) overridden by `hparams`."""
    hp = dict(name=name, input_shape=(32, 32, 3), num_classes=10, learning_rate=1e-3)
    hp.update(hparams)
    return Entry(
        name=name,
        family="cnn",
        task="classification",
        build=build,
        hparams=hp,
        input_shape=tuple(hp["input_shape"]),
        params=params,
        summary=summary,
        preprocessing="images scaled to [0, 1]",
        reference=reference,
    )


ENTRIES = (
    _cnn(
        "lenet5",
        build_lenet5,
        61706,
        "LeNet-5 (1998): two conv/avg-pool stages, C5 and F6; other sizes resized to 32x32.",
        input_shape=(32, 32, 1),
        activation="tanh",
        dropout=0.0,
        learning_rate=3e-3,
        reference=_digits_accuracy(0.977),
    ),
    _cnn(
        "vgg_small",
        build_vgg_small,
        815466,
        "Small VGG: 3 blocks of 2 conv-BN-ReLU (32/64/128) + max-pool, Dense 256, dropout.",
        filters=(32, 64, 128),
        convs_per_block=2,
        dense_units=256,
        dropout=0.5,
        reference=_digits_accuracy(0.9889),
    ),
    _cnn(
        "resnet_small",
        build_resnet_small,
        274042,
        "ResNet-20 for 32x32 images: 3 stages x 3 basic blocks (16/32/64), BN, GAP.",
        filters=(16, 32, 64),
        blocks_per_stage=3,
        dropout=0.0,
        reference=_digits_accuracy(0.977),
    ),
)
