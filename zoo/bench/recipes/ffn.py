"""FFN benchmark: test-split accuracy of the catalogue's MLPs on sklearn digits, mean over seeds.

`Run` and `measure` are shared with the CNN benchmark: one recipe, its overrides, its input and its epochs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo.bench.datasets import Split, digits
from zoo.bench.table import Measure, Row, averaged

FAMILY = "ffn"
METRIC = "test accuracy"


@dataclass(frozen=True)
class Run:
    """How one recipe is benchmarked: `zoo.load(recipe, **overrides)` fitted on `prepare(x)` for `epochs`."""

    recipe: str
    epochs: int
    note: str
    overrides: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[np.ndarray], np.ndarray] = lambda x: x
    batch_size: int = 64


def flattened(x: np.ndarray) -> np.ndarray:
    """(n, 8, 8, 1) digits -> (n, 64) feature vectors."""
    return x.reshape(len(x), -1)


def padded_784(x: np.ndarray) -> np.ndarray:
    """(n, 8, 8, 1) digits zero-padded into the centre of a 28x28 canvas (MNIST's size), flattened to (n, 784)."""
    return np.pad(x[..., 0], ((0, 0), (10, 10), (10, 10))).reshape(len(x), 784)


RUNS = (
    Run(
        "mlp_784_1000_10",
        20,
        "default model unchanged; 8x8 digits zero-padded to 28x28, flattened to 784",
        prepare=padded_784,
    ),
    Run("mlp_digits", 30, "default model; (8, 8, 1) images as-is, flattened inside the model"),
    Run("mlp_tabular", 30, "default model (num_features=64); the 64 pixels in [0, 1] as features", prepare=flattened),
)


def train_and_score(run: Run, data: Split, seed: int) -> float:
    """Fit the recipe (built and compiled by zoo.load) on the training split; its test-split accuracy."""
    import keras

    import zoo

    keras.utils.set_random_seed(seed)
    model = zoo.load(run.recipe, **run.overrides)
    model.fit(run.prepare(data.x_train), data.y_train, epochs=run.epochs, batch_size=run.batch_size, verbose=0)
    _, accuracy = model.evaluate(run.prepare(data.x_test), data.y_test, batch_size=256, verbose=0)
    return float(accuracy)


def measure(runs: Iterable[Run], family: str, seeds: Iterable[int]) -> list[Row]:
    """One row per run on sklearn digits: mean test accuracy over `seeds`; one progress line per seed on stderr."""
    data, seeds, rows = digits(), list(seeds), []
    for run in runs:
        values, seconds = [], []
        for seed in seeds:
            started = time.perf_counter()
            values.append(train_and_score(run, data, seed))
            seconds.append(time.perf_counter() - started)
            print(f"[bench] {run.recipe} seed {seed}: {METRIC} {values[-1]:.4f} ({seconds[-1]:.1f}s)", file=sys.stderr)
        note = f"{run.note}; {run.epochs} epochs"
        rows.append(averaged(run.recipe, Measure(family, data.name, METRIC), values, seconds, note=note))
    return rows


def run(seeds: Iterable[int]) -> list[Row]:
    """Every FFN recipe on sklearn digits."""
    return measure(RUNS, FAMILY, seeds)
