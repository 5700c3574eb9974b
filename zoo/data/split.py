"""A seeded stratified train/validation split that keeps every class on both sides, and balanced class weights."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zoo.data.labelled import LabelledData, label_counts
from zoo.errors import BadData


def stratified_split(
    data: LabelledData, validation_fraction: float = 0.2, seed: int = 0
) -> tuple[LabelledData, LabelledData]:
    """`data` as (train, validation) with about `validation_fraction` of each class in validation and at least one
    per side, drawn with `seed`; rows of one file (listed twice) always land on the same side.

    Raises BadData naming the classes that have fewer than two examples, since no split can then keep them on
    both sides.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise BadData(f"validation_fraction must be between 0 and 1 (exclusive); got {validation_fraction!r}")
    lead = first_rows(data.files, len(data))
    leaders = lead == np.arange(len(data))
    counts = label_counts(data.y[leaders], len(data.class_names))
    refuse_small(data, counts)
    holdout = multilabel_holdout if data.multilabel else class_holdout
    # A file listed twice goes where its first row went.
    held = np.isin(lead, holdout(data.y, leaders, counts, validation_fraction, seed))
    return data.subset(np.flatnonzero(~held)), data.subset(np.flatnonzero(held))


def refuse_small(data: LabelledData, counts: np.ndarray) -> None:
    """BadData naming the classes (or multi-label labels) with fewer than 2 examples: no split keeps them on both
    sides."""
    small = [f"{name!r} ({count})" for name, count in zip(data.class_names, counts, strict=True) if count < 2]
    if small and data.multilabel:
        raise BadData(
            f"cannot split {data.origin}: labels {', '.join(small)} appear in fewer than 2 rows, and a validation "
            "split needs each label on both sides; add examples of them, drop them, or pass validation data"
        )
    if small:
        raise BadData(
            f"cannot split {data.origin}: classes {', '.join(small)} have fewer than 2 examples, and a validation "
            "split needs at least one of every class on each side; add examples of them or pass validation data"
        )


def class_holdout(y: np.ndarray, leaders: np.ndarray, counts: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Validation rows among `leaders` for class ids `y`: about `fraction` of each class, at least one, never all."""
    rng = np.random.default_rng(seed)
    validation = []
    for class_id, count in enumerate(counts):
        rows = rng.permutation(np.flatnonzero(leaders & (y == class_id)))
        validation.append(rows[: min(max(int(round(count * fraction)), 1), count - 1)])
    return np.concatenate(validation)


def multilabel_holdout(
    y: np.ndarray, leaders: np.ndarray, counts: np.ndarray, fraction: float, seed: int
) -> np.ndarray:
    """Validation rows among `leaders` for multi-label 0/1 rows `y`, iterative stratification (Sechidis et al. 2011)
    simplified: labels rarest first, each takes about `fraction` of its rows into validation (at least one where its
    rows allow); rows with no label are drawn at `fraction`."""
    positive = (y > 0) & leaders[:, None]
    rng = np.random.default_rng(seed)
    wanted = np.minimum(np.maximum(np.round(counts * fraction), 1), counts - 1)
    side = np.zeros(len(y), dtype=np.int8)  # 0: not placed yet, 1: validation, 2: training
    for label in np.argsort(counts, kind="stable"):
        first = wanted[label]
        for row in rng.permutation(np.flatnonzero(positive[:, label] & (side == 0))):
            # Every label of the row still wants validation rows, or this label has none there yet.
            take = wanted[label] > 0 and (wanted[positive[row]].min() > 0 or wanted[label] == first)
            side[row] = 1 if take else 2
            wanted[positive[row]] -= 1 if take else 0
    unlabelled = rng.permutation(np.flatnonzero(leaders & (side == 0)))
    return np.concatenate([np.flatnonzero(side == 1), unlabelled[: int(round(len(unlabelled) * fraction))]])


def first_rows(files: Sequence[str] | None, count: int) -> np.ndarray:
    """For each row, the first row with the same file (itself when the file is not repeated or files are unknown)."""
    if files is None:
        return np.arange(count)
    first: dict[str, int] = {}
    return np.asarray([first.setdefault(file, i) for i, file in enumerate(files)], dtype=np.int64)


def class_weights(y: np.ndarray, num_classes: int) -> dict[int, float]:
    """Balanced weights n / (k * count) of labels `y` over `num_classes` for Keras' `class_weight`; a class with no
    example gets 1.0 (never used)."""
    labels = np.asarray(y, dtype=np.int64).ravel()
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise BadData(f"class ids must be 0..{num_classes - 1}; got {labels.min()}..{labels.max()}")
    counts = np.bincount(labels, minlength=num_classes)
    total = len(labels)
    return {i: (total / (num_classes * int(c)) if c else 1.0) for i, c in enumerate(counts)}
