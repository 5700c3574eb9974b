"""Folds: stratified, grouped, seeded; refused when the data cannot fill them."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import BadData
from zoo.kaggle.task.folds import assign_folds, write_folds_csv
from zoo.kaggle.task.targets import Target

CLASSES = Target("multiclass", ("label",), ("a", "b", "c"))


def labels(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(np.repeat([0, 1, 2], [30, 60, 90]))


def test_stratified_folds_hold_each_class_in_equal_shares():
    y = labels()
    folds = assign_folds(CLASSES, y, 3, seed=0)
    assert sorted(np.bincount(folds)) == [60, 60, 60]
    for fold in range(3):
        assert np.bincount(y[folds == fold], minlength=3).tolist() == [10, 20, 30]


def test_same_seed_same_folds_other_seed_other_folds():
    y = labels()
    assert np.array_equal(assign_folds(CLASSES, y, 5, seed=7), assign_folds(CLASSES, y, 5, seed=7))
    assert not np.array_equal(assign_folds(CLASSES, y, 5, seed=7), assign_folds(CLASSES, y, 5, seed=8))


def test_grouped_folds_keep_each_group_in_one_fold_and_stay_stratified():
    y = labels()
    groups = [f"patient{i // 4}" for i in range(len(y))]  # 45 groups of 4 rows
    folds = assign_folds(CLASSES, y, 3, seed=0, groups=groups)
    for group in set(groups):
        assert len({folds[i] for i, g in enumerate(groups) if g == group}) == 1
    assert set(folds.tolist()) == {0, 1, 2}


def test_regression_folds_spread_the_target_range():
    y = np.arange(100, dtype=np.float32)[:, None]
    folds = assign_folds(Target("regression", ("v",), ("v",)), y, 5, seed=0)
    for fold in range(5):
        held = y[folds == fold, 0]
        assert held.min() < 10 and held.max() >= 90  # each fold has a row from the lowest and highest decile


def test_multilabel_and_grouped_regression_folds_cover_every_row():
    y = np.random.default_rng(0).integers(0, 2, (40, 3)).astype(np.float32)
    folds = assign_folds(Target("multilabel", ("a", "b", "c"), ("a", "b", "c")), y, 4, seed=0)
    assert sorted(np.bincount(folds)) == [10, 10, 10, 10]
    values = np.arange(40, dtype=np.float32)[:, None]
    groups = [str(i % 8) for i in range(40)]
    grouped = assign_folds(Target("regression", ("v",), ("v",)), values, 4, seed=0, groups=groups)
    assert all(len({grouped[i] for i in range(40) if groups[i] == g}) == 1 for g in set(groups))


def test_refused_fold_counts():
    with pytest.raises(BadData, match="at least 2"):
        assign_folds(CLASSES, labels(), 1, seed=0)
    y = np.array([0] * 10 + [1] * 10 + [2] * 2)
    with pytest.raises(BadData, match=r"at least 3 rows of every class; classes 'c' \(2\) have fewer"):
        assign_folds(CLASSES, y, 3, seed=0)
    with pytest.raises(BadData, match="5 folds need at least 5 groups; the data has 2"):
        assign_folds(CLASSES, labels(), 5, seed=0, groups=["x", "y"] * 90)


def test_folds_csv(tmp_path):
    path = write_folds_csv(tmp_path / "folds.csv", "id", ["a", "b"], np.array([1, 0]))
    assert path.read_text().splitlines() == ["id,fold", "a,1", "b,0"]
