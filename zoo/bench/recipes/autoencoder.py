"""Autoencoder benchmark: test-split reconstruction mse on sklearn digits, against PCA with as many components."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

import numpy as np

from zoo.bench.datasets import Split, digits
from zoo.bench.table import Measure, Row, averaged

FAMILY = "autoencoder"
CODE_SIZE = 16
BATCH_SIZE = 64
# Epochs per recipe: enough to beat PCA clearly while the three seeds of all four stay under four minutes.
EPOCHS = {"dense_ae": 60, "conv_ae": 40, "denoising_ae": 60, "vae": 60}
METRIC = "test mse"


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def pca_mse(data: Split, components: int = CODE_SIZE) -> float:
    """Test mse of scikit-learn PCA fitted on the training split: the linear baseline an autoencoder must beat."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=components).fit(_flat(data.x_train))
    reconstruction = pca.inverse_transform(pca.transform(_flat(data.x_test)))
    return float(np.mean((reconstruction - _flat(data.x_test)) ** 2))


def train_and_score(name: str, data: Split, seed: int) -> float:
    """Train catalogue entry `name` (through zoo.load) to reconstruct the training split; its test-split mse."""
    import keras

    import zoo

    keras.utils.set_random_seed(seed)
    model = zoo.load(name)
    from zoo.recipes.autoencoder import encoder_of  # importable once the catalogue has loaded the recipes

    code_size = encoder_of(model).output_shape[-1]
    if code_size != CODE_SIZE:
        raise RuntimeError(f"{name} has a {code_size}-d code; this benchmark compares {CODE_SIZE}-d codes with PCA")
    model.fit(data.x_train, data.x_train, epochs=EPOCHS[name], batch_size=BATCH_SIZE, verbose=0)
    reconstruction = model.predict(data.x_test, batch_size=256, verbose=0)
    return float(np.mean((reconstruction - data.x_test) ** 2))


def run(seeds: Iterable[int]) -> list[Row]:
    """The PCA baseline row, then one row per autoencoder: mean test mse over `seeds`, ratio to PCA in the note."""
    seeds = list(seeds)
    data = digits()
    started = time.perf_counter()
    baseline = pca_mse(data)
    seconds = [time.perf_counter() - started]
    note = f"scikit-learn PCA({CODE_SIZE}) fitted on the train split; mse {baseline:.5f} (deterministic: one run)"
    measure = Measure(FAMILY, data.name, METRIC)
    rows = [averaged(f"pca{CODE_SIZE} (baseline)", measure, [baseline], seconds, note=note)]
    for name, epochs in EPOCHS.items():
        values, seconds = [], []
        for seed in seeds:
            started = time.perf_counter()
            values.append(train_and_score(name, data, seed))
            seconds.append(time.perf_counter() - started)
            print(f"[bench] {name} seed {seed}: test mse {values[-1]:.5f} ({seconds[-1]:.1f}s)", file=sys.stderr)
        mean = float(np.mean(values))
        note = f"{CODE_SIZE}-d code, {epochs} epochs; mse {mean:.5f} = {mean / baseline:.2f} x PCA{CODE_SIZE}"
        rows.append(averaged(name, measure, values, seconds, note=note))
    return rows
