"""Which test row each submission row is, as competitions ship them: ids in a test column, ids only in the template
(matched to test rows by order, counts checked), or none at all (rows numbered 1..N); columns matched ignoring case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from zoo.errors import BadData
from zoo.kaggle.task.run_config import IMPLICIT_ID
from zoo.kaggle.task.tables import Table, read_table
from zoo.kaggle.task.targets import Target


@dataclass(frozen=True)
class SubmissionRows:
    """The test rows (or the template when there is no test CSV), each one's id, the submission's id column, the
    template's header (None without one), the test row of each submission row, and the line ending to write."""

    table: Table
    ids: list[str]
    id_col: str
    header: list[str] | None
    order: list[int]
    newline: str = "\n"


def line_ending(path: str | Path) -> str:
    """The line ending of a file's first line ("\\r\\n" or "\\n"), so a submission is written as its template."""
    with open(path, "rb") as handle:
        first = handle.readline()
    return "\r\n" if first.endswith(b"\r\n") else "\n"


def named_column(table: Table, name: str | None, given: bool) -> str | None:
    """`name` as `table` spells it; None when it is absent and was only a default (a given name must exist)."""
    if name is not None and (table.has(name) or given):
        return table.resolve(name, "--id-col")
    return None


def read_test_rows(
    test_csv: str | Path | None,
    template: str | Path | None,
    given_id: str | None,
    train_id: str | None,
    say: Callable[[str], None],
) -> SubmissionRows:
    """The test rows and their ids (see the module docstring); `given_id` is --id-col, `train_id` train.csv's."""
    from zoo.kaggle.submit.submission import template_order

    templated = read_table(template) if template is not None else None
    test = read_table(test_csv) if test_csv is not None else templated
    if test is None:
        raise BadData("pass the test rows: --test-csv test.csv, or --template sample_submission.csv")
    name = given_id or train_id or (IMPLICIT_ID if test.has(IMPLICIT_ID) else None)  # as train.csv's id is found
    if templated is None:
        column = named_column(test, name, given_id is not None)
        if column is not None:
            ids = test.ids(column)
            return SubmissionRows(test, ids, column, None, list(range(len(ids))))
        say(f"{test.source} has no id column: rows are numbered 1..{len(test)} ({name or IMPLICIT_ID})")
        return SubmissionRows(test, test.row_ids(), name or IMPLICIT_ID, None, list(range(len(test))))
    column = named_column(templated, name, given_id is not None) or templated.columns[0]
    header, newline = list(templated.columns), line_ending(template)
    if test is templated or test.has(column):
        ids = test.ids(test.resolve(column, "--id-col"))
        return SubmissionRows(test, ids, column, header, template_order(templated, column, ids, test.source), newline)
    ids = templated.ids(column)
    if len(ids) != len(test):
        raise BadData(
            f"{test.source} has no id column {column!r}, so the template's ids are matched to its rows by order, "
            f"but the template {templated.source} has {len(ids)} rows and the test data {len(test)}: pass the "
            "sample submission of the same competition (or --id-col, the test CSV's id column)"
        )
    say(f"{test.source} has no column {column!r}: the template's {len(ids)} ids are matched to its rows by order")
    return SubmissionRows(test, ids, column, header, list(range(len(ids))), newline)


def template_target(target: Target, header: list[str] | None, say: Callable[[str], None]) -> Target:
    """`target` with its columns spelt as the template spells them (label -> Label), one line per renamed column."""
    if header is None:
        return target
    renamed = []
    for column in target.columns:
        same = [name for name in header if name.lower() == column.lower()]
        renamed.append(same[0] if column not in header and len(same) == 1 else column)
    for old, new in zip(target.columns, renamed, strict=True):
        if old != new:
            say(f"target column {old!r}: written as the template's {new!r}")
    return replace(target, columns=tuple(renamed))
