"""BernoulliRBM: forward pass is sigmoid(xW + b_h), CD-k learns structured data, save/reload keeps every weight."""

from __future__ import annotations

import numpy as np
import pytest


def _bars(count: int = 64, side: int = 4, seed: int = 0) -> np.ndarray:
    """Bars-and-stripes: each image is one full horizontal or vertical bar, flattened; strongly structured binary."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, side, side), dtype="float32")
    for image, vertical, index in zip(images, rng.integers(0, 2, count), rng.integers(0, side, count), strict=True):
        if vertical:
            image[:, index] = 1.0
        else:
            image[index, :] = 1.0
    return images.reshape(count, -1)


def _rbm(units: int = 8, visible: int = 16, seed: int = 0):
    import keras

    from zoo.layers.rbm import BernoulliRBM

    keras.utils.set_random_seed(seed)
    layer = BernoulliRBM(units, seed=seed)
    layer.build((None, visible))
    return layer


def test_forward_pass_is_sigmoid_of_affine_hidden_map():
    import keras

    rbm = _rbm()
    rng = np.random.default_rng(1)
    rbm.hidden_bias.assign(rng.normal(size=8).astype("float32"))
    rbm.visible_bias.assign(rng.normal(size=16).astype("float32"))
    x = rng.random((5, 16)).astype("float32")
    kernel, bias = rbm.kernel.numpy(), rbm.hidden_bias.numpy()
    expected = 1.0 / (1.0 + np.exp(-(x @ kernel + bias)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rbm(x)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("k", [1, 3])
def test_cd_k_lowers_reconstruction_error_on_bars(k):
    rbm, v = _rbm(), _bars()
    before = float(rbm.reconstruction_error(v))
    for _ in range(150):
        rbm.cd_step(v, k=k, learning_rate=0.2)
    after = float(rbm.reconstruction_error(v))
    assert after < 0.5 * before, (before, after)


def test_cd_step_moves_kernel_and_both_biases():
    rbm, v = _rbm(), _bars(count=16)
    start = [w.numpy() for w in (rbm.kernel, rbm.hidden_bias, rbm.visible_bias)]
    error = rbm.cd_step(v, k=1, learning_rate=0.1)
    assert np.isfinite(float(error))
    for before, weight in zip(start, (rbm.kernel, rbm.hidden_bias, rbm.visible_bias), strict=True):
        assert not np.allclose(before, weight.numpy()), weight.name


def test_visible_bias_is_not_trained_by_fit_and_refuses_k_zero():
    rbm = _rbm()
    assert [w.path for w in rbm.non_trainable_weights] == [rbm.visible_bias.path]
    assert [w.path for w in rbm.trainable_weights] == [rbm.kernel.path, rbm.hidden_bias.path]
    with pytest.raises(ValueError, match="k >= 1"):
        rbm.cd_step(_bars(count=4), k=0)


def test_save_and_safe_reload_keep_outputs_and_visible_bias(tmp_path):
    import keras

    from zoo.layers.rbm import BernoulliRBM

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(16,))
    hidden = BernoulliRBM(8, name="rbm_1")(inputs)
    outputs = BernoulliRBM(4, name="rbm_2")(hidden)
    model = keras.Model(inputs, outputs)
    visible_bias = np.random.default_rng(2).normal(size=16).astype("float32")
    model.get_layer("rbm_1").visible_bias.assign(visible_bias)
    x = _bars(count=6)

    path = tmp_path / "rbm.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)

    assert isinstance(reloaded.get_layer("rbm_1"), BernoulliRBM)
    np.testing.assert_array_equal(reloaded.get_layer("rbm_1").visible_bias.numpy(), visible_bias)
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert reloaded.get_layer("rbm_2").get_config()["units"] == 4
