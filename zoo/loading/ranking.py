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
