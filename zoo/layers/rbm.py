"""BernoulliRBM: a restricted Boltzmann machine that, inside a network, is a sigmoid dense layer.

Its forward call is the hidden probabilities sigmoid(vW + b_h), so a stack of pretrained RBMs unrolls into a
feed-forward classifier that `fit` fine-tunes. `cd_step` trains it without labels by contrastive divergence (CD-k),
following Hinton, "A Practical Guide to Training Restricted Boltzmann Machines" (UTML TR 2010-003).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class BernoulliRBM(keras.layers.Layer):
    """Binary hidden units over visible units in [0, 1]: weights W, hidden bias b_h, visible bias b_v.

    b_v is used only by the generative (reconstruction) direction, so it is a non-trainable weight: `fit` leaves
    it alone, `cd_step` updates it, and saving keeps it.
    """

    def __init__(
        self,
        units: int,
        kernel_initializer: Any = "glorot_uniform",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"BernoulliRBM needs a positive integer number of hidden units, got units={units!r}")
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        visible = input_shape[-1]
        if visible is None:
            raise ValueError(f"BernoulliRBM needs a known last input dimension, got input shape {input_shape}")
        self.kernel = self.add_weight(shape=(visible, self.units), initializer=self.kernel_initializer, name="kernel")
        self.hidden_bias = self.add_weight(shape=(self.units,), initializer="zeros", name="hidden_bias")
        self.visible_bias = self.add_weight(shape=(visible,), initializer="zeros", name="visible_bias", trainable=False)

    def call(self, inputs: Any) -> Any:
        return self.hidden_probabilities(inputs)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape[:-1], self.units)

    def hidden_probabilities(self, visible: Any) -> Any:
        """p(h = 1 | v) = sigmoid(vW + b_h)."""
        return ops.sigmoid(ops.matmul(visible, self.kernel) + self.hidden_bias)

    def visible_probabilities(self, hidden: Any) -> Any:
        """p(v = 1 | h) = sigmoid(hW^T + b_v)."""
        return ops.sigmoid(ops.matmul(hidden, ops.transpose(self.kernel)) + self.visible_bias)

    def reconstruction_error(self, visible: Any) -> Any:
        """Mean squared error between v and its mean-field reconstruction p(v | p(h | v)); deterministic."""
        visible = ops.convert_to_tensor(visible, dtype=self.kernel.dtype)
        reconstruction = self.visible_probabilities(self.hidden_probabilities(visible))
        return ops.mean(ops.square(visible - reconstruction))

    def cd_step(self, v0: Any, k: int = 1, learning_rate: float = 0.1) -> Any:
        """One CD-k update on a batch: W, b_h and b_v move by positive minus negative statistics.

        The Gibbs chain samples binary hiddens and uses visible probabilities (less sampling noise, per Hinton's
        guide); returns the batch's reconstruction error after the first Gibbs step, before the update.
        """
        if k < 1:
            raise ValueError(f"CD-k needs k >= 1 Gibbs steps, got k={k}")
        v0 = ops.convert_to_tensor(v0, dtype=self.kernel.dtype)
        h0 = self.hidden_probabilities(v0)
        vk = self.visible_probabilities(self._sample(h0))
        error = ops.mean(ops.square(v0 - vk))
        hk = self.hidden_probabilities(vk)
        for _ in range(k - 1):
            vk = self.visible_probabilities(self._sample(hk))
            hk = self.hidden_probabilities(vk)
        batch = ops.cast(ops.shape(v0)[0], v0.dtype)
        positive = ops.matmul(ops.transpose(v0), h0)
        negative = ops.matmul(ops.transpose(vk), hk)
        self.kernel.assign_add(learning_rate * (positive - negative) / batch)
        self.hidden_bias.assign_add(learning_rate * ops.mean(h0 - hk, axis=0))
        self.visible_bias.assign_add(learning_rate * ops.mean(v0 - vk, axis=0))
        return error

    def _sample(self, probabilities: Any) -> Any:
        """Bernoulli samples (0.0 / 1.0) with the given probabilities."""
        noise = keras.random.uniform(ops.shape(probabilities), dtype=probabilities.dtype, seed=self.seed_generator)
        return ops.cast(noise < probabilities, probabilities.dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            seed=self.seed,
        )
        return config
