"""The per-label thresholds of a multi-label model, read from its model.keras (a zip) without Keras or TensorFlow,
so `zoo predict` on a converted runtime still prints every label over its own threshold."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

from zoo.errors import BadData


def multilabel_thresholds(path: Path, labels: int) -> list[float] | None:
    """The thresholds saved in the .keras file at `path` when its model is multi-label (None otherwise), checked:
    one number in [0, 1] per output."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json")).get("config", {})
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise BadData(f"{path} is not a readable .keras file ({error}): pass a model saved by zoo or Keras") from None
    if not isinstance(config, dict) or config.get("task") != "multilabel":
        return None
    thresholds = config.get("thresholds")
    if thresholds is None:
        return [0.5] * labels  # a multi-label model saved before thresholds were chosen
    fine = isinstance(thresholds, list) and len(thresholds) == labels
    if not fine or not all(isinstance(t, int | float) and math.isfinite(t) and 0 <= t <= 1 for t in thresholds):
        raise BadData(
            f"{path} holds thresholds {str(thresholds)[:80]} that are not {labels} numbers in [0, 1] (one per label):"
            " the file was changed; train the model again or restore its model.keras"
        )
    return [float(t) for t in thresholds]
