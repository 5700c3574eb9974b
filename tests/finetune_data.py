"""Tiny learnable image sets for the fine-tuning tests: one coloured shape per class on a noisy background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("circle", "square", "diamond")
COLOURS = ((230, 40, 40), (40, 200, 40), (40, 40, 230))


def shapes(count: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (count, size, size, 3), class ids cycling 0, 1, 2): a filled shape per class, random place."""
    rng = np.random.default_rng(seed)
    y = np.arange(count) % len(CLASSES)
    x = rng.integers(0, 60, (count, size, size, 3)).astype(np.uint8)
    rows, cols = np.mgrid[:size, :size]
    radius = size // 5
    for i, label in enumerate(y):
        cy, cx = rng.integers(radius, size - radius, 2)
        dy, dx = np.abs(rows - cy), np.abs(cols - cx)
        mask = (dy**2 + dx**2 < radius**2, (dy < radius) & (dx < radius), dy + dx < radius)[label]
        x[i][mask] = COLOURS[label]
    return x, y


def shape_folder(root: Path, per_class: int, size: int = 64, seed: int = 0) -> Path:
    """A folder of class sub-folders holding PNG shape images; returns the folder."""
    x, y = shapes(per_class * len(CLASSES), size, seed)
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        folder = root / CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    return root


def lite0(num_classes: int = 3, size: int = 64, **overrides):
    """EfficientNet-Lite0 with its bundled ImageNet weights (offline), small input, new head."""
    import zoo

    return zoo.load("efficientnet_lite0", input_shape=(size, size, 3), num_classes=num_classes, **overrides)
