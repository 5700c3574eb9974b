"""Discriminative learning rates: earlier blocks of a pretrained trunk take smaller steps than later ones.

Keras 3 has no per-layer learning rate, and scaling gradients would not do it: Adam divides the scale back out.
`DiscriminativeAdam` scales the step itself, per variable, inside Adam's own update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras

from zoo.training.freezing import trunk_blocks, trunk_nodes, tunable_variables


@keras.saving.register_keras_serializable(package="zoo")
class DiscriminativeAdam(keras.optimizers.Adam):
    """Adam whose learning rate is multiplied per variable by `multipliers[variable.path]` (1.0 when absent)."""

    def __init__(self, *args: Any, multipliers: Mapping[str, float] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multipliers = {str(path): float(value) for path, value in (multipliers or {}).items()}
        self._scales: list[float] = []

    def build(self, var_list: Sequence[Any]) -> None:
        super().build(var_list)
        # Indexed like Adam's own slots, so update_step finds a variable's scale as it finds its moments.
        self._scales = [self.multipliers.get(variable.path, 1.0) for variable in var_list]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        scale = self._scales[self._get_variable_index(variable)]
        super().update_step(gradient, variable, learning_rate * scale if scale != 1.0 else learning_rate)

    def get_config(self) -> dict:
        return {**super().get_config(), "multipliers": dict(self.multipliers)}


def variable_multipliers(trunk: keras.Model, multipliers: Sequence[tuple[str, float]]) -> dict[str, float]:
    """variable.path -> multiplier for every weight of the named trunk blocks (the head, absent, keeps 1.0)."""
    by_block = dict(multipliers)
    layers = {node.operation.name: node.operation for node in trunk_nodes(trunk)}
    return {
        variable.path: by_block[block.name]
        for block in trunk_blocks(trunk)
        if block.name in by_block
        for name in block.layers
        for variable in tunable_variables(layers[name])
    }
