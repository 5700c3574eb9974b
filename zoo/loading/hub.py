"""The hub path of `load`: a KerasHub preset -> its ImageConverter + a block-by-block image trunk -> head or features.

Layout (what fine-tuning, caching and export expect of every zoo backbone):
    image [0, 255] -> ImageConverter (the preset's own resize + scale + offset) -> trunk -> [dropout] -> predictions
The trunk is a flat functional graph re-using the preset's layers: embedding, one node per transformer block, the
final LayerNorm and the pooling. One node per block is what lets zoo freeze, unfreeze, cache below and give
discriminative learning rates block by block, as it does for CNN stages. Three trunks are their backbone as one
block: ViT (KerasHub 0.32's ViTPatchingAndEmbedding and ViTEncoderBlock write configs they cannot read back, so a
model holding them bare does not reload; the whole ViTBackbone does), DeiT (its blocks return (tokens, scores) pairs)
and HGNetV2 (its stages sit inside one encoder layer).
"""

from __future__ import annotations

from typing import Any

import keras

from zoo.entry import Entry
from zoo.errors import HUB_EXTRA, BadOverride, WeightsDoNotFit
from zoo.layers.tokens import TokenPooling
from zoo.loading.heads import numbered_classes, softmax_head
from zoo.loading.hub_zero_shot import LoadedPreset, zero_shot_builder
from zoo.loading.model import ZooModel
from zoo.weights.hub_presets import HubPreset, preset_digests, preset_not_found, resolve_preset


def import_keras_hub() -> Any:
    """keras_hub, or a one-line error saying how to install the extra."""
    try:
        import keras_hub
    except ImportError as error:
        raise BadOverride(f"the hub models need keras-hub ({error}); install the extra: {HUB_EXTRA}") from None
    declare_siglip_tokens(keras_hub)
    return keras_hub


def declare_siglip_tokens(keras_hub: Any) -> None:
    """Make SigLIP's patch embedding declare the tokens it computes. keras-hub 0.32 declares one more (patches + 1,
    a class token SigLIP does not have: 197 for 196), so a trunk cut below its pooling, as the lower-trunk cache
    makes, expected 197 tokens and got 196 (a ValueError in `finetune`). Idempotent; right for any keras-hub."""
    from keras_hub.src.models.siglip.siglip_layers import SigLIPVisionEmbedding

    def compute_output_shape(self: Any, input_shape: tuple) -> list:
        spatial = input_shape[1:3] if self.data_format == "channels_last" else input_shape[2:4]
        tokens = None if None in spatial else (spatial[0] // self.patch_size) * (spatial[1] // self.patch_size)
        return [input_shape[0], tokens, self.hidden_dim]

    SigLIPVisionEmbedding.compute_output_shape = compute_output_shape


def preset_parts(entry: Entry, preset: HubPreset, load_weights: bool = True) -> tuple[Any, Any]:
    """(backbone, ImageConverter) of a preset: from its local folder, else fetched by keras_hub (network)."""
    keras_hub = import_keras_hub()
    try:
        backbone = entry.build(preset=preset.source, load_weights=load_weights)
        converter = keras_hub.layers.ImageConverter.from_preset(preset.source)
    except (OSError, ValueError, ConnectionError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        if preset.folder is None:
            raise preset_not_found(preset, reason) from None
        raise WeightsDoNotFit(f"preset folder {preset.folder} does not load ({reason}); save it again") from None
    if converter is None:
        raise WeightsDoNotFit(f"preset {preset.source} has no image converter (preprocessor/image_converter.json)")
    return backbone, converter


def image_trunk(backbone: keras.Model, architecture: str) -> keras.Model:
    """images (as the converter outputs them) -> pooled features, one graph node per transformer block."""
    image = keras.Input(tuple(image_tower(backbone).image_shape), name="images")
    if architecture == "dinov2":
        x = backbone.layernorm(_blocks(backbone.encoder.layers, backbone.embeddings(image)))
        features = TokenPooling("class", name="class_token")(x)
    elif architecture == "siglip":
        tower = backbone.vision_encoder
        x = tower.post_layer_norm(_blocks(tower.encoder_layers, tower.embedding(image)))
        features = tower.head(x)
    elif architecture == "clip":
        tower = backbone.vision_encoder
        x = tower.pre_layer_norm(tower.embedding(image))
        features = backbone.vision_pooler(tower.layer_norm(_blocks(tower.encoder_layers, x)))
    elif architecture in ("vit", "deit"):
        features = TokenPooling("class", name="class_token")(backbone(image))
    elif architecture == "hgnetv2":
        stages = backbone(image)  # a dict by stage name ("stem", "stage1", ...): the deepest in the backbone's order
        deepest = [name for name in backbone.stage_names if name in stages][-1] if isinstance(stages, dict) else None
        last = stages if deepest is None else stages[deepest]
        features = keras.layers.GlobalAveragePooling2D(name="avg_pool")(last)
    else:
        raise BadOverride(f"architecture={architecture!r} is not one zoo can split into blocks")
    return keras.Model(image, features, name=f"{backbone.name}_trunk")


def _blocks(blocks: list[Any], x: Any) -> Any:
    for block in blocks:
        x = block(x)
    return x


def load_hub_model(entry: Entry, hparams: dict[str, Any], preset: str, load_weights: bool = True) -> ZooModel:
    """A hub entry as a ZooModel taking [0, 255] RGB: pooled features, a new N-way head (num_classes), or a zero-shot
    classifier (labels); `preset` is the entry's preset name or a preset folder; load_weights=False keeps random
    weights. Image-text models can also score other label texts later (classify(images, labels=...))."""
    resolved = resolve_preset(preset)
    digests = preset_digests(resolved.folder) if resolved.folder is not None else None
    backbone, converter = preset_parts(entry, resolved, load_weights)
    architecture, labels = hparams["architecture"], hparams["labels"]
    input_shape = preset_input_shape(backbone, entry, tuple(hparams["input_shape"]))
    loaded = LoadedPreset(backbone, converter, architecture, input_shape, resolved, entry.name)
    image_text = hasattr(backbone, "get_text_embeddings")  # SigLIP, CLIP: a text tower, so zero-shot
    if labels and not image_text:
        raise BadOverride(
            f"{entry.name} has no text tower: zero-shot labels need an image-text model (siglip_*, clip_*)"
        )
    relabel = zero_shot_builder(loaded) if image_text else None
    if labels:
        model = relabel(labels)
    else:
        model = headed_model(loaded, hparams["num_classes"], hparams["dropout"])
        model.relabel = relabel  # in memory only: classify(images, labels=...) scores label texts
    model.weights_files = {"preset": resolved.name, "source": resolved.source, "sha256": digests}
    return model


def image_tower(backbone: keras.Model) -> keras.Model:
    """The backbone itself, or the vision encoder of an image-text backbone."""
    return getattr(backbone, "vision_encoder", backbone)


def preset_input_shape(backbone: keras.Model, entry: Entry, asked: tuple[int, ...]) -> tuple[int, ...]:
    """The preset's own image size (its position embeddings fix it): the entry's default input_shape follows the
    preset; another size asked for explicitly is refused in one line."""
    shape = tuple(image_tower(backbone).image_shape)
    if None in shape[:2] or asked[:2] == shape[:2]:
        return asked
    if asked == tuple(entry.input_shape):
        return (*shape[:2], asked[2])
    raise BadOverride(f"{entry.name}: the preset is built for {shape} images, got input_shape={asked}; images are "
                      "resized to its size, leave input_shape as it is")


def headed_model(loaded: LoadedPreset, num_classes: int | None, dropout: float | None) -> ZooModel:
    """image -> converter -> trunk -> features, or -> Dropout -> softmax Dense "predictions" with num_classes."""
    trunk = image_trunk(loaded.backbone, loaded.architecture)
    inputs = keras.Input(shape=loaded.input_shape, name="image")
    features = trunk(loaded.converter(inputs))
    name = loaded.name
    if not num_classes:
        return ZooModel(inputs, features, name=name, entry_name=name, task="features", classifier=None)
    outputs = softmax_head(features, num_classes, dropout)
    return ZooModel(inputs, outputs, name=name, class_names=numbered_classes(num_classes), entry_name=name,
                    task="classification", classifier="predictions")
