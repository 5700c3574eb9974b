"""Tabular features: standardised and one-hot, fitted on training rows only, reloaded from JSON unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import BadData
from zoo.kaggle.task.tables import Table
from zoo.kaggle.task.tabular import TabularTransform, feature_columns

CELLS = {
    "id": ["a", "b", "c", "d"],
    "size": ["1", "3", "", "100"],
    "colour": ["red", "blue", "red", "green"],
    "code": ["1", "2", "1", "3"],
    "label": ["x", "y", "x", "y"],
}
TABLE = Table("CSV train.csv", tuple(CELLS), CELLS, (2, 3, 4, 5))
TRAIN = np.array([0, 1, 2])  # row 3 ("d": size 100, colour green) is a validation row


def test_fitted_on_training_rows_only():
    transform = TabularTransform.fit(TABLE, TRAIN, ("size", "colour"))
    assert transform.numeric == ("size",) and transform.means == (2.0,) and transform.stds == (1.0,)
    assert transform.categories == (("blue", "red"),)  # green is only in the validation row
    x = transform.apply(TABLE)
    # size: (1-2)/1, (3-2)/1, missing -> the mean -> 0, (100-2)/1; colour one-hot (blue, red); unseen green -> zeros
    assert x.tolist() == [[-1, 0, 1], [1, 1, 0], [0, 0, 1], [98, 0, 0]]
    assert x.dtype == np.float32 and transform.width == 3


def test_numeric_columns_can_be_forced_categorical():
    transform = TabularTransform.fit(TABLE, TRAIN, ("code",), categorical=("code",))
    assert transform.categorical == ("code",) and transform.categories == (("1", "2"),)
    assert transform.apply(TABLE, np.array([3, 1])).tolist() == [[0, 0], [0, 1]]


def test_saved_as_json_and_reloaded_equal(tmp_path):
    transform = TabularTransform.fit(TABLE, TRAIN, ("size", "colour", "code"), categorical=("code",))
    again = TabularTransform.load(transform.save(tmp_path / "transform.json"))
    assert again == transform
    assert np.array_equal(again.apply(TABLE), transform.apply(TABLE))


def test_feature_columns_exclude_id_target_and_group_unless_chosen():
    assert feature_columns(TABLE, ["id", "label"]) == ("size", "colour", "code")
    assert feature_columns(TABLE, ["id", "label"], ["code"]) == ("code",)
    with pytest.raises(BadData, match=r"no column 'weight'; its columns are .*: pass --features with one of them"):
        feature_columns(TABLE, ["id"], ["weight"])


def test_test_data_with_text_in_a_numeric_column_or_missing_columns_is_refused():
    transform = TabularTransform.fit(TABLE, TRAIN, ("size",))
    bad = Table("CSV test.csv", ("size",), {"size": ["2", "large"]}, (2, 3))
    with pytest.raises(BadData, match=r"'size' of CSV test.csv was numeric .* line 3 'large'.*--categorical size"):
        transform.apply(bad)
    with pytest.raises(BadData, match=r"CSV test.csv has no column 'size'"):
        transform.apply(Table("CSV test.csv", ("id",), {"id": ["a"]}, (2,)))
