"""CNN recipes: digits-shaped inputs work for every entry, hparams reshape the nets, training fits a tiny batch."""

from __future__ import annotations

import numpy as np
import pytest

import zoo

CNNS = zoo.list_models(family="cnn")
DIGITS = (8, 8, 1)


def _layers(model, kind: str) -> list:
    import keras

    return [layer for layer in model.layers if isinstance(layer, getattr(keras.layers, kind))]


@pytest.mark.parametrize("name", CNNS)
def test_every_cnn_takes_8x8_digits(name):
    model = zoo.load(name, input_shape=DIGITS, num_classes=10)
    x = np.random.default_rng(0).random((3, *DIGITS)).astype("float32")
    probabilities = model.predict(x, verbose=0)
    assert model.input_shape == (None, *DIGITS)
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", CNNS)
def test_num_classes_sets_the_output_width(name):
    assert zoo.load(name, num_classes=4).output_shape == (None, 4)
    assert (
        "input_shape" in zoo.info(name).hparams and zoo.info(name).input_shape == zoo.info(name).hparams["input_shape"]
    )


def test_lenet5_resizes_other_sizes_to_32x32_and_keeps_the_classic_layers():
    classic = zoo.load("lenet5")
    digits = zoo.load("lenet5", input_shape=DIGITS)
    assert "resize" not in [layer.name for layer in classic.layers]
    assert digits.get_layer("resize").output.shape[1:3] == (32, 32)
    assert digits.get_layer("c5").output.shape[1:] == (1, 1, 120)
    assert classic.count_params() == digits.count_params() == 61706  # LeCun et al.'s LeNet-5 sizes


def test_vgg_filters_and_depth_are_hparams():
    model = zoo.load("vgg_small", input_shape=DIGITS, filters=(8, 16), convs_per_block=3, dense_units=32)
    assert [layer.filters for layer in _layers(model, "Conv2D")] == [8, 8, 8, 16, 16, 16]
    assert model.get_layer("fc").units == 32
    assert model.get_layer("flatten").output.shape[-1] == 2 * 2 * 16  # two 'same' max-pools: 8 -> 4 -> 2


@pytest.mark.parametrize("blocks", [1, 3])
def test_resnet_small_is_6n_plus_2_layers_with_projections_only_where_shapes_change(blocks):
    model = zoo.load("resnet_small", blocks_per_stage=blocks)
    convs = _layers(model, "Conv2D")
    main_path = [c for c in convs if c.kernel_size == (3, 3)]
    projections = [c for c in convs if c.kernel_size == (1, 1)]
    assert len(main_path) + 1 == 6 * blocks + 2  # + the Dense head: ResNet-8 / ResNet-20
    assert len(_layers(model, "Add")) == 3 * blocks
    assert [p.strides for p in projections] == [(2, 2), (2, 2)]
    assert model.get_layer("avg_pool").output.shape[-1] == 64


def test_a_few_steps_lower_the_loss_on_a_tiny_batch():
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.random((16, *DIGITS)).astype("float32"), rng.integers(0, 10, size=16)
    model = zoo.load("vgg_small", input_shape=DIGITS, learning_rate=3e-3)
    # The training loss, not evaluate(): after ten steps BN's moving statistics still lag the batch statistics.
    losses = model.fit(x, y, epochs=10, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
