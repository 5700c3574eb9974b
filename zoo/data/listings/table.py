"""The table source: a CSV file or a pandas DataFrame with a column of file names (or ids) and a label column.

Kaggle style: `id,label` rows, images in a folder, an extension appended to the ids. pandas is not needed:
a DataFrame is used through `columns` and `frame[column].tolist()` only, and CSV files are read with `csv`.
"""

from __future__ import annotations

import csv
import glob
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.decoding.pixel_columns import find_layout, pixel_files
from zoo.data.decoding.store import store_root
from zoo.data.labelled import printable
from zoo.data.listings.labels import EncodedLabels, encode_labels, is_missing, quote_rows
from zoo.data.listings.listing import FileListing, is_ignored
from zoo.data.listings.multilabel import encode_indicators, encode_tags, tags_hint
from zoo.errors import BadData

ID_COLUMNS = ("id", "image_id", "image", "file", "filename", "file_name", "path", "filepath", "image_path", "img")
LABEL_COLUMNS = ("label", "labels", "tags", "class", "class_name", "category", "target", "y")


@dataclass(frozen=True)
class TableOptions:
    """How a table of image files is read: which columns hold the file ids and the labels, the folder the files are
    relative to, the extension ids lack. None leaves the default (a conventional column name, the table's folder)."""

    id_col: str | None = None
    label_col: str | None = None
    image_dir: str | os.PathLike | None = None
    extension: str | None = None
    pixel_cols: str | None = None  # prefix of pixel columns read as images (None: pixel0..pixelN when present)
    pixel_shape: str | None = None  # HxW or HxWxC of the pixel columns when their count is not a square
    multi_label: bool = False  # label_col holds space-separated tags (several comma-separated label_cols: 0/1 columns)

    @property
    def suffix(self) -> str:
        """The extension with its dot ("png" and ".png" both give ".png"), or "" when there is none."""
        return "" if not self.extension else self.extension if self.extension.startswith(".") else "." + self.extension

    def keywords(self) -> dict[str, Any]:
        """These options as zoo.data.load_data's (and diagnose's) keyword arguments."""
        return {field.name: getattr(self, field.name) for field in fields(TableOptions)}


def is_data_frame(data: Any) -> bool:
    """Duck-typed: anything with `columns` whose columns have `tolist()` (pandas, and look-alikes)."""
    return hasattr(data, "columns") and hasattr(data, "__getitem__") and not isinstance(data, np.ndarray)


def read_csv(path: str) -> tuple[list[str], dict[str, list[Any]], list[int]]:
    """Columns, column values (None for a missing cell) and each row's line number; UTF-8 with or without BOM."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            first_line = handle.readline()
            handle.seek(0)
            # The header tells the delimiter (Excel in many locales writes ";"); csv.Sniffer guesses wrong on
            # short files.
            delimiter = max(",;\t|", key=first_line.count) if any(d in first_line for d in ",;\t|") else ","
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            rows, lines = [], []
            for row in reader:
                if any(cell.strip() for cell in row):  # blank lines at the end are common; they are not rows
                    rows.append(row)
                    lines.append(reader.line_num)
    except UnicodeDecodeError as error:
        where = f"{error.reason} at byte {error.start}"
        raise BadData(f"{printable(path)} is not UTF-8 text ({where}): save it as UTF-8 CSV") from None
    if not header:
        raise BadData(f"{printable(path)} is empty: a CSV needs a header row (e.g. id,label) and one row per image")
    columns = [name.strip() for name in header]
    table = {name: [row[i] if i < len(row) else None for row in rows] for i, name in enumerate(columns)}
    return columns, table, lines


def frame_table(frame: Any) -> tuple[list[str], dict[str, list[Any]]]:
    """Columns and column values of a DataFrame-like object."""
    columns = [str(name) for name in frame.columns]
    return columns, {str(name): list(frame[name].tolist()) for name in frame.columns}


def pick_column(columns: list[str], given: str | None, candidates: Sequence[str], role: str, source: str) -> str:
    """The column named `given`, else a conventional name, else the only sensible one; a clear error otherwise."""
    option = "id_col" if role == "file" else "label_col"
    if given is not None:
        if given in columns:
            return given
        raise BadData(f"no column {given!r} in {source}; its columns are {columns}: pass {option}= one of them")
    lowered = {name.lower(): name for name in columns}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    if len(columns) == 2:  # the Kaggle shape: first the file id, then the label
        return columns[0] if role == "file" else columns[1]
    flag = "--id-col" if role == "file" else "--label-col"
    raise BadData(f"which column of {source} holds the {role}? Its columns are {columns}: pass {option}= ({flag})")


def cell_text(value: Any) -> str:
    """A file-name cell as text: 17.0 (pandas turns int ids with gaps into floats) becomes "17"."""
    if isinstance(value, float | np.floating) and not math.isnan(value) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def file_path(identifier: str, image_dir: str, extension: str) -> str:
    """Where the image of one row lives: image_dir/identifier, plus the extension when it lacks it."""
    if extension and not identifier.lower().endswith(extension.lower()):
        identifier += extension
    return identifier if os.path.isabs(identifier) else os.path.join(image_dir, identifier)


def missing_files_hint(missing: list[str], image_dir: str, extension: str) -> str:
    """A likely fix for rows whose files do not exist: an extension, or a sub-folder that holds the files."""
    for path in missing[:5]:
        near = sorted(p for p in glob.glob(glob.escape(path) + ".*") if not is_ignored(os.path.basename(p)))
        if near:
            found = os.path.splitext(near[0])[1]
            return f"; files like {printable(near[0])} exist: pass extension={found!r} (--extension {found})"
    relative = [os.path.relpath(path, image_dir) for path in missing[:5]]
    try:
        folders = sorted(entry.path for entry in os.scandir(image_dir) if entry.is_dir())
    except OSError:
        folders = []
    for folder in folders:
        if any(os.path.exists(os.path.join(folder, name)) for name in relative):
            return f"; the files are in {printable(folder)}: pass image_dir={printable(folder)!r} (--image-dir)"
    return f"; check image_dir (now {printable(image_dir)}) and extension (now {extension or 'none'})"


@dataclass(frozen=True)
class UnusableRows:
    """Rows whose file is missing or not a regular file, and the messages saying so."""

    rows: frozenset[int]
    problems: list[str]


def file_problems(
    paths: list[str | None], where: list[str], source: str, image_dir: str, extension: str
) -> UnusableRows:
    """Rows pointing at nothing, or at a folder, named pipe or device (which could block a reader forever)."""
    problems = []
    odd = [i for i, path in enumerate(paths) if path is not None and os.path.exists(path) and not os.path.isfile(path)]
    if odd:
        problems.append(
            f"{len(odd)} rows of {source} point at folders, named pipes or devices, not image files: "
            f"{quote_rows([f'{where[i]} -> {printable(paths[i])}' for i in odd])}; point them at image files"
        )
    missing = [i for i, path in enumerate(paths) if path is not None and not os.path.exists(path)]
    if missing:
        shown = [f"{where[i]} -> {printable(paths[i])}" for i in missing]
        problems.append(
            f"{len(missing)} of {len(paths)} rows of {source} point at files that do not exist: {quote_rows(shown)}"
            + missing_files_hint([paths[i] for i in missing], image_dir, extension)
        )
    return UnusableRows(frozenset(odd + missing), problems)


def list_table(
    columns: list[str],
    table: dict[str, list[Any]],
    *,
    source: str,
    row_names: list[str],
    options: TableOptions,
    class_names: Sequence[str] | None = None,
) -> FileListing:
    """Files and class ids of a table's rows; rows with no id, a bad label or a missing file become problems."""
    if not row_names:
        raise BadData(f"{source} has no rows: add one row per image (file id and label)")
    image_dir = os.fspath(options.image_dir)
    id_col = pick_column(columns, options.id_col, ID_COLUMNS, "file", source)
    label_cols = label_columns(columns, options, source)
    if id_col in label_cols:
        raise BadData(f"id_col and label_col are both {id_col!r} in {source}: pass two different columns")
    if not os.path.isdir(image_dir):
        raise BadData(f"image_dir {printable(image_dir)} is not a folder: pass the folder that holds the images")
    extension = options.suffix
    ids = [None if is_missing(value) else cell_text(value) for value in table[id_col]]
    where = [f"{row} (id {value!r})" for row, value in zip(row_names, ids, strict=True)]
    labels = table_labels(table, label_cols, where, source, options, class_names)
    problems = list(labels.problems)
    no_id = [row for row, value in zip(row_names, ids, strict=True) if value is None]
    if no_id:
        problems.append(f"{len(no_id)} rows of {source} have no {id_col!r}: {quote_rows(no_id)}; fill in or drop them")
    paths = [None if value is None else file_path(value, image_dir, extension) for value in ids]
    unusable = file_problems(paths, where, source, image_dir, extension)
    problems += unusable.problems
    keep = [i for i, path in enumerate(paths) if path is not None and i not in unusable.rows and labels.y[i].min() >= 0]
    rows = TableRows(paths, labels.y, labels.class_names, where, source)
    keep, conflicts, notes = rows.once_each(keep)
    hint = "" if labels.y.ndim == 2 else tags_hint(table[label_cols[0]])
    notes = [*notes, hint] if hint else notes
    origin = f"{source} (images in {printable(image_dir)})"
    files = [paths[i] for i in keep]
    return FileListing(files, labels.y[keep], labels.class_names, origin, problems + conflicts, notes=notes)


def label_columns(columns: list[str], options: TableOptions, source: str) -> list[str]:
    """The label column, or the several comma-separated ones (multi-label 0/1 columns) of `options.label_col`."""
    given = options.label_col
    if given is not None and "," in given and given not in columns:
        return [pick_column(columns, name.strip(), (), "label", source) for name in given.split(",") if name.strip()]
    return [pick_column(columns, given, LABEL_COLUMNS, "label", source)]


def table_labels(
    table: dict[str, list[Any]],
    label_cols: list[str],
    where: list[str],
    source: str,
    options: TableOptions,
    class_names: Sequence[str] | None,
) -> EncodedLabels:
    """The rows' labels: class ids from one column, or multi-label 0/1 rows (several 0/1 columns, or tags)."""
    if len(label_cols) > 1:
        return encode_indicators({name: table[name] for name in label_cols}, where, source=source)
    column = f"{source} column {label_cols[0]!r}"
    encode = encode_tags if options.multi_label else encode_labels
    return encode(table[label_cols[0]], where, source=column, class_names=class_names)


@dataclass(frozen=True)
class TableRows:
    """A table's rows as files and class ids, with the words that name each row in messages."""

    paths: list[str | None]
    y: np.ndarray
    class_names: tuple[str, ...]
    where: list[str]
    source: str

    def once_each(self, keep: list[int]) -> tuple[list[int], list[str], list[str]]:
        """`keep` with each file once: rows repeating a file with the same label are dropped (a note says so); a
        file listed with different labels is a problem naming its rows, since no label can be picked for it."""
        groups: dict[str, list[int]] = {}
        for i in keep:
            groups.setdefault(os.path.normcase(os.path.realpath(self.paths[i])), []).append(i)
        conflicts, repeats = [], []
        for rows in groups.values():
            if len({self.y[i].tobytes() for i in rows}) > 1:
                conflicts.append(", ".join(f"{self.where[i]} = {self.label_text(i)!r}" for i in rows))
            else:
                repeats += [f"{self.where[i]} (as {self.where[rows[0]]})" for i in rows[1:]]
        problems = []
        if conflicts:
            problems.append(
                f"{len(conflicts)} files of {self.source} are listed with different labels: {quote_rows(conflicts)};"
                " keep one row per file, with its right label"
            )
        notes = []
        if repeats:
            notes.append(
                f"{len(repeats)} rows of {self.source} repeat a file with the same label and were dropped (each file "
                f"is used once): {quote_rows(repeats)}"
            )
        first = {rows[0] for rows in groups.values()}
        return [i for i in keep if i in first], problems, notes

    def label_text(self, row: int) -> str:
        """Row `row`'s label as written: its class name, or its labels joined by spaces (multi-label)."""
        if self.y.ndim == 1:
            return self.class_names[int(self.y[row])]
        return " ".join(name for name, on in zip(self.class_names, self.y[row], strict=True) if on > 0)


def list_csv(path: str, options: TableOptions, class_names: Sequence[str] | None = None) -> FileListing:
    """A CSV file's rows; image_dir defaults to the CSV's own folder. Pixel columns (pixel0..pixelN) are images:
    each row's pixels are written as a PNG (zoo.data.decoding.pixel_columns) and listed as its file."""
    columns, table, lines = read_csv(path)
    options = replace(options, image_dir=options.image_dir or str(Path(path).parent))
    rows, source = [f"line {line}" for line in lines], f"CSV {printable(path)}"
    cells = lambda names: [table[name] for name in names]  # noqa: E731 (read only when pixel columns are found)
    layout = find_layout(columns, cells, options.pixel_cols, options.pixel_shape) if lines else None
    if layout is None:
        return list_table(columns, table, source=source, row_names=rows, options=options, class_names=class_names)
    files = pixel_files([table[name] for name in layout.columns], layout, store_root())
    rest = [column for column in columns if column not in set(layout.columns)]
    label_cols = label_columns(rest, options, source)
    options = replace(options, id_col="file", label_col=",".join(label_cols), image_dir=os.path.dirname(files[0]))
    pixels = {"file": files, **{name: table[name] for name in label_cols}}
    listing = list_table(
        ["file", *label_cols], pixels, source=source, row_names=rows, options=options, class_names=class_names
    )
    return replace(listing, notes=[f"pixel columns {layout.describe()}", *listing.notes])


def list_frame(frame: Any, options: TableOptions, class_names: Sequence[str] | None = None) -> FileListing:
    """A DataFrame's rows; image_dir defaults to the working folder."""
    columns, table = frame_table(frame)
    options = replace(options, image_dir=options.image_dir or os.getcwd())
    rows = [f"row {i}" for i in range(len(table[columns[0]]) if columns else 0)]
    return list_table(columns, table, source="the DataFrame", row_names=rows, options=options, class_names=class_names)
