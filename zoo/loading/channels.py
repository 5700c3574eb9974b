"""Keep pretrained weights for 1- or 4-channel inputs by adapting the first convolution, as timm's `in_chans` does."""

from __future__ import annotations

import math

import numpy as np


def adapt_kernel(kernel: np.ndarray, channels: int) -> np.ndarray:
    """A (kh, kw, 3, out) RGB kernel for `channels` inputs: grey sums RGB; more repeats RGB, rescaled by 3/C."""
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise ValueError(f"expected an RGB kernel (kh, kw, 3, out), got shape {kernel.shape}")
    if channels == 1:
        return kernel.sum(axis=2, keepdims=True)
    repeated = np.tile(kernel, (1, 1, math.ceil(channels / 3), 1))[:, :, :channels, :]
    return repeated * (3.0 / channels)


def copy_weights_adapting_channels(source, target, channels: int) -> None:
    """Copy every weight of the 3-channel `source` into the same architecture `target` built for `channels`."""
    adapted = 0
    for source_layer, target_layer in zip(source.layers, target.layers, strict=True):
        weights = []
        for weight, slot in zip(source_layer.get_weights(), target_layer.get_weights(), strict=True):
            if weight.shape != slot.shape:
                weight = adapt_kernel(weight, channels)
                adapted += 1
            weights.append(weight)
        target_layer.set_weights(weights)
    if adapted != 1:
        raise ValueError(f"expected exactly one convolution kernel to adapt to {channels} channels, adapted {adapted}")
