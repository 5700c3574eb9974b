"""Greedy layer-wise pretraining of the BernoulliRBM layers of a model (Hinton, Osindero & Teh, 2006).

RBM 1 learns the data by contrastive divergence; then RBM 2 learns what RBM 1 outputs (its hidden probabilities),
and so on up the stack. A training procedure, so it lives here and not in recipes/ (which only build models).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

    from zoo.layers.rbm import BernoulliRBM


def rbm_layers(model: keras.Model) -> list[BernoulliRBM]:
    """The model's BernoulliRBM layers, bottom to top."""
    from zoo.layers.rbm import BernoulliRBM

    return [layer for layer in model.layers if isinstance(layer, BernoulliRBM)]


def layer_inputs(model: keras.Model, layer: keras.layers.Layer, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """What `layer` receives when `model` runs on `x` in inference mode (dropout off), as a 2-D float array."""
    import keras

    if layer.input is model.inputs[0]:
        inputs = np.asarray(x, dtype="float32")
    else:
        inputs = keras.Model(model.inputs, layer.input).predict(x, batch_size=batch_size, verbose=0)
    return inputs.reshape(len(inputs), -1)


def cd_epoch(rbm: BernoulliRBM, k: int, batch_size: int, learning_rate: float) -> Callable[[Any, Any], Any]:
    """A compiled pass of CD-k: `epoch(v, order)` trains on v's rows in the batches of `order`, returns the error after.

    The batch loop is a graph loop, so an epoch is one TensorFlow call, not one eager op per batch. XLA
    (jit_compile) measured slower on CPU for these small matmuls, its compile included, so it is off.
    """
    import tensorflow as tf

    @tf.function
    def epoch(v: tf.Tensor, order: tf.Tensor) -> tf.Tensor:
        full = order.shape[0] // batch_size  # static: one trace per data size
        batches = tf.reshape(order[: full * batch_size], (full, batch_size))
        for index in tf.range(full):
            rbm.cd_step(tf.gather(v, batches[index]), k=k, learning_rate=learning_rate)
        if order.shape[0] % batch_size:
            rbm.cd_step(tf.gather(v, order[full * batch_size :]), k=k, learning_rate=learning_rate)
        return rbm.reconstruction_error(v)

    return epoch


def pretrain_layer(
    rbm: BernoulliRBM, v: np.ndarray, epochs: int = 10, k: int = 1, batch_size: int = 32, learning_rate: float = 0.1
) -> list[float]:
    """CD-k on `v` for `epochs` shuffled passes; returns the reconstruction error before and after each epoch."""
    import tensorflow as tf

    v = tf.convert_to_tensor(v, dtype=rbm.kernel.dtype)
    epoch = cd_epoch(rbm, k, batch_size, learning_rate)
    history = [float(rbm.reconstruction_error(v))]
    for _ in range(epochs):
        order = np.random.permutation(len(v))  # the global NumPy RNG, which keras.utils.set_random_seed seeds
        history.append(float(epoch(v, tf.convert_to_tensor(order))))
    return history


def pretrain(
    model: keras.Model,
    x: np.ndarray,
    epochs: int = 10,
    k: int = 1,
    batch_size: int = 32,
    learning_rate: float = 0.1,
) -> list[list[float]]:
    """Pretrain each BernoulliRBM of `model` in turn on the output of the (already trained) layers below it.

    Returns one reconstruction-error history per RBM: [before, after epoch 1, ..., after epoch `epochs`].
    """
    rbms = rbm_layers(model)
    if not rbms:
        raise ValueError(f"model {model.name!r} has no BernoulliRBM layer to pretrain")
    if epochs < 0 or batch_size < 1:
        raise ValueError(
            f"pretrain needs epochs >= 0 and batch_size >= 1, got epochs={epochs}, batch_size={batch_size}"
        )
    histories = []
    for rbm in rbms:
        v = layer_inputs(model, rbm, x)
        histories.append(pretrain_layer(rbm, v, epochs=epochs, k=k, batch_size=batch_size, learning_rate=learning_rate))
    return histories
