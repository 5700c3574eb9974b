"""Multi-label targets of a table: one column of space-separated tags ("haze primary"), or several 0/1 columns.

Either way the labels become (n, k) 0/1 rows (float32), k = the tags (sorted) or the columns (in the order given);
a row whose labels are unusable is all -1 (listed as a problem), so list_table drops it like a bad class label.
An empty tags cell is a row with no label (an image showing none of the tags).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.data.listings.labels import EncodedLabels, as_int, as_name, as_number, is_missing, quote_rows


def encode_tags(
    values: Sequence[Any], where: Sequence[str], *, source: str, class_names: Sequence[str] | None = None
) -> EncodedLabels:
    """Space-separated tags as 0/1 rows over the sorted tags (or `class_names`, where given: other tags are
    problems)."""
    rows = [() if is_missing(value) else tuple(as_name(value).split()) for value in values]
    found = sorted({tag for tags in rows for tag in tags})
    names = tuple(str(name) for name in class_names) if class_names is not None else tuple(found)
    column = {name: i for i, name in enumerate(names)}
    y = np.zeros((len(rows), len(names)), dtype=np.float32)
    unknown = []
    for row, tags in enumerate(rows):
        if any(tag not in column for tag in tags):
            y[row] = -1
            unknown.append(f"{where[row]}: {' '.join(tags)!r}")
            continue
        y[row, [column[tag] for tag in tags]] = 1
    problems = []
    if unknown:
        problems.append(
            f"{len(unknown)} rows of {source} hold tags not among the labels {list(names)}: {quote_rows(unknown)}; "
            "fix those tags or train on data that has them"
        )
    return EncodedLabels(y, names, problems)


def encode_indicators(columns: dict[str, Sequence[Any]], where: Sequence[str], *, source: str) -> EncodedLabels:
    """Several 0/1 columns (one per label, named by its column) as 0/1 rows; any other value is a problem."""
    names = tuple(columns)
    y = np.stack([[indicator(value) for value in values] for values in columns.values()], axis=1).astype(np.float32)
    bad = np.flatnonzero(np.isnan(y).any(axis=1))
    y[bad] = -1
    problems = []
    if len(bad):
        shown = [f"{where[i]}: {[columns[name][i] for name in names]}" for i in bad]
        problems.append(
            f"{len(bad)} rows of {source} columns {list(names)} hold values other than 0 and 1: {quote_rows(shown)};"
            " multi-label columns hold 1 where the image shows the label and 0 where it does not"
        )
    return EncodedLabels(y, names, problems)


def indicator(value: Any) -> float:
    """1.0 or 0.0 for a 0/1 cell (1, "1", 1.0, "0.0", True), NaN for anything else."""
    number = None if is_missing(value) else as_int(as_number(value))
    return float(number) if number in (0, 1) else float("nan")


def tags_hint(values: Sequence[Any]) -> str:
    """A note when single-label values look like tags (a label made of other rows' labels): say how to read them."""
    labels = {as_name(value) for value in values if not is_missing(value)}
    combined = [label for label in labels if len(label.split()) > 1 and all(w in labels for w in label.split())]
    if not combined:
        return ""
    return (
        f"{len(combined)} labels combine other labels ({sorted(combined)[0]!r}, ...) and are read as classes of "
        "their own: pass multi_label=True (--multi-label) to read space-separated tags"
    )
