"""`TokenPooling`: a vision transformer's token sequence -> one feature vector (its class token, or the mean)."""

from __future__ import annotations

from typing import Any

import keras

POOLINGS = ("class", "mean")


@keras.saving.register_keras_serializable(package="zoo")
class TokenPooling(keras.layers.Layer):
    """(batch, tokens, dim) -> (batch, dim): token 0 (the class token ViT, DeiT and DINOv2 classify from) or the mean
    of all tokens. A layer rather than a slice in the graph, so the saved model reloads with safe_mode on."""

    def __init__(self, pooling: str = "class", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}: choose among {', '.join(POOLINGS)}")
        self.pooling = pooling

    def call(self, tokens: Any) -> Any:
        if self.pooling == "class":
            return tokens[:, 0, :]
        return keras.ops.mean(tokens, axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "pooling": self.pooling}
