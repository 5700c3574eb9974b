"""`LabelledData`: what every data adapter returns (decoded inputs, class ids, names, provenance, skipped files)."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.data.decoding.rows import take_rows


@dataclass(frozen=True)
class Skipped:
    """One file left out before training, and why (printable path, one-line reason)."""

    file: str
    reason: str


@dataclass
class LabelledData:
    """Inputs and class ids ready for training: images already decoded, oriented, RGB and fitted (uint8 NHWC)."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    files: tuple[str, ...] | None
    skipped: tuple[Skipped, ...]
    origin: str

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabelledData:
        """The rows at `indices` (same class names, origin and skipped list: those describe the whole source)."""
        rows = np.asarray(indices, dtype=np.int64)
        files = None if self.files is None else tuple(self.files[i] for i in rows)
        return LabelledData(take_rows(self.x, rows), self.y[rows], self.class_names, files, self.skipped, self.origin)

    @property
    def multilabel(self) -> bool:
        """Labels are (n, k) 0/1 rows (any number of labels per example) rather than one class id each."""
        return self.y.ndim == 2

    def counts(self) -> np.ndarray:
        """Examples per class id, or per label for multi-label data (length = number of classes)."""
        return label_counts(self.y, len(self.class_names))


def label_counts(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Examples per class of class ids `y`, or per label of (n, k) 0/1 rows."""
    if y.ndim == 2:
        return (y > 0).sum(axis=0).astype(np.int64)
    return np.bincount(y, minlength=num_classes)


def printable(path: str | bytes | os.PathLike) -> str:
    """`path` as a name that can always be printed, written as UTF-8 and hashed: undecodable bytes become \\xNN."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def write_skipped_csv(skipped: Iterable[Skipped], path: str | os.PathLike) -> None:
    """Write the `skipped` files to `path` as a CSV (file, reason), so a long list can be fixed from a spreadsheet."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "reason"])
        for item in skipped:
            writer.writerow([item.file, item.reason])
