"""How well a multi-label classifier (one sigmoid per label) does: per-label thresholds chosen on the validation data
to maximise each label's F1, then per-label precision, recall, F1 and ROC AUC, micro and macro F1, exact matches.

Plain NumPy (scikit-learn is only a test extra); F1 and AUC match scikit-learn's with zero_division=0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.data.tensorflow_sources import model_feed
from zoo.errors import BadData

if TYPE_CHECKING:
    import keras

    from zoo.data import LabelledData

DEFAULT_THRESHOLD = 0.5  # for a label without a positive validation row: no F1 to maximise


@dataclass(frozen=True, eq=False)
class MultilabelEvaluation:
    """A multi-label classifier's scores on one labelled set; arrays are (n, k) by sample and label, or (k,)."""

    class_names: tuple[str, ...]
    labels: np.ndarray  # (n, k) 0/1
    probabilities: np.ndarray  # (n, k) sigmoid outputs
    thresholds: np.ndarray  # (k,) a label is predicted where its probability is at least its threshold
    auc: np.ndarray  # (k,) ROC AUC, NaN where the label has rows of one kind only
    files: tuple[str, ...] | None = None
    most_wrong: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # no single-label mistakes
    multilabel: bool = True
    thresholds_fitted: bool = True  # chosen on these samples (their F1 is then in-sample), not given

    @property
    def predictions(self) -> np.ndarray:
        return (self.probabilities >= self.thresholds).astype(np.int64)

    @property
    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(true positives, predicted positives, actual positives) per label."""
        truth, predicted = self.labels > 0, self.predictions > 0
        return (truth & predicted).sum(axis=0), predicted.sum(axis=0), truth.sum(axis=0)

    @property
    def accuracy(self) -> float:
        """Exact matches: the share of samples whose every label is predicted right."""
        return float(np.mean(np.all((self.predictions > 0) == (self.labels > 0), axis=1)))

    @property
    def f1(self) -> np.ndarray:
        hits, predicted, actual = self.counts
        return f1_scores(hits, predicted, actual)

    @property
    def micro_f1(self) -> float:
        hits, predicted, actual = (part.sum(keepdims=True) for part in self.counts)
        return float(f1_scores(hits, predicted, actual)[0])

    @property
    def macro_f1(self) -> float:
        return float(np.mean(self.f1))

    @property
    def macro_auc(self) -> float | None:
        scored = self.auc[~np.isnan(self.auc)]
        return float(np.mean(scored)) if len(scored) else None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data for report.json."""
        hits, predicted, actual = self.counts
        f1 = self.f1
        return {
            "samples": len(self.labels),
            "multilabel": True,
            "exact_match": self.accuracy,
            "f1_micro": self.micro_f1,
            "f1_macro": self.macro_f1,
            "roc_auc_macro": self.macro_auc,
            "thresholds": dict(zip(self.class_names, self.thresholds.astype(float).tolist(), strict=True)),
            "per_class": {
                name: {
                    "threshold": float(self.thresholds[i]),
                    "precision": float(hits[i] / predicted[i]) if predicted[i] else 0.0,
                    "recall": float(hits[i] / actual[i]) if actual[i] else 0.0,
                    "f1": float(f1[i]),
                    "roc_auc": None if np.isnan(self.auc[i]) else float(self.auc[i]),
                    "support": int(actual[i]),
                }
                for i, name in enumerate(self.class_names)
            },
        }

    def summary(self) -> str:
        """Human lines: the headline scores, then one line per label (threshold, F1, AUC, support)."""
        auc = "n/a" if self.macro_auc is None else f"{self.macro_auc:.4f}"
        fitted = " (thresholds chosen on these samples)" if self.thresholds_fitted else ""
        lines = [
            f"multi-label on {len(self.labels)} samples, {len(self.class_names)} labels: F1 micro {self.micro_f1:.4f},"
            f" macro {self.macro_f1:.4f}{fitted}; ROC AUC macro {auc}; exact matches {self.accuracy:.4f}"
        ]
        for name, details in self.to_json()["per_class"].items():
            label_auc = "n/a" if details["roc_auc"] is None else f"{details['roc_auc']:.4f}"
            lines.append(
                f"  {name}: threshold {details['threshold']:.3f}, F1 {details['f1']:.4f}, ROC AUC {label_auc}, "
                f"{details['support']} positive"
            )
        return "\n".join(lines)


def f1_scores(hits: np.ndarray, predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """2 TP / (predicted + actual) per entry, 0 where both are 0."""
    both = (predicted + actual).astype(np.float64)
    return np.divide(2.0 * hits, both, out=np.zeros(len(both)), where=both > 0)


def best_threshold(truth: np.ndarray, scores: np.ndarray) -> float:
    """The score at which predicting `scores >= threshold` gives the highest F1 on `truth` (ties: the highest
    threshold); DEFAULT_THRESHOLD when `truth` has no positive row."""
    positives = int(truth.sum())
    if positives == 0:
        return DEFAULT_THRESHOLD
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], np.cumsum(truth[order])
    last = np.r_[ranked[1:] != ranked[:-1], True]  # a threshold takes every row with an equal score
    predicted = np.arange(1, len(ranked) + 1)
    f1 = 2.0 * hits / (predicted + positives)
    candidates = np.flatnonzero(last)
    return float(ranked[candidates[np.argmax(f1[candidates])]])


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (tied scores count half); NaN without rows of both kinds."""
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranked = np.sort(scores, kind="stable")
    _, start, counts = np.unique(ranked, return_index=True, return_counts=True)
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores, kind="stable")] = np.repeat(start + (counts + 1) / 2, counts)  # ties: their mean rank
    return float((ranks[truth > 0].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def multilabel_evaluation(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    files: Sequence[str] | None = None,
    thresholds: np.ndarray | None = None,
) -> MultilabelEvaluation:
    """Scores of sigmoid outputs against 0/1 rows; thresholds chosen here (maximising each label's F1) unless
    given."""
    labels, probabilities = np.asarray(labels, dtype=np.float32), np.asarray(probabilities, dtype=np.float64)
    if labels.shape != probabilities.shape or labels.ndim != 2 or labels.shape[1] != len(class_names):
        raise BadData(
            f"multi-label outputs {probabilities.shape} do not match the labels {labels.shape} and "
            f"{len(class_names)} label names; evaluate a model with one sigmoid per label"
        )
    if len(labels) == 0:
        raise BadData("there is nothing to evaluate: the data has no samples; pass at least one labelled sample")
    columns, fitted = range(labels.shape[1]), thresholds is None
    if fitted:
        thresholds = np.asarray([best_threshold(labels[:, j], probabilities[:, j]) for j in columns])
    auc = np.asarray([roc_auc(labels[:, j], probabilities[:, j]) for j in columns])
    return MultilabelEvaluation(
        tuple(class_names),
        labels,
        probabilities.astype(np.float32),
        np.asarray(thresholds, dtype=np.float64),
        auc,
        tuple(files) if files is not None else None,
        thresholds_fitted=fitted,
    )


def evaluate_multilabel(model: keras.Model, data: LabelledData, batch_size: int = 64) -> MultilabelEvaluation:
    """Run `model` on `data.x` and score its sigmoid outputs against `data.y`'s 0/1 rows, choosing thresholds."""
    outputs = model.predict(model_feed(data.x, batch_size), batch_size=batch_size, verbose=0)
    return multilabel_evaluation(data.y, outputs, data.class_names, files=data.files)
