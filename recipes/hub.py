"""KerasHub vision presets (the optional `hub` extra): one table of what is known about each, one shared builder.

Every row names a KerasHub preset (the folder `keras_hub.models.Backbone.from_preset` reads, fetched from Kaggle
where the network allows or read from `$ZOO_WEIGHTS_DIR/<preset>/`), its architecture, input size, licence and
parameter count as KerasHub publishes it (the whole preset: for SigLIP and CLIP that includes the text tower, which
only zero-shot classification uses). Preprocessing is the preset's own `ImageConverter`, read from the preset.
Listing never imports keras_hub: the builder imports it inside the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from zoo.entry import Entry
from zoo.errors import HUB_EXTRA

if TYPE_CHECKING:
    import keras

IMAGE_TEXT = ("siglip", "clip")  # the architectures with a text tower: zero-shot classification


class _Row(NamedTuple):
    name: str
    preset: str  # KerasHub preset name: the Kaggle handle's model name and the $ZOO_WEIGHTS_DIR folder name
    architecture: str
    size: int
    params: int  # as KerasHub's preset metadata publishes it
    licence: str
    trained: str


_ROWS = (
    _Row("vit_b16", "vit_base_patch16_224_imagenet", "vit", 224, 85_798_656, "Apache-2.0",
         "ImageNet-21k pre-training, ImageNet-1k fine-tuning"),
    _Row("vit_b16_in21k", "vit_base_patch16_224_imagenet21k", "vit", 224, 85_798_656, "Apache-2.0",
         "ImageNet-21k pre-training"),
    _Row("deit_tiny", "deit_tiny_distilled_patch16_224_imagenet", "deit", 224, 5_524_800, "Apache-2.0",
         "ImageNet-1k, distilled"),
    _Row("deit_small", "deit_small_distilled_patch16_224_imagenet", "deit", 224, 21_666_432, "Apache-2.0",
         "ImageNet-1k, distilled"),
    _Row("dinov2_small", "dinov2_small", "dinov2", 224, 22_582_656, "Apache-2.0",
         "DINOv2 self-supervised on LVD-142M"),
    _Row("dinov2_base", "dinov2_base", "dinov2", 224, 87_632_640, "Apache-2.0", "DINOv2 self-supervised on LVD-142M"),
    _Row("siglip_b16_224", "siglip_base_patch16_224", "siglip", 224, 203_156_230, "Apache-2.0",
         "SigLIP image-text on WebLi"),
    _Row("siglip2_b16_224", "siglip2_base_patch16_224", "siglip", 224, 375_188_230, "Apache-2.0",
         "SigLIP 2 image-text on WebLi"),
    _Row("clip_b32", "clip_vit_base_patch32", "clip", 224, 151_277_363, "MIT", "OpenAI CLIP image-text"),
    _Row("clip_b16", "clip_vit_base_patch16", "clip", 224, 149_620_934, "MIT", "OpenAI CLIP image-text"),
    _Row("hgnetv2_b4", "hgnetv2_b4_ssld_stage2_ft_in1k", "hgnetv2", 224, 13_599_072, "Apache-2.0",
         "SSLD distillation, ImageNet-1k fine-tuning"),
)


def build_hub_backbone(preset: str, load_weights: bool = True, **ignored: Any) -> keras.Model:
    """The preset's KerasHub backbone (`preset`: a name, handle or local preset folder); imports keras_hub here, so
    listing stays light. `ignored` takes the settings zoo.load reads from the hparams."""
    import keras_hub

    return keras_hub.models.Backbone.from_preset(preset, load_weights=load_weights)


def _entry(row: _Row) -> Entry:
    shape = (row.size, row.size, 3)
    zero_shot = " Zero-shot classification from label names (labels=...)." if row.architecture in IMAGE_TEXT else ""
    return Entry(
        name=row.name,
        family="hub",
        task="image-classification",
        build=build_hub_backbone,
        hparams=dict(
            preset=row.preset,
            architecture=row.architecture,
            input_shape=shape,
            num_classes=None,  # None: pooled features; N: a new N-way head with dropout
            dropout=0.2,
            learning_rate=1e-3,
            labels=None,  # image-text presets: label texts for a zero-shot classifier
        ),
        input_shape=shape,
        params=row.params,
        preprocessing="preset ImageConverter",
        classifier="predictions",
        licence=row.licence,
        summary=(
            f"KerasHub preset {row.preset} ({row.architecture}, {row.trained}; licence {row.licence}) at "
            f"{row.size}x{row.size} RGB.{zero_shot} Needs {HUB_EXTRA}."
        ),
    )


ENTRIES = tuple(_entry(row) for row in _ROWS)
