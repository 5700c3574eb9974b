"""Which layers train: a backbone's parts, its blocks, freezing with BatchNorm pinned, and cutting the trunk in two.

Keras facts this module is built on (Keras 3.15): a `trainable` change takes effect at the next `compile`; a
BatchNormalization layer with `trainable=False` runs in inference mode, so its moving statistics stay as pretrained.
Calling the backbone with `training=False` is NOT enough once it is unfrozen: `fit` still updates the statistics
(keras-team/keras#20285), so every BatchNorm layer of a pretrained trunk is pinned with `trainable=False`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from zoo.layers.lora import lora_param_count, pin_for_lora
from zoo.layers.nested_blocks import BLOCK_NAME, layer_at, nested_units, paths_below, train_only
from zoo.layers.traversal import all_layers, is_batchnorm, set_trainable_flag

if TYPE_CHECKING:
    import keras

# Names Keras gives layers nobody named (conv2d_85): they say nothing about the block they belong to.
AUTO_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z]+)*_\d+$")


@dataclass(frozen=True)
class BackboneParts:
    """A zoo backbone split where fine-tuning needs it: input scaling, pretrained trunk, new head layers."""

    preprocess: Any  # the Preprocess layer, or a hub model's ImageConverter (no weights)
    trunk: Any  # nested functional keras.Model: pretrained features
    head: tuple[Any, ...]  # layers after the trunk, in order: optional Dropout "head_dropout", Dense "predictions"

    @property
    def has_dropout(self) -> bool:
        import keras

        return any(isinstance(layer, keras.layers.Dropout) for layer in self.head)


@dataclass(frozen=True)
class Block:
    """A run of trunk layers that belong together (one residual block, one stage of a plain net)."""

    name: str
    layers: tuple[str, ...]
    params: int  # weights that can train (BatchNorm excluded: it stays pinned)


def backbone_parts(model: keras.Model) -> BackboneParts | None:
    """The parts of a model built by zoo's backbone loader (image -> preprocess -> trunk -> head); None otherwise."""
    import keras

    from zoo.layers.preprocess import Preprocess

    layers = list(model.layers)
    preprocessing = isinstance(layers[1], Preprocess) or is_image_converter(layers[1]) if len(layers) > 1 else False
    if len(layers) < 4 or not preprocessing or not isinstance(layers[2], keras.Model):
        return None
    return BackboneParts(preprocess=layers[1], trunk=layers[2], head=tuple(layers[3:]))


def is_image_converter(layer: Any) -> bool:
    """A KerasHub ImageConverter: a hub model's preprocessing, in the place of zoo's Preprocess (no weights either);
    recognised by class name so that this module never imports keras_hub."""
    return any(cls.__name__ == "ImageConverter" for cls in type(layer).__mro__)


def tunable_variables(layer: Any) -> list[Any]:
    """Variables of `layer` (sub-layers included) that fine-tuning may train: never BatchNorm's (it stays pinned)."""
    if not hasattr(layer, "_flatten_layers"):
        return []  # a keras.ops operation in the graph (ConvNeXt's adds): no weights
    # `_trainable_variables` are those created trainable, whatever the current freezing (Normalization's mean is not)
    leaves = [sub for sub in [layer, *all_layers(layer)] if not is_batchnorm(sub)]
    return [variable for sub in leaves for variable in sub._trainable_variables]


def trainable_param_count(layer: Any) -> int:
    """How many weights of `layer` fine-tuning may train (BatchNorm's excluded)."""
    return sum(_size(variable) for variable in tunable_variables(layer))


def _size(weight: Any) -> int:
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size


def trunk_nodes(trunk: keras.Model) -> list[Any]:
    """The trunk's graph nodes in topological order (inputs first)."""
    by_depth = getattr(trunk, "_nodes_by_depth", None)  # Keras's functional graph; absent on subclassed models
    if not by_depth:
        return []
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def cut_points(trunk: keras.Model) -> list[tuple[int, Any]]:
    """(index of the first node after the cut, the one tensor crossing it) for every place the graph narrows to one.

    Everything after such a cut depends on the earlier part only through that tensor, so the earlier part can run
    once and its output be cached. Residual connections make cuts fall on block boundaries.
    """
    nodes = trunk_nodes(trunk)
    if not nodes:
        return []
    outputs = {id(t) for t in trunk.outputs}
    last_use: dict[int, int] = {}
    for index, node in enumerate(nodes):
        for tensor in node.input_tensors:
            last_use[id(tensor)] = index
    live: dict[int, Any] = {}
    cuts = []
    for index, node in enumerate(nodes):
        if index and len(live) == 1:
            cuts.append((index, next(iter(live.values()))))
        for tensor in node.output_tensors:
            if last_use.get(id(tensor), -1) > index or id(tensor) in outputs:
                live[id(tensor)] = tensor
        live = {key: t for key, t in live.items() if last_use.get(key, -1) > index or key in outputs}
    return cuts


@dataclass(frozen=True)
class _Unit:
    """A graph node's layer, or a block nested inside one (path: the trunk layer's name, then nested names)."""

    name: str
    path: str
    layer: Any


def trunk_blocks(trunk: keras.Model) -> list[Block]:
    """The trunk's blocks, input side first: graph segments between cuts, grouped by the block name in layer names.

    A node holding blocks inside it (a KerasHub ViT, DeiT or HGNetV2 backbone) is split into them: its blocks'
    `layers` are paths ("backbone/encoder/transformer_block_3") that `set_trainable` and `block_layers` follow.
    """
    nodes = [node for node in trunk_nodes(trunk) if not node.is_input]
    if not nodes:
        layers = [layer for layer in trunk.layers if layer.weights]
        return [Block(layer.name, (layer.name,), trainable_param_count(layer)) for layer in layers]
    starts = {index - 1 for index, _ in cut_points(trunk)}  # cut indices count the input node
    segments: list[list[_Unit]] = [[]]
    for index, node in enumerate(nodes):
        layer = node.operation
        units = nested_units(layer, layer.name)
        if units:  # each nested unit a segment of its own: they run one after the other
            segments += [[_Unit(unit.name, path, unit)] for path, unit in units] + [[]]
            continue
        if index in starts and segments[-1]:
            segments.append([])
        segments[-1].append(_Unit(layer.name, layer.name, layer))
    blocks = _group_segments([segment for segment in segments if segment])
    if not any(getattr(layer, "lora_enabled", False) for layer in all_layers(trunk)):
        return blocks
    return [  # LoRA: only the adapters (and the adapted biases) train
        replace(block, params=sum(lora_param_count(layer) for layer in block_layers(trunk, block))) for block in blocks
    ]


def block_layers(trunk: keras.Model, block: Block) -> list[Any]:
    """The layers of `block`: trunk layers by name, nested ones by path."""
    return [layer_at(trunk, name) for name in block.layers]


def _segment_name(units: list[_Unit]) -> tuple[str, bool]:
    """A segment's block name and whether it is a real block name (mergeable with neighbours of the same name)."""
    for unit in units:
        match = BLOCK_NAME.match(unit.name)
        if match:
            return match.group(1), True
    weighted = [unit for unit in units if trainable_param_count(unit.layer)]
    named = [unit for unit in weighted or units if not AUTO_NAME.match(unit.name)]
    if named:
        return named[0].name.split("_")[0], True
    return units[-1].name, False  # generic names (inception's conv2d_85): name it by where it ends (mixed9)


def _group_segments(segments: list[list[_Unit]]) -> list[Block]:
    groups: list[tuple[str, bool, list[_Unit]]] = []
    waiting: list[_Unit] = []  # weightless layers before the first weighted segment (a stem's zero padding)
    for segment in segments:
        name, real = _segment_name(segment)
        weighted = any(trainable_param_count(unit.layer) for unit in segment)
        if not groups and not weighted:
            waiting.extend(segment)
        elif groups and ((real and groups[-1][1] and groups[-1][0] == name) or not weighted):
            groups[-1][2].extend(segment)
        else:
            groups.append((name, real, waiting + list(segment)))
            waiting = []
    blocks, seen = [], set()
    for name, _, units in groups:
        if name in seen:  # two blocks named alike (a hub trunk's embedding and final norm share a prefix): per-block
            name = units[-1].name  # learning rates are keyed by name, so the later one takes its last layer's
        seen.add(name)
        params = sum(trainable_param_count(unit.layer) for unit in units)
        blocks.append(Block(name, tuple(unit.path for unit in units), params))
    return blocks


def set_trainable(model: keras.Model, train: str | set[str], pin_batchnorm: bool = True) -> None:
    """Freeze or unfreeze: `train` is "all", "head" (nothing in the trunk) or the names of trunk layers that train
    (paths for blocks nested inside one: only those train of it).

    BatchNorm layers of a pretrained trunk stay `trainable=False` in every case (`pin_batchnorm`); the caller must
    compile after this for it to take effect.
    """
    parts = backbone_parts(model)
    set_trainable_flag(model, True)
    if parts is not None and train != "all":
        paths = set() if train == "head" else set(train)
        for layer in parts.trunk.layers:
            below = paths_below(paths, layer.name)
            if below:
                train_only(layer, below)  # a whole layer (path "") or blocks nested inside it
            else:
                set_trainable_flag(layer, False)
    if parts is not None and pin_batchnorm:
        for layer in all_layers(model):
            if is_batchnorm(layer):
                layer.trainable = False
    if parts is not None:
        pin_for_lora(parts.trunk)


@contextmanager
def kept_trainable_flags(model: keras.Model) -> Iterator[None]:
    """Run a block, then give every layer back the `trainable` flag it had (fine-tuning changes them on the way)."""
    layers = [model, *all_layers(model)]
    flags = [layer.trainable for layer in layers]
    try:
        yield
    finally:
        setter = type(model).trainable.fset  # not `layer.trainable = flag`: see set_trainable_flag
        for layer, flag in zip(layers, flags, strict=True):  # parents first: children then get their own flag back
            setter(layer, flag)
        parts = backbone_parts(model)
        if parts is not None:  # a layer's flag sets its variables' too: LoRA's frozen weights would train again
            pin_for_lora(parts.trunk)


def find_cut(trunk: keras.Model, first_trained: str) -> tuple[str, Any] | None:
    """The last narrowing of the graph at or before layer `first_trained`: (first layer after it, crossing tensor).

    None when there is none past the input (the whole trunk must then run every step).
    """
    nodes = trunk_nodes(trunk)
    position = next((i for i, node in enumerate(nodes) if node.operation.name == first_trained), None)
    if position is None:
        return None
    usable = [(index, tensor) for index, tensor in cut_points(trunk) if 1 < index <= position]
    if not usable:
        return None
    index, tensor = usable[-1]
    return nodes[index].operation.name, tensor


def split_trunk(trunk: keras.Model, first_trained: str) -> tuple[keras.Model, keras.Model] | None:
    """(lower, upper) sub-models sharing the trunk's layers, cut at the last narrowing before `first_trained`.

    The lower part stays frozen, so its output can be computed once and cached while only the upper part runs each
    step. None when the graph has no such cut.
    """
    import keras

    cut = find_cut(trunk, first_trained)
    if cut is None:
        return None
    _, tensor = cut
    lower = keras.Model(trunk.input, tensor, name=f"{trunk.name}_lower")
    upper = keras.Model(tensor, trunk.output, name=f"{trunk.name}_upper")
    return lower, upper
