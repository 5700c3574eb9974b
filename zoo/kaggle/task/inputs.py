"""What the models see: a run's rows read and checked once (target, metric, folds), images read once at the model's
input size, or tabular features transformed per fold."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo.catalogue import default_catalogue
from zoo.data.decoding.pixel_columns import PixelLayout, find_layout, pixel_files
from zoo.data.decoding.rows import take_rows
from zoo.data.decoding.store import store_root
from zoo.data.listings.table import TableOptions
from zoo.data.progress import silent
from zoo.errors import BadData, BadOverride
from zoo.kaggle.task.folds import assign_folds, merged_groups
from zoo.kaggle.task.image_files import image_files, read_images, store_images
from zoo.kaggle.task.metrics import Metric, metric_for
from zoo.kaggle.task.run_config import RunSettings
from zoo.kaggle.task.tables import Table, read_table
from zoo.kaggle.task.tabular import TabularTransform, feature_columns
from zoo.kaggle.task.targets import Target, read_target

TRANSFORM_FILE = "transform.json"


@dataclass(frozen=True)
class InputSpec:
    """Images of one shape (from files, or from pixel columns laid out as `pixels` says), or tabular feature columns
    (some forced categorical)."""

    kind: str  # "images" or "tabular"
    shape: tuple[int, ...] | None = None
    features: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    pixels: PixelLayout | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "shape": self.shape and list(self.shape),
            "features": list(self.features),
            "categorical": list(self.categorical),
            "pixels": self.pixels and self.pixels.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InputSpec:
        shape = tuple(data["shape"]) if data.get("shape") else None
        pixels = PixelLayout.from_json(data["pixels"]) if data.get("pixels") else None
        return cls(data["kind"], shape, tuple(data["features"]), tuple(data["categorical"]), pixels)


def input_spec(settings: RunSettings, table: Table, say: Callable[[str], None] = silent) -> InputSpec:
    """The run's inputs, checked against the model before any work: image files, pixel columns read as images (one
    line says so), or the feature columns of the training table."""
    entry = default_catalogue().get(settings.model_name)
    if "num_classes" not in entry.hparams:
        raise BadData(f"{entry.name} has no classifier head to replace (it is a {entry.task} model): pick a classifier")
    if settings.images is not None:
        return InputSpec("images", image_shape(settings))
    layout = None
    if not settings.tabular:
        cells = lambda names: [table.cells[name] for name in names]  # noqa: E731 (read only when pixels are found)
        layout = find_layout(table.columns, cells, settings.pixel_cols, settings.pixel_shape)
    if layout is not None and "num_features" not in entry.hparams:
        say(f"pixel columns: {layout.describe()}, fitted to {entry.name}'s input (--tabular: read them as features)")
        return InputSpec("images", image_shape(settings), pixels=layout)
    if layout is not None:
        say(f"pixel columns: {entry.name} takes a feature vector, so the {len(layout.columns)} pixels are features")
    if "num_features" not in entry.hparams:
        raise BadData(
            f"{entry.name} takes images and {table.source} has no pixel columns: pass --images (a folder of images "
            "named by --id-col) or --pixel-cols PREFIX, or pick a tabular model (--model mlp_tabular)"
        )
    if settings.image_size is not None:
        raise BadData("--image-size applies to images: pass --images or pixel columns, or leave it out")
    excluded = [settings.id_col, *settings.target_cols, *([settings.group_col] if settings.group_col else [])]
    features = feature_columns(table, excluded, settings.features)
    table.require(list(settings.categorical), "--categorical")
    return InputSpec("tabular", None, features, tuple(settings.categorical))


def row_files(spec: InputSpec, table: Table, ids: Sequence[str], options: TableOptions) -> list[str]:
    """Each row's image file: its pixel columns written as a PNG (pixel runs), or the file its id names."""
    if spec.pixels is None:
        return image_files(ids, options, table.source)
    missing = [name for name in spec.pixels.columns if name not in table.cells]
    if missing:
        raise BadData(
            f"{table.source} lacks {len(missing)} of the run's pixel columns ({missing[0]} ...): this run reads "
            f"{spec.pixels.describe()}; pass the test CSV that holds them (--test-csv)"
        )
    return pixel_files([table.cells[name] for name in spec.pixels.columns], spec.pixels, store_root())


def load_images(
    spec: InputSpec, ids: Sequence[str], options: TableOptions, table: Table, progress: bool, *, store: bool = False
) -> tuple[list[str], np.ndarray]:
    """Every row's image file (row_files) and its pixels, fitted to the run's input shape (uint8); with
    `store`, a memory map of the on-disk image store (training: folds read it in batches) instead of an array."""
    files = row_files(spec, table, ids, options)
    height, width, channels = spec.shape
    read = store_images if store else read_images
    return files, read(files, (height, width), channels, progress=progress)


def fold_arrays(
    spec: InputSpec, table: Table, images: np.ndarray | None, train_rows: np.ndarray, *row_sets: np.ndarray
) -> tuple[list[np.ndarray], TabularTransform | None]:
    """The inputs of each of `row_sets` (images: rows copied on disk when they come from the store); tabular ones
    through a transform fitted on the fold's `train_rows` only (its features, never its targets)."""
    if spec.kind == "images":
        return [take_rows(images, rows) for rows in row_sets], None
    transform = TabularTransform.fit(table, train_rows, spec.features, spec.categorical)
    return [transform.apply(table, rows) for rows in row_sets], transform


@dataclass
class RunData:
    """A run's rows as the folds use them: table, ids, encoded targets, fold of each row, images (or None)."""

    settings: RunSettings
    table: Table
    ids: list[str]
    target: Target
    y: np.ndarray
    metric: Metric
    folds: np.ndarray
    spec: InputSpec
    files: list[str] | None  # image runs: each row's image file
    images: np.ndarray | None
    groups: np.ndarray | None = None  # rows that stay on one side of any split (--group-col, near-duplicates)


def read_run_data(
    settings: RunSettings, progress: bool, table: Table | None = None, say: Callable[[str], None] = silent
) -> RunData:
    """Everything checked and read before any training: columns, target, metric, folds, images (`table`: train.csv
    already read, its column names resolved into `settings`)."""
    table = table or read_table(settings.train_csv)
    ids = table.ids(settings.id_col) if settings.id_col else table.row_ids()
    target, y = read_target(table, settings.target_cols, settings.task, settings.metric)
    metric = metric_for(settings.metric, target.kind)
    check_batch_mix(settings.augment, target)
    groups = []
    if settings.group_col:
        table.require([settings.group_col], "--group-col")
        table.check_filled(settings.group_col)
        groups.append(table.cells[settings.group_col])
    spec = input_spec(settings, table, say)
    files, images = None, None
    if spec.kind == "images":
        files, images = load_images(spec, ids, settings.images_table, table, progress=progress, store=True)
        if settings.group_duplicates:
            from zoo.data.decoding.near_duplicates import duplicate_groups, fingerprints

            groups.append(duplicate_groups(fingerprints(files)))
    joined = merged_groups(groups, len(ids))
    folds = assign_folds(target, y, settings.folds, settings.seed, joined)
    return RunData(settings, table, ids, target, y, metric, folds, spec, files, images, joined)


def check_batch_mix(augment: bool | str, target: Target) -> None:
    """MixUp and CutMix mix one-hot class labels; other targets train with per-image augmentation only."""
    if not isinstance(augment, str) or target.classifies:
        return
    from zoo.layers.augment import augmentation_named  # imports Keras: only when a named augmentation is asked for

    mix = augmentation_named(augment).mix
    if mix is not None:
        raise BadOverride(
            f"--augment {augment}: {mix} mixes class labels, and this run's target is {target.kind}; "
            "use per-image augmentation (light, or a list such as rotation,zoom,contrast)"
        )


def image_shape(settings: RunSettings) -> tuple[int, int, int]:
    """(height, width, channels) the images are read at: the model's input, resized by image_size when given."""
    entry = default_catalogue().get(settings.model_name)
    shape = tuple(entry.hparams.get("input_shape", entry.input_shape))
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise BadData(
            f"{entry.name} takes {tuple(shape)} inputs, not images: pick an image model "
            "(`zoo list --family cnn` or `--family backbone`) or leave out --images for tabular data"
        )
    size = settings.image_size
    return (size, size, int(shape[2])) if size else (int(shape[0]), int(shape[1]), int(shape[2]))
