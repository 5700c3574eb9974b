"""`evaluate_classifier` and `Evaluation`: scores that match scikit-learn's, the most confident mistakes, JSON out."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from zoo.errors import BadData
from zoo.results.scoring.evaluation import as_probabilities, evaluate_classifier, evaluation_from_probabilities


@dataclass
class Labelled:
    """The fields of zoo.data.LabelledData that evaluation reads."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    files: tuple[str, ...] | None = None


def random_predictions(n: int = 200, k: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and logits covering every corner: class 0 predicted but never true, class k-2 true but never
    predicted, class k-1 neither (macro averages leave it out, as scikit-learn does)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(1, k - 1, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), labels] += 1.0
    logits[:, k - 2 :] -= 10.0
    return labels, logits


def test_scores_match_scikit_learn_with_zero_division_zero():
    labels, logits = random_predictions()
    evaluation = evaluation_from_probabilities(labels, logits, [f"c{i}" for i in range(6)])
    predictions = logits.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=range(6), zero_division=0
    )
    np.testing.assert_allclose(evaluation.precision, precision)
    np.testing.assert_allclose(evaluation.recall, recall)
    np.testing.assert_allclose(evaluation.f1, f1)
    np.testing.assert_array_equal(evaluation.support, support)
    np.testing.assert_array_equal(evaluation.confusion, confusion_matrix(labels, predictions, labels=range(6)))
    macro = precision_recall_fscore_support(labels, predictions, average="macro", zero_division=0)[:3]
    assert evaluation.macro == pytest.approx(dict(zip(("precision", "recall", "f1"), macro, strict=True)))
    assert evaluation.accuracy == pytest.approx(np.mean(predictions == labels))


def test_most_wrong_lists_wrong_predictions_most_confident_first():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95], [0.7, 0.3]])
    labels = np.array([0, 0, 1, 0, 0])  # wrong: 1 (0.8), 2 (0.6), 3 (0.95)
    evaluation = evaluation_from_probabilities(labels, probabilities, ["a", "b"], files=[f"f{i}" for i in range(5)])
    assert evaluation.most_wrong.tolist() == [3, 1, 2]
    expected = {"index": 3, "file": "f3", "true": "a", "predicted": "b", "probability": pytest.approx(0.95)}
    assert evaluation.describe(3) == expected


def test_most_wrong_is_capped():
    labels, logits = random_predictions(n=300)
    evaluation = evaluation_from_probabilities(labels, logits, list("abcdef"), top_wrong=7)
    assert len(evaluation.most_wrong) == 7


def test_most_confused_pairs_are_off_diagonal_largest_first_as_in_report_json():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    predicted = np.array([1, 1, 0, 0, 2, 1, 0, 1, 1, 1])  # 2->1 three times, 0->1 twice, 1->0, 1->2, 2->0 once
    evaluation = evaluation_from_probabilities(labels, np.eye(3)[predicted], ["a", "b", "c"])
    assert evaluation.most_confused() == [("c", "b", 3), ("a", "b", 2), ("b", "a", 1), ("b", "c", 1), ("c", "a", 1)]
    assert evaluation.most_confused(min_count=2) == [("c", "b", 3), ("a", "b", 2)]
    assert evaluation.to_json()["most_confused"][0] == {"true": "c", "predicted": "b", "count": 3}
    perfect = evaluation_from_probabilities(labels, np.eye(3)[labels], ["a", "b", "c"])
    assert perfect.most_confused() == [] and perfect.to_json()["most_confused"] == []


def test_logits_are_softmaxed_and_a_sigmoid_column_is_widened():
    softmax = as_probabilities(np.array([[2.0, 0.0, -1.0]]), 3)
    np.testing.assert_allclose(softmax.sum(axis=1), 1.0)
    assert softmax.argmax() == 0
    np.testing.assert_allclose(as_probabilities(np.array([[0.8], [0.1]]), 2), [[0.2, 0.8], [0.9, 0.1]])
    probabilities = np.array([[0.25, 0.75]])
    np.testing.assert_allclose(as_probabilities(probabilities, 2), probabilities)


def test_to_json_is_plain_json_with_per_class_scores_and_most_wrong_files():
    labels, logits = random_predictions(n=40, k=4)
    files = tuple(f"img_{i}.png" for i in range(40))
    report = evaluation_from_probabilities(labels, logits, ["w", "x", "y", "z"], files=files).to_json()
    assert json.loads(json.dumps(report)) == report
    assert set(report["per_class"]) == {"w", "x", "y", "z"}
    assert sum(entry["support"] for entry in report["per_class"].values()) == 40
    assert len(report["confusion"]["matrix"]) == 4 and len(report["predictions"]) == 40
    assert all(entry["file"].startswith("img_") for entry in report["most_wrong"])
    assert "probabilities" not in report


def test_summary_names_accuracy_weakest_class_and_main_confusion():
    labels = np.array([0, 0, 0, 1, 1, 1])
    probabilities = np.eye(2)[[0, 0, 0, 0, 0, 1]]
    summary = evaluation_from_probabilities(labels, probabilities, ["cat", "dog"]).summary()
    assert "accuracy 0.6667" in summary
    assert "lowest recall: 'dog'" in summary
    assert "'dog' taken for 'cat' 2 times" in summary


@pytest.mark.parametrize(
    ("labels", "outputs", "match"),
    [
        (np.array([0, 3]), np.eye(3)[[0, 1]], r"lie in 0..2"),
        (np.eye(3)[[0, 1]], np.eye(3)[[0, 1]], r"not one-hot"),
        (np.array([0, 1]), np.eye(4)[[0, 1]], r"shape \(2, 4\) but the data has 3 classes"),
        (np.array([], dtype=int), np.zeros((0, 3)), r"nothing to evaluate"),
    ],
)
def test_bad_inputs_are_refused_with_what_was_received(labels, outputs, match):
    with pytest.raises(BadData, match=match):
        evaluation_from_probabilities(labels, outputs, ["a", "b", "c"])


def test_evaluate_classifier_runs_the_model_on_the_data():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.layers[0].set_weights([np.array([[4.0, 0.0], [0.0, 4.0]]), np.zeros(2)])  # predicts the larger input
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.2, 0.9]], dtype="float32")
    data = Labelled(x, np.array([0, 1, 1, 1]), ("left", "right"), files=("a", "b", "c", "d"))
    evaluation = evaluate_classifier(model, data, batch_size=2)
    assert evaluation.predictions.tolist() == [0, 1, 0, 1]
    assert evaluation.accuracy == pytest.approx(0.75)
    assert evaluation.to_json()["most_wrong"][0]["file"] == "c"
