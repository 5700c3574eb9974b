"""Tiny KerasHub presets for the tests: each architecture built from a small config with random weights and saved
with `save_to_preset` (tokenizers too, with a few dozen tokens), so no test downloads anything."""

from __future__ import annotations

import string
from pathlib import Path

SIZE = 32  # images are 32x32: patches of 8 give 16 tokens (plus the class token)
TINY = dict(num_layers=2, num_heads=2, hidden_dim=16)
# one catalogue entry per architecture: the tests save its tiny preset under the entry's preset folder name
HUB_ENTRIES = {"vit": "vit_b16", "dinov2": "dinov2_small", "siglip": "siglip_b16_224", "clip": "clip_b32",
               "deit": "deit_tiny", "hgnetv2": "hgnetv2_b4"}
PROMPT_WORDS = "this is a photo of cat dog red car bird"


def _siglip_proto(folder: Path) -> bytes:  # trained beside the preset folder: only the tokenizer's copy goes in
    """A sentencepiece model of ~40 pieces trained on a few sentences (SigLIP's tokenizer is sentencepiece)."""
    import sentencepiece as spm

    work = folder.parent / f".{folder.name}-spm"
    work.mkdir(exist_ok=True)
    corpus = work / "corpus.txt"
    corpus.write_text("\n".join([PROMPT_WORDS, *string.ascii_lowercase, "this is a photo of a red car."] * 4))
    prefix = work / "spm"
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(prefix), vocab_size=40, model_type="word", pad_id=0, eos_id=1, unk_id=2,
        bos_id=-1, user_defined_symbols=[], hard_vocab_limit=False,
    )
    return (work / "spm.model").read_bytes()


def _clip_vocabulary() -> tuple[dict[str, int], list[str]]:
    """A character-level BPE vocabulary (every letter, alone and word-final) with no merges."""
    tokens = ["<|startoftext|>", "<|endoftext|>", ".", ".</w>", ",", ",</w>"]
    for letter in string.ascii_lowercase:
        tokens += [letter, f"{letter}</w>"]
    tokens += ["ca", "cat</w>"]
    return {token: index for index, token in enumerate(tokens)}, ["c a", "ca t</w>"]


def _vision(hub, architecture: str):
    models = hub.models
    shape = (SIZE, SIZE, 3)
    if architecture == "vit":
        return models.ViTBackbone(image_shape=shape, patch_size=8, mlp_dim=32, **TINY)
    if architecture == "deit":
        return models.DeiTBackbone(image_shape=shape, patch_size=8, intermediate_dim=32, **TINY)
    if architecture == "dinov2":
        return models.DINOV2Backbone(
            patch_size=8, intermediate_dim=32, image_shape=shape, position_embedding_shape=shape, **TINY
        )
    if architecture == "hgnetv2":
        return models.HGNetV2Backbone(
            depths=[1, 1], embedding_size=8, hidden_sizes=[8, 16], stem_channels=[3, 8, 8], hidden_act="relu",
            use_learnable_affine_block=False, stackwise_stage_filters=[[8, 8, 8, 1, 1, 3], [8, 8, 16, 1, 1, 3]],
            apply_downsample=[False, True], use_lightweight_conv_block=[False, False], image_shape=shape,
        )
    raise ValueError(architecture)


def _image_text(hub, architecture: str, folder: Path):
    """(backbone, preprocessor) of a tiny SigLIP or CLIP."""
    models = hub.models
    if architecture == "siglip":
        tokenizer = models.SigLIPTokenizer(proto=_siglip_proto(folder))
        vision = models.SigLIPVisionEncoder(patch_size=8, intermediate_dim=32, image_shape=(SIZE, SIZE, 3), **TINY)
        text = models.SigLIPTextEncoder(
            vocabulary_size=tokenizer.vocabulary_size(), embedding_dim=16, intermediate_dim=32,
            max_sequence_length=16, **TINY,
        )
        converter = hub.layers.SigLIPImageConverter(image_size=(SIZE, SIZE), scale=1 / 127.5, offset=-1.0)
        preprocessor = models.SigLIPPreprocessor(tokenizer, converter, sequence_length=16)
        return models.SigLIPBackbone(vision, text), preprocessor
    vocabulary, merges = _clip_vocabulary()
    tokenizer = models.CLIPTokenizer(vocabulary=vocabulary, merges=merges)
    vision = models.CLIPVisionEncoder(patch_size=8, intermediate_dim=32, image_shape=(SIZE, SIZE, 3), **TINY)
    text = models.CLIPTextEncoder(
        vocabulary_size=len(vocabulary), embedding_dim=16, intermediate_dim=32, max_sequence_length=16, **TINY
    )
    converter = hub.layers.CLIPImageConverter(
        image_size=(SIZE, SIZE), scale=[1 / (255 * s) for s in (0.2686, 0.2613, 0.2758)],
        offset=[-m / s for m, s in ((0.4815, 0.2686), (0.4578, 0.2613), (0.4082, 0.2758))],
    )
    preprocessor = models.CLIPPreprocessor(tokenizer, converter, sequence_length=16)
    return models.CLIPBackbone(vision, text, projection_dim=16), preprocessor


def save_tiny_preset(architecture: str, folder: Path, seed: int = 0) -> Path:
    """A tiny random preset of `architecture` saved into `folder` (created); returns it."""
    import keras
    import keras_hub as hub

    keras.utils.set_random_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    if architecture in ("siglip", "clip"):
        backbone, preprocessor = _image_text(hub, architecture, folder)
        backbone.save_to_preset(str(folder))
        preprocessor.save_to_preset(str(folder))
        return folder
    backbone = _vision(hub, architecture)
    converter = hub.layers.ImageConverter(image_size=(SIZE, SIZE), scale=1 / 127.5, offset=-1.0)
    backbone.save_to_preset(str(folder))
    converter.save_to_preset(str(folder))
    return folder
