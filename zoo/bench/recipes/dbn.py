"""DBN benchmark on sklearn digits: greedy CD pretraining then fine-tuning, against the same net without pretraining.

Also reports each RBM's reconstruction error (mean squared, on its training inputs) before and after pretraining,
so the claim that pretraining learns something is measured, not assumed, and times rbm_1's CD pretraining against
scikit-learn's BernoulliRBM on the same data, epochs, batch size and learning rate (their time ratio is a row).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

import numpy as np

from zoo.bench.datasets import Split, digits
from zoo.bench.table import Measure, Row, averaged

RECIPE = "dbn_digits"
FINETUNE_EPOCHS = 60
BATCH_SIZE = 32


def _fine_tuned_accuracy(data: Split, seed: int, pretrained: bool) -> tuple[float, list[list[float]], float]:
    """Test accuracy of one seed (optionally pretrained first), the pretraining histories, and the seconds taken."""
    import keras

    import zoo
    from zoo.training.pretrain_rbm import pretrain

    keras.utils.set_random_seed(seed)
    hparams = zoo.info(RECIPE).hparams
    start = time.perf_counter()
    model = zoo.load(RECIPE)
    histories = []
    if pretrained:
        histories = pretrain(
            model,
            data.x_train,
            epochs=hparams["pretrain_epochs"],
            k=hparams["cd_k"],
            batch_size=hparams["pretrain_batch_size"],
            learning_rate=hparams["pretrain_learning_rate"],
        )
    model.fit(data.x_train, data.y_train, epochs=FINETUNE_EPOCHS, batch_size=BATCH_SIZE, verbose=0)
    accuracy = float(model.evaluate(data.x_test, data.y_test, verbose=0)[1])
    return accuracy, histories, time.perf_counter() - start


def _reconstruction_rows(data: Split, histories: list[list[list[float]]]) -> list[Row]:
    """Per RBM layer, a row of the mean reconstruction error before pretraining and one after it."""
    rows = []
    for layer in range(len(histories[0])):
        for when, index in (("before", 0), ("after", -1)):
            values = [seed_histories[layer][index] for seed_histories in histories]
            rows.append(
                averaged(
                    f"{RECIPE} rbm_{layer + 1}",
                    Measure("dbn", data.name, f"recon_mse_{when}"),
                    values,
                    [0.0] * len(values),
                    note=f"CD pretraining of rbm_{layer + 1}, on its training inputs",
                )
            )
    return rows


def _scikit_reconstruction_error(rbm: object, v: np.ndarray) -> float:
    """BernoulliRBM.reconstruction_error's mean-field formula on scikit-learn's fitted weights."""
    from scipy.special import expit

    hidden = expit(v @ rbm.components_.T + rbm.intercept_hidden_)
    return float(np.mean(np.square(v - expit(hidden @ rbm.components_ + rbm.intercept_visible_))))


def _cd_timings(v: np.ndarray, seed: int) -> dict[str, tuple[float, float]]:
    """rbm_1's pretraining by zoo (compiled CD-k) and by scikit-learn (PCD-1), same settings: (seconds, final error)."""
    import keras
    from sklearn.neural_network import BernoulliRBM as ScikitRBM

    import zoo
    from zoo.layers.rbm import BernoulliRBM
    from zoo.training.pretrain_rbm import pretrain_layer

    hparams = zoo.info(RECIPE).hparams
    units, epochs = hparams["hidden_units"][0], hparams["pretrain_epochs"]
    batch_size, learning_rate = hparams["pretrain_batch_size"], hparams["pretrain_learning_rate"]
    keras.utils.set_random_seed(seed)
    rbm = BernoulliRBM(units, seed=seed)
    rbm.build(v.shape)
    start = time.perf_counter()
    history = pretrain_layer(rbm, v, epochs, k=hparams["cd_k"], batch_size=batch_size, learning_rate=learning_rate)
    zoo_seconds = time.perf_counter() - start
    scikit = ScikitRBM(units, learning_rate=learning_rate, batch_size=batch_size, n_iter=epochs, random_state=seed)
    start = time.perf_counter()
    scikit.fit(v)
    scikit_seconds = time.perf_counter() - start
    scikit_error = _scikit_reconstruction_error(scikit, v)
    return {"zoo": (zoo_seconds, history[-1]), "sklearn": (scikit_seconds, scikit_error)}


def _cd_speed_rows(data: Split, seeds: Iterable[int]) -> list[Row]:
    """Seconds and final reconstruction error of rbm_1's pretraining by zoo and by scikit-learn; their time ratio."""
    v = data.x_train.reshape(len(data.x_train), -1)
    timings = [_cd_timings(v, seed) for seed in seeds]
    notes = {"zoo": "compiled CD-1", "sklearn": "sklearn.neural_network.BernoulliRBM (PCD-1), same settings"}
    rows = [
        averaged(
            f"{RECIPE} rbm_1 ({who})",
            Measure("dbn", data.name, "recon_mse"),
            [timing[who][1] for timing in timings],
            [timing[who][0] for timing in timings],
            note=notes[who],
        )
        for who in notes
    ]
    ratios = [timing["zoo"][0] / timing["sklearn"][0] for timing in timings]
    seconds = [timing["zoo"][0] + timing["sklearn"][0] for timing in timings]
    return rows + [averaged(f"{RECIPE} rbm_1", Measure("dbn", data.name, "time zoo/sklearn"), ratios, seconds)]


def run(seeds: Iterable[int]) -> list[Row]:
    """Train dbn_digits with and without pretraining per seed; test accuracy means plus reconstruction-error rows."""
    data, seeds = digits(), list(seeds)
    results: dict[bool, list[tuple[float, list[list[float]], float]]] = {True: [], False: []}
    for seed in seeds:
        for pretrained in (True, False):
            result = _fine_tuned_accuracy(data, seed, pretrained)
            results[pretrained].append(result)
            label = "pretrained" if pretrained else "no pretraining"
            print(f"[bench] {RECIPE} ({label}) seed {seed}: acc {result[0]:.4f} in {result[2]:.1f}s", file=sys.stderr)
    rows = [
        averaged(
            f"{RECIPE} ({'pretrained' if pretrained else 'no pretraining'})",
            Measure("dbn", data.name, "test accuracy"),
            [accuracy for accuracy, _, _ in results[pretrained]],
            [seconds for _, _, seconds in results[pretrained]],
            note=f"{'CD pretraining, then ' if pretrained else ''}{FINETUNE_EPOCHS} epochs fine-tuning",
        )
        for pretrained in (True, False)
    ]
    histories = [seed_histories for _, seed_histories, _ in results[True]]
    return rows + _reconstruction_rows(data, histories) + _cd_speed_rows(data, seeds)
