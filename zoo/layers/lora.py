"""Low-rank adaptation (LoRA) of a transformer trunk: Keras' own layer-level LoRA on the attention projections.

As KerasHub's `Backbone.enable_lora` does, the query and value projections of every attention layer get rank-r
adapters and their kernels freeze; everything else follows zoo's freezing plan. Keras saves a LoRA layer with the
adapters merged into its kernel, so `model.keras`, predict and every export need nothing LoRA-aware.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def pin_lora_kernels(model: keras.Model) -> None:
    """Keep the adapted kernels frozen: unfreezing a block sets every variable of it trainable again."""
    for layer in all_layers(model):
        if getattr(layer, "lora_enabled", False):
            layer._kernel.trainable = False  # Keras' LoRA layers freeze exactly this variable in enable_lora
