"""Deep belief networks unrolled into classifiers: a stack of BernoulliRBM layers under a softmax head.

Each RBM is a sigmoid dense layer in the forward pass; `zoo.training.pretrain_rbm.pretrain(model, x, ...)` first trains
the stack greedily, layer by layer, by contrastive divergence, then `fit` fine-tunes the whole net on labels
(Hinton, Osindero & Teh, "A fast learning algorithm for deep belief nets", 2006).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from zoo.entry import Entry, Reference

if TYPE_CHECKING:
    import keras


def build_dbn(
    input_shape: Sequence[int],
    hidden_units: Sequence[int],
    num_classes: int,
    dropout: float = 0.0,
    name: str = "dbn",
    learning_rate: float = 1e-3,
    cd_k: int = 1,
    pretrain_epochs: int = 20,
    pretrain_batch_size: int = 32,
    pretrain_learning_rate: float = 0.05,
) -> keras.Model:
    """input -> Flatten -> BernoulliRBM x len(hidden_units) -> Dropout -> softmax "predictions".

    Ignores the training settings (learning_rate, cd_k, pretrain_*): `load` and `pretrain` read them from hparams.
    """
    import keras

    from zoo.layers.rbm import BernoulliRBM

    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for index, units in enumerate(hidden_units, start=1):
        x = BernoulliRBM(units, name=f"rbm_{index}")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


_PRETRAINING = dict(cd_k=1, pretrain_epochs=20, pretrain_batch_size=32, pretrain_learning_rate=0.05)

ENTRIES = (
    Entry(
        name="dbn_digits",
        family="dbn",
        task="classification",
        build=build_dbn,
        hparams=dict(
            name="dbn_digits",
            input_shape=(8, 8, 1),
            hidden_units=(256, 128),
            num_classes=10,
            dropout=0.2,
            learning_rate=3e-3,
            **_PRETRAINING,
        ),
        input_shape=(8, 8, 1),
        params=51146,
        summary="DBN 64-256-128 on 8x8 digits in [0, 1]: greedy CD-1 pretraining, then supervised fine-tuning.",
        reference=Reference("sklearn digits", "test accuracy", 0.9763, "python -m zoo.bench recipes --family dbn"),
    ),
    Entry(
        name="dbn_mnist",
        family="dbn",
        task="classification",
        build=build_dbn,
        hparams=dict(
            name="dbn_mnist",
            input_shape=(784,),
            hidden_units=(500, 500),
            num_classes=10,
            dropout=0.2,
            learning_rate=1e-3,
            **_PRETRAINING,
        ),
        input_shape=(784,),
        params=649294,
        summary="784-500-500-10 DBN for flat 28x28 MNIST in [0, 1]: Hinton et al. (2006) minus the 2000-unit top.",
        reference=None,
    ),
)
