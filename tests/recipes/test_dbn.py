"""DBN recipes: the unrolled net's layout, greedy layer-wise pretraining, and fine-tuning from the pretrained stack."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.catalogue import entries_of

ENTRIES = {entry.name: entry for entry in entries_of("dbn")}


def _tiny_dbn(hidden_units=(8, 6), seed: int = 0):
    """dbn_digits' builder at a tiny size on 4x4 images."""
    import keras

    keras.utils.set_random_seed(seed)
    entry = ENTRIES["dbn_digits"]
    return entry.build(**{**entry.hparams, "input_shape": (4, 4, 1), "hidden_units": hidden_units})


def _bars(count: int = 40, seed: int = 0) -> np.ndarray:
    """4x4 images, each one full horizontal or vertical bar: structured binary data an RBM can learn."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 4, 4, 1), dtype="float32")
    for image, vertical, index in zip(images, rng.integers(0, 2, count), rng.integers(0, 4, count), strict=True):
        if vertical:
            image[:, index] = 1.0
        else:
            image[index, :] = 1.0
    return images


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_unrolled_net_is_rbm_stack_under_softmax_head(name):
    from zoo.training.pretrain_rbm import rbm_layers

    entry = ENTRIES[name]
    model = entry.build(**entry.hparams)
    assert [layer.units for layer in rbm_layers(model)] == list(entry.hparams["hidden_units"])
    assert [layer.name for layer in rbm_layers(model)] == [f"rbm_{i}" for i in range(1, len(rbm_layers(model)) + 1)]
    assert model.get_layer("predictions").units == entry.hparams["num_classes"]
    for key in ("cd_k", "pretrain_epochs", "pretrain_batch_size", "pretrain_learning_rate"):
        assert key in entry.hparams


def test_pretraining_lowers_reconstruction_error_layer_by_layer():
    from zoo.training.pretrain_rbm import pretrain

    model = _tiny_dbn()
    histories = pretrain(model, _bars(), epochs=30, k=1, batch_size=10, learning_rate=0.2)
    assert len(histories) == 2
    for history in histories:
        assert len(history) == 31
        assert history[-1] < 0.7 * history[0], history


def test_layer_two_trains_on_layer_one_outputs_while_layer_one_is_frozen(monkeypatch):
    import keras

    from zoo.training import pretrain_rbm

    model, x = _tiny_dbn(), _bars()
    rbm_1 = model.get_layer("rbm_1")
    initial_kernel = rbm_1.kernel.numpy()
    calls = []
    original = pretrain_rbm.pretrain_layer

    def recording_pretrain_layer(rbm, v, **kwargs):
        calls.append((rbm.name, np.asarray(v), rbm_1.kernel.numpy(), rbm_1.hidden_bias.numpy()))
        return original(rbm, v, **kwargs)

    monkeypatch.setattr(pretrain_rbm, "pretrain_layer", recording_pretrain_layer)
    pretrain_rbm.pretrain(model, x, epochs=1, k=1, batch_size=8, learning_rate=0.1)

    assert [name for name, *_ in calls] == ["rbm_1", "rbm_2"]  # greedy: all of layer 1, then layer 2
    np.testing.assert_array_equal(calls[0][1], x.reshape(len(x), -1))
    assert not np.allclose(initial_kernel, rbm_1.kernel.numpy())  # layer 1 did train...
    np.testing.assert_array_equal(calls[1][2], rbm_1.kernel.numpy())  # ...and stayed fixed while layer 2 trained
    np.testing.assert_array_equal(calls[1][3], rbm_1.hidden_bias.numpy())
    expected = keras.ops.convert_to_numpy(rbm_1(x.reshape(len(x), -1)))
    np.testing.assert_allclose(calls[1][1], expected, atol=1e-6)


def test_fine_tuning_starts_from_pretrained_weights_and_leaves_visible_bias_alone():
    import keras

    from zoo.training.pretrain_rbm import pretrain

    model, x = _tiny_dbn(), _bars()
    pretrain(model, x, epochs=5, batch_size=10, learning_rate=0.2)
    rbm_1 = model.get_layer("rbm_1")
    pretrained_kernel, visible_bias = rbm_1.kernel.numpy(), rbm_1.visible_bias.numpy()
    assert np.abs(visible_bias).max() > 0  # pretraining set it

    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    labels = np.arange(len(x)) % model.output_shape[-1]
    model.fit(x, labels, epochs=1, batch_size=10, verbose=0)
    np.testing.assert_array_equal(rbm_1.visible_bias.numpy(), visible_bias)
    kernel_shift = np.abs(rbm_1.kernel.numpy() - pretrained_kernel).max()
    assert 0 < kernel_shift < 0.1  # fine-tuned, starting from the pretrained weights


def test_pretrain_refuses_a_model_without_rbm_layers():
    import keras

    from zoo.training.pretrain_rbm import pretrain

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no BernoulliRBM"):
        pretrain(model, np.zeros((3, 4), dtype="float32"))
