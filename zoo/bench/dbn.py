"""DBN benchmark on sklearn digits: greedy CD pretraining then fine-tuning, against the same net without pretraining.

Also reports each RBM's reconstruction error (mean squared, on its training inputs) before and after pretraining,
so the claim that pretraining learns something is measured, not assumed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from zoo.bench.datasets import Split, digits
from zoo.bench.table import Row, averaged

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
                    "dbn",
                    data.name,
                    f"recon_mse_{when}",
                    values,
                    [0.0] * len(values),
                    note=f"CD pretraining of rbm_{layer + 1}, on its training inputs",
                )
            )
    return rows


def run(seeds: Iterable[int]) -> list[Row]:
    """Train dbn_digits with and without pretraining per seed; test accuracy means plus reconstruction-error rows."""
    data = digits()
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
            "dbn",
            data.name,
            "test accuracy",
            [accuracy for accuracy, _, _ in results[pretrained]],
            [seconds for _, _, seconds in results[pretrained]],
            note=f"{'CD pretraining, then ' if pretrained else ''}{FINETUNE_EPOCHS} epochs fine-tuning",
        )
        for pretrained in (True, False)
    ]
    histories = [seed_histories for _, seed_histories, _ in results[True]]
    return rows + _reconstruction_rows(data, histories)
