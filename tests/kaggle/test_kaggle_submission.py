"""Submission columns per metric and target kind, the template's layout, and the errors on mismatches."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import BadData, OutputExists
from zoo.kaggle.submit.submission import (
    check_header,
    column_values,
    default_header,
    submission_rows,
    template_order,
    write_submission,
)
from zoo.kaggle.task.metrics import metric_named
from zoo.kaggle.task.tables import Table
from zoo.kaggle.task.targets import Target

CLASSES = Target("multiclass", ("label",), ("cat", "dog", "fox"))
BINARY = Target("binary", ("target",), ("0", "1"))
OUTPUTS = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]])


def test_labels_for_label_metrics_probabilities_per_class_for_probability_metrics():
    assert column_values(CLASSES, metric_named("accuracy"), OUTPUTS) == {"label": ["dog", "cat"]}
    per_class = column_values(CLASSES, metric_named("log_loss"), OUTPUTS)
    assert per_class == {"cat": ["0.1", "0.6"], "dog": ["0.7", "0.3"], "fox": ["0.2", "0.1"]}
    assert default_header("id", CLASSES, metric_named("log_loss")) == ["id", "cat", "dog", "fox"]


def test_binary_probability_goes_in_the_target_column():
    outputs = np.array([[0.25, 0.75], [0.9, 0.1]])
    assert column_values(BINARY, metric_named("auc"), outputs)["target"] == ["0.75", "0.1"]
    assert default_header("id", BINARY, metric_named("auc")) == ["id", "target"]
    assert column_values(BINARY, metric_named("f1"), outputs) == {"target": ["1", "0"]}


def test_multilabel_and_regression_columns():
    outputs = np.array([[0.8, 0.3], [0.6, 0.9]])
    tags = Target("multilabel", ("tags",), ("haze", "road"), tags=True)
    assert column_values(tags, metric_named("f1"), outputs) == {"tags": ["haze", "haze road"]}
    binary_columns = Target("multilabel", ("haze", "road"), ("haze", "road"))
    assert column_values(binary_columns, metric_named("accuracy"), outputs) == {"haze": ["1", "1"], "road": ["0", "1"]}
    assert column_values(binary_columns, metric_named("auc"), outputs) == {
        "haze": ["0.8", "0.6"],
        "road": ["0.3", "0.9"],
    }
    regression = Target("regression", ("price",), ("price",))
    assert column_values(regression, metric_named("rmse"), np.array([[1.23456789012], [2.0]])) == {
        "price": ["1.2345679", "2"]
    }


def test_template_order_and_id_mismatch():
    template = Table("CSV sample_submission.csv", ("id", "label"), {"id": ["b", "a"], "label": ["0", "0"]}, (2, 3))
    assert template_order(template, "id", ["a", "b"], "CSV test.csv") == [1, 0]
    with pytest.raises(BadData, match=r"1 only in the template \('b'\), 1 only in the test data \('c'\)"):
        template_order(template, "id", ["a", "c"], "CSV test.csv")


def test_header_that_does_not_fit_the_metric_is_refused_before_predicting():
    check_header(["id", "dog", "cat", "fox"], "id", CLASSES, metric_named("log_loss"))  # any order of the classes
    with pytest.raises(BadData, match=r"columns it cannot fill: \['label'\]\); for log_loss it writes probabilities"):
        check_header(["id", "label"], "id", CLASSES, metric_named("log_loss"))
    with pytest.raises(BadData, match="no id column 'id'"):
        check_header(["image", "label"], "id", CLASSES, metric_named("accuracy"))


def test_rows_follow_the_header_and_the_file_is_not_silently_replaced(tmp_path):
    rows = submission_rows(["label", "id"], "id", ["a", "b"], {"label": ["dog", "cat"]})
    assert rows == [["dog", "a"], ["cat", "b"]]
    path = write_submission(tmp_path / "submission.csv", ["label", "id"], rows, force=False)
    assert path.read_text(encoding="utf-8") == "label,id\ndog,a\ncat,b\n"
    with pytest.raises(OutputExists, match="submission.csv exists: pass --force"):
        write_submission(path, ["id"], [["a"]], force=False)
    write_submission(path, ["id"], [["a"]], force=True)
    assert path.read_text(encoding="utf-8") == "id\na\n"
