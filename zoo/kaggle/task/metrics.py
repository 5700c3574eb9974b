"""Competition metrics: accuracy, log loss, ROC AUC, macro F1, quadratic weighted kappa, RMSE (scikit-learn's).

Each metric scores a model's raw outputs (softmax probabilities, sigmoid probabilities or values) against encoded
targets, says whether higher is better and what a submission must hold for it: labels, probabilities or values.
Importing this module does not import scikit-learn or TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from zoo.errors import BadData, UnknownMetric
from zoo.kaggle.task.choices import ALIASES, DEFAULT_METRIC

THRESHOLD = 0.5  # a multi-label output above this is a predicted label
CLIP = 1e-7  # log loss of a probability of exactly 0 or 1 is infinite; Kaggle clips likewise


@dataclass(frozen=True)
class Metric:
    """One competition metric: how it scores outputs, which way is better, what a submission holds for it."""

    name: str
    greater_is_better: bool
    submits: str  # "labels", "probabilities" or "values"
    kinds: tuple[str, ...]  # the target kinds it applies to
    score: Callable[[np.ndarray, np.ndarray], float]  # (encoded targets, model outputs) -> score

    def better(self, new: float, old: float | None) -> bool:
        """Whether score `new` beats `old` (None: nothing to beat yet)."""
        if old is None:
            return True
        return new > old if self.greater_is_better else new < old


def _labels(y: np.ndarray, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted labels: argmax of class probabilities, or multi-label outputs above THRESHOLD."""
    if y.ndim == 2:
        return y.astype(np.int64), (outputs > THRESHOLD).astype(np.int64)
    return y, np.argmax(outputs, axis=-1)


def _probabilities(outputs: np.ndarray) -> np.ndarray:
    """Class probabilities in float64, clipped and renormalised (float32 softmax rows sum to 1 only roughly)."""
    clipped = np.clip(np.asarray(outputs, dtype=np.float64), CLIP, 1 - CLIP)
    return clipped / clipped.sum(axis=-1, keepdims=True)


def accuracy(y: np.ndarray, outputs: np.ndarray) -> float:
    """Share of rows predicted exactly (for multi-label: every label of the row right)."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(*_labels(y, outputs)))


def log_loss(y: np.ndarray, outputs: np.ndarray) -> float:
    """Cross-entropy of the probabilities; multi-label: the mean of each label's binary log loss."""
    from sklearn.metrics import log_loss as sk_log_loss

    if y.ndim == 2:
        p = np.clip(np.asarray(outputs, dtype=np.float64), CLIP, 1 - CLIP)
        return float(np.mean([sk_log_loss(y[:, j], p[:, j], labels=[0, 1]) for j in range(y.shape[1])]))
    return float(sk_log_loss(y, _probabilities(outputs), labels=np.arange(outputs.shape[-1])))


def roc_auc(y: np.ndarray, outputs: np.ndarray) -> float:
    """ROC AUC: of the positive class (binary), else the mean of each class's (or label's) one-vs-rest AUC.

    Classes or labels with a single value in `y` (possible in a grouped fold) have no AUC and are left out of the
    mean, as Kaggle's column-wise AUC does; with all present this is scikit-learn's one-vs-rest macro AUC.
    """
    from sklearn.metrics import roc_auc_score

    if y.ndim == 1 and outputs.shape[-1] == 2:
        y, outputs = y[:, None], outputs[:, 1:]
    elif y.ndim == 1:
        y = np.eye(outputs.shape[-1])[y]
    scored = [j for j in range(y.shape[1]) if len(np.unique(y[:, j])) == 2]
    if not scored:
        raise BadData("ROC AUC needs rows of both kinds (with and without each class); these rows have one kind")
    return float(np.mean([roc_auc_score(y[:, j], outputs[:, j]) for j in scored]))


def f1_macro(y: np.ndarray, outputs: np.ndarray) -> float:
    """F1 of each class (or label), averaged with equal weight."""
    from sklearn.metrics import f1_score

    true, predicted = _labels(y, outputs)
    labels = None if y.ndim == 2 else np.arange(outputs.shape[-1])
    return float(f1_score(true, predicted, average="macro", labels=labels, zero_division=0))


def quadratic_kappa(y: np.ndarray, outputs: np.ndarray) -> float:
    """Cohen's kappa with quadratic weights: agreement on ordered classes, far misses cost more."""
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(*_labels(y, outputs), weights="quadratic", labels=np.arange(outputs.shape[-1])))


def rmse(y: np.ndarray, outputs: np.ndarray) -> float:
    """Root mean squared error over every target value."""
    difference = np.asarray(outputs, dtype=np.float64).reshape(y.shape) - y
    return float(np.sqrt(np.mean(difference**2)))


CLASSES = ("multiclass", "binary")
METRICS = {
    metric.name: metric
    for metric in (
        Metric("accuracy", True, "labels", (*CLASSES, "multilabel"), accuracy),
        Metric("log_loss", False, "probabilities", (*CLASSES, "multilabel"), log_loss),
        Metric("roc_auc", True, "probabilities", (*CLASSES, "multilabel"), roc_auc),
        Metric("f1_macro", True, "labels", (*CLASSES, "multilabel"), f1_macro),
        Metric("quadratic_kappa", True, "labels", CLASSES, quadratic_kappa),
        Metric("rmse", False, "values", ("regression",), rmse),
    )
}


def metric_named(name: str) -> Metric:
    """The metric called `name` (or an alias such as auc, logloss, qwk); UnknownMetric lists the known ones."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in METRICS:
        aliases = ", ".join(f"{alias} = {target}" for alias, target in ALIASES.items())
        raise UnknownMetric(f"unknown metric {name!r}: known metrics are {', '.join(METRICS)} (aliases: {aliases})")
    return METRICS[key]


def metric_for(name: str | None, kind: str) -> Metric:
    """The named metric, checked against the target kind; the kind's default metric when `name` is None."""
    metric = metric_named(name or DEFAULT_METRIC[kind])
    if kind not in metric.kinds:
        fitting = [m.name for m in METRICS.values() if kind in m.kinds]
        raise BadData(f"metric {metric.name} does not apply to a {kind} target: use one of {', '.join(fitting)}")
    return metric
