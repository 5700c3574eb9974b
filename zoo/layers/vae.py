"""The variational autoencoder's sampling layer, registered so a saved VAE reloads with safe_mode on."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class GaussianSampling(keras.layers.Layer):
    """Draws z = mean + exp(log_var / 2) * eps while training and returns the mean at inference.

    Each call also adds `kl_weight` times the batch-mean KL(q(z|x) || N(0, I)) to the model's losses,
    so `model.fit(x, x)` with an mse loss minimises a (scaled) negative ELBO and `predict` is deterministic.
    """

    def __init__(self, kl_weight: float = 1.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kl_weight = float(kl_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        mean, log_var = inputs
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
        self.add_loss(self.kl_weight * ops.mean(kl))
        if not training:
            return mean
        noise = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * noise

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kl_weight": self.kl_weight, "seed": self.seed}
