"""Blocks nested inside one layer, reached by path: a KerasHub backbone (ViT, DeiT, HGNetV2) is one node of zoo's
trunk and keeps its transformer blocks or CNN stages inside an encoder layer.

Freezing finds them here and sets `trainable` on them in place, so the functional graph, and the saved model, stay
as KerasHub built them (their layers do not round-trip their configs outside the backbone: no flat rebuild).
"""

from __future__ import annotations

import re
from typing import Any

from zoo.layers.traversal import set_trainable_flag

# A block's name inside a layer name: efficientnet "block6a", resnet "conv5_block3", mobilenet_v2 "block_16",
# convnext "..._stage_2_block_8", mobilenet "conv_pw_13", inception "mixed9", mobilenet_v3 "expanded_conv_4",
# KerasHub's transformer blocks: vit "transformer_block_3", siglip/clip "encoder_block_3", dinov2 "layers_3",
# hgnetv2 "encoder_stage_2". Greedy, so the innermost name wins.
BLOCK_NAME = re.compile(r"^(.*(?:block|stage|conv_dw|conv_pw|mixed|expanded_conv|layers)_?\d+[a-z]?)(?:_|$)")
PATH_SEPARATOR = "/"


def children(layer: Any) -> list[Any]:
    """`layer`'s direct sub-layers in the order they run: a functional model's by its graph, others as tracked."""
    by_depth = getattr(layer, "_nodes_by_depth", None)
    if by_depth:
        return [node.operation for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]
    return list(layer._flatten_layers(include_self=False, recursive=False))


def nested_units(layer: Any, path: str) -> list[tuple[str, Any]] | None:
    """(path, layer) of the units `layer` splits into, in running order: the children of every container with two or
    more children named as blocks, the layers beside such containers as they are. None when nothing inside is named
    as blocks, or a container on the way holds weights of its own (they would belong to no unit)."""
    inner = children(layer)
    if len(inner) < 2 or _own_weights(layer):
        return None
    if sum(bool(BLOCK_NAME.match(child.name)) for child in inner) >= 2:
        return [(f"{path}{PATH_SEPARATOR}{child.name}", child) for child in inner]
    units, found = [], False
    for child in inner:
        deeper = nested_units(child, f"{path}{PATH_SEPARATOR}{child.name}")
        found = found or deeper is not None
        units += deeper or [(f"{path}{PATH_SEPARATOR}{child.name}", child)]
    return units if found else None


def _own_weights(layer: Any) -> bool:
    return bool(getattr(layer, "_trainable_variables", None))


def layer_at(root: Any, path: str) -> Any:
    """The layer at `path` (names joined by "/") below `root`; KeyError naming the missing step."""
    layer = root
    for name in path.split(PATH_SEPARATOR):
        layer = next((child for child in children(layer) if child.name == name), None)
        if layer is None:
            raise KeyError(f"no layer {name!r} on the path {path!r} inside {root.name}")
    return layer


def train_only(layer: Any, paths: set[str]) -> None:
    """Make `layer` trainable with, below it, only the sub-layers at `paths` (relative, "/"-joined) training; an
    empty path ("") trains all of it. Takes effect at the next compile, like any `trainable` change."""
    set_trainable_flag(layer, True)
    if "" in paths:
        return
    for variable in layer._trainable_variables:
        variable.trainable = False  # a partly trained container's own weights belong to no block
    for child in children(layer):
        below = paths_below(paths, child.name)
        if below:
            train_only(child, below)
        else:
            set_trainable_flag(child, False)


def paths_below(paths: set[str], name: str) -> set[str]:
    """The rest of each path in `paths` that starts at the layer `name` ("" for the layer itself)."""
    return {rest for first, _, rest in (path.partition(PATH_SEPARATOR) for path in paths) if first == name}
