"""CNN benchmark: test-split accuracy of the catalogue's CNNs on sklearn digits (8x8x1), mean over seeds."""

from __future__ import annotations

from collections.abc import Iterable

from zoo.bench.recipes.ffn import Run, measure
from zoo.bench.table import Row

FAMILY = "cnn"
DIGITS = dict(input_shape=(8, 8, 1), num_classes=10)

RUNS = (
    Run("lenet5", 20, "input_shape=(8, 8, 1): digits resized to 32x32 inside the model", overrides=DIGITS),
    Run("vgg_small", 10, "input_shape=(8, 8, 1): 8x8 digits as-is", overrides=DIGITS),
    Run("resnet_small", 10, "input_shape=(8, 8, 1): 8x8 digits as-is", overrides=DIGITS),
)


def run(seeds: Iterable[int]) -> list[Row]:
    """Every CNN recipe on sklearn digits, loaded with a digits-shaped input."""
    return measure(RUNS, FAMILY, seeds)
