"""Tiny learnable multi-label image sets: a bright square in the top-left, top-right or bottom half of a dark
image for the labels "left", "right" and "low", each present or not, written as a tags CSV and a 0/1-columns CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

LABELS = ("left", "low", "right")  # sorted: the order tags are read in
PLACES = {
    "left": (slice(2, 12), slice(2, 12)),
    "right": (slice(2, 12), slice(20, 30)),
    "low": (slice(20, 30), slice(8, 24)),
}


def multilabel_images(root: Path, count: int = 36, seed: int = 0) -> np.ndarray:
    """Write `count` 32x32 grey PNGs into `root`, tags.csv (file, tags) and columns.csv (file, left, low, right);
    returns their (count, 3) 0/1 labels. Every label set appears, the empty one too."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    y = np.array([[(i >> bit) & 1 for bit in range(len(LABELS))] for i in range(count)], dtype=np.int64)
    tags, columns = ["file,tags"], ["file," + ",".join(LABELS)]
    for i, row in enumerate(y):
        image = rng.integers(0, 50, (32, 32), dtype=np.uint8)
        for label, on in zip(LABELS, row, strict=True):
            if on:
                image[PLACES[label]] = 230
        Image.fromarray(image).save(root / f"{i:03d}.png")
        tags.append(f"{i:03d}.png," + " ".join(label for label, on in zip(LABELS, row, strict=True) if on))
        columns.append(f"{i:03d}.png," + ",".join(str(v) for v in row))
    (root / "tags.csv").write_text("\n".join(tags) + "\n", encoding="utf-8")
    (root / "columns.csv").write_text("\n".join(columns) + "\n", encoding="utf-8")
    return y
