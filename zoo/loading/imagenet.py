"""The 1000 ImageNet-1k class names, shipped with the package (Keras' decode_predictions downloads its index)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

CLASSES_FILE = Path(__file__).parent.parent / "assets" / "imagenet_classes.json"


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """Human-readable class names in the index order of ImageNet-1k classifiers."""
    names = json.loads(CLASSES_FILE.read_text(encoding="utf-8"))["classes"]
    if len(names) != 1000:
        raise ValueError(f"{CLASSES_FILE} must list 1000 ImageNet classes, it lists {len(names)}")
    return tuple(names)
