"""The backbone path of `load`: architecture -> pretrained weights -> preprocessing layer -> ImageNet or new head."""

from __future__ import annotations

from typing import Any

import keras

from zoo.entry import Entry
from zoo.errors import BadOverride
from zoo.layers.preprocess import Preprocess
from zoo.loading.channels import copy_weights_adapting_channels
from zoo.loading.heads import numbered_classes, softmax_head
from zoo.loading.imagenet import imagenet_class_names
from zoo.loading.model import ZooModel
from zoo.loading.pretrained import IMAGENET_CLASSES, load_pretrained, wants_new_head
from zoo.weights.resolve import ResolvedWeights


def build_architecture(entry: Entry, hparams: dict[str, Any], channels: int, include_top: bool) -> keras.Model:
    """The bare architecture, with a clear error where it cannot take the asked input shape or options."""
    height, width = hparams["input_shape"][:2]
    options = {**hparams, "input_shape": (height, width, channels), "include_top": include_top}
    if include_top:
        options["num_classes"] = IMAGENET_CLASSES
    try:
        return entry.build(**options)
    except ValueError as error:
        raise BadOverride(
            f"{entry.name} cannot be built with input_shape={tuple(hparams['input_shape'])}, "
            f"include_top={include_top}, pooling={hparams.get('pooling')!r}: {error} "
            f"(default input shape: {entry.input_shape}; with include_top=True most backbones need it)"
        ) from None


def pretrained_architecture(
    entry: Entry, hparams: dict[str, Any], include_top: bool, weights: ResolvedWeights | None
) -> keras.Model:
    """The architecture with the resolved weights; 1- or 4-channel inputs keep them by adapting the first conv."""
    channels = hparams["input_shape"][-1]
    if weights is None:
        return build_architecture(entry, hparams, channels, include_top)
    rgb = build_architecture(entry, hparams, 3, include_top)
    load_pretrained(entry, rgb, weights, include_top)
    if channels == 3:
        return rgb
    if channels not in (1, 4):
        raise BadOverride(f"{entry.name}: input_shape must have 1, 3 or 4 channels, got {channels}")
    target = build_architecture(entry, hparams, channels, include_top)
    copy_weights_adapting_channels(rgb, target, channels)
    return target


def load_backbone(
    entry: Entry, hparams: dict[str, Any], overrides: dict[str, Any], weights: ResolvedWeights | None
) -> ZooModel:
    """A backbone as a ZooModel taking [0, 255] RGB images: ImageNet classifier, new N-way head, or features.

    `weights` is resolved first (zoo.loading.pretrained.resolve_pretrained); None builds it randomly initialised.
    """
    new_head = wants_new_head(entry, hparams, overrides)
    include_top = bool(hparams["include_top"]) and not new_head
    if include_top and tuple(hparams["input_shape"][:2]) != tuple(entry.input_shape[:2]):
        raise BadOverride(
            f"{entry.name}: ImageNet's head (include_top=True) needs input_shape={entry.input_shape}, got "
            f"{tuple(hparams['input_shape'])}; for another size pass num_classes=N (a new head) or include_top=False"
        )
    if new_head:
        hparams = {**hparams, "pooling": hparams.get("pooling") or "avg"}
    trunk = pretrained_architecture(entry, hparams, include_top, weights)
    inputs = keras.Input(shape=tuple(hparams["input_shape"]), name="image")
    x = Preprocess(entry.preprocessing or "raw", channels=hparams["input_shape"][-1], name="preprocess")(inputs)
    outputs = trunk(x)
    class_names = imagenet_class_names() if include_top else None
    classifier = entry.classifier if include_top else None
    if new_head:
        outputs = softmax_head(outputs, hparams["num_classes"], hparams.get("dropout"))
        class_names, classifier = numbered_classes(hparams["num_classes"]), "predictions"
    task = "classification" if class_names else "features"
    return ZooModel(
        inputs, outputs, name=entry.name, class_names=class_names, entry_name=entry.name, task=task,
        classifier=classifier,
    )
