"""Autoencoders (dense, convolutional, denoising, variational) whose encoders double as feature extractors.

Every model maps an input to its own reconstruction (task "reconstruction", loss mse, target = input) through a
layer named "code"; `encoder_of(model)` cuts the model there, also for a model reloaded from a .keras file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo.entry import Entry, Reference

if TYPE_CHECKING:
    import keras

DIGITS_SHAPE = (8, 8, 1)
NOISES = ("none", "gaussian", "dropout")
BENCH_COMMAND = "python -m zoo.bench recipes --family autoencoder"


def encoder_of(model: keras.Model) -> keras.Model:
    """The sub-model input -> code of an autoencoder: a nested model named "encoder", else cut at layer "code".

    The encoder shares its layers (and weights) with `model`, so training one trains the other.
    """
    import keras

    names = {layer.name: layer for layer in model.layers}
    if isinstance(names.get("encoder"), keras.Model):
        return names["encoder"]
    if "code" not in names:
        raise ValueError(
            f"encoder_of needs a layer named 'code' or a nested model named 'encoder'; {model.name!r} has neither "
            f"(its layers: {', '.join(names)}). Build it with a zoo autoencoder recipe, e.g. zoo.load('dense_ae')."
        )
    return keras.Model(model.inputs, names["code"].output, name=f"{model.name}_encoder")


def _input_noise(x: keras.KerasTensor, noise: str, noise_level: float) -> keras.KerasTensor:
    """Corrupts the input while training only (Keras' noise layers are the identity at inference)."""
    import keras

    if noise not in NOISES:
        raise ValueError(f"noise={noise!r} is not one of {', '.join(NOISES)}")
    if noise == "gaussian":
        return keras.layers.GaussianNoise(noise_level, name="input_noise")(x)
    if noise == "dropout":
        return keras.layers.Dropout(noise_level, name="input_noise")(x)
    return x


def _dense_stack(x: keras.KerasTensor, units: tuple[int, ...], prefix: str) -> keras.KerasTensor:
    """ReLU dense layers named prefix_1, prefix_2, ..."""
    import keras

    for index, width in enumerate(units, start=1):
        x = keras.layers.Dense(width, activation="relu", name=f"{prefix}_{index}")(x)
    return x


def _dense_decoder(
    code: keras.KerasTensor, hidden: tuple[int, ...], input_shape: tuple[int, ...], output_activation: str
) -> keras.KerasTensor:
    """Mirror of the dense encoder: code -> reversed hidden widths -> a reconstruction shaped like the input."""
    import math

    import keras

    x = _dense_stack(code, tuple(reversed(hidden)), "decoder")
    x = keras.layers.Dense(math.prod(input_shape), activation=output_activation, name="decoder_output")(x)
    return keras.layers.Reshape(tuple(input_shape), name="reconstruction")(x)


def build_dense_ae(
    input_shape: tuple[int, ...] = DIGITS_SHAPE,
    code_size: int = 16,
    hidden: tuple[int, ...] = (256, 128),
    noise: str = "none",
    noise_level: float = 0.0,
    output_activation: str = "sigmoid",
    learning_rate: float = 1e-3,
    name: str = "dense_ae",
) -> keras.Model:
    """Flatten -> dense encoder -> linear code -> mirrored decoder; `noise` corrupts the input while training."""
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    inputs = keras.Input(tuple(input_shape), name="inputs")
    x = _input_noise(keras.layers.Flatten(name="flatten")(inputs), noise, noise_level)
    code = keras.layers.Dense(code_size, name="code")(_dense_stack(x, tuple(hidden), "encoder"))
    return keras.Model(inputs, _dense_decoder(code, tuple(hidden), input_shape, output_activation), name=name)


def build_conv_ae(
    input_shape: tuple[int, ...] = DIGITS_SHAPE,
    code_size: int = 16,
    filters: tuple[int, ...] = (32, 64),
    output_activation: str = "sigmoid",
    learning_rate: float = 1e-3,
    name: str = "conv_ae",
) -> keras.Model:
    """Strided 3x3 convolutions -> dense linear code -> dense -> transposed convolutions back to the input size."""
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    height, width, channels = input_shape
    scale = 2 ** len(filters)
    if height % scale or width % scale:
        raise ValueError(
            f"conv_ae halves the image {len(filters)} times, so height and width must be multiples of {scale}; "
            f"got input_shape={tuple(input_shape)}. Pad the images or pass fewer filters."
        )
    inputs = keras.Input(tuple(input_shape), name="inputs")
    x = inputs
    for index, count in enumerate(filters, start=1):
        x = keras.layers.Conv2D(count, 3, strides=2, padding="same", activation="relu", name=f"encoder_{index}")(x)
    code = keras.layers.Dense(code_size, name="code")(keras.layers.Flatten(name="flatten")(x))
    grid = (height // scale, width // scale, filters[-1])
    x = keras.layers.Dense(grid[0] * grid[1] * grid[2], activation="relu", name="decoder_dense")(code)
    x = keras.layers.Reshape(grid, name="decoder_grid")(x)
    for index, count in enumerate(reversed(filters), start=1):
        x = keras.layers.Conv2DTranspose(
            count, 3, strides=2, padding="same", activation="relu", name=f"decoder_{index}"
        )(x)
    outputs = keras.layers.Conv2D(channels, 3, padding="same", activation=output_activation, name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)


def build_vae(
    input_shape: tuple[int, ...] = DIGITS_SHAPE,
    code_size: int = 16,
    hidden: tuple[int, ...] = (256, 128),
    kl_weight: float = 3e-4,
    output_activation: str = "sigmoid",
    learning_rate: float = 1e-3,
    name: str = "vae",
) -> keras.Model:
    """Dense VAE: the code is the posterior mean; sampling adds kl_weight * KL to the losses and is off at inference.

    With an mse loss (a mean over pixels) kl_weight = 2 sigma^2 / pixels makes fit minimise the ELBO of a Gaussian
    decoder with variance sigma^2; the default 3e-4 is sigma ~ 0.1 on 64 pixels (1e-3 already blurs digits past PCA).
    """
    import keras

    from zoo.layers.vae import GaussianSampling

    del learning_rate  # used by zoo.load for the optimizer
    inputs = keras.Input(tuple(input_shape), name="inputs")
    x = _dense_stack(keras.layers.Flatten(name="flatten")(inputs), tuple(hidden), "encoder")
    mean = keras.layers.Dense(code_size, name="code")(x)
    log_var = keras.layers.Dense(code_size, name="code_log_var")(x)
    z = GaussianSampling(kl_weight=kl_weight, name="sampling")([mean, log_var])
    return keras.Model(inputs, _dense_decoder(z, tuple(hidden), input_shape, output_activation), name=name)


def _entry(name: str, build: Any, hparams: dict[str, Any], params: int, summary: str, **extra: Any) -> Entry:
    """An autoencoder row: reconstruction task, mse loss, no metrics, no classification head."""
    return Entry(
        name=name,
        family="autoencoder",
        task="reconstruction",
        build=build,
        hparams={**hparams, "learning_rate": 1e-3, "name": name},
        input_shape=DIGITS_SHAPE,
        params=params,
        summary=summary,
        loss="mse",
        metrics=(),
        classifier=None,
        **extra,
    )


_DENSE = {"input_shape": DIGITS_SHAPE, "code_size": 16, "hidden": (256, 128), "output_activation": "sigmoid"}

ENTRIES = (
    _entry(
        "dense_ae",
        build_dense_ae,
        {**_DENSE, "noise": "none", "noise_level": 0.0},
        params=103248,
        summary="Dense autoencoder 64-256-128-16-128-256-64 for 8x8 images; encoder_of() gives the 16-d code.",
        reference=Reference("sklearn digits", "test mse", 0.00779, BENCH_COMMAND),
    ),
    _entry(
        "conv_ae",
        build_conv_ae,
        {"input_shape": DIGITS_SHAPE, "code_size": 16, "filters": (32, 64), "output_activation": "sigmoid"},
        params=82961,
        summary="Convolutional autoencoder: two strided convolutions to a 16-d code, transposed convolutions back.",
        reference=Reference("sklearn digits", "test mse", 0.0083, BENCH_COMMAND),
    ),
    _entry(
        "denoising_ae",
        build_dense_ae,
        {**_DENSE, "noise": "gaussian", "noise_level": 0.1},
        params=103248,
        summary="Denoising dense autoencoder: Gaussian noise (stddev 0.1) on the input while training only.",
        reference=Reference("sklearn digits", "test mse", 0.00825, BENCH_COMMAND),
    ),
    _entry(
        "vae",
        build_vae,
        {**_DENSE, "kl_weight": 3e-4},
        params=105312,
        summary="Variational autoencoder, 16-d Gaussian code; the KL term is a model loss and predict uses the mean.",
        reference=Reference("sklearn digits", "test mse", 0.00879, BENCH_COMMAND),
    ),
)
