"""What the models see: images read once at the model's input size, or tabular features transformed per fold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.kaggle.fold_models import image_shape
from zoo.kaggle.image_files import image_files, read_images
from zoo.kaggle.run_config import RunSettings
from zoo.kaggle.tables import Table
from zoo.kaggle.tabular import TabularTransform, feature_columns

TRANSFORM_FILE = "transform.json"


@dataclass(frozen=True)
class InputSpec:
    """Images of one shape, or tabular feature columns (some forced categorical)."""

    kind: str  # "images" or "tabular"
    shape: tuple[int, ...] | None = None
    features: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": self.shape and list(self.shape), "features": list(self.features),
                "categorical": list(self.categorical)}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InputSpec:
        shape = tuple(data["shape"]) if data.get("shape") else None
        return cls(data["kind"], shape, tuple(data["features"]), tuple(data["categorical"]))


def input_spec(settings: RunSettings, table: Table) -> InputSpec:
    """The run's inputs: the model's image shape, or the feature columns of the training table."""
    if settings.images is not None:
        return InputSpec("images", image_shape(settings))
    excluded = [settings.id_col, *settings.target_cols, *([settings.group_col] if settings.group_col else [])]
    features = feature_columns(table, excluded, settings.features)
    table.require(list(settings.categorical), "--categorical")
    return InputSpec("tabular", None, features, tuple(settings.categorical))


def load_images(
    spec: InputSpec, ids: Sequence[str], folder: str | Path, extension: str | None, source: str, progress: bool
) -> tuple[list[str], np.ndarray]:
    """Every id's image file and its pixels, fitted to the run's input shape (uint8)."""
    files = image_files(ids, folder, extension, source)
    height, width, channels = spec.shape
    return files, read_images(files, (height, width), channels, progress=progress)


def fold_arrays(
    spec: InputSpec, table: Table, images: np.ndarray | None, train_rows: np.ndarray, val_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, TabularTransform | None]:
    """A fold's training and validation inputs; tabular ones through a transform fitted on the training rows."""
    if spec.kind == "images":
        return images[train_rows], images[val_rows], None
    transform = TabularTransform.fit(table, train_rows, spec.features, spec.categorical)
    return transform.apply(table, train_rows), transform.apply(table, val_rows), transform
