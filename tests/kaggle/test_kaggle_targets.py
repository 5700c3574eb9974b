"""Target kinds inferred from the values and the metric; encodings; errors that name rows and columns."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import BadData
from zoo.kaggle.task.tables import Table
from zoo.kaggle.task.targets import Target, read_target


def table(**columns) -> Table:
    rows = len(next(iter(columns.values())))
    return Table("CSV train.csv", tuple(columns), {k: list(v) for k, v in columns.items()}, tuple(range(2, rows + 2)))


def test_classes_are_ordered_numerically_when_numbers():
    target, y = read_target(table(label=["10", "2", "9", "2"]), ("label",))
    assert target == Target("multiclass", ("label",), ("2", "9", "10"))
    assert y.tolist() == [2, 0, 1, 0]


def test_two_values_are_binary_with_the_later_one_positive():
    target, y = read_target(table(label=["yes", "no", "yes"]), ("label",))
    assert (target.kind, target.names, y.tolist()) == ("binary", ("no", "yes"), [1, 0, 1])


def test_regression_from_fractional_values_or_the_metric():
    target, y = read_target(table(price=["1.5", "2", "3.25"]), ("price",))
    assert target.kind == "regression" and y[:, 0].tolist() == [1.5, 2.0, 3.25]
    assert read_target(table(age=["30", "41", "52"]), ("age",), metric="rmse")[0].kind == "regression"
    assert read_target(table(age=["30", "41", "52"]), ("age",))[0].kind == "multiclass"


def test_several_columns_are_multilabel_when_binary_else_multi_target_regression():
    target, y = read_target(table(cat=["1", "0"], dog=["1", "1"]), ("cat", "dog"))
    assert target == Target("multilabel", ("cat", "dog"), ("cat", "dog")) and y.tolist() == [[1, 1], [0, 1]]
    assert read_target(table(x=["0.5", "2"], z=["1", "3"]), ("x", "z"))[0].kind == "regression"


def test_space_separated_tags_when_asked_for():
    target, y = read_target(table(tags=["haze primary", "", "primary"]), ("tags",), kind="multilabel")
    assert target == Target("multilabel", ("tags",), ("haze", "primary"), tags=True)
    assert y.tolist() == [[1, 1], [0, 0], [0, 1]]


def test_errors_name_the_rows_and_columns():
    with pytest.raises(BadData, match=r"no column 'target'; its columns are \['id', 'label'\]: pass --target-col"):
        read_target(table(id=["a"], label=["1"]), ("target",))
    with pytest.raises(BadData, match="1 rows of CSV train.csv have no 'label': line 3"):
        read_target(table(label=["1", "", "2"]), ("label",))
    with pytest.raises(BadData, match="binary target has 2 classes.*has 3"):
        read_target(table(label=["a", "b", "c"]), ("label",), kind="binary")
    with pytest.raises(BadData, match=r"cells of 'dog' .* are not 0 or 1 .*: line 2 '2'"):
        read_target(table(cat=["1", "0"], dog=["2", "1"]), ("cat", "dog"), kind="multilabel")
    with pytest.raises(BadData, match="unknown task 'ranking'"):
        read_target(table(label=["1", "2"]), ("label",), kind="ranking")
    with pytest.raises(BadData, match="one class only"):
        read_target(table(label=["1", "1"]), ("label",))


def test_json_round_trip():
    target = Target("multilabel", ("tags",), ("a", "b"), tags=True)
    assert Target.from_json(target.to_json()) == target
    assert np.array_equal(read_target(table(v=["1.5", "2.5"]), ("v",))[1], [[1.5], [2.5]])
