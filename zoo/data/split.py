"""A seeded stratified train/validation split that keeps every class on both sides, and balanced class weights."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zoo.data.labelled import LabelledData
from zoo.errors import BadData


def stratified_split(
    data: LabelledData, validation_fraction: float = 0.2, seed: int = 0
) -> tuple[LabelledData, LabelledData]:
    """(train, validation) with about `validation_fraction` of each class in validation and at least one per side;
    rows of one file (listed twice) always land on the same side.

    Raises BadData naming the classes that have fewer than two examples, since no split can then keep them on
    both sides.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise BadData(f"validation_fraction must be between 0 and 1 (exclusive); got {validation_fraction!r}")
    lead = first_rows(data.files, len(data))
    leaders = lead == np.arange(len(data))
    counts = np.bincount(data.y[leaders], minlength=len(data.class_names))
    small = [f"{name!r} ({count})" for name, count in zip(data.class_names, counts, strict=True) if count < 2]
    if small:
        raise BadData(
            f"cannot split {data.origin}: classes {', '.join(small)} have fewer than 2 examples, and a validation "
            "split needs at least one of every class on each side; add examples of them or pass validation data"
        )
    rng = np.random.default_rng(seed)
    validation = []
    for class_id, count in enumerate(counts):
        rows = rng.permutation(np.flatnonzero(leaders & (data.y == class_id)))
        validation.append(rows[: min(max(int(round(count * validation_fraction)), 1), count - 1)])
    held = np.isin(lead, np.concatenate(validation))  # a file listed twice goes where its first row went
    return data.subset(np.flatnonzero(~held)), data.subset(np.flatnonzero(held))


def first_rows(files: Sequence[str] | None, count: int) -> np.ndarray:
    """For each row, the first row with the same file (itself when the file is not repeated or files are unknown)."""
    if files is None:
        return np.arange(count)
    first: dict[str, int] = {}
    return np.asarray([first.setdefault(file, i) for i, file in enumerate(files)], dtype=np.int64)

def class_weights(y: np.ndarray, num_classes: int) -> dict[int, float]:
    """Balanced weights n / (k * count) for Keras' `class_weight`; a class with no example gets 1.0 (never used)."""
    labels = np.asarray(y, dtype=np.int64).ravel()
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise BadData(f"class ids must be 0..{num_classes - 1}; got {labels.min()}..{labels.max()}")
    counts = np.bincount(labels, minlength=num_classes)
    total = len(labels)
    return {i: (total / (num_classes * int(c)) if c else 1.0) for i, c in enumerate(counts)}
