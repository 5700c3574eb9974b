"""K-fold assignment: stratified by class (or by target decile for regression), grouped when a group column is named.

Seeded scikit-learn splitters, so the same seed gives the same folds on any machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import BadData
from zoo.kaggle.task.targets import Target
from zoo.results.run_folder import write_rows

REGRESSION_BINS = 10  # regression folds are stratified on target deciles, so every fold sees the whole range


def strata(target: Target, y: np.ndarray, folds: int) -> np.ndarray | None:
    """What each fold should hold in equal shares: the class, the target's quantile bin, or nothing (multi-label)."""
    if target.classifies:
        return y
    if target.kind == "regression":
        bins = max(1, min(REGRESSION_BINS, len(y) // folds))
        edges = np.quantile(y[:, 0], np.linspace(0, 1, bins + 1)[1:-1])
        return np.searchsorted(edges, y[:, 0], side="right")
    return None  # multi-label: scikit-learn has no iterative stratification; plain shuffled folds


def check_counts(target: Target, y: np.ndarray, folds: int, groups: np.ndarray | None) -> None:
    """Refuse fold counts the data cannot fill: fewer rows (or groups) than folds, or a class rarer than folds."""
    if folds < 2:
        raise BadData(f"--folds must be at least 2; got {folds}")
    units, what = (len(np.unique(groups)), "groups") if groups is not None else (len(y), "rows")
    if units < folds:
        raise BadData(f"{folds} folds need at least {folds} {what}; the data has {units}: lower --folds")
    if target.classifies and groups is None:
        counts = np.bincount(y, minlength=target.outputs)
        rare = [f"{name!r} ({count})" for name, count in zip(target.names, counts, strict=True) if count < folds]
        if rare:
            raise BadData(
                f"stratified {folds}-fold validation needs at least {folds} rows of every class; classes "
                f"{', '.join(rare)} have fewer: lower --folds or drop those classes"
            )


def merged_groups(labelings: Sequence[Sequence[Any]], rows: int) -> np.ndarray | None:
    """One group id per row joining every labeling's groups (rows sharing a label in any of them, transitively);
    None when no labeling is given or every row stands alone (plain stratified folds then)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not labelings:
        return None
    sources, targets, offset = [], [], rows
    for labels in labelings:
        _, index = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
        sources.append(np.arange(rows))
        targets.append(offset + index)
        offset += int(index.max()) + 1
    edges = (np.ones(rows * len(labelings)), (np.concatenate(sources), np.concatenate(targets)))
    _, component = connected_components(coo_matrix(edges, shape=(offset, offset)), directed=False)
    found = component[:rows]
    return None if len(np.unique(found)) == rows else found


def assign_folds(
    target: Target, y: np.ndarray, folds: int, seed: int, groups: Sequence[str] | None = None
) -> np.ndarray:
    """The fold (0..folds-1) of each row: every row is validated exactly once, by the models of the other folds."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    group_ids = None if groups is None else np.unique(np.asarray(groups, dtype=str), return_inverse=True)[1]
    check_counts(target, y, folds, group_ids)
    labels = strata(target, y, folds)
    rows = np.zeros(len(y))
    if group_ids is not None and labels is not None:
        splits = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(rows, labels, group_ids)
    elif group_ids is not None:
        splits = GroupKFold(folds, shuffle=True, random_state=seed).split(rows, groups=group_ids)
    elif labels is not None:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, labels)
    else:
        splits = KFold(folds, shuffle=True, random_state=seed).split(rows)
    fold_of = np.full(len(y), -1, dtype=np.int64)
    for fold, (_, held) in enumerate(splits):
        fold_of[held] = fold
    return fold_of


def write_folds_csv(path: Path, id_col: str, ids: Sequence[str], folds: np.ndarray) -> Path:
    """folds.csv: each id with the fold that validates it (read it back to reuse the split elsewhere)."""
    return write_rows(path, [id_col, "fold"], zip(ids, folds.tolist(), strict=True))
