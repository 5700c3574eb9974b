"""The compiled CD-k epoch: the same updates as a NumPy CD-1 reference, batch by batch, partial last batch included."""

from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _numpy_cd1(weights: list[np.ndarray], batch: np.ndarray, noise: np.ndarray, learning_rate: float) -> None:
    """Hinton's CD-1 in NumPy, in place: sampled binary hiddens, visible probabilities, mean statistics."""
    kernel, hidden_bias, visible_bias = weights
    h0 = _sigmoid(batch @ kernel + hidden_bias)
    v1 = _sigmoid((noise < h0).astype("float32") @ kernel.T + visible_bias)
    h1 = _sigmoid(v1 @ kernel + hidden_bias)
    kernel += learning_rate * (batch.T @ h0 - v1.T @ h1) / len(batch)
    hidden_bias += learning_rate * (h0 - h1).mean(axis=0)
    visible_bias += learning_rate * (batch - v1).mean(axis=0)


def test_compiled_epoch_gives_the_numpy_cd1_updates():
    import keras

    from zoo.layers.rbm import BernoulliRBM
    from zoo.training.pretrain_rbm import cd_epoch

    keras.utils.set_random_seed(0)
    rbm = BernoulliRBM(4, seed=3)
    rbm.build((None, 6))
    rng = np.random.default_rng(0)
    rbm.hidden_bias.assign(rng.normal(size=4).astype("float32"))
    rbm.visible_bias.assign(rng.normal(size=6).astype("float32"))
    v = rng.random((5, 6)).astype("float32")
    order = np.array([3, 0, 4, 1, 2])  # a full batch of 3, then a partial batch of 2
    weights = [w.numpy().astype("float64") for w in (rbm.kernel, rbm.hidden_bias, rbm.visible_bias)]
    replay = keras.random.SeedGenerator(0)  # replays the layer's random stream: same uniforms, same samples
    replay.state.assign(rbm.seed_generator.state.value)

    error = float(cd_epoch(rbm, k=1, batch_size=3, learning_rate=0.5)(v, order))

    for rows in (order[:3], order[3:]):
        noise = keras.ops.convert_to_numpy(keras.random.uniform((len(rows), 4), seed=replay))
        _numpy_cd1(weights, v[rows].astype("float64"), noise, learning_rate=0.5)
    for expected, weight in zip(weights, (rbm.kernel, rbm.hidden_bias, rbm.visible_bias), strict=True):
        np.testing.assert_allclose(weight.numpy(), expected, rtol=1e-4, atol=1e-5, err_msg=weight.name)
    kernel, hidden_bias, visible_bias = weights
    reconstruction = _sigmoid(_sigmoid(v @ kernel + hidden_bias) @ kernel.T + visible_bias)
    np.testing.assert_allclose(error, np.mean((v - reconstruction) ** 2), rtol=1e-4)
