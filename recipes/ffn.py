"""Feed-forward recipes: multilayer perceptrons with dropout (and optional batch normalisation) for flat
feature vectors and for small images, which the model flattens itself. Variants are rows of ENTRIES.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo.entry import Entry, Reference

if TYPE_CHECKING:
    import keras

BENCH_COMMAND = "python -m zoo.bench recipes --family ffn"
# Keras' default 0.99 lets the moving statistics lag the weights over the few hundred steps of a small dataset.
BN_MOMENTUM = 0.9


def _hidden_block(x: keras.KerasTensor, units: int, index: int, batch_norm: bool, dropout: float) -> keras.KerasTensor:
    """Dense -> [BatchNorm] -> ReLU -> Dropout; with BN the Dense drops its bias (BN's beta replaces it)."""
    import keras

    x = keras.layers.Dense(units, use_bias=not batch_norm, name=f"dense_{index}")(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn_{index}")(x)
    x = keras.layers.Activation("relu", name=f"relu_{index}")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    return x


def build_mlp(
    name: str,
    input_shape: tuple[int, ...],
    hidden_units: tuple[int, ...],
    num_classes: int,
    dropout: float = 0.5,
    batch_norm: bool = False,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """Input -> [Flatten, if not already flat] -> (Dense -> [BN] -> ReLU -> Dropout) per hidden layer -> softmax."""
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout={dropout!r} must be in [0, 1)")
    inputs = keras.Input(tuple(input_shape), name="features" if len(input_shape) == 1 else "image")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for index, units in enumerate(hidden_units, start=1):
        x = _hidden_block(x, units, index, batch_norm, dropout)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def build_tabular_mlp(num_features: int, **hparams: Any) -> keras.Model:
    """`build_mlp` for a flat vector of `num_features` features (tabular data sizes itself by column count)."""
    return build_mlp(input_shape=(num_features,), **hparams)


def _digits_accuracy(value: float, how: str) -> Reference:
    """A test-accuracy result measured by `zoo.bench` on sklearn digits (mean of 3 seeds); `how` says the input."""
    return Reference(f"sklearn digits ({how})", "test accuracy", value, BENCH_COMMAND)


def _mlp(
    name: str, params: int, summary: str, preprocessing: str, reference: Reference | None = None, **hparams: Any
) -> Entry:
    """An MLP row: the defaults below, overridden by `hparams`."""
    hp = dict(name=name, hidden_units=(256, 128), num_classes=10, dropout=0.5, batch_norm=False, learning_rate=1e-3)
    hp.update(hparams)
    tabular = "num_features" in hp
    return Entry(
        name=name,
        family="ffn",
        task="classification",
        build=build_tabular_mlp if tabular else build_mlp,
        hparams=hp,
        input_shape=(hp["num_features"],) if tabular else tuple(hp["input_shape"]),
        params=params,
        summary=summary,
        preprocessing=preprocessing,
        reference=reference,
    )


ENTRIES = (
    _mlp(
        "mlp_784_1000_10",
        795010,
        "The classic MNIST MLP: 784 -> Dense(1000) ReLU -> dropout 0.5 -> 10 softmax.",
        "28x28 grey images flattened to 784 values in [0, 1]",
        input_shape=(784,),
        hidden_units=(1000,),
        reference=_digits_accuracy(0.9763, "8x8 zero-padded to 28x28, flattened to 784"),
    ),
    _mlp(
        "mlp_digits",
        51978,
        "Image MLP: flattens an 8x8x1 image inside the model -> 256 -> 128 (BN, dropout) -> softmax.",
        "grey images scaled to [0, 1], shape (8, 8, 1)",
        input_shape=(8, 8, 1),
        batch_norm=True,
        dropout=0.3,
        reference=_digits_accuracy(0.9815, "8x8x1 images as-is"),
    ),
    _mlp(
        "mlp_tabular",
        50826,
        "Tabular MLP for generic feature vectors: 256 -> 128 ReLU with dropout -> softmax.",
        "numeric features on comparable scales (standardised on the training set, or already in [0, 1])",
        num_features=64,
        dropout=0.3,
        reference=_digits_accuracy(0.9815, "the 64 pixels as features"),
    ),
)
