"""Autoencoder recipes: reusable encoders, noise off at inference, the VAE's KL term, training that reconstructs."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.catalogue import entries_of

ENTRIES = {entry.name: entry for entry in entries_of("autoencoder")}


def _model(name: str, **overrides):
    """Entry `name` as zoo.load returns it (compiled), with a fixed seed."""
    import keras

    keras.utils.set_random_seed(0)
    return zoo.load(name, **overrides)


def _pixels(count: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, 8, 8, 1)).astype("float32")


def _encoder_of():
    from zoo.recipes.autoencoder import encoder_of  # importable once entries_of has loaded the recipes package

    return encoder_of


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_encoder_of_maps_input_to_code_also_after_reload(name, tmp_path):
    from zoo.loading.assemble import load_saved

    encoder_of = _encoder_of()
    model, x = _model(name, code_size=5), _pixels()
    codes = encoder_of(model).predict(x, verbose=0)
    assert codes.shape == (len(x), 5)

    model.save(tmp_path / f"{name}.keras")
    reloaded = load_saved(tmp_path / f"{name}.keras")  # safe_mode=True
    np.testing.assert_allclose(encoder_of(reloaded).predict(x, verbose=0), codes, rtol=1e-5, atol=1e-6)


def test_encoder_of_prefers_a_nested_encoder_and_refuses_a_model_without_code():
    import keras

    encoder_of = _encoder_of()
    inputs = keras.Input((4,))
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)], name="encoder")
    nested = keras.Model(inputs, keras.layers.Dense(4)(encoder(inputs)))
    assert encoder_of(nested) is encoder

    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)], name="plain")
    with pytest.raises(ValueError, match="'code'"):
        encoder_of(plain)


@pytest.mark.parametrize("noise", ["gaussian", "dropout"])
def test_denoising_noise_is_on_in_training_and_off_at_inference(noise):
    model, x = _model("denoising_ae", noise=noise, noise_level=0.5), _pixels()
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_allclose(model(x, training=False), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(model(x, training=True), model(x, training=False))


def test_unknown_noise_is_refused_by_name():
    with pytest.raises(ValueError, match="salt"):
        _model("denoising_ae", noise="salt")


def test_vae_adds_a_positive_kl_loss_and_predicts_the_mean():
    model, x = _model("vae", kl_weight=1.0), _pixels()
    model(x)
    assert len(model.losses) == 1 and float(model.losses[0]) > 0.0
    prediction = model.predict(x, verbose=0)
    np.testing.assert_array_equal(prediction, model.predict(x, verbose=0))
    assert not np.allclose(model(x, training=True), prediction)
    pure_mse = float(np.mean((prediction - x) ** 2))
    assert model.evaluate(x, x, verbose=0) > pure_mse + 1e-3, "the compiled loss must include the KL term"


def test_vae_kl_weight_scales_the_added_loss():
    x = _pixels()
    light, heavy = _model("vae", kl_weight=0.1), _model("vae", kl_weight=1.0)
    light(x), heavy(x)
    np.testing.assert_allclose(10 * float(light.losses[0]), float(heavy.losses[0]), rtol=1e-4)


def test_conv_ae_refuses_a_size_it_cannot_restore():
    with pytest.raises(ValueError, match="multiples of 4"):
        _model("conv_ae", input_shape=(10, 10, 1))


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_few_epochs_lower_the_reconstruction_error(name):
    from zoo.bench.datasets import digits

    x = digits().x_train[:128]
    model = _model(name)
    before = float(np.mean((model.predict(x, verbose=0) - x) ** 2))
    model.fit(x, x, epochs=5, batch_size=32, verbose=0)
    after = float(np.mean((model.predict(x, verbose=0) - x) ** 2))
    assert after < 0.8 * before
