"""The input-wait share: high when the input pipeline is slowed, low when batches are ready in time."""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from zoo.hardware.feeding import InputWait

WIDTH, BATCH, BATCHES = 1024, 64, 12
DELAY = 0.15  # seconds added to each batch: several steps' worth even on a machine loaded 2-3x


def slowed(dataset: tf.data.Dataset, delay: float) -> tf.data.Dataset:
    """`dataset` whose every batch takes `delay` more seconds to make (a slow decoder, a slow disk)."""
    late = dataset.map(lambda a, b: (tf.py_function(lambda t: time.sleep(delay) or t, [a], tf.float32), b))
    return late.map(lambda a, b: (tf.ensure_shape(a, (None, WIDTH)), b))


def test_a_slowed_pipeline_shows_a_higher_input_wait_share():
    x = np.random.default_rng(0).normal(size=(BATCH * BATCHES, WIDTH)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(BATCH)
    layers = [keras.Input((WIDTH,)), keras.layers.Dense(WIDTH, activation="relu"), keras.layers.Dense(1)]
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="mse")
    shares = []
    for data in (dataset, slowed(dataset, DELAY)):
        probe = InputWait()
        model.fit(probe.stamped(data.prefetch(1)), epochs=1, callbacks=[probe], verbose=0)
        shares.append(probe.share())
    fast, slow = shares
    assert 0.0 <= fast < 0.5 and slow > fast + 0.25, shares  # slow: 150 ms of waiting to a step of ~5-60 ms


def test_no_step_measured_is_none():
    assert InputWait().share() is None


def test_the_replicated_loop_measures_the_wait_of_each_batch_it_takes():
    from zoo.hardware.replicated_loop import replicated_fit

    x = np.random.default_rng(0).normal(size=(BATCH * BATCHES, WIDTH)).astype("float32")
    y = np.eye(2, dtype="float32")[(x[:, 0] > 0).astype(int)]
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = keras.Sequential(
            [
                keras.Input((WIDTH,)),
                keras.layers.Dense(WIDTH, activation="relu"),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy())
    shares = []
    for data in (dataset.prefetch(1), slowed(dataset, DELAY)):
        probe = InputWait()
        replicated_fit(model, strategy, (data, dataset), epochs=1, callbacks=[probe])
        shares.append(probe.share())
    fast, slow = shares
    assert 0.0 <= fast < 0.5 and slow > fast + 0.25, shares
