"""Low-rank adaptation (LoRA) of a transformer trunk: Keras' own layer-level LoRA on the attention projections.

As KerasHub's `Backbone.enable_lora` does, the query and value projections of every attention layer get rank-r
adapters and everything else in the trunk freezes: the plan's phases then decide when the adapters train (with
`unfreeze="all"`: all of them in phase 2), and the new head trains as always. Keras saves a LoRA layer with the
adapters merged into its kernel, so `model.keras`, predict and every export need nothing LoRA-aware.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from zoo.errors import BadOverride
from zoo.layers.traversal import all_layers

if TYPE_CHECKING:
    import keras

LORA_TARGETS = ("query", "value", "query_dense", "value_dense")  # KerasHub's Backbone.get_lora_target_names()


def enable_lora(model: keras.Model, rank: int) -> int:
    """Add rank-`rank` adapters to the attention projections of `model`'s trunk; how many layers got one.

    A model without attention projections (a CNN) is refused in one line.
    """
    if not isinstance(rank, int) or rank < 1:
        raise BadOverride(f"lora={rank!r}: give the adapters' rank, a whole number >= 1 (4 or 8 are usual)")
    targets = [layer for layer in all_layers(model) if layer.name in LORA_TARGETS and hasattr(layer, "enable_lora")]
    if not targets:
        raise BadOverride(
            f"lora={rank}: {model.name} has no attention projections ({', '.join(LORA_TARGETS)}) to adapt; "
            "LoRA is for transformer backbones (vit_*, deit_*, dinov2_*, siglip_*, clip_*)"
        )
    for layer in targets:
        if not getattr(layer, "lora_enabled", False):
            layer.enable_lora(rank)
    return len(targets)


def pin_for_lora(trunk: keras.Model) -> None:
    """Once a trunk has adapters, only they train in it (KerasHub's enable_lora freezes the rest the same way): every
    other weight of the trunk, and the adapted kernels themselves, stay frozen whatever the plan unfreezes (a layer's
    trainable flag sets its variables' too, so this runs after every freezing change). The adapted layers' biases
    train with their adapters, as in KerasHub."""
    layers = all_layers(trunk)
    if not any(getattr(layer, "lora_enabled", False) for layer in layers):
        return
    for layer in layers:
        if getattr(layer, "lora_enabled", False):
            layer._kernel.trainable = False  # Keras' LoRA layers freeze exactly this variable in enable_lora
        elif not any(True for _ in layer._flatten_layers(include_self=False)):
            layer.trainable = False  # a leaf that is not adapted: LayerNorms, MLPs, embeddings


def lora_param_count(layer: keras.layers.Layer) -> int:
    """Weights of `layer` (sub-layers included) that train in an adapted trunk: adapters and the adapted biases."""
    adapted = [sub for sub in [layer, *all_layers(layer)] if getattr(sub, "lora_enabled", False)]
    variables = [v for sub in adapted for v in (sub.lora_kernel_a, sub.lora_kernel_b, getattr(sub, "bias", None))]
    return sum(int(np.prod(v.shape)) for v in variables if v is not None)
