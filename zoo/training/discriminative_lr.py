"""Learning rates: discriminative ones (earlier blocks of a pretrained trunk take smaller steps than later ones) and
the one-cycle schedule.

Keras 3 has no per-layer learning rate, and scaling gradients would not do it: Adam divides the scale back out.
`DiscriminativeAdam` scales the step itself, per variable, inside Adam's own update.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras

from zoo.training.freezing import block_layers, trunk_blocks, tunable_variables


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
    return {
        variable.path: by_block[block.name]
        for block in trunk_blocks(trunk)
        if block.name in by_block
        for layer in block_layers(trunk, block)
        for variable in tunable_variables(layer)
    }


@keras.saving.register_keras_serializable(package="zoo")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """fastai's one-cycle policy: cosine up from peak / `start_div` over the first `warm_share` of the steps, then
    cosine down to peak / `final_div` (fastai's fit_one_cycle defaults: div=25, pct_start=0.25, div_final=1e5; its
    momentum cycling is not copied: Adam's beta_1 stays 0.9)."""

    def __init__(
        self, peak: float, total_steps: int, warm_share: float = 0.25, start_div: float = 25.0, final_div: float = 1e5
    ) -> None:
        self.peak, self.total_steps, self.warm_share = float(peak), int(total_steps), float(warm_share)
        self.start_div, self.final_div = float(start_div), float(final_div)

    def __call__(self, step: Any) -> Any:
        ops = keras.ops
        step = ops.cast(step, "float32")
        warm = max(1.0, round(self.total_steps * self.warm_share))
        low, final = self.peak / self.start_div, self.peak / self.final_div
        rising = low + (self.peak - low) * (1 - ops.cos(math.pi * ops.minimum(step / warm, 1.0))) / 2
        done = ops.clip((step - warm) / max(1.0, self.total_steps - warm), 0.0, 1.0)
        falling = final + (self.peak - final) * (1 + ops.cos(math.pi * done)) / 2
        return ops.where(step < warm, rising, falling)

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warm_share": self.warm_share,
            "start_div": self.start_div,
            "final_div": self.final_div,
        }
