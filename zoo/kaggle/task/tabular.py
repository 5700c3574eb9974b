"""Tabular features for the FFN recipes: numeric columns standardised, categorical ones one-hot encoded.

Fitted on a fold's training rows only (no leak from the rows that validate it) and saved as JSON next to the fold's
model, so prediction applies exactly the same transform. JSON, not a pickle: a run folder is safe to load.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.listings.labels import is_missing, quote_rows
from zoo.data.listings.table import cell_text
from zoo.errors import BadData
from zoo.kaggle.task.tables import Table
from zoo.kaggle.task.targets import number

MISSING = "(missing)"  # an empty categorical cell is a category of its own


def feature_columns(table: Table, excluded: Sequence[str], chosen: Sequence[str] | None = None) -> tuple[str, ...]:
    """The chosen feature columns (checked), or every column that is not the id, a target or the group."""
    if chosen:
        table.require(list(chosen), "--features")
        return tuple(chosen)
    return tuple(column for column in table.columns if column not in set(excluded))


def is_numeric(cells: Sequence[Any]) -> bool:
    """Every non-empty cell is a finite number."""
    present = [number(value) for value in cells if not is_missing(value)]
    return all(value is not None and np.isfinite(value) for value in present)


@dataclass(frozen=True)
class TabularTransform:
    """Per numeric column its training mean and standard deviation; per categorical column its categories."""

    numeric: tuple[str, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    categorical: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]

    @property
    def width(self) -> int:
        """Features the model sees: one per numeric column, one per category."""
        return len(self.numeric) + sum(len(values) for values in self.categories)

    @classmethod
    def fit(
        cls, table: Table, rows: np.ndarray, columns: Sequence[str], categorical: Sequence[str] = ()
    ) -> TabularTransform:
        """Learn the transform from `rows` of `table`; non-numeric columns and those in `categorical` are one-hot."""
        forced = set(categorical)
        kinds = {c: c not in forced and is_numeric(table.cells[c]) for c in columns}
        numeric = tuple(c for c in columns if kinds[c])
        stats = [_mean_std(_numbers(table, c, rows, None)) for c in numeric]
        categorical = tuple(c for c in columns if not kinds[c])
        categories = tuple(tuple(sorted({_category(table.cells[c][i]) for i in rows})) for c in categorical)
        means, stds = (tuple(s[0] for s in stats), tuple(s[1] for s in stats)) if stats else ((), ())
        return cls(numeric, means, stds, categorical, categories)

    def apply(self, table: Table, rows: np.ndarray | None = None) -> np.ndarray:
        """(rows, width) float32 features; missing numbers become the training mean, unseen categories all zeros."""
        table.require([*self.numeric, *self.categorical], "the run's feature columns")
        rows = np.arange(len(table)) if rows is None else rows
        parts = [
            ((_numbers(table, c, rows, mean) - mean) / std)[:, None]
            for c, mean, std in zip(self.numeric, self.means, self.stds, strict=True)
        ]
        for column, values in zip(self.categorical, self.categories, strict=True):
            index = {value: j for j, value in enumerate(values)}
            hot = np.zeros((len(rows), len(values)))
            for out, i in enumerate(rows):
                j = index.get(_category(table.cells[column][i]))
                if j is not None:
                    hot[out, j] = 1.0
            parts.append(hot)
        return np.concatenate(parts, axis=1).astype(np.float32) if parts else np.zeros((len(rows), 0), np.float32)

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> TabularTransform:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{key: tuple(tuple(v) if isinstance(v, list) else v for v in value) for key, value in data.items()})


def _numbers(table: Table, column: str, rows: np.ndarray, fill: float | None) -> np.ndarray:
    """The cells of `rows` as floats; missing ones are `fill` (None: left out, for fitting); text is refused."""
    cells = table.cells[column]
    values = [None if is_missing(cells[i]) else number(cells[i]) for i in rows]
    text = [
        f"{table.where(i)} {cells[i]!r}"
        for i, v in zip(rows, values, strict=True)
        if v is None and not is_missing(cells[i])
    ]
    if text:
        raise BadData(
            f"column {column!r} of {table.source} was numeric in training but has text in {len(text)} rows: "
            f"{quote_rows(text)}; fix those cells or make the column categorical (--categorical {column})"
        )
    if fill is None:
        return np.asarray([v for v in values if v is not None], dtype=np.float64)
    return np.asarray([fill if v is None else v for v in values], dtype=np.float64)


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation; a constant (or empty) column gets std 1 so it maps to zeros, not NaN."""
    if not len(values):
        return 0.0, 1.0
    std = float(values.std())
    return float(values.mean()), std if std > 0 else 1.0


def _category(value: Any) -> str:
    return MISSING if is_missing(value) else cell_text(value)
