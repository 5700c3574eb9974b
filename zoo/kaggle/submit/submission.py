"""submission.csv: the averaged outputs written as the metric needs them, in exactly the template's layout.

Labels for accuracy, F1 and kappa; probabilities for log loss and AUC (a column per class, or the positive class's
probability in the target column for binary); values for RMSE. With a template (sample_submission.csv) the header,
column order and id order are the template's; without one, the id column then the target column(s).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zoo.data.labelled import printable
from zoo.data.listings.labels import quote_rows
from zoo.errors import BadData, OutputExists
from zoo.kaggle.task.metrics import THRESHOLD, Metric
from zoo.kaggle.task.tables import Table
from zoo.kaggle.task.targets import Target


def number_text(values: np.ndarray) -> list[str]:
    """Numbers as compact text with 8 significant digits (float32 holds about 7)."""
    return [f"{float(value):.8g}" for value in values]


def column_values(target: Target, metric: Metric, outputs: np.ndarray) -> dict[str, list[str]]:
    """Every column a submission for this target and metric can hold, with its cells; the default ones first."""
    names, columns = target.names, target.columns
    if metric.submits == "values":
        return {column: number_text(outputs[:, j]) for j, column in enumerate(columns)}
    if target.kind == "multilabel":
        if metric.submits == "probabilities":
            return {name: number_text(outputs[:, j]) for j, name in enumerate(names)}
        hot = outputs > THRESHOLD
        if target.tags:
            return {columns[0]: [" ".join(n for n, on in zip(names, row, strict=True) if on) for row in hot]}
        return {column: ["1" if on else "0" for on in hot[:, j]] for j, column in enumerate(columns)}
    if metric.submits == "labels":
        return {columns[0]: [names[i] for i in np.argmax(outputs, axis=1)]}
    per_class = {name: number_text(outputs[:, i]) for i, name in enumerate(names)}
    if target.kind == "binary":  # Kaggle's binary layout: the positive class's probability in the target column
        return {columns[0]: per_class[names[1]], **per_class}
    return per_class


def default_header(id_col: str, target: Target, metric: Metric) -> list[str]:
    """The layout without a template: the id, then one column per class, label or target column."""
    columns = list(column_values(target, metric, np.zeros((1, target.outputs))))
    return [id_col, columns[0]] if target.kind == "binary" and metric.submits == "probabilities" else [id_col, *columns]


def check_header(header: Sequence[str], id_col: str, target: Target, metric: Metric) -> None:
    """A template header this run can fill: its id column and only columns it predicts (checked before predicting)."""
    known = list(column_values(target, metric, np.zeros((1, target.outputs))))
    unknown = [column for column in header if column != id_col and column not in known]
    if id_col not in header or unknown:
        problem = f"no id column {id_col!r}" if id_col not in header else f"columns it cannot fill: {unknown}"
        fix = (
            f"pass --target-col {','.join(unknown)} to write the run's target {list(target.columns)} there"
            if unknown and len(unknown) == len(target.columns) and metric.submits != "probabilities"
            else "pass the competition's sample submission, or train with the metric it is scored by "
            "(probabilities need a column per class)"
        )
        if id_col not in header:
            fix = f"pass --id-col with the template's id column (one of {list(header)})"
        raise BadData(
            f"the template's header {list(header)} does not fit this run ({problem}); for {metric.name} it writes "
            f"{metric.submits} into {known}: {fix}"
        )


def template_order(template: Table, id_col: str, test_ids: Sequence[str], test_source: str) -> list[int]:
    """The test row of each template id, in the template's order; ids in one file but not the other are refused."""
    template_ids = template.ids(id_col)
    index = {identifier: row for row, identifier in enumerate(test_ids)}
    extra, missing = sorted(set(template_ids) - set(index)), sorted(set(index) - set(template_ids))
    if extra or missing:
        raise BadData(
            f"the template {template.source} and the test data {test_source} list different ids: "
            f"{len(extra)} only in the template ({quote_rows([repr(i) for i in extra]) or 'none'}), "
            f"{len(missing)} only in the test data ({quote_rows([repr(i) for i in missing]) or 'none'}); "
            "pass the sample submission of the same competition"
        )
    return [index[identifier] for identifier in template_ids]


def submission_rows(
    header: Sequence[str], id_col: str, ids: Sequence[str], values: dict[str, list[str]]
) -> list[list[str]]:
    """The rows under `header` (checked with check_header): the id, then each column's cell."""
    cells = {id_col: list(ids), **values}
    return [[cells[column][row] for column in header] for row in range(len(ids))]


def refuse_existing(path: Path, force: bool) -> None:
    """An existing submission is kept unless `force`: it may be the one already uploaded."""
    if path.exists() and not force:
        raise OutputExists(f"{printable(path)} exists: pass --force to replace it, or another --out")


def write_submission(
    path: Path, header: Sequence[str], rows: list[list[str]], force: bool, newline: str = "\n"
) -> Path:
    """Write the CSV with `newline` line endings (the template's); refused over an existing file unless `force`."""
    refuse_existing(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)
    return path
