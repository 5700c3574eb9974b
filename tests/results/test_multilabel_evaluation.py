"""Multi-label scores: thresholds maximise each label's F1; F1 and ROC AUC match scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from zoo.errors import BadData
from zoo.results.scoring.multilabel_evaluation import DEFAULT_THRESHOLD, best_threshold, multilabel_evaluation, roc_auc


@pytest.mark.parametrize("seed", range(5))
def test_auc_and_f1_match_scikit_learn_and_thresholds_are_the_best(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, (60, 4))
    p = np.round(rng.random((60, 4)) * 0.6 + 0.4 * y, 1)  # ties on purpose
    evaluation = multilabel_evaluation(y, p, ["a", "b", "c", "d"])
    for j in range(4):
        assert evaluation.auc[j] == pytest.approx(roc_auc_score(y[:, j], p[:, j]))
        best = max(f1_score(y[:, j], p[:, j] >= t) for t in np.unique(p[:, j]))
        assert evaluation.f1[j] == pytest.approx(best)
    assert evaluation.micro_f1 == pytest.approx(f1_score(y, evaluation.predictions, average="micro"))
    assert evaluation.macro_f1 == pytest.approx(f1_score(y, evaluation.predictions, average="macro"))
    report = evaluation.to_json()
    assert set(report["thresholds"]) == {"a", "b", "c", "d"} and report["per_class"]["a"]["support"] == y[:, 0].sum()


def test_a_label_without_both_kinds_has_no_auc_and_the_default_threshold():
    y = np.array([[1, 0], [1, 0], [1, 1]])
    p = np.array([[0.9, 0.2], [0.8, 0.1], [0.7, 0.6]])
    evaluation = multilabel_evaluation(y, p, ["always", "once"])
    assert np.isnan(evaluation.auc[0]) and evaluation.to_json()["per_class"]["always"]["roc_auc"] is None
    assert evaluation.to_json()["roc_auc_macro"] == 1.0
    assert best_threshold(np.zeros(3), np.array([0.1, 0.2, 0.3])) == DEFAULT_THRESHOLD
    assert np.isnan(roc_auc(np.ones(3), np.array([0.1, 0.2, 0.3])))
    assert "once: threshold 0.600" in evaluation.summary()


def test_outputs_that_do_not_match_the_labels_are_refused():
    with pytest.raises(BadData, match="one sigmoid per label"):
        multilabel_evaluation(np.zeros((4, 3)), np.zeros((4, 2)), ["a", "b", "c"])
