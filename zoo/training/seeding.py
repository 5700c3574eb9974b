"""One seed for every random source, so a run repeats."""

from __future__ import annotations

import os


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python's, NumPy's and Keras/TensorFlow's generators; `deterministic` also makes TF ops deterministic
    (repeatable on the same machine, slower, and some GPU ops then refuse to run)."""
    import keras

    os.environ["PYTHONHASHSEED"] = str(seed)  # for worker processes started from here
    keras.utils.set_random_seed(seed)  # random, numpy.random and the backend's global seed
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
