"""Top-k (label, probability) pairs from output rows: NumPy only, so `zoo predict` on LiteRT never imports Keras."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top_labels(probabilities: np.ndarray, class_names: Sequence[str], top: int) -> list[list[tuple[str, float]]]:
    """Per row, the `top` best (class name, probability) pairs."""
    top = max(1, min(top, probabilities.shape[-1]))
    best = np.argsort(-probabilities, axis=-1)[:, :top]
    pairs = zip(probabilities, best, strict=True)
    return [[(class_names[i], float(row[i])) for i in indices] for row, indices in pairs]


def labels_over(
    outputs: np.ndarray, class_names: Sequence[str], thresholds: Sequence[float] | None
) -> list[list[tuple[str, float]]]:
    """Multi-label: every (label, probability) at or over its threshold (0.5 where none were saved), best first."""
    limits = np.asarray(thresholds if thresholds is not None else [0.5] * len(class_names), dtype=np.float64)
    picked = []
    for row in np.asarray(outputs, dtype=np.float64):
        over = [j for j in np.argsort(-row, kind="stable") if row[j] >= limits[j]]
        picked.append([(class_names[j], float(row[j])) for j in over])
    return picked
