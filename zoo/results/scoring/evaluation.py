"""How well a classifier does on labelled data: accuracy, per-class scores, confusion matrix, most confident mistakes.

Plain NumPy (scikit-learn is only a test extra); the numbers match scikit-learn's with zero_division=0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.data.tensorflow_sources import model_feed
from zoo.errors import BadData

if TYPE_CHECKING:
    import keras

    from zoo.data import LabelledData

# How many of the most confidently wrong samples an evaluation keeps (for report.json and the plot grid).
TOP_WRONG = 25
# Rows of softmax outputs sum to 1 up to float32 rounding (and float16 under mixed precision).
SUM_TOLERANCE = 1e-2


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A classifier's scores on one labelled set; arrays are indexed by sample or by class id."""

    class_names: tuple[str, ...]
    labels: np.ndarray  # (n,) true class ids
    probabilities: np.ndarray  # (n, k)
    predictions: np.ndarray  # (n,) argmax class ids
    confusion: np.ndarray  # (k, k) counts, rows are true classes, columns predicted ones
    precision: np.ndarray  # (k,)
    recall: np.ndarray  # (k,)
    f1: np.ndarray  # (k,)
    support: np.ndarray  # (k,) true samples per class
    most_wrong: np.ndarray  # indices of wrong predictions, most confident first, at most TOP_WRONG
    files: tuple[str, ...] | None = None

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predictions == self.labels))

    @property
    def seen(self) -> np.ndarray:
        """The classes macro averages run over: those in the labels or the predictions, as scikit-learn does."""
        return (self.support > 0) | (self.confusion.sum(axis=0) > 0)

    @property
    def macro(self) -> dict[str, float]:
        seen = self.seen
        return {name: float(np.mean(getattr(self, name)[seen])) for name in ("precision", "recall", "f1")}

    def most_confused(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """fastai's most_confused: (true, predicted, count) for off-diagonal cells of at least `min_count`, largest
        first (ties in class order)."""
        off_diagonal = self.confusion - np.diag(np.diag(self.confusion))
        true, predicted = np.nonzero(off_diagonal >= max(min_count, 1))
        counts = off_diagonal[true, predicted]
        order = np.argsort(-counts, kind="stable")
        names = self.class_names
        return [(names[true[i]], names[predicted[i]], int(counts[i])) for i in order]

    def to_json(self, include_probabilities: bool = False) -> dict[str, Any]:
        """Plain JSON-ready data for report.json; per-sample probabilities only on request (n x k can be large)."""
        names = self.class_names
        result: dict[str, Any] = {
            "samples": len(self.labels),
            "accuracy": self.accuracy,
            "macro": self.macro,
            "per_class": {
                name: {
                    "precision": float(self.precision[i]),
                    "recall": float(self.recall[i]),
                    "f1": float(self.f1[i]),
                    "support": int(self.support[i]),
                }
                for i, name in enumerate(names)
            },
            "confusion": {"rows": "true", "columns": "predicted", "matrix": self.confusion.tolist()},
            "predictions": self.predictions.tolist(),
            "most_wrong": [self.describe(int(i)) for i in self.most_wrong],
            "most_confused": [
                {"true": true, "predicted": predicted, "count": count}
                for true, predicted, count in self.most_confused()
            ],
        }
        if include_probabilities:
            result["probabilities"] = self.probabilities.astype(float).tolist()
        return result

    def describe(self, index: int) -> dict[str, Any]:
        """One sample's true and predicted labels, the predicted probability and its file when known."""
        predicted = int(self.predictions[index])
        return {
            "index": index,
            "file": self.files[index] if self.files is not None else None,
            "true": self.class_names[int(self.labels[index])],
            "predicted": self.class_names[predicted],
            "probability": float(self.probabilities[index, predicted]),
        }

    def summary(self) -> str:
        """A few human lines: accuracy, macro F1, the weakest class and the most frequent confusion."""
        macro = self.macro
        lines = [
            f"accuracy {self.accuracy:.4f} on {len(self.labels)} samples, {len(self.class_names)} classes; "
            f"macro precision {macro['precision']:.4f}, recall {macro['recall']:.4f}, F1 {macro['f1']:.4f}"
        ]
        present = np.flatnonzero(self.support > 0)
        if len(present):
            weakest = present[np.argmin(self.recall[present])]
            lines.append(
                f"lowest recall: {self.class_names[weakest]!r} {self.recall[weakest]:.4f} "
                f"({int(self.confusion[weakest, weakest])}/{int(self.support[weakest])})"
            )
        off_diagonal = self.confusion - np.diag(np.diag(self.confusion))
        if off_diagonal.any():
            true, predicted = np.unravel_index(np.argmax(off_diagonal), off_diagonal.shape)
            lines.append(
                f"most frequent confusion: {self.class_names[true]!r} taken for {self.class_names[predicted]!r} "
                f"{int(off_diagonal[true, predicted])} times"
            )
        return "\n".join(lines)


def as_probabilities(outputs: np.ndarray, num_classes: int) -> np.ndarray:
    """Class probabilities (n, k) from a model's outputs: softmax rows as they are, logits softmaxed, one sigmoid
    column widened to two."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 2 and outputs.shape[1] == 1 and num_classes == 2:
        positive = outputs[:, 0] if np.all((outputs >= 0) & (outputs <= 1)) else 1 / (1 + np.exp(-outputs[:, 0]))
        return np.stack([1 - positive, positive], axis=1)
    if outputs.ndim != 2 or outputs.shape[1] != num_classes:
        raise BadData(
            f"the model gives outputs of shape {outputs.shape} but the data has {num_classes} classes; "
            f"evaluate a classifier whose last layer has {num_classes} units (one per class name)"
        )
    in_range = np.all((outputs >= 0) & (outputs <= 1))
    if in_range and np.allclose(outputs.sum(axis=1), 1, atol=SUM_TOLERANCE):
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))  # logits: a stable softmax
    return shifted / shifted.sum(axis=1, keepdims=True)


def checked_labels(labels: np.ndarray, samples: int, num_classes: int) -> np.ndarray:
    """Labels as int64 class ids, refusing what does not match the predictions."""
    labels = np.asarray(labels)
    if labels.shape != (samples,) or not np.issubdtype(labels.dtype, np.integer):
        raise BadData(
            f"labels must be {samples} integer class ids (one per sample), got dtype {labels.dtype} shape "
            f"{labels.shape}; pass y as class ids 0..{num_classes - 1}, not one-hot rows"
        )
    if samples and (labels.min() < 0 or labels.max() >= num_classes):
        raise BadData(
            f"labels must lie in 0..{num_classes - 1} ({num_classes} class names), got {labels.min()}..{labels.max()}"
        )
    return labels.astype(np.int64)


def evaluation_from_probabilities(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    files: Sequence[str] | None = None,
    top_wrong: int = TOP_WRONG,
) -> Evaluation:
    """Scores from true class ids and predicted class probabilities (or logits)."""
    k = len(class_names)
    probabilities = as_probabilities(probabilities, k)
    n = len(probabilities)
    if n == 0:
        raise BadData("there is nothing to evaluate: the data has no samples; pass at least one labelled sample")
    labels = checked_labels(labels, n, k)
    predictions = np.argmax(probabilities, axis=1)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    hits = np.diag(confusion).astype(np.float64)
    support, predicted_counts = confusion.sum(axis=1), confusion.sum(axis=0)
    precision = np.divide(hits, predicted_counts, out=np.zeros(k), where=predicted_counts > 0)
    recall = np.divide(hits, support, out=np.zeros(k), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(k), where=both > 0)
    wrong = np.flatnonzero(predictions != labels)
    confidence = probabilities[wrong, predictions[wrong]]
    most_wrong = wrong[np.argsort(-confidence, kind="stable")][:top_wrong]
    return Evaluation(
        class_names=tuple(class_names),
        labels=labels,
        probabilities=probabilities.astype(np.float32),
        predictions=predictions,
        confusion=confusion,
        precision=precision,
        recall=recall,
        f1=f1,
        support=support,
        most_wrong=most_wrong,
        files=tuple(files) if files is not None else None,
    )


def evaluate_classifier(model: keras.Model, data: LabelledData, batch_size: int = 64) -> Evaluation:
    """Run `model` on `data.x` and score its predictions against `data.y` with `data.class_names`."""
    if len(data.x) == 0:
        raise BadData("there is nothing to evaluate: the data has no samples; pass at least one labelled sample")
    outputs = model.predict(model_feed(data.x, batch_size), batch_size=batch_size, verbose=0)
    return evaluation_from_probabilities(data.y, outputs, data.class_names, files=data.files)
