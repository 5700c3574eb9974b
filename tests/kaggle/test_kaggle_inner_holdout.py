"""Out-of-fold rows influence nothing a fold fits or chooses: its epochs are picked on an inner hold-out of its own
training rows, so permuting the labels of the rows it scores changes its score and nothing else."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from kaggle_data import read_rows, tabular_competition, write_csv

from zoo.data.progress import silent
from zoo.kaggle.cv.training import train_one_fold
from zoo.kaggle.task.inputs import read_run_data
from zoo.kaggle.task.run_config import RunSettings
from zoo.training.seeding import seed_everything


def fold_zero(data, out, seed=0):
    """Fold 0 trained into `out` (the seeds as a run sets them): its record and saved weights."""
    data = dataclasses.replace(data, settings=dataclasses.replace(data.settings, out=str(out)))
    seed_everything(data.settings.seed)
    record, _ = train_one_fold(data, 0, silent)
    import keras

    return record, keras.saving.load_model(out / "fold_0" / "model.keras").get_weights()


def oof_labels_permuted(data):
    """`data` with the labels of fold 0's rows shuffled among themselves (the other folds' rows untouched)."""
    y, held = data.y.copy(), np.flatnonzero(data.folds == 0)
    y[held] = y[np.random.default_rng(7).permutation(held)]
    assert not np.array_equal(y, data.y)
    return dataclasses.replace(data, y=y)


@pytest.mark.parametrize("kind", ["classes", "regression"])
def test_a_folds_epochs_and_weights_do_not_depend_on_the_labels_it_scores(tmp_path, kind):
    table = tabular_competition(tmp_path / "tabular", count=160)
    train_csv, targets = table.train_csv, ("label",)
    if kind == "regression":  # fit_by_metric's path (finetune trains the classes)
        header, rows = read_rows(table.train_csv)
        values = [[sum(int(v) for v in row[1:65]) / 100] for row in rows]
        train_csv = write_csv(tmp_path / "reg.csv", [*header[1:-1], "ink_total"], [[*r[1:-1], *v] for r, v in
                                                                                      zip(rows, values, strict=True)])
        targets = ("ink_total",)
    settings = RunSettings(str(train_csv), str(tmp_path / "unused"), None, targets, folds=3, epochs=6, patience=1)
    data = read_run_data(settings, progress=False)
    record, weights = fold_zero(data, tmp_path / "honest")
    permuted, permuted_weights = fold_zero(oof_labels_permuted(data), tmp_path / "permuted")
    assert permuted["epochs"] == record["epochs"]
    assert all(np.array_equal(a, b) for a, b in zip(weights, permuted_weights, strict=True))
    assert permuted["score"] != record["score"]  # the permuted labels were scored: the test can tell them apart


def test_the_inner_hold_out_takes_an_eighth_of_each_class_and_keeps_groups_whole():
    from zoo.kaggle.cv.inner_holdout import inner_holdout
    from zoo.kaggle.task.targets import Target

    target = Target("multiclass", ("label",), ("a", "b", "c"))
    y = np.repeat([0, 1, 2], [80, 16, 2])
    held = inner_holdout(target, y, None, seed=0)
    assert [int(np.sum(held & (y == c))) for c in range(3)] == [10, 2, 1]  # rare classes keep one row on each side
    groups = np.arange(len(y)) // 4  # rows in fours
    held = inner_holdout(target, y, groups, seed=0)
    assert all(len(set(held[groups == g])) == 1 for g in np.unique(groups)) and 0 < held.sum() < len(y) // 4
    assert not np.array_equal(held, inner_holdout(target, y, groups, seed=1))  # drawn with the fold's seed
