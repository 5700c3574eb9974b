"""Labels as class ids: integer labels are ids 0..k-1, strings are names (sorted unless class_names are given).

One rule for every source (CSV text, DataFrame cells, lists, arrays): text that spells a number is that number
("1.0" is class 1, "0.25" a fractional label), and pandas' missing-value spellings ("", "NaN", "nan", "NA", "null")
are missing. Problems (missing, out of range, unknown, fractional labels) are returned, not raised, so `zoo doctor`
can list all of them; rows with a bad label get id -1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

INTEGER = re.compile(r"^[+-]?\d+$")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# The text pandas.read_csv reads as a missing value (its default na_values), so a CSV means the same either way.
MISSING_TEXT = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
     "NULL", "NaN", "None", "n/a", "nan", "null"}
)
EXAMPLES = 5  # how many offending rows an error message quotes


@dataclass
class EncodedLabels:
    """Class ids (-1 where the label is unusable), the class names, and what was wrong."""

    y: np.ndarray
    class_names: tuple[str, ...]
    problems: list[str]


def is_missing(value: Any) -> bool:
    """None, NaN (pandas' empty cell), a blank string or a text pandas reads as missing ("nan", "NA", "null")."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, str) and value.strip() in MISSING_TEXT


def as_number(value: Any) -> Any:
    """Text that spells a number as that number ("1.0" -> 1.0, "7" -> 7), so CSV cells read as pandas reads them."""
    if isinstance(value, bytes | np.bytes_):
        value = as_name(value)
    if isinstance(value, str) and NUMBER.match(value.strip()):
        text = value.strip()
        return int(text) if INTEGER.match(text) else float(text)
    return value


def is_fraction(value: Any) -> bool:
    """A float label that is not a whole number: a regression target, not a class."""
    return isinstance(value, float | np.floating) and not math.isnan(value) and not float(value).is_integer()


def as_int(value: Any) -> int | None:
    """The label as an integer class id when it is one (7, 7.0, "7"); None otherwise."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if float(value).is_integer() else None
    if isinstance(value, str) and INTEGER.match(value.strip()):
        return int(value.strip())
    return None


def as_name(value: Any) -> str:
    """A label as a class name: bytes (tf.data) decoded, surrounding spaces dropped."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="backslashreplace")
    return str(value).strip()


def quote_rows(rows: Sequence[str]) -> str:
    """Up to EXAMPLES row descriptions, then how many more."""
    shown = ", ".join(rows[:EXAMPLES])
    return shown + (f" and {len(rows) - EXAMPLES} more" if len(rows) > EXAMPLES else "")


def encode_labels(
    values: Sequence[Any], where: Sequence[str], *, source: str, class_names: Sequence[str] | None = None
) -> EncodedLabels:
    """Class ids for `values`; `where[i]` names row i in messages (e.g. "line 5 (id 'a1')"), `source` the input."""
    names = None if class_names is None else tuple(str(name) for name in class_names)
    # Text that spells a class name is that class (CSV cells are text: "10" may name a class); other numbers are ids.
    named = [value for value in values if not is_missing(value)]
    by_name = names is not None and all(isinstance(v, str | bytes | np.str_) and as_name(v) in names for v in named)
    values = list(values) if by_name else [as_number(value) for value in values]
    missing = [where[i] for i, value in enumerate(values) if is_missing(value)]
    problems = []
    if missing:
        problems.append(
            f"{len(missing)} rows of {source} have no label (empty or NaN): {quote_rows(missing)}; "
            "fill in their labels or drop those rows"
        )
    fractional = [i for i, value in enumerate(values) if is_fraction(value)]
    if fractional:
        problems.append(
            f"{len(fractional)} labels of {source} are fractional numbers, not classes: "
            f"{quote_rows([f'{where[i]} = {values[i]}' for i in fractional])}; "
            "classification needs class ids (0, 1, ...) or class names; to predict numbers (regression) use "
            "`zoo kaggle train --task regression`"
        )
    present = [i for i, value in enumerate(values) if not is_missing(value) and not is_fraction(value)]
    ids = {i: as_int(values[i]) for i in present}
    if not by_name and present and all(i is not None for i in ids.values()):
        integers = _integer_labels(ids, values, where, source, names)
        return EncodedLabels(integers.y, integers.class_names, problems + integers.problems)
    found = sorted({as_name(values[i]) for i in present}) if names is None else names
    index = {name: i for i, name in enumerate(found)}
    unknown = [f"{where[i]} '{as_name(values[i])}'" for i in present if as_name(values[i]) not in index]
    y = np.full(len(values), -1, dtype=np.int64)
    for i in present:
        y[i] = index.get(as_name(values[i]), -1)
    if unknown:
        problems.append(
            f"{len(unknown)} labels of {source} are not among class_names {list(found)}: {quote_rows(unknown)}; "
            "fix those labels or add them to class_names"
        )
    return EncodedLabels(y, tuple(found), problems)


def _integer_labels(
    ids: dict[int, int], values: Sequence[Any], where: Sequence[str], source: str, names: tuple[str, ...] | None
) -> EncodedLabels:
    """Integer labels (`ids`: row -> label) are class ids: in range 0..k-1 (k = len(class_names), or the largest
    id + 1); the other rows get -1."""
    count = len(names) if names is not None else max(max(ids.values()) + 1, 0)
    y = np.full(len(values), -1, dtype=np.int64)
    bad = []
    for row, label in ids.items():
        if 0 <= label < count:
            y[row] = label
        else:
            bad.append(f"{where[row]} = {values[row]}")
    problems = []
    if bad:
        allowed = f"0..{count - 1}" if count else "none (no class_names)"
        problems.append(
            f"{len(bad)} labels of {source} are out of range (class ids must be {allowed}): {quote_rows(bad)}; "
            "integer labels are class ids counted from 0: fix them, or pass class_names listing every class"
        )
    found = names if names is not None else tuple(str(i) for i in range(count))
    return EncodedLabels(y, found, problems)
