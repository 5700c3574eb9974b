"""Freezing with BatchNorm pinned, block detection, trunk cuts, and per-block learning rates."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from finetune_data import lite0, shapes

import zoo
from zoo.training.discriminative_lr import DiscriminativeAdam, variable_multipliers
from zoo.training.freezing import (
    all_layers,
    backbone_parts,
    is_batchnorm,
    kept_trainable_flags,
    set_trainable,
    split_trunk,
    trainable_param_count,
    trunk_blocks,
)


@pytest.fixture(scope="module")
def backbone():
    return lite0()


def batchnorm_state(model):
    return {v.path: v.numpy().copy() for layer in all_layers(model) if is_batchnorm(layer) for v in layer.weights}


def other_weights(model):
    return {v.path: v.numpy().copy() for layer in all_layers(model) if not is_batchnorm(layer) for v in layer.weights}


def one_training_step(model, trainer_output):
    """Compile a trainer over the model's layers and fit one batch of shapes."""
    trainer = keras.Model(model.input, trainer_output)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    x, y = shapes(8)
    trainer.fit(x.astype("float32"), y, batch_size=8, epochs=1, verbose=0)


def test_unfrozen_backbone_keeps_every_batchnorm_statistic():
    model = lite0()
    set_trainable(model, "all")
    before_bn, before_other = batchnorm_state(model), other_weights(model)
    one_training_step(model, model.output)
    after_bn, after_other = batchnorm_state(model), other_weights(model)
    assert len(before_bn) == 4 * 49  # gamma, beta, moving mean and variance of lite0's 49 BatchNorm layers
    assert all(np.array_equal(before_bn[path], after_bn[path]) for path in before_bn)
    changed = [path for path in before_other if not np.array_equal(before_other[path], after_other[path])]
    assert "stem_conv/kernel" in changed and "predictions/kernel" in changed


@pytest.mark.slow  # a canary on Keras' behaviour, not zoo's: a whole-backbone training step (about 50 s here)
def test_calling_the_trunk_with_training_false_does_not_pin_statistics():
    # keras-team/keras#20285: why set_trainable pins BatchNorm layers instead of relying on training=False.
    model = lite0()
    parts = backbone_parts(model)
    x = parts.trunk(parts.preprocess(model.input), training=False)
    for layer in parts.head:
        x = layer(x)
    before = batchnorm_state(model)
    one_training_step(model, x)
    after = batchnorm_state(model)
    moved = [path for path in before if "moving" in path and not np.array_equal(before[path], after[path])]
    assert moved, "Keras now keeps BatchNorm statistics under training=False; the pinning could be revisited"


def test_set_trainable_freezes_what_it_is_told(backbone):
    parts = backbone_parts(backbone)
    with kept_trainable_flags(backbone):
        set_trainable(backbone, "head")
        assert parts.trunk.trainable_weights == []
        head = {"predictions/kernel", "predictions/bias"}
        assert {v.path for v in backbone.trainable_weights} == head
        set_trainable(backbone, {"top_conv", "top_bn"})
        assert {v.path for v in backbone.trainable_weights} == {"top_conv/kernel", *head}
        set_trainable(backbone, "all")  # after freezing: Keras' TF backend skips `trainable = True` on a layer that
        # already says True (its trackable __setattr__), so the frozen layers below must be reached one by one
        kernels = {v.path for layer in all_layers(parts.trunk) if not is_batchnorm(layer) for v in layer.weights}
        assert {v.path for v in parts.trunk.trainable_weights} == kernels and len(kernels) == 49
        assert not any(is_batchnorm(layer) and layer.trainable for layer in all_layers(backbone))
    assert all(layer.trainable for layer in all_layers(backbone))  # flags given back


def test_a_recipe_trained_from_scratch_keeps_batchnorm_training():
    model = zoo.load("resnet_small")
    set_trainable(model, "all", pin_batchnorm=True)  # no pretrained trunk: nothing to pin
    assert all(layer.trainable for layer in all_layers(model) if is_batchnorm(layer))
    assert backbone_parts(model) is None


def test_blocks_of_efficientnet_lite0(backbone):
    trunk = backbone_parts(backbone).trunk
    blocks = trunk_blocks(trunk)
    names = [block.name for block in blocks]
    assert names[:3] == ["stem", "block1a", "block2a"] and names[-3:] == ["block6d", "block7a", "top"]
    layers = [name for block in blocks for name in block.layers]
    assert sorted(layers) == sorted(layer.name for layer in trunk.layers[1:])  # every layer once, input left out
    assert sum(block.params for block in blocks) == sum(trainable_param_count(layer) for layer in trunk.layers)


@pytest.mark.parametrize(
    ("name", "size", "last", "cut_from"),
    [("resnet50", 64, "conv5_block3", "conv5_block1"), ("mobilenet_v2", 64, "Conv", "block_16")],
)
def test_keras_application_blocks_and_split(name, size, last, cut_from):
    model = zoo.load(name, input_shape=(size, size, 3), num_classes=2, weights=None)
    trunk = backbone_parts(model).trunk
    blocks = {block.name: block for block in trunk_blocks(trunk)}
    assert list(blocks)[-1] == last
    lower, upper = split_trunk(trunk, blocks[cut_from].layers[0])
    x = np.random.default_rng(0).random((2, size, size, 3)).astype("float32")
    np.testing.assert_allclose(upper(lower(x)), trunk(x), rtol=1e-5, atol=1e-5)
    assert {layer.name for layer in upper.layers[1:]} >= set(blocks[cut_from].layers)


def test_split_efficientnet_lite0_at_its_top_blocks(backbone):
    trunk = backbone_parts(backbone).trunk
    lower, upper = split_trunk(trunk, "block6c_expand_conv")
    x = np.random.default_rng(1).random((2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(upper(lower(x)), trunk(x), rtol=1e-5, atol=1e-5)
    assert lower.output.shape[1:] == (2, 2, 192)
    assert split_trunk(trunk, "no_such_layer") is None


def test_discriminative_adam_scales_each_variables_step():
    fast, slow = keras.Variable(np.ones(4, "float32"), name="fast"), keras.Variable(np.ones(4, "float32"), name="slow")
    optimizer = DiscriminativeAdam(0.1, multipliers={fast.path: 1.0, slow.path: 0.25})
    gradient = np.full(4, 0.5, "float32")
    optimizer.apply_gradients([(gradient, fast), (gradient, slow)])
    fast_step, slow_step = 1 - fast.numpy(), 1 - slow.numpy()
    np.testing.assert_allclose(fast_step, 0.1, rtol=1e-3)  # Adam's first step is lr * sign(gradient)
    np.testing.assert_allclose(slow_step / fast_step, 0.25, rtol=1e-3)
    config = optimizer.get_config()
    assert DiscriminativeAdam.from_config(config).multipliers == {fast.path: 1.0, slow.path: 0.25}


def test_block_multipliers_reach_every_weight_of_the_blocks(backbone):
    trunk = backbone_parts(backbone).trunk
    multipliers = variable_multipliers(trunk, [("block7a", 0.5), ("top", 1.0)])
    assert multipliers["top_conv/kernel"] == 1.0 and multipliers["block7a_project_conv/kernel"] == 0.5
    assert "block7a_bn/gamma" not in multipliers and "block6d_expand_conv/kernel" not in multipliers
