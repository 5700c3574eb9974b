"""FFN recipes: hparams reshape the MLP, images are flattened inside the model, and training fits a tiny batch."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.bench.recipes.ffn import padded_784


def _layers(model, kind: str) -> list:
    import keras

    return [layer for layer in model.layers if isinstance(layer, getattr(keras.layers, kind))]


def test_mlp_784_1000_10_is_the_classic_net():
    model = zoo.load("mlp_784_1000_10")
    assert model.input_shape == (None, 784)
    assert [layer.units for layer in _layers(model, "Dense")] == [1000, 10]
    assert [layer.rate for layer in _layers(model, "Dropout")] == [0.5]
    assert model.count_params() == 784 * 1000 + 1000 + 1000 * 10 + 10


def test_hidden_units_and_dropout_overrides_change_the_architecture():
    model = zoo.load("mlp_digits", hidden_units=(32, 16, 8), dropout=0.1)
    assert [layer.units for layer in _layers(model, "Dense")] == [32, 16, 8, 10]
    assert [layer.rate for layer in _layers(model, "Dropout")] == [0.1, 0.1, 0.1]
    assert not _layers(zoo.load("mlp_digits", dropout=0.0), "Dropout"), "dropout=0 must leave no Dropout layer"


def test_batch_norm_is_an_hparam():
    with_bn = zoo.load("mlp_tabular", batch_norm=True)
    without = zoo.load("mlp_tabular", batch_norm=False)
    assert len(_layers(with_bn, "BatchNormalization")) == 2
    assert not _layers(without, "BatchNormalization")
    # BN adds 4 values per unit (2 trainable, 2 statistics) and removes the Dense bias it makes redundant.
    assert with_bn.count_params() - without.count_params() == 3 * (256 + 128)


@pytest.mark.parametrize("name", ["mlp_784_1000_10", "mlp_digits", "mlp_tabular"])
def test_num_classes_sets_the_output_width(name):
    model = zoo.load(name, num_classes=3)
    x = np.random.default_rng(0).random((2, *zoo.info(name).input_shape)).astype("float32")
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


def test_image_mlp_flattens_inside_and_tabular_mlp_takes_num_features():
    image_model = zoo.load("mlp_digits", input_shape=(4, 4, 2))
    assert image_model.input_shape == (None, 4, 4, 2)
    assert image_model.get_layer("flatten").output.shape[-1] == 32
    tabular = zoo.load("mlp_tabular", num_features=13)
    assert tabular.input_shape == (None, 13)
    assert zoo.info("mlp_tabular").input_shape == (zoo.info("mlp_tabular").hparams["num_features"],)


def test_dropout_out_of_range_is_refused():
    with pytest.raises(ValueError, match="dropout"):
        zoo.load("mlp_digits", dropout=1.0)


def test_a_few_steps_lower_the_loss_on_a_tiny_batch():
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 8, 8, 1)).astype("float32"), rng.integers(0, 10, size=16)
    model = zoo.load("mlp_digits", learning_rate=1e-2)
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[0] < 0.5 * before


def test_padded_784_centres_the_digit_and_keeps_its_pixels():
    digits = np.random.default_rng(0).random((3, 8, 8, 1)).astype("float32")
    flat = padded_784(digits)
    assert flat.shape == (3, 784)
    np.testing.assert_allclose(flat.reshape(3, 28, 28)[:, 10:18, 10:18], digits[..., 0])
    np.testing.assert_allclose(flat.sum(axis=1), digits.reshape(3, -1).sum(axis=1), rtol=1e-5)
