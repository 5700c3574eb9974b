"""What a competition predicts: the target kind (multi-class, binary, multi-label, regression) and its encoding.

Kinds are inferred from the target column(s) and the metric unless given: several 0/1 columns are multi-label,
several numeric ones multi-target regression; one column is regression when the metric is RMSE or the values are
fractional, binary with two distinct values, multi-class otherwise. Space-separated tags in one column are
multi-label only when asked for (`kind="multilabel"`), since class names may contain spaces.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from zoo.data.listings.labels import is_missing, quote_rows
from zoo.data.listings.table import cell_text
from zoo.errors import BadData
from zoo.kaggle.task.choices import KINDS
from zoo.kaggle.task.metrics import metric_named
from zoo.kaggle.task.tables import Table


@dataclass(frozen=True)
class Target:
    """The target column(s), their kind and names: classes, labels, or (regression) the target columns."""

    kind: str
    columns: tuple[str, ...]
    names: tuple[str, ...]
    tags: bool = False  # multi-label given as space-separated tags in one column

    @property
    def outputs(self) -> int:
        """Units of the model's last layer."""
        return len(self.names)

    @property
    def classifies(self) -> bool:
        """One class per row (softmax head)."""
        return self.kind in ("multiclass", "binary")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "columns": list(self.columns), "names": list(self.names)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(data["kind"], tuple(data["columns"]), tuple(data["names"]), bool(data.get("tags", False)))


def number(value: Any) -> float | None:
    """The cell as a float, or None when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def ordered(values: set[str]) -> tuple[str, ...]:
    """Class names in order: numerically when all are numbers (so 2 < 10, as ordinal metrics need), else as text."""
    if all(number(value) is not None for value in values):
        return tuple(sorted(values, key=lambda value: (number(value), value)))
    return tuple(sorted(values))


def infer_kind(table: Table, columns: tuple[str, ...], metric: str | None) -> str:
    """The target kind the values and the metric point to (see the module docstring)."""
    present = [[v for v in table.cells[c] if not is_missing(v)] for c in columns]
    numbers = [[number(v) for v in values] for values in present]
    if len(columns) > 1:
        binary = all(n in (0.0, 1.0) for values in numbers for n in values)
        return "multilabel" if binary else "regression"
    if metric is not None and metric_named(metric).kinds == ("regression",):
        return "regression"
    if all(n is not None for n in numbers[0]) and any(not float(n).is_integer() for n in numbers[0]):
        return "regression"
    return "binary" if len({cell_text(v) for v in present[0]}) == 2 else "multiclass"


def read_target(
    table: Table, columns: tuple[str, ...], kind: str | None = None, metric: str | None = None
) -> tuple[Target, np.ndarray]:
    """The Target of `columns` in `table` and the encoded targets: class ids (n,) or a float (n, outputs) array."""
    if not columns:
        raise BadData("no target column given: pass --target-col (several, comma-separated, for multi-label)")
    table.require(columns, "--target-col")
    if kind is not None and kind not in KINDS:
        raise BadData(f"unknown task {kind!r}: pass one of {', '.join(KINDS)} (or leave it out to infer it)")
    kind = kind or infer_kind(table, columns, metric)
    if kind == "multilabel" and len(columns) == 1:
        return tag_target(table, columns[0])
    if kind in ("multilabel", "regression"):
        return numeric_target(table, columns, kind)
    if len(columns) > 1:
        raise BadData(f"a {kind} target is one column; got {list(columns)}: pass one --target-col")
    return class_target(table, columns[0], kind)


def class_target(table: Table, column: str, kind: str) -> tuple[Target, np.ndarray]:
    """One class per row: names in order, ids into them."""
    table.check_filled(column)
    labels = [cell_text(value) for value in table.cells[column]]
    names = ordered(set(labels))
    if len(names) < 2:
        raise BadData(f"column {column!r} of {table.source} holds one class only ({names[0]!r}): nothing to learn")
    if kind == "binary" and len(names) != 2:
        raise BadData(
            f"a binary target has 2 classes; column {column!r} of {table.source} has {len(names)}: "
            f"{list(names[:10])}: pass --task multiclass"
        )
    index = {name: i for i, name in enumerate(names)}
    return Target(kind, (column,), names), np.asarray([index[label] for label in labels], dtype=np.int64)


def tag_target(table: Table, column: str) -> tuple[Target, np.ndarray]:
    """Multi-label as space-separated tags in one column ("haze primary"); an empty cell has no label."""
    rows = [[] if is_missing(value) else cell_text(value).split() for value in table.cells[column]]
    names = tuple(sorted({tag for tags in rows for tag in tags}))
    if not names:
        raise BadData(f"column {column!r} of {table.source} holds no tags: multi-label needs space-separated labels")
    index = {name: j for j, name in enumerate(names)}
    y = np.zeros((len(rows), len(names)), dtype=np.float32)
    for i, tags in enumerate(rows):
        y[i, [index[tag] for tag in tags]] = 1.0
    return Target("multilabel", (column,), names, tags=True), y


def numeric_target(table: Table, columns: tuple[str, ...], kind: str) -> tuple[Target, np.ndarray]:
    """Multi-label 0/1 columns or regression values: one float column per target column."""
    y = np.zeros((len(table), len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        table.check_filled(column)
        values = [number(value) for value in table.cells[column]]
        allowed = (0.0, 1.0) if kind == "multilabel" else None
        bad = [
            f"{table.where(i)} {table.cells[column][i]!r}"
            for i, value in enumerate(values)
            if value is None or not np.isfinite(value) or (allowed is not None and value not in allowed)
        ]
        if bad:
            need = "0 or 1 (label absent or present)" if allowed else "a finite number"
            raise BadData(f"{len(bad)} cells of {column!r} in {table.source} are not {need}: {quote_rows(bad)}")
        y[:, j] = values
    return Target(kind, columns, columns), y
