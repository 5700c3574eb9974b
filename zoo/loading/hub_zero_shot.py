"""Zero-shot classification with an image-text preset (SigLIP, CLIP): the user's label names become the classifier.

As open_clip's zero_shot_classifier does: each label is written into the model's prompt template, encoded once by the
text tower and L2-normalised; those vectors, times the model's learned temperature (exp(logit_scale)), plus its
learned bias (SigLIP's logit_bias; CLIP has none), are the kernel and bias of a plain Dense layer on the normalised
image embedding. The result is an ordinary ZooModel (image -> ImageConverter -> image tower -> scores), so predict,
the fast CPU runtimes, exports and `zoo kaggle predict` take it unchanged. Scores are the model's own: SigLIP's
sigmoid (each label judged on its own; rows need not sum to 1), CLIP's softmax over the labels (rows sum to 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from zoo.errors import BadOverride
from zoo.loading.model import ZooModel
from zoo.weights.hub_presets import HubPreset

# The prompt each model family was evaluated with: SigLIP's (big_vision / Hugging Face pipeline), CLIP's (OpenAI).
PROMPT_TEMPLATES = {"siglip": "This is a photo of {}.", "clip": "a photo of a {}."}
ACTIVATIONS = {"siglip": "sigmoid", "clip": "softmax"}
PREPROCESSORS = {"siglip": "SigLIPPreprocessor", "clip": "CLIPPreprocessor"}


@dataclass(frozen=True)
class LoadedPreset:
    """A preset's loaded parts and what zoo builds around them: the model's input shape and name."""

    backbone: Any  # keras_hub Backbone
    converter: Any  # keras_hub ImageConverter
    architecture: str
    input_shape: tuple[int, ...]
    preset: HubPreset
    name: str


def label_list(labels: str | Sequence[str]) -> list[str]:
    """Labels from a comma-separated string or a sequence; blanks and repeats are refused in one line."""
    names = [label.strip() for label in (labels.split(",") if isinstance(labels, str) else labels)]
    if not names or any(not name for name in names):
        raise BadOverride(f"labels={labels!r}: give label names separated by commas, e.g. \"cat,dog,a red car\"")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadOverride(f"labels: {', '.join(repeated)} given more than once; each label must be different")
    return names


def text_embeddings(backbone: keras.Model, preset: HubPreset, architecture: str, prompts: list[str]) -> np.ndarray:
    """The text tower's embedding of each prompt, tokenised by the preset's own preprocessor."""
    import keras_hub

    preprocessor = getattr(keras_hub.models, PREPROCESSORS[architecture]).from_preset(preset.source)
    preprocessor.build(None)  # makes its packer (start/end tokens, padding to the sequence length)
    if getattr(preprocessor, "canonicalize_text", False):
        prompts = preprocessor.canonicalize_inputs(prompts)
    token_ids = preprocessor.packer(
        preprocessor.tokenizer(prompts), add_start_value=preprocessor.add_start_token,
        add_end_value=preprocessor.add_end_token,
    )[0]
    return keras.ops.convert_to_numpy(backbone.get_text_embeddings(token_ids))


def zero_shot_weights(backbone: keras.Model, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(kernel d x labels, bias labels): normalised text vectors times the temperature, and the model's bias."""
    head = backbone.siglip_head if hasattr(backbone, "siglip_head") else backbone.clip_head
    scale = float(np.exp(keras.ops.convert_to_numpy(head.logit_scale)))
    bias = float(keras.ops.convert_to_numpy(head.logit_bias)) if hasattr(head, "logit_bias") else 0.0
    normalised = text / np.linalg.norm(text, axis=-1, keepdims=True)
    return (normalised.T * scale).astype("float32"), np.full(len(text), bias, dtype="float32")


def zero_shot_model(loaded: LoadedPreset, labels: Sequence[str] | str) -> ZooModel:
    """image -> converter -> image tower -> projected, normalised embedding -> scores against `labels`."""
    backbone, architecture, name = loaded.backbone, loaded.architecture, loaded.name
    if architecture not in PROMPT_TEMPLATES:
        raise BadOverride(f"{name} has no text tower: zero-shot labels need an image-text model (siglip_*, clip_*)")
    names = label_list(labels)
    prompts = [PROMPT_TEMPLATES[architecture].format(label) for label in names]
    kernel, bias = zero_shot_weights(backbone, text_embeddings(backbone, loaded.preset, architecture, prompts))
    inputs = keras.Input(shape=loaded.input_shape, name="image")
    embedding = backbone.get_vision_embeddings(loaded.converter(inputs))
    normalised = keras.layers.UnitNormalization(name="image_embedding")(embedding)
    scores = keras.layers.Dense(len(names), activation=ACTIVATIONS[architecture], name="predictions")
    outputs = scores(normalised)
    scores.set_weights([kernel, bias])
    return ZooModel(inputs, outputs, name=name, class_names=names, entry_name=name, task="classification",
                    classifier="predictions")


def zero_shot_builder(loaded: LoadedPreset) -> Callable[[Sequence[str] | str], ZooModel]:
    """labels -> zero-shot ZooModel, keeping the loaded towers in memory; each model it builds can relabel again."""

    def relabel(labels: Sequence[str] | str) -> ZooModel:
        model = zero_shot_model(loaded, labels)
        model.relabel = relabel
        return model

    return relabel
