"""Competition metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as sk

from zoo.errors import BadData, UnknownMetric
from zoo.kaggle.task.choices import ALIASES, METRIC_NAMES
from zoo.kaggle.task.metrics import METRICS, metric_for, metric_named

Y = np.array([0, 1, 2, 2, 1, 0])
P = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.1, 0.4], [0.3, 0.4, 0.3], [0.2, 0.5, 0.3]])


def test_accuracy_counts_argmax_hits():
    assert metric_named("accuracy").score(Y, P) == pytest.approx(4 / 6)  # rows 3 and 5 are wrong


def test_log_loss_is_the_mean_negative_log_probability_of_the_true_class():
    expected = -np.mean(np.log(P[np.arange(len(Y)), Y]))
    assert metric_named("logloss").score(Y, P) == pytest.approx(expected)
    assert metric_named("log_loss").score(Y, P) == pytest.approx(sk.log_loss(Y, P))


def test_roc_auc_binary_uses_the_positive_column():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
    assert metric_named("auc").score(y, p) == pytest.approx(0.75)  # 3 of 4 positive-negative pairs ranked right


def test_roc_auc_multiclass_is_one_vs_rest_macro():
    assert metric_named("roc_auc").score(Y, P) == pytest.approx(sk.roc_auc_score(Y, P, multi_class="ovr"))


def test_roc_auc_leaves_out_classes_a_fold_lacks():
    y = np.array([0, 2, 0, 2])  # class 1 is absent (a grouped fold can lack a class)
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.1, 0.4], [0.5, 0.2, 0.3]])
    # class 0: positives 0.6, 0.5 vs negatives 0.2, 0.5 -> (1 + 1 + 1 + 0.5) / 4; class 2: 0.6, 0.3 vs 0.1, 0.4 -> 0.75
    assert metric_named("roc_auc").score(y, p) == pytest.approx((0.875 + 0.75) / 2)


def test_f1_macro_matches_sklearn_and_hand_value():
    expected = sk.f1_score(Y, P.argmax(1), average="macro")
    assert metric_named("f1").score(Y, P) == pytest.approx(expected)
    # F1 = 2tp / (2tp + fp + fn); class 0: tp 1, fp 1, fn 1; class 1: tp 2, fp 1, fn 0; class 2: tp 1, fp 0, fn 1
    assert expected == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_quadratic_kappa_matches_sklearn_and_is_one_when_perfect():
    expected = sk.cohen_kappa_score(Y, P.argmax(1), weights="quadratic")
    assert metric_named("qwk").score(Y, P) == pytest.approx(expected)
    assert metric_named("kappa").score(Y, np.eye(3)[Y]) == pytest.approx(1.0)


def test_rmse_by_hand():
    y = np.array([[1.0], [2.0], [4.0]])
    assert metric_named("rmse").score(y, np.array([[1.0], [3.0], [2.0]])) == pytest.approx(math.sqrt(5 / 3))


def test_multilabel_metrics():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
    p = np.array([[0.9, 0.2], [0.4, 0.7], [0.6, 0.3], [0.1, 0.6]])
    assert metric_named("accuracy").score(y, p) == pytest.approx(0.5)  # rows 0 and 1 exactly right
    assert metric_named("f1_macro").score(y, p) == pytest.approx(sk.f1_score(y, p > 0.5, average="macro"))
    # label 0: both positives above both negatives (1.0); label 1: 3 of 4 pairs ranked right (0.75)
    assert metric_named("roc_auc").score(y, p) == pytest.approx(np.mean([1.0, 0.75]))
    expected = np.mean([sk.log_loss(y[:, j], p[:, j]) for j in range(2)])
    assert metric_named("log_loss").score(y, p) == pytest.approx(expected)


def test_direction_and_what_a_submission_holds():
    assert [m.name for m in METRICS.values() if not m.greater_is_better] == ["log_loss", "rmse"]
    assert {m.name: m.submits for m in METRICS.values()} == {
        "accuracy": "labels",
        "log_loss": "probabilities",
        "roc_auc": "probabilities",
        "f1_macro": "labels",
        "quadratic_kappa": "labels",
        "rmse": "values",
    }
    assert metric_named("rmse").better(1.0, 2.0) and not metric_named("accuracy").better(0.5, 0.6)


def test_the_command_line_names_every_metric_and_only_those():
    assert tuple(METRICS) == METRIC_NAMES  # zoo.kaggle.task.choices is what `zoo kaggle train --help` lists
    assert all(metric_named(alias).name == name for alias, name in ALIASES.items())


def test_unknown_metric_lists_the_known_ones():
    with pytest.raises(UnknownMetric, match="unknown metric 'mape'.*accuracy, log_loss, roc_auc"):
        metric_named("mape")


def test_metric_must_fit_the_target_kind_and_defaults_follow_it():
    with pytest.raises(BadData, match="rmse does not apply to a multiclass target: use one of accuracy"):
        metric_for("rmse", "multiclass")
    assert [metric_for(None, kind).name for kind in ("multiclass", "binary", "multilabel", "regression")] == [
        "accuracy",
        "roc_auc",
        "roc_auc",
        "rmse",
    ]
