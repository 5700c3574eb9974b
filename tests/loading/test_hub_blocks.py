"""Freezing by blocks for the hub models whose KerasHub backbone is one node of zoo's trunk (ViT, DeiT, HGNetV2): the
blocks inside it are found and set trainable in place, with their own learning rates; the graph is left as built."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras_hub")

import keras  # noqa: E402
from finetune_data import shapes  # noqa: E402
from hub_presets import SIZE  # noqa: E402

import zoo  # noqa: E402
from zoo.training.discriminative_lr import variable_multipliers  # noqa: E402
from zoo.training.freezing import (  # noqa: E402
    backbone_parts,
    block_layers,
    set_trainable,
    trunk_blocks,
    tunable_variables,
)
from zoo.training.plan import make_plan  # noqa: E402

ONE_NODE = {"vit": "vit_b16", "deit": "deit_tiny", "hgnetv2": "hgnetv2_b4"}
SHAPE = (SIZE, SIZE, 3)
HEAD = {"predictions/kernel", "predictions/bias"}


def block_paths(trunk, blocks) -> set[str]:
    """Paths of the weights fine-tuning may train in `blocks` (BatchNorm's excluded: pinned)."""
    return {v.path for block in blocks for layer in block_layers(trunk, block) for v in tunable_variables(layer)}


def trainable_with_gradients(model) -> set[str]:
    """The weights an optimizer of `model` would update: trainable ones, each checked to get a gradient."""
    import tensorflow as tf

    x, y = shapes(4, size=SIZE, seed=2)
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x.astype("float32"), training=True))
    gradients = tape.gradient(loss, model.trainable_weights)
    missing = [v.path for v, g in zip(model.trainable_weights, gradients, strict=True) if g is None]
    assert not missing, f"trainable but not reached by the loss: {missing}"
    return {v.path for v in model.trainable_weights}


@pytest.mark.parametrize("architecture", list(ONE_NODE))
def test_blocks_inside_the_backbone_train_exactly_when_their_phase_unfreezes_them(weights_dir, architecture):
    model = zoo.load(ONE_NODE[architecture], num_classes=3, input_shape=SHAPE)
    trunk = backbone_parts(model).trunk
    blocks = trunk_blocks(trunk)
    # the embedding, the two blocks (stages) of the tiny preset, the final LayerNorm with the pooling (the last stage)
    assert len(blocks) == (3 if architecture == "hgnetv2" else 4), [block.name for block in blocks]
    head, tune = make_plan(model, 8, epochs=(1, 1), unfreeze=2, augment=False).phases
    set_trainable(model, head.train)
    assert trainable_with_gradients(model) == HEAD
    set_trainable(model, tune.train)
    assert tune.trained_blocks == tuple(block.name for block in blocks[-2:])
    assert trainable_with_gradients(model) == HEAD | block_paths(trunk, blocks[-2:])
    rates = variable_multipliers(trunk, tune.lr_multipliers)  # discriminative rates: the lower block steps slower
    lower, top = block_paths(trunk, blocks[-2:-1]), block_paths(trunk, blocks[-1:])
    assert rates == {**dict.fromkeys(lower, 0.8), **dict.fromkeys(top, 1.0)}
    set_trainable(model, "all")
    assert trainable_with_gradients(model) == HEAD | block_paths(trunk, blocks)


def test_the_hgnetv2_trunk_pools_its_last_stage(weights_dir):
    model = zoo.load("hgnetv2_b4", input_shape=SHAPE)  # features: the tiny preset's stages are 8 and 16 wide
    assert model.output_shape == (None, 16)


@pytest.mark.slow  # two fine-tuning runs on this CPU (~25 s)
def test_finetune_changes_the_head_then_exactly_the_unfrozen_blocks(weights_dir):
    model = zoo.load("vit_b16", num_classes=3, input_shape=SHAPE)
    trunk = backbone_parts(model).trunk
    blocks = trunk_blocks(trunk)
    x, y = shapes(12, size=SIZE, seed=3)

    def weights():
        return {v.path: v.numpy().copy() for v in model.weights}

    def changed(before, after):
        return {path for path in before if not np.array_equal(before[path], after[path])}

    start = weights()
    model.finetune((x, y), epochs=(1, 0), batch_size=4, augment=False, verbose=False)
    after_head = weights()
    assert changed(start, after_head) == HEAD
    model.finetune((x, y), epochs=(0, 1), batch_size=4, augment=False, verbose=False, unfreeze=2)
    assert changed(after_head, weights()) == HEAD | block_paths(trunk, blocks[-2:])
