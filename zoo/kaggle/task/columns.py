"""Column names as users write them: --id-col, --target-col, --group-col, --features and --categorical matched to
train.csv's header ignoring case (one line says which column was taken), and the id column found or left implicit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from zoo.errors import BadData
from zoo.kaggle.task.run_config import IMPLICIT_ID, RunSettings
from zoo.kaggle.task.tables import Table


def taken(table: Table, name: str, flag: str, say: Callable[[str], None]) -> str:
    """The column `name` names in `table` (ignoring case), with one line when its spelling differs."""
    column = table.resolve(name, flag)
    if column != name:
        say(f"{flag} {name}: took column {column!r} of {table.source}")
    return column


def id_column(settings: RunSettings, table: Table, say: Callable[[str], None]) -> str | None:
    """The id column: the one given, else a column called id (any case), else None (rows numbered 1..N); image
    files are named by id, so an image run without one is refused."""
    if settings.id_col is not None and not table.has(settings.id_col) and settings.images is None:
        raise BadData(
            f"{table.source} has no column {settings.id_col!r}; {table.suggest([settings.id_col], '--id-col')}, "
            f"or leave --id-col out to number the rows 1..{len(table)}"
        )
    if settings.id_col is not None:
        return taken(table, settings.id_col, "--id-col", say)
    found = [column for column in table.columns if column.lower() == IMPLICIT_ID]
    if len(found) == 1:
        say(f"--id-col: took column {found[0]!r} of {table.source}")
        return found[0]
    if settings.images is not None:
        raise BadData(
            f"--images names each row's image by its id: pass --id-col, the column of {table.source} with the "
            f"file names ({table.suggest(['id', 'file', 'image'], '--id-col')})"
        )
    say(f"{table.source} has no id column: rows are numbered 1..{len(table)} in file order ({IMPLICIT_ID})")
    return None


def resolved_settings(settings: RunSettings, table: Table, say: Callable[[str], None]) -> RunSettings:
    """`settings` with every column name spelt as train.csv spells it (a re-run typed otherwise matches the run)."""

    def many(names: tuple[str, ...] | None, flag: str) -> tuple[str, ...] | None:
        return None if names is None else tuple(taken(table, name, flag, say) for name in names)

    return replace(
        settings,
        id_col=id_column(settings, table, say),
        target_cols=many(settings.target_cols, "--target-col"),
        group_col=settings.group_col and taken(table, settings.group_col, "--group-col", say),
        features=many(settings.features, "--features"),
        categorical=many(settings.categorical, "--categorical"),
    )
