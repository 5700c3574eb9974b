"""A competition run's settings: validated once, written to RUN/config.json with the command that re-runs them.

The command is built from the settings (not from the command line that started the run), so a run started from
Python is as repeatable from the shell as one started there.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from zoo.data.labelled import printable
from zoo.data.listings.table import TableOptions
from zoo.errors import BadData
from zoo.training.preflight import check_augment

CONFIG_FILE = "config.json"
IMPLICIT_ID = "id"  # the header of row-order ids (1..N) when the CSV has no id column
IMAGE_MODEL, TABULAR_MODEL = "efficientnet_lite0", "mlp_tabular"  # defaults: bundled weights (offline); the FFN


@dataclass(frozen=True)
class RunSettings:
    """Everything `zoo kaggle train` takes; paths absolute so the recorded command runs from any folder."""

    train_csv: str
    out: str
    id_col: str | None  # None: no id column, rows numbered 1..N in row order
    target_cols: tuple[str, ...]
    images: str | None = None  # image folder; None: the CSV's other columns are tabular features
    extension: str | None = None
    model: str | None = None  # a catalogue name; None: IMAGE_MODEL or TABULAR_MODEL
    task: str | None = None  # multiclass, binary, multilabel, regression; None: inferred
    metric: str | None = None  # None: the task's default
    group_col: str | None = None
    folds: int = 5
    seed: int = 0
    epochs: int | None = None  # None: the trainer's default (early stopping ends most runs sooner)
    batch_size: int = 32
    image_size: int | None = None  # None: the model's own input size
    augment: bool | str = True  # True/False, or finetune's "strong" or a list such as "rotation,zoom,mixup"
    group_duplicates: bool = True  # image runs: near-duplicate images (difference hash) kept within one fold
    patience: int = 3
    features: tuple[str, ...] | None = None  # tabular: None means every column but id, targets and group
    categorical: tuple[str, ...] = ()  # tabular columns one-hot encoded even when they hold numbers
    weights: str | None = None  # a backbone's weights file (else $ZOO_WEIGHTS_DIR, the cache, bundled packages)
    pixel_cols: str | None = None  # prefix of pixel columns read as images; None: pixel0..pixelN when present
    pixel_shape: str | None = None  # HxW or HxWxC of the pixel columns when their count is not a square
    tabular: bool = False  # pixel columns read as tabular features, as before they were images
    zero_shot: bool = False  # an image-text hub model scores the class names as label texts: a no-training baseline

    def __post_init__(self) -> None:
        for name in ("folds", "batch_size", "patience"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise BadData(f"{name} must be a positive whole number; got {getattr(self, name)!r}")
        if self.epochs is not None and (not isinstance(self.epochs, int) or self.epochs < 1):
            raise BadData(f"epochs must be a positive whole number or None; got {self.epochs!r}")
        if isinstance(self.augment, str):
            object.__setattr__(self, "augment", augment_setting(self.augment))
        if self.tabular and (self.images or self.pixel_cols or self.pixel_shape):
            raise BadData("--tabular reads every column as a feature: leave out --images, --pixel-cols, --pixel-shape")
        if self.zero_shot and self.images is None:
            raise BadData("zero_shot scores images against the class names: pass the image folder too (--images)")

    @property
    def images_table(self) -> TableOptions:
        """How train.csv's ids name their images: the files in `images`, with `extension` when the ids lack it."""
        return TableOptions(id_col=self.id_col, image_dir=self.images, extension=self.extension)

    @property
    def id_name(self) -> str:
        """The id column's header in folds.csv, oof.csv and a template-less submission."""
        return self.id_col or IMPLICIT_ID

    @property
    def model_name(self) -> str:
        return self.model or (IMAGE_MODEL if self.images else TABULAR_MODEL)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSettings:
        known = {f.name for f in fields(cls)}
        values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
        return cls(**{key: value for key, value in values.items() if key in known})


def augment_setting(value: str) -> bool | str:
    """--augment as the settings keep it: light is True and none is False (as in runs recorded before the flag took
    names), anything else its checked name or list."""
    check_augment(value)
    return {"light": True, "none": False}.get(value, value)


def absolute(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).expanduser().resolve())


def train_argv(settings: RunSettings) -> list[str]:
    """The `zoo kaggle train` arguments that reproduce `settings` (defaults left out)."""
    argv = ["zoo", "kaggle", "train", "--train-csv", settings.train_csv]
    argv += ["--id-col", settings.id_col] if settings.id_col else []
    argv += ["--target-col", ",".join(settings.target_cols)]
    defaults = RunSettings("", "", "", ())
    placed = ("train_csv", "out", "id_col", "target_cols", "augment", "group_duplicates", "tabular")  # flags: below
    for name in [field.name for field in fields(RunSettings) if field.name not in placed]:
        value = getattr(settings, name)
        if value != getattr(defaults, name) and value is not None:
            argv += [f"--{name.replace('_', '-')}", ",".join(value) if isinstance(value, tuple) else str(value)]
    if not settings.augment:
        argv.append("--no-augment")
    elif isinstance(settings.augment, str):
        argv += ["--augment", settings.augment]
    if not settings.group_duplicates:
        argv.append("--no-group-duplicates")
    if settings.tabular:
        argv.append("--tabular")
    return [*argv, "--out", settings.out]


def train_command(settings: RunSettings) -> str:
    return shlex.join(train_argv(settings))


def write_config(run_dir: Path, config: dict[str, Any]) -> Path:
    from zoo.results.run_folder import write_json

    return write_json(run_dir / CONFIG_FILE, config)


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """RUN/config.json; a folder that is not a finished run is refused with what to pass instead."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise BadData(f"{printable(run_dir)} is not a zoo kaggle run (no {CONFIG_FILE}): pass the --out of a train run")
    return json.loads(path.read_text(encoding="utf-8"))
