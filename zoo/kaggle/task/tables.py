"""Competition CSV files (train.csv, test.csv, sample_submission.csv) read whole, with errors that name columns."""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.data.labelled import printable
from zoo.data.listings.labels import is_missing, quote_rows
from zoo.data.listings.table import cell_text, read_csv
from zoo.errors import BadData


@dataclass(frozen=True)
class Table:
    """A CSV's columns in order, each column's cells (None where missing) and each row's line number."""

    source: str
    columns: tuple[str, ...]
    cells: dict[str, list[Any]]
    lines: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.lines)

    def require(self, names: list[str] | tuple[str, ...], flag: str) -> None:
        """Every column in `names` exists; otherwise one error naming the missing ones, the columns they could mean
        and the flag that picks one."""
        missing = [name for name in names if name not in self.cells]
        if missing:
            raise BadData(f"{self.source} has no column {', '.join(map(repr, missing))}; {self.suggest(missing, flag)}")

    def suggest(self, names: list[str] | tuple[str, ...], flag: str) -> str:
        """'it could mean X or Y: pass --flag X' (or the columns it has, shortened), for an error about a column."""
        lowered = {column.lower(): column for column in self.columns}
        close = [
            lowered[match]
            for name in names
            for match in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
        ]
        close = list(dict.fromkeys(close))
        if close:
            return f"it could mean {' or '.join(map(repr, close))}: pass {flag} {close[0]}"
        shown = list(self.columns[:12]) + ([f"... ({len(self.columns)} in all)"] if len(self.columns) > 12 else [])
        return f"its columns are {shown}: pass {flag} with one of them"

    def resolve(self, name: str, flag: str) -> str:
        """The column `name` as the CSV spells it: exact, else the one column equal to it ignoring case."""
        if name in self.cells:
            return name
        same = [column for column in self.columns if column.lower() == name.lower()]
        if len(same) == 1:
            return same[0]
        self.require([name], flag)
        return name

    def has(self, name: str) -> bool:
        """Whether a column equals `name` ignoring case."""
        return any(column.lower() == name.lower() for column in self.columns)

    def column(self, name: str, flag: str) -> list[Any]:
        self.require([name], flag)
        return self.cells[name]

    def check_filled(self, column: str) -> None:
        """Every row has a value in `column`; otherwise one error naming the rows."""
        rows = [self.where(i) for i, value in enumerate(self.cells[column]) if is_missing(value)]
        if rows:
            raise BadData(
                f"{len(rows)} rows of {self.source} have no {column!r}: {quote_rows(rows)}; fill them in or drop them"
            )

    def where(self, row: int) -> str:
        return f"line {self.lines[row]}"

    def row_ids(self) -> list[str]:
        """Row-order ids 1..N, for a CSV without an id column (Digit Recognizer's ImageId counts the same way)."""
        return [str(row) for row in range(1, len(self) + 1)]

    def ids(self, id_col: str) -> list[str]:
        """The id column as text; rows without an id or repeated ids are refused (a submission needs unique ids)."""
        ids = [None if is_missing(value) else cell_text(value) for value in self.column(id_col, "--id-col")]
        empty = [self.where(i) for i, value in enumerate(ids) if value is None]
        if empty:
            raise BadData(f"{len(empty)} rows of {self.source} have no {id_col!r}: {quote_rows(empty)}; fill them in")
        repeated = [f"{value!r} x{count}" for value, count in Counter(ids).items() if count > 1]
        if repeated:
            raise BadData(
                f"{len(repeated)} ids repeat in column {id_col!r} of {self.source}: {quote_rows(repeated)}; "
                "each row needs its own id"
            )
        return ids


def read_table(path: str | Path) -> Table:
    """A CSV file as a Table; a missing file or one without rows is refused by name."""
    path = Path(path)
    if not path.is_file():
        raise BadData(f"no such CSV file: {printable(path)}")
    columns, cells, lines = read_csv(str(path))
    if not lines:
        raise BadData(f"{printable(path)} has a header but no rows: it needs one row per example")
    return Table(f"CSV {printable(path)}", tuple(columns), cells, tuple(lines))
